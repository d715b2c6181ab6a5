-- Every local month of the facts (and every month in which a port closure reopened) numbered 0..n-1 in order.
SELECT month, CAST(row_number() OVER (ORDER BY month) - 1 AS SMALLINT) AS month_index
FROM (SELECT DISTINCT month FROM facts.fct_entries UNION SELECT month FROM facts.fct_disruption_entries)
