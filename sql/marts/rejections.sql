-- rejections: described, with its grain and columns, in sql/marts/_models.yml.
SELECT f.source, q.reason_code AS reason, count(*) AS rows
FROM quality.rejected_rows AS q
JOIN meta.files AS f ON f.file_id = q._file_id AND f.status = 'loaded'
GROUP BY ALL
ORDER BY ALL
