"""Dagster definitions: the whole asset graph, its jobs, schedules and sensors, and resources
configured from the environment.

Three jobs follow the data: `exam_risk_ingest` (landing -> quality gate -> staging, which opens the
local months new data touches), `exam_risk_months` (a month partition range: facts, month marts,
then publication, charts and reports for those months) and `exam_risk_publish` (publication,
charts and reports without rebuilding a month).
"""

from __future__ import annotations

import dagster as dg

from assets.ingest.assets import (bwt_crossings, entry_type_codes, exam_type_codes, hts_sections, mode_codes, raw_bwt, raw_ctpat, raw_disruptions, raw_entries,
                                  raw_exams, schedule_d_ports)
from assets.facts.assets import fct_disruption_entries, fct_entries, fct_exams, fct_lane_readings
from assets.marts.assets import analytics_marts
from assets.marts.month_marts import month_marts
from assets.partitions import MONTHS
from assets.quality.assets import checked_bwt, checked_ctpat, checked_disruptions, checked_entries, checked_exams
from assets.reports.assets import charts_and_reports, publication
from assets.resources import resources_from_env
from assets.scorecard.assets import ctpat_benefit_estimates
from assets.staging.assets import staging_assets
from pipelines.planner import INGEST_JOB, MONTHS_JOB, PUBLISH_JOB
from pipelines.automation import (daily_ingest_schedule_for, landing_sensor_for, monthly_report_schedule_for,
                                  open_months_sensor_for)

INGEST_ASSETS = [schedule_d_ports, bwt_crossings, hts_sections, mode_codes, entry_type_codes, exam_type_codes, raw_entries, raw_exams, raw_ctpat, raw_disruptions, raw_bwt,
                 checked_entries, checked_exams, checked_ctpat, checked_disruptions, checked_bwt, *staging_assets,
                 fct_lane_readings]
MONTH_ASSETS = [fct_entries, fct_exams, month_marts]
PUBLISH_ASSETS = [fct_disruption_entries, ctpat_benefit_estimates, analytics_marts, charts_and_reports, publication]
ALL_ASSETS = [*INGEST_ASSETS, *MONTH_ASSETS, *PUBLISH_ASSETS]

# What a run publishes without drawing (the CLI's --no-reports): every asset of its job but these.
DRAWINGS = frozenset(charts_and_reports.keys)

INGEST = dg.AssetSelection.assets(*INGEST_ASSETS)
MONTHS_AND_PUBLISH = dg.AssetSelection.assets(*MONTH_ASSETS, *PUBLISH_ASSETS)
PUBLISH = dg.AssetSelection.assets(*PUBLISH_ASSETS)

# In-process by default (30-150 ms a step against ~3 s for a subprocess); the launchpad can switch a run
# to the multiprocess executor, and the warehouse pool keeps its writers one at a time.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
ingest_job = dg.define_asset_job(INGEST_JOB, selection=INGEST, config=IN_PROCESS,
                                 description="Landing zone -> quality gate -> staging; opens the months new data touches.")
months_job = dg.define_asset_job(MONTHS_JOB, selection=MONTHS_AND_PUBLISH, partitions_def=MONTHS,
                                 config=IN_PROCESS,
                                 description="Rebuild a range of local months (facts, month marts), then publish the "
                                             "marts and draw those months' charts and reports.")
publish_job = dg.define_asset_job(PUBLISH_JOB, selection=PUBLISH, config=IN_PROCESS,
                                  description="Publish the marts, charts and reports without rebuilding a month.")

monthly_report_schedule = monthly_report_schedule_for(months_job)
daily_ingest_schedule = daily_ingest_schedule_for(ingest_job)
landing_sensor = landing_sensor_for(ingest_job)
open_months_sensor = open_months_sensor_for(ingest_job, months_job, publish_job)



def definitions(resources: dict) -> dg.Definitions:
    """The whole project with these resources: `defs` below for the UI and the daemon, and the
    CLI's own, built from its flags (pipelines/runner.py)."""
    return dg.Definitions(assets=ALL_ASSETS, jobs=[ingest_job, months_job, publish_job],
                          schedules=[monthly_report_schedule, daily_ingest_schedule],
                          sensors=[landing_sensor, open_months_sensor], resources=resources)


defs = definitions(resources_from_env())
