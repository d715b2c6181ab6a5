-- lane_wait_times: described, with its grain and columns, in sql/marts/_models.yml.
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
    -- The feed leaves some crossing names empty (Champlain 071201): the reference table names them.
    SELECT s.port_number, any_value(s.port_code) AS port_code, arg_max(s.port_name, s.snapshot_at) AS port_name,
           coalesce(arg_max(s.crossing_name, s.snapshot_at), any_value(c.crossing_name)) AS crossing_name,
           max(s.maximum_lanes) FILTER (WHERE s.lane_group = 'commercial_vehicle_lanes') AS commercial_lanes
    FROM staging.stg_bwt_lanes AS s
    LEFT JOIN ref.bwt_crossings AS c ON c.bwt_port_number = s.port_number
    GROUP BY s.port_number
)
SELECT
    port_number, "date", lane, x.port_code, x.port_name, x.crossing_name, x.commercial_lanes,
    coalesce(r.readings, 0)          AS readings,
    r.mean_delay_minutes,
    r.median_delay_minutes,
    r.max_delay_minutes,
    coalesce(c.closed_snapshots, 0)  AS closed_snapshots
FROM readings AS r
FULL OUTER JOIN closed AS c USING (port_number, "date", lane)
JOIN crossings AS x USING (port_number)
ORDER BY ALL
