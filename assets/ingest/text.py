"""Reading a delivered CSV (or CSV.gz) so that a broken line costs only itself, in bounded memory.

The contract's rules (docs/contract.md, landing zone): a UTF-8 byte order mark is ignored; lines
end in LF or CRLF, mixed; quoted fields may span lines; a line with the wrong number of fields, a
quote still open at the end of the file (only the line that opened it), bytes that are not UTF-8,
or a line longer than 1 MiB is one `malformed_line` row and the rest of the file loads; a header
longer than 1 MiB, or a file that expands past the configured cap, fails the file.

Two readers give every line a fate:
- DuckDB's CSV reader, fast, for files it reads in full: its good rows plus its rejected lines
  must account for every record line of the file (counted here while checking the cap), else
- `records()`, a streaming reader in Python: lines are read with a bounded read, a record is
  closed when its quotes balance, and each record is parsed by the `csv` module. A quote that never
  closes within MAX_RECORD_BYTES (or before the end of the file) makes only its opening line
  malformed; reading resumes at the next line.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

MAX_LINE_BYTES = 1 << 20  # a longer line is malformed (contract)
MAX_HEADER_BYTES = 1 << 20  # a longer header fails the file (contract)
MAX_RECORD_BYTES = 1 << 20  # a quoted record spanning more than this is treated as never closed
RECORD_TEXT_CHARS = 10_000  # a malformed line is kept with at most this many characters (and says so)
CHUNK = 1 << 20
BOM = b"\xef\xbb\xbf"
# The csv module refuses fields over 128 KiB by default; the contract judges any field of a line
# under 1 MiB by its column's rule (a header under 1 MiB is read too).
csv.field_size_limit(MAX_RECORD_BYTES + MAX_LINE_BYTES)


class FileRefused(Exception):
    """The file cannot be loaded at all: its message says why, naming no absolute path."""


def is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


class CappedStream(io.RawIOBase):
    """The file's bytes (decompressed for .gz) that refuses to yield more than `cap` bytes: a
    decompression bomb fails after reading `cap` bytes, never more."""

    def __init__(self, path: Path, cap: int):
        self._raw = path.open("rb")
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if is_gzip(path) else None
        self._tail = b""  # compressed bytes not yet inflated (beyond one call's output, or the next member)
        self._pending = b""
        self._cap, self._read = cap, 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def _inflate_some(self) -> bytes:
        """At most CHUNK bytes inflated from the compressed bytes at hand, across gzip members
        (concatenated gzip files are one stream); max_length bounds each call, so a bomb expands
        chunk by chunk."""
        out, produced, data = [], 0, self._tail
        while data and produced < CHUNK:
            if self._inflate.eof:
                if data[:2] != b"\x1f\x8b"[:len(data[:2])]:
                    raise FileRefused("bytes after the end of the gzip stream that are not gzip")
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                part = self._inflate.decompress(data, CHUNK - produced)
            except zlib.error as exc:
                raise FileRefused(f"not a valid gzip stream ({exc})") from exc
            out.append(part)
            produced += len(part)
            data = self._inflate.unused_data if self._inflate.eof else self._inflate.unconsumed_tail
        self._tail = data
        return b"".join(out)

    def readinto(self, buffer) -> int:
        while not self._pending and not self._eof:
            if self._inflate is None:
                self._pending = self._raw.read(CHUNK)
                self._eof = not self._pending
                break
            if not self._tail:
                self._tail = self._raw.read(CHUNK)
                if not self._tail:
                    if not self._inflate.eof:
                        raise FileRefused("the gzip stream is truncated")
                    self._eof = True
                    break
            self._pending = self._inflate_some()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._read += n
        if self._read > self._cap:
            raise FileRefused(f"expands past the limit of {self._cap:,} bytes (EXAM_RISK_MAX_FILE_BYTES)")
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_capped(path: Path, cap: int) -> BinaryIO:
    return io.BufferedReader(CappedStream(path, cap), buffer_size=CHUNK)


@dataclass(frozen=True)
class Header:
    columns: list[str]
    bom: bool
    size: int  # bytes of the header line with its line end


def read_header(path: Path, cap: int) -> Header:
    """The first line, read with a bounded read: over 1 MiB, not UTF-8, or empty fails the file."""
    with open_capped(path, cap) as fh:
        line = fh.readline(MAX_HEADER_BYTES + 1)
    bom = line.startswith(BOM)
    text = line[len(BOM):] if bom else line
    if len(line) > MAX_HEADER_BYTES and not line.endswith(b"\n"):
        raise FileRefused(f"the header line is longer than {MAX_HEADER_BYTES:,} bytes")
    try:
        decoded = text.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"the header line is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    if not decoded.strip():
        raise FileRefused("empty: no header row")
    try:
        return Header(next(csv.reader([decoded], strict=True)), bom, len(line))
    except csv.Error as exc:
        raise FileRefused(f"the header line is not valid CSV ({exc})") from exc


def count_record_lines(path: Path, cap: int) -> tuple[int, bool]:
    """Lines after the header that are not empty, and whether every line ends the same way (all LF
    or all CRLF), in one streaming pass that also enforces the cap. Blank lines between records
    are not rows (neither reader makes one of them)."""
    lines = blank = 0
    crlf = lf = 0
    previous_end = b"\n"
    with open_capped(path, cap) as fh:
        while chunk := fh.read(CHUNK):
            lines += chunk.count(b"\n")
            blank += chunk.count(b"\n\n") + (previous_end == b"\n" and chunk[:1] == b"\n")
            if b"\r" in chunk:  # a byte search: most files end their lines in LF only (0.33 -> 0.18 s per 93 MB)
                crlf += chunk.count(b"\r\n")
                blank += chunk.count(b"\n\r\n")
            previous_end = chunk[-1:]
    if previous_end != b"\n" and previous_end != b"":
        lines += 1  # a last line without a line end
    lf = lines - crlf
    return max(lines - 1 - blank, 0), (crlf == 0 or lf <= 1)


@dataclass(frozen=True)
class Broken:
    line: int  # physical line number in the file (1 = the header)
    text: str


def records(path: Path, cap: int, n_fields: int) -> Iterator[tuple[int, list[str]] | Broken]:
    """Every record after the header as (first line number, fields), or a Broken line, in order.

    A record is one line, or several when a quoted field holds line ends (its quotes balance only at
    its last line). Each line is read with a bounded read; a line over MAX_LINE_BYTES is skipped to
    its end and is Broken, as are lines that are not UTF-8 and records without exactly n_fields."""
    with open_capped(path, cap) as fh:
        fh.readline(MAX_HEADER_BYTES + 1)  # the header, already read by read_header
        number = 1
        pending: list[tuple[int, bytes]] = []  # the lines of a record whose quotes do not balance yet
        pending_bytes = quotes = 0
        replay: list[tuple[int, bytes]] = []  # lines to read again after a quote that never closed
        while True:
            if replay:
                line_number, line = replay.pop(0)
            else:
                line = fh.readline(MAX_LINE_BYTES + 1)
                if not line:
                    if not pending:
                        return
                    yield _broken(*pending[0])  # a quote open at the end of the file: its opening line
                    replay, pending, pending_bytes, quotes = pending[1:], [], 0, 0
                    continue
                number += 1
                line_number = number
                if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                    while chunk := fh.readline(MAX_LINE_BYTES):  # skip the rest of the line, unkept
                        if chunk.endswith(b"\n"):
                            break
                    yield Broken(line_number, f"[a line of more than {MAX_LINE_BYTES:,} bytes: not kept]")
                    continue
            if not pending and not line.strip(b"\r\n"):
                continue  # a blank line is no record
            pending.append((line_number, line))
            pending_bytes += len(line)
            quotes += line.count(b'"')
            if quotes % 2:
                if pending_bytes <= MAX_RECORD_BYTES:
                    continue  # a quoted field goes on on the next line
                yield _broken(*pending[0])  # never closed within the bound: the opening line
                replay, pending, pending_bytes, quotes = pending[1:] + replay, [], 0, 0
                continue
            record, opened_at = b"".join(chunk for _, chunk in pending), pending[0][0]
            pending, pending_bytes, quotes = [], 0, 0
            fields = _fields(record)
            if fields is None or len(fields) != n_fields:
                yield _broken(opened_at, record)
                continue
            yield opened_at, fields


def _fields(record: bytes) -> list[str] | None:
    """The record's fields (RFC 4180 quoting), or None when it is not UTF-8 or badly quoted."""
    try:
        text = record.decode("utf-8")
        return next(csv.reader([text.removesuffix("\n").removesuffix("\r")], strict=True), [])
    except (UnicodeDecodeError, csv.Error):
        return None


def _broken(number: int, line: bytes) -> Broken:
    """A malformed line kept as text: bytes that are not UTF-8 as \\xNN, cut at RECORD_TEXT_CHARS."""
    text = line.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")
    if len(text) > RECORD_TEXT_CHARS:
        text = text[:RECORD_TEXT_CHARS] + f" [cut: {len(text):,} characters in all]"
    return Broken(number, text)


def gzip_ok(path: Path) -> bool:
    """Whether a .gz file starts like one (a renamed plain file fails with a clear message)."""
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


__all__ = ["FileRefused", "Header", "Broken", "open_capped", "read_header", "count_record_lines", "records",
           "gzip_ok", "is_gzip"]
