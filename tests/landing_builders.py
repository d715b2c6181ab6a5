"""Hand-built landing files for the bad-input tests: one valid base row, then one defect per reason code."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from assets.ingest.files import SOURCE_COLUMNS
from pipelines.sample_data import check_digits


def entry_number(filer: str, serial: int, dashed: bool = True) -> str:
    base = f"{filer}{serial:07d}"
    digit = int(check_digits(np.frombuffer(base.encode(), dtype=np.uint8).reshape(1, 10))[0])
    return f"{filer}-{serial:07d}-{digit}" if dashed else f"{base}{digit}"


def entry(serial: int, **changes) -> dict:
    row = {"entry_number": entry_number("B7X", serial), "entry_type": "01", "importer_number": "12-3456789AB",
           "port_code": "2304", "mode_of_transport": "30", "lane_type": "FAST", "carrier_code": "SWFT",
           "country_of_origin": "MX", "hts_number": "8471.30.0100", "entered_value_usd": "1520.00",
           "arrival_at": "2026-03-02T10:00:00-06:00", "release_at": "2026-03-02T12:30:00-06:00"}
    row.update(changes)
    return row


def exam(exam_id: str, serial: int, **changes) -> dict:
    row = {"exam_id": exam_id, "entry_number": entry_number("B7X", serial), "exam_type": "NII", "exam_location": "PORT",
           "selected_at": "2026-03-02T10:10:00-06:00", "started_at": "2026-03-02T11:00:00-06:00",
           "completed_at": "2026-03-02T11:40:00-06:00", "outcome": "NO_DISCREPANCY"}
    row.update(changes)
    return row


def ctpat(partner: str, **changes) -> dict:
    row = {"partner_id": partner, "partner_type": "IMPORTER", "status": "CERTIFIED", "tier": "2",
           "valid_from": "2024-01-01", "valid_to": ""}
    row.update(changes)
    return row


ENTRY_DEFECTS = {  # reason code -> the row that earns it (serials 100+ are the defect rows)
    "bad_entry_number": entry(101, entry_number="B7-0000101-1"),
    "bad_check_digit": entry(102, entry_number=entry_number("B7X", 102)[:-1] + str((int(entry_number("B7X", 102)[-1]) + 1) % 10)),
    "unknown_entry_type": entry(103, entry_type="99"),
    "bad_importer_number": entry(104, importer_number="12-3456789"),
    "unknown_port": entry(105, port_code="9999", country_of_origin="mex"),  # two defects: the first in order wins
    "unknown_mode": entry(106, mode_of_transport="99"),
    "bad_lane_type": entry(107, lane_type="fast"),
    "bad_carrier_code": entry(108, carrier_code="SW1"),
    "bad_country": entry(109, country_of_origin="mx"),
    "bad_hts_number": entry(110, hts_number="8471.30.01"),
    "bad_value": entry(111, entered_value_usd="-1"),
    "timestamp_without_offset": entry(112, arrival_at="2026-03-02T10:00:00"),
    "bad_timestamp": entry(113, release_at="2026-03-32T10:00:00Z"),
    "release_before_arrival": entry(114, release_at="2026-03-02T09:59:59-06:00"),
}
EXAM_DEFECTS = {
    "bad_exam_id": exam("", 1),
    "bad_entry_number": exam("X101", 1, entry_number="B7X-1-0"),
    "bad_check_digit": exam("X102", 1, entry_number=entry_number("B7X", 1, dashed=False)[:-1] + "0"
                            if entry_number("B7X", 1)[-1] != "0" else entry_number("B7X", 1, dashed=False)[:-1] + "1"),
    "unknown_exam_type": exam("X103", 1, exam_type="XRAY"),
    "unknown_exam_location": exam("X104", 1, exam_location="port"),
    "timestamp_without_offset": exam("X105", 1, started_at="2026-03-02T11:00:00"),
    "bad_timestamp": exam("X106", 1, selected_at=""),
    "started_before_selected": exam("X107", 1, started_at="2026-03-02T10:00:00-06:00"),
    "completed_without_start": exam("X108", 1, started_at=""),
    "completed_before_started": exam("X109", 1, completed_at="2026-03-02T10:59:00-06:00"),
    "unknown_outcome": exam("X110", 1, outcome="CLEAR"),
}
CTPAT_DEFECTS = {
    "unknown_partner_type": ctpat("SWFT", partner_type="TRUCKER", tier=""),
    "unknown_status": ctpat("12-0000001AA", status="ACTIVE"),
    "bad_tier": ctpat("12-0000002AA", tier="4"),
    "bad_date": ctpat("12-0000003AA", valid_from="2024-02-30"),
}


def write_csv(path: Path, rows: list[dict], columns: list[str] | None = None, extra_lines: list[str] = ()) -> Path:
    columns = columns or list(rows[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        for line in extra_lines:
            fh.write(line + "\n")
    return path


def good_entries(serials) -> list[dict]:
    return [entry(s) for s in serials]


assert set(SOURCE_COLUMNS["entries"]) == set(entry(1))
