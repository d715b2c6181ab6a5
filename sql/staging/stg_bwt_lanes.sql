-- Border Wait Times lanes (commercial, passenger, pedestrian) of every valid snapshot, typed: one row
-- per crossing x snapshot x lane, with the update time as local clock time on the port's date and
-- as an instant read in the IANA zone of the crossing's Schedule D port (the feed's abbreviation is
-- only a checked hint; it decides the zone only where the crossing's port is unknown).
WITH valid AS (
    SELECT * FROM valid_loaded_rows('raw.bwt')
), one_per_snapshot AS (
    -- The same snapshot delivered twice (say as XML and as JSON) counts once: the latest file wins.
    SELECT * FROM valid
    QUALIFY row_number() OVER (PARTITION BY port_number, _snapshot_at, lane_group, lane
                               ORDER BY file_name DESC, _file_id DESC) = 1
), typed AS (
    SELECT
        v.*,
        bwt_port_date(v."date")                                          AS port_date,
        bwt_update_clock(v.update_time)                                  AS update_clock,
        regexp_extract(v.update_time, '([A-Z]+)$', 1)                    AS stated_zone,
        c.port_code,
        p.time_zone                                                      AS port_time_zone
    FROM one_per_snapshot AS v
    LEFT JOIN ref.bwt_crossings AS c ON c.bwt_port_number = v.port_number
    LEFT JOIN ref.schedule_d_ports AS p ON p.port_code = c.port_code
)
SELECT
    port_number,
    port_code,
    border,
    port_name,
    crossing_name,
    lane_group,
    CASE lane WHEN 'standard_lanes' THEN 'STANDARD' WHEN 'FAST_lanes' THEN 'FAST'
              WHEN 'NEXUS_SENTRI_lanes' THEN 'NEXUS_SENTRI' WHEN 'ready_lanes' THEN 'READY' END AS lane,
    _snapshot_at                                        AS snapshot_at,
    port_date,
    operational_status,
    bwt_delay_minutes(delay_minutes)                    AS delay_minutes,
    CAST(lanes_open AS INTEGER)                         AS lanes_open,
    try_cast(maximum_lanes AS INTEGER)                  AS maximum_lanes,
    update_time,
    port_date + update_clock                            AS update_local,
    coalesce(port_time_zone, 'Etc/GMT' || CASE WHEN zone_abbreviation_offset(stated_zone) <= 0 THEN '+' ELSE '-' END
             || abs(zone_abbreviation_offset(stated_zone)))          AS update_time_zone,
    timezone(coalesce(port_time_zone, 'Etc/GMT' || CASE WHEN zone_abbreviation_offset(stated_zone) <= 0 THEN '+' ELSE '-' END
             || abs(zone_abbreviation_offset(stated_zone))), port_date + update_clock) AS update_at,
    stated_zone,
    port_status,
    hours,
    automation_type,
    construction_notice,
    _file_id,
    _rid
FROM typed
