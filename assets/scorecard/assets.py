"""The CTPAT benefit scorecard, estimated from the warehouse facts (published as
marts.ctpat_benefits, marts.ctpat_benefit_sensitivity and marts.ctpat_claims).

The estimators (numba's compiled loops) are imported by the asset that runs them: every step process
of the multiprocess executor, the UI and the daemon import this module, and most never estimate."""

import time

import dagster as dg
import duckdb
import polars as pl

from assets.partitions import listed_months
from assets.resources import WAREHOUSE_POOL, Warehouse
from assets.specs import spec
from assets.models import MONTH_MARTS, ensure_month_tables


def _replace_months(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Delete the frame's months from the table and insert the frame (the table is created from it)."""
    con.register("frame", frame)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM frame LIMIT 0")
    con.execute(f"DELETE FROM {table} WHERE month IN (SELECT DISTINCT month FROM frame)")
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
    con.unregister("frame")


def _stored_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'scorecard' "
                                      "AND table_name = 'ctpat_benefits' ORDER BY column_index").fetchall()]


MODEL = spec("scorecard", "ctpat_benefit_estimates")


# After the month marts too: they record the months to re-estimate (meta.unpublished_months).
@dg.asset(group_name="scorecard", pool=WAREHOUSE_POOL, deps=[*MODEL.deps, *(["month_marts", n] for n in MONTH_MARTS)],
          description=MODEL.asset_description, kinds={"duckdb", "polars", "python"})
def ctpat_benefit_estimates(warehouse: Warehouse) -> dg.MaterializeResult:
    """Rows for the months rebuilt since the last publication (every month when the scorecard's
    definition changed), every border-wait month, and ALL; then every claim from the whole table."""
    from assets.scorecard.benefits import COLUMNS, scorecard
    from assets.scorecard.claims import claims

    started = time.perf_counter()
    with warehouse.session() as con:
        ensure_month_tables(con)
        stored = _stored_columns(con)
        redefined = bool(stored) and stored != list(COLUMNS)
        months = None if redefined else listed_months(con, "meta.unpublished_months")
        card = scorecard(con, months)
        loaded = {s for (s,) in con.execute("SELECT DISTINCT source FROM meta.files WHERE status = 'loaded' "
                                            "AND rows_read > rows_rejected").fetchall()}
        con.execute("BEGIN TRANSACTION")
        if redefined:
            con.execute("DROP TABLE scorecard.ctpat_benefits; DROP TABLE IF EXISTS scorecard.ctpat_benefit_sensitivity")
        _replace_months(con, "scorecard.ctpat_benefits", card.benefits)
        _replace_months(con, "scorecard.ctpat_benefit_sensitivity", card.sensitivity)
        answers = claims(con.sql("SELECT * FROM scorecard.ctpat_benefits").pl(), loaded)
        con.register("answers", answers)
        con.execute("CREATE OR REPLACE TABLE scorecard.ctpat_claims AS SELECT * FROM answers")
        con.unregister("answers")
        con.execute("COMMIT")
    overall = answers.filter(pl.col("month") == "ALL")
    return dg.MaterializeResult(metadata={
        "rows": card.benefits.height, "months": ", ".join(sorted(set(card.benefits["month"]))) or "none",
        "seconds": round(time.perf_counter() - started, 3),
        "claims_ALL": dg.MetadataValue.md("\n".join(f"- {c}: {v}" for c, v in overall.select("claim", "verdict").rows()))})
