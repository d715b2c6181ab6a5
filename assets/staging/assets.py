"""Staging: the rows in force, one per key. Entries and exams merge only newly loaded rows by key
and open the local months they touch (meta.open_months); CTPAT statuses, closures and Border Wait
Times lanes are small and rebuilt whole (sql/staging/_models.yml describes each)."""

import time

import dagster as dg
import duckdb

from assets.models import create_like, whole_model
from assets.partitions import listed_months
from assets.resources import WAREHOUSE_POOL, Warehouse, read_sql
from assets.specs import spec, table_metadata


def merge_new_rows(con: duckdb.DuckDBPyConnection, table: str, key: str, source: str) -> tuple[int, int]:
    """Merge the rows of newly loaded files into staging.table by key; returns (batch rows, rows merged)."""
    incoming_sql = read_sql(f"staging/{table}.sql")
    create_like(con, f"staging.{table}", incoming_sql)
    if not con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'staging' AND table_name = ? "
                       "AND column_name = '_file_name'", [table]).fetchall()[0][0]:
        raise dg.Failure(f"staging.{table} was built by a version without month partitions: move the warehouse "
                         "file aside and run again (it is rebuilt from the landing zone)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS {incoming_sql}")
    batch = con.execute("SELECT count(*) FROM incoming").fetchall()[0][0]
    con.execute(read_sql("bookkeeping/merge_current_rows.sql").format(table=table, key=key, source=source))
    merged = con.execute("SELECT count(*) FROM incoming").fetchall()[0][0]
    return batch, merged


def _staging_result(started: float, con, table: str, **counts) -> dg.MaterializeResult:
    opened = listed_months(con, "meta.open_months")
    rows = con.execute(f"SELECT count(*) FROM staging.{table}").fetchall()[0][0]
    # JSON, not text: the open-months sensor reads this list back from the run's events.
    return dg.MaterializeResult(metadata={**counts, **table_metadata(con, spec("staging", table), f"staging.{table}", rows),
                                          "open_months": dg.MetadataValue.json(opened),
                                          "seconds": round(time.perf_counter() - started, 3)})


def keyed_staging(table: str, key: str, source: str, then_sql: str | None = None) -> dg.AssetsDefinition:
    """A staging asset that merges the newly loaded rows by key (then runs then_sql), in one transaction."""
    model = spec("staging", table)

    @dg.asset(name=table, group_name="staging", pool=WAREHOUSE_POOL, deps=model.deps,
              description=model.asset_description, kinds={"duckdb", "sql"})
    def _staging(warehouse: Warehouse) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.session() as con:
            con.execute("BEGIN TRANSACTION")
            batch, merged = merge_new_rows(con, table, key, source)
            if then_sql:
                con.execute(read_sql(then_sql))
            con.execute("COMMIT")
            return _staging_result(started, con, table, rows_in_batch=batch, rows_merged=merged)

    return _staging


stg_entries = keyed_staging("stg_entries", "entry_number", "entries")
# Exams follow their entries: the exams of entries staged since the last run move to their months.
stg_exams = keyed_staging("stg_exams", "exam_id", "exams", "bookkeeping/stg_exams_rejoin.sql")


@dg.asset(group_name="staging", pool=WAREHOUSE_POOL, deps=spec("staging", "stg_ctpat_status").deps,
          description=spec("staging", "stg_ctpat_status").asset_description, kinds={"duckdb", "sql"})
def stg_ctpat_status(warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.perf_counter()
    history = read_sql("staging/stg_ctpat_status.sql")
    with warehouse.session() as con:
        create_like(con, "staging.stg_ctpat_status", history)
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE OR REPLACE TEMP TABLE ctpat_before AS SELECT * FROM staging.stg_ctpat_status")
        con.execute(f"CREATE OR REPLACE TABLE staging.stg_ctpat_status AS {history}")
        reopened = con.execute(f"INSERT INTO meta.open_months (month, reason) SELECT month, 'ctpat' FROM "
                               f"({read_sql('bookkeeping/ctpat_reopened_months.sql')}) ON CONFLICT DO NOTHING "
                               f"RETURNING month").fetchall()
        con.execute("COMMIT")
        return _staging_result(started, con, "stg_ctpat_status", months_reopened_by_status_changes=len(reopened))


@dg.asset(group_name="staging", pool=WAREHOUSE_POOL, deps=spec("staging", "stg_disruptions").deps,
          description=spec("staging", "stg_disruptions").asset_description, kinds={"duckdb", "sql"})
def stg_disruptions(warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.perf_counter()
    closures = read_sql("staging/stg_disruptions.sql")
    with warehouse.session() as con:
        create_like(con, "staging.stg_disruptions", closures)
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE OR REPLACE TEMP TABLE disruptions_before AS SELECT * FROM staging.stg_disruptions")
        con.execute(f"CREATE OR REPLACE TABLE staging.stg_disruptions AS {closures}")
        reopened = con.execute(f"INSERT INTO meta.open_months (month, reason) SELECT month, 'disruptions' FROM "
                               f"({read_sql('bookkeeping/disruption_reopened_months.sql')}) WHERE month IS NOT NULL "
                               f"ON CONFLICT DO NOTHING RETURNING month").fetchall()
        con.execute("COMMIT")
        return _staging_result(started, con, "stg_disruptions", months_reopened_by_closures=len(reopened))


stg_bwt_lanes = whole_model(spec("staging", "stg_bwt_lanes"))

staging_assets = [stg_entries, stg_exams, stg_ctpat_status, stg_disruptions, stg_bwt_lanes]
