"""Automation: a sensor on the landing zone, a sensor that rebuilds the months an ingest run opened,
the daily ingest schedule and the monthly report schedule.

Run them with the Dagster daemon (README, "For operators"): `make dev` (`dg dev`) starts one.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from assets.ingest.files import SOURCE_SUFFIXES, landing_files
from assets.resources import PipelineSettings
from pipelines.planner import plan_after_ingest

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


def open_months_of_run(instance: dg.DagsterInstance, run_id: str) -> list[str] | None:
    """The open months the run's last staging step reported (None if it staged nothing)."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    reports = [r.event_log_entry.asset_materialization for r in records
               if r.event_log_entry.asset_materialization.asset_key in STAGING_KEYS]
    if not reports:
        return None
    return list(reports[-1].metadata["open_months"].value)


# Each reports every open month at its end; the last of them to run has them all.
STAGING_KEYS = {dg.AssetKey(k) for k in ("stg_entries", "stg_exams", "stg_ctpat_status", "stg_disruptions")}


def open_months_sensor_for(ingest_job, months_job, publish_job) -> dg.SensorDefinition:
    @dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[ingest_job],
                          request_jobs=[months_job, publish_job], default_status=dg.DefaultSensorStatus.STOPPED,
                          description="After an ingest run, the runs pipelines/planner.py plans: one per contiguous "
                                      "range of the months it opened (facts, month marts, publication, charts); "
                                      "a publication run if none.")
    def open_months_sensor(context: dg.RunStatusSensorContext):
        run_id = context.dagster_run.run_id
        months = open_months_of_run(context.instance, run_id)
        if months is None:
            return dg.SkipReason("the run staged nothing")
        return [dg.RunRequest(run_key=f"{run.key}-{run_id}", job_name=run.job_name, tags=run.tags)
                for run in plan_after_ingest(months)]

    return open_months_sensor


def previous_month(when) -> str:
    first = when.replace(day=1)
    return f"{first.year - (first.month == 1)}-{(first.month - 2) % 12 + 1:02d}"


def monthly_report_schedule_for(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(cron_schedule="0 6 2 * *", job=job, execution_timezone="UTC", name="monthly_report_schedule",
                 description="On the 2nd of each month at 06:00 UTC: rebuild the month before (its partition), "
                             "publish, and write its report.")
    def monthly_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        month = previous_month(context.scheduled_execution_time)
        return dg.RunRequest(run_key=f"report-{month}", partition_key=month, tags={"report_month": month},
                             run_config={"ops": {"charts_and_reports": {"config": {"month": month}}}})

    return monthly_report_schedule


def daily_ingest_schedule_for(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(name="daily_ingest_schedule", cron_schedule="0 5 * * *", job=job,
                                 execution_timezone="UTC",
                                 description="Every day at 05:00 UTC: load what arrived into staging; the open-months "
                                             "sensor then rebuilds the months it touched and publishes.")
