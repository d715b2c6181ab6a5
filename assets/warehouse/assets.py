"""Warehouse models: each asset rebuilds one table from its SQL file in sql/staging or sql/facts."""


import time

import dagster as dg

from assets.resources import WAREHOUSE_POOL, Warehouse, read_sql

MODELS = {  # table -> (sql file, upstream assets)
    "stg_entries": ("staging/stg_entries.sql", ["checked_entries", "schedule_d_ports"]),
    "stg_exams": ("staging/stg_exams.sql", ["checked_exams"]),
    "stg_ctpat_status": ("staging/stg_ctpat_status.sql", ["checked_ctpat"]),
    "fct_entries": ("facts/fct_entries.sql", ["stg_entries", "stg_exams", "stg_ctpat_status"]),
    "fct_exams": ("facts/fct_exams.sql", ["stg_exams", "fct_entries"]),
    "stg_bwt_lanes": ("staging/stg_bwt_lanes.sql", ["checked_bwt", "bwt_crossings"]),
    "fct_lane_readings": ("facts/fct_lane_readings.sql", ["stg_bwt_lanes"]),
}


def model_asset(table: str, sql_file: str, upstream: list[str]) -> dg.AssetsDefinition:
    schema = sql_file.split("/")[0]
    first_line = read_sql(sql_file).splitlines()[0].removeprefix("-- ")

    @dg.asset(name=table, group_name="warehouse", pool=WAREHOUSE_POOL, deps=upstream, description=f"{first_line} (sql/{sql_file})")
    def _model(warehouse: Warehouse) -> dg.MaterializeResult:
        started = time.perf_counter()
        with warehouse.session() as con:
            con.execute(f"CREATE OR REPLACE TABLE {schema}.{table} AS {read_sql(sql_file)}")
            rows = con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
        return dg.MaterializeResult(metadata={"rows": rows, "seconds": round(time.perf_counter() - started, 3)})

    return _model


warehouse_assets = [model_asset(t, f, up) for t, (f, up) in MODELS.items()]
