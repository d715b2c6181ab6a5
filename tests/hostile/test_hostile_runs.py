"""Hostile conditions around a run (issue 11): decompression bombs in bounded memory, replaced content
with the same size and time, two runs at once, settings that cannot be used, a publication that
cannot complete, what a killed run leaves behind."""

from __future__ import annotations

import gzip
import os
import resource
import shutil
import subprocess
import sys

import duckdb
import pytest

from assets.resources import Warehouse, read_sql
from landing_builders import ctpat, exam, good_entries, write_csv
from pipelines.runner import run_lock

ROOT = os.getcwd()


def _cli(paths, *extra, env=None):
    return subprocess.run([sys.executable, "-m", "pipelines", "run", *paths.cli_args(), *extra], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": ROOT, **(env or {})}, timeout=900)


def _good_landing(paths, serials=range(1, 41)):
    write_csv(paths.landing / "entries" / "entries_2026-03.csv", good_entries(serials))
    write_csv(paths.landing / "exams" / "exams_2026-03.csv", [exam("X001", 1)])
    write_csv(paths.landing / "ctpat" / "ctpat.csv", [ctpat("12-3456789AB")])


def _bomb(expanded: int, member: bytes) -> bytes:
    """A gzip file expanding to `expanded` bytes: one compressed MiB repeated as gzip members."""
    one = gzip.compress(member * ((1 << 20) // len(member)), compresslevel=9)
    return one * (expanded >> 20)


def test_decompression_bombs_fail_alone_in_bounded_memory(paths):
    """A 2 GiB CSV bomb and a 2 GiB JSON bomb: each file fails with the cap in its message, the
    others load, and the whole run (a separate process) peaks far under 3 GB."""
    _good_landing(paths)
    header, row = (paths.landing / "entries" / "entries_2026-03.csv").read_bytes().split(b"\n")[:2]
    (paths.landing / "entries" / "bomb.csv.gz").write_bytes(gzip.compress(header + b"\n") + _bomb(2 << 30, row + b"\n"))
    (paths.landing / "bwt").mkdir()
    (paths.landing / "bwt" / "bomb.json.gz").write_bytes(_bomb(2 << 30, b"[" * 64))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = _cli(paths, env={"EXAM_RISK_PSEUDONYM_KEY": "k"})
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert done.returncode == 0, done.stderr[-2000:]
    print(f"\npeak RSS of the run with two 2 GiB bombs: {peak_mb:,.0f} MB (before: {before / 1024:,.0f} MB)")
    assert peak_mb < 3000
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        audit = dict(con.execute("SELECT file_name, message FROM marts.load_audit WHERE status = 'failed'").fetchall())
        loaded = con.execute("SELECT sum(rows_loaded) FROM marts.load_audit WHERE source = 'entries'").fetchone()[0]
    assert "1,073,741,824" in audit["bomb.csv.gz"], audit
    assert "expands past" in audit["bomb.json.gz"], audit
    assert loaded == 40


def test_new_content_with_the_same_size_and_modification_time_is_read(paths):
    _good_landing(paths)
    assert paths.run(draw=False).exit_code == 0  # what was read is tested, not the drawings
    target = paths.landing / "entries" / "entries_2026-03.csv"
    stamp = target.stat()
    replacement = paths.root / "replacement.csv"
    write_csv(replacement, good_entries(range(101, 141)))  # same length: serials of the same width
    assert replacement.stat().st_size == stamp.st_size
    os.replace(replacement, target)  # `cp -p` of new content: same name, size and mtime
    os.utime(target, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert paths.run(draw=False).exit_code == 0
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        hashes = con.execute("SELECT count(DISTINCT content_hash) FROM meta.files WHERE file_name = ?",
                             [target.name]).fetchone()[0]
        numbers = {n for (n,) in con.execute("SELECT entry_number FROM staging.stg_entries").fetchall()}
    assert hashes == 2
    assert any(n.startswith("B7X0000101") for n in numbers)  # the new content was read


def test_a_second_run_exits_while_the_first_holds_the_lock(paths):
    _good_landing(paths)
    with run_lock(Warehouse(path=str(paths.warehouse)).lock_path):
        outcome = paths.run()
    assert outcome.exit_code == 1
    assert outcome.message.startswith("error: another run is in progress since ") and "UTC" in outcome.message
    assert not paths.analytics.exists()
    assert paths.run(draw=False).exit_code == 0  # the lock went with its holder


def test_a_killed_run_never_leaves_the_lock_held(paths):
    lock = Warehouse(path=str(paths.warehouse)).lock_path
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pipelines.runner import run_lock; "
                               "from pathlib import Path\nwith run_lock(Path(sys.argv[1])):\n print('held', flush=True); "
                               "time.sleep(60)", str(lock)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": ROOT})
    assert holder.stdout.readline().strip() == "held"
    _good_landing(paths)
    assert paths.run().exit_code == 1
    holder.kill()
    holder.wait()
    assert paths.run(draw=False).exit_code == 0


@pytest.mark.parametrize("flags, env, code, says", [
    (["--max-reject-share", "abc"], {}, 64, "--max-reject-share"),
    (["--max-reject-share", "-1"], {}, 64, "between 0 and 1"),
    (["--max-reject-share", "2"], {}, 64, "between 0 and 1"),
    (["--max-reject-share", "nan"], {}, 64, "between 0 and 1"),
    (["--no-such-flag"], {}, 64, "unrecognized"),
    ([], {"EXAM_RISK_MAX_REJECT_SHARE": "5%"}, 1, "EXAM_RISK_MAX_REJECT_SHARE='5%'"),
    ([], {"EXAM_RISK_MEMORY_LIMIT": "lots"}, 1, "EXAM_RISK_MEMORY_LIMIT"),
    ([], {"EXAM_RISK_MAX_FILE_BYTES": "0"}, 1, "EXAM_RISK_MAX_FILE_BYTES"),
    ([], {"EXAM_RISK_DRAWING_WORKERS": "-2"}, 1, "EXAM_RISK_DRAWING_WORKERS"),
    ([], {"EXAM_RISK_PSEUDONYM_KEY": "", "EXAM_RISK_PSEUDONYM_KEY_FILE": "/"}, 1, "not a file"),
    ([], {"EXAM_RISK_PSEUDONYM_KEY": "", "EXAM_RISK_PSEUDONYM_KEY_FILE": "/nonexistent/key"}, 1, "no such file"),
])
def test_a_setting_that_cannot_be_used_stops_the_run_with_one_line(paths, flags, env, code, says):
    _good_landing(paths)
    done = _cli(paths, *flags, env={"EXAM_RISK_PSEUDONYM_KEY": "k", **env})
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert says in lines[-1], done.stderr  # one line says what is wrong (argparse prints its usage above it)
    assert len(lines) == 1 or (code == 64 and lines[0].startswith("usage:")), done.stderr
    assert "Traceback" not in done.stderr
    assert not paths.analytics.exists()


def test_a_missing_landing_zone_is_an_error_not_an_empty_publication(paths):
    shutil.rmtree(paths.landing)
    done = _cli(paths, env={"EXAM_RISK_PSEUDONYM_KEY": "k"})
    assert done.returncode == 1 and "is not a folder" in done.stderr and "published: 0" not in done.stdout
    (paths.landing / "entries").mkdir(parents=True)
    write_csv(paths.landing / "entries" / "e.csv", good_entries(range(1, 5)))  # no exams/ctpat/bwt folders: no files
    assert paths.run().exit_code == 0  # drawn too: a report of a month with no exams and no border waits


@pytest.mark.slow
def test_a_publication_that_cannot_complete_publishes_nothing(paths):
    _good_landing(paths)
    assert paths.run().exit_code == 0
    published = paths.analytics.stat()
    report = paths.reports / "2026-03" / "ctpat_report_2026-03.pdf"
    first_report = report.read_bytes()
    write_csv(paths.landing / "entries" / "entries_2026-03b.csv", good_entries(range(41, 81)))
    os.chmod(paths.reports / "2026-03", 0o500)  # the month's folder cannot be written (root ignores this)
    blocker = paths.reports / "border_waits"
    if os.geteuid() == 0:  # as root, a file where a folder must be does the same
        os.chmod(paths.reports / "2026-03", 0o700)
        for f in blocker.iterdir():
            f.unlink()
        blocker.rmdir()
        blocker.write_text("not a folder")
    try:
        outcome = paths.run()
    finally:
        os.chmod(paths.reports / "2026-03", 0o700)
    assert outcome.exit_code == 1 and "nothing was published" in outcome.message, outcome.message
    assert paths.analytics.stat().st_ino == published.st_ino  # the analyst file was not replaced
    assert report.read_bytes() == first_report
    if blocker.is_file():
        blocker.unlink()
    outcome = paths.run()
    assert outcome.exit_code == 0, outcome.message
    assert paths.analytics.stat().st_ino != published.st_ino
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        assert con.execute("SELECT sum(entries) FROM marts.exam_rates").fetchone()[0] == 80
    assert not list(paths.reports.glob(".publishing-*"))
    assert not list(paths.root.glob(".analytics.duckdb.*"))


def test_what_a_killed_run_leaves_is_removed_and_the_warehouse_is_private(paths):
    _good_landing(paths)
    month = paths.reports / "2026-03"
    month.mkdir(parents=True)
    (month / ".ctpat_report_2026-03.99999999.partial.pdf").write_bytes(b"%PDF half")
    (paths.reports / ".publishing-dead-run" / "2026-03").mkdir(parents=True)
    assert paths.run().exit_code == 0
    assert not list(paths.reports.rglob("*.partial.*"))
    assert not list(paths.reports.glob(".publishing-*"))
    assert paths.warehouse.stat().st_mode & 0o077 == 0
    os.chmod(paths.warehouse, 0o644)  # a warehouse made before this rule is tightened
    assert paths.run().exit_code == 0
    assert paths.warehouse.stat().st_mode & 0o777 == 0o600


def test_a_blocked_file_named_with_a_newline_and_an_importer_number_is_one_line(paths):
    _good_landing(paths)
    bad = [dict(row, port_code="0000") for row in good_entries(range(200, 210))]
    write_csv(paths.landing / "entries" / "56-1941273V3\nclient.csv", bad)
    outcome = paths.run()
    assert outcome.exit_code == 2
    assert len(outcome.message.splitlines()) == 1, outcome.message
    assert "56-1941273V3" not in outcome.message and "\\x0aclient.csv" in outcome.message, outcome.message


def test_the_readme_lists_every_setting_with_its_default():
    import re
    from pathlib import Path

    from assets.settings import SETTINGS

    readme = (Path(ROOT) / "README.md").read_text()
    rows = {re.search(r"EXAM_RISK_[A-Z_]+", line.split("|")[3]).group(): line for line in readme.splitlines()
            if line.startswith("|") and "`EXAM_RISK_" in line.split("|")[3]}
    for s in SETTINGS:
        assert s.env in rows, s.env
        if s.default and s.env not in ("EXAM_RISK_PSEUDONYM_KEY_FILE",):
            assert f"`{s.default}`" in rows[s.env], (s.env, rows[s.env])
        if s.flag:
            assert s.flag in rows[s.env], (s.env, rows[s.env])


def _bookkeeping(rebuilt: dict[str, int]) -> duckdb.DuckDBPyConnection:
    """A warehouse's meta.unpublished_months (from sql/setup/schemas.sql) holding these months, each
    rebuilt at the given microsecond."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA meta")
    con.execute(next(s for s in read_sql("setup/schemas.sql").split(";") if "TABLE IF NOT EXISTS meta.unpublished_months" in s))
    for month, at in rebuilt.items():
        con.execute("INSERT INTO meta.unpublished_months VALUES (?, make_timestamptz(?))", [month, at])
    return con


def _build(target, run_id: str, at, rebuilds: dict[str, int]) -> None:
    """A built analyst file whose publication holds these month rebuilds (as build_marts records them)."""
    import json

    from assets.marts.publish import building_file

    with duckdb.connect(str(building_file(target, run_id))) as doc:
        doc.execute("CREATE SCHEMA marts; CREATE TABLE marts.published_runs (run_id VARCHAR, published_at TIMESTAMPTZ, "
                    "input_files JSON, code_version VARCHAR, months_rebuilt JSON, month_rebuilds JSON)")
        doc.execute("INSERT INTO marts.published_runs VALUES (?, ?, '[]', 'test', ?, ?)",
                    [run_id, at, json.dumps(list(rebuilds)), json.dumps({m: str(v) for m, v in rebuilds.items()})])


def test_an_older_build_never_replaces_a_newer_publication(tmp_path):
    """Concurrent backfill runs may reach `publication` out of order: the later build wins."""
    from datetime import datetime, timedelta, timezone

    from assets.marts.publish import building_file, publish_building

    target = tmp_path / "analytics.duckdb"
    con = _bookkeeping({"2026-01": 1000, "2026-02": 2000})
    now = datetime.now(timezone.utc)
    _build(target, "older", now - timedelta(minutes=1), {"2026-01": 1000})
    _build(target, "newer", now, {"2026-01": 1000, "2026-02": 2000})
    assert publish_building(con, target, "newer")
    assert not publish_building(con, target, "older")
    with duckdb.connect(str(target), read_only=True) as published:
        assert published.execute("SELECT run_id FROM marts.published_runs").fetchall() == [("newer",)]
    assert not building_file(target, "older").exists()
    assert con.execute("SELECT count(*) FROM meta.unpublished_months").fetchone()[0] == 0


def test_a_month_rebuilt_again_after_a_build_waits_for_the_next_publication(tmp_path):
    """A concurrent run may rebuild a month between another run's build and its publication: that
    publication holds the older rebuild, so the month stays waiting (its scorecard rows recomputed,
    its reports redrawn by the next publication) instead of being forgotten."""
    from datetime import datetime, timezone

    from assets.marts.publish import publish_building

    target = tmp_path / "analytics.duckdb"
    con = _bookkeeping({"2026-01": 1000, "2026-02": 5000})  # February rebuilt again (5000) after the build
    _build(target, "run", datetime.now(timezone.utc), {"2026-01": 1000, "2026-02": 2000})
    assert publish_building(con, target, "run")
    assert con.execute("SELECT month, epoch_us(rebuilt_at) FROM meta.unpublished_months").fetchall() == [("2026-02", 5000)]
