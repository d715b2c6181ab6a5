"""The benchmark: `python -m pipelines bench --entries N --repeat R [--out FILE]`.

On a generated landing zone of N entries over 13 months (--months) (CSV, as ACE extracts arrive; generated once
and cached under --data), each repetition times, each in its own process (so peak memory is the
process's own):
- the pipeline: `python -m pipelines run` on a fresh warehouse, with the seconds of every Dagster
  step grouped into stages; Dagster overhead = run wall time minus the steps;
- the lower bound: bench/lower_bound.sql, one hand-written DuckDB script doing the core work;
- the peers: the same GX suites on GX's pandas engine, and a plain pandas exam_rates/release_times;
- incremental: the 13th month delivered to a warehouse holding the first 12, against loading that
  month (its files and the CTPAT export) into an empty one.
Medians over the repetitions go to bench/results/latest.json (or --out) and a table is printed.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from assets.marts.publish import code_version
from assets.resources import REPO_ROOT

STAGES = {"ingest": ("raw_", "schedule_d_ports", "bwt_crossings", "hts_sections", "mode_codes", "entry_type_codes",
                     "exam_type_codes"), "quality": ("checked_",),
          "warehouse": ("stg_", "fct_", "month_marts"), "scorecard": ("ctpat_benefit_estimates",),
          "marts": ("analytics_marts", "publication"),
          "charts": ("charts_and_reports",)}
MONTHS = 13  # a year loaded, and one month more for the incremental measurement


def stage_of(step_key: str) -> str:
    """The benchmark stage of a Dagster step; a step no stage names is a bug here, said by name."""
    stage = next((stage for stage, prefixes in STAGES.items() if step_key.startswith(prefixes)), None)
    if stage is None:
        raise ValueError(f"step {step_key} belongs to no benchmark stage: add it to STAGES in bench/run.py")
    return stage


def measure(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run a command; (wall seconds, peak RSS in MB of that process, its stdout). Fails loudly."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ, **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {(err or out)[-2000:]}")
    return wall, _peak_rss_mb(out), out


def child_result(out: str) -> dict:
    """The child's JSON line, without its peak RSS (the caller files that under its own name)."""
    values = json.loads(out.strip().splitlines()[-1])
    values.pop("peak_rss_mb", None)
    return values


def _peak_rss_mb(out: str) -> float:
    """Children report their own peak (resource.getrusage) as the last line's `peak_rss_mb`."""
    last = out.strip().splitlines()[-1] if out.strip() else "{}"
    try:
        return float(json.loads(last).get("peak_rss_mb", 0.0))
    except json.JSONDecodeError:
        return 0.0


def landing_for(data: Path, entries: int, months: int = MONTHS) -> tuple[Path, float | None]:
    """The cached landing zone for N entries; generated (and timed) if missing."""
    landing = data / (f"entries_{entries}" if months == MONTHS else f"entries_{entries}_months_{months}") / "landing"
    if (landing / "ground_truth.json").exists():
        return landing, None
    shutil.rmtree(landing, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipelines", "generate", "--out", str(landing), "--entries", str(entries),
                    "--formats", "csv", "--start", "2025-01", "--months", str(months), "--seed", "7"],
                   cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    return landing, time.perf_counter() - started


def _child(module_call: str, *args: str) -> list[str]:
    return [sys.executable, "-c", f"import sys; from bench.steps import {module_call} as f; "
                                  f"f(*sys.argv[1:])", *args]


