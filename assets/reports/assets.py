"""Reports: monthly PNG charts from the published marts."""


from pathlib import Path

import dagster as dg

from assets.reports.charts import draw_border_wait_charts, draw_monthly_charts
from assets.reports.report import build_monthly_report, report_months
from assets.resources import PipelineSettings


@dg.asset(group_name="reports", deps=[["marts", "exam_rates_by_mode"], ["marts", "release_time_profile"]],
          description="Per local month: exam rate by mode (certified vs uncertified, Wilson intervals) and "
                      "release-time distributions, as PNG under the reports folder.")
def monthly_charts(settings: PipelineSettings) -> dg.MaterializeResult:
    written = draw_monthly_charts(Path(settings.analytics), Path(settings.reports))
    return dg.MaterializeResult(metadata={"charts": len(written), "folder": settings.reports,
                                          "months": len({p.parent.name for p in written})})


@dg.asset(group_name="reports", deps=[["marts", "lane_wait_times"], ["marts", "lane_wait_by_hour"]],
          description="FAST vs standard commercial lane delay by crossing, and by hour of day at the busiest "
                      "crossings, as PNG under reports/border_waits/.")
def border_wait_charts(settings: PipelineSettings) -> dg.MaterializeResult:
    written = draw_border_wait_charts(Path(settings.analytics), Path(settings.reports))
    return dg.MaterializeResult(metadata={"charts": len(written), "folder": str(Path(settings.reports) / "border_waits")})


class ReportConfig(dg.Config):
    month: str = ""  # YYYY-MM; empty: every month in the marts


@dg.asset(group_name="reports", deps=[["marts", "ctpat_benefits"], ["marts", "exam_rates_by_month"],
                                      ["marts", "load_audit"], ["marts", "rejections"], monthly_charts, border_wait_charts],
          description="Monthly CTPAT benefit report: one PDF and one self-contained HTML page per month under "
                      "reports/<YYYY-MM>/ (scorecard, forest plot, trend, charts, data quality, input hashes).")
def monthly_report(context: dg.AssetExecutionContext, config: ReportConfig, settings: PipelineSettings) -> dg.MaterializeResult:
    analytics, reports = Path(settings.analytics), Path(settings.reports)
    months = [config.month] if config.month else report_months(analytics)
    written = [build_monthly_report(analytics, reports, month) for month in months]
    context.log.info(f"reports for {', '.join(months)}")
    return dg.MaterializeResult(metadata={"months": ", ".join(months), "pdf_pages": sum(p for _, _, p in written),
                                          "latest_html": str(written[-1][1]) if written else "none"})
