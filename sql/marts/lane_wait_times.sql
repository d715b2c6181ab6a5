-- Commercial border lane waits per crossing x port-local date x lane (FAST/STANDARD), CBP Border Wait Times feed.
WITH readings AS (
    SELECT port_number, port_date AS "date", lane,
           count(*)                            AS readings,
           avg(delay_minutes)                  AS mean_delay_minutes,
           quantile_cont(delay_minutes, 0.5)   AS median_delay_minutes,
           max(delay_minutes)                  AS max_delay_minutes
    FROM facts.fct_lane_readings
    GROUP BY ALL
), closed AS (
    SELECT port_number, port_date AS "date", lane, count(DISTINCT snapshot_at) AS closed_snapshots
    FROM staging.stg_bwt_lanes
    WHERE lane_group = 'commercial_vehicle_lanes' AND lane IN ('FAST', 'STANDARD')
      AND operational_status = 'Lanes Closed'
    GROUP BY ALL
), crossings AS (
    SELECT port_number, any_value(port_code) AS port_code, arg_max(crossing_name, snapshot_at) AS crossing_name,
           arg_max(port_name, snapshot_at) AS port_name
    FROM staging.stg_bwt_lanes
    GROUP BY port_number
)
SELECT
    port_number, "date", lane, x.port_code, x.port_name, x.crossing_name,
    coalesce(r.readings, 0)          AS readings,
    r.mean_delay_minutes,
    r.median_delay_minutes,
    r.max_delay_minutes,
    coalesce(c.closed_snapshots, 0)  AS closed_snapshots
FROM readings AS r
FULL OUTER JOIN closed AS c USING (port_number, "date", lane)
JOIN crossings AS x USING (port_number)
ORDER BY ALL
