-- ctpat_claims: described, with its grain and columns, in sql/marts/_models.yml.
SELECT * FROM scorecard.ctpat_claims
ORDER BY month = 'ALL', month, claim
