"""Reports: monthly PNG charts and PDF/HTML reports from the published marts, redrawn for the months
a publication rebuilt."""


import json
from pathlib import Path

import dagster as dg
import duckdb

from assets.reports.charts import draw_border_wait_charts, draw_monthly_charts
from assets.reports.files import write_text
from assets.reports.report import build_monthly_report, report_months
from assets.resources import REPORTS_POOL, PipelineSettings


@dg.asset(group_name="reports", pool=REPORTS_POOL, deps=[["marts", "exam_rates_by_mode"], ["marts", "release_time_profile"]],
          description="Per local month: exam rate by mode (certified vs uncertified, Wilson intervals) and "
                      "release-time distributions, as PNG under the reports folder.")
def monthly_charts(settings: PipelineSettings) -> dg.MaterializeResult:
    marker = Path(settings.reports) / ".monthly_charts_drawn.json"
    months, publications = months_to_redraw(Path(settings.analytics), marker)
    written = draw_monthly_charts(Path(settings.analytics), Path(settings.reports), months)
    mark_drawn(marker, publications)
    return dg.MaterializeResult(metadata={"charts": len(written), "folder": settings.reports,
                                          "months": len({p.parent.name for p in written})})


@dg.asset(group_name="reports", pool=REPORTS_POOL, deps=[["marts", "lane_wait_times"], ["marts", "lane_wait_by_hour"]],
          description="FAST vs standard commercial lane delay by crossing, and by hour of day at the busiest "
                      "crossings, as PNG under reports/border_waits/.")
def border_wait_charts(settings: PipelineSettings) -> dg.MaterializeResult:
    written = draw_border_wait_charts(Path(settings.analytics), Path(settings.reports))
    return dg.MaterializeResult(metadata={"charts": len(written), "folder": str(Path(settings.reports) / "border_waits")})


def months_to_redraw(analytics: Path, marker: Path) -> tuple[list[str] | None, list[str]]:
    """The months rebuilt by publications not drawn yet (None: every month, when nothing was drawn
    before), and every publication's run id. The marker file lists the publications already drawn,
    so a run that stopped before drawing leaves its months to the next one."""
    with duckdb.connect(str(analytics), read_only=True) as con:
        publications = con.execute("SELECT run_id, CAST(months_rebuilt AS VARCHAR) FROM marts.published_runs").fetchall()
    if not marker.exists():
        return None, [run for run, _ in publications]
    drawn = set(json.loads(marker.read_text()))
    months = {m for run, rebuilt in publications if run not in drawn for m in json.loads(rebuilt or "[]")}
    return sorted(months), [run for run, _ in publications]


def mark_drawn(marker: Path, publications: list[str]) -> None:
    write_text(marker, json.dumps(publications))


class ReportConfig(dg.Config):
    month: str = ""  # YYYY-MM; empty: the months rebuilt since the reports were last written (at first: all)


@dg.asset(group_name="reports", pool=REPORTS_POOL, deps=[["marts", "ctpat_benefits"], ["marts", "exam_rates_by_month"],
                                      ["marts", "load_audit"], ["marts", "rejections"], monthly_charts, border_wait_charts],
          description="Monthly CTPAT benefit report: one PDF and one self-contained HTML page per month under "
                      "reports/<YYYY-MM>/ (scorecard, forest plot, trend, charts, data quality, input hashes).")
def monthly_report(context: dg.AssetExecutionContext, config: ReportConfig, settings: PipelineSettings) -> dg.MaterializeResult:
    analytics, reports = Path(settings.analytics), Path(settings.reports)
    marker = reports / ".monthly_reports_written.json"
    rebuilt, publications = months_to_redraw(analytics, marker)
    available = report_months(analytics)
    months = [config.month] if config.month else [m for m in available if rebuilt is None or m in rebuilt]
    written = [build_monthly_report(analytics, reports, month) for month in months]
    if not config.month:
        mark_drawn(marker, publications)
    context.log.info(f"reports for {', '.join(months)}")
    return dg.MaterializeResult(metadata={"months": ", ".join(months), "pdf_pages": sum(p for _, _, p in written),
                                          "latest_html": str(written[-1][1]) if written else "none"})
