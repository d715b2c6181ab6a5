-- Entries per local month x port x mode x CTPAT status (and tier): the strata of the exam-rate ratios.
SELECT
    month, port_code, mode_of_transport, ctpat_status, ctpat_tier,
    count(*)                                     AS entries,
    count(*) FILTER (WHERE examined)             AS examined_entries,
    count(*) FILTER (WHERE uflpa_detentions > 0) AS detained_entries
FROM facts.fct_entries
GROUP BY ALL
