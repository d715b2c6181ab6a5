-- disruption_recovery: described, with its grain and columns, in sql/marts/_models.yml.
WITH closures AS (
    SELECT DISTINCT month, event_id, port_code, cause, closed_at, reopened_at, source FROM facts.fct_disruption_entries
), caught AS (
    SELECT event_id, port_code, ctpat_status,
           count(*)                                        AS caught_entries,
           count(*) FILTER (WHERE released)                AS released_entries,
           count(*) FILTER (WHERE NOT released)            AS open_entries,
           count(DISTINCT importer_number)                 AS importers,
           quantile_cont(resumption_hours, 0.5)            AS median_resumption_hours,
           quantile_cont(resumption_hours, 0.9)            AS p90_resumption_hours
    FROM facts.fct_disruption_entries WHERE role = 'caught'
    GROUP BY ALL
), normal AS (
    SELECT event_id, port_code, ctpat_status,
           count(*)                                        AS normal_entries,
           quantile_cont(release_hours, 0.5)               AS normal_median_release_hours
    FROM facts.fct_disruption_entries WHERE role = 'normal'
    GROUP BY ALL
)
SELECT
    d.month, c.event_id, c.port_code, c.ctpat_status, d.cause, d.closed_at, d.reopened_at,
    hours_between(d.closed_at, d.reopened_at)              AS closed_hours,
    CAST(c.caught_entries AS BIGINT)                       AS caught_entries,
    CAST(c.released_entries AS BIGINT)                     AS released_entries,
    CAST(c.open_entries AS BIGINT)                         AS open_entries,
    CAST(c.importers AS BIGINT)                            AS importers,
    c.median_resumption_hours,
    c.p90_resumption_hours,
    CAST(coalesce(n.normal_entries, 0) AS BIGINT)          AS normal_entries,
    n.normal_median_release_hours,
    d.source
FROM caught AS c
JOIN closures AS d USING (event_id, port_code)
LEFT JOIN normal AS n USING (event_id, port_code, ctpat_status)
ORDER BY d.month, c.event_id, c.port_code, c.ctpat_status
