-- lane_wait_monthly: described, with its grain and columns, in sql/marts/_models.yml.
WITH readings AS (
    SELECT strftime(port_date, '%Y-%m') AS month, port_code, lane,
           count(*) AS readings, avg(delay_minutes) AS mean_delay_minutes,
           quantile_cont(delay_minutes, 0.5) AS median_delay_minutes
    FROM facts.fct_lane_readings
    GROUP BY ALL
), snapshots AS (
    -- Per crossing snapshot: did the lane report (a reading or closed), and was it closed?
    SELECT strftime(port_date, '%Y-%m') AS month, port_code, lane,
           count(DISTINCT (port_number, snapshot_at)) FILTER (WHERE operational_status IN ('delay', 'no delay', 'Lanes Closed')) AS reporting_snapshots,
           count(DISTINCT (port_number, snapshot_at)) FILTER (WHERE operational_status = 'Lanes Closed') AS closed_snapshots
    FROM staging.stg_bwt_lanes
    WHERE lane_group = 'commercial_vehicle_lanes' AND lane IN ('FAST', 'STANDARD')
    GROUP BY ALL
)
SELECT
    month, port_code, lane,
    coalesce(r.readings, 0) AS readings,
    r.mean_delay_minutes,
    r.median_delay_minutes,
    s.closed_snapshots,
    s.reporting_snapshots,
    s.closed_snapshots / s.reporting_snapshots AS closed_share
FROM snapshots AS s
LEFT JOIN readings AS r USING (month, port_code, lane)
WHERE s.reporting_snapshots > 0
ORDER BY ALL
