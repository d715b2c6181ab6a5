-- Every released entry's release hours, by month, port, status and whether it was examined.
SELECT month, port_code AS stratum, mode_of_transport, ctpat_status = 'CERTIFIED' AS certified, examined, release_hours AS value
FROM facts.fct_entries
WHERE released
