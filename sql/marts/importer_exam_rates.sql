-- Exam rate per local month x importer x CTPAT status; the analyst file has keyed pseudonyms, never the number.
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
