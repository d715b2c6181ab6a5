-- The analyst file's importer mart: the importer number replaced by its keyed pseudonym.
SELECT month, importer_pseudonym(importer_number) AS importer_pseudonym, ctpat_status,
       entries, examined_entries, exam_rate
FROM month_marts.importer_exam_rates
