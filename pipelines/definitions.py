"""Dagster definitions: the whole asset graph, its job, and resources configured from the environment."""

from __future__ import annotations

import dagster as dg

from assets.ingest.assets import bwt_crossings, raw_bwt, raw_ctpat, raw_entries, raw_exams, schedule_d_ports
from assets.marts.assets import analytics_marts
from assets.quality.assets import checked_bwt, checked_ctpat, checked_entries, checked_exams
from assets.reports.assets import border_wait_charts, monthly_charts
from assets.resources import resources_from_env
from assets.scorecard.assets import ctpat_benefit_estimates
from assets.warehouse.assets import warehouse_assets

ALL_ASSETS = [schedule_d_ports, bwt_crossings, raw_entries, raw_exams, raw_ctpat, raw_bwt,
              checked_entries, checked_exams, checked_ctpat, checked_bwt,
              *warehouse_assets, ctpat_benefit_estimates, analytics_marts, monthly_charts, border_wait_charts]

pipeline_job = dg.define_asset_job("exam_risk_pipeline", selection=dg.AssetSelection.all(),
                                   executor_def=dg.in_process_executor,
                                   description="Landing zone -> quality gate -> warehouse -> marts -> charts.")

defs = dg.Definitions(assets=ALL_ASSETS, jobs=[pipeline_job], resources=resources_from_env())
