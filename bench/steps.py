"""The benchmark's measured steps, each run in its own process by bench/run.py. Each prints one
JSON line last, with the process's own peak RSS."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

from assets.resources import REPO_ROOT, env, reference_file, setup_sql


def _report(**values) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    print(json.dumps({**values, "peak_rss_mb": round(peak, 1)}))


def pipeline_run(landing: str, work: str) -> None:
    """`python -m pipelines run` on the landing zone, with every Dagster step's seconds."""
    from assets.partitions import run_months
    from bench.run import STAGES, stage_of
    from pipelines.runner import run_pipeline

    os.environ.setdefault("EXAM_RISK_PSEUDONYM_KEY", "benchmark-key-not-secret")
    work_dir = Path(work)
    started = time.perf_counter()
    outcome = run_pipeline(landing=landing, warehouse=str(work_dir / "warehouse.duckdb"),
                           analytics=str(work_dir / "analytics.duckdb"), reports=str(work_dir / "reports"))
    run_wall = time.perf_counter() - started
    if outcome.exit_code != 0:
        raise SystemExit(outcome.message)
    stages = dict.fromkeys(STAGES, 0.0)
    for result in outcome.runs:
        for event in result.all_events:
            if event.event_type_value == "STEP_SUCCESS":
                stages[stage_of(event.step_key)] += event.event_specific_data.duration_ms / 1000
    _report(**{f"{k}_s": round(v, 3) for k, v in stages.items()}, validation_s=round(stages["quality"], 3),
            run_s=round(run_wall, 3), dagster_overhead_s=round(run_wall - sum(stages.values()), 3),
            dagster_runs=len(outcome.runs),
            months_rebuilt=sorted(m for r in outcome.runs for m in (run_months(r.dagster_run.tags) or [])))


def lower_bound(landing: str) -> None:
    import duckdb

    root = Path(landing)
    started = time.perf_counter()
    con = duckdb.connect(config={"memory_limit": env("EXAM_RISK_MEMORY_LIMIT")})
    con.execute("SET TimeZone = 'UTC'")
    con.execute(setup_sql()[0])
    script = (REPO_ROOT / "bench" / "lower_bound.sql").read_text().format(
        entries=root / "entries" / "*.csv", exams=root / "exams" / "*.csv",
        ctpat=sorted((root / "ctpat").glob("*.csv"))[-1], ports=reference_file("schedule_d_ports.csv"))
    con.execute(script)
    rows = con.execute("SELECT (SELECT sum(entries) FROM exam_rates), (SELECT count(*) FROM release_times)").fetchall()[0]
    _report(lower_bound_entries=rows[0], lower_bound_s_inside=round(time.perf_counter() - started, 3))


def _read_pandas(folder: Path):
    import pandas as pd

    frames = [pd.read_csv(p, dtype="string[pyarrow]", engine="pyarrow") for p in sorted(folder.glob("*.csv"))]
    return pd.concat(frames, ignore_index=True)


PANDAS_CAPABLE = {"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_null"}


def gx_duckdb_same_expectations(landing: str, work: str) -> None:
    """GX's SQL engine on DuckDB with exactly the expectations the pandas peer can run, on the same
    rows: the engine-to-engine comparison (the pipeline's gate also runs the SQL-only rules)."""
    import duckdb

    from assets.quality.gx_duckdb import validate_table

    database = Path(work) / "gx_same.duckdb"
    database.unlink(missing_ok=True)
    seconds = 0.0
    for name in ("entries", "exams"):
        with duckdb.connect(str(database)) as con:
            con.execute(f"CREATE OR REPLACE TABLE main.{name} AS SELECT * FROM "
                        f"read_csv('{Path(landing) / name / '*.csv'}', all_varchar = true, header = true)")
        started = time.perf_counter()
        outcomes = validate_table(database, "main", name, name, PANDAS_CAPABLE)
        seconds += time.perf_counter() - started
        assert outcomes and not [o for o in outcomes if o.error], outcomes
    database.unlink()
    _report(gx_duckdb_same_expectations_s=round(seconds, 3))


