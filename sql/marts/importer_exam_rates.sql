-- importer_exam_rates: described, with its grain and columns, in sql/marts/_models.yml.
SELECT
    month,
    importer_number,
    ctpat_status,
    count(*)                                  AS entries,
    count(*) FILTER (WHERE examined)          AS examined_entries,
    count(*) FILTER (WHERE examined) / count(*) AS exam_rate
FROM facts.fct_entries
WHERE month BETWEEN '{first_month}' AND '{last_month}'
GROUP BY ALL
