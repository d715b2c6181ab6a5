-- Current valid exams: the last valid row per exam_id over all loaded files, typed.
WITH valid AS (
    SELECT * FROM valid_loaded_rows('raw.exams')
), current_rows AS (
    SELECT * FROM valid
    QUALIFY row_number() OVER (PARTITION BY exam_id ORDER BY file_name DESC, _file_id DESC, _row DESC) = 1
)
SELECT
    exam_id,
    entry_key(entry_number)             AS entry_number,
    exam_type,
    exam_location,
    parse_timestamp(selected_at)        AS selected_at,
    parse_timestamp(started_at)         AS started_at,
    parse_timestamp(completed_at)       AS completed_at,
    outcome,
    hours_between(parse_timestamp(selected_at), parse_timestamp(started_at))   AS wait_hours,
    hours_between(parse_timestamp(selected_at), parse_timestamp(completed_at)) AS selection_to_completion_hours,
    _file_id,
    _rid
FROM current_rows
