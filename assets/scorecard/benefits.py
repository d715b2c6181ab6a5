"""The CTPAT benefit scorecard: one row per month (and `ALL`) x benefit, certified relative to
uncertified, so a benefit shows as a ratio below 1 or a difference below 0."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Callable

import duckdb
import polars as pl

from assets.resources import read_sql
from assets.scorecard.statistics import (crude_rr, mantel_haenszel_rr, mean_with_ci, median_difference, seed_for,
                                         standardized_median_difference, verdict)

ALL = "ALL"
RATIO, HOURS, MINUTES = "risk_ratio", "difference_in_median_hours", "difference_in_mean_minutes"


MEDIAN_METHOD = ("difference in median {}: within port x mode, weighted by certified counts (crude: plain "
                 "medians); stratified percentile bootstrap 95% CI, 1000+ resamples")


@dataclass(frozen=True)
class Benefit:
    name: str
    measure: str
    method: str


BENEFITS = [
    Benefit("fewer_exams", RATIO, "exam-rate ratio, Mantel-Haenszel over port x mode strata, Greenland-Robins 95% CI"),
    Benefit("fewer_exams_tier1", RATIO, "as fewer_exams, tier 1 certified importers vs uncertified"),
    Benefit("fewer_exams_tier2", RATIO, "as fewer_exams, tier 2 certified importers vs uncertified"),
    Benefit("fewer_exams_tier3", RATIO, "as fewer_exams, tier 3 certified importers vs uncertified"),
    Benefit("inspection_priority", HOURS, MEDIAN_METHOD.format("hours from selection to exam start")),
    Benefit("faster_release_unexamined", HOURS, MEDIAN_METHOD.format("release hours of entries without exams")),
    Benefit("faster_release_examined", HOURS, MEDIAN_METHOD.format("release hours of examined entries")),
    Benefit("shorter_border_wait", MINUTES, "FAST minus standard commercial delay, readings matched by crossing and update time; normal 95% CI"),
    Benefit("forced_labor_detention_rate", RATIO, "UFLPA detention rate ratio, Mantel-Haenszel over port x mode strata"),
    Benefit("forced_labor_detention_hours", HOURS, MEDIAN_METHOD.format("hours from UFLPA selection to completion")),
]
COLUMNS = {"month": pl.String, "benefit": pl.String, "measure": pl.String, "certified_n": pl.Int64,
           "uncertified_n": pl.Int64, "certified_value": pl.Float64, "uncertified_value": pl.Float64,
           "effect": pl.Float64, "effect_ci_low": pl.Float64, "effect_ci_high": pl.Float64,
           "crude_effect": pl.Float64, "crude_ci_low": pl.Float64, "crude_ci_high": pl.Float64,
           "verdict": pl.String, "method": pl.String}


def _with_all(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame once per month and once more as month ALL (the whole period)."""
    return pl.concat([frame, frame.with_columns(pl.lit(ALL).alias("month"))])


def _rate_ratio(strata: pl.DataFrame, benefit: Benefit, cases: str, exposed: pl.Expr) -> pl.DataFrame:
    """Certified (rows matching `exposed`) vs uncertified: per port x mode stratum a, n1, c, n0."""
    uncertified = pl.col("ctpat_status") == "UNCERTIFIED"
    table = strata.group_by("month", "port_code", "mode_of_transport", maintain_order=True).agg(
        pl.col(cases).filter(exposed).sum().alias("a"), pl.col("entries").filter(exposed).sum().alias("n1"),
        pl.col(cases).filter(uncertified).sum().alias("c"), pl.col("entries").filter(uncertified).sum().alias("n0"))
    totals = crude_rr(table.group_by("month").agg(pl.col("a", "n1", "c", "n0").sum()))
    return totals.join(mantel_haenszel_rr(table, ["month"]), on="month", how="left").select(
        "month", pl.lit(benefit.name).alias("benefit"), pl.col("n1").alias("certified_n"),
        pl.col("n0").alias("uncertified_n"),
        pl.when(pl.col("n1") > 0).then(pl.col("a") / pl.col("n1")).alias("certified_value"),
        pl.when(pl.col("n0") > 0).then(pl.col("c") / pl.col("n0")).alias("uncertified_value"),
        pl.col("rr").alias("effect"), pl.col("ci_low").alias("effect_ci_low"), pl.col("ci_high").alias("effect_ci_high"),
        pl.col("crude_rr").alias("crude_effect"), "crude_ci_low", "crude_ci_high")


