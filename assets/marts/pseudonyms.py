"""Importer pseudonyms: HMAC-SHA256 (RFC 2104) of the importer number, computed inside DuckDB.

The key never reaches a database file: it is inlined into a TEMP macro of one connection.
"""

from __future__ import annotations

import hashlib
import hmac
import re

BLOCK = 64  # SHA-256 block size in bytes


def pseudonym_macro_sql(key: bytes) -> str:
    """CREATE TEMP MACRO importer_pseudonym(x): hex HMAC-SHA256(key, x)."""
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in key).hex()
    outer = bytes(b ^ 0x5C for b in key).hex()
    return (f"CREATE OR REPLACE TEMP MACRO importer_pseudonym(x) AS "
            f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode(x))))")


# The contract's three importer number forms (IRS, CBP-assigned, SSN), as the rule book's macro
# importer_number_format_ok has them (tests/test_hostile_names.py checks the two agree).
IMPORTER_NUMBER = re.compile(r"[0-9]{2}-[0-9]{7}[A-Z0-9]{2}|[0-9]{6}-[0-9]{5}|[0-9]{3}-[0-9]{2}-[0-9]{4}")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def pseudonym(number: str, key: bytes) -> str:
    """The same hex HMAC-SHA256 as the importer_pseudonym macro."""
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def redact(text: str | None, key: bytes) -> str | None:
    """Every substring in one of the importer number forms replaced by that number's pseudonym: a
    broker's per-client file name must not publish the client's number."""
    return None if text is None else IMPORTER_NUMBER.sub(lambda m: pseudonym(m.group(), key), text)


def one_line(text: str) -> str:
    """Control characters (a newline in a file name) written as \\xNN, so one message stays one line."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def shown(text: str | None, key: bytes) -> str:
    """Text about files as it may reach a log, the terminal or a report: redacted, on one line."""
    return one_line(redact(text or "", key))
