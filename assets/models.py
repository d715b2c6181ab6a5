"""How a model's SQL becomes a warehouse table: created from the query's columns the first time,
rebuilt whole, or rebuilt for a range of local months (delete-then-insert in the caller's
transaction). The assets of each layer (assets/staging, assets/facts, assets/marts) are built with these."""

import time

import dagster as dg
import duckdb

from assets.partitions import MONTHS, month_range, months_between
from assets.resources import WAREHOUSE_POOL, Warehouse, read_sql
from assets.specs import ModelSpec, mart_names, table_metadata

MONTH_MARTS = mart_names(partitioned=True)


def create_like(con: duckdb.DuckDBPyConnection, table: str, query: str) -> None:
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


def rebuild_months(con: duckdb.DuckDBPyConnection, table: str, query: str, first: str, last: str) -> int:
    """Delete-then-insert the months first..last of table from its model query; returns rows written."""
    create_like(con, table, query)
    con.execute(f"DELETE FROM {table} WHERE month BETWEEN ? AND ?", [first, last])
    con.execute(f"INSERT INTO {table} BY NAME {query}")
    return con.execute(f"SELECT count(*) FROM {table} WHERE month BETWEEN ? AND ?", [first, last]).fetchall()[0][0]


def rebuild_month_by_month(con: duckdb.DuckDBPyConnection, table: str, sql_text: str, first: str, last: str) -> int:
    """rebuild_months for each month of first..last in turn, the model text's {first_month} and
    {last_month} set to that month; returns the rows written. For aggregates whose groups never span
    months: memory then follows one month, not the range. Quantiles (release_times) over 30 months of
    100 M entries in one statement spilled more temporary files than the disk held."""
    return sum(rebuild_months(con, table, sql_text.format(first_month=month, last_month=month), month, month)
               for month in months_between(first, last))


def month_model(model: ModelSpec) -> dg.AssetsDefinition:
    table, sql_file = model.name, model.sql
    schema = sql_file.split("/")[0]

    @dg.asset(name=table, group_name=model.layer, pool=WAREHOUSE_POOL, deps=model.deps, partitions_def=MONTHS,
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


def whole_model(model: ModelSpec) -> dg.AssetsDefinition:
    table, sql_file = model.name, model.sql
    schema = sql_file.split("/")[0]

    @dg.asset(name=table, group_name=model.layer, pool=WAREHOUSE_POOL, deps=model.deps, description=model.asset_description,
              kinds={"duckdb", "sql"})
    def _model(warehouse: Warehouse) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.session() as con:
            con.execute(f"CREATE OR REPLACE TABLE {schema}.{table} AS {read_sql(sql_file)}")
            rows = con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchall()[0][0]
            standard = table_metadata(con, model, f"{schema}.{table}", rows)
        return dg.MaterializeResult(metadata={"rows": rows, **standard, "seconds": round(time.perf_counter() - started, 3)})

    return _model


def ensure_month_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the partitioned tables, empty, if no month was ever built (e.g. only border-wait files so far)."""
    create_like(con, "staging.stg_disruptions", read_sql("staging/stg_disruptions.sql"))
    for table, sql_file in [("facts.fct_entries", "facts/fct_entries.sql"), ("facts.fct_exams", "facts/fct_exams.sql"),
                            *((f"month_marts.{n}", f"marts/{n}.sql") for n in MONTH_MARTS)]:
        create_like(con, table, read_sql(sql_file).format(first_month="", last_month=""))
    create_like(con, "facts.fct_disruption_entries", read_sql("facts/fct_disruption_entries.sql"))
