"""The warehouse session: its layout and macros (sql/setup/) are applied when the file lacks them or
holds an older version of them, and left alone when the file records this code's digest."""

import subprocess
import sys

import duckdb
import pytest

from assets.resources import Warehouse, apply_setup, process_instance, setup_sql

ENTRY_KEY = "SELECT entry_key('NMR-0000001-2')"


def test_a_session_applies_the_setup_only_when_the_file_lacks_this_codes_version(tmp_path):
    warehouse = Warehouse(path=str(tmp_path / "w.duckdb"))
    _, digest = setup_sql()
    with warehouse.session() as con:  # a new file
        assert con.execute("SELECT digest FROM meta.setup_applied").fetchall() == [(digest,)]
        assert con.execute(ENTRY_KEY).fetchone()[0] == "NMR00000012"
        assert apply_setup(con) is False  # up to date: nothing is applied again
        # An older version of the code: another digest, and a macro it did not have.
        con.execute("UPDATE meta.setup_applied SET digest = 'older'")
        con.execute("DROP MACRO entry_key")
    with warehouse.session() as con:
        assert con.execute("SELECT digest FROM meta.setup_applied").fetchall() == [(digest,)]
        assert con.execute(ENTRY_KEY).fetchone()[0] == "NMR00000012"
        # A file from before the digest was recorded.
        con.execute("DROP TABLE meta.setup_applied")
        con.execute("DROP MACRO entry_key")
    with warehouse.session() as con:
        assert con.execute("SELECT digest FROM meta.setup_applied").fetchall() == [(digest,)]
        assert con.execute(ENTRY_KEY).fetchone()[0] == "NMR00000012"
    with duckdb.connect(warehouse.path) as con:  # the file itself records the digest
        assert apply_setup(con) is False


def test_the_digest_covers_both_setup_files(monkeypatch):
    from assets import resources

    _, digest = setup_sql()
    original = resources.read_sql
    for name in ("setup/schemas.sql", "setup/macros.sql"):
        monkeypatch.setattr(resources, "read_sql", lambda relative, name=name: original(relative) + ("\n-- changed" if relative == name else ""))
        assert setup_sql()[1] != digest, name  # a change to either reaches existing warehouses


def test_an_older_warehouse_s_waiting_months_gain_their_rebuild_column(tmp_path):
    """meta.unpublished_months before rebuilt_at: its waiting months are kept, rebuilt at an unknown
    time (NULL), which the next publication forgets as it lists them (assets/marts/publish.py)."""
    warehouse = Warehouse(path=str(tmp_path / "w.duckdb"))
    with warehouse.session() as con:
        con.execute("DROP TABLE meta.unpublished_months")
        con.execute("CREATE TABLE meta.unpublished_months (month VARCHAR PRIMARY KEY)")
        con.execute("INSERT INTO meta.unpublished_months VALUES ('2026-01')")
        con.execute("UPDATE meta.setup_applied SET digest = 'older'")
    with warehouse.session() as con:
        assert con.execute("SELECT * FROM meta.unpublished_months").fetchall() == [("2026-01", None)]


def test_sessions_share_the_process_s_instance_and_leave_the_file_as_a_closed_connection_did(tmp_path):
    """A session attaches the file to this process's DuckDB instance and detaches it at the end
    (assets/resources.py process_instance): the next session reuses the instance, another process can
    open the file at once, a transaction left open is rolled back, the log is checkpointed, and
    nothing a session made for itself (its temporary objects, its time zone) reaches the next one."""
    path = tmp_path / "w.duckdb"
    warehouse = Warehouse(path=str(path))
    with warehouse.session() as con:
        con.execute("CREATE TABLE main.t AS SELECT 1 AS x")
        con.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
        con.execute("SET TimeZone = 'America/Chicago'")
    instance = process_instance(str(path), warehouse.memory_limit)
    assert not path.with_name(path.name + ".wal").exists()  # checkpointed, as a closing connection did
    # Another process opens the file read-write while this one keeps its instance.
    other = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('INSERT INTO main.t VALUES (2)')"
    subprocess.run([sys.executable, "-c", other, str(path)], check=True, timeout=60)
    with pytest.raises(RuntimeError):
        with warehouse.session() as con:
            con.execute("BEGIN TRANSACTION")
            con.execute("INSERT INTO main.t VALUES (3)")
            raise RuntimeError("a step failing half-way")
    with warehouse.session() as con:
        assert process_instance(str(path), warehouse.memory_limit) is instance  # not started again
        assert con.execute("SELECT list(x ORDER BY x) FROM main.t").fetchone()[0] == [1, 2]
        assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"
        with pytest.raises(duckdb.CatalogException):
            con.execute("SELECT * FROM scratch")


def test_a_reader_sees_the_file_as_a_read_only_connection_of_its_own_did(tmp_path):
    """assets/readers.py reading: the file as its default database, read-only, the same error for a
    missing file, two readers of one file at once, the file released at the end (another process
    writes it at once), and a file renamed over the path (a publication) seen by the next reader."""
    from assets import readers

    path, newer = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for file, x in ((path, 1), (newer, 2)):
        with duckdb.connect(str(file)) as con:
            con.execute(f"CREATE SCHEMA marts; CREATE TABLE marts.t AS SELECT {x} AS x")
    with readers.reading(path) as con, readers.reading(path) as again:
        assert con.execute("SELECT x FROM marts.t").fetchall() == again.execute("SELECT x FROM marts.t").fetchall() == [(1,)]
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("INSERT INTO marts.t VALUES (9)")
    instance = readers._reader[1]
    assert [r[0] for r in instance.execute("SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()] \
        == ["memory"]  # both detached
    other = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('INSERT INTO marts.t VALUES (3)')"
    subprocess.run([sys.executable, "-c", other, str(path)], check=True, timeout=60)
    newer.replace(path)
    with readers.reading(path) as con:
        assert con.execute("SELECT list(x) FROM marts.t").fetchone()[0] == [2]
    assert readers._reader[1] is instance  # not started again
    with pytest.raises(duckdb.IOException, match="does not exist"):
        with readers.reading(tmp_path / "missing.duckdb"):
            pass
    with pytest.raises(duckdb.IOException, match="does not exist"):
        duckdb.connect(str(tmp_path / "missing.duckdb"), read_only=True)
