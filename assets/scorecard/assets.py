"""The CTPAT benefit scorecard, estimated from the warehouse facts (published as marts.ctpat_benefits)."""

import time

import dagster as dg

from assets.partitions import listed_months
from assets.resources import WAREHOUSE_POOL, Warehouse
from assets.scorecard.benefits import scorecard
from assets.warehouse.assets import MONTH_MARTS, ensure_month_tables


class ScorecardConfig(dg.Config):
    bootstrap_resamples: int = 1000


@dg.asset(group_name="warehouse", pool=WAREHOUSE_POOL, deps=["fct_entries", "fct_exams", "fct_lane_readings",
                                                                  *(["month_marts", n] for n in MONTH_MARTS)],
          description="CTPAT benefits per month and for ALL: Mantel-Haenszel exam-rate ratios, bootstrap median "
                      "differences, FAST vs standard lane delay, with 95% CIs and verdicts (assets/scorecard).")
def ctpat_benefit_estimates(config: ScorecardConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Rows for the months rebuilt since the last publication, every border-wait month, and ALL."""
    started = time.perf_counter()
    with warehouse.session() as con:
        ensure_month_tables(con)
        months = listed_months(con, "meta.unpublished_months")
        card = scorecard(con, config.bootstrap_resamples, months)
        con.register("card", card)
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE TABLE IF NOT EXISTS scorecard.ctpat_benefits AS SELECT * FROM card LIMIT 0")
        con.execute("DELETE FROM scorecard.ctpat_benefits WHERE month IN (SELECT DISTINCT month FROM card)")
        con.execute("INSERT INTO scorecard.ctpat_benefits BY NAME SELECT * FROM card")
        con.execute("COMMIT")
        con.unregister("card")
    overall = card.filter(card["month"] == "ALL")
    return dg.MaterializeResult(metadata={
        "rows": card.height, "months": ", ".join(months) or "none", "seconds": round(time.perf_counter() - started, 3),
        "verdicts_ALL": dg.MetadataValue.md("\n".join(f"- {b}: {v}" for b, v in overall.select("benefit", "verdict").rows()))})
