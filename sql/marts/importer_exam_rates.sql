-- Exam rate per local month x importer (keyed pseudonym, never the number) x CTPAT status.
SELECT
    month,
    importer_pseudonym(importer_number)       AS importer_pseudonym,
    ctpat_status,
    count(*)                                  AS entries,
    count(*) FILTER (WHERE examined)          AS examined_entries,
    count(*) FILTER (WHERE examined) / count(*) AS exam_rate
FROM facts.fct_entries
GROUP BY ALL
ORDER BY ALL
