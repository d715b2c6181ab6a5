"""The scorecard's statistics against textbook examples, identities and simulation."""

import numpy as np
import polars as pl
import pytest

from assets.scorecard.statistics import (INCONCLUSIVE, INSUFFICIENT, SUPPORTED, CONTRADICTED, bootstrap_medians,
                                         crude_rr, mantel_haenszel_rr, mean_with_ci, median_difference,
                                         standardized_median_difference, verdict)

# University Group Diabetes Program, tolbutamide vs placebo, deaths by age (<55, 55+):
# Rothman, Greenland & Lash, Modern Epidemiology (3rd ed.), the textbook confounding example:
# crude risk ratio 1.44, Mantel-Haenszel (age-adjusted) risk ratio 1.33.
UGDP = pl.DataFrame({"age": ["<55", "55+"], "a": [8, 22], "n1": [106, 98], "c": [5, 16], "n0": [120, 85]})


def test_mantel_haenszel_textbook_example():
    mh = mantel_haenszel_rr(UGDP.with_columns(pl.lit("all").alias("g")), ["g"]).row(0, named=True)
    assert round(mh["rr"], 2) == 1.33
    crude = crude_rr(UGDP.select(pl.col("a", "n1", "c", "n0").sum())).row(0, named=True)
    assert round(crude["crude_rr"], 2) == 1.44
    # The Greenland-Robins interval, by hand from the published formula:
    r = 8 * 120 / 226 + 22 * 85 / 183
    s = 5 * 106 / 226 + 16 * 98 / 183
    v = (106 * 120 * 13 - 8 * 5 * 226) / 226**2 + (98 * 85 * 38 - 22 * 16 * 183) / 183**2
    se = np.sqrt(v / (r * s))
    assert mh["ci_low"] == pytest.approx(np.exp(np.log(r / s) - 1.959963984540054 * se), rel=1e-12)
    assert (round(mh["ci_low"], 2), round(mh["ci_high"], 2)) == (0.80, 2.20)


def test_one_stratum_reduces_to_the_katz_interval():
    """With a single stratum the Greenland-Robins variance equals Katz's 1/a - 1/n1 + 1/c - 1/n0."""
    table = pl.DataFrame({"g": ["x"], "a": [20], "n1": [30], "c": [15], "n0": [40]})
    mh = mantel_haenszel_rr(table, ["g"]).row(0, named=True)
    crude = crude_rr(table).row(0, named=True)
    assert mh["rr"] == pytest.approx(crude["crude_rr"], rel=1e-12)
    assert (mh["ci_low"], mh["ci_high"]) == pytest.approx((crude["crude_ci_low"], crude["crude_ci_high"]), rel=1e-12)


def test_strata_with_one_side_only_add_nothing_and_no_cases_give_no_estimate():
    table = pl.DataFrame({"g": ["x", "x", "y"], "a": [3, 9, 0], "n1": [50, 0, 40], "c": [6, 0, 0], "n0": [50, 70, 30]})
    got = {r["g"]: r for r in mantel_haenszel_rr(table, ["g"]).iter_rows(named=True)}
    assert got["x"]["rr"] == pytest.approx(0.5)
    assert got["y"]["rr"] is None and got["y"]["ci_low"] is None


def test_mantel_haenszel_interval_covers_the_truth_95_percent_of_the_time():
    """500 simulated studies, 6 strata whose exposure share and baseline risk differ (confounding),
    a common true risk ratio of 0.25: the 95 % interval covers 0.25 in about 95 % of them."""
    rng = np.random.default_rng(7)
    reps, true_rr = 500, 0.25
    base = np.array([0.30, 0.25, 0.12, 0.05, 0.03, 0.02])
    share = np.array([0.1, 0.2, 0.4, 0.6, 0.7, 0.8])
    size = np.array([400, 600, 800, 900, 1000, 1200])
    n1 = rng.binomial(np.tile(size, (reps, 1)), share)
    n0 = np.tile(size, (reps, 1)) - n1
    a = rng.binomial(n1, base * true_rr)
    c = rng.binomial(n0, base)
    strata = pl.DataFrame({"rep": np.repeat(np.arange(reps), len(base)), "a": a.ravel(), "n1": n1.ravel(),
                           "c": c.ravel(), "n0": n0.ravel()})
    mh = mantel_haenszel_rr(strata, ["rep"])
    coverage = ((mh["ci_low"] <= true_rr) & (true_rr <= mh["ci_high"])).mean()
    assert 0.93 <= coverage <= 0.97
    crude = crude_rr(strata.group_by("rep").agg(pl.col("a", "n1", "c", "n0").sum()))
    assert crude["crude_rr"].median() < 0.2  # confounded: the crude ratio overstates the benefit


