"""Months drawn in spawned worker processes (assets/reports/workers.py)."""

import os

from assets.reports.workers import draw_each_month, worker_count


def test_worker_count_is_the_setting_or_one_per_cpu_never_more_than_months():
    assert worker_count(3, 10) == 3
    assert worker_count(8, 2) == 2
    assert worker_count(0, 1) == 1
    assert 1 <= worker_count(0, 100) <= (os.cpu_count() or 1)


def test_each_month_is_drawn_in_month_order_by_spawned_workers():
    months = ["2026-01", "2026-02", "2026-03"]
    # os.path.join stands in for a drawing: picklable, and its result names the month it was given.
    assert draw_each_month(os.path.join, months, "reports", workers=2) == [f"reports/{m}" for m in months]
    assert draw_each_month(os.path.join, months, "reports", workers=1) == [f"reports/{m}" for m in months]
