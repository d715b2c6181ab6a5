-- disruption_backlog: described, with its grain and columns, in sql/marts/_models.yml.
WITH caught AS (
    SELECT month, event_id, ctpat_status, resumption_hours
    FROM facts.fct_disruption_entries WHERE role = 'caught'
), groups AS (
    SELECT month, event_id, ctpat_status, count(*) AS caught_entries,
           -- Both statuses up to the event's last release (at most 14 days), so that every curve reaches its end.
           least(336, greatest(0, CAST(ceil(max(max(resumption_hours)) OVER (PARTITION BY month, event_id)) AS INTEGER)))
               AS last_hour
    FROM caught GROUP BY month, event_id, ctpat_status
), hours AS (
    SELECT g.*, h.hour FROM groups AS g, LATERAL (SELECT unnest(range(0, g.last_hour + 1)) AS hour) AS h
), released_by AS (
    -- Releases per whole hour after reopening (at or before the hour; during the closure: hour 0).
    SELECT month, event_id, ctpat_status, greatest(0, CAST(ceil(resumption_hours) AS INTEGER)) AS hour, count(*) AS n
    FROM caught WHERE resumption_hours IS NOT NULL GROUP BY ALL
)
SELECT
    h.month, h.event_id, h.ctpat_status, h.hour AS hours_after_reopening,
    CAST(h.caught_entries AS BIGINT) AS caught_entries,
    CAST(h.caught_entries - coalesce(sum(r.n) OVER w, 0) AS BIGINT) AS backlog_entries,
    (h.caught_entries - coalesce(sum(r.n) OVER w, 0)) / h.caught_entries AS backlog_share
FROM hours AS h
LEFT JOIN released_by AS r USING (month, event_id, ctpat_status, hour)
WINDOW w AS (PARTITION BY h.month, h.event_id, h.ctpat_status ORDER BY h.hour)
ORDER BY ALL