def test_windowed_bootstrap_equals_a_brute_force_bootstrap_in_distribution():
    rng = np.random.default_rng(3)
    values = rng.lognormal(1.0, 0.8, 1500)
    strata = rng.integers(0, 4, 1500)
    fast = bootstrap_medians(values, strata, 4000, np.random.default_rng(1))
    brute = np.array([np.median(np.concatenate([rng.choice(values[strata == k], (strata == k).sum()) for k in range(4)]))
                      for _ in range(4000)])
    assert np.quantile(fast, [0.025, 0.5, 0.975]) == pytest.approx(np.quantile(brute, [0.025, 0.5, 0.975]), rel=0.02)
    assert fast.std() == pytest.approx(brute.std(), rel=0.1)


def test_window_equals_the_full_sort_by_value_then_stratum():
    """The bootstrap's window (found by partition) is exactly the slice of the full sort, ties
    included: heavy ties on values, strata not in order, windows at the edges and in the middle."""
    from assets.scorecard.statistics import _window

    rng = np.random.default_rng(11)
    values = rng.integers(0, 40, 5000).astype(float)  # every value tied about 125 times
    strata = rng.choice(np.array([7, 3, 12, 5]), 5000)
    order = np.lexsort((strata, values))
    codes = np.unique(strata)
    for lo, hi in [(0, 1), (0, 5000), (2400, 2601), (4990, 5000), (1234, 1300)]:
        window, window_strata, sizes, n_below = _window(values, strata, lo, hi)
        assert np.array_equal(window, values[order[lo:hi]])
        assert np.array_equal(codes[window_strata], strata[order[lo:hi]])
        assert np.array_equal(sizes, [(strata == c).sum() for c in codes])
        assert np.array_equal(n_below, [(strata[order[:lo]] == c).sum() for c in codes])


def test_bootstrap_is_exact_for_an_even_count_and_seeded():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    medians = bootstrap_medians(values, np.zeros(4), 2000, np.random.default_rng(5))
    assert set(np.unique(medians)) <= {1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0}
    again = bootstrap_medians(values, np.zeros(4), 2000, np.random.default_rng(5))
    assert (medians == again).all()


def test_median_difference_interval_covers_the_truth():
    """300 simulated pairs of samples with medians 3.0 and 1.8 hours: coverage near 95 %."""
    rng = np.random.default_rng(11)
    covered = 0
    for rep in range(300):  # simulated data sets, each bootstrapped in one vectorised call
        c = pl.DataFrame({"value": rng.lognormal(np.log(1.8), 0.8, 250), "stratum": rng.integers(0, 3, 250)})
        u = pl.DataFrame({"value": rng.lognormal(np.log(3.0), 0.8, 400), "stratum": rng.integers(0, 3, 400)})
        _, low, high = median_difference(c, u, 1000, rep)
        covered += low <= -1.2 <= high
    assert 0.91 <= covered / 300 <= 0.985


def test_standardized_difference_removes_confounding_by_mix():
    """Within each cell certified traffic is 20 % faster; certified traffic sits mostly in the slow
    cell. The crude difference of medians points the wrong way; the standardized one does not."""
    rng = np.random.default_rng(2)
    rows = []
    for cell, median, n_cert, n_unc in (("sea", 30.0, 900, 200), ("truck", 2.0, 100, 800)):
        rows.append(pl.DataFrame({"cell": cell, "certified": True, "value": rng.lognormal(np.log(median * 0.8), 0.3, n_cert)}))
        rows.append(pl.DataFrame({"cell": cell, "certified": False, "value": rng.lognormal(np.log(median), 0.3, n_unc)}))
    frame = pl.concat(rows)
    effect, low, high = standardized_median_difference(frame, 1000, 1)
    truth = (900 * (24.0 - 30.0) + 100 * (1.6 - 2.0)) / 1000
    assert low <= truth <= high and high < 0
    crude = frame.filter("certified")["value"].median() - frame.filter(~pl.col("certified"))["value"].median()
    assert crude > 0


def test_mean_with_ci():
    mean, low, high = mean_with_ci(np.array([-5.0, -3.0, -4.0, -6.0]))
    assert mean == -4.5
    assert high - mean == pytest.approx(1.959963984540054 * np.std([-5, -3, -4, -6], ddof=1) / 2)
    assert mean_with_ci(np.array([])) == (None, None, None)


@pytest.mark.parametrize("low, high, n1, n0, null, expected", [
    (0.1, 0.5, 100, 100, 1.0, SUPPORTED), (1.2, 2.0, 100, 100, 1.0, CONTRADICTED), (0.8, 1.1, 100, 100, 1.0, INCONCLUSIVE),
    (-2.0, -0.5, 30, 30, 0.0, SUPPORTED), (-2.0, -0.5, 29, 300, 0.0, INSUFFICIENT), (None, None, 100, 100, 1.0, INSUFFICIENT),
    (0.5, 0.5, 100, 100, 1.0, SUPPORTED), (-1.0, 0.0, 100, 100, 0.0, INCONCLUSIVE),
])
def test_verdicts(low, high, n1, n0, null, expected):
    assert verdict(low, high, n1, n0, null) == expected
