-- release_time_profile: described, with its grain and columns, in sql/marts/_models.yml.
-- The five quantiles from one list: one holistic state per group instead of one per quantile.
SELECT
    month, mode_of_transport, ctpat_status, released_entries,
    q[1] AS p10_release_hours,
    q[2] AS p25_release_hours,
    q[3] AS median_release_hours,
    q[4] AS p75_release_hours,
    q[5] AS p90_release_hours
FROM (
    SELECT
        month, mode_of_transport, ctpat_status,
        count(*)                                                    AS released_entries,
        quantile_cont(release_hours, [0.1, 0.25, 0.5, 0.75, 0.9])   AS q
    FROM facts.fct_entries
    WHERE month BETWEEN '{first_month}' AND '{last_month}' AND released
    GROUP BY ALL
)
