"""Split conformal prediction: hand-computed cases, MAPIE 1.6 on the same inputs, coverage on digits."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, Ridge

from assay import AssayInputError
from assay.core.errors import SmallGroupWarning
from assay.testing import check_component
from assay.uncertainty import (
    ConformalClassifier,
    ConformalRegressor,
    conformal_report,
    conformal_threshold,
    min_calibration_size,
)


# ---------------------------------------------------------------------- hand-computed
def test_threshold_is_the_k_th_smallest_score():
    scores = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6])  # n = 9
    assert conformal_threshold(scores, 0.1) == 0.9  # k = ceil(10 * 0.9) = 9
    assert conformal_threshold(scores, 0.2) == 0.8  # k = ceil(8) = 8
    assert conformal_threshold(scores, 0.5) == 0.5  # k = ceil(5) = 5
    with pytest.raises(AssayInputError, match="at least 9"):
        conformal_threshold(scores[:8], 0.1)  # k = ceil(8.1) = 9 > 8: infinite
    assert [min_calibration_size(a) for a in (0.1, 0.05, 0.2, 0.5)] == [9, 19, 4, 1]


def test_ties_in_scores_and_in_probabilities():
    assert conformal_threshold([0.2, 0.2, 0.2, 0.5], 0.4) == 0.2  # k = 3
    assert conformal_threshold([0.2, 0.2, 0.2, 0.5], 0.25) == 0.5  # k = ceil(3.75) = 4
    proba_cal = np.array([[0.8, 0.2], [0.8, 0.2], [0.8, 0.2], [0.5, 0.5]])
    c = ConformalClassifier(alpha=0.4).fit(proba_cal, [0, 0, 0, 1])
    assert c.threshold_ == pytest.approx(0.2)
    # a class whose probability equals 1 - q is in the set (ties included)
    np.testing.assert_array_equal(c.predict_sets([[0.8, 0.2], [0.7, 0.3], [0.1, 0.9]]),
                                  [[True, False], [False, False], [False, True]])


def test_aps_and_raps_by_hand():
    proba_cal = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    y_cal = np.array([1, 0, 1, 2])
    # APS scores: mass of labels ranked at or above y: 0.9, 0.5, 0.7, 1.0; alpha=0.5 -> k = ceil(2.5) = 3 -> 0.9
    aps = ConformalClassifier(method="aps", alpha=0.5).fit(proba_cal, y_cal)
    assert aps.threshold_ == pytest.approx(0.9)
    # [0.5, 0.45, 0.05]: cumulated 0.5, 0.95 -> reaches 0.9 at the second label
    np.testing.assert_array_equal(aps.predict_sets([[0.5, 0.45, 0.05], [0.95, 0.03, 0.02]]),
                                  [[True, True, False], [True, False, False]])
    # RAPS, k_reg=1, lambda=0.1: + 0.1 * (rank - 1): 1.0, 0.5, 0.7, 1.2 -> k=3 -> 1.0
    raps = ConformalClassifier(method="raps", alpha=0.5, k_reg=1, lambda_reg=0.1).fit(proba_cal, y_cal)
    assert raps.threshold_ == pytest.approx(1.0)
    # [0.5, 0.3, 0.2]: 0.5, 0.9, 1.2 -> first >= 1.0 is the third label
    np.testing.assert_array_equal(raps.predict_sets([[0.5, 0.3, 0.2], [0.5, 0.45, 0.05]]),
                                  [[True, True, True], [True, True, False]])


def test_regression_methods_by_hand():
    y_pred = np.arange(10.0)
    y = y_pred + np.array([1, -2, 3, -4, 5, -6, 7, -8, 9, -10.0])
    r = ConformalRegressor(alpha=0.2).fit(y_pred, y)  # |residuals| 1..10, k = ceil(11 * 0.8) = 9
    np.testing.assert_allclose(r.predict_intervals([0.0, 5.0]), [[-9, 9], [-4, 14]])
    scale = np.full(10, 2.0)
    n = ConformalRegressor(method="normalized", alpha=0.2).fit(y_pred, y, scale=scale)  # scores 0.5..5 -> 4.5
    np.testing.assert_allclose(n.predict_intervals([0.0], scale=[4.0]), [[-18, 18]])
    bounds = np.stack([y_pred - 1, y_pred + 1], axis=1)  # CQR scores max(lo - y, y - hi) = |residual| - 1
    c = ConformalRegressor(method="cqr", alpha=0.2).fit(bounds, y)
    np.testing.assert_allclose(c.predict_intervals([[0.0, 1.0]]), [[-8, 9]])


def test_components_pass_the_conformance_battery():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=60)
    y = rng.integers(0, 3, 60)
    for component in (ConformalClassifier(), ConformalClassifier(method="aps", randomized=True),
                      ConformalClassifier(method="raps")):
        check_component(component, X=proba, y=y)
    check_component(ConformalRegressor(), X=rng.normal(size=60), y=rng.normal(size=60))


# ---------------------------------------------------------------------- Mondrian
def test_mondrian_thresholds_per_cell_and_fallback():
    rng = np.random.default_rng(1)
    n = 400
    scores = rng.random(n)
    a = np.where(np.arange(n) < 200, "x", "y")
    b = np.where(np.arange(n) % 2 == 0, "p", "q")
    b[:5] = "r"  # cell (x, r): 5 rows < 9 -> fallback
    proba = np.stack([1 - scores, scores], axis=1)
    y = np.zeros(n, dtype=int)  # LAC score = 1 - p_0 = scores
    with pytest.warns(SmallGroupWarning, match="a=x x b=r"):
        c = ConformalClassifier(alpha=0.1).fit(proba, y, sensitive_features={"a": a, "b": b})
    for cell in [("x", "p"), ("y", "q")]:
        rows = (a == cell[0]) & (b == cell[1])
        expected = np.sort(scores[rows])[int(np.ceil((rows.sum() + 1) * 0.9)) - 1]
        assert c._row_thresholds({"a": [cell[0]], "b": [cell[1]]}, 1)[0] == expected
        sets = c.predict_sets(proba[rows], sensitive_features={"a": a[rows], "b": b[rows]})
        np.testing.assert_array_equal(sets[:, 0], scores[rows] <= expected + 1e-8)
    # (x, r) falls back to the larger of the thresholds of its enclosing groups a=x and b=r; b=r has 5 rows
    rows_x = a == "x"
    q_x = np.sort(scores[rows_x])[int(np.ceil((rows_x.sum() + 1) * 0.9)) - 1]
    assert c.fallback_ == {"a=x x b=r": "a=x"}
    with pytest.warns(SmallGroupWarning, match="not seen"):
        probe = c._row_thresholds({"a": ["x", "z"], "b": ["r", "p"]}, 2)
    assert probe[0] == pytest.approx(q_x)
    # (z, p): value z unseen -> group b=p
    rows_p = b == "p"
    assert probe[1] == pytest.approx(np.sort(scores[rows_p])[int(np.ceil((rows_p.sum() + 1) * 0.9)) - 1])
    assert c.fallback_["a=<unseen> x b=p"] == "b=p"


def test_one_feature_small_group_falls_back_to_marginal():
    rng = np.random.default_rng(2)
    proba = rng.dirichlet(np.ones(3), size=100)
    y = rng.integers(0, 3, 100)
    group = np.array(["big"] * 95 + ["tiny"] * 5)
    with pytest.warns(SmallGroupWarning, match="marginal"):
        c = ConformalClassifier().fit(proba, y, sensitive_features=group)
    marginal = ConformalClassifier().fit(proba, y)
    assert c.fallback_ == {"sensitive_feature=tiny": "marginal"}
    np.testing.assert_array_equal(c.predict_sets(proba[95:], sensitive_features=group[95:]),
                                  marginal.predict_sets(proba[95:]))


# ---------------------------------------------------------------------- MAPIE 1.6
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, rest = order[:500], order[500:]
    model = LogisticRegression(max_iter=3000).fit(X[train], y[train])
    return model, X[rest], y[rest]


def test_lac_and_aps_sets_equal_mapie(digits):
    mapie = pytest.importorskip("mapie")  # noqa: F841
    from mapie.classification import SplitConformalClassifier
    from mapie.conformity_scores import APSConformityScore

    model, X, y = digits
    Xc, yc, Xt = X[:600], y[:600], X[600:]
    pc, pt = model.predict_proba(Xc), model.predict_proba(Xt)
    for alpha in (0.05, 0.1, 0.2):
        ref = SplitConformalClassifier(model, confidence_level=1 - alpha, conformity_score="lac", prefit=True)
        expected = ref.conformalize(Xc, yc).predict_set(Xt)[1][:, :, 0]
        np.testing.assert_array_equal(ConformalClassifier(alpha=alpha).fit(pc, yc).predict_sets(pt), expected)

    class DeterministicAPS(APSConformityScore):  # MAPIE always randomises APS scores; this is its U = 0
        def get_conformity_scores(self, y, y_pred, y_enc=None, **kwargs):
            return self.get_true_label_cumsum_proba(y, y_pred, self.classes)[0]

    ref = SplitConformalClassifier(model, confidence_level=0.9, conformity_score=DeterministicAPS(), prefit=True)
    expected = ref.conformalize(Xc, yc).predict_set(Xt, conformity_score_params={"include_last_label": True})[1]
    ours = ConformalClassifier(method="aps", alpha=0.1).fit(pc, yc).predict_sets(pt)
    np.testing.assert_array_equal(ours, expected[:, :, 0])
    # randomised scores: the same uniform stream as MAPIE's (RandomState(seed)) gives the same threshold
    ref = SplitConformalClassifier(model, confidence_level=0.9, conformity_score="aps", prefit=True, random_state=3)
    ref.conformalize(Xc, yc).predict_set(Xt, conformity_score_params={"include_last_label": "randomized"})
    ours = ConformalClassifier(method="aps", alpha=0.1, randomized=True, random_state=3).fit(pc, yc)
    assert ours.threshold_ == pytest.approx(ref._mapie_classifier.conformity_score_function_.quantiles_[0], abs=1e-12)


def test_regression_intervals_equal_mapie(digits):
    pytest.importorskip("mapie")
    from mapie.regression import SplitConformalRegressor

    _, X, y = digits
    ridge = Ridge().fit(X[:300], y[:300].astype(float))
    Xc, yc, Xt = X[300:900], y[300:900].astype(float), X[900:]
    for alpha in (0.1, 0.25):
        ref = SplitConformalRegressor(ridge, confidence_level=1 - alpha, prefit=True).conformalize(Xc, yc)
        expected = ref.predict_interval(Xt)[1][:, :, 0]
        ours = ConformalRegressor(alpha=alpha).fit(ridge.predict(Xc), yc).predict_intervals(ridge.predict(Xt))
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------- coverage over 200 splits
def test_coverage_over_200_digit_splits(digits):
    model, X, y = digits
    proba = model.predict_proba(X)
    ink = np.where(X.sum(axis=1) > np.median(X.sum(axis=1)), "heavy", "light")
    groups = pd.DataFrame({"parity": np.where(y % 2 == 0, "even", "odd"), "ink": ink})
    alpha, n = 0.1, len(y)
    rng = np.random.default_rng(0)
    marginal, mondrian = [], []
    for _ in range(200):
        order = rng.permutation(n)
        cal, test = order[: n // 2], order[n // 2:]
        rows = np.arange(len(test))
        sets = ConformalClassifier(alpha=alpha).fit(proba[cal], y[cal]).predict_sets(proba[test])
        marginal.append(sets[rows, y[test]].mean())
        m = ConformalClassifier(alpha=alpha).fit(proba[cal], y[cal], sensitive_features=groups.iloc[cal])
        covered = m.predict_sets(proba[test], sensitive_features=groups.iloc[test])[rows, y[test]]
        frame = groups.iloc[test].assign(covered=covered)
        mondrian.append(pd.concat([frame.groupby(f)["covered"].mean() for f in ("parity", "ink")]
                                  + [frame.groupby(["parity", "ink"])["covered"].mean()]))
    assert 1 - alpha <= np.mean(marginal) <= 1 - alpha + 0.03
    per_group = pd.concat(mondrian, axis=1).mean(axis=1)
    assert len(per_group) == 8 and (per_group >= 1 - alpha - 0.02).all(), per_group


# ---------------------------------------------------------------------- report
def test_conformal_report_per_group_and_under_covered():
    rng = np.random.default_rng(3)
    n = 2000
    group = rng.choice(["a", "b"], n)
    proba = rng.dirichlet(np.ones(4), size=n)
    y = rng.integers(0, 4, n)
    sets = proba >= np.where(group == "a", 0.0, 0.3)[:, None]  # a: every class; b: a few
    report = conformal_report(sets, y, {"g": group}, alpha=0.1, n_boot=50, random_state=0)
    covered = sets[np.arange(n), y]
    frame = report.to_frame()
    assert report.coverage == pytest.approx(covered.mean())
    assert report.mean_size == pytest.approx(sets.sum(1).mean())
    for g in ("a", "b"):
        assert frame.loc[("g", g), "coverage"] == pytest.approx(covered[group == g].mean())
        assert frame.loc[("g", g), "size"] == pytest.approx(sets.sum(1)[group == g].mean())
        assert frame.loc[("g", g), "coverage_lower"] <= frame.loc[("g", g), "coverage"] <= frame.loc[("g", g), "coverage_upper"]
    assert list(report.under_covered.index) == [("g", "b")]
    assert report.under_covered["shortfall"].iloc[0] == pytest.approx(0.9 - covered[group == "b"].mean())
    intervals = np.stack([np.zeros(n), np.ones(n)], axis=1)
    values = rng.uniform(-0.5, 1.5, n)
    r = conformal_report(intervals, values, {"g": group}, n_boot=0)
    assert r.kind == "intervals" and r.coverage == pytest.approx(((values >= 0) & (values <= 1)).mean())
    assert r.mean_size == 1.0 and r.coverage_ci is None
    assert report.to_dict()["type"] == "ConformalReport"


# ---------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("call, words", [
    (lambda: ConformalClassifier().fit([[0.5, 0.6]] * 20, [0] * 20), ["proba_cal", "summing to 1"]),
    (lambda: ConformalClassifier(alpha=1.5).fit([[0.5, 0.5]] * 20, [0] * 20), ["alpha", "ConformalClassifier"]),
    (lambda: ConformalClassifier(alpha=0.0).fit([[0.5, 0.5]] * 20, [0] * 20), ["alpha"]),
    (lambda: ConformalClassifier().fit([[0.5, 0.5]] * 5, [0] * 5), ["y_cal", "at least 9"]),
    (lambda: ConformalClassifier().fit([[0.5, 0.5]] * 20, [0] * 19), ["proba_cal", "y_cal"]),
    (lambda: ConformalClassifier().fit([[0.5, 0.5]] * 20, [2] * 20), ["y_cal", "class index"]),
    (lambda: ConformalClassifier().fit([[0.5, 0.5]] * 20, [0] * 20).predict_sets([[0.2, 0.3, 0.5]]), ["proba", "classes"]),
    (lambda: ConformalClassifier().fit([[0.5, 0.5]] * 20, [0] * 20, sensitive_features=[0, 1] * 9), ["sensitive_features"]),
    (lambda: ConformalClassifier().fit([[0.5, 0.5]] * 20, [0] * 20, sensitive_features=[0, 1] * 10
                                       ).predict_sets([[0.5, 0.5]]), ["sensitive_features", "required"]),
    (lambda: ConformalRegressor(method="normalized").fit(np.zeros(20), np.zeros(20)), ["scale", "normalized"]),
    (lambda: ConformalRegressor(method="normalized").fit(np.zeros(20), np.zeros(20), scale=np.zeros(20)), ["scale", "> 0"]),
    (lambda: ConformalRegressor(method="cqr").fit(np.zeros(20), np.zeros(20)), ["y_pred_cal", "2-D"]),
    (lambda: conformal_report(np.ones((4, 3)), [0, 1, 2, 0], [0, 1, 0, 1]), ["sets_or_intervals"]),
    (lambda: conformal_report(np.ones((4, 2), bool), [0, 1, 0], [0, 1, 0, 1]), ["sets_or_intervals", "y_true"]),
])
def test_bad_inputs(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value), str(info.value)


def test_small_mondrian_group_warns_not_raises():
    proba = np.full((30, 2), 0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ConformalClassifier().fit(proba, [0] * 30, sensitive_features=["a"] * 25 + ["b"] * 5)
    assert any(issubclass(w.category, SmallGroupWarning) for w in caught)


def test_randomized_aps_and_raps_cover_at_about_1_minus_alpha(digits):
    model, X, y = digits
    proba = model.predict_proba(X)
    rng = np.random.default_rng(5)
    for method in ("aps", "raps"):
        coverage = []
        for seed in range(60):
            order = rng.permutation(len(y))
            cal, test = order[:600], order[600:]
            sets = ConformalClassifier(method=method, alpha=0.1, randomized=True, random_state=seed).fit(
                proba[cal], y[cal]).predict_sets(proba[test])
            coverage.append(sets[np.arange(len(test)), y[test]].mean())
        assert 0.89 <= np.mean(coverage) <= 0.915, (method, np.mean(coverage))


def test_mondrian_regression_thresholds_per_group():
    rng = np.random.default_rng(4)
    n = 600
    group = rng.choice(["a", "b", "c"], n)
    noise = np.where(group == "a", 0.5, np.where(group == "b", 1.0, 3.0))
    y_pred = rng.normal(size=n)
    y = y_pred + rng.normal(size=n) * noise
    r = ConformalRegressor(alpha=0.1).fit(y_pred, y, sensitive_features=group)
    intervals = r.predict_intervals(np.zeros(3), sensitive_features=["a", "b", "c"])
    for i, g in enumerate("abc"):
        res = np.sort(np.abs(y - y_pred)[group == g])
        q = res[int(np.ceil((len(res) + 1) * 0.9)) - 1]
        np.testing.assert_allclose(intervals[i], [-q, q])
    marginal = ConformalRegressor(alpha=0.1).fit(y_pred, y).predict_intervals(np.zeros(1))
    assert intervals[0, 1] < marginal[0, 1] < intervals[2, 1]  # the noisy group gets the widest interval
