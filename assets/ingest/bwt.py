"""CBP Border Wait Times feed snapshots: the XML document (`bwt.xml`, root `border_wait_time`) and
the JSON array of `/api/bwtnew`, parsed with real parsers into one row per port element x lane.

Every value stays text as published (`N/A`, `Lanes Closed`, `At Noon PDT`); the rules in
expectations/bwt.json and the models in sql/ read them. Two bookkeeping columns are added:
`_snapshot_at`, the document time as an instant, and `_loaded_at`, when the file was read.

Document time: XML gives `last_updated_date` + `last_updated_time` as US Eastern wall time (CBP's
own clock; in the bundled snapshots ports report update times just before it in EDT). JSON has no
document time; each port carries `date` + `time` in its own zone, all naming the same instant, so the
first port whose crossing maps to a Schedule D port gives it.
"""

from __future__ import annotations

import csv
import gzip
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo

import polars as pl

from assets.resources import reference_file

BWT_SUFFIXES = (".xml", ".json", ".xml.gz", ".json.gz")
DOCUMENT_ZONE = ZoneInfo("America/New_York")
LANE_GROUPS = {  # group element -> lane elements it may hold
    "commercial_vehicle_lanes": ("standard_lanes", "FAST_lanes"),
    "passenger_vehicle_lanes": ("standard_lanes", "NEXUS_SENTRI_lanes", "ready_lanes"),
    "pedestrian_lanes": ("standard_lanes", "ready_lanes"),
}
AUTOMATION = {"commercial_vehicle_lanes": "commercial_automation_type",
              "passenger_vehicle_lanes": "passenger_automation_type",
              "pedestrian_lanes": "pedestrain_automation_type"}  # CBP's spelling
PORT_FIELDS = ["port_number", "border", "port_name", "crossing_name", "hours", "date", "time", "port_status",
               "construction_notice"]
LANE_FIELDS = ["maximum_lanes", "operational_status", "update_time", "delay_minutes", "lanes_open"]
BWT_COLUMNS = ["snapshot_date", "snapshot_time", *PORT_FIELDS, "automation_type", "lane_group", "lane", *LANE_FIELDS]


class BadSnapshot(Exception):
    """The document cannot be read (invalid XML or JSON, wrong root, no document time)."""


@cache
def crossing_zones() -> dict[str, str]:
    """BWT crossing number -> IANA zone of its Schedule D port (where the port is known)."""
    with open(reference_file("schedule_d_ports.csv"), newline="") as fh:
        zones = {r["port_code"]: r["time_zone"] for r in csv.DictReader(fh)}
    with open(reference_file("bwt_crossings.csv"), newline="") as fh:
        return {r["bwt_port_number"]: zones[r["port_code"]] for r in csv.DictReader(fh) if r["port_code"] in zones}


def _text(value) -> str | None:
    """Feed values as text; empty elements and "" are missing."""
    if value is None:
        return None
    value = value if isinstance(value, str) else str(value)
    return value if value.strip() else None


def _xml_ports(data: bytes) -> tuple[str | None, str | None, list[dict]]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BadSnapshot(f"invalid XML: {exc}") from exc
    if root.tag != "border_wait_time":
        raise BadSnapshot(f"root element is <{root.tag}>, not <border_wait_time>")
    ports = []
    for port in root.iter("port"):
        record = {f: _text(port.findtext(f)) for f in PORT_FIELDS}
        record.update({a: _text(port.findtext(a)) for a in AUTOMATION.values()})
        for group in LANE_GROUPS:
            element = port.find(group)
            if element is None:
                continue
            record[group] = {"maximum_lanes": element.findtext("maximum_lanes"),
                             **{child.tag: {f: child.findtext(f) for f in LANE_FIELDS[1:]}
                                for child in element if child.tag != "maximum_lanes"}}
        ports.append(record)
    return _text(root.findtext("last_updated_date")), _text(root.findtext("last_updated_time")), ports


def _json_ports(data: bytes) -> list[dict]:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadSnapshot(f"invalid JSON: {exc}") from exc
    if not isinstance(document, list) or not all(isinstance(p, dict) for p in document):
        raise BadSnapshot("JSON is not an array of port objects")
    return document


def _document_time(kind: str, date_text, time_text, ports: list[dict]) -> datetime:
    if kind == "xml":
        try:
            local = datetime.strptime(f"{date_text} {time_text}", "%Y-%m-%d %H:%M:%S")
        except (TypeError, ValueError) as exc:
            raise BadSnapshot(f"no readable document time (last_updated_date {date_text!r}, "
                              f"last_updated_time {time_text!r})") from exc
        return local.replace(tzinfo=DOCUMENT_ZONE)
    zones = crossing_zones()
    for port in ports:
        zone = zones.get(_text(port.get("port_number")) or "")
        try:
            local = datetime.strptime(f"{port.get('date')} {port.get('time')}", "%m/%d/%Y %H:%M:%S")
        except (TypeError, ValueError):
            continue
        if zone:
            return local.replace(tzinfo=ZoneInfo(zone))
    raise BadSnapshot("no port with a readable date and time at a known crossing")


def parse_snapshot(name: str, data: bytes, loaded_at: datetime) -> tuple[pl.DataFrame, int]:
    """One row per port element x lane element (`_row` numbers the port elements from 1), and the
    number of port elements. A port element without any lane still gets a row, so nothing is lost."""
    if name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise BadSnapshot(f"cannot decompress: {exc}") from exc
    kind = "xml" if name.removesuffix(".gz").endswith(".xml") else "json"
    if kind == "xml":
        doc_date, doc_time, ports = _xml_ports(data)
    else:
        doc_date, doc_time, ports = None, None, _json_ports(data)
    snapshot_at = _document_time(kind, doc_date, doc_time, ports).astimezone(timezone.utc)
    rows = []
    for position, port in enumerate(ports, start=1):
        head = [doc_date, doc_time, *(_text(port.get(f)) for f in PORT_FIELDS)]
        lanes_before = len(rows)
        for group, lanes in LANE_GROUPS.items():
            element = port.get(group)
            if not isinstance(element, dict):
                continue
            maximum = _text(element.get("maximum_lanes"))
            for lane in lanes:
                values = element.get(lane)
                if isinstance(values, dict):
                    rows.append((position, *head, _text(port.get(AUTOMATION[group])), group, lane, maximum,
                                 *(_text(values.get(f)) for f in LANE_FIELDS[1:])))
        if len(rows) == lanes_before:
            rows.append((position, *head, None, None, None, None, None, None, None, None))
    frame = pl.DataFrame(rows, schema=["_row", *BWT_COLUMNS], orient="row",
                         schema_overrides={c: pl.String for c in BWT_COLUMNS} | {"_row": pl.Int64})
    return frame.with_columns(pl.lit(snapshot_at).alias("_snapshot_at"), pl.lit(loaded_at).alias("_loaded_at")), len(ports)


