-- load_audit: described, with its grain and columns, in sql/marts/_models.yml.
-- Counted from the register and staging's per-row file ids (raw rows are not read again):
-- a loaded row is current (in staging, pending exams included) or superseded by a later row.
WITH current_rows AS (
    SELECT _file_id, count(*) AS n FROM staging.stg_entries GROUP BY ALL
    UNION ALL SELECT _file_id, count(*) FROM staging.stg_exams GROUP BY ALL
    UNION ALL SELECT _file_id, count(DISTINCT _rid) FROM staging.stg_bwt_lanes GROUP BY ALL
    UNION ALL SELECT _file_id, count(*) FROM staging.stg_disruptions GROUP BY ALL
    UNION ALL SELECT file_id, rows_read - rows_rejected FROM meta.files
              WHERE file_id IN (SELECT _file_id FROM staging.stg_ctpat_status)
), pending AS (
    SELECT _file_id, count(*) AS rows_pending FROM staging.stg_exams WHERE month IS NULL GROUP BY ALL
), loaded AS (
    SELECT f.*, f.status = 'loaded' AS is_loaded, coalesce(c.n, 0) AS rows_current
    FROM meta.files AS f LEFT JOIN current_rows AS c ON c._file_id = f.file_id
)
SELECT
    -- Names are the deliverer's choice and may hold an importer number: published redacted (redact_text,
    -- a function of the publishing connection, replaces each by its pseudonym).
    f.source, redact_text(f.file_name) AS file_name, f.content_hash, f.status, redact_text(f.message) AS message,
    CASE WHEN is_loaded THEN f.rows_read ELSE 0 END                                      AS rows_read,
    CASE WHEN is_loaded THEN f.rows_read - f.rows_rejected ELSE 0 END                    AS rows_loaded,
    CASE WHEN is_loaded THEN f.rows_rejected ELSE 0 END                                  AS rows_rejected,
    CASE WHEN is_loaded THEN f.rows_read - f.rows_rejected - f.rows_current ELSE 0 END   AS rows_superseded,
    CASE WHEN is_loaded THEN coalesce(p.rows_pending, 0) ELSE 0 END                      AS rows_pending,
    f.accepted, f.in_landing, f.first_seen_at
FROM loaded AS f
LEFT JOIN pending AS p ON p._file_id = f.file_id
ORDER BY f.source, f.file_name, f.file_id
