"""Publishing the analyst file: build every mart into a new DuckDB file beside it; the charts and
reports are drawn from that file, and the `publication` asset (assets/reports/assets.py) renames it
into place together with them.

A reader that opens the analytics file read-only sees either the previous marts or the new ones,
never a mix; a reader already connected keeps the old file (its inode) until it reconnects.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from duckdb.sqltypes import VARCHAR

from assets.marts.pseudonyms import pseudonym_macro_sql, redact
from assets.readers import reading
from assets.resources import REPO_ROOT, code_digest, read_sql
from assets.specs import comment_statements, mart_names
from assets.models import MONTH_MARTS

# Month-grain marts are copied from the warehouse's month_marts (rebuilt per month partition);
# the others are small and built here from their SQL (sql/marts/_models.yml says which is which).
BUILT_HERE = mart_names(partitioned=False)
MARTS = [*MONTH_MARTS, *BUILT_HERE]


def mart_query(name: str) -> str:
    if name == "importer_exam_rates":
        return read_sql("marts/publish_importer_exam_rates.sql") + " ORDER BY ALL"
    if name in MONTH_MARTS:
        return f"SELECT * FROM month_marts.{name} ORDER BY ALL"
    return read_sql(f"marts/{name}.sql")


def code_version() -> str:
    """Git commit (with +dirty) when available, and a fingerprint of the code and rules either way."""
    digest = code_digest(("sql", "expectations", "assets", "pipelines"))
    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty=+dirty"],
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{commit or 'unknown'} code:{digest[:12]}"


def building_file(target: Path, run_id: str) -> Path:
    """Where a run builds the analyst file before publishing it (same folder: the rename is atomic)."""
    return target.with_name(f".{target.name}.{run_id}.building")


def leftover_builds(target: Path, running: Callable[[str], bool]) -> list[Path]:
    """Analyst files (and their WAL) built by runs that are no longer running: a crashed publication's."""
    prefix = f".{target.name}."
    found = []
    for path in target.parent.glob(f"{prefix}*.building*"):
        run_id = path.name[len(prefix):].split(".building")[0]
        if not running(run_id):
            found.append(path)
    return found


def build_marts(con: duckdb.DuckDBPyConnection, target: Path, key: bytes, run_id: str,
                running: Callable[[str], bool] = lambda other: False) -> dict[str, tuple[int, list]]:
    """Build all marts from the warehouse connection into building_file(target, run_id), which
    nothing reads but this run's charts and reports until `publish_building` renames it. Returns
    each mart's row count and columns (name, type). `running(run_id)`: whether another run is still going (its file is kept)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in leftover_builds(target, running):
        leftover.unlink(missing_ok=True)
    building = building_file(target, run_id)
    for mine in target.parent.glob(building.name + "*"):  # this run's own earlier attempt (a retried step)
        mine.unlink()
    months = rebuilds(con)
    con.execute(pseudonym_macro_sql(key))
    with redaction(con, key):
        counts = _build(con, building, target, run_id, months, key)
    with duckdb.connect(str(building)) as doc:
        document(doc)
    return counts


def _build(con: duckdb.DuckDBPyConnection, building: Path, target: Path, run_id: str, months: dict[str, str | None],
           key: bytes) -> dict[str, tuple[int, list]]:
    """The marts and the publication history, written into the building file attached as `build`."""
    con.execute("ATTACH ? AS build", [str(building)])
    try:
        con.execute("CREATE SCHEMA build.marts")
        for name in MARTS:
            con.execute(f"CREATE TABLE build.marts.{name} AS {mart_query(name)}")
        _published_runs(con, target, run_id, months, key)
        counts = {name: (con.execute(f"SELECT count(*) FROM build.marts.{name}").fetchone()[0],
                         [(c, t) for c, t, *_ in con.execute(f"DESCRIBE build.marts.{name}").fetchall()]) for name in MARTS}
        con.execute("CHECKPOINT build")
    finally:
        con.execute("DETACH build")
    return counts


def rebuilds(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """The months rebuilt and not yet published, each with its rebuild (rebuilt_at in microseconds
    since the epoch, as text: the same whatever the session's time zone; None if made before the column)."""
    return dict(con.execute("SELECT month, CAST(epoch_us(rebuilt_at) AS VARCHAR) FROM meta.unpublished_months "
                            "ORDER BY month").fetchall())


def document(doc: duckdb.DuckDBPyConnection) -> None:
    """COMMENT ON every table and column of the analyst file, from the marts' specs (a column
    without a meaning fails the publication: tests/test_specs.py keeps that from happening)."""
    columns = doc.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                          "ORDER BY table_name, column_index").fetchall()
    doc.execute(";\n".join(comment_statements(columns)))


