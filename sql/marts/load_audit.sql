-- One row per landing file delivery: what happened to it and where its rows went.
WITH current_rids AS (
    SELECT _rid FROM staging.stg_entries
    UNION ALL SELECT _rid FROM staging.stg_exams
    UNION ALL SELECT DISTINCT _rid FROM staging.stg_bwt_lanes
), in_force_ctpat AS (
    SELECT DISTINCT _file_id FROM staging.stg_ctpat_status
), loaded_rows AS (
    SELECT _file_id, _rid FROM valid_loaded_rows('raw.entries')
    UNION ALL SELECT _file_id, _rid FROM valid_loaded_rows('raw.exams')
    UNION ALL SELECT _file_id, _rid FROM valid_loaded_rows('raw.ctpat')
    UNION ALL SELECT DISTINCT _file_id, _rid FROM valid_loaded_rows('raw.bwt')
), superseded AS (
    SELECT l._file_id, count(*) AS rows_superseded
    FROM loaded_rows AS l
    JOIN meta.files AS f ON f.file_id = l._file_id
    WHERE CASE WHEN f.source = 'ctpat' THEN l._file_id NOT IN (SELECT _file_id FROM in_force_ctpat)
               ELSE l._rid NOT IN (SELECT _rid FROM current_rids) END
    GROUP BY ALL
), pending AS (
    SELECT x._file_id, count(*) AS rows_pending
    FROM staging.stg_exams AS x ANTI JOIN staging.stg_entries AS e USING (entry_number)
    GROUP BY ALL
)
SELECT
    f.source, f.file_name, f.content_hash, f.status, f.message,
    CASE WHEN f.status = 'loaded' THEN f.rows_read ELSE 0 END                     AS rows_read,
    CASE WHEN f.status = 'loaded' THEN f.rows_read - f.rows_rejected ELSE 0 END   AS rows_loaded,
    CASE WHEN f.status = 'loaded' THEN f.rows_rejected ELSE 0 END                 AS rows_rejected,
    CASE WHEN f.status = 'loaded' THEN coalesce(s.rows_superseded, 0) ELSE 0 END  AS rows_superseded,
    CASE WHEN f.status = 'loaded' THEN coalesce(p.rows_pending, 0) ELSE 0 END     AS rows_pending,
    f.accepted, f.in_landing, f.first_seen_at
FROM meta.files AS f
LEFT JOIN superseded AS s ON s._file_id = f.file_id
LEFT JOIN pending AS p ON p._file_id = f.file_id
ORDER BY f.source, f.file_name, f.file_id
