"""The scorecard's statistics against textbook examples, brute force, a reference library and
simulation: importer-clustered intervals hold where entry-level ones fall far short."""

import math

import numpy as np
import polars as pl
import pytest

from assets.scorecard.statistics import (CONTRADICTED, INCONCLUSIVE, INSUFFICIENT, SUPPORTED, RatioCounts, e_value,
                                         e_value_of_interval, greenland_robins_rr, mantel_haenszel_clustered,
                                         mean_with_ci, standardized_median_difference, t_quantile, verdict,
                                         within_importer_rate_ratio)

# University Group Diabetes Program, tolbutamide vs placebo, deaths by age (<55, 55+):
# Rothman, Greenland & Lash, Modern Epidemiology (3rd ed.), the textbook confounding example:
# crude risk ratio 1.44, Mantel-Haenszel (age-adjusted) risk ratio 1.33.
UGDP = pl.DataFrame({"age": ["<55", "55+"], "a": [8, 22], "n1": [106, 98], "c": [5, 16], "n0": [120, 85]})


def counts_from(frame: pl.DataFrame, group: str | None = None) -> RatioCounts:
    """RatioCounts from a frame of importer, stratum, a, n1, c, n0 (one row each), sorted."""
    frame = frame.sort([c for c in ("grp", "importer", "stratum") if c in frame.columns])
    g = frame[group].to_numpy() if group else np.zeros(frame.height, dtype=np.int64)
    return RatioCounts(g, frame["importer"].to_numpy(), frame["stratum"].to_numpy(),
                       *(frame[c].to_numpy() for c in ("a", "n1", "c", "n0")))


def entries_as_importers(table: pl.DataFrame) -> pl.DataFrame:
    """Each entry its own importer: one row per entry of a 2x2 table per stratum."""
    rows = []
    importer = 0
    for k, r in enumerate(table.iter_rows(named=True)):
        for cases, n, side in ((r["a"], r["n1"], 1), (r["c"], r["n0"], 0)):
            for j in range(n):
                case = int(j < cases)
                rows.append({"importer": importer, "stratum": k, "a": case * side, "n1": side,
                             "c": case * (1 - side), "n0": 1 - side})
                importer += 1
    return pl.DataFrame(rows)


def test_mantel_haenszel_textbook_example():
    gr = greenland_robins_rr(UGDP.with_columns(pl.lit("all").alias("g")), ["g"]).row(0, named=True)
    assert round(gr["rr"], 2) == 1.33
    assert (round(gr["ci_low"], 2), round(gr["ci_high"], 2)) == (0.80, 2.20)
    clustered = mantel_haenszel_clustered(counts_from(entries_as_importers(UGDP)), 1)
    assert clustered.rr[0] == pytest.approx(gr["rr"], rel=1e-12)
    crude = mantel_haenszel_clustered(counts_from(entries_as_importers(UGDP).with_columns(pl.lit(0).alias("stratum"))), 1)
    assert round(crude.rr[0], 2) == 1.44
    # With every entry its own importer the jackknife is an entry-level interval again: close to Greenland-Robins.
    assert clustered.ci_low[0] == pytest.approx(gr["ci_low"], rel=0.05)
    assert clustered.ci_high[0] == pytest.approx(gr["ci_high"], rel=0.05)


def jackknife_half_width(reps: np.ndarray, df_cap: float | None = None) -> float:
    """t(df) * sqrt((G - 1) / G * sum (r - mean)^2), df = min(G - 1, G_eff - 1), G_eff = (sum |d|)^2 / sum d^2."""
    g = len(reps)
    d = reps - reps.mean()
    effective = np.abs(d).sum() ** 2 / (d ** 2).sum()
    df = min(g - 1 if df_cap is None else df_cap, max(effective - 1, 1))
    return float(t_quantile(df)) * math.sqrt((g - 1) / g * (d ** 2).sum())


