"""Every run is recorded on one persistent Dagster instance (pipelines/instance.py): the CLI's runs,
their materializations per asset and month, their check results; a run killed with SIGKILL leaves
no concurrency-pool slot held; the CLI and the open-months sensor plan the same runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from pipelines.definitions import defs, open_months_sensor
from pipelines.instance import persistent_instance
from pipelines.sample_data import generate
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parent.parent


def test_a_cli_run_is_recorded_with_every_materialization_and_check(paths, dagster_home):
    generate(paths.landing, entries=3000, seed=4, formats="csv", start="2026-01", months=3, bad_share=0.01)
    outcome = paths.run()
    assert outcome.exit_code == 0, outcome.message
    mine = {r.run_id for r in outcome.runs}

    with persistent_instance() as instance:
        assert Path(os.environ["DAGSTER_HOME"]) == dagster_home
        runs = {r.run_id: r for r in instance.get_runs() if r.run_id in mine}
        assert [runs[i].job_name for i in (r.run_id for r in outcome.runs)] == ["exam_risk_ingest", "exam_risk_months"]
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs.values())

        graph = defs.resolve_asset_graph()
        missing = []
        for key in graph.get_all_asset_keys():
            if graph.get(key).is_partitioned:
                if instance.get_materialized_partitions(key) < {"2026-01", "2026-02", "2026-03"}:
                    missing.append(key)
            elif not instance.fetch_materializations(key, limit=1).records:
                missing.append(key)
        assert missing == []
        unchecked = [k for k in graph.asset_check_keys
                     if not instance.event_log_storage.get_asset_check_execution_history(k, limit=1)]
        assert unchecked == []

        # One planner: the sensor, shown the CLI's ingest run, asks for exactly the runs the CLI made.
        ingest = outcome.runs[0]
        context = dg.build_run_status_sensor_context(
            sensor_name="open_months_sensor", dagster_instance=instance, dagster_run=ingest.dagster_run,
            dagster_event=ingest.get_run_success_event())
        requests = open_months_sensor(context)
        requests = requests if isinstance(requests, list) else [requests]
        made = [(r.dagster_run.job_name, {k: v for k, v in r.dagster_run.tags.items() if k.startswith("dagster/asset_partition")})
                for r in outcome.runs[1:]]
        assert [(r.job_name, r.tags) for r in requests] == made

    # The pseudonym key's value is nowhere in the instance's storage (it is only ever named).
    stored = [p for p in dagster_home.rglob("*") if p.is_file() and TEST_KEY.encode() in p.read_bytes()]
    assert stored == []


def _claimed(instance) -> list:
    return instance.event_log_storage.get_concurrency_info("duckdb_warehouse").claimed_slots


def _claimed_read_only(home: Path) -> list[str]:
    """Run ids holding the warehouse pool's slot, read from the instance's SQLite index without
    opening the instance: DagsterInstance.get() beside a run that is still creating the storage
    could stamp its schema a second time ("alembic_version has more than one head", CI20, CI23)."""
    index = home / "history" / "runs" / "index.db"
    if not index.exists():
        return []
    try:
        with sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=1) as db:
            rows = db.execute("SELECT run_id FROM concurrency_slots "
                              "WHERE concurrency_key = 'duckdb_warehouse' AND run_id IS NOT NULL").fetchall()
    except sqlite3.OperationalError:  # schema not created yet, or the run is writing: ask again
        return []
    return [run_id for (run_id,) in rows]


def test_a_run_killed_with_sigkill_holds_no_pool_slot_for_the_next(paths, tmp_path):
    generate(paths.landing, entries=20000, seed=5, formats="csv", start="2026-01", months=3, bad_share=0.0)
    home = tmp_path / "home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), "EXAM_RISK_PSEUDONYM_KEY": TEST_KEY}
    # Without drawing: the test is about the warehouse pool's slot, which drawing never holds.
    command = [sys.executable, "-m", "pipelines", "run", *paths.cli_args(), "--no-reports"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["DAGSTER_HOME"], saved = str(home), os.environ["DAGSTER_HOME"]
    try:
        deadline = time.monotonic() + 300
        while True:  # wait until the run holds the warehouse pool's slot, then kill it mid-step
            assert first.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            if _claimed_read_only(home):
                # The step may free its slot between that read and the kill (CI on aa1d140 found the
                # slot free): freeze the run, read again, and kill it only while it still holds one.
                first.send_signal(signal.SIGSTOP)
                held = _claimed_read_only(home)
                if held:
                    break
                first.send_signal(signal.SIGCONT)
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        first.wait()
        with dg.DagsterInstance.get() as instance:
            assert _claimed(instance), "the killed run's slot is still held (what the next run must cope with)"
            assert [slot.run_id for slot in _claimed(instance)] == held
            killed = held[0]

        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stdout + second.stderr
        with dg.DagsterInstance.get() as instance:
            assert _claimed(instance) == []
            assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
            assert {r.status for r in instance.get_runs() if r.run_id != killed} == {dg.DagsterRunStatus.SUCCESS}
    finally:
        os.environ["DAGSTER_HOME"] = saved
