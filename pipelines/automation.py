"""Automation: a sensor on the landing zone, the daily ingest schedule and the monthly report schedule.

Run them with the Dagster daemon (README, "For operators"): `dagster dev -w workspace.yaml` starts one.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from assets.ingest.files import SOURCE_SUFFIXES, landing_files
from assets.resources import PipelineSettings

SETTLE_SECONDS = 60  # a file untouched this long is complete, even if the sensor saw it only once


def landing_snapshot(landing: Path) -> dict[str, list[int]]:
    """Every deliverable landing file (hidden and `.part` files excluded) -> [size, mtime_ns]."""
    files = {}
    for source, suffixes in SOURCE_SUFFIXES.items():
        for path in landing_files(landing / source, suffixes):
            stat = path.stat()
            files[f"{source}/{path.name}"] = [stat.st_size, stat.st_mtime_ns]
    return files


def new_complete_files(cursor: dict, current: dict[str, list[int]], now_ns: int) -> tuple[list[str], dict]:
    """Files not yet handed to a run whose size has settled, and the next cursor.

    The cursor holds `seen` (files already handed to a run, with their size and mtime) and
    `pending` (size at the last look, for files still being written). A file is complete when its
    size did not change since the last look, or its mtime is older than SETTLE_SECONDS. A file
    replaced under the same name (new size or mtime) counts as new again.
    """
    seen, pending = cursor.get("seen", {}), cursor.get("pending", {})
    ready, still_pending = [], {}
    for name, (size, mtime) in sorted(current.items()):
        if seen.get(name) == [size, mtime]:
            continue
        settled = pending.get(name) == size or now_ns - mtime > SETTLE_SECONDS * 1_000_000_000
        if settled:
            ready.append(name)
        else:
            still_pending[name] = size
    next_seen = {n: v for n, v in seen.items() if n in current} | {n: current[n] for n in ready}
    return ready, {"seen": next_seen, "pending": still_pending}


def landing_sensor_for(job: dg.JobDefinition) -> dg.SensorDefinition:
    @dg.sensor(job=job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
               description="Starts a run when complete new files arrive in the landing zone (a `.part` file, or one "
                           "whose size still changes, waits).")
    def landing_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings):
        cursor = json.loads(context.cursor) if context.cursor else {}
        ready, next_cursor = new_complete_files(cursor, landing_snapshot(Path(settings.landing)), time.time_ns())
        context.update_cursor(json.dumps(next_cursor, sort_keys=True))
        if not ready:
            return dg.SkipReason("no new complete files in the landing zone")
        key = hashlib.sha256(json.dumps([[n, next_cursor["seen"][n]] for n in ready]).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=f"landing-{key}", tags={"new_files": str(len(ready))})

    return landing_sensor


def previous_month(when) -> str:
    first = when.replace(day=1)
    return f"{first.year - (first.month == 1)}-{(first.month - 2) % 12 + 1:02d}"


def monthly_report_schedule_for(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(cron_schedule="0 6 2 * *", job=job, execution_timezone="UTC", name="monthly_report_schedule",
                 description="On the 2nd of each month at 06:00 UTC: the whole pipeline, and the report for the month before.")
    def monthly_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        month = previous_month(context.scheduled_execution_time)
        return dg.RunRequest(run_key=f"report-{month}", tags={"report_month": month},
                             run_config={"ops": {"monthly_report": {"config": {"month": month}}}})

    return monthly_report_schedule


def daily_ingest_schedule_for(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(name="daily_ingest_schedule", cron_schedule="0 5 * * *", job=job,
                                 execution_timezone="UTC",
                                 description="Every day at 05:00 UTC: load what arrived, publish the marts and charts.")
