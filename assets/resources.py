"""Resources the assets use: the warehouse and the pipeline's settings (assets/settings.py holds every
setting, its variable, flag, default and check)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

import dagster as dg
import duckdb

from assets.settings import ENV_DEFAULTS, SETTINGS, SettingError, configuration, env, read_key_file  # noqa: F401  (env: re-exported)

REPO_ROOT = Path(__file__).resolve().parent.parent
# Every asset that writes the warehouse is in this Dagster concurrency pool; with its limit at 1
# (pipelines/dagster.yaml) no two of them run at once, whatever the executor: DuckDB allows one
# writing process per database file.
WAREHOUSE_POOL = "duckdb_warehouse"
# The chart and report assets share one folder and the marker files that say which publications are
# drawn; in a pool of their own, concurrent runs take turns drawing (readers are safe anyway: every
# file is written beside its target and renamed into place, assets/reports/files.py).
REPORTS_POOL = "report_files"
SQL_DIR = REPO_ROOT / "sql"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text()


# What a digest of the code reads in a folder (code_digest).
CODE_SUFFIXES = {".sql", ".json", ".py"}


def code_digest(parts: Iterable[str]) -> str:
    """SHA-256 of the repository's files under these paths, by path and content: a folder's code
    files (CODE_SUFFIXES, sorted), a file as named."""
    digest = hashlib.sha256()
    for part in parts:
        root = REPO_ROOT / part
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES)
        for path in files:
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def setup_sql() -> tuple[str, str]:
    """The warehouse's layout and macros (sql/setup/), and their digest."""
    sql = read_sql("setup/schemas.sql") + "\n" + read_sql("setup/macros.sql")
    return sql, hashlib.sha256(sql.encode()).hexdigest()


def apply_setup(con: duckdb.DuckDBPyConnection) -> bool:
    """Create the schemas, bookkeeping tables and macros unless the file records this code's digest
    of them (meta.setup_applied); True if they were applied. Applying them in every session cost
    ~35 ms of each of a run's ~36 sessions: CREATE OR REPLACE MACRO rewrites the catalog, which the
    close then checkpoints. Every statement is idempotent, and the digest is recorded last: a
    session that stopped half-way leaves the next one to apply them again."""
    sql, digest = setup_sql()
    try:
        if con.execute("SELECT digest FROM meta.setup_applied").fetchall() == [(digest,)]:
            return False
    except duckdb.CatalogException:  # a new file, or one from before the digest was recorded
        pass
    con.execute(sql)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM meta.setup_applied")
    con.execute("INSERT INTO meta.setup_applied (digest) VALUES (?)", [digest])
    con.execute("COMMIT")
    return True


class MissingPseudonymKey(SettingError):
    pass


