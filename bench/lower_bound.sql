-- The benchmark's lower bound: the pipeline's core work as one hand-written DuckDB script, with no
-- framework. Read the CSV deliveries, apply the same row rules in one pass (the warehouse macros of
-- sql/setup/macros.sql), keep the last valid row per key, join the CTPAT status in force on the local
-- arrival date, and aggregate exam_rates and release_times. It skips what the pipeline adds: file
-- hashing and register, quarantine with reason codes, audit, GX results, staging tables on disk,
-- publication, scorecard, charts. Placeholders: {{entries}}, {{exams}}, {{ctpat}}, {{ports}} (str.format: regex braces doubled).
CREATE OR REPLACE TEMP TABLE ports AS SELECT * FROM read_csv('{ports}', all_varchar = true, header = true);

CREATE OR REPLACE TEMP TABLE entries AS
WITH delivered AS (
    SELECT * FROM read_csv('{entries}', all_varchar = true, header = true, filename = true)
), valid AS (
    SELECT * FROM delivered
    WHERE coalesce(entry_number_format_ok(entry_number) AND entry_number_check_digit_ok(entry_number), false)
      AND entry_type IN ('01', '02', '03', '06', '07', '08', '11', '12', '21', '22', '23', '26', '31', '32', '34',
                         '38', '51', '52', '86')
      AND coalesce(importer_number_format_ok(importer_number), false)
      AND port_code IN (SELECT port_code FROM ports)
      AND mode_of_transport IN ('10', '11', '12', '20', '21', '30', '31', '32', '33', '34', '40', '41', '50', '60', '70')
      AND (lane_type IS NULL OR (lane_type IN ('FAST', 'STANDARD') AND mode_of_transport IN ('30', '31')))
      AND (carrier_code IS NULL OR regexp_full_match(carrier_code, '[A-Z]{{2,4}}'))
      AND regexp_full_match(country_of_origin, '[A-Z]{{2}}')
      AND regexp_full_match(replace(hts_number, '.', ''), '[0-9]{{10}}')
      AND coalesce(non_negative_number_ok(entered_value_usd), false)
      AND NOT timestamp_without_offset(arrival_at) AND NOT coalesce(timestamp_without_offset(release_at), false)
      AND parse_timestamp(arrival_at) IS NOT NULL
      AND (release_at IS NULL OR parse_timestamp(release_at) >= parse_timestamp(arrival_at))
)
SELECT entry_key(v.entry_number) AS entry_number, v.importer_number, v.port_code, v.mode_of_transport,
       -- Every row here passed parse_timestamp above, so the plain cast gives the same instant (as in staging).
       gated_timestamp(v.arrival_at) AS arrival_at, gated_timestamp(v.release_at) AS release_at,
       CAST(timezone(p.time_zone, gated_timestamp(v.arrival_at)) AS DATE) AS local_date,
       strftime(timezone(p.time_zone, gated_timestamp(v.arrival_at)), '%Y-%m') AS month
FROM valid AS v JOIN ports AS p USING (port_code)
QUALIFY row_number() OVER (PARTITION BY entry_key(v.entry_number) ORDER BY v.filename DESC) = 1;

CREATE OR REPLACE TEMP TABLE examined AS
WITH delivered AS (
    SELECT * FROM read_csv('{exams}', all_varchar = true, header = true, filename = true)
)
SELECT DISTINCT entry_key(entry_number) AS entry_number FROM delivered
WHERE coalesce(entry_number_format_ok(entry_number) AND entry_number_check_digit_ok(entry_number), false)
  AND exam_type IN ('NII', 'TAILGATE', 'INTENSIVE', 'DOCUMENT', 'AGRICULTURE', 'PGA', 'UFLPA_DETENTION')
  AND exam_location IN ('PORT', 'CES')
  AND NOT timestamp_without_offset(selected_at) AND parse_timestamp(selected_at) IS NOT NULL
  AND (started_at IS NULL OR parse_timestamp(started_at) >= parse_timestamp(selected_at))
  AND (completed_at IS NULL OR (started_at IS NOT NULL AND parse_timestamp(completed_at) >= parse_timestamp(started_at)))
  AND (outcome IS NULL OR outcome IN ('NO_DISCREPANCY', 'DISCREPANCY', 'SEIZURE'));

CREATE OR REPLACE TEMP TABLE certified AS
SELECT partner_id, CAST(tier AS INTEGER) AS tier, parse_date(valid_from) AS valid_from, parse_date(valid_to) AS valid_to
FROM read_csv('{ctpat}', all_varchar = true, header = true)
WHERE partner_type = 'IMPORTER' AND status IN ('CERTIFIED', 'VALIDATED');

CREATE OR REPLACE TEMP TABLE facts AS
SELECT e.*, CASE WHEN c.partner_id IS NULL THEN 'UNCERTIFIED' ELSE 'CERTIFIED' END AS ctpat_status,
       x.entry_number IS NOT NULL AS is_examined, hours_between(e.arrival_at, e.release_at) AS release_hours
FROM entries AS e
LEFT JOIN certified AS c ON c.partner_id = e.importer_number AND c.valid_from <= e.local_date
                        AND (c.valid_to IS NULL OR e.local_date < c.valid_to)
LEFT JOIN examined AS x USING (entry_number);

CREATE OR REPLACE TEMP TABLE exam_rates AS
SELECT month, port_code, mode_of_transport, ctpat_status, count(*) AS entries,
       count(*) FILTER (WHERE is_examined) AS examined_entries,
       wilson_low(count(*) FILTER (WHERE is_examined), count(*)) AS exam_rate_ci_low,
       wilson_high(count(*) FILTER (WHERE is_examined), count(*)) AS exam_rate_ci_high
FROM facts GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE release_times AS
SELECT month, port_code, mode_of_transport, ctpat_status,
       count(*) FILTER (WHERE release_at IS NOT NULL) AS released_entries,
       quantile_cont(release_hours, 0.5) AS median_release_hours,
       quantile_cont(release_hours, 0.9) AS p90_release_hours
FROM facts GROUP BY ALL;
