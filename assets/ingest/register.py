"""The landing file register (meta.files): which deliveries are new, duplicate or failed."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import duckdb
import polars as pl

from assets.ahead import ahead
from assets.ingest.bwt import LANE_COLUMNS, MAX_SNAPSHOT_BYTES, PORT_COLUMNS, BadSnapshot, columns_frame, parse_snapshot
from assets.ingest.files import (ROW_ID_STRIDE, SOURCE_COLUMNS, SOURCE_SUFFIXES, CsvShape, LandingFile, LoadFailed,
                                 content_hash, file_name, file_shape, landing_files, outside, read_error, stage_file)
from assets.resources import read_sql


SNAPSHOT_BATCH = 500  # Border Wait Times files per load transaction
HASHING_THREADS = min(4, os.cpu_count() or 1)  # landing files hashed at once (_scan)
# Each file commits on its own, and DuckDB checkpoints the whole database whenever its write-ahead
# log passes 16 MiB, which a file of under a row group (122,880 rows) fills with the rows themselves:
# at 10 M entries the 13 exam files (about 85,000 rows each) paid five or six checkpoints. Ingest lets
# the log grow to this, so the session's close makes the one checkpoint (exams into an empty
# warehouse 3.4 -> 2.9 s; docs/scaling-history.md, issue 15's sixteenth round). Committed files stay
# durable: a process killed before the close leaves them in the log, which the next open replays.
INGEST_CHECKPOINT_THRESHOLD = "1GB"


def _known(con, source: str) -> dict[tuple[str, str], str]:
    rows = con.execute("SELECT content_hash, file_name, status FROM meta.files WHERE source = ?", [source]).fetchall()
    return {(h, n): s for h, n, s in rows}


def _scan(con, source: str, folder: Path, landing: Path) -> list[LandingFile]:
    """The landing files with their content hashes, in name order. A file whose name, size,
    modification time (ns), change time (ns) and inode all match a known delivery keeps that
    delivery's hash (a feed poller's folder holds tens of thousands); any other difference, even new
    content copied with `cp -p` or `touch -r` (same size and mtime, new ctime or inode), re-hashes it.
    A link that leads out of the landing zone is not read at all."""
    seen = {tuple(stamp): h for *stamp, h in con.execute(
        "SELECT file_name, file_size, file_mtime_ns, file_ctime_ns, file_inode, content_hash FROM meta.files "
        "WHERE source = ?", [source]).fetchall()}
    # Several files hashed at once: hashlib and file reads release the GIL, so each thread has a
    # core (the 14 entries files at 10 M entries: 0.90 s on one core, 0.48 s on two).
    with ThreadPoolExecutor(HASHING_THREADS) as pool:
        return list(pool.map(lambda path: _landing_file(path, seen, landing),
                             landing_files(folder, SOURCE_SUFFIXES[source])))


def _landing_file(path: Path, seen: dict[tuple, str], landing: Path) -> LandingFile:
    if path.is_symlink() and outside(path, landing):
        target = os.fsencode(os.readlink(path)).decode("utf-8", errors="backslashreplace")
        return LandingFile(path, "link:" + hashlib.sha256(target.encode()).hexdigest(), 0, 0, 0, 0,
                           refused="a link to something outside the landing zone: not read")
    try:
        stat = path.stat()
        stamp = (file_name(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        known = seen.get(stamp)
        return LandingFile(path, known or content_hash(path), stat.st_size, stat.st_mtime_ns,
                           stat.st_ctime_ns, stat.st_ino, known is not None)
    except OSError as exc:  # unreadable (permissions) or gone: recorded, and read again once its stamp changes
        mark = hashlib.sha256(repr(("unreadable", file_name(path), exc.errno)).encode()).hexdigest()
        return LandingFile(path, "unreadable:" + mark, 0, 0, 0, 0,
                           refused=f"cannot be read: {exc.strerror or type(exc).__name__}")


def _record(con, source: str, f: LandingFile, status: str, message: str | None, rows_read: int = 0) -> int:
    return con.execute(
        "INSERT INTO meta.files (file_id, source, file_name, content_hash, status, message, rows_read, file_size, "
        "file_mtime_ns, file_ctime_ns, file_inode) VALUES (nextval('meta.file_id_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING file_id",
        [source, f.name, f.content_hash, status, message, rows_read, f.size, f.mtime_ns, f.ctime_ns, f.inode]).fetchone()[0]


def _load(con, source: str, f: LandingFile, cap: int, shape: CsvShape | None) -> int:
    """Stage the file, then move its rows into raw and its broken lines into the quarantine,
    all in one transaction with its register row (status 'ingested': awaiting the quality gate)."""
    rows_read = stage_file(con, source, f.path, cap, shape)
    cols = ", ".join(SOURCE_COLUMNS[source])
    con.execute("BEGIN TRANSACTION")
    try:
        file_id = _record(con, source, f, "ingested", None, rows_read)
        con.execute(f"INSERT INTO raw.{source} (_file_id, _row, _rid, {cols}) "
                    f"SELECT {file_id}, _row, {file_id} * {ROW_ID_STRIDE} + _row, {cols} FROM _load")
        con.execute("INSERT INTO quality.rejected_rows (_file_id, _rid, line, reason_code, record) "
                    f"SELECT {file_id}, NULL, line, 'malformed_line', record FROM _broken")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rows_read


def _shape_or_failure(source: str, cap: int, f: LandingFile) -> CsvShape | None | Exception:
    try:
        return file_shape(source, f.path, cap)
    except Exception as exc:  # noqa: BLE001 (raised again by the loading loop, in this file's turn)
        return exc


def _load_snapshots(con, files: list[LandingFile], counts: dict, cap: int) -> None:
    """Parse a batch of Border Wait Times snapshots and load them in one transaction: a poller's
    thousands of small files cost one round trip per batch, not per file."""
    loaded_at = datetime.now(timezone.utc)
    parsed = []
    for f in files:
        try:
            if f.size > min(cap, MAX_SNAPSHOT_BYTES):  # not read at all: parsed whole in memory
                raise BadSnapshot(f"larger than {min(cap, MAX_SNAPSHOT_BYTES):,} bytes")
            parsed.append((f, *parse_snapshot(f.name, f.path.read_bytes())))
        except (BadSnapshot, OSError) as exc:
            _record(con, "bwt", f, "failed", f"cannot be read: {exc}")
            counts["failed"] += 1
    if not parsed:
        return
    ids = [r[0] for r in con.execute("SELECT nextval('meta.file_id_seq') FROM range(?)", [len(parsed)]).fetchall()]
    # `register`, `ports` and `lanes` look unused: DuckDB reads these frames by name in the SQL below.
    register = pl.DataFrame({"file_id": ids, "file_name": [p[0].name for p in parsed],  # noqa: F841
                             "content_hash": [p[0].content_hash for p in parsed],
                             "rows_read": [len(p[1]) for p in parsed], "file_size": [p[0].size for p in parsed],
                             "file_mtime_ns": [p[0].mtime_ns for p in parsed],
                             "file_ctime_ns": [p[0].ctime_ns for p in parsed], "file_inode": [p[0].inode for p in parsed]})
    port_rows, lane_columns, port_ids, lane_ids, times = [], [[] for _ in LANE_COLUMNS], [], [], []
    for file_id, (_, ports, lanes, at) in zip(ids, parsed):
        port_rows += ports
        for column, values in zip(lane_columns, lanes):
            column += values
        port_ids += [file_id] * len(ports)
        lane_ids += [file_id] * len(lanes[0])
        times += [at] * len(ports)
    # Ports are few (85 a snapshot): transposing them is cheap; lanes arrive as columns already.
    port_columns = [list(c) for c in zip(*port_rows)]
    ports = columns_frame(port_columns, PORT_COLUMNS, {"_file_id": pl.Series(port_ids, dtype=pl.Int64),
                                                       "_snapshot_at": pl.Series(times, dtype=pl.Datetime("us", "UTC"))})
    lanes = columns_frame(lane_columns, LANE_COLUMNS, {"_file_id": pl.Series(lane_ids, dtype=pl.Int64)})
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("INSERT INTO meta.files (file_id, source, file_name, content_hash, status, rows_read, file_size, "
                    "file_mtime_ns, file_ctime_ns, file_inode) SELECT file_id, 'bwt', file_name, content_hash, 'ingested', "
                    "rows_read, file_size, file_mtime_ns, file_ctime_ns, file_inode FROM register")
        con.execute(read_sql("ingest/insert_raw_bwt.sql"), {"loaded_at": loaded_at, "stride": ROW_ID_STRIDE})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    counts["new_files"] += len(parsed)
    counts["rows_read"] += sum(len(p[1]) for p in parsed)


def ingest_source(con: duckdb.DuckDBPyConnection, source: str, folder: Path, cap: int = 1 << 30,
                  landing: Path | None = None) -> dict:
    """Register every landing file of one source once, in name order; load the new ones. `cap`:
    the most bytes a file may expand to; `landing`: the landing zone links must stay in."""
    con.execute(f"SET checkpoint_threshold = '{INGEST_CHECKPOINT_THRESHOLD}'")
    try:
        return _register_and_load(con, source, folder, cap, landing)
    finally:
        con.execute("RESET checkpoint_threshold")


def _register_and_load(con: duckdb.DuckDBPyConnection, source: str, folder: Path, cap: int, landing: Path | None) -> dict:
    files = _scan(con, source, folder, landing or folder.parent)
    known = _known(con, source)
    known_hashes = {h: n for (h, n) in known}
    counts = {"new_files": 0, "duplicates": 0, "failed": 0, "rows_read": 0}
    new, restamped = [], []
    for f in files:
        if (f.content_hash, f.name) in known:
            if not f.stamp_known:
                restamped.append((f.size, f.mtime_ns, f.ctime_ns, f.inode, source, f.content_hash, f.name))
            continue
        if f.refused:
            _record(con, source, f, "failed", f.refused)
            counts["failed"] += 1
            continue
        if f.content_hash in known_hashes:
            _record(con, source, f, "duplicate", f"same content as {known_hashes[f.content_hash]}")
            counts["duplicates"] += 1
            continue
        known_hashes[f.content_hash] = f.name
        new.append(f)
    if restamped:  # touched but unchanged files: remember their new stamp so the next scan skips hashing them
        con.executemany("UPDATE meta.files SET file_size = ?, file_mtime_ns = ?, file_ctime_ns = ?, file_inode = ? "
                        "WHERE source = ? AND content_hash = ? AND file_name = ?", restamped)
    if source == "bwt":
        for start in range(0, len(new), SNAPSHOT_BATCH):
            _load_snapshots(con, new[start:start + SNAPSHOT_BATCH], counts, cap)
    tabular = new if source != "bwt" else []
    # Each file's header and line count (pure Python, one core) are read on a second thread while
    # DuckDB loads the file before it, which leaves a core idle part of the time: at 10 M entries
    # the lines took 2.0 s of the entries' 17.7 s (docs/scaling-history.md, issue 15's seventeenth
    # round).
    for f, shape in zip(tabular, ahead(tabular, lambda f: f, partial(_shape_or_failure, source, cap))):
        try:
            if isinstance(shape, Exception):
                raise shape  # here, where every file's failure is handled
            counts["rows_read"] += _load(con, source, f, cap, shape)
            counts["new_files"] += 1
        except LoadFailed as exc:
            _record(con, source, f, "failed", str(exc))
            counts["failed"] += 1
        except (OSError, ValueError) as exc:  # the file changed or vanished while read, or a parser's own error
            _record(con, source, f, "failed", f"cannot be read: {type(exc).__name__}: {read_error(exc, f.path)[:500]}")
            counts["failed"] += 1
    present = [(f.content_hash, f.name) for f in files]
    con.execute("CREATE OR REPLACE TEMP TABLE _present (content_hash VARCHAR, file_name VARCHAR)")
    if present:
        con.executemany("INSERT INTO _present VALUES (?, ?)", present)
    con.execute("UPDATE meta.files AS f SET in_landing = EXISTS (SELECT 1 FROM _present AS p "
                "WHERE p.content_hash = f.content_hash AND p.file_name = f.file_name) WHERE f.source = ?", [source])
    return counts
