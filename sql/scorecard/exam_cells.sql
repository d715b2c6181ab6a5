-- Entries and examined entries per importer x port x mode cell x local month x CTPAT status: the
-- cells of the within-importer Poisson model.
SELECT i.importer, c.cell, m.month_index AS month, e.ctpat_status = 'CERTIFIED' AS certified,
       count(*) AS entries, count(*) FILTER (WHERE e.examined) AS examined
FROM facts.fct_entries AS e
JOIN scorecard_months AS m USING (month)
JOIN scorecard_importers AS i USING (importer_number)
JOIN scorecard_cells AS c USING (port_code, mode_of_transport)
GROUP BY ALL
