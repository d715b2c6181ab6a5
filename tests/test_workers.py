"""Drawings shared out among the step's own process and workers forked from a forkserver
(assets/reports/workers.py)."""

import gc
import os
import sys
import time
from functools import partial

import pytest

from assets.reports.workers import PRELOAD, draw_each, start_context, task, worker_count


def test_worker_count_is_the_setting_or_one_per_cpu_never_more_than_drawings():
    assert worker_count(3, 10) == 3
    assert worker_count(8, 2) == 2
    assert worker_count(0, 1) == 1
    assert 1 <= worker_count(0, 100) <= (os.cpu_count() or 1)


def test_each_result_comes_back_in_task_order():
    months = [f"2026-{m:02d}" for m in range(1, 8)]
    # os.path.join stands in for a drawing: picklable, and its result names the month it was given.
    for workers in (1, 2, 3):
        assert draw_each([partial(os.path.join, "reports", m) for m in months], workers=workers) == [
            f"reports/{m}" for m in months]
    assert draw_each([task("posixpath:join", "reports", "2026-01")], workers=2) == ["reports/2026-01"]


def who_drew(month: str, seconds: float = 0.3) -> tuple[str, int, int, bool]:
    """The month, the drawing process and its parent, and whether the drawing modules were loaded
    before this function ran (this module imports none of them)."""
    time.sleep(seconds)
    return month, os.getpid(), os.getppid(), all(name in sys.modules for name in PRELOAD + ["matplotlib"])


def test_this_process_and_a_worker_forked_from_the_preloaded_server_share_the_drawings():
    assert start_context().get_start_method() == "forkserver"  # Linux, as in CI
    months = [f"2026-{m:02d}" for m in range(1, 11)]
    seen = draw_each([partial(who_drew, m) for m in months], workers=2)
    assert [month for month, *_ in seen] == months
    here = [s for s in seen if s[1] == os.getpid()]
    there = [s for s in seen if s[1] != os.getpid()]
    assert here and there  # this process drew while the worker started, and the worker drew too
    assert len({pid for _, pid, _, _ in there}) == 1  # one worker beside this process on two
    assert all(parent != os.getpid() for _, _, parent, _ in there)  # a spawned worker's parent would be us
    assert all(preloaded for *_, preloaded in there)  # imported once by the server, not per worker


def frozen_while_drawing(month: str) -> tuple[int, int]:
    time.sleep(0.2)
    return os.getpid(), gc.get_freeze_count()


def test_every_process_draws_with_the_objects_it_held_before_frozen_and_this_one_gets_them_back():
    # A full collection walks every object the process holds; the drawings leave the ones held
    # before they started out of it (gc.freeze), and this process hands them back afterwards, also
    # after a failure. Objects frozen by the caller stay frozen.
    assert gc.get_freeze_count() == 0
    seen = draw_each([partial(frozen_while_drawing, f"2026-{m:02d}") for m in range(1, 7)], workers=2)
    assert {pid == os.getpid() for pid, _ in seen} == {True, False}  # both this process and a worker drew
    assert all(frozen > 1000 for _, frozen in seen)  # the modules each process had imported, at least
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError):
        draw_each([partial(fail_on, "2026-01", "2026-01", "unused")], workers=1)
    assert gc.get_freeze_count() == 0
    marker = [object()]  # a container the collector tracks, frozen by the caller with the rest
    gc.freeze()
    try:
        draw_each([partial(frozen_while_drawing, "2026-01")], workers=1)
        # Still frozen: not back among the objects a collection walks. (Not "the same frozen count":
        # reference counting may free a frozen object meanwhile, 749,935 -> 749,933 in one CI run.)
        assert gc.get_freeze_count() > 0 and all(o is not marker for o in gc.get_objects())
    finally:
        gc.unfreeze()


def fail_on(month: str, bad: str, written: str) -> str:
    if month == bad:
        raise ValueError(f"cannot draw {month}")
    time.sleep(0.3)
    with open(os.path.join(written, month), "w"):
        pass
    return month


@pytest.mark.parametrize("bad", ["2026-01", "2026-02"])  # the first drawn here, the second (likely) in the worker
def test_a_failed_drawing_is_raised_and_stops_the_handout(tmp_path, bad):
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    with pytest.raises(ValueError, match=f"cannot draw {bad}"):
        draw_each([partial(fail_on, m, bad, str(tmp_path)) for m in months], workers=2)
    assert len(list(tmp_path.iterdir())) < len(months) - 1  # the drawings not yet handed out never ran