def gx_pandas(landing: str) -> None:
    """The same suites on GX's pandas engine (what most GX users run): every expectation it supports;
    the SQL-only `unexpected_rows_expectation` rules cannot run there and are counted as skipped."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from assets.quality.gx_duckdb import build_suite

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("bench")
    read_s = validation_s = 0.0
    ran = skipped = 0
    for name in ("entries", "exams"):
        started = time.perf_counter()
        frame = _read_pandas(Path(landing) / name)
        read_s += time.perf_counter() - started
        suite = build_suite(name, PANDAS_CAPABLE)
        ran += len(suite.expectations)
        skipped += len(build_suite(name).expectations) - len(suite.expectations)
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame})
        started = time.perf_counter()
        result = batch.validate(suite, result_format={"result_format": "SUMMARY"})
        validation_s += time.perf_counter() - started
        assert all(not r.exception_info.get("raised_exception") for r in result.results), result
        del frame
    _report(gx_pandas_validation_s=round(validation_s, 3), gx_pandas_read_s=round(read_s, 3),
            gx_pandas_expectations=ran, gx_pandas_expectations_skipped_sql_only=skipped)


def pandas_marts(landing: str) -> None:
    """exam_rates and release_times in plain pandas (the main row rules, last row per key,
    point-in-time CTPAT status on the local date)."""
    import pandas as pd

    root = Path(landing)
    entries = _read_pandas(root / "entries")
    exams = _read_pandas(root / "exams")
    ports = pd.read_csv(reference_file("schedule_d_ports.csv"), dtype=str)
    arrival = pd.to_datetime(entries["arrival_at"], utc=True, errors="coerce", format="ISO8601")
    release = pd.to_datetime(entries["release_at"], utc=True, errors="coerce", format="ISO8601")
    ok = (entries["entry_number"].str.fullmatch(r"[A-Z0-9]{3}-?[0-9]{7}-?[0-9]").fillna(False)
          & entries["port_code"].isin(ports["port_code"]) & arrival.notna()
          & (release.isna() | (release >= arrival)))
    entries = entries.assign(arrival=arrival, release=release)[ok]
    entries["key"] = entries["entry_number"].str.replace("-", "")
    entries = entries.drop_duplicates("key", keep="last").merge(ports[["port_code", "time_zone"]], on="port_code")
    local = pd.Series(index=entries.index, dtype="object")
    for zone, part in entries.groupby("time_zone")["arrival"]:
        local.loc[part.index] = part.dt.tz_convert(zone).dt.tz_localize(None)
    local = pd.to_datetime(local)
    entries["month"], entries["local_date"] = local.dt.strftime("%Y-%m"), local.dt.normalize()
    ctpat = pd.read_csv(sorted((root / "ctpat").glob("*.csv"))[-1], dtype=str)
    ctpat = ctpat[(ctpat["partner_type"] == "IMPORTER") & ctpat["status"].isin(["CERTIFIED", "VALIDATED"])]
    ctpat = ctpat.assign(valid_from=pd.to_datetime(ctpat["valid_from"]), valid_to=pd.to_datetime(ctpat["valid_to"]))
    matched = entries[["key", "importer_number", "local_date"]].merge(ctpat, left_on="importer_number", right_on="partner_id")
    matched = matched[(matched["valid_from"] <= matched["local_date"])
                      & (matched["valid_to"].isna() | (matched["local_date"] < matched["valid_to"]))]
    entries["ctpat_status"] = entries["key"].isin(matched["key"]).map({True: "CERTIFIED", False: "UNCERTIFIED"})
    entries["examined"] = entries["key"].isin(exams["entry_number"].str.replace("-", ""))
    entries["release_hours"] = (entries["release"] - entries["arrival"]).dt.total_seconds() / 3600
    grain = ["month", "port_code", "mode_of_transport", "ctpat_status"]
    rates = entries.groupby(grain).agg(entries=("key", "size"), examined_entries=("examined", "sum"))
    release_times = entries.groupby(grain)["release_hours"].quantile([0.5, 0.9]).unstack()
    _report(pandas_marts_groups=len(rates) + len(release_times))
