-- The reopening months of the closures whose caught or normal entries lie in the rebuilt months
-- ($1..$2): their business_resumption_priority rows are recomputed at the next publication.
INSERT INTO meta.unpublished_months
SELECT DISTINCT d.month, now()
FROM staging.stg_disruptions AS d
JOIN facts.fct_entries AS e
  ON e.port_code = d.port_code AND e.month BETWEEN $1 AND $2
 AND (in_normal_window(e.arrival_at, d.closed_at) OR caught_by_closure(e.arrival_at, e.release_at, d.closed_at, d.reopened_at))
ON CONFLICT (month) DO UPDATE SET rebuilt_at = excluded.rebuilt_at
