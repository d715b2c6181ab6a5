"""The scorecard's statistics, each with its formula and source. Vectorised: Polars over strata,
numpy over resamples; no Python loop over observations.

Notation for a 2x2 table in stratum i: a_i cases among n1_i exposed (certified), c_i cases among
n0_i unexposed (uncertified), N_i = n1_i + n0_i.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import polars as pl

Z95 = 1.959963984540054  # standard normal 97.5th percentile

SUPPORTED, CONTRADICTED, INCONCLUSIVE, INSUFFICIENT = "SUPPORTED", "CONTRADICTED", "INCONCLUSIVE", "INSUFFICIENT_DATA"
MIN_OBSERVATIONS = 30
MIN_CELL = 10  # values per side of a port x mode cell for a standardized median difference


def mantel_haenszel_rr(strata: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Mantel-Haenszel risk ratio over strata, with its 95 % CI, per group of `by`.

    RR_MH = sum(a_i n0_i / N_i) / sum(c_i n1_i / N_i)
        (Mantel & Haenszel 1959, J Natl Cancer Inst 22:719; Rothman, Greenland & Lash,
        Modern Epidemiology, 3rd ed. 2008, ch. 15, "Mantel-Haenszel estimators").
    Var(ln RR_MH) = sum[(n1_i n0_i (a_i + c_i) - a_i c_i N_i) / N_i^2]
                    / [sum(a_i n0_i / N_i) * sum(c_i n1_i / N_i)]
        (Greenland & Robins 1985, Biometrics 41:55-68; valid for sparse and large strata).
    CI = exp(ln RR_MH -/+ z * sqrt(Var)). A stratum with only one group adds nothing. With no case
    on one side the ratio is undefined: NULL.

    `strata` has columns a, n1, c, n0 and the `by` columns.
    """
    N = pl.col("n1") + pl.col("n0")
    # Sorted, order kept: float sums then add up in the same order on every run.
    frame = strata.filter((pl.col("n1") > 0) & (pl.col("n0") > 0)).sort(strata.columns).group_by(by, maintain_order=True).agg(
        (pl.col("a") * pl.col("n0") / N).sum().alias("_r"),
        (pl.col("c") * pl.col("n1") / N).sum().alias("_s"),
        ((pl.col("n1") * pl.col("n0") * (pl.col("a") + pl.col("c")) - pl.col("a") * pl.col("c") * N) / N**2).sum().alias("_v"))
    defined = (pl.col("_r") > 0) & (pl.col("_s") > 0)
    log_rr = (pl.col("_r") / pl.col("_s")).log()
    se = (pl.col("_v") / (pl.col("_r") * pl.col("_s"))).sqrt()
    return frame.with_columns(
        pl.when(defined).then(log_rr.exp()).alias("rr"),
        pl.when(defined).then((log_rr - Z95 * se).exp()).alias("ci_low"),
        pl.when(defined).then((log_rr + Z95 * se).exp()).alias("ci_high"),
    ).drop("_r", "_s", "_v")


def crude_rr(frame: pl.DataFrame) -> pl.DataFrame:
    """Crude risk ratio (a/n1)/(c/n0) with the Katz log CI, Var(ln RR) = 1/a - 1/n1 + 1/c - 1/n0
    (Katz, Baptista, Azen & Pike 1978, Biometrics 34:469). Columns a, n1, c, n0 already summed."""
    defined = (pl.col("a") > 0) & (pl.col("c") > 0)
    log_rr = ((pl.col("a") / pl.col("n1")) / (pl.col("c") / pl.col("n0"))).log()
    se = (1 / pl.col("a") - 1 / pl.col("n1") + 1 / pl.col("c") - 1 / pl.col("n0")).sqrt()
    return frame.with_columns(
        pl.when(defined).then(log_rr.exp()).alias("crude_rr"),
        pl.when(defined).then((log_rr - Z95 * se).exp()).alias("crude_ci_low"),
        pl.when(defined).then((log_rr + Z95 * se).exp()).alias("crude_ci_high"))


