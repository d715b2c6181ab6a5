"""One item's work on a second thread while the caller uses the previous item's result.

Used where a step alternates work that releases the GIL with Python work that does not need the
caller's DuckDB connection: the scorecard counts the next month while the caller adds up the
current one, and ingest counts the next landing file's lines while DuckDB loads the current one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor


def ahead(items: list, fetch: Callable, compute: Callable) -> Iterator:
    """compute(fetch(item)) for each item, in order: fetch on the caller's thread (a DuckDB
    connection serves one thread), compute on a second thread, the next item's while the caller uses
    the current one's result (numpy's sorts, the compiled loops, hashlib and file reads release the
    GIL; DuckDB releases it while a query runs). The caller sees results in item order, so its own
    sums come out the same as one item after the other. Holds two items. An exception in compute is
    raised to the caller at that item and ends the iteration."""
    with ThreadPoolExecutor(1) as pool:
        def start(item):
            return pool.submit(compute, fetch(item))

        pending = start(items[0]) if items else None
        for k in range(len(items)):
            current, pending = pending, start(items[k + 1]) if k + 1 < len(items) else None
            yield current.result()
