-- Every started exam's wait (hours from selection to start), by its entry's month, importer, port x mode cell and status.
SELECT m.month_index AS month, i.importer, c.cell, x.ctpat_status = 'CERTIFIED' AS certified, x.wait_hours AS value
FROM facts.fct_exams AS x
JOIN scorecard_months AS m USING (month)
JOIN scorecard_importers AS i USING (importer_number)
JOIN scorecard_cells AS c USING (port_code, mode_of_transport)
WHERE x.started_at IS NOT NULL
