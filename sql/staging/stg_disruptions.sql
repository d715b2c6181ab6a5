-- Port closures in force: the current row of each (event_id, port_code), the last valid one in (file name, delivery, row) order, typed, with the port's time zone and the local month of reopening.
-- Small (one row per event and port), so rebuilt whole from every loaded file at each run.
WITH current_rows AS (
    SELECT * FROM valid_loaded_rows('raw.disruptions')
    QUALIFY row_number() OVER (PARTITION BY event_id, port_code
                               ORDER BY file_name DESC, _file_id DESC, _row DESC) = 1
)
SELECT
    c.event_id,
    c.port_code,
    c.cause,
    gated_timestamp(c.closed_at)   AS closed_at,
    gated_timestamp(c.reopened_at) AS reopened_at,
    nullif(c.source, '')           AS source,
    p.time_zone,
    hours_between(gated_timestamp(c.closed_at), gated_timestamp(c.reopened_at)) AS closed_hours,
    -- The benefit's month (contract): the local month of reopening at the port.
    strftime(timezone(p.time_zone, gated_timestamp(c.reopened_at)), '%Y-%m') AS month,
    c.file_name AS _file_name,
    c._file_id,
    c._row
FROM current_rows AS c
JOIN ref.schedule_d_ports AS p USING (port_code)