def brute_force_jackknife(frame: pl.DataFrame) -> tuple[float, float, float]:
    """The Mantel-Haenszel ratio recomputed without each importer, by a Python loop (test only)."""
    def mh(f):
        t = f.group_by("stratum").agg(pl.col("a", "n1", "c", "n0").sum()).filter((pl.col("n1") > 0) & (pl.col("n0") > 0))
        n = t["n1"] + t["n0"]
        return math.log((t["a"] * t["n0"] / n).sum() / (t["c"] * t["n1"] / n).sum())
    informative = frame.group_by("stratum").agg(pl.col("n1", "n0").sum()).filter((pl.col("n1") > 0) & (pl.col("n0") > 0))
    importers = frame.join(informative.select("stratum"), on="stratum")["importer"].unique().sort().to_list()
    reps = np.array([mh(frame.filter(pl.col("importer") != i)) for i in importers])
    half = jackknife_half_width(reps)
    est = mh(frame)
    return math.exp(est), math.exp(est - half), math.exp(est + half)


def test_closed_form_jackknife_equals_recomputing_without_each_importer():
    rng = np.random.default_rng(4)
    n1, n0 = rng.integers(0, 30, 100), rng.integers(0, 30, 100)
    frame = pl.DataFrame({"importer": np.repeat(np.arange(25), 4), "stratum": np.tile(np.arange(4), 25),
                          "a": rng.binomial(n1, 0.2), "n1": n1, "c": rng.binomial(n0, 0.3), "n0": n0})
    got = mantel_haenszel_clustered(counts_from(frame), 1)
    assert (got.rr[0], got.ci_low[0], got.ci_high[0]) == pytest.approx(brute_force_jackknife(frame), rel=1e-9)
    assert got.importers[0] == 25


def test_groups_are_independent_and_an_importer_with_every_case_makes_the_interval_unbounded():
    one = pl.DataFrame({"importer": [1, 2, 3, 4], "stratum": [0, 0, 0, 0], "a": [5, 0, 0, 0], "n1": [50, 50, 0, 0],
                        "c": [0, 0, 9, 7], "n0": [0, 0, 60, 70], "grp": [0, 0, 0, 0]})
    two = one.with_columns(pl.lit(1, pl.Int64).alias("grp"), pl.Series("a", [5, 4, 0, 0]))
    got = mantel_haenszel_clustered(counts_from(pl.concat([one, two]), "grp"), 2)
    # Without importer 1 no certified case is left: the jackknife variance is infinite, the interval (0, inf).
    assert (got.ci_low[0], got.ci_high[0]) == (0.0, np.inf)
    alone = mantel_haenszel_clustered(counts_from(two.with_columns(pl.lit(0, pl.Int64).alias("grp")), "grp"), 1)
    assert (got.rr[1], got.ci_low[1], got.ci_high[1]) == (alone.rr[0], alone.ci_low[0], alone.ci_high[0])
    assert (got.certified_importers[1], got.uncertified_importers[1]) == (2, 2)


def heterogeneous_importers(rng, n_importers: int, entries: int, pareto: float, risk_sd: float = 0.7) -> pl.DataFrame:
    """Entries of importers with Pareto sizes (a few make most entries) and a latent risk each,
    spread over 6 port x mode strata by importer-specific preferences; status independent of risk,
    no effect: the true rate ratio is 1."""
    size = rng.pareto(pareto, n_importers) + 1
    size = np.maximum(1, np.round(size / size.sum() * entries)).astype(int)
    certified = rng.random(n_importers) < 0.35
    risk = rng.normal(0, risk_sd, n_importers)
    importer = np.repeat(np.arange(n_importers), size)
    preference = rng.dirichlet(np.ones(6) * 0.5, n_importers).cumsum(1)[importer]
    stratum = np.minimum((rng.random(len(importer))[:, None] > preference).sum(1), 5)
    base = np.array([0.25, 0.12, 0.05, 0.03, 0.08, 0.15])[stratum]
    examined = rng.random(len(importer)) < np.minimum(base * np.exp(risk[importer] - risk_sd ** 2 / 2), 0.95)
    hours = np.array([2, 6, 30, 40, 5, 3.0])[stratum] * np.exp(risk[importer] / 1.4 + rng.normal(0, 0.6, len(importer)))
    return pl.DataFrame({"importer": importer, "stratum": stratum, "certified": certified[importer],
                         "examined": examined, "value": hours})


