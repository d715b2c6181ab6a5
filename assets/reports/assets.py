"""Reports: monthly PNG charts and PDF/HTML reports, redrawn for the months a publication rebuilt,
then published together with the analyst file.

In a run that built the analyst file (analytics_marts), the charts and reports are drawn from that
new file into a staging folder; `publication` then checks that every drawn file can go into place,
renames the analyst file and moves the drawn files. A failure before that leaves the published
marts, charts and reports as they were ("nothing was published"). A run without a new analyst file
(a redraw from the UI) draws from the published file straight into place.

The drawing modules (matplotlib) are imported by the processes that draw, when they draw: every
step process of the multiprocess executor, the UI and the daemon import this module, and most of
them never draw. The drawings are named (workers.task), so the step's own process imports matplotlib
while its first worker starts, and a step with nothing to draw (no month rebuilt, the folder's
border-wait charts current: assets/reports/border_waits.py) never imports it.
"""


import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.marts.assets import running
from assets.marts.publish import building_file, publish_building
from assets.readers import reading
from assets.reports.border_waits import charts_current
from assets.reports.files import (BORDER_WAITS, CannotPublish, clear_leftovers, move_into_place, planned_moves,
                                  staging_folder, staging_folders, write_text)
from assets.reports.workers import draw_each, task
from assets.resources import REPORTS_POOL, WAREHOUSE_POOL, PipelineSettings, Warehouse


@dataclass(frozen=True)
class Drawing:
    marts: Path  # the analyst file drawn from
    out: Path  # where files are written
    published: Path  # the reports folder as published (markers of what was drawn are read there)


def drawing(settings: PipelineSettings, run_id: str) -> Drawing:
    reports = Path(settings.reports)
    building = building_file(Path(settings.analytics), run_id)
    if building.exists():
        return Drawing(building, staging_folder(reports, run_id), reports)
    return Drawing(Path(settings.analytics), reports, reports)


def months_waiting(analytics: Path, reports: Path) -> tuple[list[str], dict[str, str]]:
    """The months with exam rates (the months a report can be drawn for) whose rebuild in `analytics`
    is not the one drawn into `reports` (every one when nothing was drawn there before); and the
    rebuild of every month drawn once they are. A run that stopped before drawing leaves its months to
    the next one; a month that a concurrent run's publication already drew from the same rebuild is
    not drawn again."""
    with reading(analytics) as con:
        # Not input_files: every publication lists every file loaded so far. By name: a file published
        # before month_rebuilds has no such column.
        found = con.execute("SELECT * EXCLUDE (input_files) FROM marts.published_runs ORDER BY published_at")
        publications = [dict(zip([c[0] for c in found.description], row)) for row in found.fetchall()]
        with_rates = [r[0] for r in con.execute("SELECT DISTINCT month FROM marts.exam_rates ORDER BY 1").fetchall()]
    held = month_rebuilds(publications)
    marker = reports / REPORTS_MARKER
    if not marker.exists():  # nothing drawn there yet: every month
        return with_rates, {m: held[m] for m in with_rates if m in held}
    drawn = drawn_rebuilds(json.loads(marker.read_text()), publications)
    waiting = [m for m in with_rates if m in held and drawn.get(m) != held[m]]
    return waiting, {**drawn, **{m: held[m] for m in waiting}}


def month_rebuilds(publications: list[dict]) -> dict[str, str]:
    """Each month's rebuild in the file: the one the newest publication that rebuilt it names
    (publications before month_rebuilds name none: their run stands for it)."""
    held = {}
    for p in publications:  # oldest first
        named = json.loads(p.get("month_rebuilds") or "{}")
        held.update({m: named.get(m) or f"run {p['run_id']}" for m in json.loads(p["months_rebuilt"] or "[]")})
    return held


def drawn_rebuilds(marker: dict | list, publications: list[dict]) -> dict[str, str]:
    """The month rebuilds the reports folder holds. Markers written before month rebuilds list the
    publications drawn instead: their months' rebuilds as those publications held them."""
    if isinstance(marker, dict):
        return marker["months"]
    return month_rebuilds([p for p in publications if p["run_id"] in set(marker)])


def mark_drawn(marker: Path, rebuilds: dict[str, str]) -> None:
    write_text(marker, json.dumps({"months": rebuilds}, sort_keys=True))


REPORTS_MARKER = ".monthly_reports_written.json"  # the month rebuilds drawn ({"months": {month: rebuild}})


class ReportConfig(dg.Config):
    month: str = ""  # YYYY-MM; empty: the months rebuilt since the reports were last written (at first: all)


BORDER_WAIT_CHARTS = dg.AssetSpec(
    "border_wait_charts", group_name="reports", kinds={"matplotlib"},
    deps=[["marts", "lane_wait_times"], ["marts", "lane_wait_by_hour"]],
    description="FAST vs standard commercial lane delay by crossing, and by hour of day at the busiest crossings, "
                "as PNG under reports/border_waits/; redrawn only when what they show or the drawing code changed "
                "(each PNG carries the digest of both; metadata `redrawn`).")
MONTHLY_REPORT = dg.AssetSpec(
    "monthly_report", group_name="reports", kinds={"matplotlib", "pdf", "html"},
    deps=[["marts", "ctpat_benefits"], ["marts", "exam_rates_by_month"], ["marts", "exam_rates_by_mode"],
          ["marts", "release_time_profile"], ["marts", "load_audit"], ["marts", "rejections"]],
    description="Monthly CTPAT benefit report: one PDF and one self-contained HTML page per month under "
                "`reports/YYYY-MM/` (scorecard, forest plot, trend, charts, data quality, input hashes), and each "
                "of its charts as PNG beside them (exam rate by mode with Wilson intervals, release-time "
                "distributions, forest plot, trend, resumption backlog, border waits).")


