"""The CTPAT benefit scorecard, estimated from the warehouse facts (published as marts.ctpat_benefits)."""

import time

import dagster as dg

from assets.resources import WAREHOUSE_POOL, Warehouse
from assets.scorecard.benefits import scorecard


class ScorecardConfig(dg.Config):
    bootstrap_resamples: int = 1000


@dg.asset(group_name="warehouse", pool=WAREHOUSE_POOL, deps=["fct_entries", "fct_exams", "fct_lane_readings"],
          description="CTPAT benefits per month and for ALL: Mantel-Haenszel exam-rate ratios, bootstrap median "
                      "differences, FAST vs standard lane delay, with 95% CIs and verdicts (assets/scorecard).")
def ctpat_benefit_estimates(config: ScorecardConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.perf_counter()
    with warehouse.session() as con:
        card = scorecard(con, config.bootstrap_resamples)
        con.register("card", card)
        con.execute("CREATE OR REPLACE TABLE scorecard.ctpat_benefits AS SELECT * FROM card")
        con.unregister("card")
    overall = card.filter(card["month"] == "ALL")
    return dg.MaterializeResult(metadata={
        "rows": card.height, "seconds": round(time.perf_counter() - started, 3),
        "verdicts_ALL": dg.MetadataValue.md("\n".join(f"- {b}: {v}" for b, v in overall.select("benefit", "verdict").rows()))})
