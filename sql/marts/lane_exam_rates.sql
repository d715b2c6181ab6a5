-- lane_exam_rates: described, with its grain and columns, in sql/marts/_models.yml.
SELECT
    month, port_code, lane_type, ctpat_status, entries, examined_entries,
    examined_entries / entries                 AS exam_rate,
    wilson_low(examined_entries, entries)      AS exam_rate_ci_low,
    wilson_high(examined_entries, entries)     AS exam_rate_ci_high
FROM (
    SELECT month, port_code, lane_type, ctpat_status,
           count(*) AS entries, count(*) FILTER (WHERE examined) AS examined_entries
    FROM facts.fct_entries
    WHERE month BETWEEN '{first_month}' AND '{last_month}' AND mode_of_transport IN ('30', '31') AND lane_type IS NOT NULL
    GROUP BY ALL
)
