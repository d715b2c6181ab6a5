-- Commercial-vehicle lane readings (FAST and standard): one lane's delay at one update_time (as text)
-- on the port's date. Snapshots repeat a reading until the port updates it; they count once, and where
-- they disagree the latest snapshot wins.
SELECT
    port_number,
    any_value(port_code)                         AS port_code,
    lane,
    port_date,
    update_time,
    arg_max(delay_minutes, snapshot_at)          AS delay_minutes,
    arg_max(lanes_open, snapshot_at)             AS lanes_open,
    arg_max(operational_status, snapshot_at)     AS operational_status,
    any_value(update_local)                      AS update_local,
    any_value(update_at)                         AS update_at,
    any_value(update_time_zone)                  AS update_time_zone,
    -- true when the feed's abbreviation states the offset the port's zone has at that time
    any_value(zone_abbreviation_offset(stated_zone) * 3600 = epoch(update_local) - epoch(update_at)) AS zone_label_ok,
    count(*)                                     AS snapshots,
    max(snapshot_at)                             AS last_snapshot_at
FROM staging.stg_bwt_lanes
WHERE lane_group = 'commercial_vehicle_lanes' AND operational_status IN ('delay', 'no delay')
GROUP BY port_number, lane, port_date, update_time
