-- Every closure (event x port) x mode of the disruption facts numbered 1..n: the cells in which resumption hours are compared.
SELECT event_id, port_code, mode_of_transport,
       CAST(row_number() OVER (ORDER BY event_id, port_code, mode_of_transport) AS INTEGER) AS cell
FROM (SELECT DISTINCT event_id, port_code, mode_of_transport FROM facts.fct_disruption_entries)