# One step draws both, so that its processes share every drawing (workers.draw_each): the folder's
# border-wait charts, handed out last, fill time a month's report would leave a process idle.
@dg.multi_asset(name="charts_and_reports", specs=[BORDER_WAIT_CHARTS, MONTHLY_REPORT], can_subset=True,
                pool=REPORTS_POOL)
def charts_and_reports(context: dg.AssetExecutionContext, config: ReportConfig, settings: PipelineSettings):
    """The selected assets' drawings: the reports of config.month or of the months rebuilt since the
    reports were last drawn, and the border-wait charts."""
    d = drawing(settings, context.run_id)
    border, reports = (spec.key in context.selected_asset_keys for spec in (BORDER_WAIT_CHARTS, MONTHLY_REPORT))
    if reports and not config.month:
        _await_drawn_publications(context, d.published)
    months, rebuilds = _months_to_draw(config, d) if reports else ([], {})
    tasks = [task("assets.reports.report:build_monthly_report", d.marts, d.out, month) for month in months]
    redraw = border and not charts_current(d.marts, d.published)
    if redraw:  # last: the one drawing shorter than a month, it fills the end
        tasks.append(task("assets.reports.charts:draw_border_wait_charts", d.marts, d.out))
    drawn = draw_each(tasks, workers=settings.drawing_workers)
    if border:
        charts = drawn[-1] if redraw else []
        if not redraw:
            context.log.info("border-wait charts: the published ones show the same readings, drawn by the same code")
        yield dg.MaterializeResult(asset_key=BORDER_WAIT_CHARTS.key, metadata={
            "charts": len(charts), "redrawn": redraw, "folder": str(Path(settings.reports) / BORDER_WAITS)})
    if reports:
        if not config.month:
            mark_drawn(d.out / REPORTS_MARKER, rebuilds)
        context.log.info(f"reports for {', '.join(months)}" if months else
                         "no month's reports to draw: the reports in place hold every month's rebuild")
        written = drawn[:len(months)]
        yield dg.MaterializeResult(asset_key=MONTHLY_REPORT.key, metadata={
            "months": ", ".join(months), "pdf_pages": sum(pages for _, _, pages in written),
            "latest_html": str(written[-1][1]) if written else "none"})


# Longer than a publication waiting for the warehouse slot behind a month's step usually takes, shorter
# than drawing a backfill's months again.
AWAIT_PUBLICATIONS_SECONDS = 60.0


def _await_drawn_publications(context: dg.AssetExecutionContext, reports: Path) -> None:
    """Wait, for at most AWAIT_PUBLICATIONS_SECONDS, until the concurrent runs that finished drawing
    have published: a backfill's runs build the same month rebuilds, and what the first publishes
    need not be drawn again (months_waiting). A publication needs the warehouse slot, never the
    reports slot this step holds, so the wait cannot deadlock; a run that failed ends the wait."""
    started = time.monotonic()
    while pending := [run_id for run_id, folder in staging_folders(reports).items()
                      if run_id != context.run_id and (folder / REPORTS_MARKER).exists() and running(context, run_id)]:
        if time.monotonic() - started > AWAIT_PUBLICATIONS_SECONDS:
            context.log.info(f"drawing without waiting longer for the publication of run(s) {', '.join(pending)}")
            return
        time.sleep(0.25)
    if time.monotonic() - started > 0.25:
        context.log.info(f"waited {time.monotonic() - started:.1f} s for concurrent runs' drawn publications")


def _months_to_draw(config: ReportConfig, d: Drawing) -> tuple[list[str], dict[str, str]]:
    """config.month; or the months waiting to be drawn, and the month rebuilds the reports hold once
    they are."""
    if config.month:
        return [config.month], {}
    return months_waiting(d.marts, d.published)


@dg.asset(group_name="reports", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=[["marts", "load_audit"], BORDER_WAIT_CHARTS.key, MONTHLY_REPORT.key],
          description="Publishes this run's analyst file, charts and reports together: checks that every drawn "
                      "file can go into place, then renames the analyst file and moves the drawn files.")
def publication(context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings) -> dg.MaterializeResult:
    analytics, reports = Path(settings.analytics), Path(settings.reports)
    if not building_file(analytics, context.run_id).exists():
        raise dg.Failure("no analyst file was built in this run (materialize analytics_marts with it)")
    staging = staging_folder(reports, context.run_id)
    try:
        moves = planned_moves(staging, reports) if staging.is_dir() else []
    except CannotPublish as exc:
        raise dg.Failure(f"{exc}; nothing was published") from None
    with warehouse.session() as con:
        published = publish_building(con, analytics, context.run_id)
    if not published:  # a concurrent run published a newer build, with these months drawn
        shutil.rmtree(staging, ignore_errors=True)
        context.log.info("a newer publication is already in place; this run's build was dropped")
        return dg.MaterializeResult(metadata={"analyst_file": str(analytics), "files_moved": 0,
                                              "superseded": True})
    try:
        move_into_place(moves, staging)
    except OSError as exc:  # checked beforehand: only a change made during these renames gets here
        raise dg.Failure(f"the analyst file was published, but a drawn file could not be moved ({exc.strerror}); "
                         "the next run draws the months again") from None
    clear_leftovers(reports, lambda run_id: running(context, run_id))
    return dg.MaterializeResult(metadata={"analyst_file": str(analytics), "files_moved": len(moves),
                                          "reports": str(reports), "superseded": False})
