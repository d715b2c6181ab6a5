"""The hostile corpus: files an attacker, a broken export or a careless broker delivers, each with
the outcome docs/contract.md gives it. Every case writes its own file into the landing zone with
entry serials of its own, so one run takes them all at once and each file's audit row can be
checked alone; `rows` is what the case wrote (conservation is checked against it, not only against
the audit's own totals)."""

from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import polars as pl

from assets.ingest.files import SOURCE_COLUMNS
from landing_builders import entry, entry_number, exam

IMPORTER_IN_NAME = "56-1941273V3"  # a broker's per-client export is named after the client's importer number


@dataclass
class Case:
    name: str  # the case's id in the test report
    source: str
    file_name: str | bytes  # bytes: a name that is not UTF-8
    write: Callable[[Path], None]  # writes the file's content to the given path
    status: str  # the audit's status (loaded, failed)
    rows: int = 0  # data rows the case wrote (rows_read must equal it)
    rejected: dict[str, int] = field(default_factory=dict)  # reason code -> rows
    message: str | None = None  # a piece of the audit message (failed files)
    audit_name: str | None = None  # the name as the audit shows it, when not the file name

    @property
    def shown_name(self) -> str:
        return self.audit_name or (self.file_name if isinstance(self.file_name, str) else self.file_name.decode())


def _lines(rows: list[dict], columns: list[str] | None = None, newline: str = "\n") -> str:
    out = io.StringIO()
    columns = columns or list(rows[0])
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator=newline)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _entries(base: int, n: int, **changes) -> list[dict]:
    return [entry(base + i, **changes) for i in range(n)]


def text(content: str | bytes, compress: bool = False) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(gzip.compress(data) if compress else data)
    return write


def with_line(base: int, n: int, at: int, line: str, newline: str = "\n") -> str:
    """n good entries with `line` put in place of data line `at` (1 = first data line)."""
    lines = _lines(_entries(base, n), newline=newline).split(newline)
    lines[at] = line
    return newline.join(lines)


def parquet_ns(rows: list[dict]) -> Callable[[Path], None]:
    """Entries whose instants are Parquet TIMESTAMP WITH TIME ZONE in nanoseconds (pandas' default)."""
    def write(path: Path) -> None:
        pl.DataFrame(rows).with_columns(
            pl.col("arrival_at").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC").cast(pl.Datetime("ns", "UTC")),
            pl.col("release_at").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC")
            .cast(pl.Datetime("ns", "UTC")).dt.convert_time_zone("America/Chicago")).write_parquet(path)
    return write


def cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    # 1. Values a rule accepts must fit the warehouse; instants far outside the data's years are typos.
    add(Case("huge_value", "entries", "huge_value.csv", text(_lines(_entries(100, 3, entered_value_usd="12345678901234567"))),
             "loaded", 3))
    add(Case("year_9999", "entries", "year_9999.csv",
             text(_lines(_entries(200, 2) + [entry(202, arrival_at="9999-03-02T10:00:00-06:00",
                                                   release_at="9999-03-02T12:00:00-06:00")])),
             "loaded", 3, {"bad_timestamp": 1}))
    add(Case("year_0001", "entries", "year_0001.csv",
             text(_lines(_entries(300, 2) + [entry(302, arrival_at="0001-03-02T10:00:00-06:00",
                                                   release_at="0001-03-02T12:00:00-06:00")])),
             "loaded", 3, {"bad_timestamp": 1}))
    # The earliest instant the contract accepts is in local month 1999-12 at US ports: a partition.
    add(Case("first_instant", "entries", "first_instant.csv",
             text(_lines([entry(350, arrival_at="2000-01-01T00:00:00Z", release_at="2000-01-01T02:00:00Z"),
                          entry(351, arrival_at="1999-12-31T23:59:59Z", release_at="2000-01-01T02:00:00Z")])),
             "loaded", 2, {"bad_timestamp": 1}))
    # 13. Offsets must be within +-14:00 with minutes 00-59.
    add(Case("offsets", "entries", "offsets.csv",
             text(_lines([entry(400, arrival_at="2026-03-02T10:00:00+24:00"), entry(401, arrival_at="2026-03-02T10:00:00+14:60"),
                          entry(402, arrival_at="2026-03-02T10:00:00+99:99"), entry(403, arrival_at="2026-03-02T10:00:00+14:30"),
                          entry(404, arrival_at="2026-03-02T10:00:00+14:00", release_at="2026-03-03T12:00:00+14:00"),
                          entry(405, arrival_at="2026-03-02T10:00:00-12:00", release_at="2026-03-02T12:00:00-12:00")])),
             "loaded", 6, {"bad_timestamp": 4}))
    # 2. Long headers and lines.
    long_column = "x" * 200_000
    add(Case("header_200k", "entries", "header_200k.csv",
             text(_lines([{**e, long_column: "1"} for e in _entries(500, 3)])), "loaded", 3))
    add(Case("header_over_1mib", "entries", "header_over_1mib.csv",
             text(_lines([{**e, "y" * (1 << 20): "1"} for e in _entries(600, 3)])), "failed", 0,
             message="header"))
    add(Case("field_200k", "entries", "field_200k.csv",
             text(_lines(_entries(700, 3) + [entry(703, carrier_code="A" * 200_000)])), "loaded", 4,
             {"bad_carrier_code": 1}))
    add(Case("line_over_1mib", "entries", "line_over_1mib.csv",
             text(_lines(_entries(800, 3) + [entry(803, carrier_code="A" * (1 << 20))] + _entries(804, 2))), "loaded", 6,
             {"malformed_line": 1}))
    # 3. A stray quote costs only the line that opened it.
    stray = '"' + ",".join(entry(0).values())  # an opening quote that never closes
    add(Case("stray_quote_line_991", "entries", "stray_quote_line_991.csv",
             text(with_line(1000, 1000, 991, stray.replace(entry_number("B7X", 0), entry_number("B7X", 1990)))),
             "loaded", 1000, {"malformed_line": 1}))
    add(Case("stray_quote_line_10", "entries", "stray_quote_line_10.csv",
             text(with_line(3000, 1000, 10, stray.replace(entry_number("B7X", 0), entry_number("B7X", 3009)))),
             "loaded", 1000, {"malformed_line": 1}))
    # 4. One odd line costs only itself.
    mixed = _lines(_entries(5000, 6), newline="\r\n").split("\r\n")
    add(Case("mixed_crlf_lf_short_line", "entries", "mixed_crlf_lf.csv",
             text("\r\n".join(mixed[:3]) + "\n" + "\n".join(mixed[3:5]) + "\ntoo,few\r\n" + "\r\n".join(mixed[5:])),
             "loaded", 7, {"malformed_line": 1}))
    add(Case("byte_order_mark", "entries", "byte_order_mark.csv", text(b"\xef\xbb\xbf" + _lines(_entries(5100, 4)).encode()),
             "loaded", 4))
    latin = _lines(_entries(5200, 5)).encode().split(b"\n")
    latin[2] = latin[2].replace(b"SWFT", b"S\xe9FT")
    add(Case("latin1_byte", "entries", "latin1_byte.csv", text(b"\n".join(latin)), "loaded", 5, {"malformed_line": 1}))
    add(Case("embedded_newline", "entries", "embedded_newline.csv",
             text(_lines(_entries(5300, 2) + [entry(5302, carrier_code="SW\nFT")])), "loaded", 3, {"bad_carrier_code": 1}))
    add(Case("nul_byte", "entries", "nul_byte.csv",
             text(_lines(_entries(5400, 2) + [entry(5402, carrier_code="SW\x00T")])), "loaded", 3, {"bad_carrier_code": 1}))
    columns = list(reversed(SOURCE_COLUMNS["entries"])) + ["broker_note"]
    add(Case("reordered_extra_columns", "entries", "reordered_extra_columns.csv",
             text(_lines([{**e, "broker_note": "ok"} for e in _entries(5500, 3)], columns)), "loaded", 3))
    add(Case("formula", "entries", "formula.csv",
             text(_lines(_entries(5600, 2) + [entry(5602, hts_number='=HYPERLINK("http://x","y")')])), "loaded", 3,
             {"bad_hts_number": 1}))
    add(Case("look_alike_digits", "entries", "look_alike_digits.csv",
             text(_lines(_entries(5700, 2) + [entry(5702, entry_number="B7X-\uff10\uff10\uff10\uff15\uff17\uff10\uff12-\uff11")])),
             "loaded", 3, {"bad_entry_number": 1}))
    add(Case("leap_second", "entries", "leap_second.csv",
             text(_lines(_entries(5800, 2) + [entry(5802, release_at="2026-03-02T23:59:60-06:00")])), "loaded", 3,
             {"bad_timestamp": 1}))
    # A local time that does not exist (the DST gap) is still one instant when its offset is given.
    add(Case("dst_gap", "entries", "dst_gap.csv",
             text(_lines([entry(5900, arrival_at="2026-03-08T02:30:00-06:00", release_at="2026-03-08T04:30:00-05:00")])),
             "loaded", 1))
    # 2, 6, 14. File names: SQL, shell, a byte that is not UTF-8, a newline, an importer number.
    good = lambda base: text(_lines(_entries(base, 2)))  # noqa: E731
    add(Case("sql_in_name", "entries", "x'); DROP TABLE meta.files; --.csv", good(6000), "loaded", 2))
    add(Case("shell_in_name", "entries", "$(touch pwned) `id`.csv", good(6100), "loaded", 2))
    add(Case("non_utf8_name", "entries", b"entr\xffes.csv", good(6200), "loaded", 2, audit_name="entr\\xffes.csv"))
    add(Case("newline_in_name", "entries", "two\nlines.csv", good(6300), "loaded", 2))
    add(Case("importer_number_in_name", "entries", f"{IMPORTER_IN_NAME}.csv", good(6400), "loaded", 2,
             audit_name="<pseudonym>.csv"))
    # 8. Compressed and binary files that are not what they claim.
    add(Case("truncated_gzip", "entries", "truncated.csv.gz",
             lambda p: p.write_bytes(gzip.compress(_lines(_entries(6500, 50)).encode())[:-40]), "failed",
             message="truncated"))
    add(Case("fake_gzip", "entries", "fake.csv.gz", good(6600), "failed", message="gzip"))
    add(Case("corrupt_parquet", "entries", "corrupt.parquet",
             lambda p: p.write_bytes(b"PAR1" + os.urandom(200) + b"PAR1"), "failed", message="cannot be read"))
    # 5. Parquet instants in nanoseconds with a zone (pandas' default) are instants.
    add(Case("parquet_timestamptz_ns", "entries", "timestamptz_ns.parquet", parquet_ns(_entries(6700, 3)), "loaded", 3))
    # 9. An empty exam id is bad_exam_id, however many there are and in whatever order they come.
    add(Case("empty_exam_ids", "exams", "empty_exam_ids.csv",
             text(_lines([exam("", 1), exam("H1", 2), exam("", 3, exam_type="TAILGATE")])), "loaded", 3, {"bad_exam_id": 2}))
    # Border Wait Times: a document nested 200,000 deep, XML entity attacks.
    add(Case("deep_json", "bwt", "bwt_deep.json", text("[" * 200_000 + "]" * 200_000), "failed", message="cannot be read"))
    add(Case("billion_laughs", "bwt", "bwt_laughs.xml", text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><border_wait_time><port>&lol3;</port>'
        '</border_wait_time>'), "failed", message="cannot be read"))
    add(Case("xxe", "bwt", "bwt_xxe.xml", text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><border_wait_time><port>&e;</port>'
        '</border_wait_time>'), "failed", message="cannot be read"))
    return c


def deliver(landing: Path, case: Case) -> Path:
    folder = landing / case.source
    folder.mkdir(parents=True, exist_ok=True)
    name = case.file_name if isinstance(case.file_name, bytes) else case.file_name.encode()
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))
    case.write(path)
    return path
