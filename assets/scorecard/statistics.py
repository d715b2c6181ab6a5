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

Vectorised: Polars joins and integer sums, numpy float sums in a fixed order (np.bincount over
sorted keys), so no result depends on thread timing. No Python loop over rows or importers.

Notation for a 2x2 table in stratum k: a_k cases among n1_k exposed (certified), c_k cases among
n0_k unexposed (uncertified), N_k = n1_k + n0_k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

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
    """Student t 97.5th percentile with df degrees of freedom (NaN below 1)."""
    df = np.asarray(df, dtype=float)
    return np.where(df >= 1, stats.t.ppf(0.975, np.maximum(df, 1)), np.nan)


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


def _codes(frame: pl.DataFrame, columns: list[str], name: str) -> pl.DataFrame:
    """A dense integer code 0..n-1 for each distinct combination of columns, in sorted order."""
    keys = frame.select(columns).unique().sort(columns).with_row_index(name)
    return frame.join(keys.with_columns(pl.col(name).cast(pl.Int64)), on=columns, how="left", maintain_order="left")


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


def mantel_haenszel_clustered(t: RatioCounts, n_groups: int) -> RatioResult:
    """Mantel-Haenszel rate ratio (exam rate certified / uncertified) over strata, per group,
    with the importer-clustered 95 % CI.

    RR_MH = U / V,  U = sum_k a_k n0_k / N_k,  V = sum_k c_k n1_k / N_k
        (Mantel & Haenszel 1959, J Natl Cancer Inst 22:719; Rothman, Greenland & Lash, Modern
        Epidemiology, 3rd ed. 2008, ch. 15). A stratum with one side only adds nothing.
    Without importer i every stratum it shipped in loses its counts: U_(-i) = U - sum over those
    strata of (a_k n0_k / N_k - a'_k n0'_k / N'_k), likewise V; theta_(-i) = ln(U_(-i) / V_(-i)).
    CI = exp(ln RR -/+ t(G - 1) sqrt(V_J)), G = importers in informative strata. With no case on a
    side the ratio is undefined (NaN); if deleting one importer leaves a side without cases, the
    interval is unbounded on that side (0 or infinity): one importer carries the evidence.

    Vectorised with np.bincount over integer keys (strata and importers are dense codes), in the
    order of the rows, so the same rows give the same floats.
    """
    n_strata = int(t.stratum.max()) + 1 if len(t.stratum) else 1
    n_importers = int(t.importer.max()) + 1 if len(t.importer) else 1
    k = t.group.astype(np.int64) * n_strata + t.stratum
    size = n_groups * n_strata
    a_k, n1_k, c_k, n0_k = (np.bincount(k, weights=x, minlength=size) for x in (t.a, t.n1, t.c, t.n0))
    informative_k = (n1_k > 0) & (n0_k > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        u_k = np.where(informative_k, a_k * n0_k / (n1_k + n0_k), 0.0)
        v_k = np.where(informative_k, c_k * n1_k / (n1_k + n0_k), 0.0)
    u = np.bincount(np.arange(size) // n_strata, weights=u_k, minlength=n_groups)
    v = np.bincount(np.arange(size) // n_strata, weights=v_k, minlength=n_groups)
    # Each row (one importer in one stratum): what its stratum gives without it.
    row_informative = informative_k[k]
    a, n1, c, n0 = (x.astype(float) for x in (t.a, t.n1, t.c, t.n0))
    rest = (n1_k[k] - n1) + (n0_k[k] - n0)
    with np.errstate(invalid="ignore", divide="ignore"):
        du = u_k[k] - np.where(rest > 0, (a_k[k] - a) * (n0_k[k] - n0) / rest, 0.0)
        dv = v_k[k] - np.where(rest > 0, (c_k[k] - c) * (n1_k[k] - n1) / rest, 0.0)
    du, dv = np.where(row_informative, du, 0.0), np.where(row_informative, dv, 0.0)
    gi = t.group.astype(np.int64) * n_importers + t.importer
    per_size = n_groups * n_importers
    du_i = np.bincount(gi, weights=du, minlength=per_size)
    dv_i = np.bincount(gi, weights=dv, minlength=per_size)
    present = np.bincount(gi, weights=row_informative, minlength=per_size) > 0
    certified_i = np.bincount(gi, weights=row_informative & (t.n1 > 0), minlength=per_size) > 0
    uncertified_i = np.bincount(gi, weights=row_informative & (t.n0 > 0), minlength=per_size) > 0
    cells = np.flatnonzero(present)
    group_of = cells // n_importers
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = np.log(u / v)
        replicate = np.log((u[group_of] - du_i[cells]) / (v[group_of] - dv_i[cells]))
    low, high, g = jackknife(estimate, group_of, replicate, n_groups)
    defined = (u > 0) & (v > 0)
    side = lambda flags: np.bincount(np.arange(per_size) // n_importers, weights=flags, minlength=n_groups)  # noqa: E731
    total = lambda x: np.bincount(t.group, weights=x, minlength=n_groups)  # noqa: E731
    return RatioResult(
        rr=np.where(defined, np.exp(estimate), np.nan), ci_low=np.where(defined, np.exp(low), np.nan),
        ci_high=np.where(defined, np.exp(high), np.nan), importers=g,
        certified_importers=side(certified_i).astype(np.int64), uncertified_importers=side(uncertified_i).astype(np.int64),
        certified_n=total(t.n1).astype(np.int64), uncertified_n=total(t.n0).astype(np.int64),
        certified_cases=total(t.a).astype(np.int64), uncertified_cases=total(t.c).astype(np.int64))


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
    be sorted by fe. Returns the fit and the pieces the jackknife needs (per-cell p and Y_c).
    """
    n_fe = int(fe.max()) + 1
    k = n_months  # beta and gamma_1..gamma_{T-1}: gamma_0 = 0 for identification
    log_n = np.log(n)
    y_c = np.bincount(fe, weights=y, minlength=n_fe)
    theta = np.zeros(k)

    starts = np.flatnonzero(np.r_[True, fe[1:] != fe[:-1]])  # cells are sorted by fe

    def parts(theta):
        gamma = np.concatenate([[0.0], theta[1:]])
        eta = log_n + gamma[month] + theta[0] * d
        top = np.maximum.reduceat(eta, starts)  # per group, so exp() can neither overflow nor vanish
        e = np.exp(eta - top[fe])
        s_c = np.bincount(fe, weights=e, minlength=n_fe)
        p = e / s_c[fe]
        loglik = float(np.dot(y, eta) - np.dot(y_c, np.log(s_c) + top))
        return p, loglik

    def score_info(p):
        resid = y - y_c[fe] * p
        score = np.empty(k)
        score[0] = np.dot(resid, d)
        score[1:] = np.bincount(month, weights=resid, minlength=n_months)[1:]
        # Information: sum_c Y_c [sum_r p x x' - m_c m_c'], x = (d, month indicators 1..T-1).
        w = y_c[fe] * p
        info = np.zeros((k, k))
        info[0, 0] = np.dot(w, d)
        by_month = np.bincount(month, weights=w * d, minlength=n_months)[1:]
        info[0, 1:] = info[1:, 0] = by_month
        info[1:, 1:] = np.diag(np.bincount(month, weights=w, minlength=n_months)[1:])
        m = np.zeros((n_fe, k))
        m[:, 0] = np.bincount(fe, weights=p * d, minlength=n_fe)
        if k > 1:
            mm = np.bincount(fe * n_months + month, weights=p, minlength=n_fe * n_months).reshape(n_fe, n_months)
            m[:, 1:] = mm[:, 1:]
        info -= m.T @ (m * y_c[:, None])
        return score, info, m

    p, loglik = parts(theta)
    for iteration in range(1, max_iter + 1):
        score, info, _ = score_info(p)
        # lstsq: a month seen only in groups that stay in that month carries no information (its
        # effect is then left at 0 instead of failing).
        step = np.linalg.lstsq(info, score, rcond=None)[0]
        for _ in range(30):
            p_new, loglik_new = parts(theta + step)
            if loglik_new >= loglik - 1e-12 * abs(loglik):
                break
            step /= 2
        theta, p, converged = theta + step, p_new, abs(loglik_new - loglik) < 1e-10 * (1 + abs(loglik))
        loglik = loglik_new
        if converged and np.max(np.abs(step)) < 1e-10:
            break
    score, info, m = score_info(p)
    fit = WithinFit(float(theta[0]), np.concatenate([[0.0], theta[1:]]), iteration)
    return fit, {"p": p, "y_c": y_c, "info": info, "m": m}


def within_importer_rate_ratio(cells: pl.DataFrame) -> tuple[Estimate, dict]:
    """Exam-rate ratio within importers: Poisson with importer x port x mode (`fe`) and month
    fixed effects on exam counts per cell (`y` examined entries of `n` entries), offset ln n,
    certified indicator `d`; rate ratio exp(beta). Importers whose status never changes inform
    only the month effects. Interval: delete-one-importer jackknife with one Newton step from the
    full fit, theta_(-i) = theta - (J - J_i)^-1 s_i (s_i, J_i: importer i's score and information;
    exact second-order for switching importers, J in place of J - J_i for the others, whose J_i has
    no beta entry), t with (switching importers - 1) df.

    `cells`: importer, fe, month (0-based index), d, y, n. Returns the estimate and counts:
    switching_importers (importers with a fixed-effect group holding both statuses and an exam),
    contributing_entries (entries of those groups) and per side entries and exams there.
    """
    empty = Estimate(None, None, None)
    if cells.is_empty():
        return empty, {"switching_importers": 0, "contributing_entries": 0, "certified_n": 0, "uncertified_n": 0,
                       "certified_cases": 0, "uncertified_cases": 0}
    groups = cells.group_by("fe").agg(pl.col("y").sum().alias("Y"), pl.col("d").n_unique().alias("statuses"),
                                      pl.len().alias("rows"))
    # Groups without an exam, or with one cell, add nothing to the conditional likelihood.
    keep = groups.filter((pl.col("Y") > 0) & (pl.col("rows") > 1)).select("fe", "statuses")
    data = cells.join(keep, on="fe", how="inner").sort("fe", "month", "d")
    informative = data.filter(pl.col("statuses") == 2)
    counts = {
        "switching_importers": informative["importer"].n_unique(),
        "contributing_entries": int(informative["n"].sum() or 0),
        "certified_n": int(informative.filter(pl.col("d") == 1)["n"].sum() or 0),
        "uncertified_n": int(informative.filter(pl.col("d") == 0)["n"].sum() or 0),
        "certified_cases": int(informative.filter(pl.col("d") == 1)["y"].sum() or 0),
        "uncertified_cases": int(informative.filter(pl.col("d") == 0)["y"].sum() or 0),
    }
    if informative.is_empty():
        return empty, counts
    data = _codes(_codes(data, ["fe"], "_fe"), ["month"], "_m").sort("_fe", "_m", "d")
    data = _codes(data, ["importer"], "_imp")
    fe, month = data["_fe"].to_numpy(), data["_m"].to_numpy()
    d = data["d"].to_numpy().astype(float)
    y, n = data["y"].to_numpy().astype(float), data["n"].to_numpy().astype(float)
    n_months = int(month.max()) + 1
    fit, pieces = _conditional_poisson(fe, month, d, y, n, n_months)
    replicate = _within_jackknife(data, fe, month, d, y, pieces, n_months, fit)
    low, high, g = jackknife(np.array([fit.beta]), np.zeros(len(replicate), dtype=np.int64), replicate, 1,
                             df=np.array([counts["switching_importers"] - 1]))
    return Estimate(math.exp(fit.beta), *_ratio_bounds(low[0], high[0]), int(g[0])), counts


def _ratio_bounds(low: float, high: float) -> tuple[float | None, float | None]:
    """Log-scale bounds to ratio bounds: an unbounded side becomes 0 or infinity, none stays None."""
    if np.isnan(low) or np.isnan(high):
        return None, None
    return float(np.exp(low)), float(np.exp(high))


def _within_jackknife(data: pl.DataFrame, fe, month, d, y, pieces: dict, n_months: int, fit: WithinFit) -> np.ndarray:
    """theta_(-i)[beta] for every importer of the fit (one Newton step from the full estimate)."""
    p, y_c, info, m = pieces["p"], pieces["y_c"], pieces["info"], pieces["m"]
    k = n_months
    imp = data["_imp"].to_numpy()
    n_imp = int(imp.max()) + 1
    resid = y - y_c[fe] * p
    scores = np.zeros((n_imp, k))
    scores[:, 0] = np.bincount(imp, weights=resid * d, minlength=n_imp)
    if k > 1:
        by = np.bincount(imp * n_months + month, weights=resid, minlength=n_imp * n_months).reshape(n_imp, n_months)
        scores[:, 1:] = by[:, 1:]
    inverse = np.linalg.pinv(info)
    steps = scores @ inverse.T  # J^-1 s_i for every importer
    # Switching importers: their own information J_i matters (it has beta entries): solve with J - J_i.
    switching = data.filter(pl.col("statuses") == 2)["_imp"].unique().to_numpy()
    if len(switching):
        fe_imp = np.zeros(int(fe.max()) + 1, dtype=np.int64)
        fe_imp[fe] = imp
        local = np.full(n_imp, -1)
        local[switching] = np.arange(len(switching))
        rows = local[imp] >= 0
        w = y_c[fe] * p
        j_i = np.zeros((len(switching), k, k))
        li = local[imp[rows]]
        j_i[:, 0, 0] = np.bincount(li, weights=(w * d)[rows], minlength=len(switching))
        if k > 1:
            dm = np.bincount(li * n_months + month[rows], weights=(w * d)[rows],
                             minlength=len(switching) * n_months).reshape(-1, n_months)[:, 1:]
            j_i[:, 0, 1:] = dm
            j_i[:, 1:, 0] = dm
            mm = np.bincount(li * n_months + month[rows], weights=w[rows],
                             minlength=len(switching) * n_months).reshape(-1, n_months)[:, 1:]
            j_i[:, np.arange(1, k), np.arange(1, k)] = mm
        fe_rows = local[fe_imp] >= 0
        fe_local = local[fe_imp[fe_rows]]
        mc = m[fe_rows] * np.sqrt(y_c[fe_rows])[:, None]
        np.add.at(j_i, fe_local, -np.einsum("ci,cj->cij", mc, mc))
        steps[switching] = _solve_each(info[None, :, :] - j_i, scores[switching])
    return fit.beta - steps[:, 0]


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

def standardized_median_difference(sample: pl.DataFrame, by: list[str], min_cell: int = MIN_CELL) -> pl.DataFrame:
    """Certified minus uncertified median of `value` within each `cell`, averaged with the
    certified side's counts as weights: the difference certified traffic would see against
    uncertified traffic of its own cells (direct standardization to the exposed group: Rothman,
    Greenland & Lash 2008, ch. 15). Cells with fewer than `min_cell` values on a side drop out.
    With one cell it is the plain difference of medians; with cells nested in importers (importer
    x port x mode) it compares each importer with itself, and deleting an importer deletes its
    cells exactly.

    Interval: delete-one-importer jackknife, each cell's medians moved by the Bahadur
    representation (module docstring); a side that loses every value drops its cell from that
    replicate. `sample`: the `by` columns, importer, cell, certified (bool), value. Returns per
    group: effect, ci_low, ci_high, importers, certified_n / uncertified_n (values in the cells
    compared), certified_importers / uncertified_importers, switching_importers (importers with
    values on both sides of one cell).
    """
    keys = [*by, "cell", "certified"]
    h = (HALL_SHEATHER * pl.len().cast(pl.Float64) ** (-1 / 3)).clip(upper_bound=0.49)
    sides = sample.lazy().group_by(keys).agg(
        pl.len().alias("N"), pl.col("value").median().alias("q"),
        _quantile(pl.col("value"), 0.5 + h).alias("q_hi"), _quantile(pl.col("value"), 0.5 - h).alias("q_lo"),
        h.alias("h")).filter(pl.col("N") >= min_cell).collect()
    both = sides.group_by([*by, "cell"]).len().filter(pl.col("len") == 2).drop("len")
    sides = sides.join(both, on=[*by, "cell"], how="inner")
    if sides.is_empty():
        return _empty_median(by)
    # Sparsity 1/f = (q_hi - q_lo) / 2h; ties across the whole band leave the median where it is.
    sides = sides.with_columns(((pl.col("q_hi") - pl.col("q_lo")) / (2 * pl.col("h"))).alias("sparsity"))
    values = sample.join(sides.select(*keys, "q"), on=keys, how="inner")
    per = values.group_by([*keys, "importer"]).agg(pl.len().alias("n_i"), (pl.col("value") <= pl.col("q")).sum().alias("b_i"))
    below = per.group_by(keys).agg(pl.col("b_i").sum().alias("B"))
    sides = _codes(sides.join(below, on=keys), by, "_g").sort("_g", "cell", "certified")
    groups = sides.select(*by, "_g").unique().sort("_g")
    n_groups = groups.height

    # Point estimate per group: sum_c N1_c (q1_c - q0_c) / sum_c N1_c.
    cells = sides.pivot(on="certified", index=["_g", "cell"], values=["N", "q", "B", "sparsity"]).sort("_g", "cell")
    g_c = cells["_g"].to_numpy()
    n1_c, n0_c = cells["N_true"].to_numpy().astype(float), cells["N_false"].to_numpy().astype(float)
    diff_c = cells["q_true"].to_numpy() - cells["q_false"].to_numpy()
    total_d = np.bincount(g_c, weights=n1_c * diff_c, minlength=n_groups)
    total_w = np.bincount(g_c, weights=n1_c, minlength=n_groups)
    estimate = total_d / total_w

    # Without importer i: per cell and side, the median moves by (F - F_(-i)) / f.
    rows = per.join(sides.select(*keys, "_g", "N", "B", "sparsity"), on=keys).sort("_g", "importer", "cell", "certified")
    n_i, b_i = rows["n_i"].to_numpy().astype(float), rows["b_i"].to_numpy().astype(float)
    N, B, sparsity = rows["N"].to_numpy().astype(float), rows["B"].to_numpy().astype(float), rows["sparsity"].to_numpy()
    left = N - n_i
    with np.errstate(invalid="ignore", divide="ignore"):
        moved = np.where(left > 0, (B / N - (B - b_i) / left) * sparsity, 0.0)
    rows = rows.with_columns(pl.Series("moved", moved), pl.Series("emptied", left <= 0))
    per_cell = rows.group_by("_g", "importer", "cell", maintain_order=True).agg(
        pl.col("moved").filter("certified").sum().alias("m1"), pl.col("moved").filter(~pl.col("certified")).sum().alias("m0"),
        pl.col("n_i").filter("certified").sum().alias("n1_i"), pl.col("emptied").any().alias("emptied"))
    per_cell = per_cell.join(cells.select("_g", "cell", "N_true", "q_true", "q_false"), on=["_g", "cell"]).sort(
        "_g", "importer", "cell")
    n1, d_c = per_cell["N_true"].to_numpy().astype(float), (per_cell["q_true"] - per_cell["q_false"]).to_numpy()
    emptied = per_cell["emptied"].to_numpy()
    new_w = np.where(emptied, 0.0, n1 - per_cell["n1_i"].to_numpy())
    new_term = np.where(emptied, 0.0, new_w * (d_c + per_cell["m1"].to_numpy() - per_cell["m0"].to_numpy()))
    imp = _codes(per_cell, ["_g", "importer"], "_gi")
    gi = imp["_gi"].to_numpy()
    n_gi = int(gi.max()) + 1
    gi_group = np.zeros(n_gi, dtype=np.int64)
    gi_group[gi] = per_cell["_g"].to_numpy()
    change_d = np.bincount(gi, weights=n1 * d_c - new_term, minlength=n_gi)
    change_w = np.bincount(gi, weights=n1 - new_w, minlength=n_gi)
    with np.errstate(invalid="ignore", divide="ignore"):
        remaining = total_w[gi_group] - change_w
        replicate = np.where(remaining > 0, (total_d[gi_group] - change_d) / remaining, np.inf)
    low, high, g = jackknife(estimate, gi_group, replicate, n_groups)
    counts = rows.group_by("_g").agg(
        pl.col("n_i").filter("certified").sum().alias("certified_n"),
        pl.col("n_i").filter(~pl.col("certified")).sum().alias("uncertified_n"),
        pl.col("importer").filter("certified").n_unique().alias("certified_importers"),
        pl.col("importer").filter(~pl.col("certified")).n_unique().alias("uncertified_importers"))
    switching = per.group_by(*by, "importer", "cell").agg(pl.col("certified").n_unique().alias("k")).filter(
        pl.col("k") == 2).group_by(by).agg(pl.col("importer").n_unique().alias("switching_importers"))
    counts = counts.join(groups, on="_g").join(switching, on=by, how="left").drop(by)
    return groups.with_columns(
        pl.Series("effect", estimate), pl.Series("ci_low", low).fill_nan(None), pl.Series("ci_high", high).fill_nan(None),
        pl.Series("importers", g)).join(counts, on="_g", how="left").with_columns(
        pl.col("switching_importers").fill_null(0)).drop("_g").cast(MEDIAN_SCHEMA_COUNTS)


def _quantile(values: pl.Expr, p: pl.Expr) -> pl.Expr:
    """Continuous quantile (linear interpolation, as numpy and DuckDB's quantile_cont) at a
    probability that differs per group: Polars' quantile() takes one probability for all groups."""
    n = pl.len().cast(pl.Int64)
    position = p * (n - 1).cast(pl.Float64)
    below = position.floor().cast(pl.Int64)
    ordered = values.sort()
    low = ordered.gather(below)
    return (low + (position - below) * (ordered.gather((below + 1).clip(upper_bound=n - 1)) - low)).first()


MEDIAN_SCHEMA_COUNTS = {"importers": pl.Int64, "certified_n": pl.Int64, "uncertified_n": pl.Int64,
                        "certified_importers": pl.Int64, "uncertified_importers": pl.Int64,
                        "switching_importers": pl.Int64}


def _empty_median(by: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={**{b: pl.String for b in by}, "effect": pl.Float64, "ci_low": pl.Float64,
                                "ci_high": pl.Float64, **MEDIAN_SCHEMA_COUNTS})


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
