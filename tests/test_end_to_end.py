"""Generated data through the real Dagster job into temporary DuckDB files, checked against an
independent Polars computation; re-runs change nothing; a later correction replaces rows."""

import json
import shutil

import duckdb
import pytest

from conftest import TEST_KEY, Paths, analytics_tables, copy_of, prepared_paths
from independent import assert_frames_match, entries_and_exams, marts
from landing_builders import ctpat, exam, good_entries, write_csv
from pipelines.sample_data import Effects, generate

KEYS = {
    "exam_rates": ["month", "port_code", "mode_of_transport", "ctpat_status"],
    "lane_exam_rates": ["month", "port_code", "lane_type", "ctpat_status"],
    "exam_rates_by_mode": ["month", "mode_of_transport", "ctpat_status"],
    "release_times": ["month", "port_code", "mode_of_transport", "ctpat_status"],
    "release_time_profile": ["month", "mode_of_transport", "ctpat_status"],
    "inspection_waits": ["month", "port_code", "ctpat_status"],
    "importer_exam_rates": ["month", "importer_pseudonym", "ctpat_status"],
    "disruption_recovery": ["month", "event_id", "port_code", "ctpat_status"],
}


def published(paths, name):
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        return con.sql(f"SELECT * FROM marts.{name}").pl()


def check_against_independent(paths):
    expected = marts(paths.landing, TEST_KEY.encode())
    for name, keys in KEYS.items():
        if name not in expected:  # disruption_recovery: only when the landing zone has closures
            continue
        actual = published(paths, name).select(expected[name].columns)
        assert_frames_match(expected[name], actual, keys, name)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    truth = generate(root / "landing", entries=30_000, seed=11, formats="mixed", effects=Effects(disruptions=True))
    return root, truth


@pytest.fixture(scope="module")
def clean_run(generated, tmp_path_factory) -> Paths:
    """The generated landing zone through one run into an empty warehouse, once for the module."""
    root, _ = generated
    with pytest.MonkeyPatch.context() as monkeypatch:
        paths = prepared_paths(tmp_path_factory.mktemp("clean"), monkeypatch)
        shutil.rmtree(paths.landing)
        shutil.copytree(root / "landing", paths.landing)
        outcome = paths.run()
        assert outcome.exit_code == 0, outcome.message
    return paths


def test_marts_equal_an_independent_computation(generated, clean_run, paths):
    _, truth = generated
    copy_of(clean_run.root, paths)
    assert (paths.landing / "disruptions").is_dir()  # the generated data hold port closures
    check_against_independent(paths)

    # Rejections are exactly the generator's injected defects, each with its own code.
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        got = dict(con.execute("SELECT reason, rows FROM marts.rejections WHERE source = 'entries'").fetchall())
        audit = con.sql("SELECT * FROM marts.load_audit").pl()
        runs = con.execute("SELECT count(*) FROM marts.published_runs").fetchone()[0]
    assert got == truth["injected_rejections"]["entries"]
    assert (audit["rows_read"] == audit["rows_loaded"] + audit["rows_rejected"]).all()
    assert set(audit["status"]) == {"loaded"}
    _, _, independent_rejected = entries_and_exams(paths.landing)
    assert independent_rejected == sum(got.values())
    assert audit.filter(audit["file_name"].str.contains("corrections"))["rows_loaded"][0] == truth["corrected_entries"]
    assert runs == 1
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        uncommented = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
                                  "AND (comment IS NULL OR comment = '')").fetchall()
        column_notes = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts' "
                                   "AND comment IS NOT NULL").fetchone()[0]
    assert uncommented == [] and column_notes >= 15

    # Charts: two per local month.
    months = sorted(published(paths, "exam_rates")["month"].unique())
    for month in months:
        for chart in ("exam_rate_by_mode.png", "release_time_by_mode.png"):
            png = paths.reports / month / chart
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png

    # Re-running on the same landing zone changes nothing.
    before = analytics_tables(paths.analytics)
    assert paths.run().exit_code == 0
    assert analytics_tables(paths.analytics) == before
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT content_hash) FROM meta.files").fetchone() == (len(audit), len(audit))

    # A later correction file replaces the corrected rows (last valid row by file name wins).
    entries, _, _ = entries_and_exams(paths.landing)
    victim = entries.filter(entries["release"].is_not_null()).row(0, named=True)
    corrected = {c: victim[c] for c in ("entry_number", "entry_type", "importer_number", "port_code", "mode_of_transport",
                                        "lane_type", "carrier_code", "country_of_origin", "hts_number",
                                        "entered_value_usd", "arrival_at")}
    corrected["release_at"] = ""  # the broker withdraws the release: the entry is open again
    write_csv(paths.landing / "entries" / "entries_zz_correction.csv", [corrected])
    assert paths.run().exit_code == 0
    check_against_independent(paths)
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        superseded = con.execute("SELECT sum(rows_superseded) FROM marts.load_audit WHERE source = 'entries'").fetchone()[0]
    assert superseded == truth["corrected_entries"] + 1


