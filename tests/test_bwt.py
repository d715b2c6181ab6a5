"""CBP Border Wait Times: the real snapshots, the feed's quirks, zones, de-duplication and the marts."""

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import duckdb
import polars as pl
import pytest

from assets.ingest.bwt import BadSnapshot, parse_snapshot
from assets.ingest.register import ingest_source
from assets.resources import Warehouse
from bwt_builders import FIXTURES, REAL, commercial_port, snapshot_xml

SEP17 = REAL / "bwt_2026-09-17T202057.xml"
SEP09 = REAL / "bwt_2026-09-09T155508.xml"


def _commercial(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("lane_group") == "commercial_vehicle_lanes")


def _raw(tmp_path, path) -> pl.DataFrame:
    """A snapshot as the pipeline loads it: through the real ingest into a scratch warehouse."""
    folder = tmp_path / "bwt"
    folder.mkdir()
    (folder / path.name).write_bytes(path.read_bytes())
    with Warehouse(path=str(tmp_path / "w.duckdb")).session() as con:
        assert ingest_source(con, "bwt", folder)["new_files"] == 1
        return con.sql("SELECT * FROM raw.bwt ORDER BY _row, lane_group, lane").pl()


@pytest.mark.parametrize("path, counts", [
    (SEP17, {("FAST_lanes", "Lanes Closed"): 8, ("FAST_lanes", "N/A"): 52, ("FAST_lanes", "Update Pending"): 15,
             ("FAST_lanes", "delay"): 5, ("FAST_lanes", "no delay"): 5, ("standard_lanes", "Lanes Closed"): 10,
             ("standard_lanes", "N/A"): 23, ("standard_lanes", "Update Pending"): 15, ("standard_lanes", "delay"): 8,
             ("standard_lanes", "no delay"): 29}),
    (SEP09, {("FAST_lanes", "Lanes Closed"): 5, ("FAST_lanes", "N/A"): 53, ("FAST_lanes", "Update Pending"): 14,
             ("FAST_lanes", "delay"): 7, ("FAST_lanes", "no delay"): 6, ("standard_lanes", "Lanes Closed"): 6,
             ("standard_lanes", "N/A"): 22, ("standard_lanes", "Update Pending"): 14, ("standard_lanes", "delay"): 12,
             ("standard_lanes", "no delay"): 31}),
])
def test_every_real_snapshot_parses(tmp_path, path, counts):
    frame = _raw(tmp_path, path)
    assert frame["_row"].n_unique() == 85
    # Every port has 2 commercial, 3 passenger and 2 pedestrian lanes in these files.
    assert frame.height == 85 * 7
    got = _commercial(frame).group_by("lane", "operational_status").len()
    assert {(r["lane"], r["operational_status"]): r["len"] for r in got.iter_rows(named=True)} == counts
    assert frame["snapshot_date"].unique().to_list() == [path.name[4:14].replace("-0", "-")]


def test_exact_readings_of_the_september_17_snapshot(tmp_path):
    frame = _raw(tmp_path, SEP17)
    c = _commercial(frame)
    def lane(number, name):
        return c.filter((pl.col("port_number") == number) & (pl.col("lane") == name)).select(
            "maximum_lanes", "operational_status", "update_time", "delay_minutes", "lanes_open").row(0)
    assert lane("090101", "standard_lanes") == ("8", "delay", "At 8:07 pm EDT", "11", "4")  # Peace Bridge
    assert lane("230404", "standard_lanes") == ("19", "delay", "At 6:00 pm CDT", "20", "13")  # World Trade Bridge
    assert lane("230404", "FAST_lanes") == ("19", "delay", "At 6:00 pm CDT", "10", "3")
    assert lane("240203", "FAST_lanes") == ("8", "delay", "At 6:00 pm MDT", "15", "3")  # Ysleta
    assert lane("380201", "standard_lanes") == ("9", "no delay", "At 8:00 pm EST", "0", "4")  # Port Huron, EST in September
    assert lane("l24501", "FAST_lanes") == ("N/A", "N/A", None, None, None)  # lower-case l; N/A maximum
    assert frame.filter(pl.col("port_number") == "L01901")["crossing_name"].to_list()[0] is None
    assert frame["_snapshot_at"][0] == datetime(2026, 9, 18, 0, 20, 57, tzinfo=timezone.utc)  # 20:20:57 EDT


def test_truncated_json_is_rejected_by_name():
    data = (FIXTURES / "bwtnew_excerpt_truncated.json").read_bytes()
    with pytest.raises(BadSnapshot, match="invalid JSON"):
        parse_snapshot("bwtnew_excerpt_truncated.json", data)


def _deliver(paths, *files):
    folder = paths.landing / "bwt"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        (folder / name).write_bytes(data)


def _table(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).pl()


