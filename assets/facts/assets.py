"""Facts: entries and exams rebuilt per local-month partition, lane readings and the closures'
entries rebuilt whole (sql/facts/_models.yml describes each)."""

import time

import dagster as dg

from assets.models import ensure_month_tables, month_model, whole_model
from assets.resources import WAREHOUSE_POOL, Warehouse, read_sql
from assets.specs import spec, table_metadata

fct_entries = month_model(spec("facts", "fct_entries"))
fct_exams = month_model(spec("facts", "fct_exams"))

fct_lane_readings = whole_model(spec("facts", "fct_lane_readings"))


# Closures catch entries across months, and their marts are recomputed at every publication: after
# the month rebuilds, in the publication's runs.
@dg.asset(group_name="facts", pool=WAREHOUSE_POOL, deps=spec("facts", "fct_disruption_entries").deps,
          description=spec("facts", "fct_disruption_entries").asset_description, kinds={"duckdb", "sql"})
def fct_disruption_entries(warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.perf_counter()
    with warehouse.session() as con:
        ensure_month_tables(con)
        con.execute(f"CREATE OR REPLACE TABLE facts.fct_disruption_entries AS {read_sql('facts/fct_disruption_entries.sql')}")
        rows = con.execute("SELECT role, count(*) FROM facts.fct_disruption_entries GROUP BY ALL").fetchall()
        standard = table_metadata(con, spec("facts", "fct_disruption_entries"), "facts.fct_disruption_entries",
                                  sum(n for _, n in rows))
    return dg.MaterializeResult(metadata={**{f"{role}_rows": n for role, n in rows}, **standard,
                                          "seconds": round(time.perf_counter() - started, 3)})
