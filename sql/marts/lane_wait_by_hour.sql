-- lane_wait_by_hour: described, with its grain and columns, in sql/marts/_models.yml.
SELECT
    port_number,
    any_value(port_code)                          AS port_code,
    lane,
    hour(update_local)                            AS hour_of_day,
    count(*)                                      AS readings,
    avg(delay_minutes)                            AS mean_delay_minutes
FROM facts.fct_lane_readings
GROUP BY port_number, lane, hour(update_local)
ORDER BY ALL
