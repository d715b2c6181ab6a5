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
import json
import zlib
from datetime import datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo

import polars as pl
from lxml import etree

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


# No entity expansion, no network: a feed document is untrusted input.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)
_PORT_INDEX = {f: i for i, f in enumerate(PORT_FIELDS)} | {tag: len(PORT_FIELDS) + i for i, tag in enumerate(AUTOMATION.values())}
PORT_COLUMNS = ["_row", "snapshot_date", "snapshot_time", *PORT_FIELDS, *AUTOMATION]  # automation type per lane group
LANE_COLUMNS = ["_row", "lane_group", "lane", *LANE_FIELDS]


def _xml_rows(data: bytes) -> tuple[str | None, str | None, list[tuple], list[list]]:
    """Port rows and lane columns straight from the XML tree (empty elements are None): the hot path
    of a feed poller, so each value is touched once and lanes are gathered column by column."""
    try:
        root = etree.fromstring(data, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadSnapshot(f"invalid XML: {exc}") from exc
    if root.tag != "border_wait_time":
        raise BadSnapshot(f"root element is <{root.tag}>, not <border_wait_time>")
    doc_date, doc_time = root.findtext("last_updated_date"), root.findtext("last_updated_time")
    ports = []
    lanes = [[] for _ in LANE_COLUMNS]
    row, group_of, lane_of, maximum_of, status, update, delay, lanes_open = lanes
    usual_order = LANE_FIELDS[1:]
    for position, port in enumerate(root.iterchildren("port"), start=1):
        fields = [None] * len(_PORT_INDEX)
        for child in port:
            tag = child.tag
            if tag in LANE_GROUPS:
                maximum = child.findtext("maximum_lanes")
                for lane in child:
                    if lane.tag in LANE_GROUPS[tag]:
                        values = [f.text for f in lane]
                        if [f.tag for f in lane] != usual_order:  # CBP's usual order, else look up by name
                            by_tag = {f.tag: f.text for f in lane}
                            values = [by_tag.get(f) for f in usual_order]
                        row.append(position)
                        group_of.append(tag)
                        lane_of.append(lane.tag)
                        maximum_of.append(maximum)
                        status.append(values[0])
                        update.append(values[1])
                        delay.append(values[2])
                        lanes_open.append(values[3])
            elif tag in _PORT_INDEX:
                fields[_PORT_INDEX[tag]] = child.text
        ports.append((position, doc_date, doc_time, *fields))
    return doc_date, doc_time, ports, lanes


def _json_ports(data: bytes) -> list[dict]:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadSnapshot(f"invalid JSON: {exc}") from exc
    except RecursionError as exc:  # a document nested thousands deep is no feed snapshot
        raise BadSnapshot("invalid JSON: nested too deeply") from exc
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
        zone = zones.get(port.get("port_number") or "")
        try:
            local = datetime.strptime(f"{port.get('date')} {port.get('time')}", "%m/%d/%Y %H:%M:%S")
        except (TypeError, ValueError):
            continue
        if zone:
            return local.replace(tzinfo=ZoneInfo(zone))
    raise BadSnapshot("no port with a readable date and time at a known crossing")


def _json_rows(document: list[dict]) -> tuple[list[tuple], list[list]]:
    ports, lanes = [], [[] for _ in LANE_COLUMNS]
    for position, port in enumerate(document, start=1):
        ports.append((position, None, None, *(_str(port.get(f)) for f in PORT_FIELDS),
                      *(_str(port.get(a)) for a in AUTOMATION.values())))
        for group, names in LANE_GROUPS.items():
            element = port.get(group)
            if not isinstance(element, dict):
                continue
            for lane in names:
                v = element.get(lane)
                if isinstance(v, dict):
                    values = (position, group, lane, _str(element.get("maximum_lanes")),
                              *(_str(v.get(f)) for f in LANE_FIELDS[1:]))
                    for column, value in zip(lanes, values):
                        column.append(value)
    return ports, lanes


def _str(value) -> str | None:
    return None if value is None else str(value)


# A feed snapshot is about 200 KB; a document larger than this once decompressed is refused whatever
# the file cap (it is parsed whole in memory).
MAX_SNAPSHOT_BYTES = 64 << 20


def parse_snapshot(name: str, data: bytes) -> tuple[list[tuple], list[list], datetime]:
    """Port rows (PORT_COLUMNS) and lane columns (LANE_COLUMNS) of one snapshot, values as published,
    and the document time as a UTC instant. `_row` numbers the port elements from 1. A `.gz`
    snapshot is decompressed with a bound (MAX_SNAPSHOT_BYTES): a decompression bomb fails alone."""
    if name.endswith(".gz"):
        data = _gunzip(data, MAX_SNAPSHOT_BYTES)
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise BadSnapshot(f"larger than {MAX_SNAPSHOT_BYTES:,} bytes")
    if name.removesuffix(".gz").endswith(".xml"):
        doc_date, doc_time, ports, lanes = _xml_rows(data)
        snapshot_at = _document_time("xml", doc_date, doc_time, [])
    else:
        document = _json_ports(data)
        ports, lanes = _json_rows(document)
        snapshot_at = _document_time("json", None, None, document)
    return ports, lanes, snapshot_at.astimezone(timezone.utc)


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompressed bytes of every gzip member, refusing more than `limit` of them (never holding
    more than that)."""
    out, rest = [], data
    size = 0
    while rest:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            part = inflate.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise BadSnapshot(f"cannot decompress: {exc}") from exc
        size += len(part)
        out.append(part)
        if size > limit:
            raise BadSnapshot(f"expands past {limit:,} bytes")
        if not inflate.eof:
            raise BadSnapshot("cannot decompress: the gzip stream is truncated")
        rest = inflate.unused_data  # another member follows (concatenated gzip files are one stream)
    return b"".join(out)


def columns_frame(columns: list[list], names: list[str], extra: dict | None = None) -> pl.DataFrame:
    """Columns as a frame of text columns (`_row` an integer)."""
    return pl.DataFrame({n: pl.Series(n, c, dtype=pl.Int64 if n == "_row" else pl.String)
                         for n, c in zip(names, columns)}).with_columns(**(extra or {}))