@pytest.mark.slow
def test_a_truncated_delivery_fails_alone_and_changes_nothing_else(paths):
    _deliver(paths, (SEP17.name, SEP17.read_bytes()), (SEP09.name, SEP09.read_bytes()))
    assert paths.run().exit_code == 0
    marts = ["lane_wait_times", "lane_wait_monthly", "lane_wait_by_hour"]
    before = {m: _table(paths.analytics, f"SELECT * FROM marts.{m} ORDER BY ALL") for m in marts}
    _deliver(paths, ("bwtnew_excerpt_truncated.json", (FIXTURES / "bwtnew_excerpt_truncated.json").read_bytes()))
    outcome = paths.run()
    assert outcome.exit_code == 0, outcome.message
    audit = _table(paths.analytics, "SELECT * FROM marts.load_audit WHERE source = 'bwt' ORDER BY file_name")
    failed = audit.filter(pl.col("file_name") == "bwtnew_excerpt_truncated.json").row(0, named=True)
    assert failed["status"] == "failed" and failed["message"].startswith("cannot be read: invalid JSON")
    assert "invalid JSON" in failed["message"] and failed["rows_loaded"] == 0
    assert audit.filter(pl.col("status") == "loaded")["rows_read"].to_list() == [85, 85]
    for m in marts:
        assert _table(paths.analytics, f"SELECT * FROM marts.{m} ORDER BY ALL").equals(before[m]), m


def test_xml_and_json_forms_of_the_same_readings_give_the_same_staged_rows(paths, tmp_path):
    ports = json.loads((FIXTURES / "bwtnew_complete_ports.json").read_text())
    # The JSON ports say 06:24:07 at Alexandria Bay (EDT) and 03:24:07 at Blaine (PDT): the same instant,
    # which the XML form states as Eastern document time.
    xml = snapshot_xml("2026-8-2", "06:24:07", ports)
    staged = {}
    for name, data in (("snapshot.json", (FIXTURES / "bwtnew_complete_ports.json").read_bytes()), ("snapshot.xml", xml)):
        p = type(paths)(tmp_path / name)
        _deliver(p, (name, data))
        assert p.run().exit_code == 0
        staged[name] = _table(p.warehouse, "SELECT * EXCLUDE (_file_id, _rid, automation_type) FROM staging.stg_bwt_lanes ORDER BY ALL")
    assert staged["snapshot.json"].height == 2 * 7
    assert staged["snapshot.json"].equals(staged["snapshot.xml"])


ZONE_CASES = [  # crossing, the port's date, the feed's update time, the instant in UTC
    ("090101", "1/15/2026", "At 8:07 pm EST", "2026-01-16 01:07:00"),  # Buffalo, winter: EST is right
    ("090101", "7/15/2026", "At 8:07 pm EDT", "2026-07-16 00:07:00"),
    ("230404", "7/15/2026", "At 6:00 pm CDT", "2026-07-15 23:00:00"),  # Laredo
    ("240203", "7/15/2026", "At 6:00 pm MDT", "2026-07-16 00:00:00"),  # El Paso: mountain time
    ("300401", "7/15/2026", "At Noon PDT", "2026-07-15 19:00:00"),  # Blaine
    ("300401", "1/15/2026", "At 5:00 pm PST", "2026-01-16 01:00:00"),
    ("260402", "7/15/2026", "At 5:00 pm MST", "2026-07-16 00:00:00"),  # Nogales: no DST
    ("260101", "9/9/2026", "At 1:00 pm PST", "2026-09-09 20:00:00"),  # Douglas says PST in September: Phoenix time
    ("380201", "9/17/2026", "At 8:00 pm EST", "2026-09-18 00:00:00"),  # Port Huron says EST in September: EDT
    ("260402", "1/15/2026", "At Midnight MST", "2026-01-15 07:00:00"),
    ("999901", "7/15/2026", "At 8:00 pm CDT", "2026-07-16 01:00:00"),  # unknown crossing: the label decides
]


@pytest.fixture(scope="module")
def zone_readings(tmp_path_factory) -> pl.DataFrame:
    """Every zone case read by one run (one run each took 8-16 s): a snapshot file per case, each at
    its own document time, since one crossing's readings in snapshots of the same time count once."""
    from conftest import prepared_paths

    with pytest.MonkeyPatch.context() as mp:
        paths = prepared_paths(tmp_path_factory.mktemp("zones"), mp)
        for i, (number, date, update, _) in enumerate(ZONE_CASES):
            port = commercial_port(number, date, ("no delay", update, "0", "1"))
            _deliver(paths, (f"s{i:02d}.xml", snapshot_xml("2026-1-1", f"00:00:{i:02d}", [port])))
        outcome = paths.run()
    assert outcome.exit_code == 0, outcome.message
    return _table(paths.warehouse, "SELECT port_number, strftime(port_date, '%-m/%-d/%Y') AS date, "
                                   "CAST(timezone('UTC', update_at) AS VARCHAR) AS utc, zone_label_ok "
                                   "FROM facts.fct_lane_readings")


