-- Valid entries not staged yet: the rows of loaded files whose rows are not merged into staging,
-- the last per normalised entry number in (file name, delivery, row) order, typed, with UTC and
-- port-local arrival. The merge (merge_current_rows.sql) keeps a row only if it is later than the
-- entry's current row.
WITH valid AS (
    SELECT * FROM valid_unstaged_rows('raw.entries')
), current_rows AS (
    SELECT * FROM valid
    QUALIFY row_number() OVER (PARTITION BY entry_key(entry_number)
                               ORDER BY file_name DESC, _file_id DESC, _row DESC) = 1
)
SELECT
    entry_key(c.entry_number)                AS entry_number,
    c.entry_type,
    c.importer_number,
    c.port_code,
    c.mode_of_transport,
    c.lane_type,
    c.carrier_code,
    c.country_of_origin,
    replace(c.hts_number, '.', '')           AS hts_number,
    -- DOUBLE: any number the rule accepts fits (past 1.8e308 it is infinity); DECIMAL(18, 2) overflowed at 1e16.
    CAST(c.entered_value_usd AS DOUBLE)      AS entered_value_usd,
    parse_timestamp(c.arrival_at)            AS arrival_at,
    parse_timestamp(c.release_at)            AS release_at,
    p.time_zone,
    timezone(p.time_zone, parse_timestamp(c.arrival_at))                 AS arrival_local,
    CAST(timezone(p.time_zone, parse_timestamp(c.arrival_at)) AS DATE)   AS arrival_local_date,
    strftime(timezone(p.time_zone, parse_timestamp(c.arrival_at)), '%Y-%m') AS month,
    hours_between(parse_timestamp(c.arrival_at), parse_timestamp(c.release_at)) AS release_hours,
    c.file_name AS _file_name,
    c._file_id,
    c._row,
    c._rid
FROM current_rows AS c
JOIN ref.schedule_d_ports AS p USING (port_code)
