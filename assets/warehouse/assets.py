"""Warehouse models: staging merges new rows by key and opens the months they touch; facts and
month-grain marts are rebuilt per local-month partition (delete-then-insert); border-wait models,
small and replaced per feed, are rebuilt whole."""

import time

import dagster as dg
import duckdb

from assets.partitions import MONTHS, listed_months, month_range
from assets.resources import WAREHOUSE_POOL, Warehouse, read_sql
from assets.specs import ModelSpec, mart_names, spec, table_metadata

MONTH_MARTS = mart_names(partitioned=True)


def _create_like(con: duckdb.DuckDBPyConnection, table: str, query: str) -> None:
    """Create the table with the query's columns the first time (the query is the one definition);
    a column whose type the definition has since changed is converted in place (entered_value_usd
    became DOUBLE instead of DECIMAL(18,2), so that every value the rules accept fits in it), and
    a column it has since added is added."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM ({query}) LIMIT 0")
    wanted = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM ({query})").fetchall()}
    present = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
    for name, kind in wanted.items():
        if name not in present:  # a column the definition added (months built before it hold NULL)
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}')
        elif present[name] != kind:
            con.execute(f'ALTER TABLE {table} ALTER COLUMN "{name}" SET DATA TYPE {kind}')


def merge_new_rows(con: duckdb.DuckDBPyConnection, table: str, key: str, source: str) -> tuple[int, int]:
    """Merge the rows of newly loaded files into staging.table by key; returns (batch rows, rows merged)."""
    incoming_sql = read_sql(f"staging/{table}.sql")
    _create_like(con, f"staging.{table}", incoming_sql)
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

    @dg.asset(name=table, group_name="warehouse", pool=WAREHOUSE_POOL, deps=model.deps,
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


@dg.asset(group_name="warehouse", pool=WAREHOUSE_POOL, deps=spec("staging", "stg_ctpat_status").deps,
          description=spec("staging", "stg_ctpat_status").asset_description, kinds={"duckdb", "sql"})
def stg_ctpat_status(warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.perf_counter()
    history = read_sql("staging/stg_ctpat_status.sql")
    with warehouse.session() as con:
        _create_like(con, "staging.stg_ctpat_status", history)
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE OR REPLACE TEMP TABLE ctpat_before AS SELECT * FROM staging.stg_ctpat_status")
        con.execute(f"CREATE OR REPLACE TABLE staging.stg_ctpat_status AS {history}")
        reopened = con.execute(f"INSERT INTO meta.open_months (month, reason) SELECT month, 'ctpat' FROM "
                               f"({read_sql('bookkeeping/ctpat_reopened_months.sql')}) ON CONFLICT DO NOTHING "
                               f"RETURNING month").fetchall()
        con.execute("COMMIT")
        return _staging_result(started, con, "stg_ctpat_status", months_reopened_by_status_changes=len(reopened))


@dg.asset(group_name="warehouse", pool=WAREHOUSE_POOL, deps=spec("staging", "stg_disruptions").deps,
          description=spec("staging", "stg_disruptions").asset_description, kinds={"duckdb", "sql"})
def stg_disruptions(warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.perf_counter()
    closures = read_sql("staging/stg_disruptions.sql")
    with warehouse.session() as con:
        _create_like(con, "staging.stg_disruptions", closures)
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE OR REPLACE TEMP TABLE disruptions_before AS SELECT * FROM staging.stg_disruptions")
        con.execute(f"CREATE OR REPLACE TABLE staging.stg_disruptions AS {closures}")
        reopened = con.execute(f"INSERT INTO meta.open_months (month, reason) SELECT month, 'disruptions' FROM "
                               f"({read_sql('bookkeeping/disruption_reopened_months.sql')}) WHERE month IS NOT NULL "
                               f"ON CONFLICT DO NOTHING RETURNING month").fetchall()
        con.execute("COMMIT")
        return _staging_result(started, con, "stg_disruptions", months_reopened_by_closures=len(reopened))


def rebuild_months(con: duckdb.DuckDBPyConnection, table: str, query: str, first: str, last: str) -> int:
    """Delete-then-insert the months first..last of table from its model query; returns rows written."""
    _create_like(con, table, query)
    con.execute(f"DELETE FROM {table} WHERE month BETWEEN ? AND ?", [first, last])
    con.execute(f"INSERT INTO {table} BY NAME {query}")
    return con.execute(f"SELECT count(*) FROM {table} WHERE month BETWEEN ? AND ?", [first, last]).fetchall()[0][0]


def month_model(model: ModelSpec) -> dg.AssetsDefinition:
    table, sql_file = model.name, model.sql
    schema = sql_file.split("/")[0]

    @dg.asset(name=table, group_name="warehouse", pool=WAREHOUSE_POOL, deps=model.deps, partitions_def=MONTHS,
              backfill_policy=dg.BackfillPolicy.single_run(), description=model.asset_description,
              kinds={"duckdb", "sql"})
    def _model(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        started = time.perf_counter()
        first, last = month_range(context)
        with warehouse.session() as con:
            con.execute("BEGIN TRANSACTION")
            rows = rebuild_months(con, f"{schema}.{table}", read_sql(sql_file).format(first_month=first, last_month=last),
                                  first, last)
            con.execute("COMMIT")
            # The row count is that of the rebuilt months (the run's partition range).
            standard = table_metadata(con, model, f"{schema}.{table}", rows)
        return dg.MaterializeResult(metadata={"months": f"{first}..{last}", "rows": rows, **standard,
                                              "seconds": round(time.perf_counter() - started, 3)})

    return _model


fct_entries = month_model(spec("facts", "fct_entries"))
fct_exams = month_model(spec("facts", "fct_exams"))


@dg.multi_asset(
    group_name="warehouse", pool=WAREHOUSE_POOL, partitions_def=MONTHS, backfill_policy=dg.BackfillPolicy.single_run(),
    specs=[dg.AssetSpec(["month_marts", name], deps=spec("marts", name).deps, description=spec("marts", name).asset_description,
                        kinds={"duckdb", "sql"})
           for name in MONTH_MARTS])
def month_marts(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Every month-grain mart for the partition range, then the range's months are closed."""
    first, last = month_range(context)
    with warehouse.session() as con:
        con.execute("BEGIN TRANSACTION")
        for name in MONTH_MARTS:
            started = time.perf_counter()
            query = read_sql(f"marts/{name}.sql").format(first_month=first, last_month=last)
            rows = rebuild_months(con, f"month_marts.{name}", query, first, last)
            yield dg.MaterializeResult(asset_key=["month_marts", name], metadata={
                "months": f"{first}..{last}", "rows": rows, **table_metadata(con, spec("marts", name), f"month_marts.{name}", rows),
                "seconds": round(time.perf_counter() - started, 3)})
        con.execute("INSERT INTO meta.unpublished_months SELECT DISTINCT month FROM facts.fct_entries "
                    "WHERE month BETWEEN ? AND ? UNION SELECT month FROM meta.open_months WHERE month BETWEEN ? AND ? "
                    "ON CONFLICT DO NOTHING", [first, last, first, last])
        # A closure's benefit lives in its reopening month: rebuilt entries it catches or counts as normal
        # put that month in the next publication's scorecard.
        con.execute(read_sql("bookkeeping/reopening_months_of_range.sql"), [first, last])
        con.execute("DELETE FROM meta.open_months WHERE month BETWEEN ? AND ?", [first, last])
        con.execute("COMMIT")


