"""OOD detectors on arrays: each score equals a direct implementation of its paper's formula."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.spatial.distance import mahalanobis as scipy_mahalanobis
from scipy.special import logsumexp
from scipy.special import softmax as scipy_softmax
from scipy.stats import entropy as scipy_entropy
from sklearn.ensemble import IsolationForest
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from assay.core.errors import AssayInputError, NotFittedError
from assay.ood import (
    GEN, KNN, ODIN, Energy, Entropy, GaussianMixtureDetector, IsolationForestDetector, KLMatching,
    Mahalanobis, MaxLogit, MaxSoftmax, OODDetector, ReAct, RelativeMahalanobis, ViM,
)


@pytest.fixture
def logits():
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3.0, size=(40, 5))
    z[0] = [50.0, -40.0, 0.0, 1.0, 2.0]  # extreme row: softmax underflows
    return z


def clustered(n=300, d=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(n_classes, d))
    y = rng.integers(0, n_classes, n)
    mix = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    X = centers[y] + rng.normal(size=(n, d)) @ mix
    return X, y


# ------------------------------------------------------------------ logit detectors
def test_max_softmax_and_max_logit(logits):
    assert_allclose(MaxSoftmax().score(logits), -scipy_softmax(logits, axis=1).max(axis=1), rtol=1e-12)
    assert_allclose(MaxLogit().score(logits), -logits.max(axis=1), rtol=1e-12)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 7.0])
def test_energy_is_minus_t_logsumexp(logits, temperature):
    expected = -temperature * logsumexp(logits / temperature, axis=1)
    assert_allclose(Energy(temperature=temperature).score(logits), expected, rtol=1e-12)


def test_entropy_of_softmax(logits):
    expected = scipy_entropy(scipy_softmax(logits, axis=1), axis=1)
    assert_allclose(Entropy().score(logits), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("gamma", "top_m"), [(0.1, 100), (0.5, 2), (1.0, 3)])
def test_gen_generalized_entropy(logits, gamma, top_m):
    p = np.sort(scipy_softmax(logits, axis=1), axis=1)[:, ::-1][:, :top_m]
    expected = np.sum(p ** gamma * (1 - p) ** gamma, axis=1)
    assert_allclose(GEN(gamma=gamma, top_m=top_m).score(logits), expected, rtol=1e-10)


def test_kl_matching_min_kl_to_class_templates(logits):
    rng = np.random.default_rng(1)
    fit = rng.normal(scale=3.0, size=(200, 5))
    det = KLMatching().fit(fit)
    p_fit = scipy_softmax(fit, axis=1)
    pred = fit.argmax(axis=1)
    templates = {c: p_fit[pred == c].mean(axis=0) for c in np.unique(pred)}
    p = scipy_softmax(logits, axis=1)
    expected = [min(scipy_entropy(row, t) for t in templates.values()) for row in p]
    assert_allclose(det.score(logits), expected, rtol=1e-8, atol=1e-12)
    assert_allclose(det.templates_, np.stack([templates[c] for c in det.classes_]))
    # explicit labels define the templates
    y = rng.integers(0, 2, 200)
    det_y = KLMatching().fit(fit, y)
    assert_allclose(det_y.templates_[1], p_fit[y == 1].mean(axis=0))


def test_odin_without_model_is_temperature_scaling(logits):
    det = ODIN(temperature=1000.0, epsilon=0.0)
    assert_allclose(det.score(logits), -scipy_softmax(logits / 1000.0, axis=1).max(axis=1), rtol=1e-12)
    with pytest.raises(AssayInputError, match="'model'"):
        ODIN().score(logits)


# ------------------------------------------------------------------ feature detectors
def test_mahalanobis_equals_scipy_with_fitted_means_and_shared_covariance():
    X, y = clustered()
    det = Mahalanobis().fit(X, y)
    means = np.stack([X[y == c].mean(axis=0) for c in range(3)])
    centred = X - means[y]
    cov = centred.T @ centred / len(X)
    assert_allclose(det.means_, means, rtol=1e-10, atol=1e-12)
    assert_allclose(det.covariance_, cov, rtol=1e-10, atol=1e-12)
    VI = np.linalg.inv(cov)
    test = np.random.default_rng(5).normal(scale=6.0, size=(25, 6))
    expected = [min(scipy_mahalanobis(x, m, VI) ** 2 for m in means) for x in test]
    assert_allclose(det.score(test), expected, rtol=1e-9)


def test_relative_mahalanobis_subtracts_the_background_gaussian():
    X, y = clustered(seed=3)
    det = RelativeMahalanobis().fit(X, y)
    means = np.stack([X[y == c].mean(axis=0) for c in range(3)])
    VI = np.linalg.inv((X - means[y]).T @ (X - means[y]) / len(X))
    mu0 = X.mean(axis=0)
    VI0 = np.linalg.inv(np.cov(X, rowvar=False, bias=True))
    test = np.random.default_rng(6).normal(scale=6.0, size=(20, 6))
    expected = [min(scipy_mahalanobis(x, m, VI) ** 2 for m in means) - scipy_mahalanobis(x, mu0, VI0) ** 2
                for x in test]
    assert_allclose(det.score(test), expected, rtol=1e-8, atol=1e-9)
    assert_allclose(det.background_mean_, mu0)


def test_mahalanobis_labels_may_be_strings_and_float32_features_are_promoted():
    X, y = clustered()
    names = np.array(["cat", "dog", "eel"])[y]
    a = Mahalanobis().fit(X.astype(np.float32), names)
    b = Mahalanobis().fit(X.astype(np.float32).astype(np.float64), y)
    assert list(a.classes_) == ["cat", "dog", "eel"]
    assert_allclose(a.score(X[:10]), b.score(X[:10]), rtol=1e-12)


def test_mahalanobis_singular_covariance_uses_the_pseudo_inverse():
    X, y = clustered()
    X = np.hstack([X, np.zeros((len(X), 2))])  # two dead units
    det = Mahalanobis().fit(X, y)
    means = np.stack([X[y == c].mean(axis=0) for c in range(3)])
    VI = np.linalg.pinv((X - means[y]).T @ (X - means[y]) / len(X), hermitian=True)
    test = X[:10] + 0.3
    expected = [min(scipy_mahalanobis(x, m, VI) ** 2 for m in means) for x in test]
    assert_allclose(det.score(test), expected, rtol=1e-8)


@pytest.mark.parametrize("k", [1, 5, 50])
def test_knn_equals_sklearn_nearest_neighbors_on_normalised_features(k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(400, 16)) + rng.normal(size=16) * 2
    test = np.vstack([rng.normal(size=(30, 16)), X[:5]])  # includes exact duplicates of fit rows
    normalise = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    reference = NearestNeighbors(n_neighbors=k).fit(normalise(X)).kneighbors(normalise(test))[0][:, -1]
    assert_allclose(KNN(k=k).fit(X).score(test), reference, rtol=1e-6, atol=1e-6)


def test_knn_exact_with_many_near_ties():
    # Many fit rows at (nearly) the same distance: the float32 screen must not decide the order.
    rng = np.random.default_rng(0)
    base = rng.normal(size=8)
    X = base + 1e-4 * rng.normal(size=(300, 8))
    X = np.vstack([X, rng.normal(size=(300, 8))])
    test = base + 1e-4 * rng.normal(size=(7, 8))
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    Xn32 = Xn.astype(np.float32).astype(np.float64)  # the stored vectors
    tn = test / np.linalg.norm(test, axis=1, keepdims=True)
    for k in (3, 120):
        reference = NearestNeighbors(n_neighbors=k).fit(Xn32).kneighbors(tn)[0][:, -1]
        exact = np.sort(np.sqrt(((tn[:, None, :] - Xn32[None]) ** 2).sum(-1)), axis=1)[:, k - 1]
        assert_allclose(KNN(k=k).fit(X).score(test), exact, rtol=1e-9, atol=1e-12)
        assert_allclose(reference, exact, rtol=1e-4, atol=1e-7)


def test_knn_block_size_does_not_change_scores():
    from assay.ood.feature import kth_neighbour_distance

    rng = np.random.default_rng(2)
    X, test = rng.normal(size=(500, 10)), rng.normal(size=(97, 10))
    det = KNN(k=7).fit(X)
    whole = kth_neighbour_distance(test, det.bank_, 7)
    tiny = kth_neighbour_distance(test, det.bank_, 7, block_bytes=1)  # one row per block
    assert_allclose(tiny, whole, rtol=0, atol=0)
    assert_allclose(det.score(test), whole, rtol=0, atol=0)


def test_knn_fit_fraction_subsamples_reproducibly():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 5))
    a = KNN(k=3, fit_fraction=0.1, random_state=1).fit(X)
    b = KNN(k=3, fit_fraction=0.1, random_state=1).fit(X)
    c = KNN(k=3, fit_fraction=0.1, random_state=2).fit(X)
    assert a.bank_.shape == (100, 5)
    assert np.array_equal(a.bank_, b.bank_) and not np.array_equal(a.bank_, c.bank_)


def vim_reference(F_fit, F, W, b, dim):
    u = -np.linalg.pinv(W) @ b
    centred = F_fit - u
    values, vectors = np.linalg.eigh(centred.T @ centred / len(F_fit))
    residual = vectors[:, np.argsort(values)[::-1][dim:]]
    alpha = (F_fit @ W.T + b).max(axis=1).mean() / np.linalg.norm(centred @ residual, axis=1).mean()
    vlogit = alpha * np.linalg.norm((F - u) @ residual, axis=1)
    return vlogit - logsumexp(F @ W.T + b, axis=1)


def test_vim_virtual_logit_minus_energy():
    rng = np.random.default_rng(4)
    F_fit = np.abs(rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12)))
    W, b = rng.normal(size=(4, 12)), rng.normal(size=4)
    F = np.abs(rng.normal(size=(20, 12))) * 3
    det = ViM(dim=5, weight=W, bias=b).fit(F_fit)
    assert_allclose(det.score(F), vim_reference(F_fit, F, W, b, 5), rtol=1e-8)
    assert ViM(weight=W, bias=b).fit(F_fit).dim_ == 6  # d // 2 below 768 features


def test_react_clips_at_the_percentile_then_energy():
    rng = np.random.default_rng(5)
    F_fit = np.abs(rng.normal(size=(200, 10)))
    W, b = rng.normal(size=(3, 10)), rng.normal(size=3)
    F = np.abs(rng.normal(scale=3.0, size=(15, 10)))
    det = ReAct(percentile=80, weight=W, bias=b).fit(F_fit)
    c = np.percentile(F_fit, 80)
    assert det.clip_ == pytest.approx(c)
    assert_allclose(det.score(F), -logsumexp(np.minimum(F, c) @ W.T + b, axis=1), rtol=1e-12)
    no_bias = ReAct(percentile=80, weight=W).fit(F_fit)
    assert_allclose(no_bias.score(F), -logsumexp(np.minimum(F, c) @ W.T, axis=1), rtol=1e-12)


# ------------------------------------------------------------------ input detectors
def test_isolation_forest_is_minus_score_samples():
    X, _ = clustered()
    test = np.random.default_rng(1).normal(scale=5, size=(30, 6))
    det = IsolationForestDetector(n_estimators=50, random_state=3).fit(pd.DataFrame(X))
    ref = IsolationForest(n_estimators=50, random_state=3).fit(X)
    assert_allclose(det.score(test), -ref.score_samples(test), rtol=1e-12)


def test_gaussian_mixture_is_minus_log_density_of_standardised_inputs():
    X, _ = clustered()
    X[:, 0] = X[:, 0] * 100 + 7
    test = np.random.default_rng(1).normal(scale=5, size=(30, 6))
    det = GaussianMixtureDetector(n_components=3, covariance_type="diag", random_state=0).fit(X)
    mean, std = X.mean(axis=0), X.std(axis=0)
    ref = GaussianMixture(n_components=3, covariance_type="diag", random_state=0).fit((X - mean) / std)
    assert_allclose(det.score(test), -ref.score_samples((test - mean) / std), rtol=1e-10)


def test_input_detectors_reject_non_numeric_frames():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    with pytest.raises(AssayInputError, match="'X'.*non-numeric"):
        IsolationForestDetector().fit(frame)


# ------------------------------------------------------------------ thresholds and API
ALL_ARRAY_DETECTORS = [
    lambda: MaxSoftmax(), lambda: MaxLogit(), lambda: Energy(), lambda: Entropy(), lambda: GEN(),
    lambda: KLMatching(), lambda: ODIN(epsilon=0.0),
]


def test_fit_threshold_accepts_the_target_share_of_held_out_in_distribution():
    X, y = clustered(n=82_000, seed=7)  # 40,000 held-out rows each: sampling sd of the rate ~0.3 points
    fit, val, test = X[:2000], X[2000:42_000], X[42_000:]
    for det in (Mahalanobis().fit(fit, y[:2000]), KNN(k=10).fit(fit), GaussianMixtureDetector().fit(fit)):
        for tpr in (0.8, 0.95):
            det.fit_threshold(val, tpr=tpr)
            accepted = np.mean(~det.predict(test))
            assert abs(accepted - tpr) <= 0.01 + 1e-12, (type(det).__name__, tpr, accepted)
            assert np.mean(det.score(val) <= det.threshold_) >= tpr


def test_predict_flags_scores_above_the_threshold(logits):
    det = Energy().fit_threshold(logits, tpr=0.5)
    assert det.predict(logits).dtype == bool
    assert np.array_equal(det.predict(logits), det.score(logits) > det.threshold_)
    assert 0.45 <= np.mean(det.predict(logits)) <= 0.5


@pytest.mark.parametrize("tpr", [0.0, 1.0, -0.1, 1.5, "0.9"])
def test_tpr_outside_the_open_unit_interval_raises(logits, tpr):
    with pytest.raises(AssayInputError, match="'tpr'"):
        MaxSoftmax().fit_threshold(logits, tpr=tpr)


def test_predict_before_fit_threshold_raises(logits):
    with pytest.raises(NotFittedError, match="MaxSoftmax.*fit_threshold"):
        MaxSoftmax().predict(logits)


@pytest.mark.parametrize("make", [
    lambda: KLMatching(), lambda: Mahalanobis(), lambda: RelativeMahalanobis(), lambda: KNN(),
    lambda: ViM(weight=np.ones((2, 3))), lambda: ReAct(weight=np.ones((2, 3))),
    lambda: IsolationForestDetector(), lambda: GaussianMixtureDetector(),
])
def test_score_before_fit_raises_not_fitted_naming_the_detector(make):
    det = make()
    assert det.needs_fit
    with pytest.raises(NotFittedError, match=type(det).__name__):
        det.score(np.ones((4, 3)))
    assert isinstance(NotFittedError("x"), AssayInputError)


@pytest.mark.parametrize("make", ALL_ARRAY_DETECTORS)
def test_logits_with_nan_inf_or_wrong_ndim_raise_naming_x(make, logits):
    det = make().fit(logits)
    for bad in (np.where(np.eye(40, 5, dtype=bool), np.nan, logits), np.full((3, 4), np.inf)):
        with pytest.raises(AssayInputError, match="'X'.*finite"):
            det.score(bad)
    with pytest.raises(AssayInputError, match="'X'.*2-D"):
        det.score(logits[:, 0])
    with pytest.raises(AssayInputError, match="'X'.*k >= 2"):
        det.score(logits[:, :1])


def test_features_with_nan_other_width_or_wrong_ndim_raise_naming_x():
    X, y = clustered()
    bad = X.copy()
    bad[3, 2] = np.inf
    for det in (Mahalanobis().fit(X, y), KNN(k=3).fit(X), IsolationForestDetector().fit(X)):
        with pytest.raises(AssayInputError, match="'X'.*finite"):
            det.score(bad)
        with pytest.raises(AssayInputError, match="'X' has 5"):
            det.score(X[:, :5])
        with pytest.raises(AssayInputError, match="'X'.*2-D"):
            det.score(X[0])
    with pytest.raises(AssayInputError, match="'X'.*finite"):
        KNN(k=3).fit(bad)


def test_parameter_errors_name_the_parameter():
    X, y = clustered()
    with pytest.raises(AssayInputError, match="'y'"):
        Mahalanobis().fit(X)  # no model: labels needed
    with pytest.raises(AssayInputError, match="same number of rows"):
        Mahalanobis().fit(X, y[:-1])
    with pytest.raises(AssayInputError, match="'k'"):
        KNN(k=0).fit(X)
    with pytest.raises(AssayInputError, match="'k'"):
        KNN(k=301).fit(X)
    with pytest.raises(AssayInputError, match="'fit_fraction'"):
        KNN(fit_fraction=0.0).fit(X)
    with pytest.raises(AssayInputError, match="'temperature'"):
        Energy(temperature=0).score(X)
    with pytest.raises(AssayInputError, match="'gamma'"):
        GEN(gamma=2.0).score(X)
    with pytest.raises(AssayInputError, match="'weight'"):
        ViM().fit(X)
    with pytest.raises(AssayInputError, match="'bias'"):
        ReAct(weight=np.ones((2, 6)), bias=np.ones(3)).fit(X)
    with pytest.raises(AssayInputError, match="'X'.*input of the final linear layer"):
        ReAct(weight=np.ones((2, 5))).fit(X)
    with pytest.raises(AssayInputError, match="'dim'"):
        ViM(weight=np.ones((2, 6)), dim=6).fit(X)
    with pytest.raises(AssayInputError, match="'percentile'"):
        ReAct(weight=np.ones((2, 6)), percentile=0).fit(X)
    with pytest.raises(AssayInputError, match="'covariance_type'"):
        GaussianMixtureDetector(covariance_type="round").fit(X)
    with pytest.raises(AssayInputError, match="'layer'"):
        Mahalanobis(layer=3)._layer_names()


def test_estimator_conventions():
    det = KNN(k=3, fit_fraction=0.5)
    assert isinstance(det, OODDetector) and det.uses == "features" and det.needs_fit
    assert det.get_params()["k"] == 3
    assert det.set_params(k=4).k == 4
    assert repr(det) == "KNN(k=4, fit_fraction=0.5)"
    with pytest.raises(AssayInputError, match="'kk' is not a parameter"):
        det.set_params(kk=1)
    X = np.random.default_rng(0).normal(size=(20, 3))
    assert det.fit(X) is det and det.fit_threshold(X) is det
    assert det.score(X).dtype == np.float64 and det.score(X).shape == (20,)
    assert Energy.uses == "logits" and not Energy.needs_fit and ODIN.uses == "gradients"
    assert IsolationForestDetector.uses == "inputs"
