-- Entries per local month x importer x stratum (port x mode x country of origin x HTS section) x
-- CTPAT status and tier, with how many were examined or detained (UFLPA): the importer-level
-- counts behind the exam-rate ratios. A chapter that belongs to no section (the reserved 77) is a
-- stratum of its own, never dropped. Integer codes (scorecard_importers, scorecard_cells, the
-- stratum numbered here) keep millions of rows small.
WITH entries AS (
    SELECT
        e.month, i.importer, c.cell,
        e.country_of_origin || ' ' || coalesce(s.section, 'chapter ' || left(e.hts_number, 2)) AS origin_section,
        e.ctpat_status = 'CERTIFIED' AS certified,
        coalesce(e.ctpat_tier, 0) AS tier,
        e.examined,
        e.uflpa_detentions > 0 AS detained
    FROM facts.fct_entries AS e
    JOIN scorecard_importers AS i USING (importer_number)
    JOIN scorecard_cells AS c USING (port_code, mode_of_transport)
    LEFT JOIN ref.hts_sections AS s ON s.chapter = left(e.hts_number, 2)
), pairs AS (
    SELECT month, importer, cell, origin_section, certified, tier,
           count(*) AS entries,
           count(*) FILTER (WHERE examined) AS examined_entries,
           count(*) FILTER (WHERE detained) AS detained_entries
    FROM entries
    GROUP BY ALL
), strata AS (
    SELECT cell, origin_section, CAST(row_number() OVER (ORDER BY cell, origin_section) AS INTEGER) AS stratum
    FROM (SELECT DISTINCT cell, origin_section FROM pairs)
)
SELECT p.month, p.importer, p.cell, s.stratum, p.certified, CAST(p.tier AS TINYINT) AS tier,
       CAST(p.entries AS INTEGER) AS entries, CAST(p.examined_entries AS INTEGER) AS examined_entries,
       CAST(p.detained_entries AS INTEGER) AS detained_entries
FROM pairs AS p
JOIN strata AS s USING (cell, origin_section)
