-- Current exams of the months {first_month}..{last_month} whose entry is current, placed where and
-- when their entry arrived (its local month and port) with the entry's point-in-time CTPAT status.
-- Exams without a current entry are pending: they stay in staging and join when it arrives.
SELECT
    x.exam_id,
    x.entry_number,
    x.exam_type,
    x.exam_location,
    x.selected_at,
    x.started_at,
    x.completed_at,
    x.outcome,
    x.wait_hours,
    x.selection_to_completion_hours,
    x.month,
    e.port_code,
    e.mode_of_transport,
    e.lane_type,
    e.ctpat_status,
    e.ctpat_tier,
    e.importer_number
FROM staging.stg_exams AS x
JOIN facts.fct_entries AS e USING (entry_number, month)
WHERE x.month BETWEEN '{first_month}' AND '{last_month}'
  AND e.month BETWEEN '{first_month}' AND '{last_month}'
