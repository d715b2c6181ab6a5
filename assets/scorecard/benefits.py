"""The CTPAT benefit scorecard: one row per month (and `ALL`) x benefit, certified relative to
uncertified, so a benefit shows as a ratio below 1 or a difference below 0; and the sensitivity
table, one row per month x benefit x specification.

Two designs answer "does certification do it?":
- cross-sectional: certified entries against uncertified entries of the same strata (port x mode
  x country of origin x HTS section for rates, port x mode for medians). It cannot rule out that
  the importers who join were low-risk to begin with (CBP certifies low-risk traders by design).
- within importer: each importer whose status changed compared with itself, certified against
  uncertified, at the same port and mode (and, for rates, with month effects). Who chooses to join
  cannot explain it; something that changed in the importer at the moment it joined still could.
Every interval treats importers, not entries, as the independent units (statistics.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from assets.resources import read_sql
from assets.scorecard.statistics import (MIN_CELL, MIN_CELL_WITHIN, RatioCounts, e_value, e_value_of_interval,
                                         mantel_haenszel_clustered,
                                         mean_with_ci, standardized_median_difference, verdict,
                                         within_importer_rate_ratio)

ALL = "ALL"
RATIO, HOURS, MINUTES = "rate_ratio", "difference_in_median_hours", "difference_in_mean_minutes"
CROSS, WITHIN, PAIRED = "cross_sectional", "within_importer", "paired_readings"
CRUDE, PORT_MODE, FULL = "crude", "port_mode", "port_mode_origin_section"

RATIO_METHOD = ("exam-rate ratio, Mantel-Haenszel over port x mode x country of origin x HTS section strata; "
                "delete-one-importer jackknife 95% CI (t, importers - 1 df)")
WITHIN_RATIO_METHOD = ("exam-rate ratio, Poisson with importer x port x mode and month fixed effects (offset log "
                       "entries); delete-one-importer jackknife 95% CI (t, switching importers - 1 df)")
MEDIAN_METHOD = ("difference in median {}: within port x mode, weighted by certified counts (crude: plain medians); "
                 "delete-one-importer jackknife 95% CI through the Bahadur representation of each median")
WITHIN_MEDIAN_METHOD = ("difference in median {}: within importer x port x mode (importers whose status changed), "
                        "weighted by certified counts; delete-one-importer jackknife 95% CI")


@dataclass(frozen=True)
class Benefit:
    name: str
    measure: str
    design: str
    source: str  # the landing source its observations come from (a claim with no loaded rows is not measurable)
    method: str

    @property
    def null(self) -> float:
        return 1.0 if self.measure == RATIO else 0.0


BENEFITS = [
    Benefit("fewer_exams", RATIO, CROSS, "entries", RATIO_METHOD),
    Benefit("fewer_exams_within_importer", RATIO, WITHIN, "entries", WITHIN_RATIO_METHOD),
    Benefit("fewer_exams_tier1", RATIO, CROSS, "entries", "as fewer_exams, tier 1 certified importers vs uncertified"),
    Benefit("fewer_exams_tier2", RATIO, CROSS, "entries", "as fewer_exams, tier 2 certified importers vs uncertified"),
    Benefit("fewer_exams_tier3", RATIO, CROSS, "entries", "as fewer_exams, tier 3 certified importers vs uncertified"),
    Benefit("inspection_priority", HOURS, CROSS, "exams", MEDIAN_METHOD.format("hours from selection to exam start")),
    Benefit("inspection_priority_within_importer", HOURS, WITHIN, "exams",
            WITHIN_MEDIAN_METHOD.format("hours from selection to exam start")),
    Benefit("faster_release_unexamined", HOURS, CROSS, "entries", MEDIAN_METHOD.format("release hours of entries without exams")),
    Benefit("faster_release_unexamined_within_importer", HOURS, WITHIN, "entries",
            WITHIN_MEDIAN_METHOD.format("release hours of entries without exams")),
    Benefit("faster_release_examined", HOURS, CROSS, "entries", MEDIAN_METHOD.format("release hours of examined entries")),
    Benefit("shorter_border_wait", MINUTES, PAIRED, "bwt",
            "FAST minus standard commercial delay, readings matched by crossing and update time; normal 95% CI "
            "(readings have no importer)"),
    Benefit("forced_labor_detention_rate", RATIO, CROSS, "exams",
            "UFLPA detention rate ratio, Mantel-Haenszel as fewer_exams"),
    Benefit("forced_labor_detention_hours", HOURS, CROSS, "exams", MEDIAN_METHOD.format("hours from UFLPA selection to completion")),
]
BY_NAME = {b.name: b for b in BENEFITS}

COLUMNS = {"month": pl.String, "benefit": pl.String, "design": pl.String, "measure": pl.String,
           "certified_n": pl.Int64, "uncertified_n": pl.Int64, "certified_importers": pl.Int64,
           "uncertified_importers": pl.Int64, "switching_importers": pl.Int64, "contributing_entries": pl.Int64,
           "certified_value": pl.Float64, "uncertified_value": pl.Float64,
           "effect": pl.Float64, "effect_ci_low": pl.Float64, "effect_ci_high": pl.Float64,
           "crude_effect": pl.Float64, "crude_ci_low": pl.Float64, "crude_ci_high": pl.Float64,
           "e_value": pl.Float64, "e_value_ci": pl.Float64, "verdict": pl.String, "method": pl.String}
SENSITIVITY_COLUMNS = {"month": pl.String, "benefit": pl.String, "specification": pl.String, "measure": pl.String,
                       "certified_n": pl.Int64, "uncertified_n": pl.Int64, "importers": pl.Int64,
                       "switching_importers": pl.Int64, "effect": pl.Float64, "ci_low": pl.Float64,
                       "ci_high": pl.Float64, "verdict": pl.String}

# The ratio benefits: which count is the case, and which certified rows are the exposed side.
RATIO_CASES = {"fewer_exams": ("examined", None), "fewer_exams_tier1": ("examined", 1),
               "fewer_exams_tier2": ("examined", 2), "fewer_exams_tier3": ("examined", 3),
               "forced_labor_detention_rate": ("detained", None)}
# Within-importer ratio benefit -> (case count, the cross-sectional benefit it is a specification of).
WITHIN_RATIOS = {"fewer_exams_within_importer": ("examined", "fewer_exams")}
# Medians: sample, its filter, and the within-importer benefit that mirrors it (if published).
MEDIANS = {"inspection_priority": ("inspection_wait_sample", None, "inspection_priority_within_importer"),
           "faster_release_unexamined": ("release_sample", ~pl.col("examined"), "faster_release_unexamined_within_importer"),
           "faster_release_examined": ("release_sample", pl.col("examined"), None),
           "forced_labor_detention_hours": ("detention_hours_sample", None, None)}


@dataclass(frozen=True)
class Scorecard:
    benefits: pl.DataFrame
    sensitivity: pl.DataFrame


def scorecard(con: duckdb.DuckDBPyConnection, months: list[str] | None = None) -> Scorecard:
    """Every benefit for the given months (default: every month of entries), every month of border
    readings, and ALL (which pools every month, so it reads every month's facts)."""
    for table, query in (("scorecard_importers", "importer_codes"), ("scorecard_cells", "cell_codes")):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {read_sql(f'scorecard/{query}.sql')}")
    pairs = con.sql(read_sql("scorecard/exam_pairs.sql")).pl()
    lane_pairs = con.sql(read_sql("scorecard/lane_wait_pairs.sql")).pl().sort("month", "port_number",
                                                                              "fast_delay_minutes", "standard_delay_minutes")
    entry_months = sorted(set(pairs["month"].unique()) if months is None else set(months))
    wanted = sorted(set(entry_months) | set(lane_pairs["month"].unique())) + [ALL]
    rows: list[dict] = []
    sensitivity: list[dict] = []
    for grouping, part in _groupings(pairs, entry_months):
        _ratio_rows(part, rows, sensitivity)
        _within_ratio_rows(part, grouping, rows, sensitivity)
    for name, (query, where, within) in MEDIANS.items():
        sample = con.sql(read_sql(f"scorecard/{query}.sql")).pl()
        if where is not None:
            sample = sample.filter(where).drop("examined")
        _median_rows(sample, entry_months, BY_NAME[name], BY_NAME.get(within or ""), rows, sensitivity)
    rows += _lane_wait(lane_pairs, BY_NAME["shorter_border_wait"], wanted)
    con.execute("DROP TABLE scorecard_importers; DROP TABLE scorecard_cells")
    return Scorecard(_card(rows, wanted), _sensitivity(sensitivity))


def _groupings(pairs: pl.DataFrame, months: list[str]):
    """The pairs of the requested months (grouped by month), then of every month pooled as ALL."""
    yield "month", pairs.filter(pl.col("month").is_in(months))
    yield ALL, pairs.group_by("importer", "cell", "stratum", "certified", "tier").agg(
        pl.col("entries", "examined_entries", "detained_entries").sum()).with_columns(pl.lit(ALL).alias("month"))


# ---------------------------------------------------------------------------------------------
# Ratios
# ---------------------------------------------------------------------------------------------

def _wide(part: pl.DataFrame, level: str) -> pl.DataFrame:
    """One row per month x importer x stratum of the specification, every side's counts as columns."""
    stratum = {CRUDE: pl.lit(0, pl.Int32), PORT_MODE: pl.col("cell"), FULL: pl.col("stratum")}[level]
    cert, unc = pl.col("certified"), ~pl.col("certified")
    columns = [pl.col("entries").filter(cert).sum().alias("n1"), pl.col("entries").filter(unc).sum().alias("n0"),
               pl.col("examined_entries").filter(cert).sum().alias("examined1"),
               pl.col("examined_entries").filter(unc).sum().alias("examined0"),
               pl.col("detained_entries").filter(cert).sum().alias("detained1"),
               pl.col("detained_entries").filter(unc).sum().alias("detained0")]
    for tier in (1, 2, 3):
        mine = cert & (pl.col("tier") == tier)
        columns += [pl.col("entries").filter(mine).sum().alias(f"n1_tier{tier}"),
                    pl.col("examined_entries").filter(mine).sum().alias(f"examined1_tier{tier}")]
    return part.with_columns(stratum.alias("_stratum")).group_by("month", "importer", "_stratum").agg(columns).sort(
        "month", "importer", "_stratum")


def _ratio_rows(part: pl.DataFrame, rows: list, sensitivity: list) -> None:
    months = sorted(part["month"].unique())
    if not months:
        return
    results = {}
    for level in (CRUDE, PORT_MODE, FULL):
        wide = _wide(part, level)
        group = wide["month"].replace_strict({m: i for i, m in enumerate(months)}, return_dtype=pl.Int64).to_numpy()
        importer, stratum = wide["importer"].to_numpy(), wide["_stratum"].to_numpy()
        for name, (case, tier) in RATIO_CASES.items():
            suffix = f"_tier{tier}" if tier else ""
            counts = RatioCounts(group, importer, stratum, wide[f"{case}1{suffix}"].to_numpy(),
                                 wide[f"n1{suffix}"].to_numpy(), wide[f"{case}0"].to_numpy(), wide["n0"].to_numpy())
            results[name, level] = mantel_haenszel_clustered(counts, len(months))
    for name in RATIO_CASES:
        benefit = BY_NAME[name]
        for i, month in enumerate(months):
            full, crude = results[name, FULL], results[name, CRUDE]
            row = _ratio_row(benefit, month, full, i, crude)
            rows.append(row)
            for level in (CRUDE, PORT_MODE, FULL):
                r = results[name, level]
                sensitivity.append(_sensitivity_row(month, name, level, benefit, r.rr[i], r.ci_low[i], r.ci_high[i],
                                                    r.certified_n[i], r.uncertified_n[i], r.importers[i], None,
                                                    r.certified_importers[i], r.uncertified_importers[i]))


def _value(x) -> float | None:
    """A float for the frame: NaN (no estimate) becomes None; an unbounded limit stays infinite."""
    return None if x is None or np.isnan(x) else float(x)


def _ratio_row(benefit: Benefit, month: str, r, i: int, crude) -> dict:
    rate = lambda cases, n: float(cases) / float(n) if n else None  # noqa: E731
    return {"month": month, "benefit": benefit.name, "certified_n": int(r.certified_n[i]),
            "uncertified_n": int(r.uncertified_n[i]), "certified_importers": int(r.certified_importers[i]),
            "uncertified_importers": int(r.uncertified_importers[i]), "switching_importers": None,
            "contributing_entries": int(r.certified_n[i] + r.uncertified_n[i]),
            "certified_value": rate(r.certified_cases[i], r.certified_n[i]),
            "uncertified_value": rate(r.uncertified_cases[i], r.uncertified_n[i]),
            "effect": _value(r.rr[i]), "effect_ci_low": _value(r.ci_low[i]), "effect_ci_high": _value(r.ci_high[i]),
            "crude_effect": _value(crude.rr[i]), "crude_ci_low": _value(crude.ci_low[i]),
            "crude_ci_high": _value(crude.ci_high[i])}


def _within_ratio_rows(part: pl.DataFrame, grouping: str, rows: list, sensitivity: list) -> None:
    """Per month: the month's own cells (no month effects); ALL: every month, with month effects."""
    cells = part.group_by("month", "importer", "cell", "certified").agg(
        pl.col("entries", "examined_entries", "detained_entries").sum())
    for name, (case, parent) in WITHIN_RATIOS.items():
        benefit = BY_NAME[name]
        for month, frame in _within_groups(cells, grouping):
            data = frame.select(pl.col("importer"), (pl.col("importer").cast(pl.Int64) * 100_000 + pl.col("cell")).alias("fe"),
                                pl.col("_month").alias("month"), pl.col("certified").cast(pl.Int8).alias("d"),
                                pl.col(f"{case}_entries").alias("y"), pl.col("entries").alias("n"))
            estimate, counts = within_importer_rate_ratio(data)
            crude = _switchers_crude(data, counts)
            rows.append({"month": month, "benefit": name, "certified_n": counts["certified_n"],
                         "uncertified_n": counts["uncertified_n"], "certified_importers": None,
                         "uncertified_importers": None, "switching_importers": counts["switching_importers"],
                         "contributing_entries": counts["contributing_entries"],
                         "certified_value": counts["certified_cases"] / counts["certified_n"] if counts["certified_n"] else None,
                         "uncertified_value": (counts["uncertified_cases"] / counts["uncertified_n"]
                                               if counts["uncertified_n"] else None),
                         "effect": estimate.effect, "effect_ci_low": estimate.ci_low, "effect_ci_high": estimate.ci_high,
                         **crude})
            sensitivity.append(_sensitivity_row(month, parent, WITHIN, benefit, estimate.effect, estimate.ci_low,
                                                estimate.ci_high, counts["certified_n"], counts["uncertified_n"],
                                                estimate.importers, counts["switching_importers"]))


def _within_groups(cells: pl.DataFrame, grouping: str):
    if grouping == ALL:
        month_codes = {m: i for i, m in enumerate(sorted(cells["month"].unique()))}
        yield ALL, cells.with_columns(pl.col("month").replace_strict(month_codes, return_dtype=pl.Int64).alias("_month"))
        return
    for (month,), frame in sorted(cells.group_by("month"), key=lambda kv: kv[0]):
        yield month, frame.with_columns(pl.lit(0, pl.Int64).alias("_month"))


def _switchers_crude(data: pl.DataFrame, counts: dict) -> dict:
    """The plain certified / uncertified exam-rate ratio of the switching importers' compared cells,
    with its importer-clustered interval: what the within-importer design adjusts."""
    both = data.group_by("fe").agg(pl.col("d").n_unique().alias("k"), pl.col("y").sum().alias("Y")).filter(
        (pl.col("k") == 2) & (pl.col("Y") > 0))
    compared = data.join(both.select("fe"), on="fe", how="semi").group_by("importer").agg(
        pl.col("y").filter(pl.col("d") == 1).sum().alias("a"), pl.col("n").filter(pl.col("d") == 1).sum().alias("n1"),
        pl.col("y").filter(pl.col("d") == 0).sum().alias("c"), pl.col("n").filter(pl.col("d") == 0).sum().alias("n0")
    ).sort("importer")
    if compared.is_empty():
        return {"crude_effect": None, "crude_ci_low": None, "crude_ci_high": None}
    r = mantel_haenszel_clustered(RatioCounts(np.zeros(compared.height, dtype=np.int64), compared["importer"].to_numpy(),
                                              np.zeros(compared.height, dtype=np.int64), *(compared[c].to_numpy() for c in
                                                                                           ("a", "n1", "c", "n0"))), 1)
    return {"crude_effect": _value(r.rr[0]), "crude_ci_low": _value(r.ci_low[0]), "crude_ci_high": _value(r.ci_high[0])}


# ---------------------------------------------------------------------------------------------
# Medians
# ---------------------------------------------------------------------------------------------

def _median_rows(sample: pl.DataFrame, months: list[str], benefit: Benefit, within: Benefit | None,
                 rows: list, sensitivity: list) -> None:
    """Effect (port x mode cells), crude (one cell) and within importer (importer x port x mode
    cells), for every requested month and ALL."""
    monthly = sample.filter(pl.col("month").is_in(months))
    pooled = sample.with_columns(pl.lit(ALL).alias("month"))
    parts = {}
    for level, cell, min_cell in ((PORT_MODE, pl.col("cell"), MIN_CELL), (CRUDE, pl.lit(0, pl.Int64), MIN_CELL),
                                  (WITHIN, pl.col("importer").cast(pl.Int64) * 100_000 + pl.col("cell"), MIN_CELL_WITHIN)):
        parts[level] = pl.concat([standardized_median_difference(frame.with_columns(cell.alias("cell")), ["month"], min_cell)
                                  for frame in (monthly, pooled)])
    sides = pl.concat([monthly, pooled]).group_by("month").agg(
        pl.col("value").filter("certified").median().alias("certified_value"),
        pl.col("value").filter(~pl.col("certified")).median().alias("uncertified_value"),
        pl.col("certified").sum().alias("certified_n"), (~pl.col("certified")).sum().alias("uncertified_n"),
        pl.col("importer").filter("certified").n_unique().alias("certified_importers"),
        pl.col("importer").filter(~pl.col("certified")).n_unique().alias("uncertified_importers"))
    effect = {r["month"]: r for r in parts[PORT_MODE].iter_rows(named=True)}
    crude = {r["month"]: r for r in parts[CRUDE].iter_rows(named=True)}
    inner = {r["month"]: r for r in parts[WITHIN].iter_rows(named=True)}
    for side in sides.iter_rows(named=True):
        month = side["month"]
        e, c, w = effect.get(month, {}), crude.get(month, {}), inner.get(month, {})
        rows.append({"month": month, "benefit": benefit.name, **side, "switching_importers": None,
                     "contributing_entries": (e.get("certified_n") or 0) + (e.get("uncertified_n") or 0),
                     "effect": e.get("effect"), "effect_ci_low": e.get("ci_low"), "effect_ci_high": e.get("ci_high"),
                     "crude_effect": c.get("effect"), "crude_ci_low": c.get("ci_low"), "crude_ci_high": c.get("ci_high")})
        for level, r in ((CRUDE, c), (PORT_MODE, e), (WITHIN, w)):
            switching = r.get("switching_importers") if level == WITHIN else None
            sensitivity.append(_sensitivity_row(
                month, benefit.name, level, benefit, r.get("effect"), r.get("ci_low"), r.get("ci_high"),
                r.get("certified_n") or 0, r.get("uncertified_n") or 0, r.get("importers") or 0, switching,
                r.get("certified_importers"), r.get("uncertified_importers")))
        if within is not None:
            rows.append({"month": month, "benefit": within.name, "certified_n": w.get("certified_n") or 0,
                         "uncertified_n": w.get("uncertified_n") or 0, "certified_importers": None,
                         "uncertified_importers": None, "switching_importers": w.get("switching_importers") or 0,
                         "contributing_entries": (w.get("certified_n") or 0) + (w.get("uncertified_n") or 0),
                         "effect": w.get("effect"), "effect_ci_low": w.get("ci_low"), "effect_ci_high": w.get("ci_high")})


def _lane_wait(pairs: pl.DataFrame, benefit: Benefit, months: list[str]) -> list[dict]:
    rows = []
    for month in months:
        part = pairs if month == ALL else pairs.filter(pl.col("month") == month)
        diffs = (part["fast_delay_minutes"] - part["standard_delay_minutes"]).cast(pl.Float64).to_numpy()
        effect, low, high = mean_with_ci(diffs)
        rows.append({"month": month, "benefit": benefit.name, "certified_n": part.height, "uncertified_n": part.height,
                     "contributing_entries": part.height, "certified_value": part["fast_delay_minutes"].mean(),
                     "uncertified_value": part["standard_delay_minutes"].mean(),
                     "effect": effect, "effect_ci_low": low, "effect_ci_high": high})
    return rows


# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------

def _row_verdict(r: dict, benefit: Benefit) -> str:
    if benefit.design == WITHIN:
        return verdict(r["effect_ci_low"], r["effect_ci_high"], r["certified_n"], r["uncertified_n"], benefit.null,
                       switching_importers=r["switching_importers"] or 0)
    if benefit.design == PAIRED:
        return verdict(r["effect_ci_low"], r["effect_ci_high"], r["certified_n"], r["uncertified_n"], benefit.null)
    return verdict(r["effect_ci_low"], r["effect_ci_high"], r["certified_n"], r["uncertified_n"], benefit.null,
                   r["certified_importers"] or 0, r["uncertified_importers"] or 0)


def _card(rows: list[dict], months: list[str]) -> pl.DataFrame:
    found = {(r["month"], r["benefit"]): r for r in rows}
    order = {b.name: i for i, b in enumerate(BENEFITS)}
    out = []
    for month in months:
        for benefit in BENEFITS:
            r = {c: None for c in COLUMNS} | found.get((month, benefit.name), {})
            r.update(month=month, benefit=benefit.name, design=benefit.design, measure=benefit.measure,
                     method=benefit.method, certified_n=r["certified_n"] or 0, uncertified_n=r["uncertified_n"] or 0)
            r["verdict"] = _row_verdict(r, benefit)
            if benefit.measure == RATIO:
                r["e_value"] = e_value(r["effect"])
                r["e_value_ci"] = e_value_of_interval(r["effect_ci_low"], r["effect_ci_high"])
            out.append(r)
    card = pl.DataFrame(out, schema=COLUMNS)
    return card.sort(pl.col("month") == ALL, "month", pl.col("benefit").replace_strict(order, return_dtype=pl.Int64))


def _sensitivity_row(month, name, level, benefit: Benefit, effect, low, high, n1, n0, importers, switching,
                     importers1=None, importers0=None) -> dict:
    effect, low, high = (None if x is None or np.isnan(x) else float(x) for x in (effect, low, high))
    if level == WITHIN:
        v = verdict(low, high, int(n1), int(n0), benefit.null, switching_importers=int(switching or 0))
    else:
        v = verdict(low, high, int(n1), int(n0), benefit.null, int(importers1 or 0), int(importers0 or 0))
    return {"month": month, "benefit": name, "specification": level, "measure": benefit.measure,
            "certified_n": int(n1), "uncertified_n": int(n0), "importers": int(importers or 0),
            "switching_importers": None if switching is None else int(switching), "effect": effect, "ci_low": low,
            "ci_high": high, "verdict": v}


def _sensitivity(rows: list[dict]) -> pl.DataFrame:
    order = {CRUDE: 0, PORT_MODE: 1, FULL: 2, WITHIN: 3}
    frame = pl.DataFrame(rows, schema=SENSITIVITY_COLUMNS)
    return frame.sort(pl.col("month") == ALL, "month", "benefit",
                      pl.col("specification").replace_strict(order, return_dtype=pl.Int64))
