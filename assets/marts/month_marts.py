"""The month-grain marts: rebuilt per local-month partition in the warehouse (schema month_marts),
copied into the analyst file at publication (sql/marts/_models.yml describes each)."""

import time

import dagster as dg

from assets.models import MONTH_MARTS, rebuild_month_by_month, rebuild_months
from assets.partitions import MONTHS, month_range
from assets.resources import WAREHOUSE_POOL, Warehouse, read_sql
from assets.specs import spec, table_metadata


@dg.multi_asset(
    group_name="marts", pool=WAREHOUSE_POOL, partitions_def=MONTHS, backfill_policy=dg.BackfillPolicy.single_run(),
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
            # A month mart's groups never span months. The ones with quantiles are built a month at a time,
            # so that their memory follows a month; the others in one statement, one scan of the facts
            # instead of one per month (the facts are not stored in month order).
            model, table, text = spec("marts", name), f"month_marts.{name}", read_sql(f"marts/{name}.sql")
            if model.by_month:
                rows = rebuild_month_by_month(con, table, text, first, last)
            else:
                rows = rebuild_months(con, table, text.format(first_month=first, last_month=last), first, last)
            yield dg.MaterializeResult(asset_key=["month_marts", name], metadata={
                "months": f"{first}..{last}", "rows": rows, **table_metadata(con, model, table, rows),
                "seconds": round(time.perf_counter() - started, 3)})
        con.execute("INSERT INTO meta.unpublished_months SELECT DISTINCT month, now() FROM facts.fct_entries "
                    "WHERE month BETWEEN ? AND ? UNION SELECT month, now() FROM meta.open_months WHERE month BETWEEN ? AND ? "
                    "ON CONFLICT (month) DO UPDATE SET rebuilt_at = excluded.rebuilt_at", [first, last, first, last])
        # A closure's benefit lives in its reopening month: rebuilt entries it catches or counts as normal
        # put that month in the next publication's scorecard.
        con.execute(read_sql("bookkeeping/reopening_months_of_range.sql"), [first, last])
        con.execute("DELETE FROM meta.open_months WHERE month BETWEEN ? AND ?", [first, last])
        con.execute("COMMIT")
