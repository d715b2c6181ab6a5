-- The CTPAT benefit scorecard per month (and ALL) x benefit: certified relative to uncertified, so a benefit shows as a ratio below 1 or a difference below 0.
SELECT * FROM scorecard.ctpat_benefits
ORDER BY month = 'ALL', month, benefit
