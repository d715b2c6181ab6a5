-- release_times: described, with its grain and columns, in sql/marts/_models.yml.
-- Both quantiles from one list: one holistic state per group instead of one per quantile.
SELECT
    month, port_code, mode_of_transport, ctpat_status, released_entries, open_entries,
    q[1] AS median_release_hours,
    q[2] AS p90_release_hours,
    mean_release_hours
FROM (
    SELECT
        month, port_code, mode_of_transport, ctpat_status,
        count(*) FILTER (WHERE released)          AS released_entries,
        count(*) FILTER (WHERE NOT released)      AS open_entries,
        quantile_cont(release_hours, [0.5, 0.9])  AS q,
        mean_hours(arrival_at, release_at)        AS mean_release_hours
    FROM facts.fct_entries
    WHERE month BETWEEN '{first_month}' AND '{last_month}'
    GROUP BY ALL
)
