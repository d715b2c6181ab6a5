"""Hostile deliveries (issue 11): every file of the corpus gets the outcome docs/contract.md gives it,
in one run beside the others, with conservation checked against what the test wrote; no input stops
the run, leaks an importer number, or outlives a re-run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pytest

from assets.marts.pseudonyms import IMPORTER_NUMBER, pseudonym
from conftest import TEST_KEY, Paths
from corpus import IMPORTER_IN_NAME, cases, deliver
from landing_builders import ctpat, good_entries, write_csv

CASES = cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A small valid landing zone plus every hostile file, a FIFO and a link out of the landing zone,
    run once."""
    root = tmp_path_factory.mktemp("hostile")
    paths = Paths(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXAM_RISK_PSEUDONYM_KEY", TEST_KEY)
        for var in ("EXAM_RISK_ACCEPT", "EXAM_RISK_MAX_REJECT_SHARE", "EXAM_RISK_PSEUDONYM_KEY_FILE"):
            mp.delenv(var, raising=False)
        write_csv(paths.landing / "entries" / "base.csv", good_entries(range(1, 41)))
        write_csv(paths.landing / "ctpat" / "ctpat.csv", [ctpat("12-3456789AB")])
        for case in CASES:
            deliver(paths.landing, case)
        os.mkfifo(paths.landing / "entries" / "a_fifo.csv")  # reading it would block the run forever
        secret = root / "outside.csv"
        write_csv(secret, good_entries(range(90_000, 90_002)))
        (paths.landing / "entries" / "link_outside.csv").symlink_to(secret)
        first = paths.run(max_reject_share=1.0)
        second = paths.run(max_reject_share=1.0)
        yield paths, first, second


def _audit(paths) -> dict:
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        rows = con.execute("SELECT source, file_name, status, message, rows_read, rows_loaded, rows_rejected "
                           "FROM marts.load_audit").fetchall()
    return {(r[0], r[1]): dict(zip(["source", "file_name", "status", "message", "read", "loaded", "rejected"], r))
            for r in rows}


def _reasons(paths) -> dict:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rows = con.execute("SELECT f.source, f.file_name, q.reason_code, count(*) FROM quality.rejected_rows q "
                           "JOIN meta.files f ON f.file_id = q._file_id GROUP BY ALL").fetchall()
    found: dict = {}
    for source, name, code, n in rows:
        found.setdefault((source, name), {})[code] = n
    return found


def _audit_name(case) -> str:
    return case.shown_name.replace("<pseudonym>", pseudonym(IMPORTER_IN_NAME, TEST_KEY.encode()))


def test_no_hostile_file_stops_the_run(corpus):
    paths, first, second = corpus
    assert first.exit_code == 0, first.message
    assert second.exit_code == 0, second.message
    assert first.message.startswith("published:")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_hostile_file_gets_the_contracts_outcome(corpus, case):
    paths, first, _ = corpus
    audit = _audit(paths)
    row = audit[(case.source, _audit_name(case))]
    assert row["status"] == case.status, row
    if case.status == "failed":
        assert case.message in row["message"], row
        assert row["read"] == 0
        return
    assert row["read"] == case.rows, row  # against what the case wrote
    assert row["read"] == row["loaded"] + row["rejected"], row
    assert _reasons(paths).get((case.source, _audit_name(case)), {}) == case.rejected


def test_a_fifo_is_not_a_delivery_and_a_link_out_of_the_landing_zone_is_not_read(corpus):
    paths, _, _ = corpus
    audit = _audit(paths)
    assert ("entries", "a_fifo.csv") not in audit
    link = audit[("entries", "link_outside.csv")]
    assert link["status"] == "failed" and "outside the landing zone" in link["message"], link
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.entries WHERE entry_number LIKE 'B7X-009000%'").fetchone()[0] == 0


def test_every_written_row_is_accounted_for(corpus):
    paths, _, _ = corpus
    audit = _audit(paths)
    written = 40 + sum(c.rows for c in CASES if c.source == "entries")
    entries = [r for r in audit.values() if r["source"] == "entries"]
    assert sum(r["read"] for r in entries) == written
    assert sum(r["loaded"] + r["rejected"] for r in entries) == written


def test_a_rerun_changes_nothing(corpus):
    paths, first, second = corpus
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        statuses = con.execute("SELECT status, count(*) FROM meta.files GROUP BY ALL").fetchall()
    # one register row per delivered file: nothing registered twice by the second run
    assert sum(n for _, n in statuses) == len(CASES) + 3
    assert first.message.splitlines()[0] == second.message.splitlines()[0]


def test_no_importer_number_is_published_and_no_absolute_path_shown(corpus):
    paths, first, _ = corpus
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        for table in ("load_audit", "published_runs", "rejections"):
            text = str(con.execute(f"SELECT * FROM marts.{table}").fetchall())
            assert IMPORTER_IN_NAME not in text, table
        messages = " ".join(m or "" for (m,) in con.execute("SELECT message FROM marts.load_audit").fetchall())
    assert str(paths.root) not in messages
    for page in paths.reports.rglob("*.html"):
        assert IMPORTER_IN_NAME not in page.read_text(), page
        assert "two\\x0alines.csv" in page.read_text() and "two\nlines" not in page.read_text(), page  # one line
    assert IMPORTER_IN_NAME not in first.message


def test_the_published_name_pattern_is_the_rule_books():
    """pseudonyms.IMPORTER_NUMBER (file names) and the rule book's importer_number_format_ok agree."""
    from assets.resources import read_sql

    samples = ["12-3456789AB", "123456-12345", "123-45-6789", "12-345678AB", "1234567-1234", "12-3456789ab",
               "AB-1234567CD", "12-34567890A", "12-3456789A"]
    con = duckdb.connect()
    con.execute(read_sql("setup/macros.sql").split("-- Timestamps")[0])
    rule = [con.execute("SELECT importer_number_format_ok(?)", [s]).fetchone()[0] for s in samples]
    assert rule == [bool(IMPORTER_NUMBER.fullmatch(s)) for s in samples]
    assert re.sub(IMPORTER_NUMBER, "#", "56-1941273V3.csv") == "#.csv"
