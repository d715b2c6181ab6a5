-- Completed UFLPA (forced-labor) detentions: hours from selection to completion.
SELECT month, port_code AS stratum, mode_of_transport, ctpat_status = 'CERTIFIED' AS certified, selection_to_completion_hours AS value
FROM facts.fct_exams
WHERE exam_type = 'UFLPA_DETENTION' AND completed_at IS NOT NULL
