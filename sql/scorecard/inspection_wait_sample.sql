-- Every started exam's wait (hours from selection to start), by its entry's month, port, mode and status.
SELECT month, port_code AS stratum, mode_of_transport, ctpat_status = 'CERTIFIED' AS certified, wait_hours AS value
FROM facts.fct_exams
WHERE started_at IS NOT NULL
