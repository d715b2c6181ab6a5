-- exam_rates: described, with its grain and columns, in sql/marts/_models.yml.
SELECT
    month, port_code, mode_of_transport, ctpat_status, entries, examined_entries,
    examined_entries / entries                 AS exam_rate,
    wilson_low(examined_entries, entries)      AS exam_rate_ci_low,
    wilson_high(examined_entries, entries)     AS exam_rate_ci_high,
    exams, uflpa_detentions
FROM (
    SELECT month, port_code, mode_of_transport, ctpat_status,
           count(*) AS entries, count(*) FILTER (WHERE examined) AS examined_entries,
           CAST(sum(exams) AS BIGINT) AS exams, CAST(sum(uflpa_detentions) AS BIGINT) AS uflpa_detentions
    FROM facts.fct_entries
    WHERE month BETWEEN '{first_month}' AND '{last_month}'
    GROUP BY ALL
)
