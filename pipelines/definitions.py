"""Dagster definitions: the whole asset graph, its jobs, schedules and sensor, and resources
configured from the environment."""

from __future__ import annotations

import dagster as dg

from assets.ingest.assets import bwt_crossings, raw_bwt, raw_ctpat, raw_entries, raw_exams, schedule_d_ports
from assets.marts.assets import analytics_marts
from assets.quality.assets import checked_bwt, checked_ctpat, checked_entries, checked_exams
from assets.reports.assets import border_wait_charts, monthly_charts, monthly_report
from assets.resources import resources_from_env
from assets.scorecard.assets import ctpat_benefit_estimates
from assets.warehouse.assets import warehouse_assets
from pipelines.automation import daily_ingest_schedule_for, landing_sensor_for, monthly_report_schedule_for

ALL_ASSETS = [schedule_d_ports, bwt_crossings, raw_entries, raw_exams, raw_ctpat, raw_bwt,
              checked_entries, checked_exams, checked_ctpat, checked_bwt,
              *warehouse_assets, ctpat_benefit_estimates, analytics_marts, monthly_charts, border_wait_charts,
              monthly_report]

# In-process by default (30-150 ms a step against ~3 s for a subprocess); the launchpad can switch a run
# to the multiprocess executor, and the warehouse pool keeps its writers one at a time.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
pipeline_job = dg.define_asset_job("exam_risk_pipeline", selection=dg.AssetSelection.all(), config=IN_PROCESS,
                                   description="Landing zone -> quality gate -> warehouse -> marts -> charts and reports.")
ingest_job = dg.define_asset_job("exam_risk_ingest", selection=dg.AssetSelection.all() - dg.AssetSelection.assets(monthly_report),
                                 config=IN_PROCESS,
                                 description="What arrived, through to the published marts and charts (no monthly report).")

monthly_report_schedule = monthly_report_schedule_for(pipeline_job)
daily_ingest_schedule = daily_ingest_schedule_for(ingest_job)
landing_sensor = landing_sensor_for(ingest_job)

defs = dg.Definitions(assets=ALL_ASSETS, jobs=[pipeline_job, ingest_job],
                      schedules=[monthly_report_schedule, daily_ingest_schedule], sensors=[landing_sensor],
                      resources=resources_from_env())
