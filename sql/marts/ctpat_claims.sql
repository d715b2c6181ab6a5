-- One answer per CBP claim per month (and ALL): the scorecard rows that test it, the verdict by the contract's rules, and one plain sentence for a customs broker.
SELECT * FROM scorecard.ctpat_claims
ORDER BY month = 'ALL', month, claim
