-- FAST and standard commercial readings matched by crossing, date and update time (the same hour).
SELECT
    strftime(f.port_date, '%Y-%m')      AS month,
    f.port_number,
    f.delay_minutes                     AS fast_delay_minutes,
    s.delay_minutes                     AS standard_delay_minutes
FROM facts.fct_lane_readings AS f
JOIN facts.fct_lane_readings AS s
  ON s.port_number = f.port_number AND s.port_date = f.port_date AND s.update_time = f.update_time
WHERE f.lane = 'FAST' AND s.lane = 'STANDARD'