def pipeline_once(landing: Path, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    wall, rss, out = measure(_child("pipeline_run", str(landing), str(work)))
    return {"pipeline_s": wall, "peak_rss_mb": rss, **child_result(out)}


def incremental_once(landing: Path, work: Path) -> dict:
    """The 13th month on top of 12 loaded, against that month alone."""
    files = sorted((landing / "entries").glob("entries_*.csv"))
    last = files[-1].name.removeprefix("entries_").removesuffix(".csv")  # the newest month
    held_back = [landing / "entries" / f"entries_{last}.csv", landing / "exams" / f"exams_{last}.csv"]
    twelve, alone = work / "twelve", work / "alone"
    for folder in (twelve, alone):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(landing, twelve / "landing", ignore=lambda d, names: [n for n in names if f"_{last}." in n])
    measure(_child("pipeline_run", str(twelve / "landing"), str(twelve)))
    for path in held_back:
        shutil.copy(path, twelve / "landing" / path.parent.name / path.name)
    incremental_s, _, out = measure(_child("pipeline_run", str(twelve / "landing"), str(twelve)))
    incremental = child_result(out)
    for source in ("entries", "exams", "ctpat", "bwt"):
        (alone / "landing" / source).mkdir(parents=True)
    for path in [*held_back, *sorted((landing / "ctpat").iterdir())]:
        shutil.copy(path, alone / "landing" / path.parent.name / path.name)
    alone_s, _, out = measure(_child("pipeline_run", str(alone / "landing"), str(alone)))
    month_alone = child_result(out)
    stages = [*STAGES, "dagster_overhead"]
    return {"incremental_month": last, "incremental_month_s": incremental_s, "month_alone_s": alone_s,
            "incremental_months_rebuilt": incremental["months_rebuilt"],
            "incremental_stages_s": {s: incremental.get(f"{s}_s") for s in stages},
            "month_alone_stages_s": {s: month_alone.get(f"{s}_s") for s in stages}}


def _median(rows: list[dict], key: str):
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    return round(statistics.median(values), 3) if values else None


def machine() -> dict:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {"cores": os.cpu_count(), "ram_gib": round(pages / 2**30, 1), "platform": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict:
    from importlib.metadata import version
    return {p: version(p) for p in ("dagster", "duckdb", "great-expectations", "polars", "pandas", "matplotlib")}


def run(entries: int, repeat: int, out: Path, data: Path, peers: bool = True, incremental: bool = True,
        months: int = MONTHS) -> dict:
    landing, generate_s = landing_for(data, entries, months)
    rows = []
    for i in range(repeat):
        row = pipeline_once(landing, data / "work" / "pipeline")
        row["lower_bound_s"], row["lower_bound_peak_rss_mb"], _ = measure(_child("lower_bound", str(landing)))
        if peers:
            _, row["gx_pandas_peak_rss_mb"], peer = measure(_child("gx_pandas", str(landing)))
            row.update(child_result(peer))
            _, _, same = measure(_child("gx_duckdb_same_expectations", str(landing), str(data / "work")))
            row.update(child_result(same))
            row["pandas_marts_s"], _, _ = measure(_child("pandas_marts", str(landing)))
        if incremental:
            row.update(incremental_once(landing, data / "work" / "incremental"))
        rows.append(row)
        print(f"  repetition {i + 1}/{repeat}: pipeline {row['pipeline_s']:.1f} s, lower bound {row['lower_bound_s']:.1f} s",
              file=sys.stderr)
    numeric = sorted({k for r in rows for k, v in r.items() if isinstance(v, (int, float))})
    result = {"entries": entries, "repeat": repeat, "months": months, **{k: _median(rows, k) for k in numeric}}
    result["ratio_vs_lower_bound"] = round(result["pipeline_s"] / result["lower_bound_s"], 3)
    if peers:
        result["validation_speedup_vs_gx_pandas"] = round(result["gx_pandas_validation_s"] / result["validation_s"], 2)
        result["engine_speedup_same_expectations"] = round(
            result["gx_pandas_validation_s"] / result["gx_duckdb_same_expectations_s"], 2)
    if incremental:
        result["incremental_ratio_vs_month_alone"] = round(result["incremental_month_s"] / result["month_alone_s"], 3)
        result["incremental_months_rebuilt"] = rows[-1]["incremental_months_rebuilt"]
    result.update({"generate_s": round(generate_s, 1) if generate_s else None, "runs": rows,
                   "machine": machine(), "versions": versions(), "code_version": code_version(),
                   "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"written: {out}")
    return result


# Issue 15's targets (docs/scaling.md), then the earlier ones it did not replace. At 10 M entries;
# the 100 M target is make bench-100m's (bench/results/scale.json).
TARGETS = [("pipeline vs lower bound", "ratio_vs_lower_bound", "<=", 2.0),
           ("quality gate (s)", "quality_s", "<=", 10),
           ("charts and reports (s)", "charts_s", "<=", 8),
           ("peak memory (MB)", "peak_rss_mb", "<=", 3072),
           ("incremental month vs month alone", "incremental_ratio_vs_month_alone", "<=", 1.3),
           ("quality gate speed-up vs GX pandas", "validation_speedup_vs_gx_pandas", ">=", 10),
           ("Dagster overhead (s)", "dagster_overhead_s", "<=", 5)]


def table(result: dict) -> str:
    lines = [f"entries {result['entries']:,} over {result['months']} months, median of {result['repeat']}",
             f"{'stage':<28}{'seconds':>10}"]
    for stage in [*STAGES, "dagster_overhead"]:
        lines.append(f"  {stage:<26}{result.get(f'{stage}_s') or 0:>10.2f}")
    for label, key in [("pipeline (process wall)", "pipeline_s"), ("lower bound", "lower_bound_s"),
                       ("GX pandas validation", "gx_pandas_validation_s"), ("pipeline validation", "validation_s"),
                       ("GX DuckDB, pandas' subset", "gx_duckdb_same_expectations_s"),
                       ("pandas marts", "pandas_marts_s"), ("incremental month", "incremental_month_s"),
                       ("that month alone", "month_alone_s")]:
        if result.get(key) is not None:
            lines.append(f"{label:<28}{result[key]:>10.2f}")
    lines.append(f"{'target':<40}{'measured':>10}  met")
    for label, key, op, bound in TARGETS:
        value = result.get(key)
        if value is not None:
            met = value <= bound if op == "<=" else value >= bound
            lines.append(f"{label:<40}{value:>10.2f}  {'yes' if met else 'NO'} ({op} {bound})")
    return "\n".join(lines)
