"""Drift statistics against scipy and hand-computed cases."""

import warnings

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import anderson_ksamp, chi2_contingency, ks_2samp, wasserstein_distance

from assay.monitor import stats


def test_psi_and_jensen_shannon_by_hand():
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    assert stats.psi([500, 300, 200], [300, 300, 400]) == pytest.approx(np.sum((q - p) * np.log(q / p)))
    m = (p + q) / 2
    js = np.sqrt((np.sum(p * np.log2(p / m)) + np.sum(q * np.log2(q / m))) / 2)
    assert stats.jensen_shannon([500, 300, 200], [300, 300, 400]) == pytest.approx(js)
    assert stats.jensen_shannon([5, 3, 2], [3, 3, 4]) == pytest.approx(jensenshannon(p, q, base=2))
    assert stats.jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)  # disjoint
    assert stats.jensen_shannon([2, 3], [4, 6]) == pytest.approx(0.0, abs=1e-12)
    assert stats.total_variation([1, 1], [3, 1]) == pytest.approx(0.25)


def test_chi2_matches_scipy_and_drops_empty_bins():
    ref, cur = np.array([50, 30, 0, 20]), np.array([30, 30, 0, 40])
    statistic, pvalue = stats.chi2_test(ref, cur)
    expected = chi2_contingency(np.array([[50, 30, 20], [30, 30, 40]]))
    assert statistic == pytest.approx(expected[0]) and pvalue == pytest.approx(expected[1])
    assert stats.chi2_test([5, 0], [7, 0]) == (0.0, 1.0)


def test_sample_tests_match_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(0.3, 1.2, size=200)
    ks = ks_2samp(a, b)
    assert stats.ks_test(a, b) == (pytest.approx(ks.statistic), pytest.approx(ks.pvalue))
    assert stats.wasserstein(a, b, scale=False) == pytest.approx(wasserstein_distance(a, b))
    assert stats.wasserstein(a, b) == pytest.approx(wasserstein_distance(a, b) / np.std(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ad = anderson_ksamp([a, b])
    assert stats.anderson_test(a, b) == (pytest.approx(ad.statistic), pytest.approx(ad.pvalue))
    assert stats.wasserstein(np.ones(3), np.ones(4)) == 0.0
    assert np.isnan(stats.wasserstein(np.ones(3), np.array([1.0, 2.0])))


@pytest.mark.parametrize("n", [300, 12000])
def test_one_sort_ks_and_wasserstein_equal_scipy(n):
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=n), np.round(rng.normal(0.05, 1.1, size=n + 7), 2)  # ties too
    d, p, w = stats.ks_wasserstein(a, b, scale=False)
    ks = ks_2samp(a, b)
    assert d == pytest.approx(ks.statistic, rel=1e-12) and p == pytest.approx(ks.pvalue, rel=1e-8)
    assert w == pytest.approx(wasserstein_distance(a, b), rel=1e-10)
    assert stats.ks_wasserstein(a, b)[2] == pytest.approx(stats.wasserstein(a, b), rel=1e-10)


def test_wasserstein_by_hand():
    # all mass at 0 vs all at 2: distance 2
    assert stats.wasserstein(np.array([0.0, 0.0]), np.array([2.0]), scale=False) == 2.0


def test_binned_ks_and_wasserstein_are_exact_when_values_sit_on_edges():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 10, 400).astype(float), rng.integers(2, 12, 300).astype(float)
    edges = np.arange(0.5, 11.5)  # one integer per bin
    ca = np.bincount(np.searchsorted(edges, a), minlength=12)
    cb = np.bincount(np.searchsorted(edges, b), minlength=12)
    d, _ = stats.ks_from_counts(ca, cb)
    assert d == pytest.approx(ks_2samp(a, b).statistic)
    # every value at its bin's midpoint (outer bins [-0.5, 0.5] and [10.5, 11.5])
    w = stats.wasserstein_from_counts(edges, ca, cb, low=-0.5, high=11.5)
    assert w == pytest.approx(wasserstein_distance(a, b))


def test_adjust_pvalues_by_hand():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
    holm = stats.adjust_pvalues(p, "holm")  # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1
    np.testing.assert_allclose(holm[[4, 0, 2, 1]], [0.02, 0.03, 0.06, 0.06])
    assert np.isnan(holm[3])
    bh = stats.adjust_pvalues(p, "bh")  # 0.005*4/1, 0.01*4/2, 0.03*4/3, 0.04 -> step-up minimum
    np.testing.assert_allclose(bh[[4, 0, 2, 1]], [0.02, 0.02, 0.04, 0.04])
    np.testing.assert_allclose(stats.adjust_pvalues(p, "none")[[0, 1]], [0.01, 0.04])


def test_adjust_pvalues_match_statsmodels_formula_on_random_p():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=50) ** 3
    holm = stats.adjust_pvalues(p, "holm")
    order = np.argsort(p)
    expected = np.maximum.accumulate(np.minimum(1, (50 - np.arange(50)) * p[order]))
    np.testing.assert_allclose(holm[order], expected)
    bh = stats.adjust_pvalues(p, "bh")
    brute = [min(min(p[order][j] * 50 / (j + 1) for j in range(i, 50)), 1) for i in range(50)]
    np.testing.assert_allclose(bh[order], brute)
