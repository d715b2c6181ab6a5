"""Drawings shared out among processes, the step's own among them.

matplotlib draws on one core, and each month's charts and report (and the folder's border-wait
charts) depend only on the analyst file, so a step's drawings are shared out among processes
(EXAM_RISK_DRAWING_WORKERS; 0: one per CPU). The step's own process is one of them: it takes the
next drawing whenever it is free, as each worker does. It starts at once, while the first worker
starts (0.6 s), and the drawings left at the end go to whichever process is free. On two cores the
10 M run's 13 months and the border-wait charts, imports included, took 8.4 s drawn by two workers
while the step's process waited, and 7.7 s this way (medians of 3, a script outside the
repository). A worker holds one drawing at a time: one queued behind a busy worker would wait there
while another process idles.

Each drawing writes beside its target and renames into place (files.replaced_on_success), wherever
it is drawn. Workers are never forked from the step's process: it holds DuckDB and Dagster threads,
which a fork would copy mid-flight. They are forked from a forkserver, a fresh interpreter that
imports the drawing modules once and then serves every drawing step of the process; a spawned
worker spent 0.7-0.8 s importing matplotlib, Polars and DuckDB before it drew (`python -X importtime
-c "import assets.reports.report"`). Spawned where there is no forkserver (Windows). A drawing is
named ("module:function", `task`) and imported by the process that draws it, so the step's process
imports matplotlib (0.35-0.5 s) while its first worker starts, not before.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

# What the forkserver imports before it forks a worker: the drawings and everything they import.
PRELOAD = ["assets.reports.report", "assets.reports.charts"]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (a container's share)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(setting: int, tasks: int) -> int:
    """Processes to draw `tasks` drawings with, this one included: the setting (0: one per CPU), never
    more than drawings."""
    return max(1, min(setting or cpu_count(), tasks))


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


def task(name: str, *args) -> Callable[[], object]:
    """A drawing to hand out: the function `module:function` names, called with args by the process
    that draws it."""
    return partial(_call_by_name, name, *args)


@contextlib.contextmanager
def old_objects_frozen() -> Iterator[None]:
    """The objects this process holds now left out of the garbage collector's full collections
    while the block runs (gc.freeze), and handed back to it afterwards. matplotlib makes many
    short-lived objects, and each full collection also walks every object already there: a step's
    process holds about 490,000 (Dagster, GX, the scorecard's modules), and six months drawn in such a
    process spent 0.9 of 6.6 s collecting, 0.19 of 5.8 s with them frozen (docs/scaling-history.md,
    issue 15's seventeenth round). A caller that froze objects itself keeps them frozen."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def draw_each(tasks: list[Callable[[], T]], workers: int = 0) -> list[T]:
    """Every task's result, in task order. Each task goes to whichever process asks first: this one,
    or a worker, each fed one task at a time by a thread of this process. After a failure no task
    is handed out; the tasks already running finish, then the failure is raised (this process's
    own if it failed, else a worker's). Every process draws with the objects it held before frozen
    (old_objects_frozen; a worker freezes what it was forked with)."""
    with old_objects_frozen():
        return _draw_each(tasks, workers)


def _draw_each(tasks: list[Callable[[], T]], workers: int) -> list[T]:
    count = worker_count(workers, len(tasks))
    if count == 1:
        return [t() for t in tasks]
    results: list = [None] * len(tasks)
    handed, lock, failed = iter(range(len(tasks))), threading.Lock(), threading.Event()

    def take() -> int | None:
        with lock:
            return None if failed.is_set() else next(handed, None)

    def draw_while_any(draw: Callable[[Callable[[], T]], T]) -> None:
        try:
            while (i := take()) is not None:
                results[i] = draw(tasks[i])
        except BaseException:
            failed.set()
            raise

    with (ProcessPoolExecutor(max_workers=count - 1, mp_context=start_context(), initializer=gc.freeze) as pool,
          ThreadPoolExecutor(max_workers=count - 1) as feeders):
        fed = [feeders.submit(draw_while_any, lambda t: pool.submit(t).result()) for _ in range(count - 1)]
        draw_while_any(lambda t: t())
        for f in fed:
            f.result()
    return results
