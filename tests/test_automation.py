"""The landing-zone sensor and the schedules evaluate as an operator expects."""

import json
import os
from datetime import datetime, timezone

import dagster as dg

from assets.resources import PipelineSettings
from pipelines.automation import new_complete_files
from pipelines.definitions import daily_ingest_schedule, defs, landing_sensor, monthly_report_schedule


def _evaluate(settings, cursor=None):
    context = dg.build_sensor_context(cursor=cursor, resources={"settings": settings})
    result = landing_sensor.evaluate_tick(context)
    return result.run_requests or [], result.cursor


def test_sensor_new_file_once_same_file_never_part_file_never(paths):
    settings = PipelineSettings(landing=str(paths.landing), analytics=str(paths.analytics), reports=str(paths.reports))
    old = datetime(2026, 1, 1).timestamp()
    (paths.landing / "entries" / "a.csv.part").write_text("half")
    requests, cursor = _evaluate(settings)
    assert requests == []
    done = paths.landing / "entries" / "a.csv"
    done.write_text("entry_number\n")
    os.utime(done, (old, old))  # written a while ago: complete
    requests, cursor = _evaluate(settings, cursor)
    assert len(requests) == 1 and requests[0].run_key.startswith("landing-")
    assert _evaluate(settings, cursor)[0] == []
    # A file still being written (just modified) waits until its size holds still.
    growing = paths.landing / "exams" / "b.csv"
    growing.write_text("exam_id\n")
    requests, cursor = _evaluate(settings, cursor)
    assert requests == [] and "exams/b.csv" in json.loads(cursor)["pending"]
    requests, cursor = _evaluate(settings, cursor)
    assert len(requests) == 1
    assert _evaluate(settings, cursor)[0] == []


def test_a_file_growing_between_looks_stays_pending():
    now = 10**18
    ready, cursor = new_complete_files({}, {"bwt/x.xml": [100, now]}, now)
    assert ready == [] and cursor["pending"] == {"bwt/x.xml": 100}
    ready, cursor = new_complete_files(cursor, {"bwt/x.xml": [250, now + 1]}, now + 2)
    assert ready == [] and cursor["pending"] == {"bwt/x.xml": 250}
    ready, cursor = new_complete_files(cursor, {"bwt/x.xml": [250, now + 1]}, now + 3)
    assert ready == ["bwt/x.xml"] and cursor["seen"] == {"bwt/x.xml": [250, now + 1]}


def test_schedules():
    for when, month in ((datetime(2026, 3, 2, 6, tzinfo=timezone.utc), "2026-02"),
                        (datetime(2027, 1, 2, 6, tzinfo=timezone.utc), "2026-12")):
        context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())
        request = monthly_report_schedule.evaluate_tick(context).run_requests[0]
        assert request.partition_key == month  # the month before is rebuilt, published and reported
        assert request.run_config["ops"]["monthly_report"]["config"]["month"] == month
    assert monthly_report_schedule.cron_schedule == "0 6 2 * *"
    assert daily_ingest_schedule.cron_schedule == "0 5 * * *"
    assert daily_ingest_schedule.job_name == "exam_risk_ingest"
