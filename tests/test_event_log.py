"""The instance's event log (pipelines/event_log.py): Dagster's SQLite storage with the index database
reached through one open connection. The events land where Dagster's own storage puts them and
another process sees each one as soon as it is stored; a forked child opens its own connection."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from pipelines.event_log import IndexPooledSqliteEventLogStorage
from pipelines.instance import persistent_instance

ROOT = Path(__file__).resolve().parent.parent


@dg.asset
def first() -> int:
    return 1


@dg.asset
def second(first: int) -> int:
    return first + 1


@dg.asset_check(asset=second)
def second_is_two(second: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=second == 2)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A new instance folder with the project's instance settings."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def counting_connect(counts: Counter):
    real = sqlite3.dbapi2.connect

    def connect(database, *args, **kwargs):
        counts[Path(str(database)).name] += 1
        return real(database, *args, **kwargs)

    return connect


@pytest.fixture
def opened(monkeypatch) -> Counter:
    """SQLite databases opened in this process, by file name."""
    counts: Counter = Counter()
    monkeypatch.setattr(sqlite3.dbapi2, "connect", counting_connect(counts))  # what SQLAlchemy calls
    return counts


def latest_in_another_process(home: Path) -> str:
    code = ("import dagster as dg; i = dg.DagsterInstance.get(); "
            "e = i.get_latest_materialization_event(dg.AssetKey('second')); "
            "c = i.event_log_storage.get_latest_asset_check_execution_by_key([dg.AssetCheckKey(dg.AssetKey('second'), 'second_is_two')]); "
            "print(e.run_id, list(c.values())[0].run_id)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_runs_write_the_index_through_one_connection_and_other_processes_see_every_event(home, opened):
    with persistent_instance() as instance:
        assert isinstance(instance.event_log_storage, IndexPooledSqliteEventLogStorage)
        assert Path(instance.event_log_storage._base_dir) == home / "history" / "runs"  # Dagster's own place
        opened.clear()
        runs = [dg.materialize([first, second, second_is_two], instance=instance) for _ in range(3)]
        assert all(r.success for r in runs)
        # Each run stored two materializations, a check result and its status changes in the index:
        # Dagster's own storage opens index.db several times per event (73 times for these runs).
        assert opened["index.db"] <= 1
        # A run's own database is still opened per write, so the UI's live view of a run, which
        # watches that file, sees each event.
        assert opened[f"{runs[-1].run_id}.db"] >= 5
        # Committed and visible to another process while this one keeps its connection open.
        assert latest_in_another_process(home) == f"{runs[-1].run_id} {runs[-1].run_id}"
        assert instance.get_latest_materialization_event(dg.AssetKey("second")).run_id == runs[-1].run_id


def _store_in_child(instance: dg.DagsterInstance, queue) -> None:
    """In a forked child: store an event through the parent's instance, report the index opens."""
    counts = Counter()
    sqlite3.dbapi2.connect = counting_connect(counts)
    instance.report_runless_asset_event(dg.AssetMaterialization("from_child"))
    queue.put(counts["index.db"])


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_opens_its_own_index_connection(home):
    with persistent_instance() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("from_parent"))  # the parent's connection is open
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_store_in_child, args=(instance, queue))  # fork: passed, not pickled
        child.start()
        child.join(60)
        assert child.exitcode == 0
        assert queue.get(timeout=5) == 1  # its own connection, not the parent's inherited one
        instance.report_runless_asset_event(dg.AssetMaterialization("from_parent"))  # the parent's still works
        for key in ("from_parent", "from_child"):
            assert instance.get_latest_materialization_event(dg.AssetKey(key)) is not None


@pytest.mark.parametrize("setting, seconds", [(None, 0.25), (2.0, 2.0)])
def test_a_step_refused_a_pool_slot_is_told_when_to_ask_again(home, setting, seconds):
    """Dagster's storage gives no interval, and the executor then backs off from 1 s to 15 s while the
    freed slot, assigned to the waiting step, stays idle."""
    if setting is not None:
        with (home / "dagster.yaml").open("a") as settings:
            settings.write(f"\n  config:\n    claim_retry_seconds: {setting}\n")
    with persistent_instance() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb_warehouse", 1)
        assert storage.claim_concurrency_slot("duckdb_warehouse", "run_a", "stg_entries").is_claimed
        refused = storage.claim_concurrency_slot("duckdb_warehouse", "run_b", "stg_exams")
        assert not refused.is_claimed and refused.sleep_interval == seconds
        storage.free_concurrency_slot_for_step("run_a", "stg_entries")
        assert storage.claim_concurrency_slot("duckdb_warehouse", "run_b", "stg_exams").is_claimed
