"""Bad input gets a clear answer and loses nothing: reason codes, conservation, failed files, the gate.
The runs publish without drawing (draw=False, the CLI's --no-reports): these tests read the marts; the
reports' data-quality pages are tested in test_report.py."""

import gzip
import os
import shutil
import subprocess
import sys

import duckdb
import polars as pl
import pytest

from conftest import analytics_tables, copy_of, prepared_paths
from landing_builders import (CTPAT_DEFECTS, ENTRY_DEFECTS, EXAM_DEFECTS, ctpat, entry, exam, good_entries,
                              write_csv)


def audit(paths) -> dict:
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        rows = con.sql("SELECT * FROM marts.load_audit").pl()
    return {r["file_name"]: r for r in rows.iter_rows(named=True)}


def rejections(paths) -> dict:
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        return {(s, r): n for s, r, n in con.execute("SELECT source, reason, rows FROM marts.rejections").fetchall()}


def quarantine(paths) -> pl.DataFrame:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.sql("SELECT f.file_name, q.reason_code, q.record FROM quality.rejected_rows q "
                       "JOIN meta.files f ON f.file_id = q._file_id").pl()


@pytest.fixture
def one_row_per_reason(paths):
    """Every reason code of the contract once, beside valid rows, in every supported format."""
    entries_dir, exams_dir, ctpat_dir = (paths.landing / s for s in ("entries", "exams", "ctpat"))
    write_csv(entries_dir / "entries_2026-03.csv", good_entries(range(1, 11)) + list(ENTRY_DEFECTS.values()),
              extra_lines=['too,few,fields', '"B7X-0000150-0,01,12-3456789AB'])  # an open quote runs to the end
    write_csv(exams_dir / "exams_2026-03.csv.gz",
              [exam("X001", 1), exam("X002", 2, exam_type="TAILGATE"), exam("X003", 999)] + list(EXAM_DEFECTS.values()))
    write_csv(ctpat_dir / "ctpat_2026-01-01.csv", [ctpat("12-3456789AB")])
    write_csv(ctpat_dir / "ctpat_2026-02-01.csv",
              [ctpat("12-3456789AB", valid_to="2026-01-01"), ctpat("12-3456789AB", valid_from="2025-06-01"),
               ctpat("98-7654321ZZ")] + list(CTPAT_DEFECTS.values()))
    return paths


def test_every_reason_code_is_given_once_and_conservation_holds(one_row_per_reason):
    paths = one_row_per_reason
    blocked = paths.run(draw=False, max_reject_share=1.0)
    # The CTPAT export is all or nothing: one bad row blocks it whatever the threshold.
    assert blocked.exit_code == 2 and "ctpat_2026-02-01.csv" in blocked.message
    assert not paths.analytics.exists()

    outcome = paths.run(draw=False, max_reject_share=1.0, accept=["ctpat_2026-02-01.csv"])
    assert outcome.exit_code == 0, outcome.message
    got = rejections(paths)
    expected = {("entries", code): 1 for code in ENTRY_DEFECTS}
    expected[("entries", "malformed_line")] = 2
    expected.update({("exams", code): 1 for code in EXAM_DEFECTS})
    expected.update({("ctpat", code): 1 for code in CTPAT_DEFECTS})
    expected[("ctpat", "overlapping_interval")] = 2
    expected[("ctpat", "export_rejected")] = 1
    assert got == expected

    files = audit(paths)
    for name, row in files.items():
        assert row["rows_read"] == row["rows_loaded"] + row["rows_rejected"], name
    e = files["entries_2026-03.csv"]
    assert (e["status"], e["rows_read"], e["rows_loaded"], e["rows_rejected"]) == ("loaded", 26, 10, 16)
    x = files["exams_2026-03.csv.gz"]
    assert (x["rows_read"], x["rows_loaded"], x["rows_rejected"], x["rows_pending"]) == (14, 3, 11, 1)
    c = files["ctpat_2026-02-01.csv"]
    assert (c["status"], c["rows_loaded"], c["rows_rejected"], c["accepted"]) == ("loaded", 0, 7, True)
    for source in ("entries", "exams", "ctpat"):
        assert sum(n for (s, _), n in got.items() if s == source) == sum(
            r["rows_rejected"] for r in files.values() if r["source"] == source)

    # Rejected rows are kept as delivered.
    q = quarantine(paths)
    port_row = q.filter(pl.col("reason_code") == "unknown_port")["record"][0]
    assert '"port_code":"9999"' in port_row.replace(" ", "") and '"country_of_origin":"mex"' in port_row.replace(" ", "")
    assert "too,few,fields" in q.filter(pl.col("reason_code") == "malformed_line")["record"].to_list()

    # The rejected CTPAT export kept the previous one in force: the importer is certified in March 2026.
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        statuses = con.execute("SELECT ctpat_status, sum(entries) FROM marts.exam_rates GROUP BY ALL").fetchall()
        assert statuses == [("CERTIFIED", 10)]
        started = con.execute("SELECT sum(exams_started) FROM marts.inspection_waits").fetchone()[0]
        assert started == 2  # X001 and X002; X003 waits for entry 999


