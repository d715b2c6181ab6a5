-- Months whose point-in-time CTPAT status changes with the export now in force: entries of the
-- importers whose certified intervals differ between the previous history (temp table
-- ctpat_before) and staging.stg_ctpat_status, where the status or tier as of the local arrival
-- date differs.
WITH before AS (
    SELECT * FROM certified_intervals('ctpat_before')
), after AS (
    SELECT * FROM certified_intervals('staging.stg_ctpat_status')
), changed AS (
    SELECT DISTINCT partner_id FROM (
        (SELECT * FROM before EXCEPT ALL SELECT * FROM after)
        UNION ALL
        (SELECT * FROM after EXCEPT ALL SELECT * FROM before))
), affected AS (
    SELECT entry_number, importer_number, arrival_local_date, month
    FROM staging.stg_entries
    WHERE importer_number IN (SELECT partner_id FROM changed)
), status_before AS (
    SELECT a.entry_number, a.month, b.tier
    FROM affected AS a JOIN before AS b
      ON b.partner_id = a.importer_number AND b.valid_from <= a.arrival_local_date
     AND (b.valid_to IS NULL OR a.arrival_local_date < b.valid_to)
), status_after AS (
    SELECT a.entry_number, a.month, n.tier
    FROM affected AS a JOIN after AS n
      ON n.partner_id = a.importer_number AND n.valid_from <= a.arrival_local_date
     AND (n.valid_to IS NULL OR a.arrival_local_date < n.valid_to)
)
SELECT DISTINCT coalesce(b.month, n.month) AS month
FROM status_before AS b FULL JOIN status_after AS n USING (entry_number)
WHERE b.entry_number IS NULL OR n.entry_number IS NULL OR b.tier IS DISTINCT FROM n.tier