def ensure_month_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the partitioned tables, empty, if no month was ever built (e.g. only border-wait files so far)."""
    _create_like(con, "staging.stg_disruptions", read_sql("staging/stg_disruptions.sql"))
    for table, sql_file in [("facts.fct_entries", "facts/fct_entries.sql"), ("facts.fct_exams", "facts/fct_exams.sql"),
                            *((f"month_marts.{n}", f"marts/{n}.sql") for n in MONTH_MARTS)]:
        _create_like(con, table, read_sql(sql_file).format(first_month="", last_month=""))
    _create_like(con, "facts.fct_disruption_entries", read_sql("facts/fct_disruption_entries.sql"))


def whole_model(model: ModelSpec) -> dg.AssetsDefinition:
    table, sql_file = model.name, model.sql
    schema = sql_file.split("/")[0]

    @dg.asset(name=table, group_name="warehouse", pool=WAREHOUSE_POOL, deps=model.deps, description=model.asset_description,
              kinds={"duckdb", "sql"})
    def _model(warehouse: Warehouse) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.session() as con:
            con.execute(f"CREATE OR REPLACE TABLE {schema}.{table} AS {read_sql(sql_file)}")
            rows = con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchall()[0][0]
            standard = table_metadata(con, model, f"{schema}.{table}", rows)
        return dg.MaterializeResult(metadata={"rows": rows, **standard, "seconds": round(time.perf_counter() - started, 3)})

    return _model


stg_bwt_lanes = whole_model(spec("staging", "stg_bwt_lanes"))
fct_lane_readings = whole_model(spec("facts", "fct_lane_readings"))

# Closures catch entries across months, and their marts are recomputed at every publication: after
# the month rebuilds, in the publication's runs.
@dg.asset(group_name="warehouse", pool=WAREHOUSE_POOL, deps=spec("facts", "fct_disruption_entries").deps,
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

staging_assets = [stg_entries, stg_exams, stg_ctpat_status, stg_disruptions, stg_bwt_lanes, fct_lane_readings]
month_assets = [fct_entries, fct_exams, month_marts]
