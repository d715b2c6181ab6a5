"""Dagster's SQLite event log with its connections kept open (pipelines/dagster.yaml).

Dagster's `SqliteEventLogStorage` opens a new engine and SQLite connection for every write and
closes it afterwards. Each event is written into the run's own database, and each asset
materialization, check result and run status change also into the index database (`index.db`)
that the UI queries across runs, with several connections each. Closing the last connection to a
database in WAL mode checkpoints it, so every write also paid a checkpoint: in a small run of the
test suite, 710 index and 364 run-database connections took 3.2 s of its 8.9 s (docs/scaling-history.md,
thirteenth round).

This storage is that class with these differences:
- every database it writes is reached through a pooled engine that stays open, one per process (a
  forked child opens its own); the index's for the life of the storage, a run's until
  RUN_DATABASES_KEPT_OPEN other runs' databases have been used since;
- after a write to a run's database it checkpoints that database itself: the UI's live view of a
  run watches the run's `.db` file, which a write reaches only at a checkpoint (Dagster's storage
  made one by closing its connection). Nothing watches the index file;
- a table `has_table` has found, or a column of the asset_keys table, is not looked up again;
- a step refused a pool's slot asks again after `claim_retry_seconds`. Dagster's storage gives no
  interval, so the executor backs off from 1 s up to 15 s, and a freed warehouse slot, already
  assigned to the next waiting step, stood idle until that step looked again: in
  tests/test_multiprocess.py's ingest and backfill no step ran for 34.5 s of 122 s;
- a refused claim of a run none of whose steps holds or is assigned a slot waits inside the claim,
  looking every CLAIM_POLL_SECONDS for a slot to reach the run, for up to `claim_retry_seconds`.
  Such a run has nothing else to do, and Dagster's executors then loop without sleeping (the
  multiprocess one sleeps only while it polls a running step, the in-process one computes a wait
  that is never positive): each waiting run kept a core busy. In tests/test_multiprocess.py's
  backfill, two of three runs wait at any time; on two cores they took the running step's CPU;
- a run of the multiprocess executor with the forkserver start method starts its forkserver at its
  first claim, instead of when the claimed slot's step is launched: the forkserver imports the
  preload (pipelines.step_modules, about 5 s) while the run waits for the slot, not while its first
  step holds it. In tests/test_multiprocess.py's backfill each run's first step held the warehouse
  slot 5.2-5.5 s before it started, so the third run's first step started 17 s after the first's.

- a batch of events is stored in one transaction per database, where Dagster's storage committed
  each event on its own, two or three times for an asset event (the run's database and the index).
  Dagster hands a storage batches only when `DAGSTER_EVENT_BATCH_SIZE` is set (it reads the variable
  at each event), so this storage sets it in its process unless the operator has: EVENT_BATCH_SIZE.
  Dagster batches only asset events that come together: a run's planned materializations and checks,
  and a step's materializations of a range of partitions (one per month); in a small first load, 154
  of its two runs' 449 events. Those two runs stored their events in 1.53-1.88 s without batches and
  1.20-1.62 s with them (docs/scaling-history.md, twenty-sixth round). Should a batch fail, its
  transactions are rolled back and Dagster stores its events again one by one.

Other writes commit one at a time, so other processes (the UI, the daemon, concurrent runs) see each
event as before; an idle open connection in WAL mode holds no lock.
"""

from __future__ import annotations

import multiprocessing.forkserver
import os
import threading
import time
from collections import OrderedDict
from contextlib import ExitStack, contextmanager
from typing import Callable, Iterator, Sequence

from dagster import Field, StringSource
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import PendingStepsTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_select
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._utils.concurrency import ConcurrencyClaimStatus
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool


