"""Months drawn side by side in worker processes.

matplotlib draws on one core and every month's charts and report depend only on the analyst file,
so the months of a run are shared out among processes (EXAM_RISK_DRAWING_WORKERS; 0: one per CPU).
Each worker writes beside its target and renames into place (files.replaced_on_success), as a
drawing in the run's own process would. Workers are never forked from the run's process: it holds
DuckDB and Dagster threads, which a fork would copy mid-flight. They are forked from a forkserver, a
fresh interpreter that imports the drawing modules once and then serves every drawing step of the
process; a spawned worker spent 0.7-0.8 s importing matplotlib, Polars and DuckDB before it drew
(`python -X importtime -c "import assets.reports.report"`). Spawned where there is no forkserver
(Windows). A drawing may be named ("module:function") rather than passed: then the process that
hands months to workers never imports it (matplotlib alone took that process 0.35 s).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Callable, TypeVar

T = TypeVar("T")

# What the forkserver imports before it forks a worker: the drawings and everything they import.
PRELOAD = ["assets.reports.report", "assets.reports.charts"]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (a container's share)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(setting: int, months: int) -> int:
    """Processes to draw `months` months with: the setting (0: one per CPU), never more than months."""
    return max(1, min(setting or cpu_count(), months))


def start_context() -> multiprocessing.context.BaseContext:
    """The forkserver with the drawing modules preloaded (its first use starts it, later ones reuse
    it), or spawn where the platform has no forkserver."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def by_name(name: str) -> Callable:
    """The function `module:function` names, its module imported if it was not yet."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _call_by_name(name: str, *args):
    return by_name(name)(*args)


def draw_each_month(draw: Callable[..., T] | str, months: list[str], *args, workers: int = 0) -> list[T]:
    """draw(*args, month) for every month, in month order; in this process when one worker suffices
    (a single month costs no process start-up). `draw` is a function or its name (by_name)."""
    task = partial(_call_by_name, draw, *args) if isinstance(draw, str) else partial(draw, *args)
    count = worker_count(workers, len(months))
    if count == 1:
        return [task(month) for month in months]
    with ProcessPoolExecutor(max_workers=count, mp_context=start_context()) as pool:
        return list(pool.map(task, months))
