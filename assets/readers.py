"""Read-only connections to DuckDB files: the analyst file, which drawing, publication and the run's
summary read, and the warehouse between runs.

A connection of its own starts a DuckDB instance (20-30 ms on this machine: registering DuckDB's
built-in functions, and freeing them again at close). Attaching the file to this process's live
reader instance and detaching it takes 2-3 ms. A drawing run reads the analyst file some ten times
(each month's report, the months waiting, the border-wait charts, the publication, the summary).
Only duckdb is imported here: the drawing workers and the CLI read without Dagster's modules.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path
from typing import Iterator

import duckdb

# This process's in-memory instance that readers attach files to, and the process it was made in.
_reader: tuple[int, duckdb.DuckDBPyConnection] | None = None
# Instances a forked child inherited: never closed there (their threads live in the parent only).
_inherited: list[duckdb.DuckDBPyConnection] = []
# An attached database is visible to every connection of its instance: two readers at once (threads)
# must not share a name.
_names = itertools.count()


@contextlib.contextmanager
def reading(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the DuckDB file at path whose default database is that file, as
    `duckdb.connect(path, read_only=True)` gives, with the same errors for a missing or broken file.
    What the file holds is read when the block starts; a file renamed over it later (a publication)
    is seen by the next reader. The file is detached, and so closed, when the block ends."""
    global _reader
    if _reader is None or _reader[0] != os.getpid():
        if _reader is not None:
            _inherited.append(_reader[1])
        _reader = (os.getpid(), duckdb.connect())
    con = _reader[1].cursor()
    name = f"reading_{next(_names)}"
    try:
        con.execute(f"ATTACH ? AS {name} (READ_ONLY)", [str(path)])
        con.execute(f"USE {name}")
        yield con
    finally:
        try:
            con.execute("USE memory")
            con.execute(f"DETACH DATABASE IF EXISTS {name}")
            con.close()
        except duckdb.Error:  # an instance DuckDB invalidated after a fatal error: the next reader makes another
            _reader = None
