-- Every country of origin x HTS chapter of the facts with the number of its origin x section
-- stratum: chapters of one section share it; a chapter in no section is a section of its own.
-- The distinct pairs are taken before the sections are joined (a row per pair, not per entry: 0.18
-- against 0.45 s at 10 M).
WITH pairs AS (
    SELECT DISTINCT country_of_origin, left(hts_number, 2) AS chapter
    FROM facts.fct_entries
)
SELECT p.country_of_origin, p.chapter,
       CAST(dense_rank() OVER (ORDER BY p.country_of_origin, coalesce(s.section, 'chapter ' || p.chapter)) AS INTEGER)
           AS origin_section
FROM pairs AS p
LEFT JOIN ref.hts_sections AS s ON s.chapter = p.chapter