def test_clustered_ratio_interval_covers_where_the_entry_level_one_does_not():
    """300 data sets of 20,000 entries from 150 importers of Pareto(1.1) sizes with latent risks,
    no effect: the importer-clustered interval covers the true ratio 1 about 95 % of the time; the
    Greenland-Robins interval, which treats entries as independent, about a quarter of the time."""
    rng = np.random.default_rng(1)
    covered = {"clustered": 0, "entry_level": 0}
    reps = 300
    for _ in range(reps):
        data = heterogeneous_importers(rng, 150, 20_000, 1.1)
        pairs = data.group_by("importer", "stratum").agg(
            pl.col("examined").filter("certified").sum().alias("a"), pl.col("certified").sum().alias("n1"),
            pl.col("examined").filter(~pl.col("certified")).sum().alias("c"), (~pl.col("certified")).sum().alias("n0"))
        clustered = mantel_haenszel_clustered(counts_from(pairs), 1)
        covered["clustered"] += clustered.ci_low[0] <= 1 <= clustered.ci_high[0]
        strata = pairs.group_by("stratum").agg(pl.col("a", "n1", "c", "n0").sum()).with_columns(pl.lit(0).alias("g"))
        gr = greenland_robins_rr(strata, ["g"]).row(0, named=True)
        covered["entry_level"] += gr["ci_low"] <= 1 <= gr["ci_high"]
    print(f"Mantel-Haenszel, 150 importers: clustered {covered['clustered'] / reps:.3f}, "
          f"entry-level {covered['entry_level'] / reps:.3f} of {reps}")
    assert 0.92 <= covered["clustered"] / reps <= 0.985, covered
    assert covered["entry_level"] / reps < 0.5, covered


def test_clustered_interval_holds_when_one_importer_makes_half_of_a_side():
    """40 importers of Pareto(0.9) sizes: typically one importer makes half of a side's entries."""
    rng = np.random.default_rng(8)
    covered, reps, shares = 0, 300, []
    for _ in range(reps):
        data = heterogeneous_importers(rng, 40, 20_000, 0.9)
        sizes = data.group_by("importer", "certified").len()
        shares.append(sizes.group_by("certified").agg((pl.col("len").max() / pl.col("len").sum()).alias("s"))["s"].max())
        pairs = data.group_by("importer", "stratum").agg(
            pl.col("examined").filter("certified").sum().alias("a"), pl.col("certified").sum().alias("n1"),
            pl.col("examined").filter(~pl.col("certified")).sum().alias("c"), (~pl.col("certified")).sum().alias("n0"))
        r = mantel_haenszel_clustered(counts_from(pairs), 1)
        covered += r.ci_low[0] <= 1 <= r.ci_high[0]
    print(f"Mantel-Haenszel, 40 importers (median largest share {np.median(shares):.2f}): clustered {covered / reps:.3f}")
    assert np.median(shares) >= 0.45
    assert 0.89 <= covered / reps <= 0.99


def median_sample(data: pl.DataFrame, entry_level: bool = False) -> pl.DataFrame:
    frame = data.select("importer", pl.col("stratum").alias("cell"), "certified", "value", pl.lit("ALL").alias("month"))
    return frame.with_columns(pl.int_range(pl.len()).alias("importer")) if entry_level else frame


