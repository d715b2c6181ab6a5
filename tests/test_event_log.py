"""The instance's event log (pipelines/event_log.py): Dagster's SQLite storage with its databases reached
through connections that stay open. The events land where Dagster's own storage puts them, another
process and the UI's live view of a run see each one as soon as it is stored, a forked child opens its
own connections, the asset_keys table's columns are read once, a step refused a pool's slot is told
to ask again soon, a run with no step running waits for a slot asleep, and a multiprocess run's
forkserver starts while it waits, and a batch of events is stored in one transaction per database."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy
from dagster._core.events import DagsterEventBatchMetadata, StepMaterializationData, generate_event_batch_id
from dagster._core.events.log import EventLogEntry
from sqlalchemy.engine import Engine

from pipelines.event_log import EVENT_BATCH_SIZE, RUN_DATABASES_KEPT_OPEN, PooledSqliteEventLogStorage
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
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert Path(instance.event_log_storage._base_dir) == home / "history" / "runs"  # Dagster's own place
        opened.clear()
        runs = [dg.materialize([first, second, second_is_two], instance=instance) for _ in range(3)]
        assert all(r.success for r in runs)
        # Each run stored two materializations, a check result and its status changes in the index,
        # and some thirty events in its own database: Dagster's own storage opens index.db several
        # times per event (73 times for these runs) and a run's database once per event. Here the
        # index is opened once, a run's database twice (once to create it, once kept open).
        assert opened["index.db"] <= 1
        assert max(opened[f"{run.run_id}.db"] for run in runs) <= 2
        # Committed and visible to another process while this one keeps its connection open.
        assert latest_in_another_process(home) == f"{runs[-1].run_id} {runs[-1].run_id}"
        assert instance.get_latest_materialization_event(dg.AssetKey("second")).run_id == runs[-1].run_id


def test_the_asset_keys_columns_are_read_once_not_for_every_asset_event(home):
    """Dagster's storage reads the asset_keys table's columns (does it have a migration's column?) for
    every asset event it stores: 30 times for these three runs. Read once per column asked, the
    events land as before (the latest materialization and check result are the last run's)."""
    lookups = Counter()

    def count(conn, cursor, statement, *args):
        lookups[statement.strip()] += statement.lstrip().upper().startswith("PRAGMA")

    sqlalchemy.event.listen(Engine, "before_cursor_execute", count)
    try:
        with persistent_instance() as instance:
            runs = [dg.materialize([first, second, second_is_two], instance=instance) for _ in range(3)]
            assert all(r.success for r in runs)
            assert instance.get_latest_materialization_event(dg.AssetKey("second")).run_id == runs[-1].run_id
    finally:
        sqlalchemy.event.remove(Engine, "before_cursor_execute", count)
    assert 1 <= lookups['PRAGMA main.table_xinfo("asset_keys")'] <= 2  # the two columns Dagster asks about


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


def set_claim_retry_seconds(home: Path, seconds: float) -> None:
    with (home / "dagster.yaml").open("a") as settings:
        settings.write(f"\n  config:\n    claim_retry_seconds: {seconds}\n")


@pytest.mark.parametrize("setting, seconds", [(None, 0.25), (2.0, 2.0)])
def test_a_step_refused_a_pool_slot_is_told_when_to_ask_again(home, setting, seconds):
    """Dagster's storage gives no interval, and the executor then backs off from 1 s to 15 s while the
    freed slot, assigned to the waiting step, stays idle. run_b has a step running (it holds the
    reports pool's slot), so its refused claim returns at once: the executor goes on polling that step."""
    if setting is not None:
        set_claim_retry_seconds(home, setting)
    with persistent_instance() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb_warehouse", 1)
        storage.set_concurrency_slots("report_files", 1)
        assert storage.claim_concurrency_slot("duckdb_warehouse", "run_a", "stg_entries").is_claimed
        assert storage.claim_concurrency_slot("report_files", "run_b", "charts_and_reports").is_claimed
        refused = storage.claim_concurrency_slot("duckdb_warehouse", "run_b", "stg_exams")
        assert not refused.is_claimed and refused.sleep_interval == seconds  # a claim that waited says 0
        storage.free_concurrency_slot_for_step("run_a", "stg_entries")
        assert storage.claim_concurrency_slot("duckdb_warehouse", "run_b", "stg_exams").is_claimed


def test_a_run_without_a_slot_waits_in_its_claim_and_takes_the_slot_as_it_is_freed(tmp_path):
    """A run none of whose steps holds a slot has nothing to poll: its claim waits in the storage,
    asleep, up to claim_retry_seconds, and returns as soon as the slot reaches the run. Two storages
    on the same files, as two processes would have them, one waiting 1.5 s and one 60 s."""
    short, long = (PooledSqliteEventLogStorage(str(tmp_path), claim_retry_seconds=s) for s in (1.5, 60))
    short.set_concurrency_slots("duckdb_warehouse", 1)
    assert short.claim_concurrency_slot("duckdb_warehouse", "run_a", "stg_entries").is_claimed
    started, cpu = time.monotonic(), time.process_time()
    refused = short.claim_concurrency_slot("duckdb_warehouse", "run_b", "stg_exams")
    waited, cpu = time.monotonic() - started, time.process_time() - cpu
    assert not refused.is_claimed and refused.sleep_interval == 0  # asked again at once, to wait again
    assert waited >= 1.5 and cpu < waited / 3

    # run_a frees the slot half a second into run_b's next wait: the waiting claim takes it.
    release = threading.Timer(0.5, short.free_concurrency_slot_for_step, ("run_a", "stg_entries"))
    release.start()
    started = time.monotonic()
    claimed = long.claim_concurrency_slot("duckdb_warehouse", "run_b", "stg_exams")
    release.join()
    assert claimed.is_claimed and 0.4 < time.monotonic() - started < 30


# A process claiming a slot, as the executor of a run would: with Dagster's multiprocess forkserver
# preload set (argv[2] == "multiprocess") or not (an in-process run). It prints its forkserver children.
CLAIMING = """
import multiprocessing, os, sys
from pathlib import Path
from pipelines.event_log import PooledSqliteEventLogStorage

storage = PooledSqliteEventLogStorage(sys.argv[1], claim_retry_seconds=0.1)
storage.set_concurrency_slots("duckdb_warehouse", 1)
assert storage.claim_concurrency_slot("duckdb_warehouse", "run_a", "stg_entries").is_claimed
if sys.argv[2] == "multiprocess":
    multiprocessing.get_context("forkserver").set_forkserver_preload(["dagster._core.executor.multiprocess", "json"])
assert not storage.claim_concurrency_slot("duckdb_warehouse", "run_b", "stg_exams").is_claimed

def command_of_child(proc):  # other processes come and go while /proc is read
    try:
        parent = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
        return (proc / "cmdline").read_text() if parent == str(os.getpid()) else ""
    except OSError:
        return ""

commands = [command_of_child(p) for p in Path("/proc").iterdir() if p.name.isdigit()]
print(sum(c.startswith(sys.executable) and "forkserver import main" in c for c in commands))
"""


@pytest.mark.parametrize("executor, forkservers", [("multiprocess", 1), ("in_process", 0)])
def test_a_multiprocess_run_starts_its_forkserver_while_its_claim_waits(tmp_path, executor, forkservers):
    """The forkserver imports the preload (pipelines.step_modules: about 5 s) before the first step's
    process can start: started at the run's first claim, it does so while the run waits for the slot,
    not while its first step holds the slot idle. A run of the in-process executor starts none."""
    found = subprocess.run([sys.executable, "-c", CLAIMING, str(tmp_path), executor], cwd=ROOT, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert found.returncode == 0, found.stderr
    assert int(found.stdout) == forkservers


@dg.asset(pool="duckdb_warehouse")
def pooled() -> int:
    return 1


def test_a_run_waiting_for_another_run_s_slot_sleeps_instead_of_spinning(home):
    """Dagster's in-process executor computes a wait that is never positive while a claim is pending
    (the multiprocess one sleeps only while it polls a running step), so without the claim's own wait
    a run waiting for a slot kept a core busy: 3.17 s of CPU in 3.24 s."""
    with persistent_instance() as instance:
        storage = instance.event_log_storage
        assert dg.materialize([pooled], instance=instance).success  # imports and first-run setup
        assert storage.claim_concurrency_slot("duckdb_warehouse", "another_run", "stg_entries").is_claimed
        release = threading.Timer(3.0, storage.free_concurrency_slot_for_step, ("another_run", "stg_entries"))
        release.start()
        started, cpu = time.monotonic(), time.process_time()
        result = dg.materialize([pooled], instance=instance)
        waited, cpu = time.monotonic() - started, time.process_time() - cpu
        release.join()
    assert result.success and waited >= 3
    assert cpu < waited / 3


def event(message: str, run_id: str = "run_a") -> EventLogEntry:
    return EventLogEntry(error_info=None, level=logging.INFO, user_message=message, run_id=run_id,
                         timestamp=time.time())


def test_the_ui_s_live_view_of_a_run_sees_each_event_as_it_is_stored(home):
    """The UI follows a running run by watching its .db file (Dagster's SqliteEventLogStorageWatchdog);
    a write reaches that file only at a checkpoint, which the kept-open connection makes itself."""
    with persistent_instance() as instance:
        storage = instance.event_log_storage
        storage.store_event(event("before the view"))  # the run's database exists and is open
        seen: list[str] = []
        def view(entry: EventLogEntry, cursor: str) -> None:
            seen.append(entry.user_message)

        storage.watch("run_a", None, view)
        try:
            for n in range(3):
                storage.store_event(event(f"event {n}"))
                deadline = time.monotonic() + 20
                while len(seen) < n + 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert seen == ["before the view"] + [f"event {i}" for i in range(n + 1)]  # each, as it comes
        finally:
            storage.end_watch("run_a", view)


def test_only_the_most_recent_run_databases_stay_open_and_none_loses_an_event(home):
    runs = [f"run_{n}" for n in range(RUN_DATABASES_KEPT_OPEN + 4)]
    with persistent_instance() as instance:
        storage = instance.event_log_storage
        for run_id in runs:
            storage.store_event(event(f"in {run_id}", run_id))
        assert [key for key in storage._engines if key != "index"] == runs[-RUN_DATABASES_KEPT_OPEN:]
        for run_id in runs:
            with sqlite3.connect(home / "history" / "runs" / f"{run_id}.db") as con:  # the file, as a reader sees it
                assert con.execute("SELECT count(*) FROM event_logs").fetchone() == (1,)


def test_an_instance_made_with_the_earlier_class_name_still_loads(home):
    settings = home / "dagster.yaml"
    settings.write_text(settings.read_text().replace("class: PooledSqliteEventLogStorage",
                                                     "class: IndexPooledSqliteEventLogStorage"))
    with persistent_instance() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)


MONTHS = dg.MonthlyPartitionsDefinition(start_date="2026-01-01", end_date="2026-07-01")


@dg.asset(partitions_def=MONTHS, backfill_policy=dg.BackfillPolicy.single_run())
def monthly(context) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"months": len(context.partition_keys)})


