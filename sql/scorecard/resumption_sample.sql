-- Released entries of the port closures: caught ones with their hours from reopening to release, normal ones (35 to 7 days before closing) with their release hours; by reopening month, importer, event x port x mode cell and status.
SELECT m.month_index AS month, i.importer, c.cell, d.ctpat_status = 'CERTIFIED' AS certified, d.role,
       CASE WHEN d.role = 'caught' THEN d.resumption_hours ELSE d.release_hours END AS value
FROM facts.fct_disruption_entries AS d
JOIN scorecard_months AS m USING (month)
JOIN scorecard_importers AS i USING (importer_number)
JOIN scorecard_closure_cells AS c USING (event_id, port_code, mode_of_transport)
WHERE d.released
