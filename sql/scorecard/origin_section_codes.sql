-- Every country of origin x HTS chapter of the facts with the number of its origin x section
-- stratum: chapters of one section share it; a chapter in no section is a section of its own.
WITH pairs AS (
    SELECT DISTINCT e.country_of_origin, left(e.hts_number, 2) AS chapter,
           coalesce(s.section, 'chapter ' || left(e.hts_number, 2)) AS section
    FROM facts.fct_entries AS e
    LEFT JOIN ref.hts_sections AS s ON s.chapter = left(e.hts_number, 2)
)
SELECT country_of_origin, chapter, CAST(dense_rank() OVER (ORDER BY country_of_origin, section) AS INTEGER) AS origin_section
FROM pairs
