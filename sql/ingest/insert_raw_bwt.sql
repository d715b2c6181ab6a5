-- Border Wait Times snapshots into raw.bwt: the parser hands over port rows (`ports`) and lane rows
-- (`lanes`) of a batch of files; each lane gets its port's fields, and a port element without lanes
-- keeps one row. $loaded_at = when the files were read; $stride = the _rid stride (assets/ingest/files.py).
INSERT INTO raw.bwt (_file_id, _row, _rid, snapshot_date, snapshot_time, port_number, border, port_name,
                     crossing_name, hours, "date", "time", port_status, construction_notice, automation_type,
                     lane_group, lane, maximum_lanes, operational_status, update_time, delay_minutes, lanes_open,
                     _snapshot_at, _loaded_at)
SELECT
    p._file_id, p._row, p._file_id * $stride + p._row,
    blank_as_null(p.snapshot_date), blank_as_null(p.snapshot_time), blank_as_null(p.port_number),
    blank_as_null(p.border), blank_as_null(p.port_name), blank_as_null(p.crossing_name), blank_as_null(p.hours),
    blank_as_null(p."date"), blank_as_null(p."time"), blank_as_null(p.port_status),
    blank_as_null(p.construction_notice),
    blank_as_null(CASE l.lane_group WHEN 'commercial_vehicle_lanes' THEN p.commercial_vehicle_lanes
                                    WHEN 'passenger_vehicle_lanes' THEN p.passenger_vehicle_lanes
                                    WHEN 'pedestrian_lanes' THEN p.pedestrian_lanes END),
    l.lane_group, l.lane, blank_as_null(l.maximum_lanes), blank_as_null(l.operational_status),
    blank_as_null(l.update_time), blank_as_null(l.delay_minutes), blank_as_null(l.lanes_open),
    p._snapshot_at, $loaded_at
FROM ports AS p
LEFT JOIN lanes AS l ON l._file_id = p._file_id AND l._row = p._row
