"""Running the whole asset graph in-process and turning the result into an exit code and one line."""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import dagster as dg

from assets.marts.pseudonyms import one_line, shown
from assets.partitions import listed_months, outside_partitions
from assets.readers import reading
from assets.reports.files import BORDER_WAITS
from assets.resources import lock_file, resources_from_env
from assets.settings import SettingError
from pipelines.instance import persistent_instance, process_tags, release_dead_runs
from pipelines.planner import INGEST_JOB, plan_after_ingest


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    message: str
    runs: tuple = ()  # the Dagster results, in order, for callers that read their events


class RunInProgress(Exception):
    """Another run holds the warehouse's lock."""


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """An OS lock (flock) on a file beside the warehouse, held for the whole run: a second run
    exits at once instead of racing the first; the kernel releases it when the process ends, so a
    killed run never leaves it held."""
    with lock_file(path) as fd:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", errors="replace").strip() or "an unknown time"
            raise RunInProgress(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC (process {os.getpid()})".encode(), 0)
        yield


def run_pipeline(verbose: bool = False, accept: list[str] | None = None, draw: bool = True,
                 **overrides) -> RunOutcome:
    """Ingest (through staging), then one run per contiguous range of open months, each of which
    publishes; a publication run alone if no month is open (pipelines/planner.py). One run at a time per
    warehouse (run_lock); any setting that cannot be used ends it before it starts (exit 1).
    With draw=False (--no-reports) the runs publish the marts without drawing the charts and reports:
    the months they rebuilt are drawn by the next run that draws (the reports' marker records the
    rebuild of each month drawn, assets/reports/assets.py)."""
    try:
        resources = resources_from_env(accept=accept, **overrides)
        settings = resources["settings"]
        key = settings.key_bytes()
    except SettingError as exc:
        return RunOutcome(1, f"error: {one_line(str(exc))}")
    if not Path(settings.landing).is_dir():
        return RunOutcome(1, f"error: the landing zone {one_line(settings.landing)} is not a folder "
                             "(EXAM_RISK_LANDING or --landing); nothing was published")
    try:
        with run_lock(resources["warehouse"].lock_path):
            outcome = _run(resources, verbose, draw)
    except RunInProgress as exc:
        return RunOutcome(1, f"error: another run is in progress since {exc} on this warehouse; nothing was published")
    # Line by line: the summary has several lines; a file name in any of them stays on its own.
    message = "\n".join(shown(line, key) for line in outcome.message.split("\n"))
    return RunOutcome(outcome.exit_code, message, outcome.runs)


def _run(resources: dict, verbose: bool, draw: bool) -> RunOutcome:
    """The ingest run, then the runs pipelines/planner.py plans from the months it opened, each
    executed in this process on the persistent instance (no daemon needed; the UI shows them)."""
    from pipelines.definitions import DRAWINGS, IN_PROCESS, definitions

    settings = resources["settings"]
    level = "INFO" if verbose else "CRITICAL"  # the one-line outcome below says what matters
    project = definitions(resources)
    runs = []
    with persistent_instance() as instance:
        release_dead_runs(instance)  # under the run lock: no live run of this warehouse is among them

        def run(job_name: str, tags: dict | None = None):
            job = project.resolve_job_def(job_name)
            selection = None if draw else sorted(job.asset_layer.selected_asset_keys - DRAWINGS)
            runs.append(job.execute_in_process(
                instance=instance, raise_on_error=False, tags={**process_tags(), **(tags or {})},
                asset_selection=selection,
                run_config={**IN_PROCESS, "loggers": {"console": {"config": {"log_level": level}}}}))
            return runs[-1]

        result = run(INGEST_JOB)
        if not result.success:
            return _failure(result, runs)
        months = open_months(resources["warehouse"].path)
        outside = outside_partitions(months)
        if outside:
            return RunOutcome(1, f"entries arrived in months outside the partitions: {', '.join(outside)} "
                                 "(a bug: the quality gate admits no such month)", tuple(runs))
        for planned in plan_after_ingest(months):
            result = run(planned.job_name, planned.tags)
            if not result.success:
                return _failure(result, runs)
    return RunOutcome(0, _summary(Path(settings.analytics), Path(settings.reports), resources["warehouse"].path, draw),
                      tuple(runs))


def open_months(warehouse: str) -> list[str]:
    with reading(warehouse) as con:
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
        first = one_line(text.strip().splitlines()[0] if text.strip() else type(error).__name__)
        # Only `publication` changes what readers see, and it says itself whether it got that far.
        after = "" if "published" in first else "; nothing was published"
        return RunOutcome(1, f"failed in {f.step_key}: {first}{after} (details: --verbose)")
    return RunOutcome(1, "failed: the run did not succeed; nothing was published (see Dagster's log with --verbose)")


def _summary(analytics: Path, reports: Path, warehouse: str, drawn: bool) -> str:
    with reading(analytics) as con:
        audit = con.execute("SELECT status, count(*), sum(rows_loaded), sum(rows_rejected) FROM marts.load_audit "
                            "GROUP BY ALL ORDER BY ALL").fetchall()
        entries = con.execute("SELECT sum(entries), sum(examined_entries) FROM marts.exam_rates").fetchone()
    files = ", ".join(f"{n} {s}" for s, n, _, _ in audit)
    loaded = sum(r or 0 for _, _, r, _ in audit)
    rejected = sum(r or 0 for _, _, _, r in audit)
    monthly = sorted(reports.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/*.png"))
    latest = sorted(reports.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/ctpat_report_*.pdf"))
    border = sorted(reports.glob(f"{BORDER_WAITS}/*.png"))
    return (f"published: {entries[0] or 0:,} entries ({entries[1] or 0:,} examined); files: {files}; "
            f"rows loaded {loaded:,}, rejected {rejected:,}\n"
            f"  marts (open read-only): {analytics}\n"
            f"  charts: {len(monthly)} monthly PNG files under {reports}/<YYYY-MM>/, "
            f"{len(border)} border-wait charts under {reports}/{BORDER_WAITS}/\n"
            f"  reports: {len(latest)} monthly PDF + HTML; latest {latest[-1].with_suffix('.html') if latest else 'none'}\n"
            f"{'' if drawn else _undrawn(analytics, reports)}"
            f"  warehouse (pipeline only): {warehouse}")


def _undrawn(analytics: Path, reports: Path) -> str:
    """The line a run that drew nothing (--no-reports) adds: the months whose reports wait to be drawn."""
    from assets.reports.assets import months_waiting

    waiting, _ = months_waiting(analytics, reports)
    if not waiting:
        return "  not drawn (--no-reports): no month's charts and reports wait to be drawn\n"
    return (f"  not drawn (--no-reports): the charts and reports of {', '.join(waiting)} wait for the next run "
            "without --no-reports\n")
