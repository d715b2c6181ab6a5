-- release_time_profile: described, with its grain and columns, in sql/marts/_models.yml.
SELECT
    month, mode_of_transport, ctpat_status,
    count(*)                                  AS released_entries,
    quantile_cont(release_hours, 0.1)         AS p10_release_hours,
    quantile_cont(release_hours, 0.25)        AS p25_release_hours,
    quantile_cont(release_hours, 0.5)         AS median_release_hours,
    quantile_cont(release_hours, 0.75)        AS p75_release_hours,
    quantile_cont(release_hours, 0.9)         AS p90_release_hours
FROM facts.fct_entries
WHERE month BETWEEN '{first_month}' AND '{last_month}' AND released
GROUP BY ALL
