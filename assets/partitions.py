"""Local-month partitions: entry and exam facts and the month-grain marts are rebuilt per month.

A partition key is the YYYY-MM of arrival in the port's own time zone (the contract's month).
Staging opens the months new data touches (meta.open_months); a run rebuilds a contiguous range of
months at once (one delete-then-insert per table) and closes them.
"""

from __future__ import annotations

import re
import warnings

import dagster as dg

# Every month a valid row can fall in is a partition, so no row can stop a run: a timestamp lies
# between 2000-01-01T00:00Z (1999-12 in the local time of US ports) and one day after loading (at
# most the month after the current one, hence end_offset=2; the current month is one while it fills).
FIRST_MONTH = "1999-12"
MONTHS = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, fmt="%Y-%m", end_offset=2)
# Month ranges run as one step (one delete-then-insert per table), through this beta parameter.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def listed_months(con, table: str) -> list[str]:
    """The months in a bookkeeping table (meta.open_months, meta.unpublished_months), in order."""
    return [m for (m,) in con.execute(f"SELECT month FROM {table} ORDER BY month").fetchall()]


def month_range(context: dg.AssetExecutionContext) -> tuple[str, str]:
    """First and last month of the run's partition range, validated (they are put into SQL)."""
    keys = context.partition_key_range
    if not (MONTH.fullmatch(keys.start) and MONTH.fullmatch(keys.end)):
        raise dg.Failure(f"not a month partition range: {keys.start}..{keys.end}")
    return keys.start, keys.end


def _next(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{y + m // 12}-{m % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from first to last, both included (YYYY-MM)."""
    months = [first]
    while months[-1] < last:
        months.append(_next(months[-1]))
    return months


def contiguous_ranges(months: list[str]) -> list[tuple[str, str]]:
    """['2026-01', '2026-02', '2026-05'] -> [('2026-01', '2026-02'), ('2026-05', '2026-05')]."""
    ranges: list[tuple[str, str]] = []
    for month in sorted(set(months)):
        if ranges and _next(ranges[-1][1]) == month:
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return ranges


def outside_partitions(months: list[str]) -> list[str]:
    """Months that are not partition keys (none a valid row can have: a defence, not a rule)."""
    keys = set(MONTHS.get_partition_keys(current_time=None))
    return sorted(m for m in months if m not in keys)


def range_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START: first, RANGE_END: last}


def run_months(tags: dict[str, str]) -> list[str] | None:
    """The months a run rebuilt, from its partition tags; None for an unpartitioned run."""
    if RANGE_START in tags:
        first, last = tags[RANGE_START], tags[RANGE_END]
    elif "dagster/partition" in tags:
        first = last = tags["dagster/partition"]
    else:
        return None
    months, month = [first], first
    while month < last:
        month = _next(month)
        months.append(month)
    return months
