"""The CTPAT benefit scorecard: one row per month (and `ALL`) x benefit, certified relative to
uncertified, so a benefit shows as a ratio below 1 or a difference below 0; and the sensitivity
table, one row per month x benefit x specification.

Two designs answer "does certification do it?":
- cross-sectional: certified entries against uncertified entries of the same strata (port x mode
  x country of origin x HTS section for rates, port x mode for medians; for ALL also the local
  month). It cannot rule out that the importers who join were low-risk to begin with (CBP
  certifies low-risk traders by design).
- within importer: each importer whose status changed compared with itself, certified against
  uncertified, at the same port and mode (rates: with month effects). Who chooses to join cannot
  explain it; something that changed in the importer at the moment it joined still could.
Every interval treats importers, not entries, as the independent units (statistics.py).

The warehouse does the counting (DuckDB: codes, samples, per-side quantiles, importer counts);
numpy does the jackknife arithmetic on the counts. ALL's strata and cells include the month, so
ALL reuses every month's per-stratum terms instead of computing them again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from assets.ahead import ahead
from assets.resources import read_sql
from assets.scorecard.catalogue import (ALL, BENEFITS, BY_NAME, CROSS, CRUDE, EVENT_PORT_MODE, FULL, HOURS, MINUTES,  # noqa: F401
                                        PAIRED, PORT_MODE, RATIO, WITHIN, Benefit)
from assets.scorecard.statistics import (MIN_CELL, MIN_CELL_WITHIN, MedianResult, MedianSides, MedianSums, PooledSums,
                                         RatioCounts, RatioResult, e_value, e_value_of_interval, mantel_haenszel_clustered,
                                         mean_with_ci, median_inputs, median_terms, stack_results, standardized_medians,
                                         verdict, within_importer_rate_ratio)


COLUMNS = {"month": pl.String, "benefit": pl.String, "design": pl.String, "measure": pl.String,
           "certified_n": pl.Int64, "uncertified_n": pl.Int64, "certified_importers": pl.Int64,
           "uncertified_importers": pl.Int64, "switching_importers": pl.Int64, "contributing_entries": pl.Int64,
           "certified_value": pl.Float64, "uncertified_value": pl.Float64,
           "effect": pl.Float64, "effect_ci_low": pl.Float64, "effect_ci_high": pl.Float64,
           "crude_effect": pl.Float64, "crude_ci_low": pl.Float64, "crude_ci_high": pl.Float64,
           "baseline_effect": pl.Float64, "e_value": pl.Float64, "e_value_ci": pl.Float64, "verdict": pl.String, "method": pl.String}
SENSITIVITY_COLUMNS = {"month": pl.String, "benefit": pl.String, "specification": pl.String, "measure": pl.String,
                       "certified_n": pl.Int64, "uncertified_n": pl.Int64, "importers": pl.Int64,
                       "switching_importers": pl.Int64, "effect": pl.Float64, "ci_low": pl.Float64,
                       "ci_high": pl.Float64, "verdict": pl.String}

# Ratio benefit -> (cases counted, tier of the certified side or None for every tier).
RATIO_CASES = {"fewer_exams": ("examined", None), "fewer_exams_tier1": ("examined", 1),
               "fewer_exams_tier2": ("examined", 2), "fewer_exams_tier3": ("examined", 3),
               "forced_labor_detention_rate": ("detained", None)}
RATIO_THREADS = 2  # a month's ratios at once (_ratio_rows), beside the thread that counts the next month
# Within-importer ratio benefit -> (cases counted, the cross-sectional benefit it is a specification of).
WITHIN_RATIOS = {"fewer_exams_within_importer": ("examined", "fewer_exams")}
# Medians: sample query, its filter, and the within-importer benefit that mirrors it (if published).
MEDIANS = {"inspection_priority": ("inspection_wait_sample", "true", "inspection_priority_within_importer"),
           "faster_release_unexamined": ("release_sample", "NOT examined", "faster_release_unexamined_within_importer"),
           "faster_release_examined": ("release_sample", "examined", None),
           "forced_labor_detention_hours": ("detention_hours_sample", "true", None)}
CODES = {"scorecard_months": "month_codes", "scorecard_importers": "importer_codes", "scorecard_cells": "cell_codes",
         "scorecard_origin_sections": "origin_section_codes", "scorecard_closure_cells": "closure_cell_codes"}


@dataclass(frozen=True)
class Scorecard:
    benefits: pl.DataFrame
    sensitivity: pl.DataFrame


@dataclass
class Rows:
    """The scorecard and sensitivity rows collected so far, for the months asked for and ALL."""

    months: list[str]  # every month of the facts, in order (their index is the month code)
    wanted: set[str]
    card: list[dict]
    sensitivity: list[dict]

    def month_names(self) -> list[str]:
        return [*self.months, ALL]

    def emit(self, index: int) -> bool:
        return self.month_names()[index] in self.wanted


def scorecard(con: duckdb.DuckDBPyConnection, months: list[str] | None = None, facts: bool = True) -> Scorecard:
    """Every benefit for the given months (default: every month of entries) and ALL (which pools
    every month, so it reads every month's facts); the border waits of every month of readings and
    ALL. A month of readings that is not asked for gets its border-wait row only: its other rows are
    estimated from facts that have not changed. `facts=False`: the border waits alone, when no month's
    facts changed since the stored rows were estimated (assets/scorecard/assets.py)."""
    codes = CODES if facts else {"scorecard_months": CODES["scorecard_months"]}
    for table, query in codes.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {read_sql(f'scorecard/{query}.sql')}")
    all_months = [m for (m,) in con.execute("SELECT month FROM scorecard_months ORDER BY month_index").fetchall()]
    lane_pairs = con.sql(read_sql("scorecard/lane_wait_pairs.sql")).pl().sort(
        "month", "port_number", "fast_delay_minutes", "standard_delay_minutes")
    wanted = (set(all_months if months is None else months) & set(all_months) | {ALL}) if facts else set()
    rows = Rows(all_months, wanted, [], [])
    if all_months and facts:
        # Every entry as codes, read from the facts once and in month order: a month's query then reads
        # that month's row groups only (the facts are not stored in month order), and the within-importer
        # cells are counted from it without joining the facts again.
        con.execute(f"CREATE OR REPLACE TEMP TABLE scorecard_entries AS "
                    f"SELECT * FROM ({read_sql('scorecard/exam_entries.sql')}) ORDER BY month")
        _ratio_rows(con, rows)
        _within_ratio_rows(con.sql(read_sql("scorecard/exam_cells.sql")).fetchnumpy(), rows)
        con.execute("DROP TABLE scorecard_entries")  # before the samples take its memory
        for query in dict.fromkeys(q for q, _, _ in MEDIANS.values()):  # each sample read once
            # In month order, so that a month's query reads that month's row groups only.
            con.execute(f"CREATE OR REPLACE TEMP TABLE scorecard_{query} AS "
                        f"SELECT * FROM ({read_sql(f'scorecard/{query}.sql')}) ORDER BY month")
        for name, (query, where, within) in MEDIANS.items():
            con.execute(f"CREATE OR REPLACE TEMP VIEW scorecard_sample AS SELECT month, importer, cell, certified, "
                        f"value, 0 AS whole FROM scorecard_{query} WHERE {where}")
            _median_rows(con, BY_NAME[name], BY_NAME.get(within or ""), rows)
        for query in dict.fromkeys(q for q, _, _ in MEDIANS.values()):
            con.execute(f"DROP TABLE scorecard_{query}")
        _resumption_rows(con, rows)
        con.execute("DROP VIEW scorecard_sample; DROP TABLE IF EXISTS scorecard_switchers")
    lane_months = sorted(wanted - {ALL} | set(lane_pairs["month"].unique())) + [ALL]
    rows.card += _lane_wait(lane_pairs, BY_NAME["shorter_border_wait"], lane_months)
    for table in codes:
        con.execute(f"DROP TABLE {table}")
    # Every benefit's row for the months estimated, and for months of readings without facts (whose
    # other rows have nothing to estimate); the border-wait row alone for the other months of readings.
    complete = wanted | set(lane_months) - set(all_months) - {ALL}
    return Scorecard(_card(rows.card, lane_months, complete), _sensitivity(rows.sensitivity))


# ---------------------------------------------------------------------------------------------
# Ratios
# ---------------------------------------------------------------------------------------------

# An entry's side and outcome in 5 bits: certified, tier (2 bits), examined, detained; and which
# counts each combination adds to (FLAG_OF_BITS[bits, flag]).
CERTIFIED_BIT, TIER_SHIFT, EXAMINED_BIT, DETAINED_BIT = 1, 1, 8, 16


def _flags() -> tuple[list[str], np.ndarray]:
    bits = np.arange(32)
    certified, tier = (bits & CERTIFIED_BIT) > 0, (bits >> TIER_SHIFT) & 3
    examined, detained = (bits & EXAMINED_BIT) > 0, (bits & DETAINED_BIT) > 0
    flags = {"n1": certified, "examined1": certified & examined, "detained1": certified & detained,
             "n0": ~certified, "examined0": ~certified & examined, "detained0": ~certified & detained}
    for t in (1, 2, 3):
        flags[f"n1_tier{t}"] = certified & (tier == t)
        flags[f"examined1_tier{t}"] = certified & (tier == t) & examined
    return list(flags), np.stack(list(flags.values()), axis=1).astype(np.int32)


FLAGS, FLAG_OF_BITS = _flags()


def _ratio_rows(con: duckdb.DuckDBPyConnection, rows: Rows) -> None:
    """Every ratio benefit and specification, one month at a time (memory follows a month's entries:
    at 100 M entries the whole period's did not fit): counts per importer and stratum, the
    Mantel-Haenszel jackknife of the month, and each month's sums added to ALL's (PooledSums: ALL's
    strata include the month, so ALL is the same floats as one computation over every month);
    crude ALL pools the months, from each importer's counts added up over the months."""
    sizes = con.execute("SELECT (SELECT max(importer) FROM scorecard_importers), (SELECT max(cell) FROM scorecard_cells), "
                        "(SELECT max(origin_section) FROM scorecard_origin_sections)").fetchone()
    n_importers, n_cells, n_origins = (int(x or 0) + 1 for x in sizes)
    query = "SELECT * FROM scorecard_entries WHERE month = ?"
    levels = (CRUDE, PORT_MODE, FULL)
    pooled = {(name, level): PooledSums.empty(n_importers) for name in RATIO_CASES for level in (PORT_MODE, FULL)}
    crude_all = np.zeros((n_importers, len(FLAGS)), dtype=np.int64)
    results: dict = {}  # (benefit, level) -> one result per month, then ALL's
    entries = 0

    def fetch(month: int) -> dict:
        return con.execute(query, [month]).fetchnumpy()

    def count(e: dict) -> tuple[int, dict]:
        return len(e["month"]), _month_levels(e, n_importers, n_cells, n_origins)

    def ratio(month_levels: dict, name: str, level: str, shown: bool) -> RatioResult | None:
        case, t = RATIO_CASES[name]
        into = pooled.get((name, level))
        return mantel_haenszel_clustered(_ratio_counts(month_levels[level], case, t), 1, into=into,
                                         by_group=shown) if shown or into is not None else None

    # A month's ratios side by side on RATIO_THREADS (the compiled loops and numpy release the GIL),
    # while ahead()'s thread counts the next month; each ratio's pooled sums still get the months in
    # order, one month's addition finished before the next month's starts.
    with ThreadPoolExecutor(RATIO_THREADS) as pool:
        for month, (n, month_levels) in enumerate(ahead(list(range(len(rows.months))), fetch, count)):
            entries += n
            imp, counts = month_levels[CRUDE][1], month_levels[CRUDE][3]
            crude_all[imp] += np.stack([counts[f] for f in FLAGS], axis=1)
            shown = rows.emit(month)  # a month not asked for only adds to ALL's sums (crude ALL: to crude_all)
            tasks = {(name, level): pool.submit(ratio, month_levels, name, level, shown)
                     for name in RATIO_CASES for level in levels}
            for key, task in tasks.items():
                results.setdefault(key, []).append(task.result())
    if entries == 0:
        return
    for name, (case, t) in RATIO_CASES.items():
        for level in (PORT_MODE, FULL):
            results[name, level].append(pooled[name, level].result())
        everyone = np.arange(n_importers)
        counts = dict(zip(FLAGS, crude_all.T))
        results[name, CRUDE].append(mantel_haenszel_clustered(
            _ratio_counts((np.zeros(n_importers, dtype=np.int64), everyone, np.zeros(n_importers, dtype=np.int64), counts),
                          case, t), 1))
    for name in RATIO_CASES:
        benefit = BY_NAME[name]
        for i, month_name in enumerate(rows.month_names()):
            if not rows.emit(i):
                continue
            full, crude = results[name, FULL][i], results[name, CRUDE][i]
            rows.card.append(_ratio_row(benefit, month_name, full, 0, crude))
            for level in levels:
                r = results[name, level][i]
                rows.sensitivity.append(_sensitivity_row(
                    month_name, name, level, benefit, r.rr[0], r.ci_low[0], r.ci_high[0], r.certified_n[0],
                    r.uncertified_n[0], r.importers[0], None, r.certified_importers[0], r.uncertified_importers[0]))


def _ratio_counts(level: tuple, case: str, tier: int | None) -> RatioCounts:
    group, importer, stratum, c = level
    suffix = f"_tier{tier}" if tier else ""
    return RatioCounts(group, importer, stratum, c[f"{case}1{suffix}"], c[f"n1{suffix}"], c[f"{case}0"], c["n0"])


def _month_levels(e: dict, n_importers: int, n_cells: int, n_origins: int) -> dict:
    """One month's entries counted per importer and stratum at each level of adjustment: (group
    (always 0: the month), importer, stratum, counts per flag).

    The counting is one integer sort: each entry's key (cell, importer, origin x section) carries its
    side and outcome in its 5 low bits, so sorted keys are runs of equal (pair, outcome), and every
    count is a bincount of the run lengths."""
    # Imported here, as statistics.py imports its kernels: a scorecard of the border waits alone
    # (a run with nothing new) then does not import numba.
    from assets.scorecard.kernels import count_runs, sum_by

    importer, cell, origin = (e[c].astype(np.int64) for c in ("importer", "cell", "origin_section"))
    outcome = (e["certified"] * CERTIFIED_BIT + (e["tier"].astype(np.int64) << TIER_SHIFT)
               + e["examined"] * EXAMINED_BIT + e["detained"] * DETAINED_BIT)
    key = np.sort(((cell * n_importers + importer) * n_origins + origin) * 32 + outcome)
    del importer, cell, origin, outcome
    pair_key, counted = count_runs(key, FLAG_OF_BITS)
    del key
    counts = {name: counted[:, f] for f, name in enumerate(FLAGS)}
    rest = pair_key // n_origins
    p_importer, p_cell = rest % n_importers, rest // n_importers
    zeros = np.zeros(len(pair_key), dtype=np.int64)
    levels = {FULL: (zeros, p_importer, p_cell * n_origins + pair_key % n_origins, counts)}
    new_run = np.r_[len(rest) > 0, rest[1:] != rest[:-1]][:len(rest)]  # pairs come in runs of one (cell, importer)
    runs = np.flatnonzero(new_run)
    port_mode = sum_by(np.cumsum(new_run) - 1, counted, len(runs))
    levels[PORT_MODE] = (zeros[runs], p_importer[runs], p_cell[runs], dict(zip(FLAGS, port_mode.T)))
    present = np.flatnonzero(np.bincount(p_importer, minlength=n_importers))
    position = np.zeros(n_importers, dtype=np.int64)
    position[present] = np.arange(len(present))
    by_importer = sum_by(position[p_importer], counted, len(present))
    levels[CRUDE] = (np.zeros(len(present), dtype=np.int64), present, np.zeros(len(present), dtype=np.int64),
                     dict(zip(FLAGS, by_importer.T)))
    return levels


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


def _within_ratio_rows(cells: dict, rows: Rows) -> None:
    """Per month: the month's own cells (no month effects), of the importers with both statuses in
    it; ALL: every month, with month effects, every importer (those whose status never changes
    inform the month effects)."""
    if len(cells["importer"]) == 0:
        return
    n_cells = int(cells["cell"].max()) + 1
    importer, month, d = cells["importer"], cells["month"], cells["certified"]
    data = {"importer": importer, "fe": importer.astype(np.int64) * n_cells + cells["cell"], "month": month, "d": d,
            "n": cells["entries"]}
    n_importers = int(importer.max()) + 1
    # Only importers with both statuses in a month inform that month (no month effects within one):
    # the rows of (importer, month) pairs holding both, grouped by month.
    pair = month.astype(np.int64) * n_importers + importer
    both = (np.bincount(pair[d], minlength=len(rows.months) * n_importers) > 0) & (
        np.bincount(pair[~d], minlength=len(rows.months) * n_importers) > 0)
    switching_rows = np.flatnonzero(both[pair])
    switching_rows = switching_rows[np.argsort(month[switching_rows], kind="stable")]
    bounds = np.searchsorted(month[switching_rows], np.arange(len(rows.months) + 1))
    for name, (case, parent) in WITHIN_RATIOS.items():
        benefit = BY_NAME[name]
        data["y"] = cells[case]
        for i, month_name in enumerate(rows.month_names()):
            if not rows.emit(i):
                continue
            if month_name == ALL:
                part = data
            else:
                keep = switching_rows[bounds[i]:bounds[i + 1]]
                part = {c: v[keep] for c, v in data.items()}
            estimate, counts = within_importer_rate_ratio(part)
            rows.card.append({
                "month": month_name, "benefit": name, "certified_n": counts["certified_n"],
                "uncertified_n": counts["uncertified_n"], "switching_importers": counts["switching_importers"],
                "contributing_entries": counts["contributing_entries"],
                "certified_value": counts["certified_cases"] / counts["certified_n"] if counts["certified_n"] else None,
                "uncertified_value": counts["uncertified_cases"] / counts["uncertified_n"] if counts["uncertified_n"] else None,
                "effect": estimate.effect, "effect_ci_low": estimate.ci_low, "effect_ci_high": estimate.ci_high,
                "crude_effect": counts["crude"].effect, "crude_ci_low": counts["crude"].ci_low,
                "crude_ci_high": counts["crude"].ci_high})
            rows.sensitivity.append(_sensitivity_row(month_name, parent, WITHIN, benefit, estimate.effect, estimate.ci_low,
                                                     estimate.ci_high, counts["certified_n"], counts["uncertified_n"],
                                                     estimate.importers, counts["switching_importers"]))


# ---------------------------------------------------------------------------------------------
# Medians
# ---------------------------------------------------------------------------------------------

def _median_rows(con: duckdb.DuckDBPyConnection, benefit: Benefit, within: Benefit | None, rows: Rows,
                 adjusted: str = PORT_MODE) -> None:
    """Effect (port x mode cells; ALL: month x port x mode), crude (one cell per month; ALL: one
    cell), within importer (importer x port x mode cells of the importers whose status changed;
    ALL: pooled over months), from the sample in temp table scorecard_sample. `adjusted`: what the
    sample's cells are, as the sensitivity table names the specification."""
    n_months, n_importers = len(rows.months), _n_importers(con)
    every = list(range(n_months))
    # Each month's crude and within-importer results are only shown for the months asked for; ALL's
    # come from their own pooled computations below, not from these.
    asked = [i for i in every if rows.emit(i)]
    results = {PORT_MODE: _month_cell_medians(con, "scorecard_sample", ["month", "cell"], MIN_CELL, every, n_importers)[:2]}
    (whole, whole_sides, whole_per), = median_inputs(con, "scorecard_sample", [(["whole"], 1)])
    crude_all, = standardized_medians(whole_sides, whole_per, [(np.zeros(whole.height, dtype=np.int64), 1)], n_importers)
    crude_months, _, month_sides = _month_cell_medians(con, "scorecard_sample", ["month"], 1, asked, n_importers)
    results[CRUDE] = (crude_months, crude_all)
    crude_sides = {(i, bool(c)): (int(n), float(q)) for i, s in zip(asked, month_sides)
                   for c, n, q in zip(s.certified, s.n, s.median)}
    crude_sides.update({(n_months, bool(c)): (int(n), float(q))
                        for c, n, q in zip(whole_sides.certified, whole_sides.n, whole_sides.median)})
    # Only importers with both statuses can be compared with themselves.
    con.execute("CREATE OR REPLACE TEMP TABLE scorecard_switchers AS SELECT * FROM scorecard_sample WHERE importer IN "
                "(SELECT importer FROM scorecard_sample GROUP BY importer HAVING min(certified) <> max(certified)) ORDER BY month")
    within_months, _, _ = _month_cell_medians(con, "scorecard_switchers", ["month", "importer", "cell"], MIN_CELL_WITHIN,
                                              asked, n_importers, nested=True)
    (pooled, pooled_sides, pooled_per), = median_inputs(con, "scorecard_switchers", [(["importer", "cell"], MIN_CELL_WITHIN)],
                                                        nested=True)
    within_all, = standardized_medians(pooled_sides, pooled_per, [(np.zeros(pooled.height, dtype=np.int64), 1)], n_importers)
    results[WITHIN] = (within_months, within_all)
    position = {month: p for p, month in enumerate(asked)}
    for i, month_name in enumerate(rows.month_names()):
        if not rows.emit(i):
            continue
        part, j, k = (0, i, position[i]) if i < n_months else (1, 0, 0)  # j: every month's results, k: asked months'
        e, c, w = results[PORT_MODE][part], results[CRUDE][part], results[WITHIN][part]
        certified, uncertified = crude_sides.get((i, True)), crude_sides.get((i, False))
        rows.card.append({
            "month": month_name, "benefit": benefit.name,
            "certified_n": certified[0] if certified else 0, "uncertified_n": uncertified[0] if uncertified else 0,
            "certified_value": certified[1] if certified else None, "uncertified_value": uncertified[1] if uncertified else None,
            "certified_importers": int(c.certified_importers[k]), "uncertified_importers": int(c.uncertified_importers[k]),
            "contributing_entries": int(e.certified_n[j] + e.uncertified_n[j]),
            "effect": _value(e.effect[j]), "effect_ci_low": _value(e.ci_low[j]), "effect_ci_high": _value(e.ci_high[j]),
            "crude_effect": _value(c.effect[k]), "crude_ci_low": _value(c.ci_low[k]), "crude_ci_high": _value(c.ci_high[k])})
        for level, r, x in ((CRUDE, c, k), (adjusted, e, j), (WITHIN, w, k)):
            rows.sensitivity.append(_sensitivity_row(
                month_name, benefit.name, level, benefit, r.effect[x], r.ci_low[x], r.ci_high[x], r.certified_n[x],
                r.uncertified_n[x], r.importers[x], r.switching_importers[x] if level == WITHIN else None,
                r.certified_importers[x], r.uncertified_importers[x]))
        if within is not None:
            rows.card.append({
                "month": month_name, "benefit": within.name, "certified_n": int(w.certified_n[k]),
                "uncertified_n": int(w.uncertified_n[k]), "switching_importers": int(w.switching_importers[k]),
                "contributing_entries": int(w.certified_n[k] + w.uncertified_n[k]),
                "effect": _value(w.effect[k]), "effect_ci_low": _value(w.ci_low[k]), "effect_ci_high": _value(w.ci_high[k])})


def _n_importers(con: duckdb.DuckDBPyConnection) -> int:
    """Importer codes are below this (scorecard_importers numbers them from 0)."""
    (n,), = con.execute("SELECT coalesce(max(importer), 0) + 1 FROM scorecard_importers").fetchall()
    return int(n)


def _month_cell_medians(con: duckdb.DuckDBPyConnection, table: str, keys: list[str], min_cell: int, months: list[int],
                        n_importers: int, nested: bool = False) -> tuple[MedianResult, MedianResult, list[MedianSides]]:
    """standardized_medians of cells within months (`keys` start with month), for the given month
    indices (ascending), a batch of consecutive months at a time: per month its result and sides (in
    the order of `months`), and the pooled result of those months' cells (ALL, when every month is
    given), whose sums each batch adds to, so memory holds a batch's importers x cells, not every
    month's."""
    by_month, sides_of_month, pooled = [], [], MedianSums.empty(1, n_importers)

    def fetch(batch: tuple[int, int]) -> tuple:
        (cells, sides, per), = median_inputs(con, table, [(keys, min_cell)], nested, months=batch)
        return batch, cells, sides, per

    def with_terms(fetched: tuple) -> tuple:
        batch, cells, sides, per = fetched
        return batch, cells, sides, median_terms(sides, per)

    for (first, last), cells, sides, terms in ahead(_month_batches(con, table, months), fetch, with_terms):
        month_of = cells["month"].to_numpy().astype(np.int64)
        batch = MedianSums.empty(last - first + 1, n_importers)
        batch.add(terms, month_of - first)
        pooled.add(terms, np.zeros(cells.height, dtype=np.int64))
        by_month.append(batch.result())
        cell_of_side = month_of[sides.cell]
        sides_of_month += [MedianSides(*(getattr(sides, f)[cell_of_side == m] for f in MedianSides.__dataclass_fields__))
                           for m in range(first, last + 1)]
    if not by_month:
        by_month.append(MedianResult(**{name: np.zeros(0) for name in MedianResult.__dataclass_fields__}))
    return stack_results(by_month), pooled.result(), sides_of_month


# Values a batch of months holds at most, unless one month holds more: the median's per importer x
# cell arrays take about 180 bytes per value (profiled at 3 M entries), so a batch stays near 180 MB
# and the two held at once (the next is read while the current one is added up: ahead) near 360 MB.
# Another batch size groups ALL's additions differently: its sums change in their last bit only.
MEDIAN_BATCH_VALUES = 1_000_000


def _month_batches(con: duckdb.DuckDBPyConnection, table: str, months: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive months (first, last) covering the given month indices (ascending), each
    with at most MEDIAN_BATCH_VALUES values or one month."""
    counts = dict(con.execute(f"SELECT month, count(*) FROM {table} GROUP BY month").fetchall())
    batches: list[tuple[int, int]] = []
    first, last, held = None, -1, 0
    for month in months:  # months, not rows
        n = counts.get(month, 0)
        if first is not None and (month != last + 1 or held + n > MEDIAN_BATCH_VALUES):
            batches.append((first, last))
            first = None
        if first is None:
            first, held = month, 0
        last, held = month, held + n
    return batches + ([(first, last)] if first is not None else [])


def _resumption_rows(con: duckdb.DuckDBPyConnection, rows: Rows) -> None:
    """business_resumption_priority: the median machinery on the caught entries' resumption hours in
    event x port x mode cells, then baseline_effect, the same standardized difference of the normal
    entries' release hours in the same cells (certified traffic may be faster anyway: priority is the
    part of the difference that the baseline does not show)."""
    benefit = BY_NAME["business_resumption_priority"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE scorecard_resumption AS "
                f"SELECT * FROM ({read_sql('scorecard/resumption_sample.sql')}) ORDER BY month")
    con.execute("CREATE OR REPLACE TEMP VIEW scorecard_sample AS SELECT month, importer, cell, certified, value, "
                "0 AS whole FROM scorecard_resumption WHERE role = 'caught'")
    _median_rows(con, benefit, None, rows, adjusted=EVENT_PORT_MODE)
    con.execute("CREATE OR REPLACE TEMP VIEW scorecard_sample AS SELECT month, importer, cell, certified, value, "
                "0 AS whole FROM scorecard_resumption WHERE role = 'normal'")
    by_month, pooled, _ = _month_cell_medians(con, "scorecard_sample", ["month", "cell"], MIN_CELL,
                                              list(range(len(rows.months))), _n_importers(con))
    baseline = {name: _value(by_month.effect[i]) for i, name in enumerate(rows.months)} | {ALL: _value(pooled.effect[0])}
    for r in rows.card:
        if r["benefit"] == benefit.name:
            r["baseline_effect"] = baseline[r["month"]]
    con.execute("DROP TABLE scorecard_resumption")


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


def _card(rows: list[dict], months: list[str], complete: set[str]) -> pl.DataFrame:
    """A row per benefit of each month in `complete` (None where nothing was found), and the rows
    found of the other months."""
    found = {(r["month"], r["benefit"]): r for r in rows}
    order = {b.name: i for i, b in enumerate(BENEFITS)}
    out = []
    for month in months:
        for benefit in (b for b in BENEFITS if month in complete or (month, b.name) in found):
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
    order = {CRUDE: 0, PORT_MODE: 1, EVENT_PORT_MODE: 1, FULL: 2, WITHIN: 3}
    frame = pl.DataFrame(rows, schema=SENSITIVITY_COLUMNS)
    return frame.sort(pl.col("month") == ALL, "month", "benefit",
                      pl.col("specification").replace_strict(order, return_dtype=pl.Int64))
