-- ctpat_benefits: described, with its grain and columns, in sql/marts/_models.yml.
SELECT * FROM scorecard.ctpat_benefits
ORDER BY month = 'ALL', month, benefit