def test_analytics_file_holds_no_raw_importer_number(clean_run):
    paths = clean_run
    entries, _, _ = entries_and_exams(paths.landing)
    numbers = entries["importer_number"].unique().to_list()
    data = paths.analytics.read_bytes()
    assert not [n for n in numbers if n.encode() in data]
    assert paths.analytics.with_name(paths.analytics.name + ".wal").exists() is False


def test_an_exam_corrected_in_the_same_delivery_keeps_only_its_last_row(paths):
    """The generator corrects entries, not exams: here one exam is corrected further down its own
    file and another by a later file of the same run, so both reach staging in one batch."""
    write_csv(paths.landing / "entries" / "entries_2026-03.csv", good_entries((1, 2, 3)))
    write_csv(paths.landing / "exams" / "exams_2026-03-a.csv",
              [exam("X001", 1), exam("X002", 2), exam("X001", 1, outcome="DISCREPANCY")])
    write_csv(paths.landing / "exams" / "exams_2026-03-b.csv", [exam("X002", 2, exam_type="TAILGATE"), exam("X003", 3)])
    write_csv(paths.landing / "ctpat" / "ctpat_2026-01-01.csv", [ctpat("12-3456789AB")])
    assert paths.run(draw=False).exit_code == 0  # staging and the marts are tested, not the drawings
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        staged = con.execute("SELECT exam_id, exam_type, outcome FROM staging.stg_exams ORDER BY 1").fetchall()
    assert staged == [("X001", "NII", "DISCREPANCY"), ("X002", "TAILGATE", "NO_DISCREPANCY"), ("X003", "NII", "NO_DISCREPANCY")]
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        assert con.execute("SELECT sum(rows_superseded) FROM marts.load_audit WHERE source = 'exams'").fetchone()[0] == 2
        assert con.execute("SELECT sum(exams_started) FROM marts.inspection_waits").fetchone()[0] == 3


def test_generator_ground_truth(generated):
    root, truth = generated
    stored = json.loads((root / "landing" / "ground_truth.json").read_text())
    assert stored == truth
    assert stored["effects"]["base_exam_rate_by_mode"]["30"] == 0.25
    assert abs(stored["effects"]["base_exam_rate_by_mode"]["11"] - 1 / 33) < 1e-12


@pytest.mark.slow
def test_a_run_that_stopped_half_way_is_simply_run_again(generated, clean_run, paths):
    """Stop after ingest (files stored, not yet through the gate) with a half-built analytics file left
    behind; the next run finishes the job and publishes what a clean run publishes."""
    import dagster as dg

    from assets.resources import resources_from_env
    from pipelines.definitions import ALL_ASSETS

    root, _ = generated
    shutil.rmtree(paths.landing)
    shutil.copytree(root / "landing", paths.landing)
    resources = resources_from_env(landing=str(paths.landing), warehouse=str(paths.warehouse),
                                   analytics=str(paths.analytics), reports=str(paths.reports))
    dg.materialize(ALL_ASSETS, resources=resources, selection=["schedule_d_ports", "raw_entries", "raw_exams", "raw_ctpat"])
    leftover = paths.analytics.with_name(f".{paths.analytics.name}.crashed-run.building")
    leftover.write_bytes(b"half a database")
    assert paths.run(draw=False).exit_code == 0  # the marts are compared; the clean run's drawings are tested above
    assert not leftover.exists()
    assert analytics_tables(paths.analytics) == analytics_tables(clean_run.analytics)


def test_a_first_batch_goes_straight_into_empty_staging_as_the_merge_would_put_it(clean_run, tmp_path):
    """Into empty staging tables the batch is inserted as it comes (no temporary copy of it); merging it
    by key gives the same rows, opens the same months and marks the same files staged. The generated
    landing zone corrects entries in later files, so the batch holds keys more than once."""
    from assets.resources import Warehouse, read_sql
    from assets.staging.assets import merge_by_key, merge_new_rows

    tables = {"stg_entries": ("entry_number", "entries"), "stg_exams": ("exam_id", "exams")}
    outcomes = {}
    for way in ("first", "merge"):
        shutil.copy(clean_run.warehouse, tmp_path / f"{way}.duckdb")
        with Warehouse(path=str(tmp_path / f"{way}.duckdb")).session() as con:
            con.execute("UPDATE meta.files SET staged = false WHERE source IN ('entries', 'exams'); "
                        "DELETE FROM staging.stg_entries; DELETE FROM staging.stg_exams; DELETE FROM meta.open_months")
            counts = []
            for table, (key, source) in tables.items():  # entries first: exams take their entry's month
                if way == "first":
                    counts.append(merge_new_rows(con, table, key, source))
                    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'incoming'").fetchone()[0]
                else:
                    counts.append(merge_by_key(con, table, key, source, read_sql(f"staging/{table}.sql")))
            outcomes[way] = (counts, *(sorted(con.execute(f"SELECT * FROM staging.{t}").fetchall(), key=repr) for t in tables),
                             con.execute("SELECT month, reason FROM meta.open_months ORDER BY ALL").fetchall(),
                             con.execute("SELECT file_name, staged FROM meta.files ORDER BY ALL").fetchall())
    first, merge = outcomes["first"], outcomes["merge"]
    assert first[1] and first[2] and first[3]  # rows in both tables, months opened
    assert all(staged for name, staged in first[4] if name.startswith(("entries", "exams")))
    assert first == merge