@contextlib.contextmanager
def lock_file(path: Path) -> Iterator[int]:
    """An open descriptor of a lock file beside the warehouse (created readable by its owner only)
    for flock; on leaving, a lock taken through it is released and it is closed (if the process dies,
    the kernel does both). A run (pipelines/runner.py run_lock) and a warehouse session
    (Warehouse.writer_turn) each lock one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield fd
    finally:
        # Unlocked before closing: closing alone leaves it held while a forked child keeps the descriptor.
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file the pipeline owns (one writer: analysts never open it)."""

    path: str
    memory_limit: str = ENV_DEFAULTS["EXAM_RISK_MEMORY_LIMIT"]

    @property
    def lock_path(self) -> Path:
        """Beside the warehouse: a run holds an OS lock on it (pipelines/runner.py)."""
        return Path(self.path).with_name(Path(self.path).name + ".lock")

    @property
    def writer_lock_path(self) -> Path:
        """Beside the warehouse: a session holds an OS lock on it (writer_turn)."""
        return Path(self.path).with_name(Path(self.path).name + ".writer")

    @contextlib.contextmanager
    def _owner_only(self) -> Iterator[None]:
        """Creating or opening the file: it holds raw importer numbers, so it is readable by its owner
        only (a file made before this rule is tightened)."""
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
        old = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(old)

    @contextlib.contextmanager
    def writer_turn(self) -> Iterator[None]:
        """Waits for, then holds, an OS lock (flock) that admits one warehouse session at a time.
        The pool duckdb_warehouse should already do so, but with the SQLite instance storage two
        runs can claim its one slot at once (Dagster reads a free slot, then updates it, without a
        row lock), and the second step then failed on DuckDB's "Could not set lock on file". The
        kernel releases the lock when the process ends, so a killed step never leaves it held."""
        with lock_file(self.writer_lock_path) as fd:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                dg.get_dagster_logger().info(f"waiting for the warehouse: another process has a session open on {self.path}")
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield

    @contextlib.contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schemas, bookkeeping tables and macros in place
        (apply_setup), once no other process has one (writer_turn). The file is attached to this
        process's DuckDB instance (process_instance) and detached again at the end, which releases
        it for other processes as closing a connection of its own did. A Python function registered on
        it outlives it in the instance: remove it before the session ends (publish.redaction)."""
        with self.writer_turn():
            con = process_instance(self.path, self.memory_limit).cursor()
            try:
                with self._owner_only():
                    con.execute(f"ATTACH ? AS {SESSION_DATABASE}", [self.path])
                con.execute(f"USE {SESSION_DATABASE}")
                con.execute("SET TimeZone = 'UTC'")
                apply_setup(con)
                yield con
            finally:
                _detach(con)


# The name a session's connection knows the warehouse file by (its default database).
SESSION_DATABASE = "warehouse"
# This process's DuckDB instance, which sessions attach the warehouse file to, and what it was made
# for. Starting an instance registers DuckDB's built-in functions and closing it frees them again:
# 20-24 ms on this machine (perf: CatalogEntryMap, malloc and free), paid by each of a run's ~36
# sessions while every session opened the file in an instance of its own. Attaching the file to a
# live instance and detaching it costs about 4 ms (docs/scaling-history.md, twenty-third round).
_instance: tuple[tuple, duckdb.DuckDBPyConnection] | None = None
# Instances a forked child inherited: never closed there (their threads live in the parent only).
_inherited: list[duckdb.DuckDBPyConnection] = []


def process_instance(path: str, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """This process's in-memory DuckDB instance for the warehouse at path, with the settings a
    connection to the file itself would have had: the memory ceiling, and spilling into the folder
    beside the file. Made again for another warehouse or memory ceiling, or in a forked child."""
    global _instance
    key = (os.getpid(), path, memory_limit)
    if _instance is not None and _instance[0] == key:
        return _instance[1]
    close_process_instance()
    _instance = (key, duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": path + ".tmp"}))
    return _instance[1]


def close_process_instance() -> None:
    """Close this process's instance (the next session makes another); one a forked child inherited is only forgotten."""
    global _instance
    if _instance is not None:
        (pid, _, _), con = _instance
        _instance = None
        if pid == os.getpid():
            con.close()
        else:
            _inherited.append(con)


def _detach(con: duckdb.DuckDBPyConnection) -> None:
    """End a session as closing the file's own connection did: a transaction left open is rolled
    back, and detaching closes the file, which checkpoints its write-ahead log and releases it. If
    the instance cannot (DuckDB invalidates an instance after a fatal error), closing the instance
    releases the file."""
    try:
        with contextlib.suppress(duckdb.TransactionException):  # no transaction open
            con.execute("ROLLBACK")
        con.execute("USE memory")
        con.execute(f"DETACH DATABASE IF EXISTS {SESSION_DATABASE}")
        con.close()
    except duckdb.Error:
        close_process_instance()


class PipelineSettings(dg.ConfigurableResource):
    """Where files come from and go to, and the quality gate's policy."""

    landing: str
    analytics: str
    reports: str
    max_reject_share: float = 0.05
    accept: list[str] = []
    pseudonym_key: str = ""
    pseudonym_key_file: str = ""
    max_file_bytes: int = 1 << 30
    drawing_workers: int = 0

    def landing_folder(self, source: str) -> Path:
        return Path(self.landing) / source

    def key_bytes(self) -> bytes:
        """The secret under which importer numbers become HMAC-SHA256 pseudonyms."""
        # An EnvVar until Dagster resolves the resource for a run (the UI shows only its name).
        key = self.pseudonym_key.get_value() if isinstance(self.pseudonym_key, dg.EnvVar) else self.pseudonym_key
        if key:
            return key.encode()
        if self.pseudonym_key_file:
            return read_key_file(self.pseudonym_key_file)
        raise MissingPseudonymKey(
            "no pseudonym key: set EXAM_RISK_PSEUDONYM_KEY, or EXAM_RISK_PSEUDONYM_KEY_FILE to a file "
            "holding the key (make demo creates data/pseudonym.key)")


def resources_from_env(**flags) -> dict:
    """Resources as the environment configures them; command-line flags (checked) win. Raises
    SettingError for a variable that cannot be used."""
    values = configuration(**flags)
    warehouse = Warehouse(path=values.pop("warehouse"), memory_limit=values.pop("memory_limit"))
    for s in SETTINGS:  # secrets by name: read when a run starts, never part of the resource's shown config
        if s.secret and values[s.field]:
            values[s.field] = dg.EnvVar(s.env)
    return {"warehouse": warehouse, "settings": PipelineSettings(**values)}


def reference_file(name: str):
    return resources.files("assets.reference") / name
