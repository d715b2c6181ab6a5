-- Every port x mode of the facts numbered 1..n in name order: the cells in which medians are compared.
SELECT port_code, mode_of_transport,
       CAST(row_number() OVER (ORDER BY port_code, mode_of_transport) AS INTEGER) AS cell
FROM (SELECT DISTINCT port_code, mode_of_transport FROM facts.fct_entries)
