-- The analyst file's importer mart: the importer number replaced by its keyed pseudonym, computed
-- once per importer rather than once per importer and month (HMAC is the cost of this copy).
WITH pseudonyms AS (
    SELECT importer_number, importer_pseudonym(importer_number) AS importer_pseudonym
    FROM (SELECT DISTINCT importer_number FROM month_marts.importer_exam_rates)
)
SELECT r.month, p.importer_pseudonym, r.ctpat_status, r.entries, r.examined_entries, r.exam_rate
FROM month_marts.importer_exam_rates AS r
LEFT JOIN pseudonyms AS p USING (importer_number)