def _median_tasks(sample: pl.DataFrame, benefit: Benefit, months: list[str], n_resamples: int
                  ) -> list[tuple[int, Callable[[], dict]]]:
    """Per month: the effect (port x mode standardized median difference) and the crude difference
    of medians with a port-stratified bootstrap CI, as two tasks with their sample sizes. Both are
    seeded per benefit and month, so they can run on parallel threads in any order (numpy's sampling
    releases the GIL) and still give the same numbers."""
    rows = dict(sample.group_by("month").len().rows()) | {ALL: sample.height}

    def part_of(month: str) -> pl.DataFrame:
        return sample if month == ALL else sample.filter(pl.col("month") == month)

    def effect(month: str) -> dict:
        value, low, high = standardized_median_difference(part_of(month), n_resamples, seed_for(benefit.name, month))
        return {"month": month, "benefit": benefit.name, "effect": value, "effect_ci_low": low, "effect_ci_high": high}

    def crude(month: str) -> dict:
        part = part_of(month)
        certified, uncertified = part.filter(pl.col("certified")), part.filter(~pl.col("certified"))
        value, low, high = median_difference(certified, uncertified, n_resamples, seed_for(benefit.name, month, "crude"))
        return {"month": month, "benefit": benefit.name, "certified_n": certified.height,
                "uncertified_n": uncertified.height, "certified_value": certified["value"].median(),
                "uncertified_value": uncertified["value"].median(), "crude_effect": value,
                "crude_ci_low": low, "crude_ci_high": high}

    return [(rows.get(m, 0), partial(task, m)) for m in months for task in (effect, crude)]


def _run_largest_first(tasks: list[tuple[int, Callable[[], dict]]]) -> pl.DataFrame:
    """The median benefits' tasks on a thread pool, largest first (the ALL rows are as big as the
    months together; the pool balances the rest around them), merged into one row per month."""
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        futures = [pool.submit(task) for _, task in sorted(tasks, key=lambda t: -t[0])]
        parts = [f.result() for f in futures]
    merged: dict[tuple[str, str], dict] = {}
    for part in parts:
        merged.setdefault((part["benefit"], part["month"]), {}).update(part)
    rows = list(merged.values())
    return pl.DataFrame(rows, schema={c: COLUMNS[c] for c in rows[0]})


def _lane_wait(pairs: pl.DataFrame, benefit: Benefit, months: list[str]) -> pl.DataFrame:
    rows = []
    for month in months:
        part = pairs.filter(pl.col("month") == month)
        diffs = (part["fast_delay_minutes"] - part["standard_delay_minutes"]).cast(pl.Float64).to_numpy()
        effect, low, high = mean_with_ci(diffs)
        rows.append({"month": month, "benefit": benefit.name, "certified_n": part.height, "uncertified_n": part.height,
                     "certified_value": part["fast_delay_minutes"].mean(),
                     "uncertified_value": part["standard_delay_minutes"].mean(),
                     "effect": effect, "effect_ci_low": low, "effect_ci_high": high})
    return pl.DataFrame(rows, schema={c: COLUMNS[c] for c in rows[0]})


def _sorted(con: duckdb.DuckDBPyConnection, query: str) -> pl.DataFrame:
    """Strata and lane pairs, sorted: float sums over them must add up in the same order on every run."""
    frame = con.sql(read_sql(f"scorecard/{query}.sql")).pl()
    return frame.sort(frame.columns)