@pytest.mark.parametrize("number, date, update, utc", ZONE_CASES)
def test_update_times_are_read_in_the_crossings_zone(zone_readings, number, date, update, utc):
    rows = zone_readings.filter((pl.col("port_number") == number) & (pl.col("date") == date))
    assert rows.height == 1  # the case's own reading (no two cases share crossing and date)
    assert rows["utc"][0] == utc
    mislabelled = number in ("260101", "380201")
    assert rows["zone_label_ok"][0] is (not mislabelled)


def test_each_bwt_reason_code_rejects_its_port_element(paths):
    ok = ("no delay", "At 1:00 pm CDT", "0", "1")
    ports = [
        commercial_port("230404", "9/1/2026", ok),
        commercial_port("23040", "9/1/2026", ok),  # bad_port_number
        commercial_port("230403", "9/1/2026", ("Open", "At 1:00 pm CDT", "0", "1")),  # unknown_status
        commercial_port("230402", "9/1/2026", ("delay", "At 1:00 pm CDT", "601", "1")),  # bad_delay
        commercial_port("230401", "9/1/2026", ok, ("no delay", "At 1:00 pm CDT", "0", "5"), maximum="4"),  # bad_lanes
        commercial_port("230501", "9/1/2026", ("no delay", "At 13:00 pm CDT", "0", "1")),  # bad_update_time
        commercial_port("230502", "9/1/2026", ("delay", "At 1:00 pm CDT", "1 hrs 35 min", "1")),  # older delay form: valid
    ]
    _deliver(paths, ("a.xml", snapshot_xml("2026-9-1", "14:05:00", ports)),
             ("future.xml", snapshot_xml("2099-9-1", "14:05:00", [commercial_port("230404", "9/1/2099", ok)])))
    assert paths.run(max_reject_share=1.0).exit_code == 0
    rejections = dict(_table(paths.analytics, "SELECT reason, rows FROM marts.rejections WHERE source = 'bwt'").iter_rows())
    assert rejections == {"bad_port_number": 1, "unknown_status": 1, "bad_delay": 1, "bad_lanes": 1,
                          "bad_update_time": 1, "future_snapshot": 1}
    audit = _table(paths.analytics, "SELECT file_name, rows_read, rows_loaded, rows_rejected FROM marts.load_audit ORDER BY 1")
    assert audit.rows() == [("a.xml", 7, 2, 5), ("future.xml", 1, 0, 1)]
    readings = _table(paths.analytics, "SELECT port_number, max_delay_minutes FROM marts.lane_wait_times ORDER BY 1")
    assert readings.rows() == [("230404", 0), ("230502", 95)]


def test_a_snapshot_from_the_future_blocks_at_the_default_threshold(paths):
    port = commercial_port("230404", "9/1/2099", ("no delay", "At 1:00 pm CDT", "0", "1"))
    _deliver(paths, ("future.xml", snapshot_xml("2099-9-1", "14:05:00", [port])))
    outcome = paths.run()
    assert outcome.exit_code == 2 and "future.xml" in outcome.message and "future_snapshot 1" in outcome.message


def _variants():
    """The real snapshots, a re-poll of Sept 17 ten minutes later (same readings), and one twenty minutes
    later where Peace Bridge restates its 8:07 pm reading (14, not 11) and Laredo posts a new one."""
    text = SEP17.read_text()
    repoll = text.replace("<last_updated_time>20:20:57<", "<last_updated_time>20:30:57<")
    later = text.replace("<last_updated_time>20:20:57<", "<last_updated_time>20:40:57<")
    later = later.replace("<update_time>At 8:07 pm EDT</update_time>\n        <delay_minutes>11</delay_minutes>",
                          "<update_time>At 8:07 pm EDT</update_time>\n        <delay_minutes>14</delay_minutes>")
    later = later.replace("<update_time>At 6:00 pm CDT</update_time>\n        <delay_minutes>20</delay_minutes>\n        <lanes_open>13",
                          "<update_time>At 7:00 pm CDT</update_time>\n        <delay_minutes>25</delay_minutes>\n        <lanes_open>13")
    assert later.count("<delay_minutes>14<") == 1 and "At 7:00 pm CDT</update_time>\n        <delay_minutes>25" in later
    return {SEP09.name: SEP09.read_bytes(), SEP17.name: SEP17.read_bytes(), "bwt_repoll.xml": repoll.encode(),
            "bwt_later.xml": later.encode(), "bwt_repoll_copy.xml": repoll.encode()}


