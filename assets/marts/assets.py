"""Marts: the analyst file (default data/analytics.duckdb), built aside; `publication` renames it into place."""


import time
from pathlib import Path

import dagster as dg

from assets.marts.publish import MARTS, build_marts
from assets.resources import PipelineSettings, WAREHOUSE_POOL, Warehouse
from assets.specs import spec
from assets.models import MONTH_MARTS, ensure_month_tables


def running(context, run_id: str) -> bool:
    """Whether the Dagster instance knows the run as still going. A command-line run (its own
    instance, one run at a time per warehouse: the run lock) knows no other run, so anything another
    run left is a leftover; under a persistent instance, concurrent backfill runs keep their files."""
    if run_id == context.run_id:
        return True
    run = context.instance.get_run_by_id(run_id)
    return run is not None and not run.is_finished


@dg.multi_asset(
    group_name="analyst_file",  # the published marts, after the scorecard they include
    pool=WAREHOUSE_POOL,
    # A month mart's publication is a copy of its warehouse table; the others read what their spec lists.
    specs=[dg.AssetSpec(["marts", name], deps=[["month_marts", name]] if name in MONTH_MARTS else spec("marts", name).deps,
                        description=spec("marts", name).published_description, kinds={"duckdb", "sql"})
           for name in MARTS],
)
def analytics_marts(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings):
    key = settings.key_bytes()
    started = time.perf_counter()
    with warehouse.session() as con:
        ensure_month_tables(con)
        counts = build_marts(con, Path(settings.analytics), key, context.run_id, lambda run_id: running(context, run_id))
    seconds = round(time.perf_counter() - started, 3)
    for name, (rows, columns) in counts.items():
        yield dg.MaterializeResult(asset_key=["marts", name], metadata={
            "rows": rows, "dagster/row_count": rows, "dagster/column_schema": spec("marts", name).column_schema(columns),
            "file": settings.analytics, "publish_seconds": seconds})
