"""The CTPAT benefit scorecard, estimated from the warehouse facts (published as
marts.ctpat_benefits, marts.ctpat_benefit_sensitivity and marts.ctpat_claims).

The estimators (numba's compiled loops) are imported by the asset that runs them: every step process
of the multiprocess executor, the UI and the daemon import this module, and most never estimate."""

import time

import dagster as dg
import duckdb
import polars as pl

from assets.partitions import listed_months
from assets.resources import WAREHOUSE_POOL, Warehouse, code_digest
from assets.specs import spec
from assets.models import MONTH_MARTS, ensure_month_tables


def _replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, keys: list[str]) -> None:
    """Delete the rows whose keys the frame has and insert the frame (the table is created from it)."""
    con.register("frame", frame)
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM frame LIMIT 0")
    con.execute(f"DELETE FROM {table} AS t USING (SELECT DISTINCT {', '.join(keys)} FROM frame) AS f "
                f"WHERE {' AND '.join(f't.{k} = f.{k}' for k in keys)}")
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
    con.unregister("frame")


def _stored_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'scorecard' "
                                      "AND table_name = 'ctpat_benefits' ORDER BY column_index").fetchall()]


# The code the stored rows are estimated by: other code estimates every month again.
SCORECARD_CODE = ("assets/scorecard", "sql/scorecard", "assets/reference/hts_sections.csv")


def _facts_unchanged(con: duckdb.DuckDBPyConnection, months: list[str] | None) -> bool:
    """No month rebuilt since the stored rows were estimated, and none being rebuilt: every month's
    facts, and so ALL's rows, are those the stored rows come from: a publication with nothing new,
    or with Border Wait Times only (at 10 M entries the step took 23.4-24.4 s, with the border waits
    alone 0.5-0.6 s; docs/scaling-history.md, issue 15's twenty-eighth and twenty-ninth rounds)."""
    if months != [] or listed_months(con, "meta.open_months"):
        return False
    (stored,), = con.execute("SELECT count(*) FROM scorecard.ctpat_benefits WHERE month = 'ALL'").fetchall()
    return stored > 0


MODEL = spec("scorecard", "ctpat_benefit_estimates")


# After the month marts too: they record the months to re-estimate (meta.unpublished_months).
@dg.asset(group_name="scorecard", pool=WAREHOUSE_POOL, deps=[*MODEL.deps, *(["month_marts", n] for n in MONTH_MARTS)],
          description=MODEL.asset_description, kinds={"duckdb", "polars", "python"})
def ctpat_benefit_estimates(warehouse: Warehouse) -> dg.MaterializeResult:
    """Rows for the months rebuilt since the last publication (every month when the scorecard's
    columns or code changed), the border waits of every month, and ALL; only the border waits when
    no month was rebuilt; then every claim from the whole table."""
    from assets.scorecard.benefits import COLUMNS, scorecard
    from assets.scorecard.claims import claims

    started = time.perf_counter()
    with warehouse.session() as con:
        ensure_month_tables(con)
        stored = _stored_columns(con)
        digest = code_digest(SCORECARD_CODE)
        estimated_by = con.execute("SELECT digest FROM meta.scorecard_estimated").fetchall()
        redefined = bool(stored) and (stored != list(COLUMNS) or estimated_by != [(digest,)])
        months = None if redefined else listed_months(con, "meta.unpublished_months")
        facts = not (stored and _facts_unchanged(con, months))
        card = scorecard(con, months, facts=facts)
        loaded = {s for (s,) in con.execute("SELECT DISTINCT source FROM meta.files WHERE status = 'loaded' "
                                            "AND rows_read > rows_rejected").fetchall()}
        con.execute("BEGIN TRANSACTION")
        if redefined:
            con.execute("DROP TABLE scorecard.ctpat_benefits; DROP TABLE IF EXISTS scorecard.ctpat_benefit_sensitivity")
        # By month and benefit: a month of border readings that was not rebuilt gets its border-wait row alone.
        _replace_rows(con, "scorecard.ctpat_benefits", card.benefits, ["month", "benefit"])
        _replace_rows(con, "scorecard.ctpat_benefit_sensitivity", card.sensitivity, ["month"])
        con.execute("DELETE FROM meta.scorecard_estimated")
        con.execute("INSERT INTO meta.scorecard_estimated (digest) VALUES (?)", [digest])
        answers = claims(con.sql("SELECT * FROM scorecard.ctpat_benefits").pl(), loaded)
        con.register("answers", answers)
        con.execute("CREATE OR REPLACE TABLE scorecard.ctpat_claims AS SELECT * FROM answers")
        con.unregister("answers")
        con.execute("COMMIT")
    overall = answers.filter(pl.col("month") == "ALL")
    return dg.MaterializeResult(metadata={
        "rows": card.benefits.height, "months": ", ".join(sorted(set(card.benefits["month"]))) or "none",
        "estimated": "every benefit" if facts else "border waits only: no month rebuilt since the last estimate",
        "seconds": round(time.perf_counter() - started, 3),
        "claims_ALL": dg.MetadataValue.md("\n".join(f"- {c}: {v}" for c, v in overall.select("claim", "verdict").rows()))})