def seed_for(*parts: str, base: int = 20260101) -> int:
    """A stable seed per (benefit, month): the same data give the same interval on every run."""
    return base ^ int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "little")


def _window(values: np.ndarray, strata: np.ndarray, lo: int, hi: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions lo..hi-1 of the values ordered by value, ties by stratum (the same multiset gives
    the same window), found without sorting all n: a partition finds the boundary values, only the
    values between them are sorted. Returns the window's values, its strata (as indexes into the
    sorted distinct strata), and per stratum its size and how many of its values lie below the window."""
    codes, sizes = np.unique(strata, return_counts=True)
    v_lo, v_hi = np.partition(values, [lo, hi - 1])[[lo, hi - 1]]
    is_below = values < v_lo
    near = np.flatnonzero((values >= v_lo) & (values <= v_hi))
    near = near[np.lexsort((strata[near], values[near]))]
    start = lo - int(is_below.sum())  # where the window begins among the near values
    window = near[start:start + hi - lo]
    n_below = (np.bincount(np.searchsorted(codes, strata[is_below]), minlength=len(codes))
               + np.bincount(np.searchsorted(codes, strata[near[:start]]), minlength=len(codes)))
    return values[window], np.searchsorted(codes, strata[window]), sizes, n_below


def bootstrap_medians(values: np.ndarray, strata: np.ndarray, n_resamples: int, rng: np.random.Generator,
                      width: float = 6.0) -> np.ndarray:
    """Medians (continuous: the mean of the two middle values for an even count) of `n_resamples`
    stratified bootstrap resamples: each stratum resampled with replacement to its own size
    (Efron & Tibshirani 1993, An Introduction to the Bootstrap, ch. 6 and sec. 8.4 for strata).

    Exact, and cheap for millions of values: a resample's median is decided by how many draws fall
    below, in, and above a window of sorted values around the sample median, so each stratum is
    drawn as one multinomial over (below, each window value, above). The window spans `width`
    standard errors of the median's rank (sqrt(n)/2); if a resample's median ever falls outside it
    the window is doubled and everything drawn again.
    """
    n = len(values)
    half = int(math.ceil(width * math.sqrt(n) / 2)) + 2
    lo, hi = max(0, (n - 1) // 2 - half), min(n, n // 2 + 1 + half)
    window, window_strata, sizes, n_below = _window(values, strata, lo, hi)
    state = rng.bit_generator.state
    below = np.zeros(n_resamples, dtype=np.int64)
    picked = []  # resample * (hi - lo) + window position, one entry per draw that lands in the window
    for k, size in enumerate(sizes):  # strata, not observations
        cells = np.flatnonzero(window_strata == k)
        # The multinomial, drawn as: how many below; of the rest, how many in the window (the others
        # are above); which window value each of those is (uniform). The same distribution at a
        # fraction of the cost of one binomial per window value and resample.
        drawn_below = rng.binomial(size, n_below[k] / size, n_resamples)
        below += drawn_below
        if len(cells) == 0:
            continue
        drawn_in = rng.binomial(size - drawn_below, len(cells) / (size - n_below[k]))
        positions = cells[rng.integers(0, len(cells), int(drawn_in.sum()))]
        picked.append(np.repeat(np.arange(n_resamples) * (hi - lo), drawn_in) + positions)
    counts = np.bincount(np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64),
                         minlength=n_resamples * (hi - lo)).reshape(n_resamples, hi - lo)
    rank1, rank2 = (n + 1) // 2, n // 2 + 1  # 1-based ranks of the middle value(s)
    cumulative = below[:, None] + np.cumsum(counts, axis=1)
    if (below >= rank1).any() or (cumulative[:, -1] < rank2).any():
        rng.bit_generator.state = state
        return bootstrap_medians(values, strata, n_resamples, rng, width * 2)
    first = np.argmax(cumulative >= rank1, axis=1)
    second = np.argmax(cumulative >= rank2, axis=1)
    return (window[first] + window[second]) / 2


def median_difference(certified: pl.DataFrame, uncertified: pl.DataFrame, n_resamples: int, seed: int
                      ) -> tuple[float | None, float | None, float | None]:
    """Difference in medians (certified minus uncertified) of column `value`, with a percentile
    bootstrap 95 % CI from resamples stratified by column `stratum` within each group. Empty side: NULLs."""
    if certified.is_empty() or uncertified.is_empty():
        return None, None, None
    rng = np.random.default_rng(seed)
    estimate = float(certified["value"].median() - uncertified["value"].median())
    diffs = (bootstrap_medians(certified["value"].to_numpy(), certified["stratum"].to_numpy(), n_resamples, rng)
             - bootstrap_medians(uncertified["value"].to_numpy(), uncertified["stratum"].to_numpy(), n_resamples, rng))
    low, high = np.quantile(diffs, [0.025, 0.975])
    return estimate, float(low), float(high)


def standardized_median_difference(frame: pl.DataFrame, n_resamples: int, seed: int
                                   ) -> tuple[float | None, float | None, float | None]:
    """Certified minus uncertified median of `value` within each `cell` (port x mode), averaged with
    the certified side's counts as weights: the difference the certified traffic would see against
    uncertified traffic of its own ports and modes (direct standardization to the exposed group:
    Rothman, Greenland & Lash 2008, ch. 15 "Standardization"). Cells with fewer than MIN_CELL values
    on a side drop out: a median of a handful of skewed values, and its bootstrap, are too unstable.
    95 % CI: percentile bootstrap, every cell and side resampled on its own (stratified bootstrap)."""
    sides = frame.group_by("cell", "certified").agg(pl.col("value")).filter(pl.col("value").list.len() >= MIN_CELL)
    cells = sides.pivot(on="certified", index="cell", values="value").drop_nulls().sort("cell")
    if cells.is_empty() or "true" not in cells.columns or "false" not in cells.columns:
        return None, None, None
    rng = np.random.default_rng(seed)
    weights = cells["true"].list.len().to_numpy().astype(float)
    estimate, resampled = 0.0, np.zeros(n_resamples)
    for i, w in enumerate(weights):  # cells, not rows; each side's values as an array, not Python floats
        c, u = cells["true"][i].to_numpy().astype(float), cells["false"][i].to_numpy().astype(float)
        estimate += w * (np.median(c) - np.median(u))
        resampled += w * (bootstrap_medians(c, np.zeros(len(c), dtype=np.int8), n_resamples, rng)
                          - bootstrap_medians(u, np.zeros(len(u), dtype=np.int8), n_resamples, rng))
    total = weights.sum()
    low, high = np.quantile(resampled / total, [0.025, 0.975])
    return estimate / total, float(low), float(high)


def mean_with_ci(values: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Mean and normal-theory 95 % CI, mean -/+ z * sd / sqrt(n) (central limit theorem; used for
    paired differences, where a verdict needs at least 30 pairs anyway)."""
    n = len(values)
    if n == 0:
        return None, None, None
    mean = float(values.mean())
    if n == 1:
        return mean, None, None
    half = Z95 * float(values.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def verdict(low: float | None, high: float | None, n_certified: int, n_uncertified: int, null: float) -> str:
    """SUPPORTED when the whole CI lies on the benefit side (below `null`: a ratio below 1 or a
    difference below 0), CONTRADICTED when it lies wholly on the other side, else INCONCLUSIVE;
    INSUFFICIENT_DATA when either side has fewer than 30 observations or no estimate exists."""
    if min(n_certified, n_uncertified) < MIN_OBSERVATIONS or low is None or high is None:
        return INSUFFICIENT
    if high < null:
        return SUPPORTED
    if low > null:
        return CONTRADICTED
    return INCONCLUSIVE
