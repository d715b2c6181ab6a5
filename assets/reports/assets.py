"""Reports: monthly PNG charts from the published marts."""


from pathlib import Path

import dagster as dg

from assets.reports.charts import draw_border_wait_charts, draw_monthly_charts
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
