"""The scorecard's statistics, each with its formula and source.

Importers, not entries, are the independent units: entries of one importer share its risk, its
brokers and its trade lanes, so an interval that treats entries as independent is far too narrow
when a few importers make most of the entries (tests/test_statistics.py measures it: the
Greenland-Robins interval of the Mantel-Haenszel ratio covered the truth about 1 time in 4 in
simulated data with heavy-tailed importer sizes). Every interval here is a **delete-one-importer
jackknife** ("CV3": MacKinnon, Nielsen & Webb 2023, "Cluster-robust inference: a guide to
empirical practice", J. Econometrics 232:272-299):

    theta_(-i)  the estimate without importer i (i = 1..G, the importers that inform it)
    V_J = (G - 1) / G * sum_i (theta_(-i) - mean theta_(-.))^2
    95 % CI = theta -/+ t(0.975, df) * sqrt(V_J),  df = min(G, G_eff) - 1,  G_eff = (sum_i |d_i|)^2 / sum_i d_i^2
    (d_i = theta_(-i) - mean; within importer G counts the importers whose status changed)

on the log scale for ratios. Deleting the one importer that makes most of a group's entries moves
the estimate a lot, so the interval widens as it should, where a sandwich variance (CV1) shrinks.
G_eff is an effective number of importers (Kish's form): when deleting one importer moves the
estimate far more than deleting any other, the variance rests on few importers and t widens.
In simulation (tests/test_statistics.py) the intervals covered 91-95 % with 40-400 importers of
Pareto sizes (one importer often making half of a side's entries), about what a percentile cluster
bootstrap covered, where the entry-level intervals covered 20-55 %; the jackknife costs a fraction
of a bootstrap (exact arithmetic over importer x stratum sums, no random draws, so a re-run
reproduces every interval to the last bit).

Medians are not smooth, so the jackknife of a median is inconsistent; medians use the Bahadur
representation instead (Bahadur 1966, Ann. Math. Statist. 37:577), the same idea as Woodruff's
interval (Woodruff 1952, JASA 47:635): without importer i the share of values at or below the
median moves from F to F_(-i), and the median moves by (F - F_(-i)) / f, where f is the density at
the median, estimated from the quantiles at 1/2 -/+ h with Hall and Sheather's bandwidth
h = 0.9717 n^(-1/3) (Hall & Sheather 1988, JRSS-B 50:381; Koenker 2005, Quantile Regression, 3.4.4).

Counting happens in DuckDB (integers, so in any order), float sums in numpy (np.bincount) or in
the compiled loops of kernels.py, always in row order, so no result depends on thread timing. No
Python loop over rows or importers.

Notation for a 2x2 table in stratum k: a_k cases among n1_k exposed (certified), c_k cases among
n0_k unexposed (uncertified), N_k = n1_k + n0_k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import special

Z95 = 1.959963984540054  # standard normal 97.5th percentile

SUPPORTED, CONTRADICTED, INCONCLUSIVE, INSUFFICIENT = "SUPPORTED", "CONTRADICTED", "INCONCLUSIVE", "INSUFFICIENT_DATA"
MIN_OBSERVATIONS = 30  # per side (contract)
MIN_IMPORTERS = 10  # per side; within importer: importers whose status changed (contract)
MIN_CELL = 10  # values per side of a port x mode cell for a median comparison: its jackknife needs the density there
# Values per side of an importer x port x mode cell: deleting the importer deletes the cell, so the
# jackknife needs no density, and an importer rarely has ten exams of each status at one port.
MIN_CELL_WITHIN = 3
HALL_SHEATHER = 0.9717  # n^(-1/3) factor of the bandwidth at the median, alpha = 0.05


@dataclass(frozen=True)
class Estimate:
    """One effect with its importer-clustered interval and what informs it."""

    effect: float | None
    ci_low: float | None
    ci_high: float | None
    importers: int = 0  # clusters that inform the estimate (G)


def t_quantile(df: np.ndarray | int) -> np.ndarray:
    """Student t 97.5th percentile with df degrees of freedom (NaN below 1). scipy.special's inverse
    of the t distribution function is what `scipy.stats.t.ppf` calls, without importing scipy.stats
    (about 1 s of every process that runs the scorecard)."""
    df = np.asarray(df, dtype=float)
    return np.where(df >= 1, special.stdtrit(np.maximum(df, 1), 0.975), np.nan)


def jackknife(estimate: np.ndarray, group: np.ndarray, replicate: np.ndarray, n_groups: int,
              df: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CV3 jackknife interval per group: `estimate` has one value per group; `replicate` one per
    (group, importer) row, `group` its group index. Returns (low, high, G). A replicate that is not
    finite (the importer carries every case of a side) makes the interval unbounded."""
    g = np.bincount(group, minlength=n_groups).astype(float)
    finite = np.isfinite(replicate)
    bad = np.bincount(group, weights=~finite, minlength=n_groups) > 0
    rep = np.where(finite, replicate, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(group, weights=rep, minlength=n_groups) / g
        square = (rep - mean[group]) ** 2
        ss = np.bincount(group, weights=square, minlength=n_groups)
        # The variance is a sum of G importers' shares; when a few importers hold most of it, it is
        # as uncertain as a variance from a few: the degrees of freedom are capped by the effective
        # number of importers (sum |d_i|)^2 / sum d_i^2, d_i = theta_(-i) - mean (Kish's form).
        effective = np.bincount(group, weights=np.sqrt(square), minlength=n_groups) ** 2 / ss
        df = np.fmin(g - 1 if df is None else df, np.fmax(effective - 1, 1))
        half = t_quantile(df) * np.sqrt((g - 1) / g * ss)
    low, high = estimate - half, estimate + half
    low = np.where(bad, -np.inf, low)
    high = np.where(bad, np.inf, high)
    none = (g < 2) | ~np.isfinite(estimate)
    return np.where(none, np.nan, low), np.where(none, np.nan, high), g.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Rate ratios across importers: Mantel-Haenszel over strata, delete-one-importer jackknife
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RatioCounts:
    """Importer x stratum counts for a Mantel-Haenszel rate ratio, one row per (group, importer,
    stratum), as integer arrays: a and n1 are the certified side's cases and entries, c and n0 the
    uncertified side's."""

    group: np.ndarray
    importer: np.ndarray
    stratum: np.ndarray
    a: np.ndarray
    n1: np.ndarray
    c: np.ndarray
    n0: np.ndarray


@dataclass(frozen=True)
class RatioResult:
    """Per group: the rate ratio, its importer-clustered 95 % CI, and what informs it."""

    rr: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    importers: np.ndarray  # G: importers in informative strata
    certified_importers: np.ndarray
    uncertified_importers: np.ndarray
    certified_n: np.ndarray  # entries on each side (all strata)
    uncertified_n: np.ndarray
    certified_cases: np.ndarray
    uncertified_cases: np.ndarray


@dataclass
class PooledSums:
    """The pooled ratio (every group together, with the same strata) as sums that calls of
    mantel_haenszel_clustered add to one group at a time: per group U, V and the side totals, per
    importer its du, dv and entries. `result()` equals the pooled result of one call over every
    group, float for float (the per-importer terms are added into the same arrays in the same row
    order, the per-group sums are summed once at the end), while memory holds one group's rows."""

    n_importers: int
    du: np.ndarray
    dv: np.ndarray
    on1: np.ndarray
    on0: np.ndarray
    per_group: list = field(default_factory=list)  # (u, v, n1, n0, a, c) per group

    @classmethod
    def empty(cls, n_importers: int) -> PooledSums:
        return cls(n_importers, *(np.zeros(n_importers) for _ in range(4)))

    def add(self, on1: np.ndarray, on0: np.ndarray, per_group: tuple, n_groups: int) -> None:
        self.on1 += on1.reshape(n_groups, self.n_importers).sum(axis=0)
        self.on0 += on0.reshape(n_groups, self.n_importers).sum(axis=0)
        self.per_group.append(per_group)

    def result(self) -> RatioResult:
        u, v, *totals = [np.concatenate(x) for x in zip(*self.per_group)] if self.per_group else [np.zeros(0)] * 6
        return _ratio_result(np.array([u.sum()]), np.array([v.sum()]), self.du, self.dv, self.on1, self.on0, 1,
                             self.n_importers, tuple(np.array([x.sum()]) for x in totals))


def mantel_haenszel_clustered(t: RatioCounts, n_groups: int, pooled: bool = False, into: PooledSums | None = None,
                              by_group: bool = True) -> RatioResult | tuple[RatioResult, RatioResult] | None:
    """Mantel-Haenszel rate ratio (exam rate certified / uncertified) over strata, per group,
    with the importer-clustered 95 % CI.

    RR_MH = U / V,  U = sum_k a_k n0_k / N_k,  V = sum_k c_k n1_k / N_k
        (Mantel & Haenszel 1959, J Natl Cancer Inst 22:719; Rothman, Greenland & Lash, Modern
        Epidemiology, 3rd ed. 2008, ch. 15). A stratum with one side only adds nothing.
    Without importer i every stratum it shipped in loses its counts: U_(-i) = U - sum over those
    strata of (a_k n0_k / N_k - a'_k n0'_k / N'_k), likewise V; theta_(-i) = ln(U_(-i) / V_(-i)).
    CI = exp(ln RR -/+ t sqrt(V_J)) (module docstring), G = importers in informative strata. With
    no case on a side the ratio is undefined (NaN); if deleting one importer leaves a side without
    cases, the interval is unbounded (0 to infinity): one importer carries the evidence.

    Strata are (group, stratum); rows are one per (group, stratum, importer). `pooled`: also the
    ratio over all groups together with the same strata (the whole period stratified by month as
    well), from the same per-stratum terms. `into`: add this call's groups to pooled sums instead
    (importer codes below its n_importers), so that the groups can come one call at a time; the
    pooled result is then `into.result()`; `by_group=False`: only that, no result of this call's
    groups (None). Per-stratum sums by np.bincount, per-row terms in one compiled pass (kernels.py),
    both in row order: the same rows give the same floats.
    """
    from assets.scorecard.kernels import mantel_haenszel_terms, stratum_sums

    n_strata = int(t.stratum.max()) + 1 if len(t.stratum) else 1
    if into is None:
        into = PooledSums.empty(int(t.importer.max()) + 1 if len(t.importer) else 1)
        keep = pooled
    else:
        keep = False
    n_importers = into.n_importers
    k = t.group.astype(np.int64) * n_strata + t.stratum
    size = n_groups * n_strata
    a, n1, c, n0 = t.a, t.n1, t.c, t.n0
    a_k, n1_k, c_k, n0_k = stratum_sums(k, a, n1, c, n0, size)
    informative_k = (n1_k > 0) & (n0_k > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        u_k = np.where(informative_k, a_k * n0_k / (n1_k + n0_k), 0.0)
        v_k = np.where(informative_k, c_k * n1_k / (n1_k + n0_k), 0.0)
    stratum_group = np.repeat(np.arange(n_groups), n_strata)
    du, dv, on1, on0 = mantel_haenszel_terms(k, t.importer.astype(np.int64), a, n1, c, n0, a_k, n1_k, c_k, n0_k,
                                             n_importers, stratum_group, n_groups, into.du, into.dv)
    totals = tuple(np.bincount(stratum_group, weights=x, minlength=n_groups) for x in (n1_k, n0_k, a_k, c_k))
    u, v = (np.bincount(stratum_group, weights=x, minlength=n_groups) for x in (u_k, v_k))
    groups = _ratio_result(u, v, du, dv, on1, on0, n_groups, n_importers, totals) if by_group else None
    into.add(on1, on0, (u, v, *totals), n_groups)
    return (groups, into.result()) if keep else groups


def _ratio_result(u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray, on1: np.ndarray, on0: np.ndarray,
                  n_groups: int, n_importers: int, totals: tuple) -> RatioResult:
    """The ratio, its jackknife interval and its counts per group, from the sums U, V per group and
    each importer's share of them (per group x importer)."""
    certified_i, uncertified_i = on1 > 0, on0 > 0
    cells = np.flatnonzero(certified_i | uncertified_i)
    group_of = cells // n_importers
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = np.log(u / v)
        replicate = np.log((u[group_of] - du[cells]) / (v[group_of] - dv[cells]))
    low, high, g = jackknife(estimate, group_of, replicate, n_groups)
    defined = (u > 0) & (v > 0)
    n1, n0, a, c = totals
    return RatioResult(
        rr=np.where(defined, np.exp(estimate), np.nan), ci_low=np.where(defined, np.exp(low), np.nan),
        ci_high=np.where(defined, np.exp(high), np.nan), importers=g,
        certified_importers=certified_i.reshape(n_groups, n_importers).sum(axis=1),
        uncertified_importers=uncertified_i.reshape(n_groups, n_importers).sum(axis=1),
        certified_n=n1.astype(np.int64), uncertified_n=n0.astype(np.int64),
        certified_cases=a.astype(np.int64), uncertified_cases=c.astype(np.int64))


def greenland_robins_rr(strata: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The entry-level interval the scorecard no longer uses, kept as the comparison the tests
    measure coverage against: Mantel-Haenszel RR with the Greenland-Robins variance, which treats
    entries as independent (Greenland & Robins 1985, Biometrics 41:55-68):
    Var(ln RR_MH) = sum[(n1 n0 (a + c) - a c N) / N^2] / (U V). `strata`: a, n1, c, n0 and `by`."""
    N = pl.col("n1") + pl.col("n0")
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


# ---------------------------------------------------------------------------------------------
# Rate ratio within importers: Poisson with importer x port x mode and month fixed effects
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WithinFit:
    beta: float  # ln rate ratio
    gamma: np.ndarray  # month effects (first month 0)
    iterations: int


def _conditional_poisson(fe: np.ndarray, month: np.ndarray, d: np.ndarray, y: np.ndarray, n: np.ndarray,
                         n_months: int, max_iter: int = 50) -> tuple[WithinFit, dict]:
    """Maximum likelihood of y_r ~ Poisson(n_r exp(alpha_fe + gamma_month + beta d_r)) over cells r.

    The fixed effects alpha are profiled out exactly: given (beta, gamma) each one is
    ln(Y_c / sum_r n_r exp(gamma + beta d)), which leaves the conditional (multinomial) likelihood
    sum_c [sum_r y_r eta_r - Y_c ln sum_r exp(eta_r)], eta = ln n + gamma + beta d, a concave
    function of 1 + (months - 1) parameters (Hausman, Hall & Griliches 1984, Econometrica 52:909;
    Wooldridge 1999, J. Econometrics 90:77: consistent for beta under any dependence of y within an
    importer, which is why the interval is clustered). Newton's method with step halving. Cells must
    be sorted by fe. Every sum runs over blocks of whole groups (about ROW_BLOCK cells), so the
    temporaries hold one block whatever the number of cells. Returns the fit and the pieces the
    jackknife needs (per-cell p, Y_c, the information, where each group starts, the blocks).
    """
    n_fe = int(fe[-1]) + 1
    k = n_months  # beta and gamma_1..gamma_{T-1}: gamma_0 = 0 for identification
    y_c = np.bincount(fe, weights=y, minlength=n_fe)
    starts = np.flatnonzero(np.r_[True, fe[1:] != fe[:-1]])  # cells are sorted by fe
    blocks = _group_blocks(starts, len(fe))
    theta = np.zeros(k)

    def parts(theta, p):
        gamma = np.concatenate([[0.0], theta[1:]])
        loglik = 0.0
        for r0, r1, g0, g1 in blocks:
            local = fe[r0:r1] - g0
            eta = np.log(n[r0:r1]) + gamma[month[r0:r1]] + theta[0] * d[r0:r1]
            top = np.maximum.reduceat(eta, starts[g0:g1] - r0)  # per group, so exp() can neither overflow nor vanish
            e = np.exp(eta - top[local])
            s_c = np.bincount(local, weights=e, minlength=g1 - g0)
            p[r0:r1] = e / s_c[local]
            loglik += float(np.dot(y[r0:r1], eta) - np.dot(y_c[g0:g1], np.log(s_c) + top))
        return loglik

    def score_info(p):
        # Information: sum_c Y_c [sum_r p x x' - m_c m_c'], x = (d, month indicators 1..T-1).
        score, info = np.zeros(k), np.zeros((k, k))
        for r0, r1, g0, g1 in blocks:
            month_b, d_b, w = month[r0:r1], d[r0:r1], y_c[fe[r0:r1]] * p[r0:r1]
            resid = y[r0:r1] - w
            score[0] += np.dot(resid, d_b)
            score[1:] += np.bincount(month_b, weights=resid, minlength=n_months)[1:]
            info[0, 0] += np.dot(w, d_b)
            by_month = np.bincount(month_b, weights=w * d_b, minlength=n_months)[1:]
            info[0, 1:] += by_month
            info[1:, 0] += by_month
            info[1:, 1:] += np.diag(np.bincount(month_b, weights=w, minlength=n_months)[1:])
            m = group_moments(fe, month, d, p, starts, g0, g1, n_months)
            info -= m.T @ (m * y_c[g0:g1, None])
        return score, info

    p, p_new = np.empty(len(fe)), np.empty(len(fe))
    loglik = parts(theta, p)
    for iteration in range(1, max_iter + 1):
        score, info = score_info(p)
        # lstsq: a month seen only in groups that stay in that month carries no information (its
        # effect is then left at 0 instead of failing).
        step = np.linalg.lstsq(info, score, rcond=None)[0]
        for _ in range(30):
            loglik_new = parts(theta + step, p_new)
            if loglik_new >= loglik - 1e-12 * abs(loglik):
                break
            step /= 2
        theta, converged = theta + step, abs(loglik_new - loglik) < 1e-10 * (1 + abs(loglik))
        p, p_new, loglik = p_new, p, loglik_new
        if converged and np.max(np.abs(step)) < 1e-10:
            break
    del p_new
    score, info = score_info(p)
    fit = WithinFit(float(theta[0]), np.concatenate([[0.0], theta[1:]]), iteration)
    return fit, {"p": p, "y_c": y_c, "info": info, "starts": starts, "blocks": blocks}


# Cells and switching importers whose terms are held at once: a block's temporaries (a dozen
# floats per cell, k floats per group, k x k per switching importer) stay tens of megabytes
# whatever the number of cells (about 30 M kept at 100 M entries).
ROW_BLOCK = 1_000_000
SWITCHING_BLOCK = 200


def _group_blocks(starts: np.ndarray, n_rows: int) -> list[tuple[int, int, int, int]]:
    """Consecutive whole groups (first row, end row, first group, end group) of about ROW_BLOCK
    rows each (a group larger than that is a block of its own)."""
    bounds = np.r_[starts, n_rows]
    cuts = np.unique(np.r_[0, np.searchsorted(bounds, np.arange(ROW_BLOCK, n_rows, ROW_BLOCK)), len(starts)])
    return [(int(bounds[g0]), int(bounds[g1]), int(g0), int(g1)) for g0, g1 in zip(cuts[:-1], cuts[1:])]


def group_moments(fe: np.ndarray, month: np.ndarray, d: np.ndarray, p: np.ndarray, starts: np.ndarray,
                  first: int, last: int, n_months: int) -> np.ndarray:
    """m_c = sum over group c's cells of p x, x = (d, month indicators 1..T-1), for groups
    first..last-1 (cells sorted by group, group c's cells from starts[c])."""
    r0, r1 = starts[first], starts[last] if last < len(starts) else len(fe)
    local, size = fe[r0:r1] - first, last - first
    m = np.zeros((size, n_months))
    m[:, 0] = np.bincount(local, weights=p[r0:r1] * d[r0:r1], minlength=size)
    if n_months > 1:
        mm = np.bincount(local * n_months + month[r0:r1], weights=p[r0:r1], minlength=size * n_months)
        m[:, 1:] = mm.reshape(size, n_months)[:, 1:]
    return m


def within_importer_rate_ratio(cells: pl.DataFrame | dict) -> tuple[Estimate, dict]:
    """Exam-rate ratio within importers: Poisson with importer x port x mode (`fe`) and month
    fixed effects on exam counts per cell (`y` examined entries of `n` entries), offset ln n,
    certified indicator `d`; rate ratio exp(beta). Importers whose status never changes inform
    only the month effects. Interval: delete-one-importer jackknife with one Newton step from the
    full fit, theta_(-i) = theta - (J - J_i)^-1 s_i (s_i, J_i: importer i's score and information;
    exact second-order for switching importers, J in place of J - J_i for the others, whose J_i has
    no beta entry), t with at most (switching importers - 1) df.

    `cells`: importer, fe, month, d, y, n (non-negative integer columns of a frame, or arrays).
    Returns the estimate and counts: switching_importers (importers with a fixed-effect group
    holding both statuses and an exam), contributing_entries (entries of those groups), per side
    entries and exams there, and `crude`: the plain certified / uncertified ratio of those groups
    with its importer-clustered interval (what the fixed effects adjust).
    """
    # Held in their own (compact) integer types: at 100 M entries the ALL fit has some 30 M cells;
    # the sums convert a block at a time.
    arrays = {c: np.asarray(cells[c]) for c in ("importer", "fe", "month", "d", "y", "n")}
    # Sorted by importer, then group (groups are nested in importers): the sums run over ranges of
    # whole groups, and the jackknife over ranges of whole importers. The scorecard's query sorts them.
    keys = ("importer", "fe", "month", "d")
    if not _is_sorted(*(arrays[c] for c in keys)):
        order = sorting_order(*(arrays[c].astype(np.int64) for c in keys))
        arrays = {c: v[order] for c, v in arrays.items()}
    fe, month, d = arrays["fe"], arrays["month"], arrays["d"].astype(bool, copy=False)
    importer, y, n = arrays["importer"], arrays["y"], arrays["n"]
    counts = dict.fromkeys(("switching_importers", "contributing_entries", "certified_n", "uncertified_n",
                            "certified_cases", "uncertified_cases"), 0) | {"crude": Estimate(None, None, None)}
    if len(fe) == 0:
        return Estimate(None, None, None), counts
    # Groups without an exam, or with one cell, add nothing to the conditional likelihood.
    starts = np.flatnonzero(np.r_[True, fe[1:] != fe[:-1]])
    rows = np.diff(np.r_[starts, len(fe)])
    two_statuses = np.maximum.reduceat(d, starts) != np.minimum.reduceat(d, starts)
    kept = (np.add.reduceat(y, starts) > 0) & (rows > 1)
    if not kept.all():
        keep = np.repeat(kept, rows)
        month, d, importer, y, n = (x[keep] for x in (month, d, importer, y, n))
    informative = np.repeat(two_statuses[kept], rows[kept])
    if not informative.any():
        return Estimate(None, None, None), counts
    fe = np.repeat(np.arange(int(kept.sum()), dtype=np.int32), rows[kept])  # dense, still sorted
    n_months, month = _dense(month)
    n_importers, importer = _dense(importer)
    month, importer, certified = month.astype(np.int16), importer.astype(np.int32), d
    switching = np.flatnonzero(np.bincount(importer[informative], minlength=n_importers))
    counts |= {"switching_importers": len(switching), "contributing_entries": int(n[informative].sum()),
               "certified_n": int(n[informative & certified].sum()), "uncertified_n": int(n[informative & ~certified].sum()),
               "certified_cases": int(y[informative & certified].sum()),
               "uncertified_cases": int(y[informative & ~certified].sum()),
               "crude": _pooled_ratio(importer[informative], n_importers, y[informative], n[informative],
                                      certified[informative])}
    fit, pieces = _conditional_poisson(fe, month, d, y, n, n_months)
    replicate = _within_jackknife(importer, n_importers, switching, fe, month, d, y, pieces, n_months, fit)
    low, high, g = jackknife(np.array([fit.beta]), np.zeros(len(replicate), dtype=np.int64), replicate, 1,
                             df=np.array([counts["switching_importers"] - 1]))
    return Estimate(math.exp(fit.beta), *_ratio_bounds(low[0], high[0]), int(g[0])), counts


def _pooled_ratio(importer: np.ndarray, n_importers: int, y: np.ndarray, n: np.ndarray, certified: np.ndarray) -> Estimate:
    """Exam rate certified / uncertified over the given cells as one stratum, importer-clustered."""
    by = lambda values: np.bincount(importer, weights=values, minlength=n_importers).astype(np.int64)  # noqa: E731
    zeros = np.zeros(n_importers, dtype=np.int64)
    r = mantel_haenszel_clustered(RatioCounts(zeros, np.arange(n_importers), zeros, by(y * certified),
                                              by(n * certified), by(y * ~certified), by(n * ~certified)), 1)
    return Estimate(*(None if np.isnan(x) else float(x) for x in (r.rr[0], r.ci_low[0], r.ci_high[0])), int(r.importers[0]))


def _dense(codes: np.ndarray) -> tuple[int, np.ndarray]:
    """Non-negative integer codes renumbered 0..k-1 in their order, without sorting."""
    present = np.zeros(int(codes.max()) + 1, dtype=np.int64)
    present[codes] = 1
    number = np.cumsum(present) - 1
    return int(present.sum()), number[codes]


def _is_sorted(*keys: np.ndarray) -> bool:
    """Whether the rows are already in the order of the keys (first key first)."""
    tied = np.ones(max(len(keys[0]) - 1, 0), dtype=bool)
    for key in keys:
        before, after = key[:-1], key[1:]
        if (tied & (after < before)).any():
            return False
        tied &= after == before
    return True


def sorting_order(*keys: np.ndarray) -> np.ndarray:
    """The permutation sorting rows by the given non-negative integer keys (first key first):
    the keys and the row number packed into one int64 and sorted (numpy sorts integers by radix,
    many times faster than lexsort); lexsort when they do not fit in 63 bits."""
    n = len(keys[0])
    bits = [max(int(k.max()), 1).bit_length() if n else 1 for k in keys] + [max(n - 1, 1).bit_length()]
    if sum(bits) > 63:
        return np.lexsort(keys[::-1])
    packed = np.zeros(n, dtype=np.int64)
    for key, width in zip(keys, bits):
        packed = (packed << width) | key.astype(np.int64)
    packed = (packed << bits[-1]) | np.arange(n, dtype=np.int64)
    return np.sort(packed) & ((1 << bits[-1]) - 1)


def _ratio_bounds(low: float, high: float) -> tuple[float | None, float | None]:
    """Log-scale bounds to ratio bounds: an unbounded side becomes 0 or infinity, none stays None."""
    if np.isnan(low) or np.isnan(high):
        return None, None
    return float(np.exp(low)), float(np.exp(high))


def _within_jackknife(imp: np.ndarray, n_imp: int, switching: np.ndarray, fe, month, d, y, pieces: dict,
                      n_months: int, fit: WithinFit) -> np.ndarray:
    """theta_(-i)[beta] for every importer of the fit (one Newton step from the full estimate)."""
    p, y_c, info, starts = pieces["p"], pieces["y_c"], pieces["info"], pieces["starts"]
    k = n_months
    scores = np.zeros((n_imp, k))
    for r0, r1, _, _ in pieces["blocks"]:  # cells are sorted by importer: a block's are a range
        first, local = imp[r0], imp[r0:r1] - imp[r0]
        size = int(local[-1]) + 1
        resid = y[r0:r1] - y_c[fe[r0:r1]] * p[r0:r1]
        scores[first:first + size, 0] += np.bincount(local, weights=resid * d[r0:r1], minlength=size)
        if k > 1:
            by = np.bincount(local * n_months + month[r0:r1], weights=resid, minlength=size * n_months)
            scores[first:first + size, 1:] += by.reshape(size, n_months)[:, 1:]
    inverse = np.linalg.pinv(info)
    steps = scores @ inverse.T  # J^-1 s_i for every importer
    # Switching importers: their own information J_i matters (it has beta entries): solve with
    # J - J_i, a block of them at a time. Cells are sorted by group and groups by importer, so a
    # block's cells and groups are one range each.
    fe_imp = np.zeros(len(y_c), dtype=np.int64)
    fe_imp[fe] = imp
    for block in np.array_split(switching, -(-len(switching) // SWITCHING_BLOCK)) if len(switching) else []:
        steps[block] = _switching_steps(block, imp, fe, fe_imp, month, d, p, y_c, starts, info, scores[block], n_months)
    return fit.beta - steps[:, 0]


def _switching_steps(block: np.ndarray, imp, fe, fe_imp, month, d, p, y_c, starts, info, scores, n_months) -> np.ndarray:
    """(J - J_i)^-1 s_i for the switching importers of `block` (ascending importer codes)."""
    k, size = n_months, len(block)
    r0, r1 = np.searchsorted(imp, block[0]), np.searchsorted(imp, block[-1], side="right")
    local = np.full(int(block[-1]) - int(block[0]) + 1, -1)
    local[block - block[0]] = np.arange(size)
    li = local[imp[r0:r1] - block[0]]
    rows = li >= 0
    li, w = li[rows], (y_c[fe[r0:r1]] * p[r0:r1])[rows]
    dr, mr = d[r0:r1][rows], month[r0:r1][rows]
    j_i = np.zeros((size, k, k))
    j_i[:, 0, 0] = np.bincount(li, weights=w * dr, minlength=size)
    if k > 1:
        dm = np.bincount(li * n_months + mr, weights=w * dr, minlength=size * n_months).reshape(-1, n_months)[:, 1:]
        j_i[:, 0, 1:] = dm
        j_i[:, 1:, 0] = dm
        mm = np.bincount(li * n_months + mr, weights=w, minlength=size * n_months).reshape(-1, n_months)[:, 1:]
        j_i[:, np.arange(1, k), np.arange(1, k)] = mm
    first, last = fe[r0], fe[r1 - 1] + 1
    group_local = local[fe_imp[first:last] - block[0]]
    held = group_local >= 0
    m = group_moments(fe, month, d, p, starts, first, last, n_months)[held]
    mc = m * np.sqrt(y_c[first:last][held])[:, None]
    np.add.at(j_i, group_local[held], -np.einsum("ci,cj->cij", mc, mc))
    return _solve_each(info[None, :, :] - j_i, scores)


def _solve_each(matrices: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """x_i = A_i^-1 b_i for a stack; where A_i is singular (without importer i nothing identifies
    the ratio: it was the only importer comparing both statuses) x_i is infinite, which makes the
    interval unbounded."""
    try:
        return np.linalg.solve(matrices, vectors[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(vectors)
        for i, (a, b) in enumerate(zip(matrices, vectors)):  # importers, only when one of them is singular
            try:
                out[i] = np.linalg.solve(a, b)
            except np.linalg.LinAlgError:
                out[i] = np.inf
        return out


# ---------------------------------------------------------------------------------------------
# Medians: standardized differences within cells, importer-clustered (Bahadur) jackknife
# ---------------------------------------------------------------------------------------------

# Bandwidths for the density at the median come from this grid (Hall-Sheather's h = 0.9717 n^(-1/3)
# rounded down to it): one quantile list serves every side, so DuckDB computes them in one pass.
BANDWIDTHS = 0.49 * 2.0 ** (-np.arange(16) / 2)
PROBABILITIES = [0.5] + [float(p) for h in BANDWIDTHS for p in (0.5 - h, 0.5 + h)]


@dataclass(frozen=True)
class MedianSides:
    """One row per side (the certified or uncertified values of one cell), sorted by cell then
    side (uncertified first): its size, median and 1 / density at the median."""

    cell: np.ndarray
    certified: np.ndarray
    n: np.ndarray
    median: np.ndarray
    sparsity: np.ndarray


@dataclass(frozen=True)
class SideImporters:
    """One row per side x importer: the importer's values there, and how many lie at or below the median."""

    side: np.ndarray
    importer: np.ndarray
    n: np.ndarray
    below: np.ndarray


def median_inputs(con, table: str, levels: list[tuple[list[str], int]], nested: bool = False,
                  months: tuple[int, int] | None = None) -> list[tuple[pl.DataFrame, MedianSides, SideImporters]]:
    """Side statistics and importer counts of the values in `table` (columns: the keys, importer,
    certified, value) for each level (keys whose distinct values are the cells, and the values a
    side needs), computed in DuckDB: per-side quantiles, then one join counting each importer's
    values on each side, whatever the number of values. Only cells with enough values on both
    sides are kept. `nested`: every cell belongs to one importer (importer is among the keys), so
    deleting it deletes the cell and neither densities nor importer counts are needed.
    Returns per level the compared cells' keys (one row per cell, in cell order), the sides and
    the counts. `months`: only the values of months first..last (the table has a month column)."""
    if months is not None:
        table = f"(SELECT * FROM {table} WHERE month BETWEEN {int(months[0])} AND {int(months[1])})"
    results = []
    for keys, min_cell in levels:
        cells, sides, frame = _median_sides(con, table, keys, min_cell, nested)
        if nested:
            results.append((cells, sides, SideImporters(np.arange(len(sides.n)), frame, sides.n, np.zeros(len(sides.n)))))
            continue
        con.register("_median_sides", frame.select(*keys, "certified", pl.Series("side", np.arange(len(sides.n))),
                                                   pl.Series("med", sides.median)))
        per = con.sql(f"SELECT s.side, x.importer, count(*) AS n, count(*) FILTER (WHERE x.value <= s.med) AS below "
                      f"FROM {table} AS x JOIN _median_sides AS s USING ({', '.join(keys)}, certified) "
                      f"GROUP BY ALL").fetchnumpy()  # any order: standardized_medians sorts what it adds up
        con.unregister("_median_sides")
        results.append((cells, sides, SideImporters(per["side"], per["importer"], per["n"].astype(np.int64),
                                                    per["below"].astype(float))))
    return results


def _median_sides(con, table: str, keys: list[str], min_cell: int, nested: bool):
    """One level's compared cells, sides (in cell order, uncertified first), and the side rows
    as fetched (nested: the owning importer of each side instead)."""
    key_list = ", ".join(keys)
    quantiles = "[median(value)]" if nested else f"quantile_cont(value, {PROBABILITIES})"
    frame = con.sql(f"SELECT {key_list}, certified, count(*) AS n, {quantiles} AS q FROM {table} "
                    f"GROUP BY ALL HAVING count(*) >= {int(min_cell)} ORDER BY {key_list}, certified").pl()
    frame = frame.filter(pl.len().over(keys) == 2)
    cells = frame.filter(~pl.col("certified")).select(keys).with_row_index("_cell")
    n = frame["n"].to_numpy().astype(np.int64)
    q = np.array(frame["q"].to_list(), dtype=float).reshape(len(n), -1) if len(n) else np.zeros((0, 1))
    if nested or len(n) == 0:
        sparsity = np.full(len(n), np.nan)
    else:
        # The largest grid bandwidth not above Hall-Sheather's (the widest grid value for tiny sides).
        h_index = np.searchsorted(-BANDWIDTHS, -np.minimum(HALL_SHEATHER * n.astype(float) ** (-1 / 3), BANDWIDTHS[0]))
        h_index = np.minimum(h_index, len(BANDWIDTHS) - 1)
        rows = np.arange(len(n))
        sparsity = (q[rows, 2 + 2 * h_index] - q[rows, 1 + 2 * h_index]) / (2 * BANDWIDTHS[h_index])
    median = q[:, 0]
    sides = MedianSides(np.repeat(np.arange(cells.height), 2), frame["certified"].to_numpy().astype(bool), n, median,
                        sparsity)
    return cells, sides, (frame["importer"].to_numpy() if nested else frame)


@dataclass(frozen=True)
class MedianResult:
    """Per group: the standardized median difference, its importer-clustered interval, what informs it."""

    effect: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    importers: np.ndarray
    certified_n: np.ndarray
    uncertified_n: np.ndarray
    certified_importers: np.ndarray
    uncertified_importers: np.ndarray
    switching_importers: np.ndarray


def standardized_medians(sides: MedianSides, per: SideImporters, groupings: list[tuple[np.ndarray, int]],
                         n_importers: int | None = None) -> list[MedianResult]:
    """Certified minus uncertified median of each compared cell, averaged with the certified side's
    counts as weights: the difference certified traffic would see against uncertified traffic of
    its own cells (direct standardization to the exposed group: Rothman, Greenland & Lash 2008,
    ch. 15). With one cell per group it is the plain difference of medians; with cells nested in
    importers (importer x port x mode) it compares each importer with itself.

    Interval: delete-one-importer jackknife. Without importer i a side's share of values at or
    below its median moves from F = B/N to F_(-i) = (B - b_i)/(N - n_i), and its median by
    (F - F_(-i)) / f (Bahadur); a side that loses every value drops its cell from that replicate
    (cells nested in importers: exactly what deleting the importer does).

    One result per grouping (group of each cell, number of groups): the per-cell and per-importer
    terms are computed once and added up per group. `n_importers`: importer codes are below it
    (default: the largest present + 1)."""
    terms = median_terms(sides, per)
    if n_importers is None:
        n_importers = int(per.importer.max()) + 1 if len(per.importer) else 1
    results = []
    for group_of_cell, n_groups in groupings:
        sums = MedianSums.empty(n_groups, n_importers)
        sums.add(terms, group_of_cell)
        results.append(sums.result())
    return results


@dataclass(frozen=True)
class MedianTerms:
    """What each compared cell and each (cell, importer) adds to a standardized median difference
    and to its delete-one-importer replicates (see standardized_medians)."""

    n1_c: np.ndarray  # per cell: certified values (the weight) and certified - uncertified median
    diff_c: np.ndarray
    c: np.ndarray  # per (cell, importer) run: the cell, the importer, the change of sum(w d) and of sum(w)
    importer: np.ndarray  # without that importer, and on how many of the cell's sides it has values
    change_d: np.ndarray
    change_w: np.ndarray
    sides_held: np.ndarray
    side_cell: np.ndarray  # per (side, importer) row: the side's cell, the importer, its side, its values
    side_importer: np.ndarray
    side_certified: np.ndarray
    side_n: np.ndarray


def median_terms(sides: MedianSides, per: SideImporters) -> MedianTerms:
    """The per-cell and per-(cell, importer) terms of standardized_medians, before grouping."""
    s0 = np.arange(0, len(sides.n), 2)  # uncertified side of each cell; its certified side is s0 + 1
    n1_c, diff_c = sides.n[s0 + 1].astype(float), sides.median[s0 + 1] - sides.median[s0]
    side, importer = per.side, per.importer.astype(np.int64)
    big_b = np.bincount(side, weights=per.below, minlength=len(sides.n))
    big_n = sides.n[side].astype(float)
    left = big_n - per.n
    with np.errstate(invalid="ignore", divide="ignore"):
        moved = np.where(left > 0, (big_b[side] / big_n - (big_b[side] - per.below) / left) * sides.sparsity[side], 0.0)
    certified = sides.certified[side]
    # Per cell and importer (runs of the rows sorted by both): the two sides' moves, the
    # importer's certified values, whether a side empties, on how many sides it has values.
    side_cell = sides.cell[side]
    order = sorting_order(side_cell, importer)
    cell, imp, certified_o = side_cell[order], importer[order], certified[order]
    starts = np.flatnonzero(np.r_[True, (cell[1:] != cell[:-1]) | (imp[1:] != imp[:-1])]) if len(cell) else np.zeros(0, int)
    moved_o = moved[order]
    m1 = np.add.reduceat(np.where(certified_o, moved_o, 0.0), starts) if len(starts) else np.zeros(0)
    m0 = np.add.reduceat(np.where(certified_o, 0.0, moved_o), starts) if len(starts) else np.zeros(0)
    n1_i = np.add.reduceat(np.where(certified_o, per.n[order], 0), starts) if len(starts) else np.zeros(0)
    emptied = np.maximum.reduceat(left[order] <= 0, starts) if len(starts) else np.zeros(0, bool)
    sides_held = np.diff(np.r_[starts, len(cell)])
    c, pc_importer = cell[starts], imp[starts]
    n1, d_c = n1_c[c], diff_c[c]
    new_w = np.where(emptied, 0.0, n1 - n1_i)
    new_term = np.where(emptied, 0.0, new_w * (d_c + m1 - m0))
    return MedianTerms(n1_c, diff_c, c, pc_importer, n1 * d_c - new_term, n1 - new_w, sides_held,
                       side_cell, importer, certified, per.n)


@dataclass
class MedianSums:
    """standardized_medians of n_groups groups as sums that calls of add() extend, a batch of cells
    at a time (for example one month's, so that ALL pools every month while memory holds one):
    per group the weighted differences and weights, per (group, importer) their changes without
    the importer and which sides it has values on. One add() of every cell gives
    standardized_medians' result float for float."""

    n_groups: int
    n_importers: int
    total_d: np.ndarray
    total_w: np.ndarray
    change_d: np.ndarray
    change_w: np.ndarray
    runs: np.ndarray  # (cell, importer) runs per (group, importer): the importer informs the group
    certified_rows: np.ndarray  # side rows per (group, importer), certified and uncertified sides
    uncertified_rows: np.ndarray
    both_sides: np.ndarray  # runs holding both sides of a cell: the importer compares itself
    certified_n: np.ndarray
    uncertified_n: np.ndarray

    @classmethod
    def empty(cls, n_groups: int, n_importers: int) -> MedianSums:
        size = n_groups * n_importers
        return cls(n_groups, n_importers, *(np.zeros(n) for n in (n_groups, n_groups, size, size)),
                   *(np.zeros(size, dtype=np.int64) for _ in range(4)), np.zeros(n_groups), np.zeros(n_groups))

    def add(self, t: MedianTerms, group_of_cell: np.ndarray) -> None:
        size = self.n_groups * self.n_importers
        self.total_d += np.bincount(group_of_cell, weights=t.n1_c * t.diff_c, minlength=self.n_groups)
        self.total_w += np.bincount(group_of_cell, weights=t.n1_c, minlength=self.n_groups)
        gi = group_of_cell[t.c].astype(np.int64) * self.n_importers + t.importer
        self.change_d += np.bincount(gi, weights=t.change_d, minlength=size)
        self.change_w += np.bincount(gi, weights=t.change_w, minlength=size)
        self.runs += np.bincount(gi, minlength=size)
        self.both_sides += np.bincount(gi[t.sides_held == 2], minlength=size)
        side_gi = group_of_cell[t.side_cell].astype(np.int64) * self.n_importers + t.side_importer
        certified = t.side_certified
        self.certified_rows += np.bincount(side_gi[certified], minlength=size)
        self.uncertified_rows += np.bincount(side_gi[~certified], minlength=size)
        side_group = side_gi // self.n_importers
        self.certified_n += np.bincount(side_group[certified], weights=t.side_n[certified], minlength=self.n_groups)
        self.uncertified_n += np.bincount(side_group[~certified], weights=t.side_n[~certified], minlength=self.n_groups)

    def result(self) -> MedianResult:
        with np.errstate(invalid="ignore", divide="ignore"):
            estimate = self.total_d / self.total_w
        present = np.flatnonzero(self.runs)
        group_of = present // self.n_importers
        with np.errstate(invalid="ignore", divide="ignore"):
            remaining = self.total_w[group_of] - self.change_w[present]
            replicate = np.where(remaining > 0, (self.total_d[group_of] - self.change_d[present]) / remaining, np.inf)
        low, high, importers = jackknife(estimate, group_of, replicate, self.n_groups)
        distinct = lambda rows: (rows > 0).reshape(self.n_groups, self.n_importers).sum(axis=1)  # noqa: E731
        return MedianResult(
            effect=estimate, ci_low=low, ci_high=high, importers=importers,
            certified_n=self.certified_n.astype(np.int64), uncertified_n=self.uncertified_n.astype(np.int64),
            certified_importers=distinct(self.certified_rows), uncertified_importers=distinct(self.uncertified_rows),
            switching_importers=distinct(self.both_sides))


def stack_results(results: list[MedianResult]) -> MedianResult:
    """Results of consecutive groups (for example one per month) as one result."""
    return MedianResult(**{name: np.concatenate([getattr(r, name) for r in results])
                           for name in MedianResult.__dataclass_fields__})


def standardized_median_difference(sample: pl.DataFrame, by: list[str], min_cell: int = MIN_CELL,
                                   nested: bool = False) -> pl.DataFrame:
    """standardized_medians on a frame (`by` columns, importer, cell, certified, value), one row
    per group of `by`: the same computation the scorecard runs on its warehouse tables."""
    import duckdb

    # A connection of DuckDB's default in-memory database, not an instance of its own: starting one
    # costs 20-25 ms, the whole computation on 20,000 values about 40 ms, and the coverage simulations
    # in tests/test_statistics.py call this 300 times. What is registered stays with the cursor.
    with duckdb.default_connection().cursor() as con:
        con.register("sample", sample)
        keys = [*by, "importer", "cell"] if nested else [*by, "cell"]
        (cells, sides, per), = median_inputs(con, "sample", [(keys, min_cell)], nested)
    groups = sample.select(by).unique().sort(by).with_row_index("_g")
    group_of_cell = cells.join(groups, on=by, how="left", maintain_order="left")["_g"].to_numpy().astype(np.int64)
    r, = standardized_medians(sides, per, [(group_of_cell, groups.height)])
    return groups.drop("_g").with_columns(
        pl.Series("effect", r.effect).fill_nan(None), pl.Series("ci_low", r.ci_low).fill_nan(None),
        pl.Series("ci_high", r.ci_high).fill_nan(None), pl.Series("importers", r.importers),
        *(pl.Series(name, getattr(r, name)) for name in MEDIAN_COUNTS)).cast({name: pl.Int64 for name in MEDIAN_COUNTS})


MEDIAN_COUNTS = ["certified_n", "uncertified_n", "certified_importers", "uncertified_importers", "switching_importers"]


# ---------------------------------------------------------------------------------------------
# Paired readings, E-values, verdicts
# ---------------------------------------------------------------------------------------------

def mean_with_ci(values: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Mean and normal-theory 95 % CI, mean -/+ z * sd / sqrt(n) (central limit theorem; used for
    paired border-wait readings, which have no importer; a verdict needs at least 30 pairs)."""
    n = len(values)
    if n == 0:
        return None, None, None
    mean = float(values.mean())
    if n == 1:
        return mean, None, None
    half = Z95 * float(values.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def e_value(rr: float | None) -> float | None:
    """How strongly an unmeasured confounder would have to be associated, on the risk-ratio scale,
    with both certification and exams to explain the ratio away (VanderWeele & Ding 2017, Ann.
    Intern. Med. 167:268): for RR < 1 take 1/RR, then E = RR + sqrt(RR (RR - 1)). 1 means no
    confounding at all is needed."""
    if rr is None or not np.isfinite(rr) or rr <= 0:
        return None
    r = 1 / rr if rr < 1 else rr
    return r + math.sqrt(r * (r - 1))


def e_value_of_interval(low: float | None, high: float | None) -> float | None:
    """The E-value of the interval limit closest to 1; 1 when the interval contains 1."""
    if low is None or high is None:
        return None
    if low <= 1 <= high:
        return 1.0
    return e_value(high if high < 1 else low)


def verdict(low: float | None, high: float | None, n_certified: int, n_uncertified: int, null: float,
            importers_certified: int | None = None, importers_uncertified: int | None = None,
            switching_importers: int | None = None) -> str:
    """SUPPORTED when the whole CI lies on the benefit side (below `null`: a ratio below 1 or a
    difference below 0), CONTRADICTED when it lies wholly on the other side, else INCONCLUSIVE;
    INSUFFICIENT_DATA when a side has fewer than 30 observations or fewer than 10 importers
    (within importer: fewer than 10 importers whose status changed), or no interval exists."""
    if min(n_certified, n_uncertified) < MIN_OBSERVATIONS:
        return INSUFFICIENT
    if switching_importers is not None and switching_importers < MIN_IMPORTERS:
        return INSUFFICIENT
    if importers_certified is not None and min(importers_certified, importers_uncertified) < MIN_IMPORTERS:
        return INSUFFICIENT
    if low is None or high is None or (isinstance(low, float) and math.isnan(low)):
        return INSUFFICIENT
    if high < null:
        return SUPPORTED
    if low > null:
        return CONTRADICTED
    return INCONCLUSIVE
