"""The warehouse session: its layout and macros (sql/setup/) are applied when the file lacks them or
holds an older version of them, and left alone when the file records this code's digest."""

from assets.resources import Warehouse, apply_setup, setup_sql

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
    with warehouse.connect() as con:
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