def _sample(con: duckdb.DuckDBPyConnection, query: str) -> pl.DataFrame:
    """A sample of values for the median benefits, with its port x mode `cell`. Not sorted (sorting
    millions of rows by every column cost more than the bootstraps): the statistics see a sample only
    through sorts of their own, by value with ties by stratum, and order-free aggregates, so the row
    order cannot change a number. Strata and cells become integer codes in the order of their names:
    numpy sorts integers many times faster than strings, they take a fraction of the memory, and the
    same order gives the same draws."""
    frame = con.sql(read_sql(f"scorecard/{query}.sql")).pl()
    cells = frame.select(pl.concat_str("stratum", "mode_of_transport", separator="|"))
    return frame.with_columns(_codes(cells.to_series()).alias("cell"), _codes(frame["stratum"]))


def _codes(names: pl.Series) -> pl.Series:
    """Integer codes numbering the distinct names in sorted order."""
    return names.cast(pl.Enum(names.unique().sort())).to_physical()


def scorecard(con: duckdb.DuckDBPyConnection, n_resamples: int = 1000, months: list[str] | None = None) -> pl.DataFrame:
    """Every benefit for the given months (default: every month of entries), every month of border
    readings, and ALL. ALL pools every month, so it reads every month's facts."""
    # DuckDB returns rows in any order; neither float sums nor random draws may depend on it (a re-run
    # reproduces the scorecard exactly): strata are sorted, samples only ever seen sorted by value.
    strata = _with_all(_sorted(con, "exam_strata"))
    pairs = _with_all(_sorted(con, "lane_wait_pairs"))
    entry_months = set(strata["month"]) if months is None else set(months)
    months = sorted((entry_months | set(pairs["month"])) - {ALL}) + [ALL]
    # The samples are not copied for ALL: month ALL takes the whole frame (see _median_tasks).
    waits = _sample(con, "inspection_wait_sample")
    release = _sample(con, "release_sample")
    detention = _sample(con, "detention_hours_sample")
    certified = pl.col("ctpat_status") == "CERTIFIED"
    by_name = {b.name: b for b in BENEFITS}
    medians = _run_largest_first([
        *_median_tasks(waits, by_name["inspection_priority"], months, n_resamples),
        *_median_tasks(release.filter(~pl.col("examined")), by_name["faster_release_unexamined"], months, n_resamples),
        *_median_tasks(release.filter(pl.col("examined")), by_name["faster_release_examined"], months, n_resamples),
        *_median_tasks(detention, by_name["forced_labor_detention_hours"], months, n_resamples)])
    parts = [
        _rate_ratio(strata, by_name["fewer_exams"], "examined_entries", certified),
        *(_rate_ratio(strata, by_name[f"fewer_exams_tier{t}"], "examined_entries", certified & (pl.col("ctpat_tier") == t))
          for t in (1, 2, 3)),
        _rate_ratio(strata, by_name["forced_labor_detention_rate"], "detained_entries", certified),
        medians,
        _lane_wait(pairs, by_name["shorter_border_wait"], months),
    ]
    found = pl.concat([p.select([c for c in COLUMNS if c in p.columns]) for p in parts if not p.is_empty()],
                      how="diagonal_relaxed")
    grid = pl.DataFrame([(m, b.name, b.measure, b.method) for m in months for b in BENEFITS],
                        schema=["month", "benefit", "measure", "method"], orient="row")
    card = grid.join(found, on=["month", "benefit"], how="left").with_columns(
        pl.col("certified_n", "uncertified_n").fill_null(0))
    null = {b.name: 1.0 if b.measure == RATIO else 0.0 for b in BENEFITS}
    verdicts = [verdict(r["effect_ci_low"], r["effect_ci_high"], r["certified_n"], r["uncertified_n"], null[r["benefit"]])
                for r in card.iter_rows(named=True)]  # one per scorecard row, not per observation
    order = {b.name: i for i, b in enumerate(BENEFITS)}
    return card.with_columns(pl.Series("verdict", verdicts)).select(
        [pl.col(c).cast(t) for c, t in COLUMNS.items()]).sort(
        pl.col("month") == ALL, "month", pl.col("benefit").replace_strict(order, return_dtype=pl.Int64))

