"""Months drawn side by side in worker processes.

matplotlib draws on one core and every month's charts and report depend only on the analyst file,
so the months of a run are shared out among processes (EXAM_RISK_DRAWING_WORKERS; 0: one per CPU).
Each worker writes beside its target and renames into place (files.replaced_on_success), as a
drawing in the run's own process would. Workers are spawned, not forked: the run's process holds
DuckDB and Dagster threads, which a fork would copy mid-flight.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Callable, TypeVar

T = TypeVar("T")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (a container's share)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(setting: int, months: int) -> int:
    """Processes to draw `months` months with: the setting (0: one per CPU), never more than months."""
    return max(1, min(setting or cpu_count(), months))


def draw_each_month(draw: Callable[..., T], months: list[str], *args, workers: int = 0) -> list[T]:
    """draw(*args, month) for every month, in month order; in this process when one worker suffices
    (a single month costs no process start-up)."""
    count = worker_count(workers, len(months))
    if count == 1:
        return [draw(*args, month) for month in months]
    with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(partial(draw, *args), months))
