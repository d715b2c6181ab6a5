"""Staging landing files one after another on one connection, as a raw asset does
(assets/ingest/files.py): each file is read by the reader that fits it, and leaves nothing that
changes how the next one is read. And what ingest committed survives a kill before its checkpoint
(assets/ingest/register.py)."""

import hashlib
import subprocess
import sys
import textwrap
import threading

import duckdb
import polars as pl

from assets.ingest import register
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


def test_files_read_ahead_keep_their_order_and_their_own_failures(tmp_path, monkeypatch):
    # Ingest reads each CSV's header and line count on a second thread while DuckDB loads the file
    # before it, and hashes several files at once. Failures found ahead (a missing column, a .gz
    # that is not gzip, a file past the cap) must still be recorded in the file's own turn, and cost
    # no other file its rows.
    folder = tmp_path / "landing" / "entries"
    write_csv(folder / "a.csv", good_entries(range(1, 11)))
    write_csv(folder / "b_no_port.csv", good_entries(range(11, 21)), columns=[c for c in good_entries([1])[0] if c != "port_code"])
    write_csv(folder / "c.csv", good_entries(range(21, 31)))
    (folder / "d.csv.gz").write_bytes(write_csv(tmp_path / "d.csv", good_entries(range(301, 311))).read_bytes())
    write_csv(folder / "e_large.csv", good_entries(range(31, 231)))
    pl.DataFrame(good_entries(range(231, 241))).write_parquet(folder / "f.parquet")
    write_csv(folder / "g.csv", good_entries(range(241, 251)))
    cap = 20_000  # between a 10-row file (about 2 KB) and the 200-row one
    caller, shaped = threading.get_ident(), []

    def file_shape(source, path, cap):
        shaped.append((path.name, threading.get_ident()))
        return original(source, path, cap)

    original = register.file_shape
    monkeypatch.setattr(register, "file_shape", file_shape)
    with Warehouse(path=str(tmp_path / "warehouse.duckdb")).session() as con:
        counts = ingest_source(con, "entries", folder, cap, folder.parent)
        register_rows = con.execute("SELECT file_name, status, message, rows_read, content_hash FROM meta.files "
                                    "ORDER BY file_id").fetchall()
        loaded = con.execute("SELECT f.file_name, count(*) FROM raw.entries JOIN meta.files AS f ON f.file_id = _file_id "
                             "GROUP BY ALL ORDER BY 1").fetchall()
    names = sorted(p.name for p in folder.iterdir())
    assert [r[0] for r in register_rows] == names  # recorded in name order, each in its own turn
    assert [r[4] for r in register_rows] == [hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names]
    outcome = {name: (status, message, rows) for name, status, message, rows, _ in register_rows}
    assert outcome["b_no_port.csv"] == ("failed", "lacks required column(s): port_code", 0)
    assert outcome["d.csv.gz"] == ("failed", "named .gz but not gzip", 0)
    assert outcome["e_large.csv"][:1] == ("failed",) and "expands past the limit of 20,000 bytes" in outcome["e_large.csv"][1]
    assert loaded == [("a.csv", 10), ("c.csv", 10), ("f.parquet", 10), ("g.csv", 10)]
    assert (counts["new_files"], counts["failed"], counts["rows_read"]) == (4, 3, 40)
    assert [name for name, _ in shaped] == names and caller not in {thread for _, thread in shaped}


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
