"""Reports: monthly PNG charts from the published marts."""


from pathlib import Path

import dagster as dg

from assets.reports.charts import draw_monthly_charts
from assets.resources import PipelineSettings


@dg.asset(group_name="reports", deps=[["marts", "exam_rates_by_mode"], ["marts", "release_time_profile"]],
          description="Per local month: exam rate by mode (certified vs uncertified, Wilson intervals) and "
                      "release-time distributions, as PNG under the reports folder.")
def monthly_charts(settings: PipelineSettings) -> dg.MaterializeResult:
    written = draw_monthly_charts(Path(settings.analytics), Path(settings.reports))
    return dg.MaterializeResult(metadata={"charts": len(written), "folder": settings.reports,
                                          "months": len({p.parent.name for p in written})})
