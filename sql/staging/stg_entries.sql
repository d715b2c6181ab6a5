-- Valid entries not staged yet: the rows of loaded files whose rows are not merged into staging,
-- the last per normalised entry number in (file name, delivery, row) order, typed, with UTC and
-- port-local arrival. The merge (merge_current_rows.sql) keeps a row only if it is later than the
-- entry's current row.
--
-- Typed before the last row is picked: the pick is a window whose sort carries every column, and
-- 8-byte timestamps and an 11-character key (inlined by DuckDB) instead of 25- and 13-character
-- text made it 20 % faster at 10 M rows (docs/scaling-history.md, issue 15's fifth round). Every
-- row here passed the gate, so the casts cannot fail.
WITH typed AS (
    SELECT
        entry_key(entry_number)              AS entry_number,
        entry_type,
        importer_number,
        port_code,
        mode_of_transport,
        lane_type,
        carrier_code,
        country_of_origin,
        replace(hts_number, '.', '')         AS hts_number,
        -- DOUBLE: any number the rule accepts fits (past 1.8e308 it is infinity); DECIMAL(18, 2) overflowed at 1e16.
        CAST(entered_value_usd AS DOUBLE)    AS entered_value_usd,
        gated_timestamp(arrival_at)          AS arrival_at,
        gated_timestamp(release_at)          AS release_at,
        file_name,
        _file_id,
        _row,
        _rid
    FROM valid_unstaged_rows('raw.entries')
), repeated AS (
    -- Most entry numbers come once in a batch: only the repeated ones go through the window, whose
    -- sort carries every column and spilled past the memory ceiling at 100 M entries (at 10 M under
    -- a tenth of the ceiling: 19.4-20.3 s for every row, 12.0-12.1 s this way; docs/scaling-history.md,
    -- issue 15's eleventh round).
    SELECT entry_number FROM typed GROUP BY entry_number HAVING count(*) > 1
), current_rows AS (
    SELECT * FROM typed ANTI JOIN repeated USING (entry_number)
    UNION ALL
    SELECT * FROM (SELECT * FROM typed SEMI JOIN repeated USING (entry_number))
    QUALIFY row_number() OVER (PARTITION BY entry_number ORDER BY file_name DESC, _file_id DESC, _row DESC) = 1
)
SELECT
    c.entry_number,
    c.entry_type,
    c.importer_number,
    c.port_code,
    c.mode_of_transport,
    c.lane_type,
    c.carrier_code,
    c.country_of_origin,
    c.hts_number,
    c.entered_value_usd,
    c.arrival_at,
    c.release_at,
    p.time_zone,
    timezone(p.time_zone, c.arrival_at)                 AS arrival_local,
    CAST(timezone(p.time_zone, c.arrival_at) AS DATE)   AS arrival_local_date,
    strftime(timezone(p.time_zone, c.arrival_at), '%Y-%m') AS month,
    hours_between(c.arrival_at, c.release_at)           AS release_hours,
    c.file_name AS _file_name,
    c._file_id,
    c._row,
    c._rid
FROM current_rows AS c
JOIN ref.schedule_d_ports AS p USING (port_code)
