-- One row per port closure in force x entry it catches (role caught) or counts as normal (role normal: arrived at the port 35 to 7 days before closing, released, caught by no closure), with the entry's CTPAT status as of its local arrival date.
-- Rebuilt whole at every publication: an entry caught by two closures has a row for each. "Caught by no
-- closure" is decided here from the closures in force, not from fct_entries.caught_by_closures, which
-- months built before that column existed hold as NULL.
SELECT
    d.month,                 -- local month of reopening at the port: the benefit's month
    d.event_id,
    d.port_code,
    d.cause,
    d.closed_at,
    d.reopened_at,
    d.source,
    CASE WHEN caught_by_closure(e.arrival_at, e.release_at, d.closed_at, d.reopened_at)
         THEN 'caught' ELSE 'normal' END                       AS role,
    e.entry_number,
    e.importer_number,
    e.mode_of_transport,
    e.ctpat_status,
    e.ctpat_tier,
    e.arrival_at,
    e.release_at,
    e.released,
    e.release_hours,
    -- Negative when released during the closure; NULL while open.
    hours_between(d.reopened_at, e.release_at)                 AS resumption_hours
FROM staging.stg_disruptions AS d
JOIN facts.fct_entries AS e
  ON e.port_code = d.port_code
 AND (caught_by_closure(e.arrival_at, e.release_at, d.closed_at, d.reopened_at)
      OR (in_normal_window(e.arrival_at, d.closed_at) AND e.released
          AND NOT EXISTS (SELECT 1 FROM staging.stg_disruptions AS other
                          WHERE other.port_code = e.port_code
                            AND caught_by_closure(e.arrival_at, e.release_at, other.closed_at, other.reopened_at))))
