"""Staging landing files one after another on one connection, as a raw asset does
(assets/ingest/files.py): each file is read by the reader that fits it, and leaves nothing that
changes how the next one is read. And what ingest committed survives a kill before its checkpoint
(assets/ingest/register.py)."""

import subprocess
import sys
import textwrap

import duckdb
import polars as pl

from assets.ingest.files import stage_file
from assets.ingest.register import ingest_source
from assets.resources import REPO_ROOT, Warehouse
from landing_builders import good_entries, write_csv


def _read_by_duckdb_csv(con) -> bool:
    """DuckDB's CSV reader leaves the table it read without line numbers (the view `_load` adds
    them); the streaming and Parquet readers store each row's `_row`."""
    return con.execute("SELECT count(*) FROM duckdb_columns() WHERE database_name = 'temp' AND table_name = '_read' "
                       "AND column_name = '_row'").fetchone()[0] == 0


def test_consecutive_files_each_get_their_reader_and_their_own_rows(tmp_path):
    clean = [write_csv(tmp_path / f"entries_{k}.csv", good_entries(range(10 * k + 1, 10 * k + 11))) for k in range(3)]
    # Mixed CRLF and LF line ends: DuckDB's reader is not used for it (contract: every line still loads).
    mixed = tmp_path / "entries_mixed.csv"
    lines = clean[0].read_bytes().split(b"\n")
    mixed.write_bytes(b"\r\n".join(lines[:4]) + b"\r\n" + b"\n".join(lines[4:]))
    parquet = tmp_path / "entries_p.parquet"
    pl.DataFrame(good_entries(range(41, 51))).write_parquet(parquet)
    # (file, read by DuckDB's CSV reader, its entries' serials): the mixed file holds the first file's rows.
    files = [(clean[0], True, range(1, 11)), (clean[1], True, range(11, 21)), (mixed, False, range(1, 11)),
             (clean[2], True, range(21, 31)), (parquet, False, range(41, 51)), (clean[0], True, range(1, 11))]
    with duckdb.connect() as con:
        for path, duckdb_reads, serials in files:
            assert stage_file(con, "entries", path, 1 << 30) == 10, path.name
            assert _read_by_duckdb_csv(con) == duckdb_reads, path.name
            rows = con.execute("SELECT _row, entry_number FROM _load ORDER BY _row").fetchall()
            assert rows == list(enumerate((r["entry_number"] for r in good_entries(serials)), start=1)), path.name
            assert con.execute("SELECT count(*) FROM _broken").fetchone()[0] == 0


KILLED_AFTER_INGEST = textwrap.dedent('''
    import os, sys
    from pathlib import Path
    from assets.ingest.register import ingest_source
    from assets.resources import Warehouse
    landing = Path(sys.argv[2])
    with Warehouse(path=sys.argv[1]).session() as con:
        ingest_source(con, "entries", landing / "entries", 1 << 30, landing)
        os._exit(0)  # killed before the session's close, which would checkpoint
''')


def test_files_committed_before_a_kill_stay_loaded_and_are_not_loaded_again(tmp_path):
    # Ingest leaves checkpoints to the session's close (INGEST_CHECKPOINT_THRESHOLD), so until then
    # the files it committed live only in DuckDB's write-ahead log. Three files of under a row group
    # each, whose rows fill the log past DuckDB's default 16 MiB: without that setting a checkpoint
    # would have emptied it.
    landing = tmp_path / "landing"
    files = [write_csv(landing / "entries" / f"entries_{k}.csv", good_entries(range(k * 60_000 + 1, (k + 1) * 60_000 + 1)))
             for k in range(3)]
    warehouse = tmp_path / "warehouse.duckdb"
    subprocess.run([sys.executable, "-c", KILLED_AFTER_INGEST, str(warehouse), str(landing)], cwd=REPO_ROOT, check=True)
    log = warehouse.with_name(warehouse.name + ".wal")
    assert log.exists() and log.stat().st_size > 16 * 2**20, "the rows were checkpointed before the kill"
    with Warehouse(path=str(warehouse)).session() as con:  # opening replays the log
        assert _raw_rows_and_files(con) == (180_000, 3)
        assert con.execute("SELECT file_name, status, rows_read FROM meta.files ORDER BY file_name").fetchall() == [
            (f.name, "ingested", 60_000) for f in files]
        again = ingest_source(con, "entries", landing / "entries", 1 << 30, landing)
        assert (again["new_files"], again["rows_read"], _raw_rows_and_files(con)) == (0, 0, (180_000, 3))


def _raw_rows_and_files(con) -> tuple[int, int]:
    return con.execute("SELECT count(*), count(DISTINCT _file_id) FROM raw.entries").fetchone()
