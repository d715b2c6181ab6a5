"""Months drawn in worker processes forked from a forkserver (assets/reports/workers.py)."""

import os
import sys

from assets.reports.workers import PRELOAD, draw_each_month, start_context, worker_count


def test_worker_count_is_the_setting_or_one_per_cpu_never_more_than_months():
    assert worker_count(3, 10) == 3
    assert worker_count(8, 2) == 2
    assert worker_count(0, 1) == 1
    assert 1 <= worker_count(0, 100) <= (os.cpu_count() or 1)


def test_each_month_is_drawn_in_month_order_by_the_workers():
    months = ["2026-01", "2026-02", "2026-03"]
    # os.path.join stands in for a drawing: picklable, and its result names the month it was given.
    assert draw_each_month(os.path.join, months, "reports", workers=2) == [f"reports/{m}" for m in months]
    assert draw_each_month(os.path.join, months, "reports", workers=1) == [f"reports/{m}" for m in months]


def what_the_worker_had(month: str) -> tuple[str, int, bool]:
    """The month, the worker's parent process, and whether the drawing modules were loaded before
    this function ran (this module imports none of them)."""
    return month, os.getppid(), all(name in sys.modules for name in PRELOAD + ["matplotlib"])


def test_workers_are_forked_from_a_server_that_imported_the_drawings_not_from_this_process():
    assert start_context().get_start_method() == "forkserver"  # Linux, as in CI
    seen = draw_each_month(what_the_worker_had, ["2026-01", "2026-02"], workers=2)
    assert [month for month, _, _ in seen] == ["2026-01", "2026-02"]
    assert all(parent != os.getpid() for _, parent, _ in seen)  # a spawned worker's parent would be us
    assert all(preloaded for _, _, preloaded in seen)  # imported once by the server, not per worker


def test_a_named_drawing_is_imported_where_it_draws_not_where_months_are_handed_out():
    assert "named_drawing" not in sys.modules
    seen = draw_each_month("named_drawing:where", ["2026-01", "2026-02", "2026-03"], workers=2)
    assert [month for month, _ in seen] == ["2026-01", "2026-02", "2026-03"]
    assert all(pid != os.getpid() for _, pid in seen)
    assert "named_drawing" not in sys.modules  # the workers imported it, this process did not
    assert draw_each_month("named_drawing:where", ["2026-04"], workers=2) == [("2026-04", os.getpid())]
    assert "named_drawing" in sys.modules  # one month is drawn here, so here it is imported
