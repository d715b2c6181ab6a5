"""Reading landing files into raw tables: CSV, CSV.gz and Parquet, every value as text.

A file is identified by its content hash. Loading one file is one transaction, so a crash leaves
either the whole file or nothing, and a re-run simply loads it again.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.ingest.bwt import BWT_SUFFIXES

# Contract columns per source; extra columns in a file are ignored.
SOURCE_COLUMNS = {
    "entries": ["entry_number", "entry_type", "importer_number", "port_code", "mode_of_transport", "lane_type",
                "carrier_code", "country_of_origin", "hts_number", "entered_value_usd", "arrival_at", "release_at"],
    "exams": ["exam_id", "entry_number", "exam_type", "exam_location", "selected_at", "started_at",
              "completed_at", "outcome"],
    "ctpat": ["partner_id", "partner_type", "status", "tier", "valid_from", "valid_to"],
}
TABULAR_SUFFIXES = (".csv", ".csv.gz", ".parquet")
SOURCE_SUFFIXES = {"entries": TABULAR_SUFFIXES, "exams": TABULAR_SUFFIXES, "ctpat": TABULAR_SUFFIXES,
                   "bwt": BWT_SUFFIXES}
ROW_ID_STRIDE = 10_000_000_000  # _rid = file_id * stride + row: unique across files, ordered within one


class LoadFailed(Exception):
    """The file cannot be loaded at all (unreadable, or a required column is missing)."""


@dataclass(frozen=True)
class LandingFile:
    path: Path
    content_hash: str
    size: int
    mtime_ns: int
    stamp_known: bool = False  # name, size and modification time matched a known delivery: not hashed again

    @property
    def name(self) -> str:
        return self.path.name


def landing_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files ready to load, in name order; hidden files and half-written `.part` files wait."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.name.endswith(suffixes))


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            first = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise LoadFailed(f"cannot read {path.name}: {exc}") from exc
    if not first.strip():
        raise LoadFailed(f"{path.name} is empty: no header row")
    return next(csv.reader(io.StringIO(first)))


def _require(columns: list[str], present: list[str], name: str) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise LoadFailed(f"{name} lacks required column(s): {', '.join(missing)}")


def _text_expr(column: str, duck_type: str) -> str:
    """Parquet value as the text a CSV would carry: instants in UTC with Z, naive timestamps
    without an offset (so the quality gate rejects them as ambiguous)."""
    q = f'"{column}"'
    if duck_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"strftime({q}, '%Y-%m-%dT%H:%M:%S.%fZ')"
    if duck_type.startswith("TIMESTAMP"):
        return f"strftime({q}, '%Y-%m-%dT%H:%M:%S.%f')"
    return f"CAST({q} AS VARCHAR)"


def stage_file(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> int:
    """Read one CSV or Parquet file into TEMP tables `_load` (good rows with `_row`) and `_broken`
    (malformed lines with their text); return rows read. Raises LoadFailed."""
    columns = SOURCE_COLUMNS[source]
    con.execute("DROP TABLE IF EXISTS _load; DROP TABLE IF EXISTS _broken")
    try:
        if path.name.endswith(".parquet"):
            described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
            types = {name: typ for name, typ, *_ in described}
            _require(columns, list(types), path.name)
            select = ", ".join(f"{_text_expr(c, types[c])} AS {c}" for c in columns)
            con.execute(f"CREATE TEMP TABLE _load AS SELECT file_row_number + 1 AS _row, {select} "
                        f"FROM read_parquet(?, file_row_number = true)", [str(path)])
            con.execute("CREATE TEMP TABLE _broken (line BIGINT, record VARCHAR)")
        else:
            header = _csv_header(path)
            _require(columns, header, path.name)
            spec = "{" + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in header) + "}"
            con.execute(
                f"CREATE TEMP TABLE _read AS SELECT {', '.join(columns)} FROM read_csv(?, columns = {spec}, "
                "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
                "ignore_errors = true, store_rejects = true, rejects_table = '_rejects', "
                "rejects_scan = '_reject_scans')", [str(path)])
            # rowid follows insertion order, which preserves the file's row order.
            con.execute("CREATE TEMP TABLE _load AS SELECT rowid + 1 AS _row, * FROM _read; DROP TABLE _read")
            con.execute("CREATE TEMP TABLE _broken AS SELECT line, any_value(csv_line) AS record "
                        "FROM _rejects GROUP BY line")
            con.execute("DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _reject_scans")
    except duckdb.Error as exc:
        raise LoadFailed(f"cannot read {path.name}: {str(exc).splitlines()[0]}") from exc
    good, broken = con.execute("SELECT (SELECT count(*) FROM _load), (SELECT count(*) FROM _broken)").fetchone()
    return good + broken
