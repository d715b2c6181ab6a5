"""The landing file register (meta.files): which deliveries are new, duplicate or failed."""

from __future__ import annotations

from pathlib import Path

from datetime import datetime, timezone

import duckdb
import polars as pl

from assets.ingest.bwt import LANE_COLUMNS, PORT_COLUMNS, BadSnapshot, columns_frame, parse_snapshot
from assets.resources import read_sql

from assets.ingest.files import (ROW_ID_STRIDE, SOURCE_COLUMNS, SOURCE_SUFFIXES, LandingFile, LoadFailed, content_hash,
                                 landing_files, stage_file)


SNAPSHOT_BATCH = 500  # Border Wait Times files per load transaction


def _known(con, source: str) -> dict[tuple[str, str], str]:
    rows = con.execute("SELECT content_hash, file_name, status FROM meta.files WHERE source = ?", [source]).fetchall()
    return {(h, n): s for h, n, s in rows}


def _scan(con, source: str, folder: Path) -> list[LandingFile]:
    """The landing files with their content hashes; a file whose name, size and modification time
    match a known delivery keeps that delivery's hash (a feed poller's folder holds tens of thousands)."""
    seen = {(n, size, mtime): h for n, size, mtime, h in con.execute(
        "SELECT file_name, file_size, file_mtime_ns, content_hash FROM meta.files WHERE source = ?", [source]).fetchall()}
    files = []
    for path in landing_files(folder, SOURCE_SUFFIXES[source]):
        stat = path.stat()
        known = seen.get((path.name, stat.st_size, stat.st_mtime_ns))
        files.append(LandingFile(path, known or content_hash(path), stat.st_size, stat.st_mtime_ns, known is not None))
    return files


def _record(con, source: str, f: LandingFile, status: str, message: str | None, rows_read: int = 0) -> int:
    return con.execute(
        "INSERT INTO meta.files (file_id, source, file_name, content_hash, status, message, rows_read, file_size, "
        "file_mtime_ns) VALUES (nextval('meta.file_id_seq'), ?, ?, ?, ?, ?, ?, ?, ?) RETURNING file_id",
        [source, f.name, f.content_hash, status, message, rows_read, f.size, f.mtime_ns]).fetchone()[0]


def _load(con, source: str, f: LandingFile) -> int:
    """Stage the file, then move its rows into raw and its broken lines into the quarantine,
    all in one transaction with its register row (status 'ingested': awaiting the quality gate)."""
    rows_read = stage_file(con, source, f.path)
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


def _load_snapshots(con, files: list[LandingFile], counts: dict) -> None:
    """Parse a batch of Border Wait Times snapshots and load them in one transaction: a poller's
    thousands of small files cost one round trip per batch, not per file."""
    loaded_at = datetime.now(timezone.utc)
    parsed = []
    for f in files:
        try:
            parsed.append((f, *parse_snapshot(f.name, f.path.read_bytes())))
        except (BadSnapshot, OSError) as exc:
            _record(con, "bwt", f, "failed", f"cannot read {f.name}: {exc}")
            counts["failed"] += 1
    if not parsed:
        return
    ids = [r[0] for r in con.execute("SELECT nextval('meta.file_id_seq') FROM range(?)", [len(parsed)]).fetchall()]
    # `register`, `ports` and `lanes` look unused: DuckDB reads these frames by name in the SQL below.
    register = pl.DataFrame({"file_id": ids, "file_name": [p[0].name for p in parsed],  # noqa: F841
                             "content_hash": [p[0].content_hash for p in parsed],
                             "rows_read": [len(p[1]) for p in parsed], "file_size": [p[0].size for p in parsed],
                             "file_mtime_ns": [p[0].mtime_ns for p in parsed]})
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
                    "file_mtime_ns) SELECT file_id, 'bwt', file_name, content_hash, 'ingested', rows_read, file_size, "
                    "file_mtime_ns FROM register")
        con.execute(read_sql("setup/insert_raw_bwt.sql"), {"loaded_at": loaded_at, "stride": ROW_ID_STRIDE})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    counts["new_files"] += len(parsed)
    counts["rows_read"] += sum(len(p[1]) for p in parsed)


def ingest_source(con: duckdb.DuckDBPyConnection, source: str, folder: Path) -> dict:
    """Register every landing file of one source once, in name order; load the new ones."""
    files = _scan(con, source, folder)
    known = _known(con, source)
    known_hashes = {h: n for (h, n) in known}
    counts = {"new_files": 0, "duplicates": 0, "failed": 0, "rows_read": 0}
    new, restamped = [], []
    for f in files:
        if (f.content_hash, f.name) in known:
            if not f.stamp_known:
                restamped.append((f.size, f.mtime_ns, source, f.content_hash, f.name))
            continue
        if f.content_hash in known_hashes:
            _record(con, source, f, "duplicate", f"same content as {known_hashes[f.content_hash]}")
            counts["duplicates"] += 1
            continue
        known_hashes[f.content_hash] = f.name
        new.append(f)
    if restamped:  # touched but unchanged files: remember their new stamp so the next scan skips hashing them
        con.executemany("UPDATE meta.files SET file_size = ?, file_mtime_ns = ? WHERE source = ? AND content_hash = ? "
                        "AND file_name = ?", restamped)
    if source == "bwt":
        for start in range(0, len(new), SNAPSHOT_BATCH):
            _load_snapshots(con, new[start:start + SNAPSHOT_BATCH], counts)
    for f in new if source != "bwt" else []:
        try:
            counts["rows_read"] += _load(con, source, f)
            counts["new_files"] += 1
        except LoadFailed as exc:
            _record(con, source, f, "failed", str(exc))
            counts["failed"] += 1
    present = [(f.content_hash, f.name) for f in files]
    con.execute("CREATE OR REPLACE TEMP TABLE _present (content_hash VARCHAR, file_name VARCHAR)")
    if present:
        con.executemany("INSERT INTO _present VALUES (?, ?)", present)
    con.execute("UPDATE meta.files AS f SET in_landing = EXISTS (SELECT 1 FROM _present AS p "
                "WHERE p.content_hash = f.content_hash AND p.file_name = f.file_name) WHERE f.source = ?", [source])
    return counts
