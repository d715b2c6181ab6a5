"""Staging: the rows in force, one per key. Entries and exams merge only newly loaded rows by key
and open the local months they touch (meta.open_months); CTPAT statuses, closures and Border Wait
Times lanes are small and rebuilt whole (sql/staging/_models.yml describes each)."""

import time
from collections.abc import Callable

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
    if not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM staging.{table} LIMIT 1)").fetchall()[0][0]:
        return insert_first_rows(con, table, source, incoming_sql)
    return merge_by_key(con, table, key, source, incoming_sql)


def mark_staged(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """The source's loaded files are merged: the next batch (valid_unstaged_rows) leaves them out."""
    con.execute("UPDATE meta.files SET staged = true WHERE source = ? AND status = 'loaded' AND NOT staged", [source])


def insert_first_rows(con: duckdb.DuckDBPyConnection, table: str, source: str, incoming_sql: str) -> tuple[int, int]:
    """The batch into an empty staging table: it replaces nothing, so it goes in as it comes, and the
    months of its rows open. merge_by_key does the same there, through a temporary copy of the batch
    that cost 4.4-4.8 s of its 18.8 s at 10 M entries (docs/scaling-history.md, issue 15's
    nineteenth round): a first load of the whole history is the largest batch a warehouse takes."""
    con.execute(read_sql("bookkeeping/insert_first_rows.sql").format(table=table, source=source, incoming=incoming_sql))
    mark_staged(con, source)
    rows = con.execute(f"SELECT count(*) FROM staging.{table}").fetchall()[0][0]
    return rows, rows


def merge_by_key(con: duckdb.DuckDBPyConnection, table: str, key: str, source: str, incoming_sql: str) -> tuple[int, int]:
    """The batch (incoming_sql) merged into staging.table by key: returns (batch rows, rows merged)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS {incoming_sql}")
    batch = con.execute("SELECT count(*) FROM incoming").fetchall()[0][0]
    con.execute(read_sql("bookkeeping/merge_current_rows.sql").format(table=table, key=key, source=source))
    mark_staged(con, source)
    merged = con.execute("SELECT count(*) FROM incoming").fetchall()[0][0]
    return batch, merged


def _staging_result(started: float, con, table: str, **counts) -> dg.MaterializeResult:
    opened = listed_months(con, "meta.open_months")
    rows = con.execute(f"SELECT count(*) FROM staging.{table}").fetchall()[0][0]
    # JSON, not text: the open-months sensor reads this list back from the run's events.
    return dg.MaterializeResult(metadata={**counts, **table_metadata(con, spec("staging", table), f"staging.{table}", rows),
                                          "open_months": dg.MetadataValue.json(opened),
                                          "seconds": round(time.perf_counter() - started, 3)})


def keyed_staging(table: str, key: str, source: str, then: Callable[[duckdb.DuckDBPyConnection], None] | None = None
                  ) -> dg.AssetsDefinition:
    """A staging asset that merges the newly loaded rows by key (then calls `then`), in one transaction."""
    model = spec("staging", table)

    @dg.asset(name=table, group_name="staging", pool=WAREHOUSE_POOL, deps=model.deps,
              description=model.asset_description, kinds={"duckdb", "sql"})
    def _staging(warehouse: Warehouse) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.session() as con:
            con.execute("BEGIN TRANSACTION")
            batch, merged = merge_new_rows(con, table, key, source)
            if then:
                then(con)
            con.execute("COMMIT")
            return _staging_result(started, con, table, rows_in_batch=batch, rows_merged=merged)

    return _staging


def rejoin_exams(con: duckdb.DuckDBPyConnection) -> None:
    """Exams follow their entries: the exams of entries staged since the last run move to their
    months. Only when entries files were staged since: with none, the UPDATE still joined every
    staged exam with every staged entry (1.0-1.2 s at 10 M entries, in each run that brings no
    entries file; docs/scaling-history.md, issue 15's twenty-eighth round)."""
    if con.execute("SELECT count(*) FROM meta.entries_files_to_rejoin").fetchall()[0][0]:
        con.execute(read_sql("bookkeeping/stg_exams_rejoin.sql"))


stg_entries = keyed_staging("stg_entries", "entry_number", "entries")
stg_exams = keyed_staging("stg_exams", "exam_id", "exams", rejoin_exams)


def rebuilt_staging(table: str, before: str, reopened_sql: str, reason: str, metric: str) -> dg.AssetsDefinition:
    """A small staging table rebuilt whole from every loaded file, in one transaction with the months
    its changes open: reopened_sql compares the new rows with the old ones (temp table `before`)."""
    model = spec("staging", table)

    @dg.asset(name=table, group_name="staging", pool=WAREHOUSE_POOL, deps=model.deps,
              description=model.asset_description, kinds={"duckdb", "sql"})
    def _staging(warehouse: Warehouse) -> dg.MaterializeResult:
        started = time.perf_counter()
        query = read_sql(model.sql)
        with warehouse.session() as con:
            create_like(con, f"staging.{table}", query)
            con.execute("BEGIN TRANSACTION")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {before} AS SELECT * FROM staging.{table}")
            con.execute(f"CREATE OR REPLACE TABLE staging.{table} AS {query}")
            reopened = con.execute(f"INSERT INTO meta.open_months (month, reason) SELECT month, '{reason}' FROM "
                                   f"({read_sql(reopened_sql)}) WHERE month IS NOT NULL ON CONFLICT DO NOTHING "
                                   f"RETURNING month").fetchall()
            con.execute("COMMIT")
            return _staging_result(started, con, table, **{metric: len(reopened)})

    return _staging


# A new CTPAT export opens the months whose point-in-time statuses change; a new, corrected or removed
# closure the months of the entries it catches (before and after) and its reopening months.
stg_ctpat_status = rebuilt_staging("stg_ctpat_status", "ctpat_before", "bookkeeping/ctpat_reopened_months.sql", "ctpat",
                                   "months_reopened_by_status_changes")
stg_disruptions = rebuilt_staging("stg_disruptions", "disruptions_before", "bookkeeping/disruption_reopened_months.sql",
                                  "disruptions", "months_reopened_by_closures")


stg_bwt_lanes = whole_model(spec("staging", "stg_bwt_lanes"))

staging_assets = [stg_entries, stg_exams, stg_ctpat_status, stg_disruptions, stg_bwt_lanes]
