"""Drawings shared out among the step's own process and workers forked from a forkserver
(assets/reports/workers.py)."""

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
