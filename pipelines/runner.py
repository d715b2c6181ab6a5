"""Running the whole asset graph in-process and turning the result into an exit code and one line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from assets.partitions import contiguous_ranges, listed_months, outside_partitions, range_tags
from assets.resources import MissingPseudonymKey, env, resources_from_env


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    message: str
    runs: tuple = ()  # the Dagster results, in order, for callers that read their events


def run_pipeline(verbose: bool = False, accept: list[str] | None = None, **overrides) -> RunOutcome:
    """Ingest (through staging), then one run per contiguous range of open months, the last of
    which also publishes; a publication run alone if no month is open."""
    from pipelines.definitions import ALL_ASSETS, INGEST, MONTHS_AND_PUBLISH, PUBLISH

    accept = [*(a for a in env("EXAM_RISK_ACCEPT").split(",") if a), *(accept or [])]
    resources = resources_from_env(accept=accept, **overrides)
    settings = resources["settings"]
    try:
        settings.key_bytes()
    except MissingPseudonymKey as exc:
        return RunOutcome(1, f"error: {exc}")
    level = "INFO" if verbose else "CRITICAL"  # the one-line outcome below says what matters

    runs = []

    def run(selection, tags=None):
        runs.append(dg.materialize(ALL_ASSETS, selection=selection, resources=resources, raise_on_error=False,
                                   tags=tags, run_config={"loggers": {"console": {"config": {"log_level": level}}}}))
        return runs[-1]

    result = run(INGEST)
    if not result.success:
        return _failure(result, runs)
    months = open_months(resources["warehouse"].path)
    outside = outside_partitions(months)
    if outside:
        return RunOutcome(1, f"entries arrived in months outside the partitions: {', '.join(outside)} "
                             "(EXAM_RISK_FIRST_MONTH sets the first; months after the current one are not partitions)",
                          tuple(runs))
    ranges = contiguous_ranges(months)
    for i, (first, last) in enumerate(ranges):
        month_selection = MONTHS_AND_PUBLISH if i == len(ranges) - 1 else MONTHS_AND_PUBLISH - PUBLISH
        result = run(month_selection, range_tags(first, last))
        if not result.success:
            return _failure(result, runs)
    if not ranges:
        result = run(PUBLISH)
        if not result.success:
            return _failure(result, runs)
    return RunOutcome(0, _summary(Path(settings.analytics), Path(settings.reports), resources["warehouse"].path),
                      tuple(runs))


def open_months(warehouse: str) -> list[str]:
    with duckdb.connect(warehouse, read_only=True) as con:
        return listed_months(con, "meta.open_months")


def _failure(result, runs: list) -> RunOutcome:
    outcome = _failure_message(result)
    return RunOutcome(outcome.exit_code, outcome.message, tuple(runs))


def _failure_message(result) -> RunOutcome:
    failures = result.get_step_failure_events()
    gate = [f for f in failures if (f.step_failure_data.user_failure_data is not None
            and f.step_failure_data.user_failure_data.metadata.get("quality_gate") is not None)]
    if gate:
        reasons = "; ".join(f.step_failure_data.user_failure_data.description for f in gate)
        return RunOutcome(2, f"{reasons}. Nothing was published; replace or remove the file, "
                             "or accept it with --accept FILE_NAME.")
    if failures:
        f = failures[0]
        error = f.step_failure_data.error
        text = (f.step_failure_data.user_failure_data.description if f.step_failure_data.user_failure_data
                else (error.cause.message if error and error.cause else error.message if error else "unknown error"))
        return RunOutcome(1, f"failed in {f.step_key}: {text.strip().splitlines()[0]} (details: --verbose)")
    return RunOutcome(1, "failed: the run did not succeed (see Dagster's log with --verbose)")


def _summary(analytics: Path, reports: Path, warehouse: str) -> str:
    with duckdb.connect(str(analytics), read_only=True) as con:
        audit = con.execute("SELECT status, count(*), sum(rows_loaded), sum(rows_rejected) FROM marts.load_audit "
                            "GROUP BY ALL ORDER BY ALL").fetchall()
        entries = con.execute("SELECT sum(entries), sum(examined_entries) FROM marts.exam_rates").fetchone()
    files = ", ".join(f"{n} {s}" for s, n, _, _ in audit)
    loaded = sum(r or 0 for _, _, r, _ in audit)
    rejected = sum(r or 0 for _, _, _, r in audit)
    monthly = sorted(reports.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/*.png"))
    latest = sorted(reports.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/ctpat_report_*.pdf"))
    border = sorted(reports.glob("border_waits/*.png"))
    return (f"published: {entries[0] or 0:,} entries ({entries[1] or 0:,} examined); files: {files}; "
            f"rows loaded {loaded:,}, rejected {rejected:,}\n"
            f"  marts (open read-only): {analytics}\n"
            f"  charts: {len(monthly)} monthly PNG files under {reports}/<YYYY-MM>/, "
            f"{len(border)} border-wait charts under {reports}/border_waits/\n"
            f"  reports: {len(latest)} monthly PDF + HTML; latest {latest[-1].with_suffix('.html') if latest else 'none'}\n"
            f"  warehouse (pipeline only): {warehouse}")
