"""Reading landing files into raw tables: CSV, CSV.gz and Parquet, every value as text.

A file is identified by its content hash. Loading one file is one transaction, so a crash leaves
either the whole file or nothing, and a re-run simply loads it again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.ingest.bwt import BWT_SUFFIXES
from assets.ingest.text import (MAX_LINE_BYTES, RECORD_TEXT_CHARS, Broken, FileRefused, Header, count_record_lines,
                                gzip_ok, read_header, records)

# Contract columns per source; extra columns in a file are ignored.
SOURCE_COLUMNS = {
    "entries": ["entry_number", "entry_type", "importer_number", "port_code", "mode_of_transport", "lane_type",
                "carrier_code", "country_of_origin", "hts_number", "entered_value_usd", "arrival_at", "release_at"],
    "exams": ["exam_id", "entry_number", "exam_type", "exam_location", "selected_at", "started_at",
              "completed_at", "outcome"],
    "ctpat": ["partner_id", "partner_type", "status", "tier", "valid_from", "valid_to"],
    "disruptions": ["event_id", "port_code", "cause", "closed_at", "reopened_at", "source"],
}
TABULAR_SUFFIXES = (".csv", ".csv.gz", ".parquet")
SOURCE_SUFFIXES = {"entries": TABULAR_SUFFIXES, "exams": TABULAR_SUFFIXES, "ctpat": TABULAR_SUFFIXES,
                   "disruptions": TABULAR_SUFFIXES, "bwt": BWT_SUFFIXES}
ROW_ID_STRIDE = 10_000_000_000  # _rid = file_id * stride + row: unique across files, ordered within one


class LoadFailed(Exception):
    """The file cannot be loaded at all (unreadable, or a required column is missing)."""


@dataclass(frozen=True)
class LandingFile:
    path: Path
    content_hash: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    stamp_known: bool = False  # the register saw these exact bytes' stamp before: not hashed again
    refused: str | None = None  # why it cannot be loaded at all (a link leaving the landing zone)

    @property
    def name(self) -> str:
        """The name as delivered, as text: bytes that are not UTF-8 written as \\xNN."""
        return file_name(self.path)


def file_name(path: Path) -> str:
    return os.fsencode(path.name).decode("utf-8", errors="backslashreplace")


def landing_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files ready to load, in name order; hidden files and half-written `.part` files wait, and
    anything that is not a regular file (a FIFO, a socket, a folder) is not a delivery."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.name.endswith(suffixes) and (p.is_symlink() or p.is_file()))


def outside(path: Path, root: Path) -> bool:
    """Whether a link leads out of the landing zone (or nowhere, or to something not a file)."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return True
    return not target.is_file() or not target.is_relative_to(root.resolve())


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _require(columns: list[str], present: list[str]) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise LoadFailed(f"lacks required column(s): {', '.join(missing)}")


def _text_expr(column: str, duck_type: str) -> str:
    """Parquet value as the text a CSV would carry: instants (a timestamp with a zone, in any unit:
    TIMESTAMP WITH TIME ZONE, TIMESTAMPTZ_NS...) in UTC with Z; timestamps without a zone without an
    offset (so the quality gate rejects them as ambiguous)."""
    q = f'"{column}"'
    if "TIME ZONE" in duck_type or duck_type.startswith("TIMESTAMPTZ"):
        return f"strftime(CAST({q} AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%fZ')"
    if duck_type.startswith("TIMESTAMP"):
        return f"strftime(CAST({q} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%f')"
    return f"CAST({q} AS VARCHAR)"


def read_error(exc: BaseException, path: Path) -> str:
    """An error's first line with the file named by its name: DuckDB and the OS give its absolute
    path, and the audit names the file in its own column."""
    return (str(exc).splitlines() or [type(exc).__name__])[0].replace(str(path), path.name)


