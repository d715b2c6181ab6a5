"""The landing file register (meta.files): which deliveries are new, duplicate or failed."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.ingest.files import (ROW_ID_STRIDE, SOURCE_COLUMNS, SOURCE_SUFFIXES, LandingFile, LoadFailed, content_hash,
                                 landing_files, stage_file)


def _known(con, source: str) -> dict[tuple[str, str], str]:
    rows = con.execute("SELECT content_hash, file_name, status FROM meta.files WHERE source = ?", [source]).fetchall()
    return {(h, n): s for h, n, s in rows}


def _record(con, source: str, f: LandingFile, status: str, message: str | None, rows_read: int = 0) -> int:
    return con.execute(
        "INSERT INTO meta.files (file_id, source, file_name, content_hash, status, message, rows_read) "
        "VALUES (nextval('meta.file_id_seq'), ?, ?, ?, ?, ?, ?) RETURNING file_id",
        [source, f.name, f.content_hash, status, message, rows_read]).fetchone()[0]


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


def ingest_source(con: duckdb.DuckDBPyConnection, source: str, folder: Path) -> dict:
    """Register every landing file of one source once, in name order; load the new ones."""
    files = [LandingFile(p, content_hash(p)) for p in landing_files(folder, SOURCE_SUFFIXES[source])]
    known = _known(con, source)
    known_hashes = {h: n for (h, n) in known}
    counts = {"new_files": 0, "duplicates": 0, "failed": 0, "rows_read": 0}
    for f in files:
        if (f.content_hash, f.name) in known:
            continue
        if f.content_hash in known_hashes:
            _record(con, source, f, "duplicate", f"same content as {known_hashes[f.content_hash]}")
            counts["duplicates"] += 1
            continue
        try:
            counts["rows_read"] += _load(con, source, f)
            counts["new_files"] += 1
        except LoadFailed as exc:
            _record(con, source, f, "failed", str(exc))
            counts["failed"] += 1
        known_hashes[f.content_hash] = f.name
    present = [(f.content_hash, f.name) for f in files]
    con.execute("CREATE OR REPLACE TEMP TABLE _present (content_hash VARCHAR, file_name VARCHAR)")
    if present:
        con.executemany("INSERT INTO _present VALUES (?, ?)", present)
    con.execute("UPDATE meta.files AS f SET in_landing = EXISTS (SELECT 1 FROM _present AS p "
                "WHERE p.content_hash = f.content_hash AND p.file_name = f.file_name) WHERE f.source = ?", [source])
    return counts
