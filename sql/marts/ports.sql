-- ports: described, with its grain and columns, in sql/marts/_models.yml.
SELECT
    port_code, port_name, state, nullif(border, '') AS border,
    CASE WHEN coalesce(border, '') <> '' THEN 'land border'
         WHEN regexp_matches(port_name, '\bAIRPORT\b|\bAIR CARGO\b') THEN 'airport'
         ELSE 'seaport or inland' END AS kind,
    time_zone
FROM ref.schedule_d_ports
ORDER BY port_code