# Four times a second: a waiting step starts within a quarter second of the slot's release.
CLAIM_RETRY_SECONDS = 0.25
# A run with no step holding a slot looks this often while its claim waits (one indexed read of
# the index database): its step starts within this of the slot reaching it.
CLAIM_POLL_SECONDS = 0.05
# A process writes one run at a time (a few at once in the UI or the daemon); older ones are closed.
RUN_DATABASES_KEPT_OPEN = 8
# Events Dagster gathers into one batch at most (DAGSTER_EVENT_BATCH_SIZE): a batch holds the storage's
# lock while it is written, about a millisecond an event.
EVENT_BATCH_SIZE = 100


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose connections come from pools that stay open."""

    def __init__(self, base_dir: str, inst_data=None, claim_retry_seconds: float = CLAIM_RETRY_SECONDS):
        self._claim_retry_seconds = claim_retry_seconds
        self._engines: OrderedDict[str, Engine] = OrderedDict()  # by shard, the least recently used first
        self._engines_pid: int | None = None
        self._engines_lock = threading.Lock()
        self._tables_found: set[str] = set()
        self._asset_key_columns_found: set[str] = set()
        self._batch = threading.local()  # `connection` while this thread stores a batch
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False),
                "claim_retry_seconds": Field(float, is_required=False, default_value=CLAIM_RETRY_SECONDS,
                                             description="How soon a step refused a pool's slot asks again.")}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        """base_dir defaults to where Dagster keeps the event log of $DAGSTER_HOME (history/runs), so
        pipelines/dagster.yaml can be copied into any instance's folder as it is."""
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise ValueError("PooledSqliteEventLogStorage needs base_dir in its config or DAGSTER_HOME set")
            base_dir = os.path.join(home, "history", "runs")
        return cls(base_dir, inst_data=inst_data, claim_retry_seconds=config_value["claim_retry_seconds"])

    def _pooled_engine(self, shard: str) -> Engine:
        with self._engines_lock:
            if self._engines_pid != os.getpid():
                self._close_engines()  # a forked child leaves its parent's connections to the parent
                self._engines_pid = os.getpid()
            engine = self._engines.get(shard)
            if engine is None:
                # One connection serves a shard (Dagster serialises its use with its own lock); the
                # overflow is for a lookup beside it, such as a `has_table` during a write.
                engine = self._engines[shard] = create_engine(
                    self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1, max_overflow=4,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
                runs = [key for key in self._engines if key != INDEX_SHARD_NAME]  # only a new one adds to them
                for key in runs[:-RUN_DATABASES_KEPT_OPEN]:
                    self._engines.pop(key).dispose()
            else:
                self._engines.move_to_end(shard)
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        batch_connection = self._batch_connection()
        if batch_connection is not None:  # this thread is storing a batch, and holds the lock
            yield batch_connection(shard)
            return
        with self._db_lock, self._transaction(shard) as conn:
            yield conn

    def _batch_connection(self) -> Callable[[str], Connection] | None:
        """While this thread stores a batch (store_event_batch): the batch's connection to a shard."""
        return getattr(self._batch, "connection", None)

    @contextmanager
    def _transaction(self, shard: str) -> Iterator[Connection]:
        """The shard's pooled connection in a transaction (the caller holds `_db_lock`)."""
        engine = self._pooled_engine(shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn:
            sqlite = conn.connection.dbapi_connection
            changes = sqlite.total_changes
            with conn.begin():
                yield conn
            if shard != INDEX_SHARD_NAME and sqlite.total_changes != changes:
                # The UI's live view of a run watches the run's .db file, which a write reaches
                # at a checkpoint: Dagster's storage made one by closing its connection.
                sqlite.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Dagster's storing of each event, every database it writes in one transaction for the whole
        batch, committed at its end (rolled back if an event fails: Dagster then stores them one by one)."""
        with self._db_lock, ExitStack() as transactions:
            opened: dict[str, Connection] = {}

            def connection(shard: str) -> Connection:
                if shard not in opened:
                    opened[shard] = transactions.enter_context(self._transaction(shard))
                return opened[shard]

            self._batch.connection = connection
            try:
                for event in events:
                    self.store_event(event)
            finally:
                del self._batch.connection

    def has_table(self, table_name: str) -> bool:
        """Dagster asks this for every asset event it stores, while it holds the index connection
        (a second connection each time). A table, once there, stays (a wipe empties tables, a
        migration adds them), so only a table not found yet is looked up again."""
        if table_name in self._tables_found:
            return True
        engine = self._pooled_engine(INDEX_SHARD_NAME)
        batch_connection = self._batch_connection()
        if batch_connection is not None:  # the batch holds the index's pooled connection: read through it
            found = bool(engine.dialect.has_table(batch_connection(INDEX_SHARD_NAME), table_name))
        else:
            with engine.connect() as conn:
                found = bool(engine.dialect.has_table(conn, table_name))
        if found:
            self._tables_found.add(table_name)
        return found

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        """Dagster asks this too for every asset event it stores (does the asset_keys table have a
        migration's column?), reading the table's columns each time: 265 times in a first load of the
        test suite's size, 1-2 ms each. A column, once there, stays (a migration adds columns), so
        only a column not found yet is looked up again."""
        if column_name in self._asset_key_columns_found:
            return True
        found = super()._has_asset_key_col_on_connection(conn, column_name)
        if found:
            self._asset_key_columns_found.add(column_name)
        return found

    def claim_concurrency_slot(self, concurrency_key: str, run_id: str, step_key: str,
                               priority: int | None = None) -> ConcurrencyClaimStatus:
        """A refused claim carries its retry interval, which the executor uses instead of its back-off.
        A run with a step holding or assigned a slot gets it at once, to go on polling that step. A
        run without one waits here instead of in the executor's loop, which would not sleep, and is
        then asked to claim again at once."""
        _start_the_forkserver()
        status = super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)
        if status.is_claimed:
            return status
        if self._run_has_a_slot(run_id):
            return status.with_sleep_interval(self._claim_retry_seconds)
        deadline = time.monotonic() + self._claim_retry_seconds
        while time.monotonic() < deadline:  # asleep first: the run was just found without a slot
            time.sleep(CLAIM_POLL_SECONDS)
            if self._run_has_a_slot(run_id):
                break
        status = super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)
        return status if status.is_claimed else status.with_sleep_interval(0.0)

    def _run_has_a_slot(self, run_id: str) -> bool:
        """Whether a step of the run holds a slot of any pool or has been assigned one: Dagster
        keeps a step's pending row, with the time of its assignment, until the step frees its slot."""
        with self.index_connection() as conn:
            return conn.execute(
                db_select([PendingStepsTable.c.id]).where(PendingStepsTable.c.run_id == run_id,
                                                          PendingStepsTable.c.assigned_timestamp.isnot(None))
                .limit(1)).first() is not None

    def wipe(self) -> None:
        with self._engines_lock:
            self._close_engines()  # before Dagster deletes the run databases' files
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        with self._engines_lock:
            self._close_engines()

    def _close_engines(self) -> None:
        """Forgets every engine (the caller holds `_engines_lock`). Only the process that opened the
        connections closes them: a forked child must not close its parent's SQLite connections."""
        opened_here = self._engines_pid == os.getpid()
        for engine in self._engines.values():
            engine.dispose(close=opened_here)
        self._engines.clear()


def _start_the_forkserver() -> None:
    """Start this process's forkserver now if Dagster's multiprocess executor set it up (it puts its
    own module first in the preload) and it is not running; at once otherwise. The forkserver
    imports the preload in its own process, so the claim does not wait for it."""
    preload = getattr(multiprocessing.forkserver._forkserver, "_preload_modules", None) or []
    if "dagster._core.executor.multiprocess" in preload:
        multiprocessing.forkserver.ensure_running()


# The name in the dagster.yaml of instances made before run databases were pooled too.
IndexPooledSqliteEventLogStorage = PooledSqliteEventLogStorage
