-- Every released entry's release hours, by month, importer, port x mode cell, status and whether it was examined.
SELECT m.month_index AS month, i.importer, c.cell, e.ctpat_status = 'CERTIFIED' AS certified, e.examined, e.release_hours AS value
FROM facts.fct_entries AS e
JOIN scorecard_months AS m USING (month)
JOIN scorecard_importers AS i USING (importer_number)
JOIN scorecard_cells AS c USING (port_code, mode_of_transport)
WHERE e.released
