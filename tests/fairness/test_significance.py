"""Tests of gaps: two proportions, chi-square across groups, and the disparate-impact null."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import assay.fairness as af
from assay import UndefinedMetricWarning
from assay.fairness.significance import PROPORTIONS
from assay.metrics import METRICS, ConfusionStats

Z975 = 1.959963984540054  # Phi^-1(0.975)


def test_two_proportion_test_by_hand():
    result = af.two_proportion_test(30, 100, 20, 100)
    pooled = 50 / 200
    z = 0.1 / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert result.difference == pytest.approx(0.1, abs=1e-15)
    assert result.z == pytest.approx(z, rel=1e-12)
    assert z == pytest.approx(1.632993161855452, rel=1e-12)
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    wald = af.two_proportion_test(30, 100, 20, 100, ci_method="wald")
    se = math.sqrt(0.3 * 0.7 / 100 + 0.2 * 0.8 / 100)
    assert (wald.ci_lower, wald.ci_upper) == (pytest.approx(0.1 - Z975 * se, rel=1e-12),
                                              pytest.approx(0.1 + Z975 * se, rel=1e-12))
    assert wald.p_value == result.p_value
    assert json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize("counts,expected", [
    # Newcombe (1998), Table II, method 10 (score intervals, hybrid): published to 4 decimals.
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
])
def test_newcombe_interval_matches_published_values(counts, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # pooled 0: z undefined
        result = af.two_proportion_test(*counts)
    assert (round(result.ci_lower, 4), round(result.ci_upper, 4)) == expected


def test_degenerate_pooled_proportion_gives_nan_with_warning():
    with pytest.warns(UndefinedMetricWarning, match="pooled proportion is 0"):
        result = af.two_proportion_test(0, 10, 0, 20)
    assert math.isnan(result.z) and math.isnan(result.p_value)
    assert result.difference == 0.0


@pytest.mark.parametrize("counts", [(30, 100, 20, 100), (5, 17, 11, 19), (120, 400, 80, 390)])
def test_z_squared_is_the_uncorrected_chi_square(counts):
    x_a, n_a, x_b, n_b = counts
    result = af.two_proportion_test(*counts)
    chi2, p, dof, _ = stats.chi2_contingency([[x_a, n_a - x_a], [x_b, n_b - x_b]], correction=False)
    assert result.z ** 2 == pytest.approx(chi2, rel=1e-10)
    assert result.p_value == pytest.approx(p, rel=1e-10)
    assert dof == 1


def _data(seed, n=600, n_groups=4):
    rng = np.random.default_rng(seed)
    group = rng.choice([f"g{i}" for i in range(n_groups)], size=n)
    y_true = rng.integers(0, 2, size=n)
    y_pred = (rng.random(n) < np.where(group == "g0", 0.5, 0.3)).astype(int)
    return y_true, y_pred, group


@pytest.mark.parametrize("metric", sorted(PROPORTIONS))
def test_gap_test_counts_match_the_metric_formulas_and_scipy(metric):
    y_true, y_pred, group = _data(1)
    result = af.gap_test(y_true, y_pred, sensitive_features=group, metric=metric)
    table = result.by_group
    labels = list(table.index)
    codes = pd.Categorical(group, categories=labels).codes
    stats_ = ConfusionStats(labels).update(y_true, y_pred, codes)
    np.testing.assert_allclose(table["successes"] / table["trials"], METRICS[metric].function(stats_), rtol=1e-14)
    np.testing.assert_allclose(table["rate"], METRICS[metric].function(stats_), rtol=1e-14)
    observed = np.column_stack([table["successes"], table["trials"] - table["successes"]])
    chi2, p, dof, _ = stats.chi2_contingency(observed, correction=False)
    assert result.chi2 == pytest.approx(chi2, rel=1e-10)
    assert result.chi2_p_value == pytest.approx(p, rel=1e-10)
    assert result.chi2_dof == dof == 3
    # Default pair: highest vs lowest rate; the two-group numbers are two_proportion_test's.
    assert result.rate_a == table["rate"].max() and result.rate_b == table["rate"].min()
    a, b = table.loc[result.group_a], table.loc[result.group_b]
    expected = af.two_proportion_test(a["successes"], a["trials"], b["successes"], b["trials"])
    for field in ["difference", "z", "p_value", "ci_lower", "ci_upper"]:
        assert getattr(result, field) == pytest.approx(getattr(expected, field), rel=1e-12), field


def test_gap_test_chosen_groups_and_two_groups():
    y_true, y_pred, group = _data(2)
    result = af.gap_test(y_true, y_pred, sensitive_features=group, groups=("g1", "g0"), ci_method="wald")
    assert (result.group_a, result.group_b) == ("g1", "g0")
    assert result.difference < 0  # g0 is selected more
    two = np.where(group == "g0", "g0", "rest")
    result = af.gap_test(y_true, y_pred, sensitive_features=two)
    assert result.z ** 2 == pytest.approx(result.chi2, rel=1e-10)
    assert result.p_value == pytest.approx(result.chi2_p_value, rel=1e-10)
    assert result.ci_lower > 0  # a true gap of 0.2 with n = 600
    assert json.dumps(result.to_dict(), allow_nan=False)


def test_gap_test_drops_groups_without_a_denominator():
    y_true = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    y_pred = np.array([1, 0, 1, 0, 1, 1, 0, 1])
    group = np.array(["a", "a", "a", "a", "b", "b", "c", "c"])  # c has no positives
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = af.gap_test(y_true, y_pred, sensitive_features=group, metric="tpr")
    messages = [str(w.message) for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    assert any("'tpr'" in m and "'c'" in m for m in messages)
    assert any("leaves out group(s) 'c'" in m for m in messages)
    assert all(w.filename == __file__ for w in caught)  # attributed to the caller
    assert result.chi2_dof == 1
    assert {result.group_a, result.group_b} == {"a", "b"}


def _exact_di_p_value(k_priv, n_priv, k_other, n_other):
    """Exact permutation p-value of |log DI| from the hypergeometric distribution."""
    total_fav, total = k_priv + k_other, n_priv + n_other
    observed = abs(math.log((k_other / n_other) / (k_priv / n_priv)))
    support = np.arange(max(0, total_fav - n_other), min(total_fav, n_priv) + 1)
    pmf = stats.hypergeom.pmf(support, total, total_fav, n_priv)
    with np.errstate(divide="ignore"):
        di = ((total_fav - support) / n_other) / (support / n_priv)
        extreme = np.abs(np.log(di)) >= observed - 1e-12
    return float(pmf[extreme].sum())


def _two_groups(k_priv, n_priv, k_other, n_other):
    y_pred = np.r_[np.ones(k_priv), np.zeros(n_priv - k_priv), np.ones(k_other), np.zeros(n_other - k_other)]
    group = np.r_[np.full(n_priv, "p"), np.full(n_other, "u")]
    return y_pred.astype(int), group


def test_permutation_p_value_matches_the_exact_hypergeometric_test():
    y_pred, group = _two_groups(30, 100, 20, 100)
    result = af.disparate_impact_null(y_pred, sensitive_features=group, privileged_group="p",
                                      n_resamples=20000, random_state=0)
    exact = _exact_di_p_value(30, 100, 20, 100)
    assert 0.05 < exact < 0.3
    assert result.p_value == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 20000) + 1e-4)
    assert result.observed == pytest.approx((20 / 100) / (30 / 100), rel=1e-14)
    assert result.null_median == pytest.approx(1.0, abs=0.1)
    assert result.alternative == "two-sided"


def test_bootstrap_interval_agrees_with_the_delta_method():
    y_pred, group = _two_groups(600, 2000, 400, 2000)
    result = af.disparate_impact_null(y_pred, sensitive_features=group, privileged_group="p",
                                      n_resamples=4000, random_state=1)
    se = math.sqrt((1 - 0.3) / 600 + (1 - 0.2) / 400)  # of log DI
    di = 0.2 / 0.3
    assert result.ci_lower == pytest.approx(di * math.exp(-Z975 * se), rel=0.02)
    assert result.ci_upper == pytest.approx(di * math.exp(Z975 * se), rel=0.02)
    # A big true gap: far outside the null, p at its floor.
    assert result.p_value < 0.01
    assert result.ci_upper < result.null_lower


def test_p_values_under_random_assignment_are_roughly_uniform():
    rng = np.random.default_rng(2024)
    p_values = []
    for _ in range(200):
        y_pred = (rng.random(300) < 0.3).astype(int)
        group = rng.choice(["p", "u"], size=300)
        result = af.disparate_impact_null(y_pred, sensitive_features=group, privileged_group="p",
                                          n_resamples=199, random_state=rng)
        p_values.append(result.p_value)
    p_values = np.array(p_values)
    assert 0.0 <= (p_values <= 0.05).mean() <= 0.1
    assert 0.35 <= (p_values <= 0.5).mean() <= 0.65
    assert stats.kstest(p_values, "uniform").pvalue > 0.001


def test_parity_ratio_null_across_many_groups_and_reproducibility():
    y_true, y_pred, group = _data(3, n=2000)
    first = af.disparate_impact_null(y_pred, sensitive_features=group, n_resamples=500, random_state=7)
    again = af.disparate_impact_null(y_pred, sensitive_features=group, n_resamples=500, random_state=7)
    assert first.to_dict() == again.to_dict()
    assert first.statistic == "demographic_parity_ratio" and first.alternative == "less"
    rates = first.by_group["selection_rate"]
    assert first.observed == pytest.approx(rates.min() / rates.max(), rel=1e-14)
    assert first.p_value < 0.01  # g0 is selected at 0.5, the others at 0.3
    assert first.ci_lower <= first.observed <= first.ci_upper
    # No real gap: the observed ratio sits inside the null distribution.
    fair = (np.random.default_rng(5).random(2000) < 0.3).astype(int)
    result = af.disparate_impact_null(fair, sensitive_features=group, n_resamples=500, random_state=7)
    assert result.p_value > 0.01
    assert result.null_lower < result.observed
    assert json.dumps(result.to_dict(), allow_nan=False)
