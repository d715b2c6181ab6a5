-- Every importer of the facts numbered 1..n in the order of its number: the scorecard's samples
-- carry this integer (the jackknife deletes one importer at a time) instead of the number itself.
SELECT importer_number, CAST(row_number() OVER (ORDER BY importer_number) AS INTEGER) AS importer
FROM (SELECT DISTINCT importer_number FROM facts.fct_entries)
