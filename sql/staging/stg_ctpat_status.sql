-- CTPAT partner status history in force: the newest (by file name) export that was loaded
-- with no rejected row. An export that was rejected, even if accepted by an operator, never
-- replaces the previous one.
WITH in_force AS (
    SELECT file_id
    FROM meta.files
    WHERE source = 'ctpat' AND status = 'loaded' AND rows_rejected = 0 AND rows_read > 0
    ORDER BY file_name DESC, file_id DESC
    LIMIT 1
)
SELECT
    r.partner_id,
    r.partner_type,
    r.status,
    CAST(r.tier AS INTEGER)   AS tier,
    parse_date(r.valid_from)  AS valid_from,
    parse_date(r.valid_to)    AS valid_to,
    r._file_id
FROM raw.ctpat AS r
JOIN in_force AS f ON f.file_id = r._file_id