def test_clustered_median_interval_covers_where_the_entry_level_one_does_not():
    """Release hours shifted per importer (its latent risk), heavy-tailed sizes, no effect: the
    standardized median difference's importer-clustered interval covers 0 about 95 % of the time;
    the same computation with every entry its own importer falls far short."""
    rng = np.random.default_rng(2)
    covered = {"clustered": 0, "entry_level": 0}
    reps = 150
    for _ in range(reps):
        data = heterogeneous_importers(rng, 150, 20_000, 1.1)
        for kind, sample in (("clustered", median_sample(data)), ("entry_level", median_sample(data, True))):
            r = standardized_median_difference(sample, ["month"]).row(0, named=True)
            covered[kind] += r["ci_low"] <= 0 <= r["ci_high"]
    print(f"standardized median difference: clustered {covered['clustered'] / reps:.3f}, "
          f"entry-level {covered['entry_level'] / reps:.3f} of {reps}")
    assert 0.90 <= covered["clustered"] / reps <= 0.99, covered
    assert covered["entry_level"] / reps < 0.5, covered


def test_standardized_difference_removes_confounding_by_mix():
    """Within each cell certified traffic is 20 % faster; certified traffic sits mostly in the slow
    cell. The crude difference of medians points the wrong way; the standardized one does not.
    Many small importers: the interval is close to an entry-level one."""
    rng = np.random.default_rng(2)
    rows = []
    for cell, median, n_cert, n_unc in ((1, 30.0, 900, 200), (2, 2.0, 100, 800)):
        rows.append(pl.DataFrame({"cell": cell, "certified": True, "value": rng.lognormal(np.log(median * 0.8), 0.3, n_cert)}))
        rows.append(pl.DataFrame({"cell": cell, "certified": False, "value": rng.lognormal(np.log(median), 0.3, n_unc)}))
    frame = pl.concat(rows).with_columns(pl.lit("ALL").alias("month"), (pl.int_range(pl.len()) // 3).alias("importer"))
    r = standardized_median_difference(frame, ["month"]).row(0, named=True)
    truth = (900 * (24.0 - 30.0) + 100 * (1.6 - 2.0)) / 1000
    assert r["ci_low"] <= truth <= r["ci_high"] and r["ci_high"] < 0
    crude = frame.filter("certified")["value"].median() - frame.filter(~pl.col("certified"))["value"].median()
    assert crude > 0
    assert (r["certified_n"], r["uncertified_n"]) == (1000, 1000)


def test_within_importer_cells_are_deleted_whole():
    """Cells nested in importers: deleting an importer deletes its cells, so the jackknife is exact:
    recomputed here by brute force."""
    rng = np.random.default_rng(6)
    frame = pl.DataFrame({"importer": np.repeat(np.arange(12), 40), "certified": np.tile(np.arange(40) % 2 == 0, 12),
                          "value": rng.lognormal(1, 0.5, 480)}).with_columns(
        (pl.col("importer") * 10).alias("cell"), pl.lit("ALL").alias("month"))
    r = standardized_median_difference(frame, ["month"]).row(0, named=True)

    def estimate(f):
        d = f.group_by("cell").agg(pl.col("value").filter("certified").median().alias("q1"),
                                   pl.col("value").filter(~pl.col("certified")).median().alias("q0"),
                                   pl.col("certified").sum().alias("w"))
        return float(((d["q1"] - d["q0"]) * d["w"]).sum() / d["w"].sum())
    reps = np.array([estimate(frame.filter(pl.col("importer") != i)) for i in range(12)])
    half = jackknife_half_width(reps)
    assert r["effect"] == pytest.approx(estimate(frame), rel=1e-12)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((r["effect"] - half, r["effect"] + half), rel=1e-9)
    assert r["switching_importers"] == 12


def within_cells(rng, n_importers=80, months=8, effect=0.5, risk_sd=0.6, pareto=1.2, entries=30_000,
                 switch_share=0.4, shock_sd=0.0) -> pl.DataFrame:
    """Exam counts per importer x port x month x status cell: importers of Pareto sizes with latent
    risks, some switching status at a random month, others always or never certified; the
    certified exam rate is `effect` times the uncertified one for every importer. `shock_sd`: each
    importer's risk also moves from month to month (new suppliers, new goods), so its entries of
    one month are alike beyond what the fixed effects absorb."""
    size = np.maximum(5, np.round((rng.pareto(pareto, n_importers) + 1) / 1 * entries / n_importers)).astype(int)
    risk = rng.normal(0, risk_sd, n_importers)
    switch = rng.random(n_importers) < switch_share
    switch_month = rng.integers(1, months, n_importers)
    always = ~switch & (rng.random(n_importers) < 0.3)
    importer = np.repeat(np.arange(n_importers), size)
    port, month = rng.integers(0, 3, len(importer)), rng.integers(0, months, len(importer))
    certified = np.where(switch[importer], month >= switch_month[importer], always[importer]).astype(int)
    shock = rng.normal(0, shock_sd, (n_importers, months))[importer, month] - shock_sd ** 2 / 2
    rate = np.array([0.25, 0.05, 0.1])[port] * (1 + 0.2 * np.sin(month)) * np.exp(risk[importer] - risk_sd ** 2 / 2 + shock)
    examined = (rng.random(len(importer)) < np.minimum(rate * np.where(certified == 1, effect, 1.0), 0.95)).astype(int)
    frame = pl.DataFrame({"importer": importer, "port": port, "month": month, "d": certified, "y": examined})
    return frame.group_by("importer", "port", "month", "d").agg(pl.len().alias("n"), pl.col("y").sum()).with_columns(
        (pl.col("importer") * 10 + pl.col("port")).alias("fe")).sort("importer", "port", "month", "d")


def test_within_importer_ratio_equals_pyfixest_fepois():
    """The hand-written conditional Poisson equals pyfixest's fepois (importer x port and month
    fixed effects, log entries as offset) to the last digits, and the one-step jackknife equals
    re-estimating without each importer within a few per cent."""
    pf = pytest.importorskip("pyfixest")
    cells = within_cells(np.random.default_rng(5))
    estimate, counts = within_importer_rate_ratio(cells)
    frame = cells.to_pandas()
    frame["log_n"] = np.log(frame["n"])
    model = pf.fepois("y ~ d | fe + month", data=frame, offset="log_n", vcov={"CRV1": "importer"})
    assert math.log(estimate.effect) == pytest.approx(float(model.coef().iloc[0]), abs=1e-8)
    exact = []
    for i in cells["importer"].unique().sort().to_list():
        without, _ = within_importer_rate_ratio(cells.filter(pl.col("importer") != i))
        exact.append(math.log(without.effect))
    exact_half = jackknife_half_width(np.array(exact), counts["switching_importers"] - 1)
    one_step_half = (math.log(estimate.ci_high) - math.log(estimate.ci_low)) / 2
    assert one_step_half == pytest.approx(exact_half, rel=0.05)
    assert counts["switching_importers"] == cells.filter(
        pl.col("d").n_unique().over("fe") == 2).filter(pl.col("y").sum().over("fe") > 0)["importer"].n_unique()


def poisson_se(cells: pl.DataFrame) -> float:
    """Standard error of beta from the Poisson information alone (entries independent)."""
    from assets.scorecard.statistics import _conditional_poisson

    data = cells.filter((pl.col("y").sum().over("fe") > 0) & (pl.len().over("fe") > 1)).sort("fe", "month", "d")
    fe = data["fe"].rank("dense").cast(pl.Int64).to_numpy() - 1
    month = data["month"].rank("dense").cast(pl.Int64).to_numpy() - 1
    _, pieces = _conditional_poisson(fe, month, data["d"].to_numpy().astype(float), data["y"].to_numpy().astype(float),
                                     data["n"].to_numpy().astype(float), int(month.max()) + 1)
    return math.sqrt(np.linalg.inv(pieces["info"])[0, 0])


def test_within_importer_interval_covers_the_true_ratio():
    """200 data sets (no effect; then a true 0.5) whose importers' risks also move month to month:
    the within-importer interval covers the truth about 95 % of the time; the model-based interval
    that treats entries as independent (Poisson information) falls far short. (With constant
    importer risks only, the fixed effects absorb the clustering and both intervals hold.)"""
    rng = np.random.default_rng(12)
    reps = 200
    for effect in (1.0, 0.5):
        covered = entry_level = 0
        for _ in range(reps):
            cells = within_cells(rng, effect=effect, n_importers=60, entries=12_000, shock_sd=0.6)
            estimate, counts = within_importer_rate_ratio(cells)
            covered += estimate.ci_low <= effect <= estimate.ci_high
            # Entry-level: the Poisson model's own variance, inverse information, as if entries were independent.
            entry_level += abs(math.log(estimate.effect) - math.log(effect)) <= 1.959963984540054 * poisson_se(cells)
        print(f"within importer, true ratio {effect}: clustered {covered / reps:.3f}, entry-level {entry_level / reps:.3f}")
        assert 0.90 <= covered / reps <= 0.99, (effect, covered)
        assert entry_level / reps < 0.6, (effect, entry_level)


def test_e_values_follow_vanderweele_and_ding():
    # VanderWeele & Ding (2017): an observed risk ratio of 3.9 needs a confounder of 7.26; its CI limit 1.8 gives 3.0.
    assert e_value(3.9) == pytest.approx(7.26, abs=0.01)
    assert e_value_of_interval(1.8, 8.7) == pytest.approx(3.0, abs=0.01)
    assert e_value(1 / 3.9) == pytest.approx(e_value(3.9))  # a protective ratio: its inverse
    assert e_value_of_interval(0.4, 1.2) == 1.0
    assert e_value(None) is None


def test_t_quantile_is_scipy_stats_t_ppf_to_the_bit():
    from scipy import stats  # only here: the scorecard takes the same function from scipy.special

    df = np.concatenate([np.arange(1, 3001), [0.5, 0, -1, 1e4, 1e6, 1e9]]).astype(float)
    expected = np.where(df >= 1, stats.t.ppf(0.975, np.maximum(df, 1)), np.nan)
    np.testing.assert_array_equal(t_quantile(df), expected)
    # Textbook values (two-sided 95 %): 12.706 for 1 degree of freedom, 2.228 for 10, 1.960 in the limit.
    assert t_quantile(1) == pytest.approx(12.7062, abs=1e-4) and t_quantile(10) == pytest.approx(2.2281, abs=1e-4)
    assert t_quantile(1e9) == pytest.approx(1.95996, abs=1e-5) and np.isnan(t_quantile(0))


def test_mean_with_ci():
    mean, low, high = mean_with_ci(np.array([-5.0, -3.0, -4.0, -6.0]))
    assert mean == -4.5
    assert high - mean == pytest.approx(1.959963984540054 * np.std([-5, -3, -4, -6], ddof=1) / 2)
    assert mean_with_ci(np.array([])) == (None, None, None)


@pytest.mark.parametrize("low, high, n1, n0, null, importers, switching, expected", [
    (0.1, 0.5, 100, 100, 1.0, (10, 10), None, SUPPORTED), (1.2, 2.0, 100, 100, 1.0, (10, 10), None, CONTRADICTED),
    (0.8, 1.1, 100, 100, 1.0, (10, 10), None, INCONCLUSIVE), (-2.0, -0.5, 30, 30, 0.0, (10, 10), None, SUPPORTED),
    (-2.0, -0.5, 29, 300, 0.0, (10, 10), None, INSUFFICIENT), (None, None, 100, 100, 1.0, (10, 10), None, INSUFFICIENT),
    (0.5, 0.5, 100, 100, 1.0, (10, 10), None, SUPPORTED), (-1.0, 0.0, 100, 100, 0.0, (10, 10), None, INCONCLUSIVE),
    (0.1, 0.5, 100, 100, 1.0, (9, 40), None, INSUFFICIENT),  # fewer than 10 importers on a side
    (0.1, 0.5, 100, 100, 1.0, (None, None), 9, INSUFFICIENT),  # within importer: fewer than 10 switching importers
    (0.1, 0.5, 100, 100, 1.0, (None, None), 10, SUPPORTED),
    (0.0, np.inf, 100, 100, 1.0, (10, 10), None, INCONCLUSIVE),  # one importer carries the evidence
])
def test_verdicts(low, high, n1, n0, null, importers, switching, expected):
    assert verdict(low, high, n1, n0, null, *importers, switching_importers=switching) == expected


def test_within_importer_ratio_is_the_same_whatever_the_blocks_and_row_order(monkeypatch):
    """The conditional Poisson and its jackknife sum over blocks of whole groups and of switching
    importers (memory holds one block at 100 M entries): tiny blocks, which split importers across
    row blocks, and shuffled rows give the same estimate, interval and counts."""
    import assets.scorecard.statistics as statistics

    cells = within_cells(np.random.default_rng(5))
    expected, expected_counts = within_importer_rate_ratio(cells)
    monkeypatch.setattr(statistics, "ROW_BLOCK", 37)
    monkeypatch.setattr(statistics, "SWITCHING_BLOCK", 3)
    for frame in (cells, cells.sample(fraction=1.0, shuffle=True, seed=3)):
        got, counts = within_importer_rate_ratio(frame)
        assert (got.effect, got.ci_low, got.ci_high) == pytest.approx(
            (expected.effect, expected.ci_low, expected.ci_high), rel=1e-12)
        assert got.importers == expected.importers
        assert {k: v for k, v in counts.items() if k != "crude"} == {
            k: v for k, v in expected_counts.items() if k != "crude"}


def test_medians_a_batch_of_months_at_a_time_equal_one_pass(monkeypatch):
    """The scorecard computes port x mode medians a batch of months at a time and pools ALL from
    every batch's sums: one month per batch gives what one pass over every month gives."""
    import duckdb

    import assets.scorecard.benefits as benefits
    from assets.scorecard.statistics import MIN_CELL, median_inputs, standardized_medians

    rng = np.random.default_rng(8)
    data = heterogeneous_importers(rng, 120, 12_000, 1.3)
    sample = data.select((pl.col("importer") + 1).alias("importer"), pl.col("stratum").alias("cell"), "certified",
                         "value", pl.Series("month", rng.integers(0, 4, data.height)))
    with duckdb.connect() as con:
        con.register("sample", sample)
        (cells, sides, per), = median_inputs(con, "sample", [(["month", "cell"], MIN_CELL)])
        month_of = cells["month"].to_numpy().astype(np.int64)
        n_importers = int(sample["importer"].max()) + 1
        by_month, pooled = standardized_medians(sides, per, [(month_of, 4), (np.zeros(len(month_of), np.int64), 1)],
                                                n_importers)
        monkeypatch.setattr(benefits, "MEDIAN_BATCH_VALUES", 1)
        assert benefits._month_batches(con, "sample", [0, 1, 2, 3]) == [(0, 0), (1, 1), (2, 2), (3, 3)]
        got_months, got_pooled, sides_of_month = benefits._month_cell_medians(
            con, "sample", ["month", "cell"], MIN_CELL, [0, 1, 2, 3], n_importers)
    for expected, got in ((by_month, got_months), (pooled, got_pooled)):
        for name in ("effect", "ci_low", "ci_high"):
            np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=1e-12)
        for name in ("importers", "certified_n", "uncertified_n", "certified_importers", "uncertified_importers",
                     "switching_importers"):
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
    assert sum(len(s.n) for s in sides_of_month) == len(sides.n)


def test_ahead_reads_on_the_callers_thread_and_keeps_the_order():
    """The scorecard reads the next month (DuckDB: on the connection's thread) while a second
    thread counts it and the caller adds up the current one: results come in the items' order."""
    import threading
    import time

    from assets.ahead import ahead

    caller = threading.get_ident()
    fetched, computed = [], []

    def fetch(item):
        fetched.append(threading.get_ident())
        return item

    def compute(item):
        time.sleep(0.01 * (5 - item))  # the first items take longest: order must not follow finishing time
        computed.append(threading.get_ident())
        return item * item

    assert list(ahead(list(range(5)), fetch, compute)) == [0, 1, 4, 9, 16]
    assert set(fetched) == {caller} and caller not in computed
    assert list(ahead([], fetch, compute)) == []
