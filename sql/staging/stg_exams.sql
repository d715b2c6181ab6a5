-- Valid exams not staged yet: the last row per exam_id of the loaded files not merged into staging,
-- typed, placed in its entry's local month (NULL while the entry has not arrived: pending).
WITH valid AS (
    SELECT * FROM valid_unstaged_rows('raw.exams')
), repeated AS (
    -- As in stg_entries.sql: only the exam ids repeated in a batch go through the window (at 10 M
    -- entries under a tenth of the memory ceiling: 3.3-4.2 s for every row, 2.7-2.9 s this way).
    SELECT exam_id FROM valid GROUP BY exam_id HAVING count(*) > 1
), current_rows AS (
    SELECT * FROM valid ANTI JOIN repeated USING (exam_id)
    UNION ALL
    SELECT * FROM (SELECT * FROM valid SEMI JOIN repeated USING (exam_id))
    QUALIFY row_number() OVER (PARTITION BY exam_id ORDER BY file_name DESC, _file_id DESC, _row DESC) = 1
)
SELECT
    c.exam_id,
    entry_key(c.entry_number)             AS entry_number,
    c.exam_type,
    c.exam_location,
    gated_timestamp(c.selected_at)        AS selected_at,
    gated_timestamp(c.started_at)         AS started_at,
    gated_timestamp(c.completed_at)       AS completed_at,
    c.outcome,
    hours_between(gated_timestamp(c.selected_at), gated_timestamp(c.started_at))   AS wait_hours,
    hours_between(gated_timestamp(c.selected_at), gated_timestamp(c.completed_at)) AS selection_to_completion_hours,
    e.month,
    c.file_name AS _file_name,
    c._file_id,
    c._row,
    c._rid
FROM current_rows AS c
LEFT JOIN staging.stg_entries AS e ON e.entry_number = entry_key(c.entry_number)