def test_pending_exam_joins_when_its_entry_arrives(one_row_per_reason):
    paths = one_row_per_reason
    assert paths.run(draw=False, max_reject_share=1.0, accept=["ctpat_2026-02-01.csv"]).exit_code == 0
    write_csv(paths.landing / "entries" / "entries_2026-04.csv", [entry(999, arrival_at="2026-03-02T09:00:00-06:00")])
    assert paths.run(draw=False, max_reject_share=1.0, accept=["ctpat_2026-02-01.csv"]).exit_code == 0
    files = audit(paths)
    assert files["exams_2026-03.csv.gz"]["rows_pending"] == 0
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        assert con.execute("SELECT sum(exams_started) FROM marts.inspection_waits").fetchone()[0] == 3


def test_unreadable_and_incomplete_files_fail_without_stopping_the_run(paths):
    entries_dir = paths.landing / "entries"
    good = write_csv(entries_dir / "entries_a.csv", good_entries(range(1, 6)))
    shutil.copy(good, entries_dir / "entries_a_again.csv")  # same content, new name
    write_csv(entries_dir / "entries_b_missing.csv", good_entries(range(6, 8)),
              columns=[c for c in entry(1) if c not in ("release_at", "hts_number")])
    whole = gzip.compress(("\n".join(["entry_number,entry_type"] + ["x,y"] * 5000)).encode())
    (entries_dir / "entries_c_truncated.csv.gz").write_bytes(whole[: len(whole) // 2])
    (entries_dir / "entries_d_corrupt.parquet").write_bytes(b"PAR1" + os.urandom(300))
    (entries_dir / "entries_e_empty.csv").write_bytes(b"")
    # Parquet: an instant column is taken as that instant; a zone-less timestamp is rejected like text.
    frame = pl.DataFrame(good_entries(range(20, 24))).with_columns(
        pl.col("arrival_at", "release_at").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC"))
    frame.write_parquet(entries_dir / "entries_f.parquet")
    frame.with_columns(pl.col("arrival_at").dt.replace_time_zone(None)).write_parquet(entries_dir / "entries_g_naive.parquet")
    (entries_dir / "entries_h.csv.part").write_text("half-written")
    write_csv(paths.landing / "ctpat" / "ctpat.csv", [ctpat("12-3456789AB")])

    outcome = paths.run(draw=False, max_reject_share=1.0)
    assert outcome.exit_code == 0, outcome.message
    files = audit(paths)
    assert "entries_h.csv.part" not in files
    status = {n: (r["status"], r["rows_loaded"]) for n, r in files.items() if r["source"] == "entries"}
    assert status == {"entries_a.csv": ("loaded", 5), "entries_a_again.csv": ("duplicate", 0),
                      "entries_b_missing.csv": ("failed", 0), "entries_c_truncated.csv.gz": ("failed", 0),
                      "entries_d_corrupt.parquet": ("failed", 0), "entries_e_empty.csv": ("failed", 0),
                      "entries_f.parquet": ("loaded", 4), "entries_g_naive.parquet": ("loaded", 0)}
    assert "release_at" in files["entries_b_missing.csv"]["message"] and "hts_number" in files["entries_b_missing.csv"]["message"]
    assert "entries_a.csv" in files["entries_a_again.csv"]["message"]
    for name in ("entries_c_truncated.csv.gz", "entries_d_corrupt.parquet", "entries_e_empty.csv"):
        assert files[name]["message"], name
    assert rejections(paths) == {("entries", "timestamp_without_offset"): 4}
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        assert con.execute("SELECT sum(entries) FROM marts.exam_rates").fetchone()[0] == 9


@pytest.fixture(scope="module")
def published_good(tmp_path_factory):
    """March, 40 good entries, published once for the module's tests."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        paths = prepared_paths(tmp_path_factory.mktemp("good"), monkeypatch)
        write_csv(paths.landing / "entries" / "entries_2026-03.csv", good_entries(range(1, 41)))
        write_csv(paths.landing / "exams" / "exams_2026-03.csv", [exam("X001", 1)])
        write_csv(paths.landing / "ctpat" / "ctpat.csv", [ctpat("12-3456789AB")])
        assert paths.run(draw=False).exit_code == 0
    return paths.root


@pytest.fixture
def good(paths, published_good):
    return copy_of(published_good, paths)


def _cli(paths, *extra):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-m", "pipelines", "run", *paths.cli_args(), *extra],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_a_delivery_over_the_threshold_blocks_and_leaves_the_marts_untouched(good):
    paths = good
    before = paths.analytics.read_bytes()
    tables_before = analytics_tables(paths.analytics)
    bad = [entry(200 + i, port_code="9999") for i in range(3)] + good_entries(range(300, 337))
    write_csv(paths.landing / "entries" / "entries_2026-04.csv", bad)  # 3 of 40 = 7.5 % > 5 %

    result = _cli(paths)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "entries_2026-04.csv" in last and "unknown_port 3" in last and "7.5%" in last
    assert paths.analytics.read_bytes() == before
    # The block is recorded, and the file keeps blocking later runs.
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("SELECT status FROM meta.files WHERE file_name = 'entries_2026-04.csv'").fetchone() == ("blocked",)
    assert paths.run(draw=False).exit_code == 2
    assert paths.analytics.read_bytes() == before

    # A higher threshold for this run lets it through; so does accepting it by name.
    assert paths.run(draw=False, max_reject_share=0.10).exit_code == 0
    assert analytics_tables(paths.analytics) != tables_before


@pytest.mark.slow
def test_a_blocked_file_stops_blocking_once_replaced_or_removed(good):
    paths = good
    bad_path = write_csv(paths.landing / "entries" / "entries_2026-04.csv",
                         [entry(200, port_code="9999")] + good_entries(range(300, 305)))
    assert paths.run(draw=False).exit_code == 2
    bad_path.unlink()
    assert paths.run(draw=False).exit_code == 0
    write_csv(paths.landing / "entries" / "entries_2026-04.csv", good_entries(range(300, 305)))  # the fix
    assert paths.run(draw=False).exit_code == 0
    files = audit(paths)
    assert files["entries_2026-04.csv"]["status"] == "loaded"
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        blocked = con.execute("SELECT count(*) FROM marts.load_audit WHERE status = 'blocked' AND NOT in_landing").fetchone()[0]
        assert blocked == 1
        assert con.execute("SELECT sum(entries) FROM marts.exam_rates").fetchone()[0] == 45


@pytest.mark.slow
def test_accepting_a_blocked_file_loads_its_valid_rows(good):
    paths = good
    write_csv(paths.landing / "entries" / "entries_2026-04.csv", [entry(200, port_code="9999")] + good_entries(range(300, 305)))
    assert _cli(paths).returncode == 2
    result = _cli(paths, "--accept", "entries_2026-04.csv", "--no-reports")  # the marts are tested, not the drawings
    assert result.returncode == 0, result.stderr
    # The accepted rows' month (its entries arrived in March), published without its drawings.
    assert "published" in result.stdout and "not drawn (--no-reports): the charts and reports of 2026-03 wait" in result.stdout
    files = audit(paths)
    assert (files["entries_2026-04.csv"]["rows_loaded"], files["entries_2026-04.csv"]["accepted"]) == (5, True)
