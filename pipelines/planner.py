"""The one plan of what follows an ingest run, used by the CLI (pipelines/runner.py) and by the
open-months sensor (pipelines/automation.py): one `exam_risk_months` run per contiguous range of
open months, or one `exam_risk_publish` run when no month is open. Every range run publishes,
which is safe because publication rebuilds the analyst file from the whole warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field

from assets.partitions import contiguous_ranges, range_tags

INGEST_JOB, MONTHS_JOB, PUBLISH_JOB = "exam_risk_ingest", "exam_risk_months", "exam_risk_publish"


@dataclass(frozen=True)
class PlannedRun:
    job_name: str
    key: str  # unique within one plan: the sensor's run key is the ingest run's id plus this
    tags: dict[str, str] = field(default_factory=dict)


def plan_after_ingest(open_months: list[str]) -> list[PlannedRun]:
    ranges = contiguous_ranges(open_months)
    if not ranges:
        return [PlannedRun(PUBLISH_JOB, "publish")]
    return [PlannedRun(MONTHS_JOB, f"months-{first}", range_tags(first, last)) for first, last in ranges]