def stage_file(con: duckdb.DuckDBPyConnection, source: str, path: Path, cap: int, shape: CsvShape | None = None) -> int:
    """Read one CSV, CSV.gz or Parquet file into TEMP view `_load` (good rows with `_row`) and
    table `_broken` (malformed lines with their line number and text); return rows read. Raises
    LoadFailed (the file is recorded as failed, the run goes on). `shape`: the CSV's file_shape, if
    the caller has read it already.

    Whichever reader runs, it leaves the good rows in the table `_read` and `_load` is a view over
    it. DuckDB's CSV reader gives no line numbers, so its view numbers the rows (`_row`); the
    streaming and Parquet readers store them."""
    drop_staged(con)
    if shape is None:
        shape = file_shape(source, path, cap)  # None again for Parquet
    try:
        if shape is None:
            _stage_parquet(con, source, path, cap)
        else:
            _stage_csv(con, source, path, cap, shape)
    except FileRefused as exc:
        raise LoadFailed(str(exc)) from exc
    except duckdb.Error as exc:
        raise LoadFailed(f"cannot be read: {read_error(exc, path)}") from exc
    good, broken = con.execute("SELECT (SELECT count(*) FROM _load), (SELECT count(*) FROM _broken)").fetchone()
    return good + broken


@dataclass(frozen=True)
class CsvShape:
    """What staging learns of a CSV file before DuckDB reads it."""
    header: Header
    records: int  # lines after the header that are not empty (count_record_lines)
    uniform_line_ends: bool


