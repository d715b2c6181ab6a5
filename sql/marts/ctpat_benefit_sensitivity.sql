-- ctpat_benefit_sensitivity: described, with its grain and columns, in sql/marts/_models.yml.
SELECT * FROM scorecard.ctpat_benefit_sensitivity
ORDER BY month = 'ALL', month, benefit, specification
