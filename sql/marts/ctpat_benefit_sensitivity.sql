-- Does the answer depend on the specification? Each benefit per month (and ALL) estimated crude, within port x mode, within port x mode x origin x HTS section (rates), and within importer, each with its importer-clustered 95% CI.
SELECT * FROM scorecard.ctpat_benefit_sensitivity
ORDER BY month = 'ALL', month, benefit, specification
