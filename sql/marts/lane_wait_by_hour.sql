-- Commercial lane waits per crossing x lane x hour of the local update time (the by-hour chart's source).
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
