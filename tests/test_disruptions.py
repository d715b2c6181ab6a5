"""Business resumption: port closures (landing/disruptions) through the real pipeline. The mart
against an independent computation on hand-built edges (windows in elapsed hours across a DST
change, releases at closing, arrivals at reopening, two closures catching one entry, open entries,
a reopening month that differs from the UTC month); bad rows, corrections and re-delivery; months
re-opened by a changed closure or a corrected entry; the benefit with priority on and off."""

import shutil

import duckdb
import polars as pl
import pytest

from conftest import analytics_tables, copy_of, prepared_paths
from independent import assert_frames_match, disruption_recovery
from landing_builders import ctpat, entry, exam, write_csv
from pipelines.sample_data import Effects, generate

CERTIFIED, UNCERTIFIED = "12-3456789AB", "98-7654321CD"
KEYS = ["month", "event_id", "port_code", "ctpat_status"]


def vessel(serial: int, arrival: str, release: str, importer: str = UNCERTIFIED, port: str = "1703") -> dict:
    return entry(serial, port_code=port, mode_of_transport="11", lane_type="", carrier_code="MAEU",
                 importer_number=importer, arrival_at=arrival, release_at=release)


# Savannah (1703, America/New_York; DST began 2026-03-08). E1 closed 2026-03-09 06:00Z, reopened 03-12 06:00Z:
# 168 elapsed hours before closing is 2026-03-02 06:00Z = 01:00 EST, but 7 calendar days would be 02:00 EST.
EDGE_ENTRIES = [
    vessel(1, "2026-03-02T06:00:00Z", "2026-03-12T10:00:00Z", CERTIFIED),   # arrived exactly 168 h before: caught, +4 h
    vessel(2, "2026-03-02T05:59:59Z", "2026-03-03T05:59:59Z"),              # 1 s earlier: normal (24 h), for E1 and E2
    vessel(3, "2026-03-05T00:00:00Z", "2026-03-09T06:00:00Z", CERTIFIED),   # released exactly at closing: caught, -72 h
    vessel(4, "2026-03-05T00:00:00Z", "2026-03-09T05:59:59Z"),              # released 1 s before closing: neither
    vessel(5, "2026-03-12T06:00:00Z", "2026-03-12T09:00:00Z"),              # arrived at reopening: not caught
    vessel(6, "2026-03-12T05:59:59Z", "2026-03-12T08:00:00Z", CERTIFIED),   # 1 s before reopening: caught, +2 h
    vessel(7, "2026-03-10T00:00:00Z", ""),                                  # open: caught by E1 and E2, not released
    vessel(8, "2026-03-02T01:30:00-05:00", "2026-03-12T07:00:00Z", CERTIFIED),  # 06:30Z: caught (DST edge), +1 h
    vessel(9, "2026-03-31T10:00:00Z", "2026-04-01T05:00:00Z", port="2704"),  # Los Angeles: caught by E3, +2 h
    vessel(10, "2026-02-20T00:00:00Z", "2026-02-21T06:00:00Z"),            # February: normal for E1 and E2 (30 h)
]
CLOSURES = [
    {"event_id": "E1", "port_code": "1703", "cause": "HURRICANE", "closed_at": "2026-03-09T06:00:00Z",
     "reopened_at": "2026-03-12T02:00:00-04:00", "source": "CSMS # 1"},
    {"event_id": "E2", "port_code": "1703", "cause": "SYSTEM_OUTAGE", "closed_at": "2026-03-10T00:00:00Z",
     "reopened_at": "2026-03-11T00:00:00Z", "source": ""},
    # Reopened 2026-04-01 03:00Z = 2026-03-31 20:00 PDT: the benefit's month is the port's local March.
    {"event_id": "E3", "port_code": "2704", "cause": "STRIKE", "closed_at": "2026-03-31T12:00:00Z",
     "reopened_at": "2026-04-01T03:00:00Z", "source": "https://example.org/csms"},
]


def recovery(paths) -> pl.DataFrame:
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        return con.sql("SELECT * FROM marts.disruption_recovery").pl()


def months_rebuilt(paths) -> set[str]:
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        text = con.execute("SELECT months_rebuilt FROM marts.published_runs ORDER BY published_at DESC LIMIT 1").fetchone()[0]
    return set(pl.Series([text]).str.json_decode().to_list()[0])


