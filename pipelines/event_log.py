"""Dagster's SQLite event log with the index database's connection kept open (pipelines/dagster.yaml).

Dagster's `SqliteEventLogStorage` opens a new engine and SQLite connection for every write and
closes it afterwards. Each asset materialization, check result and run status change is written
twice: into the run's own database and into the index database (`index.db`) that the UI queries
across runs, and the index takes several connections per event. Closing the last connection to a
database in WAL mode checkpoints it, so each of those writes also paid a checkpoint: in a small run
of the test suite, 710 index connections took 1.95 s of its 8.9 s (docs/scaling.md, thirteenth round).

This storage is that class with two differences: the index database is reached through a pooled
engine that stays open for the life of the storage (one per process: a forked child opens its own),
and a table `has_table` has found is not looked up again. Run databases are untouched. The UI's live view of a run watches the run's `.db` file for changes,
and a run database's writes reach that file at the checkpoint a closing connection makes; keeping
those connections open would leave the view waiting. Nothing watches the index file.

Writes still commit one at a time, so other processes (the UI, the daemon, concurrent runs) see each
event as before; an idle open connection in WAL mode holds no lock.

A third difference is in the pools (pipelines/dagster.yaml): a step refused a slot asks again after
`claim_retry_seconds`. Dagster's storage gives no interval, so the executor backs off from 1 s up to
15 s, and a freed warehouse slot, already assigned to the next waiting step, stood idle until that
step looked again: in tests/test_multiprocess.py's ingest and backfill no step ran for 34.5 s of
122 s (docs/scaling.md, thirteenth round). Asking again is a few queries on the open index connection.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._utils.concurrency import ConcurrencyClaimStatus
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool


# Four times a second: a waiting step starts within a quarter second of the slot's release.
CLAIM_RETRY_SECONDS = 0.25


class IndexPooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose connections to the index database come from a pool."""

    def __init__(self, base_dir: str, inst_data=None, claim_retry_seconds: float = CLAIM_RETRY_SECONDS):
        self._claim_retry_seconds = claim_retry_seconds
        self._index_engine: Engine | None = None
        self._index_pid: int | None = None
        self._index_engine_lock = threading.Lock()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False),
                "claim_retry_seconds": Field(float, is_required=False, default_value=CLAIM_RETRY_SECONDS,
                                             description="How soon a step refused a pool's slot asks again.")}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> IndexPooledSqliteEventLogStorage:
        """base_dir defaults to where Dagster keeps the event log of $DAGSTER_HOME (history/runs), so
        pipelines/dagster.yaml can be copied into any instance's folder as it is."""
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise ValueError("IndexPooledSqliteEventLogStorage needs base_dir in its config or DAGSTER_HOME set")
            base_dir = os.path.join(home, "history", "runs")
        return cls(base_dir, inst_data=inst_data, claim_retry_seconds=config_value["claim_retry_seconds"])

    def _pooled_index_engine(self) -> Engine:
        with self._index_engine_lock:
            if self._index_engine is not None and self._index_pid != os.getpid():
                # A forked child must not share its parent's SQLite connection; leave it to the parent.
                self._index_engine.dispose(close=False)
                self._index_engine = None
            if self._index_engine is None:
                # One connection serves the index (Dagster serialises its use with its own lock); the
                # overflow is for a lookup beside it, such as a `has_table` during a write.
                self._index_engine = create_engine(
                    self.conn_string_for_shard(INDEX_SHARD_NAME), poolclass=QueuePool, pool_size=1, max_overflow=4,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
                self._index_pid = os.getpid()
            return self._index_engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        if shard != INDEX_SHARD_NAME:
            with super()._connect(shard) as conn:
                yield conn
            return
        with self._db_lock:
            engine = self._pooled_index_engine()
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Dagster asks this for every asset event it stores, while it holds the index connection
        (a second connection each time). A table, once there, stays (a wipe empties tables, a
        migration adds them), so only a table not found yet is looked up again."""
        if table_name in self._tables_found:
            return True
        engine = self._pooled_index_engine()
        with engine.connect() as conn:
            found = bool(engine.dialect.has_table(conn, table_name))
        if found:
            self._tables_found.add(table_name)
        return found

    def claim_concurrency_slot(self, concurrency_key: str, run_id: str, step_key: str,
                               priority: int | None = None) -> ConcurrencyClaimStatus:
        """A refused claim carries its retry interval, which the executor uses instead of its back-off."""
        status = super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)
        return status if status.is_claimed else status.with_sleep_interval(self._claim_retry_seconds)

    def dispose(self) -> None:
        super().dispose()
        with self._index_engine_lock:
            if self._index_engine is not None and self._index_pid == os.getpid():
                self._index_engine.dispose()
            self._index_engine = None
