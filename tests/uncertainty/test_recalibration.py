"""Recalibration estimators: equal to their references, valid, and better calibrated where they should be."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from assay import AssayInputError
from assay.metrics import expected_calibration_error
from assay.testing import check_component
from assay.uncertainty import (HistogramBinning, IsotonicCalibration, MatrixScaling, PlattScaling,
                               TemperatureScaling, VectorScaling)
from assay.uncertainty.recalibration import UnseenGroupWarning

ALL = (TemperatureScaling, VectorScaling, MatrixScaling, PlattScaling, IsotonicCalibration, HistogramBinning)


def overconfident(n=3000, k=4, scale=3.0, seed=0):
    """Logits of a model that is right about 60% of the time but multiplies its logits by ``scale``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    z = rng.normal(size=(n, k))
    z[np.arange(n), y] += 1.5
    return z * scale, y


def nll(p, y):
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_conformance(cls):
    check_component(cls())


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_valid_probabilities_and_better_calibrated(cls):
    z, y = overconfident()
    z_test, y_test = overconfident(seed=1)
    before = softmax(z_test, axis=1)
    p = cls().fit(z, y).predict_proba(z_test)
    assert p.shape == z_test.shape and (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert expected_calibration_error(y_test, p) < 0.5 * expected_calibration_error(y_test, before)
    if cls.parametric:  # isotonic and binning may give probability 0 to a true class: NLL is not theirs
        assert nll(p, y_test) < nll(before, y_test)


def test_temperature_equals_a_direct_scipy_fit_and_keeps_the_argmax():
    z, y = overconfident()
    fitted = TemperatureScaling().fit(z, y)
    direct = minimize_scalar(lambda t: log_loss(y, softmax(z / t, axis=1), labels=range(4)), bounds=(0.05, 20),
                             method="bounded", options={"xatol": 1e-9})
    assert fitted.temperature_ == pytest.approx(direct.x, rel=1e-4)
    assert fitted.temperature_ > 1.5  # the logits were multiplied by 3
    p = fitted.predict_proba(z)
    np.testing.assert_allclose(p, softmax(z / fitted.temperature_, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(p.argmax(axis=1), z.argmax(axis=1))


def test_temperature_on_a_separable_calibration_set_is_refused_with_a_warning():
    # Every row right: the NLL falls monotonically as T -> 0 (no minimiser); fitting it would make
    # every test prediction certain. One wrong row restores a finite optimum.
    z, y = overconfident()
    right = z.argmax(axis=1) == y
    from assay.core.errors import UndefinedMetricWarning

    with pytest.warns(UndefinedMetricWarning, match="all .* rows are classified correctly"):
        fitted = TemperatureScaling().fit(z[right], y[right])
    assert fitted.temperature_ == 1.0
    np.testing.assert_allclose(fitted.predict_proba(z), softmax(z, axis=1))
    ts = np.linspace(0.01, 1, 50)
    losses = [log_loss(y[right], softmax(z[right] / t, axis=1), labels=range(4)) for t in ts]
    assert np.all(np.diff(losses) > 0)  # the premise: monotone in T
    one_wrong = np.flatnonzero(right)[:200].tolist() + [int(np.flatnonzero(~right)[0])]
    assert TemperatureScaling().fit(z[one_wrong], y[one_wrong]).temperature_ != 1.0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pyro, inside netcal
def test_temperature_equals_netcal():
    netcal = pytest.importorskip("netcal.scaling")
    z, y = overconfident()
    proba = softmax(z, axis=1)
    ours = TemperatureScaling(scores="probabilities").fit(proba, y)
    theirs = netcal.TemperatureScaling().fit(proba, y)
    assert ours.temperature_ == pytest.approx(1.0 / float(np.ravel(theirs.weights)[0]), rel=1e-4)
    np.testing.assert_allclose(ours.predict_proba(proba), theirs.transform(proba), atol=1e-5)


def test_probabilities_are_read_as_their_logarithm_and_one_column_as_binary():
    z, y = overconfident()
    from_logits = TemperatureScaling().fit(z, y)
    from_proba = TemperatureScaling(scores="probabilities").fit(softmax(z, axis=1), y)
    assert from_proba.temperature_ == pytest.approx(from_logits.temperature_, rel=1e-9)
    d = z[:, 1] - z[:, 0]
    yb = (y == 1).astype(int)
    one = TemperatureScaling().fit(d, yb)
    two = TemperatureScaling().fit(np.column_stack([-d / 2, d / 2]), yb)
    assert one.temperature_ == two.temperature_
    p1 = 1 / (1 + np.exp(-d))
    np.testing.assert_allclose(TemperatureScaling(scores="probabilities").fit(p1, yb).predict_proba(p1),
                               one.predict_proba(d), atol=1e-9)


def test_logits_that_look_like_probabilities_warn():
    z, y = overconfident(n=200)
    with pytest.warns(UserWarning, match="scores='probabilities'"):
        TemperatureScaling().fit(softmax(z, axis=1), y)


def test_nested_scalings_fit_the_calibration_data_at_least_as_well():
    z, y = overconfident(k=5)
    losses = [nll(cls().fit(z, y).predict_proba(z), y) for cls in (TemperatureScaling, VectorScaling, MatrixScaling)]
    assert losses[0] >= losses[1] - 1e-9 >= losses[2] - 2e-9


def test_matrix_scaling_odir_penalises_off_diagonal_entries_and_intercepts():
    z, y = overconfident(k=4)
    plain = MatrixScaling().fit(z, y)
    off = ~np.eye(4, dtype=bool)
    assert np.abs(plain.coef_[off]).max() > 0.01
    # a huge off-diagonal penalty and none on the intercepts: vector scaling
    odir = MatrixScaling(reg_lambda=1e7).fit(z, y)
    vector = VectorScaling().fit(z, y)
    assert np.abs(odir.coef_[off]).max() < 1e-4
    np.testing.assert_allclose(np.diag(odir.coef_), vector.weights_, atol=2e-3)
    np.testing.assert_allclose(odir.predict_proba(z), vector.predict_proba(z), atol=2e-3)
    # the intercept penalty shrinks the intercepts
    both = MatrixScaling(reg_lambda=1e7, reg_mu=1e7).fit(z, y)
    assert np.abs(both.intercept_).max() < 1e-4 < np.abs(odir.intercept_).max()


def test_platt_equals_logistic_regression_on_the_logit():
    z, y = overconfident(k=2, n=2000)
    d = z[:, 1] - z[:, 0]
    platt = PlattScaling().fit(z, y)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(d[:, None], y)
    assert platt.coef_[0] == pytest.approx(reference.coef_[0, 0], rel=1e-5)
    assert platt.intercept_[0] == pytest.approx(reference.intercept_[0], abs=1e-5)
    np.testing.assert_allclose(platt.predict_proba(z), reference.predict_proba(d[:, None]), atol=1e-6)


def test_platt_multiclass_is_one_vs_rest_renormalised():
    z, y = overconfident(k=3, n=1500)
    logp = log_softmax(z, axis=1)
    s = logp - np.log(-np.expm1(logp))
    columns = []
    for c in range(3):
        lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(s[:, [c]], (y == c).astype(int))
        columns.append(lr.predict_proba(s[:, [c]])[:, 1])
    q = np.column_stack(columns)
    np.testing.assert_allclose(PlattScaling().fit(z, y).predict_proba(z), q / q.sum(axis=1, keepdims=True), atol=1e-6)


def test_isotonic_equals_sklearn_isotonic_regression():
    z, y = overconfident(k=2, n=1500)
    z_test, _ = overconfident(k=2, n=500, seed=1)
    p, p_test = softmax(z, axis=1)[:, 1], softmax(z_test, axis=1)[:, 1]
    reference = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(p, y).predict(p_test)
    ours = IsotonicCalibration().fit(z, y).predict_proba(z_test)
    np.testing.assert_allclose(ours[:, 1], reference, atol=1e-12)
    np.testing.assert_allclose(ours[:, 0], 1 - reference, atol=1e-12)
    # multiclass: one-vs-rest, renormalised
    z, y = overconfident(k=3, n=1500)
    p = softmax(z, axis=1)
    q = np.column_stack([IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(p[:, c], y == c).predict(
        p[:, c]) for c in range(3)])
    expected = np.where(q.sum(1, keepdims=True) > 0, q / np.where(q.sum(1, keepdims=True) > 0,
                                                                   q.sum(1, keepdims=True), 1), 1 / 3)
    np.testing.assert_allclose(IsotonicCalibration().fit(z, y).predict_proba(z), expected, atol=1e-12)


def test_histogram_binning_by_hand():
    # P(class 1): 0.1, 0.15, 0.45 (bin 0 and 1 of two bins), 0.9, 0.95 (bin 1); labels 0, 1, 1, 1, 0
    p1 = np.array([0.1, 0.15, 0.45, 0.9, 0.95])
    y = np.array([0, 1, 1, 1, 0])
    hb = HistogramBinning(n_bins=2, scores="probabilities").fit(p1, y)
    np.testing.assert_allclose(hb.bin_values_, [[2 / 3, 1 / 2]])
    out = hb.predict_proba(np.array([0.3, 0.5, 0.51, 1.0]))
    np.testing.assert_allclose(out[:, 1], [2 / 3, 2 / 3, 1 / 2, 1 / 2])
    # an empty bin leaves the probability unchanged
    hb = HistogramBinning(n_bins=4, scores="probabilities").fit(p1, y)
    np.testing.assert_allclose(hb.predict_proba(np.array([0.6]))[:, 1], [0.6])


def _groups(n, seed=2):
    rng = np.random.default_rng(seed)
    return rng.choice(["a", "b", "c"], n, p=[0.6, 0.37, 0.03])


def test_per_group_temperature_is_blended_in_log_space_by_group_size():
    z, y = overconfident()
    group = _groups(len(y))
    z[group == "b"] /= 3  # group b's logits are not over-confident
    per_group = TemperatureScaling(per_group=True, min_group_size=50).fit(z, y, sensitive_features=group)
    pooled = TemperatureScaling().fit(z, y).temperature_
    assert per_group.temperature_ == pooled
    for g in ("a", "b", "c"):
        rows = group == g
        own = TemperatureScaling().fit(z[rows], y[rows]).temperature_
        w = rows.sum() / (rows.sum() + 50)
        expected = np.exp(w * np.log(own) + (1 - w) * np.log(pooled))
        assert per_group.group_temperature_[g] == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(per_group.predict_proba(z[rows], sensitive_features=group[rows]),
                                   softmax(z[rows] / expected, axis=1), rtol=1e-12)
    assert per_group.group_temperature_["b"] < 1.5 < per_group.group_temperature_["a"]
    # unseen groups get the pooled fit, with a warning
    with pytest.warns(UnseenGroupWarning, match="'?d'?"):
        out = per_group.predict_proba(z[:3], sensitive_features=np.array(["d", "d", "a"]))
    np.testing.assert_allclose(out[:2], softmax(z[:2] / pooled, axis=1), rtol=1e-12)


def test_per_group_isotonic_blends_probabilities():
    z, y = overconfident(k=2)
    group = _groups(len(y))
    fitted = IsotonicCalibration(per_group=True, min_group_size=100).fit(z, y, sensitive_features=group)
    pooled = IsotonicCalibration().fit(z, y)
    for g in ("a", "c"):
        rows = group == g
        own = IsotonicCalibration().fit(z[rows], y[rows]).predict_proba(z[rows])
        w = rows.sum() / (rows.sum() + 100)
        np.testing.assert_allclose(fitted.predict_proba(z[rows], sensitive_features=group[rows]),
                                   w * own + (1 - w) * pooled.predict_proba(z[rows]), atol=1e-12)
    assert fitted.groups_.loc[("c",), "weight"].item() < 0.6  # a small group leans on the pooled fit


def test_per_group_over_two_features_and_bad_inputs():
    z, y = overconfident(n=600)
    rng = np.random.default_rng(0)
    sf = {"sex": rng.choice(["F", "M"], 600), "age": rng.choice(["<40", "40+"], 600)}
    fitted = VectorScaling(per_group=True).fit(z, y, sensitive_features=sf)
    assert list(fitted.groups_["group"]) == ["F x 40+", "F x <40", "M x 40+", "M x <40"]
    out = fitted.predict_proba(z, sensitive_features=sf)
    np.testing.assert_allclose(out.sum(axis=1), 1)
    with pytest.raises(AssayInputError, match="sensitive_features"):
        VectorScaling(per_group=True).fit(z, y)
    with pytest.raises(AssayInputError, match="sensitive_features"):
        fitted.predict_proba(z)
    with pytest.raises(AssayInputError, match="columns of fit"):
        fitted.predict_proba(z, sensitive_features={"sex": sf["sex"]})
    with pytest.raises(AssayInputError, match="y_score"):
        TemperatureScaling().fit(z, y).predict_proba(z[:, :3])
    with pytest.raises(AssayInputError, match="y_true"):
        TemperatureScaling().fit(z, y + 4)


@pytest.mark.slow
def test_digits_cnn_temperature_lowers_nll_and_ece():
    torch = pytest.importorskip("torch")
    from assay import wrap
    from assay.datasets import load_digits_split
    from assay.models import train_digits_cnn

    data = load_digits_split(random_state=0)
    torch.manual_seed(0)
    # a few epochs with dropout: an under-confident network (T < 1), ~5 s alone on 2 cores
    model = train_digits_cnn(data.train.X, data.train.y, epochs=5, random_state=0)
    adapter = wrap(model, progress=False)
    y_val, y_test = data.val.y.numpy(), data.test.y.numpy()
    z_val, z_test = (adapter.logits(data.val.X).astype(np.float64), adapter.logits(data.test.X).astype(np.float64))
    ts = TemperatureScaling().fit(z_val, y_val)
    before, after = softmax(z_test, axis=1), ts.predict_proba(z_test)
    assert ts.temperature_ < 0.9  # there was something to fix
    assert nll(after, y_test) < nll(before, y_test)
    assert expected_calibration_error(y_test, after) < expected_calibration_error(y_test, before)
    direct = minimize_scalar(lambda t: log_loss(y_val, softmax(z_val / t, axis=1), labels=range(10)),
                             bounds=(0.05, 20), method="bounded", options={"xatol": 1e-9})
    assert ts.temperature_ == pytest.approx(direct.x, rel=1e-4)
