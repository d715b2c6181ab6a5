-- Every entry as small integers: local month, importer, port x mode cell, country of origin x HTS
-- section, CTPAT status and tier, examined, detained (UFLPA). The scorecard keeps them in month
-- order as scorecard_entries: the exam-rate ratios add them up by importer and stratum
-- (assets/scorecard/benefits.py) and exam_cells.sql counts the within-importer cells from them.
-- A chapter that belongs to no section (the reserved 77) is a stratum of its own, never dropped;
-- every entry has an origin and an HTS number (the gate's rules), so none is lost by the joins.
SELECT
    m.month_index AS month,
    i.importer,
    c.cell,
    o.origin_section,
    e.ctpat_status = 'CERTIFIED'                  AS certified,
    CAST(coalesce(e.ctpat_tier, 0) AS TINYINT)   AS tier,
    e.examined,
    e.uflpa_detentions > 0                        AS detained
FROM facts.fct_entries AS e
JOIN scorecard_months AS m USING (month)
JOIN scorecard_importers AS i USING (importer_number)
JOIN scorecard_cells AS c USING (port_code, mode_of_transport)
JOIN scorecard_origin_sections AS o ON o.country_of_origin = e.country_of_origin AND o.chapter = left(e.hts_number, 2)
