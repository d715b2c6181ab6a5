"""The landing-zone sensor and the schedules evaluate as an operator expects."""

import json
import os
from datetime import datetime, timezone

import dagster as dg
import pytest

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
        assert request.run_config["ops"]["charts_and_reports"]["config"]["month"] == month
    assert monthly_report_schedule.cron_schedule == "0 6 2 * *"
    assert daily_ingest_schedule.cron_schedule == "0 5 * * *"
    assert daily_ingest_schedule.job_name == "exam_risk_ingest"


@pytest.mark.slow
def test_open_months_sensor_turns_each_ingest_run_into_month_range_runs(paths, tmp_path):
    """The sensor reads what a real ingest run's staging step reported: one months run per
    contiguous range of the months it opened, a publication run when it opened none. The months are
    checked against the local months written in the delivered files (`arrival_at` carries the
    port's offset, so its first seven characters are the contract's local month)."""
    import shutil

    import polars as pl

    from assets.partitions import RANGE_END, RANGE_START, contiguous_ranges, range_tags
    from assets.resources import resources_from_env
    from pipelines.definitions import ALL_ASSETS, DRAWINGS, INGEST, MONTHS_AND_PUBLISH, open_months_sensor
    from pipelines.sample_data import generate

    instance = dg.DagsterInstance.ephemeral()
    resources = resources_from_env(landing=str(paths.landing), warehouse=str(paths.warehouse),
                                   analytics=str(paths.analytics), reports=str(paths.reports))

    # The months runs publish without drawing (the CLI's --no-reports): the sensor reads staging, and
    # drawing these seven months took 16 of the test's 34 s (test_report and test_end_to_end draw).
    months_and_publish = MONTHS_AND_PUBLISH - dg.AssetSelection.assets(*DRAWINGS)

    def run(selection, tags=None):
        result = dg.materialize(ALL_ASSETS, selection=selection, resources=resources, instance=instance, tags=tags)
        assert result.success
        return result

    def requests_after(ingest_run):
        context = dg.build_run_status_sensor_context(
            sensor_name="open_months_sensor", dagster_instance=instance, dagster_run=ingest_run.dagster_run,
            dagster_event=ingest_run.get_run_success_event())
        result = open_months_sensor(context)
        return result if isinstance(result, list) else [result]

    def local_months(landing):
        arrivals = pl.concat([pl.read_csv(f, columns=["arrival_at"]) for f in (landing / "entries").glob("*.csv")])
        return sorted(arrivals["arrival_at"].str.slice(0, 7).unique())

    def as_ranges(requests):
        return [(r.job_name, r.tags[RANGE_START], r.tags[RANGE_END]) for r in requests]

    generate(paths.landing, entries=2000, seed=8, formats="csv", start="2026-01", months=3, bad_share=0.0)
    first = local_months(paths.landing)
    requests = requests_after(run(INGEST))
    assert as_ranges(requests) == [("exam_risk_months", a, b) for a, b in contiguous_ranges(first)]
    for request in requests:
        run(months_and_publish, range_tags(request.tags[RANGE_START], request.tags[RANGE_END]))

    # Nothing new: staging opens nothing, so the sensor asks for a publication only.
    nothing = requests_after(run(INGEST))
    assert [(r.job_name, r.tags) for r in nothing] == [("exam_risk_publish", {})]

    # Entries of two periods months apart, in one ingest run: two ranges, two runs. (Their exams stay
    # behind: generated exam ids restart for every data set, and an id seen before is a correction
    # that re-opens the month of the exam it replaces.)
    later = []
    for seed, start in ((9, "2026-05"), (10, "2026-09")):
        extra = tmp_path / f"extra_{seed}"
        generate(extra, entries=500, seed=seed, formats="csv", start=start, months=2, bad_share=0.0)
        later += local_months(extra)
        for f in (extra / "entries").glob("*.csv"):
            shutil.copy(f, paths.landing / "entries" / f"{extra.name}_{f.name}")
    ranges = contiguous_ranges(sorted(set(later)))
    assert len(ranges) == 2
    requests = requests_after(run(INGEST))
    assert as_ranges(requests) == [("exam_risk_months", a, b) for a, b in ranges]
    assert len({r.run_key for r in requests}) == 2
    for request in requests:
        run(months_and_publish, range_tags(request.tags[RANGE_START], request.tags[RANGE_END]))

    # A port closure alone, catching no entry: its reopening month (Laredo's local November) is rebuilt.
    (paths.landing / "disruptions").mkdir()
    (paths.landing / "disruptions" / "closures.csv").write_text(
        "event_id,port_code,cause,closed_at,reopened_at,source\n"
        "B1,2304,BRIDGE_CLOSURE,2026-11-14T12:00:00Z,2026-11-15T12:00:00Z,\n")
    ingest = run(INGEST)
    assert as_ranges(requests_after(ingest)) == [("exam_risk_months", "2026-11", "2026-11")]
    # The sensor reads every staging step that reports open months, whichever of them runs last.
    from pipelines.automation import STAGING_KEYS

    reporting = {e.asset_key for e in ingest.get_asset_materialization_events()
                 if "open_months" in e.step_materialization_data.materialization.metadata}
    assert dg.AssetKey("stg_disruptions") in reporting and reporting <= STAGING_KEYS
