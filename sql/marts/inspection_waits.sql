-- inspection_waits: described, with its grain and columns, in sql/marts/_models.yml.
SELECT
    month, port_code, ctpat_status,
    count(*)                              AS exams_started,
    quantile_cont(wait_hours, 0.5)        AS median_wait_hours,
    quantile_cont(wait_hours, 0.9)        AS p90_wait_hours,
    mean_hours(selected_at, started_at)   AS mean_wait_hours
FROM facts.fct_exams
WHERE month BETWEEN '{first_month}' AND '{last_month}' AND started_at IS NOT NULL
GROUP BY ALL
