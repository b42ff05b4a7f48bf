"""DP primitives: noise scales match theory, the analytic Gaussian sigma meets its privacy profile,
randomized response is unbiased, and private group metrics equal the grouped table without noise."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from assay import AssayInputError
from assay.metrics import evaluate_groups
from assay.privacy import (
    gaussian_mechanism,
    gaussian_sigma,
    laplace_mechanism,
    laplace_scale,
    private_group_metrics,
    randomized_response,
    randomized_response_estimate,
)


def test_laplace_noise_scale_matches_theory():
    noisy = laplace_mechanism(np.full(200_000, 3.0), sensitivity=2.0, epsilon=0.5, random_state=0)
    b = laplace_scale(2.0, 0.5)
    assert b == 4.0
    assert noisy.mean() == pytest.approx(3.0, abs=0.05)
    assert noisy.std() == pytest.approx(math.sqrt(2) * b, rel=0.01)
    assert np.median(np.abs(noisy - 3.0)) == pytest.approx(b * math.log(2), rel=0.02)
    assert np.array_equal(laplace_mechanism([1.0, 2.0], sensitivity=1, epsilon=1, random_state=7),
                          laplace_mechanism([1.0, 2.0], sensitivity=1, epsilon=1, random_state=7))
    assert laplace_mechanism(5.0, sensitivity=1, epsilon=1, random_state=0).shape == ()


def _delta_by_integration(sigma, sensitivity, epsilon):
    """delta(eps) = E[(1 - exp(eps - L))_+] with the privacy loss L ~ N(mu^2 / 2, mu^2), mu = D / sigma."""
    mu = sensitivity / sigma
    loss = stats.norm(mu ** 2 / 2, mu)
    value, _ = integrate.quad(lambda x: (1 - math.exp(epsilon - x)) * loss.pdf(x), epsilon, np.inf, epsabs=1e-13)
    return value


@pytest.mark.parametrize("epsilon, delta", [(0.5, 1e-5), (1.0, 1e-6), (4.0, 1e-5), (0.1, 1e-3)])
def test_analytic_gaussian_sigma_is_the_smallest_that_meets_delta(epsilon, delta):
    sigma = gaussian_sigma(2.0, epsilon, delta)
    assert _delta_by_integration(sigma, 2.0, epsilon) == pytest.approx(delta, rel=1e-4)
    assert _delta_by_integration(0.99 * sigma, 2.0, epsilon) > delta
    if epsilon < 1:
        classic = gaussian_sigma(2.0, epsilon, delta, method="classic")
        assert classic == pytest.approx(2.0 * math.sqrt(2 * math.log(1.25 / delta)) / epsilon)
        assert sigma < classic


def test_gaussian_noise_scale_matches_theory():
    sigma = gaussian_sigma(1.0, 0.5, 1e-5)
    noisy = gaussian_mechanism(np.zeros(200_000), sensitivity=1.0, epsilon=0.5, delta=1e-5, random_state=1)
    assert noisy.std() == pytest.approx(sigma, rel=0.01) and abs(noisy.mean()) < 0.05


@pytest.mark.parametrize("epsilon", [0.5, 2.0])
def test_randomized_response_keeps_with_the_stated_probability_and_is_unbiased(epsilon):
    truth = np.repeat(np.array(["a", "b", "c", "d"]), [5000, 3000, 1500, 500])
    shares = np.array([0.5, 0.3, 0.15, 0.05])
    p = math.exp(epsilon) / (math.exp(epsilon) + 3)
    estimates, errors = [], []
    for seed in range(40):
        responses = randomized_response(truth, epsilon=epsilon, categories=list("abcd"), random_state=seed)
        if seed == 0:
            assert np.mean(responses == truth) == pytest.approx(p, abs=0.015)
        est = randomized_response_estimate(responses, epsilon=epsilon, categories=list("abcd"))
        estimates.append(est.table["estimate"].to_numpy())
        errors.append(est.table["std_error"].to_numpy())
        assert est.table["estimate"].sum() == pytest.approx(1.0)
    estimates = np.array(estimates)
    mean_se = np.mean(errors, axis=0)
    # unbiased: the mean of 40 estimates is within 4 standard errors of the mean of the truth
    assert np.all(np.abs(estimates.mean(axis=0) - shares) < 4 * mean_se / math.sqrt(40))
    assert estimates.std(axis=0, ddof=1) == pytest.approx(mean_se, rel=0.35)  # the stated error is the spread


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["a", "b", "c"], n, p=[.6, .3, .1])})
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    return y, pred, sf


def test_private_group_metrics_without_noise_equal_the_grouped_table():
    y, pred, sf = _data()
    private = private_group_metrics(y, pred, sensitive_features=sf, epsilon=1e9, random_state=0)
    reference = evaluate_groups(y, pred, sensitive_features=sf, metrics=["selection_rate", "tpr", "fpr", "accuracy"])
    for (feature, group), row in reference.by_group.iterrows():
        for metric in ("selection_rate", "tpr", "fpr", "accuracy"):
            assert private.table.loc[(feature, group), metric] == pytest.approx(row[metric], abs=1e-6)
    assert private.table.loc[("overall", "overall"), "count"] == pytest.approx(len(y), abs=1e-3)
    assert private.cells == 6 and private.noise_scale == pytest.approx(1e-9)


@pytest.mark.parametrize("mechanism, delta", [("laplace", None), ("gaussian", 1e-6)])
def test_private_counts_have_the_stated_noise_and_the_bars_cover(mechanism, delta):
    y, pred, sf = _data(seed=1)
    exact = evaluate_groups(y, pred, sensitive_features=sf, metrics=["tpr"]).by_group
    counts, covered = [], 0
    for seed in range(100):
        r = private_group_metrics(y, pred, sensitive_features=sf, epsilon=0.5, delta=delta, mechanism=mechanism,
                                  metrics=["tpr"], n_draws=200, random_state=seed)
        counts.append(r.table.loc[("sex x race", "F x c"), "count"])
        low, high = r.table.loc[("sex x race", "F x c"), ["tpr_lower", "tpr_upper"]]
        covered += low <= exact.loc[("sex x race", "F x c"), "tpr"] <= high
    sd = r.table.loc[("sex x race", "F x c"), "count_sd"]
    expected_sd = 2 * (math.sqrt(2) / 0.5 if mechanism == "laplace" else gaussian_sigma(1, 0.5, delta))
    assert sd == pytest.approx(expected_sd)  # one cell, four outcome counts
    assert np.std(counts, ddof=1) == pytest.approx(sd, rel=0.2)
    assert np.mean(counts) == pytest.approx(((sf["sex"] == "F") & (sf["race"] == "c")).sum(), abs=3 * sd / 10)
    assert covered >= 88  # nominal 95%


def test_error_bars_in_chunks_equal_one_draw(monkeypatch):
    from assay.privacy import mechanisms

    y, pred, sf = _data()
    whole = private_group_metrics(y, pred, sensitive_features=sf, epsilon=1.0, n_draws=50, random_state=5)
    table = whole.table
    assert (table["tpr_lower"] <= table["tpr"]).all() and (table["tpr"] <= table["tpr_upper"]).all()
    monkeypatch.setattr(mechanisms, "_DRAW_BLOCK", 4 * 6 * 7)  # 7 draws per chunk
    assert private_group_metrics(y, pred, sensitive_features=sf, epsilon=1.0, n_draws=50, random_state=5) == whole


def test_private_group_metrics_are_seeded():
    y, pred, sf = _data()
    a = private_group_metrics(y, pred, sensitive_features=sf["sex"], epsilon=1.0, random_state=3)
    b = private_group_metrics(y, pred, sensitive_features=sf["sex"], epsilon=1.0, random_state=3)
    assert a == b and list(a.table.index) == [("overall", "overall"), ("sex", "F"), ("sex", "M")]


@pytest.mark.parametrize("call, words", [
    (lambda: laplace_mechanism([1.0], sensitivity=1, epsilon=0), ["'epsilon'", "laplace_mechanism", "(0, inf)"]),
    (lambda: laplace_mechanism([1.0], sensitivity=1, epsilon=-1), ["'epsilon'"]),
    (lambda: laplace_mechanism([1.0], sensitivity=0, epsilon=1), ["'sensitivity'"]),
    (lambda: gaussian_sigma(1, 0.5, 0), ["'delta'", "gaussian_sigma"]),
    (lambda: gaussian_sigma(1, 0.5, 1.0), ["'delta'"]),
    (lambda: gaussian_sigma(1, 2.0, 1e-5, method="classic"), ["'epsilon'", "epsilon < 1", "analytic"]),
    (lambda: randomized_response(["a", "b"], epsilon=0.0), ["'epsilon'", "randomized_response"]),
    (lambda: randomized_response(["a", "z"], epsilon=1.0, categories=["a", "b"]), ["'values'", "'z'"]),
    (lambda: private_group_metrics([0, 1], [0, 1], sensitive_features=["a", "b"], epsilon=-1), ["'epsilon'"]),
    (lambda: private_group_metrics([0, 1], [0, 1], sensitive_features=["a", "b"], epsilon=1, mechanism="gaussian"),
     ["'delta'", "gaussian"]),
    (lambda: private_group_metrics([0, 2], [0, 1], sensitive_features=["a", "b"], epsilon=1), ["'y_true'", "0/1"]),
    (lambda: private_group_metrics([0, 1], [0, 1], sensitive_features=["a", "b"], epsilon=1, metrics=["auc"]),
     ["'metrics'", "selection_rate"]),
    (lambda: private_group_metrics([0, 1, 1], [0, 1], sensitive_features=["a", "b", "c"], epsilon=1),
     ["y_true", "y_pred"]),
    (lambda: private_group_metrics([0, 1], [0, 1], sensitive_features=pd.Series(["a", None], name="g"), epsilon=1),
     ["'sensitive_features'", "'g'", "missing"]),
    (lambda: private_group_metrics(np.zeros(400, int), np.zeros(400, int), epsilon=1,
                                   sensitive_features={"a": np.arange(400), "b": np.arange(400) % 300}),
     ["'sensitive_features'", "120,000", "coarser"]),
    (lambda: randomized_response(np.array(["a", None], dtype=object), epsilon=1.0), ["'values'", "missing"]),
])
def test_bad_inputs(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value), str(info.value)
