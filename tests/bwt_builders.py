"""Border Wait Times snapshots for tests, written as CBP publishes them (test-side code, not the parser)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

REAL = Path(__file__).resolve().parent.parent / "assets" / "reference" / "bwt_snapshots"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bwt"
GROUPS = ("commercial_vehicle_lanes", "passenger_vehicle_lanes", "pedestrian_lanes")
LANE_FIELDS = ("operational_status", "update_time", "delay_minutes", "lanes_open")


def _sub(parent, tag, text=None):
    element = ET.SubElement(parent, tag)
    element.text = text or None
    return element


def snapshot_xml(doc_date: str, doc_time: str, ports: list[dict]) -> bytes:
    """An XML document from port dicts shaped like the JSON feed's port objects."""
    root = ET.Element("border_wait_time")
    _sub(root, "last_updated_date", doc_date)
    _sub(root, "last_updated_time", doc_time)
    _sub(root, "number_of_ports", str(len(ports)))
    for p in ports:
        port = _sub(root, "port")
        for field in ("port_number", "border", "port_name", "crossing_name", "hours", "date", "port_status"):
            _sub(port, field, p.get(field))
        for group in GROUPS:
            if group not in p:
                continue
            element = _sub(port, group)
            _sub(element, "maximum_lanes", p[group].get("maximum_lanes"))
            for lane, values in p[group].items():
                if lane == "maximum_lanes":
                    continue
                lane_element = _sub(element, lane)
                for field in LANE_FIELDS:
                    _sub(lane_element, field, values.get(field))
        _sub(port, "construction_notice", p.get("construction_notice"))
    return ET.tostring(root)


def commercial_port(number: str, date: str, standard: tuple, fast: tuple | None = None, maximum: str = "4") -> dict:
    """A port with commercial lanes only; a lane is (status, update_time, delay, lanes_open)."""
    def lane(values):
        return dict(zip(LANE_FIELDS, values)) if values else {"operational_status": "N/A"}
    return {"port_number": number, "border": "Mexican Border", "port_name": "Test", "crossing_name": "Test crossing",
            "hours": "24 hrs/day", "date": date, "port_status": "Open",
            "commercial_vehicle_lanes": {"maximum_lanes": maximum, "standard_lanes": lane(standard),
                                         "FAST_lanes": lane(fast)}}
