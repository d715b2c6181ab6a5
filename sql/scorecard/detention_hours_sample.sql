-- Completed UFLPA (forced-labor) detentions: hours from selection to completion, by the entry's month, importer, cell and status.
SELECT m.month_index AS month, i.importer, c.cell, x.ctpat_status = 'CERTIFIED' AS certified, x.selection_to_completion_hours AS value
FROM facts.fct_exams AS x
JOIN scorecard_months AS m USING (month)
JOIN scorecard_importers AS i USING (importer_number)
JOIN scorecard_cells AS c USING (port_code, mode_of_transport)
WHERE x.exam_type = 'UFLPA_DETENTION' AND x.completed_at IS NOT NULL
