"""MMD permutation test (uniform under no drift, power at a 0.2-sd shift) and the domain classifier."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kstest
from threadpoolctl import threadpool_limits

from assay.monitor import domain_classifier_test, mmd_test


def test_mmd_statistic_by_hand_on_a_tiny_case():
    ref = np.array([[0.0], [1.0]])
    cur = np.array([[3.0], [3.0]])
    result = mmd_test(ref, cur, bandwidth=1.0, n_permutations=10, random_state=0)
    z = (np.array([0, 1, 3, 3.0]) - 0.5) / 0.5  # standardised by the reference mean and sd
    k = np.exp(-(z[:, None] - z[None, :]) ** 2 / 2)
    a = np.array([0.5, 0.5, -0.5, -0.5])
    assert result.statistic == pytest.approx(a @ k @ a, rel=1e-5)
    assert 1 / 11 <= result.p_value <= 1


def test_mmd_p_values_are_uniform_without_drift():
    p = []
    for seed in range(80):
        rng = np.random.default_rng(seed)
        p.append(mmd_test(rng.normal(size=(40, 2)), rng.normal(size=(40, 2)), n_permutations=49,
                          random_state=seed).p_value)
    assert kstest(p, "uniform").pvalue > 0.01
    assert 0.02 < np.mean(np.array(p) <= 0.1) < 0.25


def test_mmd_detects_a_02_sd_mean_shift_at_n_5000():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(5000, 3))
    cur = rng.normal(size=(5000, 3))
    cur[:, 0] += 0.2
    result = mmd_test(ref, cur, random_state=0)
    assert result.n_reference == 2000 and result.p_value < 0.01
    same = mmd_test(ref, rng.normal(size=(5000, 3)), random_state=0)
    assert same.p_value > 0.01


def test_domain_classifier_finds_the_drifting_feature():
    rng = np.random.default_rng(1)
    n = 1500
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(list("xyz"), n)})
    cur = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(0.8, 1, size=n), "c": rng.choice(list("xyz"), n)})
    with threadpool_limits(1):  # the shared test machine: no OpenMP oversubscription
        result = domain_classifier_test(ref, cur, random_state=0)
        same = domain_classifier_test(ref, cur.assign(b=rng.normal(size=n)), random_state=0)
    assert result.auc > 0.65 and result.p_value < 1e-6
    assert result.importance.index[0] == "b"
    assert same.auc < 0.56 and same.p_value > 1e-3
