"""Dagster definitions: the whole asset graph, its job, and resources configured from the environment."""

from __future__ import annotations

import dagster as dg

from assets.ingest.assets import bwt_crossings, raw_bwt, raw_ctpat, raw_entries, raw_exams, schedule_d_ports
from assets.marts.assets import analytics_marts
from assets.quality.assets import checked_bwt, checked_ctpat, checked_entries, checked_exams
from assets.reports.assets import border_wait_charts, monthly_charts, monthly_report
from assets.resources import resources_from_env
from assets.scorecard.assets import ctpat_benefit_estimates
from assets.warehouse.assets import warehouse_assets

ALL_ASSETS = [schedule_d_ports, bwt_crossings, raw_entries, raw_exams, raw_ctpat, raw_bwt,
              checked_entries, checked_exams, checked_ctpat, checked_bwt,
              *warehouse_assets, ctpat_benefit_estimates, analytics_marts, monthly_charts, border_wait_charts, monthly_report]

pipeline_job = dg.define_asset_job("exam_risk_pipeline", selection=dg.AssetSelection.all(),
                                   executor_def=dg.in_process_executor,
                                   description="Landing zone -> quality gate -> warehouse -> marts -> charts.")



def previous_month(when) -> str:
    first = when.replace(day=1)
    return f"{first.year - (first.month == 1)}-{(first.month - 2) % 12 + 1:02d}"


@dg.schedule(cron_schedule="0 6 2 * *", job=pipeline_job, execution_timezone="UTC",
             description="On the 2nd of each month at 06:00 UTC: the whole pipeline, and the report for the month before.")
def monthly_report_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    month = previous_month(context.scheduled_execution_time)
    return dg.RunRequest(run_key=f"report-{month}", tags={"report_month": month},
                         run_config={"ops": {"monthly_report": {"config": {"month": month}}}})


defs = dg.Definitions(assets=ALL_ASSETS, jobs=[pipeline_job], schedules=[monthly_report_schedule],
                      resources=resources_from_env())