def publish_building(con: duckdb.DuckDBPyConnection, target: Path, run_id: str) -> bool:
    """Rename this run's built analyst file into place and forget the month rebuilds it published
    (marts.published_runs.month_rebuilds). A month rebuilt again since the build stays waiting for
    the next publication: its scorecard rows are recomputed and its reports redrawn. Concurrent runs
    (a backfill's) may publish out of order: a build older than the one in place is dropped instead
    (the newer one was built from a warehouse that already held everything this one did). Returns
    whether this build was published."""
    building = building_file(target, run_id)
    with reading(building) as doc:
        built_at, rebuilt = doc.execute("SELECT published_at, month_rebuilds FROM marts.published_runs "
                                        "WHERE run_id = ?", [run_id]).fetchone()
    if built_at < _newest_publication(target):
        building.unlink()
        return False
    os.replace(building, target)
    published = json.loads(rebuilt or "{}")
    con.execute("DELETE FROM meta.unpublished_months AS u USING (SELECT unnest(?::VARCHAR[]) AS month, "
                "unnest(?::VARCHAR[]) AS rebuild) AS p WHERE u.month = p.month "
                "AND CAST(epoch_us(u.rebuilt_at) AS VARCHAR) IS NOT DISTINCT FROM p.rebuild",
                [list(published), list(published.values())])
    return True


def _newest_publication(target: Path) -> datetime:
    try:
        with reading(target) as current:
            newest = current.execute("SELECT max(published_at) FROM marts.published_runs").fetchone()[0]
    except duckdb.Error:  # no analyst file yet, or one made before publication history
        newest = None
    return newest or datetime.min.replace(tzinfo=timezone.utc)


@contextlib.contextmanager
def redaction(con: duckdb.DuckDBPyConnection, key: bytes) -> Iterator[None]:
    """redact_text(s) while the block runs: s with every importer number replaced by its pseudonym
    (for file names). A Python function lives in the DuckDB instance, which outlives the session's
    connection (assets/resources.py process_instance), and calling it once the connection that
    registered it is closed crashes the process: it is removed on leaving."""
    con.create_function("redact_text", lambda text: redact(text, key), [VARCHAR], VARCHAR, null_handling="special")
    try:
        yield
    finally:
        con.remove_function("redact_text")


def _published_runs(con, target: Path, run_id: str, months: dict[str, str | None], key: bytes) -> None:
    """Carry the publication history over from the current file and add this run."""
    con.execute("CREATE TABLE build.marts.published_runs (run_id VARCHAR, published_at TIMESTAMPTZ, "
                "input_files JSON, code_version VARCHAR, months_rebuilt JSON, month_rebuilds JSON)")
    if target.exists():
        con.execute("ATTACH ? AS previous (READ_ONLY)", [str(target)])
        try:
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'previous' "
                           "AND schema_name = 'marts' AND table_name = 'published_runs'").fetchone()[0]:
                # Earlier publications' file names too: a version before redaction may have published raw ones.
                con.execute("INSERT INTO build.marts.published_runs BY NAME SELECT * REPLACE "
                            "(CAST(redact_text(CAST(input_files AS VARCHAR)) AS JSON) AS input_files) "
                            "FROM previous.marts.published_runs")
        finally:
            con.execute("DETACH previous")
    inputs = con.execute("SELECT source, file_name, content_hash FROM meta.files WHERE status = 'loaded' "
                         "ORDER BY source, file_name, file_id").fetchall()
    con.execute("INSERT INTO build.marts.published_runs VALUES (?, ?, ?, ?, ?, ?)", [
        run_id, datetime.now(timezone.utc),
        json.dumps([{"source": s, "file_name": redact(n, key), "content_hash": h} for s, n, h in inputs]),
        code_version(), json.dumps(list(months)), json.dumps(months)])