@pytest.fixture(scope="module")
def published_edges(tmp_path_factory):
    """The edges through one real run, once for the module's tests."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        paths = prepared_paths(tmp_path_factory.mktemp("edges"), monkeypatch)
        write_csv(paths.landing / "entries" / "entries_a.csv", EDGE_ENTRIES)
        write_csv(paths.landing / "exams" / "exams_a.csv", [exam("X1", 1, selected_at="2026-03-02T06:10:00Z",
                                                                  started_at="2026-03-02T07:00:00Z", completed_at="")])
        write_csv(paths.landing / "ctpat" / "ctpat_a.csv", [ctpat(CERTIFIED)])
        write_csv(paths.landing / "disruptions" / "disruptions_a.csv", CLOSURES)
        outcome = paths.run()
        assert outcome.exit_code == 0, outcome.message
    return paths.root


@pytest.fixture
def edges(paths, published_edges):
    return copy_of(published_edges, paths)


def test_recovery_mart_equals_an_independent_computation_at_the_edges(edges):
    published = recovery(edges)
    expected = disruption_recovery(edges.landing)
    assert_frames_match(expected, published.select(expected.columns), KEYS, "disruption_recovery")
    # The same edges, written out: what each rule above must give.
    rows = {(r["event_id"], r["ctpat_status"]): r for r in published.iter_rows(named=True)}
    assert set(rows) == {("E1", "CERTIFIED"), ("E1", "UNCERTIFIED"), ("E2", "UNCERTIFIED"), ("E3", "UNCERTIFIED")}
    e1 = rows["E1", "CERTIFIED"]
    assert (e1["caught_entries"], e1["released_entries"], e1["median_resumption_hours"]) == (4, 4, 1.5)  # 4, -72, 2, 1
    assert (e1["normal_entries"], e1["month"]) == (0, "2026-03")
    assert (rows["E1", "UNCERTIFIED"]["caught_entries"], rows["E1", "UNCERTIFIED"]["released_entries"]) == (1, 0)
    assert rows["E1", "UNCERTIFIED"]["normal_entries"] == 2 and rows["E1", "UNCERTIFIED"]["normal_median_release_hours"] == 27
    assert rows["E2", "UNCERTIFIED"]["caught_entries"] == 1  # the open entry counts for both closures
    assert rows["E3", "UNCERTIFIED"]["month"] == "2026-03" and rows["E3", "UNCERTIFIED"]["median_resumption_hours"] == 2
    with duckdb.connect(str(edges.analytics), read_only=True) as con:
        backlog = con.sql("SELECT * FROM marts.disruption_backlog WHERE event_id = 'E1' AND ctpat_status = 'CERTIFIED' "
                          "ORDER BY hours_after_reopening").pl()
        benefit = con.sql("SELECT * FROM marts.ctpat_benefits WHERE benefit = 'business_resumption_priority' "
                          "AND month = '2026-03'").pl()
    # Released by hour 0 (during the closure), 1, 2 and 4: the backlog falls 4 -> 3 -> 2 -> 1 -> 1 -> 0.
    assert backlog["backlog_entries"].to_list() == [3, 2, 1, 1, 0]
    assert benefit["verdict"][0] == "INSUFFICIENT_DATA"  # a handful of entries proves nothing


def test_bad_rows_corrections_and_redelivery(edges):
    paths = edges
    defects = {
        "bad_event_id": dict(CLOSURES[0], event_id=""),
        "unknown_port": dict(CLOSURES[0], event_id="D2", port_code="9999", cause="TORNADO"),  # the first rule wins
        "unknown_cause": dict(CLOSURES[0], event_id="D3", cause="hurricane"),
        "timestamp_without_offset": dict(CLOSURES[0], event_id="D4", closed_at="2026-03-09T06:00:00"),
        "bad_timestamp": dict(CLOSURES[0], event_id="D5", reopened_at=""),
        "reopened_before_closed": dict(CLOSURES[0], event_id="D6", reopened_at="2026-03-09T06:00:00Z"),
    }
    quiet = dict(CLOSURES[1], event_id="E4", closed_at="2026-01-05T00:00:00Z", reopened_at="2026-01-06T00:00:00Z")
    write_csv(paths.landing / "disruptions" / "disruptions_b.csv", [quiet, *defects.values()], extra_lines=["E9,1703"])
    assert paths.run(max_reject_share=0.95).exit_code == 0
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        got = dict(con.execute("SELECT reason, rows FROM marts.rejections WHERE source = 'disruptions'").fetchall())
        audit = con.execute("SELECT rows_read, rows_loaded, rows_rejected FROM marts.load_audit "
                            "WHERE file_name = 'disruptions_b.csv'").fetchone()
    assert got == {**{code: 1 for code in defects}, "malformed_line": 1}
    assert audit == (8, 1, 7)  # a closure that caught nothing loads and adds no row
    assert set(recovery(paths)["event_id"]) == {"E1", "E2", "E3"}

    # A later file corrects E1: reopened 24 hours later. The row is replaced, the old one superseded.
    write_csv(paths.landing / "disruptions" / "disruptions_c.csv", [dict(CLOSURES[0], reopened_at="2026-03-13T06:00:00Z")])
    assert paths.run(max_reject_share=0.95).exit_code == 0
    e1 = recovery(paths).filter((pl.col("event_id") == "E1") & (pl.col("ctpat_status") == "CERTIFIED")).row(0, named=True)
    assert e1["closed_hours"] == 96 and e1["caught_entries"] == 4  # entry 5 (arrived at the old reopening) is now caught...
    assert recovery(paths).filter((pl.col("event_id") == "E1") & (pl.col("ctpat_status") == "UNCERTIFIED"))["caught_entries"][0] == 2
    expected = disruption_recovery(paths.landing)
    assert_frames_match(expected, recovery(paths).select(expected.columns), KEYS, "disruption_recovery")
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        superseded = con.execute("SELECT file_name, rows_superseded FROM marts.load_audit WHERE source = 'disruptions' "
                                 "ORDER BY file_name").fetchall()
    assert superseded == [("disruptions_a.csv", 1), ("disruptions_b.csv", 0), ("disruptions_c.csv", 0)]

    # The same content again under another name: a duplicate, and nothing changes.
    before = analytics_tables(paths.analytics)
    shutil.copy(paths.landing / "disruptions" / "disruptions_c.csv", paths.landing / "disruptions" / "again.csv")
    assert paths.run(max_reject_share=0.95).exit_code == 0
    after = analytics_tables(paths.analytics)
    audit = after.pop("load_audit")
    assert {k: v for k, v in before.items() if k != "load_audit"} == after
    assert [r for r in audit if r[1] == "again.csv"][0][3] == "duplicate"


def test_changed_closures_and_corrected_entries_reopen_their_months(edges):
    paths = edges
    # E3 reopens a day later, in April: its caught entry's month (March), the old and the new reopening month.
    write_csv(paths.landing / "disruptions" / "disruptions_b.csv", [dict(CLOSURES[2], reopened_at="2026-04-02T03:00:00Z")])
    assert paths.run().exit_code == 0
    assert {"2026-03", "2026-04"} <= months_rebuilt(paths)
    assert recovery(paths).filter(pl.col("event_id") == "E3")["month"].to_list() == ["2026-04"]
    # A corrected February entry, normal for E1 and E2: February, and their reopening month March.
    write_csv(paths.landing / "entries" / "entries_b.csv", [dict(EDGE_ENTRIES[9], release_at="2026-02-21T08:00:00Z")])
    assert paths.run().exit_code == 0
    assert months_rebuilt(paths) == {"2026-02", "2026-03"}
    assert recovery(paths).filter(pl.col("event_id") == "E1")["normal_median_release_hours"].max() == 28  # (24 + 32) / 2


def test_the_real_closures_reference_file_loads_whole(paths):
    from assets.resources import reference_file

    (paths.landing / "disruptions").mkdir()
    shutil.copy(str(reference_file("real_disruptions.csv")), paths.landing / "disruptions" / "real.csv")
    write_csv(paths.landing / "entries" / "entries_a.csv", [vessel(1, "2024-10-02T12:00:00Z", "2024-10-04T12:00:00Z")])
    assert paths.run().exit_code == 0
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        assert con.execute("SELECT rows_read, rows_loaded FROM marts.load_audit WHERE source = 'disruptions'").fetchone() == (4, 4)
    row = recovery(paths).row(0, named=True)  # the ILA strike at Savannah caught the entry
    assert (row["event_id"], row["month"], row["median_resumption_hours"]) == ("ILA-STRIKE-2024-10", "2024-10", 2.0)


@pytest.mark.parametrize("priority", [True, False])
def test_the_benefit_is_supported_only_with_priority(paths, priority):
    shutil.rmtree(paths.landing)
    truth = generate(paths.landing, entries=80_000, seed=5, effects=Effects(**Effects.options(
        disruptions=True, resumption_priority=priority)))
    assert truth["effects"]["certified_resumption_multiplier"] == (0.4 if priority else 1.0)
    assert paths.run(draw=False).exit_code == 0  # the marts are tested; drawing the six months is test_report's
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        row = con.sql("SELECT * FROM marts.ctpat_benefits WHERE benefit = 'business_resumption_priority' "
                      "AND month = 'ALL'").pl().row(0, named=True)
        claim = con.execute("SELECT verdict FROM marts.ctpat_claims WHERE claim = 'business_resumption_priority' "
                            "AND month = 'ALL'").fetchone()[0]
    if priority:
        assert row["verdict"] == claim == "SUPPORTED", row
        assert row["effect_ci_high"] < row["baseline_effect"] <= 0  # beyond what certified traffic gets anyway
    else:
        assert row["verdict"] != "SUPPORTED" and claim != "SUPPORTED", row
        assert row["effect_ci_low"] < row["baseline_effect"] + 1e-9 or row["effect_ci_low"] < 0 < row["effect_ci_high"]