def independent_lane_waits(snapshots: dict[str, bytes]) -> pl.DataFrame:
    """lane_wait_times from the XML with ElementTree and Polars, sharing nothing with the pipeline."""
    rows = []
    for data in snapshots.values():
        root = ET.fromstring(data)
        doc = (root.findtext("last_updated_date"), root.findtext("last_updated_time"))
        snapshot = datetime.strptime(" ".join(doc), "%Y-%m-%d %H:%M:%S")
        for port in root.iter("port"):
            day = datetime.strptime(port.findtext("date"), "%m/%d/%Y").date()
            for lane_tag, lane in (("standard_lanes", "STANDARD"), ("FAST_lanes", "FAST")):
                el = port.find(f"commercial_vehicle_lanes/{lane_tag}")
                rows.append({"port_number": port.findtext("port_number"), "date": day, "lane": lane,
                             "status": el.findtext("operational_status"), "update_time": el.findtext("update_time"),
                             "delay": el.findtext("delay_minutes"), "snapshot": snapshot})
    lanes = pl.DataFrame(rows).unique()  # the same snapshot delivered twice counts once
    readings = (lanes.filter(pl.col("status").is_in(["delay", "no delay"]))
                .sort("snapshot").group_by("port_number", "date", "lane", "update_time")
                .agg(pl.col("delay").last().cast(pl.Int64)))
    stats = readings.group_by("port_number", "date", "lane").agg(
        pl.len().alias("readings"), pl.col("delay").mean().alias("mean_delay_minutes"),
        pl.col("delay").quantile(0.5, interpolation="linear").alias("median_delay_minutes"),
        pl.col("delay").max().alias("max_delay_minutes"))
    closed = lanes.filter(pl.col("status") == "Lanes Closed").group_by("port_number", "date", "lane").agg(
        pl.col("snapshot").n_unique().alias("closed_snapshots"))
    return stats.join(closed, on=["port_number", "date", "lane"], how="full", coalesce=True).with_columns(
        pl.col("readings").fill_null(0), pl.col("closed_snapshots").fill_null(0))


def test_lane_wait_mart_equals_an_independent_computation(paths):
    from independent import assert_frames_match

    snapshots = _variants()
    _deliver(paths, *snapshots.items())
    assert paths.run().exit_code == 0
    expected = independent_lane_waits(snapshots)
    published = _table(paths.analytics, "SELECT * FROM marts.lane_wait_times").select(expected.columns)
    assert_frames_match(expected, published, ["port_number", "date", "lane"], "lane_wait_times")
    peace = published.filter((pl.col("port_number") == "090101") & (pl.col("lane") == "STANDARD")
                             & (pl.col("date") == datetime(2026, 9, 17).date())).row(0, named=True)
    assert (peace["readings"], peace["max_delay_minutes"]) == (1, 14)  # repeated reading counted once; latest wins
    laredo = published.filter((pl.col("port_number") == "230404") & (pl.col("lane") == "STANDARD")
                              & (pl.col("date") == datetime(2026, 9, 17).date())).row(0, named=True)
    assert laredo["readings"] == 2
    ambassador_fast = published.filter((pl.col("port_number") == "380001") & (pl.col("lane") == "FAST")
                                       & (pl.col("date") == datetime(2026, 9, 17).date())).row(0, named=True)
    assert ambassador_fast["closed_snapshots"] == 3  # closed in three distinct snapshots (the copy counts once)
    for chart in ("fast_vs_standard_by_crossing.png", "fast_vs_standard_by_hour.png"):
        assert (paths.reports / "border_waits" / chart).read_bytes()[:4] == b"\x89PNG"


def test_rescans_hash_only_new_or_changed_files(tmp_path, monkeypatch):
    import gzip
    import os

    import assets.ingest.register as register

    folder = tmp_path / "bwt"
    folder.mkdir()
    (folder / SEP17.name).write_bytes(SEP17.read_bytes())
    (folder / "sep09.xml.gz").write_bytes(gzip.compress(SEP09.read_bytes()))
    with Warehouse(path=str(tmp_path / "w.duckdb")).session() as con:
        assert ingest_source(con, "bwt", folder)["new_files"] == 2
        hashed = []
        monkeypatch.setattr(register, "content_hash", lambda p: hashed.append(p.name) or "x")
        assert ingest_source(con, "bwt", folder) == {"new_files": 0, "duplicates": 0, "failed": 0, "rows_read": 0}
        assert hashed == []
        os.utime(folder / SEP17.name, ns=(1, 1))  # touched: hashed again
        monkeypatch.undo()
        assert ingest_source(con, "bwt", folder)["new_files"] == 0
        ports = con.execute("SELECT count(DISTINCT _rid) FROM raw.bwt").fetchone()[0]
    assert ports == 170
