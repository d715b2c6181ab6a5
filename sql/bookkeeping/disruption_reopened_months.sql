-- Months to rebuild when the closures in force change: for every row that is new, corrected or gone
-- (temp table disruptions_before against staging.stg_disruptions), the months of the entries it
-- caught before and catches now, and its reopening month before and after.
WITH fields AS (
    SELECT event_id, port_code, cause, closed_at, reopened_at, source, month FROM disruptions_before
), now_fields AS (
    SELECT event_id, port_code, cause, closed_at, reopened_at, source, month FROM staging.stg_disruptions
), changed AS (
    (SELECT * FROM fields EXCEPT SELECT * FROM now_fields)
    UNION
    (SELECT * FROM now_fields EXCEPT SELECT * FROM fields)
)
SELECT month FROM changed
UNION
SELECT e.month
FROM changed AS d
JOIN staging.stg_entries AS e
  ON e.port_code = d.port_code AND caught_by_closure(e.arrival_at, e.release_at, d.closed_at, d.reopened_at)