@pytest.fixture
def commits() -> Counter:
    """Transactions committed in this process, by database file name."""
    counts: Counter = Counter()

    def count(conn) -> None:
        counts[Path(str(conn.engine.url.database)).name] += 1

    sqlalchemy.event.listen(Engine, "commit", count)
    yield counts
    sqlalchemy.event.remove(Engine, "commit", count)


def test_a_run_s_batches_of_events_are_each_stored_in_one_transaction_per_database(home, commits, monkeypatch):
    """Dagster batches a run's planned materializations and a step's materializations of a range of
    partitions when DAGSTER_EVENT_BATCH_SIZE is set, which the storage does; it writes each batch in one
    transaction per database. The same run with batches turned off (0) commits once more per database
    for each event of a batch after its first. Every event is stored, and another process sees them."""
    batches: list[list[str]] = []
    real = PooledSqliteEventLogStorage.store_event_batch

    def spy(self, events):
        batches.append([e.dagster_event.event_type_value for e in events])
        return real(self, events)

    def months_run() -> tuple[dg.ExecuteInProcessResult, dict]:
        with persistent_instance() as instance:
            commits.clear()
            result = dg.materialize([monthly], instance=instance, tags={
                "dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-06-01"})
            assert result.success
            stored = [e.dagster_event_type for e in instance.all_logs(result.run_id)]
            assert stored.count(dg.DagsterEventType.ASSET_MATERIALIZATION) == 6
            return result, {"run": commits[f"{result.run_id}.db"], "index": commits["index.db"]}

    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch", spy)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")  # 0: Dagster stores every event on its own
    _, one_by_one = months_run()
    assert batches == []
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE")
    result, batched = months_run()
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == str(EVENT_BATCH_SIZE)  # set by the storage
    assert sorted(batches) == [["ASSET_MATERIALIZATION"] * 6, ["ASSET_MATERIALIZATION_PLANNED"] * 6]
    saved = sum(len(b) - 1 for b in batches)
    assert {k: one_by_one[k] - batched[k] for k in batched} == {"run": saved, "index": saved}
    code = ("import dagster as dg; i = dg.DagsterInstance.get(); "
            "print(sorted(i.get_materialized_partitions(dg.AssetKey('monthly'))), "
            "i.get_latest_materialization_event(dg.AssetKey('monthly')).run_id)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{[f'2026-0{m}-01' for m in range(1, 7)]} {result.run_id}"


def test_an_operator_s_batch_size_is_kept(home, monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")  # 0: Dagster stores every event on its own
    with persistent_instance():
        assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "0"


def materialized_in(run_id: str, key: str) -> EventLogEntry:
    return EventLogEntry(error_info=None, level=logging.DEBUG, user_message="", run_id=run_id, timestamp=time.time(),
                         dagster_event=dg.DagsterEvent(
                             event_type_value=dg.DagsterEventType.ASSET_MATERIALIZATION.value, job_name="job",
                             event_specific_data=StepMaterializationData(dg.AssetMaterialization(key))))


def test_a_batch_that_fails_stores_none_of_its_events_and_dagster_stores_them_one_by_one(home, monkeypatch):
    """An event failing in the middle of a batch rolls the batch back in every database it wrote.
    Dagster's own handling (EventMethods.handle_new_event) then stores the batch's events one by one:
    each is stored once, in the run's database and in the index."""
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))
    real, calls = PooledSqliteEventLogStorage._store_asset_event, Counter()

    def fails_third(self, conn, event, event_id):
        calls["asset events"] += 1
        if calls["asset events"] == 3:
            raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(self, conn, event, event_id)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "_store_asset_event", fails_third)
    with persistent_instance() as instance:
        with pytest.raises(sqlalchemy.exc.OperationalError):
            instance.event_log_storage.store_event_batch([materialized_in("run_c", f"first_{n}") for n in range(4)])
        assert instance.all_logs("run_c") == []
        assert all(instance.get_latest_materialization_event(dg.AssetKey(f"first_{n}")) is None for n in range(4))

        calls.clear()
        batch = generate_event_batch_id()
        for n in range(4):
            instance.handle_new_event(materialized_in("run_d", f"second_{n}"),
                                      batch_metadata=DagsterEventBatchMetadata(batch, n == 3))
        assert calls["asset events"] == 3 + 4  # the batch's three, then each event on its own
        assert [e.dagster_event.asset_key.path[0] for e in instance.all_logs("run_d")] == [f"second_{n}" for n in range(4)]
        for n in range(4):
            in_index = instance.fetch_materializations(dg.AssetKey(f"second_{n}"), limit=10).records
            assert [r.run_id for r in in_index] == ["run_d"]
