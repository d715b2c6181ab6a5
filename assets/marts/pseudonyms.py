"""Importer pseudonyms: HMAC-SHA256 (RFC 2104) of the importer number, computed inside DuckDB.

The key never reaches a database file: it is inlined into a TEMP macro of one connection.
"""

from __future__ import annotations

import hashlib

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