def file_shape(source: str, path: Path, cap: int) -> CsvShape | None:
    """A CSV file's header and record lines, read in one pass that also stops a file past the cap
    (None for Parquet). Raises LoadFailed as stage_file does. It needs no DuckDB connection, so
    ingest reads the next file's on a second thread while DuckDB loads the current one (register.py)."""
    if path.name.endswith(".parquet"):
        return None
    try:
        if path.name.endswith(".gz") and not gzip_ok(path):
            raise FileRefused("named .gz but not gzip")
        header = read_header(path, cap)
        _require(SOURCE_COLUMNS[source], header.columns)
        records, uniform_line_ends = count_record_lines(path, cap)
    except FileRefused as exc:
        raise LoadFailed(str(exc)) from exc
    return CsvShape(header, records, uniform_line_ends)


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what staging a file leaves: the view `_load`, the tables `_read` and `_broken`."""
    con.execute("DROP VIEW IF EXISTS _load; DROP TABLE IF EXISTS _read; DROP TABLE IF EXISTS _broken")


def _stage_parquet(con: duckdb.DuckDBPyConnection, source: str, path: Path, cap: int) -> None:
    columns = SOURCE_COLUMNS[source]
    size = con.execute("SELECT coalesce(sum(total_uncompressed_size), 0) FROM parquet_metadata(?)", [str(path)]).fetchone()[0]
    if size > cap:
        raise FileRefused(f"expands past the limit of {cap:,} bytes (EXAM_RISK_MAX_FILE_BYTES): {size:,} uncompressed")
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    types = {name: typ for name, typ, *_ in described}
    _require(columns, list(types))
    select = ", ".join(f"{_text_expr(c, types[c])} AS {c}" for c in columns)
    con.execute(f"CREATE TEMP TABLE _read AS SELECT file_row_number + 1 AS _row, {select} "
                f"FROM read_parquet(?, file_row_number = true)", [str(path)])
    con.execute("CREATE TEMP VIEW _load AS SELECT * FROM _read")
    con.execute("CREATE TEMP TABLE _broken (line BIGINT, record VARCHAR)")


def _stage_csv(con: duckdb.DuckDBPyConnection, source: str, path: Path, cap: int, shape: CsvShape) -> None:
    """DuckDB's reader when it accounts for every record line of the file; else the streaming
    reader of assets/ingest/text.py, which gives every line a fate."""
    columns = SOURCE_COLUMNS[source]
    if shape.uniform_line_ends and _duckdb_csv(con, path, shape.header, columns) == shape.records:
        return
    drop_staged(con)
    _python_csv(con, path, shape.header, columns, cap)


def _duckdb_csv(con: duckdb.DuckDBPyConnection, path: Path, header: Header, columns: list[str]) -> int | None:
    """Good rows plus rejected lines as DuckDB reads the file (None if it cannot)."""
    spec = "{" + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in _unique(header.columns)) + "}"
    names = _unique(header.columns)
    picked = ", ".join(f'"{names[header.columns.index(c)]}" AS {c}' for c in columns)
    try:
        con.execute(
            f"CREATE TEMP TABLE _read AS SELECT {picked} FROM read_csv(?, columns = {spec}, header = true, "
            f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', max_line_size = {MAX_LINE_BYTES + 2}, "
            "ignore_errors = true, store_rejects = true, rejects_table = '_rejects', rejects_scan = '_reject_scans')",
            [str(path)])
    except duckdb.Error:
        con.execute("DROP TABLE IF EXISTS _read; DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _reject_scans")
        return None
    # rowid follows insertion order, which preserves the file's row order. A view, not a copy: the
    # rows are read once more only by the insert into raw (a copy cost 0.16 s per 790,000 rows).
    con.execute("CREATE TEMP VIEW _load AS SELECT rowid + 1 AS _row, * FROM _read")
    con.execute(f"CREATE TEMP TABLE _broken AS SELECT line, CASE WHEN length(any_value(csv_line)) > {RECORD_TEXT_CHARS} "
                f"THEN left(any_value(csv_line), {RECORD_TEXT_CHARS}) || ' [cut: ' || length(any_value(csv_line)) || "
                "' characters in all]' ELSE any_value(csv_line) END AS record FROM _rejects GROUP BY line")
    con.execute("DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _reject_scans")
    return con.execute("SELECT (SELECT count(*) FROM _load) + (SELECT count(*) FROM _broken)").fetchone()[0]


def _python_csv(con: duckdb.DuckDBPyConnection, path: Path, header: Header, columns: list[str], cap: int) -> None:
    """Every record through the streaming reader, in batches: bounded memory whatever the file."""
    # Imported here: only a file DuckDB's reader cannot read needs pyarrow, and every process that
    # loads the definitions (the CLI, the UI, the daemon) loads this module: 0.3-0.4 s of each.
    import pyarrow as pa

    positions = [header.columns.index(c) for c in columns]
    con.execute(f"CREATE TEMP TABLE _read (_row BIGINT, {', '.join(f'{c} VARCHAR' for c in columns)})")
    con.execute("CREATE TEMP VIEW _load AS SELECT * FROM _read")
    con.execute("CREATE TEMP TABLE _broken (line BIGINT, record VARCHAR)")
    rows: list[list] = []
    broken: list[tuple[int, str]] = []
    n_records = 0

    def flush():
        if rows:
            batch = pa.table({"_row": pa.array([r[0] for r in rows], pa.int64()),
                              **{c: pa.array([r[i + 1] for r in rows], pa.string()) for i, c in enumerate(columns)}})
            con.register("_batch", batch)
            con.execute("INSERT INTO _read SELECT * FROM _batch")
            con.unregister("_batch")
            rows.clear()
        if broken:
            con.executemany("INSERT INTO _broken VALUES (?, ?)", broken)
            broken.clear()

    for item in records(path, cap, len(header.columns)):
        n_records += 1
        if isinstance(item, Broken):
            broken.append((item.line, item.text))
        else:
            rows.append([n_records] + [item[1][i] or None for i in positions])  # an empty field is NULL, as DuckDB reads it
        if len(rows) >= 100_000 or len(broken) >= 10_000:
            flush()
    flush()


def _unique(names: list[str]) -> list[str]:
    """Header names made unique for DuckDB (a repeated extra column would clash); required names keep theirs."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}__{seen[name]}")
    return out
