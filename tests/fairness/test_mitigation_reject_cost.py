"""RejectOptionClassifier and CostSensitiveThreshold: hand-made cases, AIF360 on Adult, German credit's costs."""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

import assay.fairness as af
from assay import AssayInputError
from assay.core.errors import AssayWarning
from assay.datasets import load_adult, load_german_credit
from assay.models import train_sklearn_model
from assay.testing import check_component


# --------------------------------------------------------------------------- reject option
# group a: rate 3/5 at 0.5, group b: 2/5; by hand (see the test): b deprived, width 0.04 -> gap 0
_S = np.array([.9, .7, .55, .35, .2, .8, .52, .47, .4, .1])
_Y = np.array([1, 1, 0, 1, 0, 1, 0, 1, 1, 0])
_G = np.array(list("aaaaabbbbb"))


def test_reject_option_hand_made():
    # b deprived, a favoured: width 0.04 (midpoint of distances .03 and .05) lets b's 0.47 in -> 1:
    # both groups select 3/5, accuracy 5/10 -> 6/10
    roc = af.RejectOptionClassifier(tolerance=0.0).fit(_S, _Y, sensitive_features=_G)
    assert list(roc.deprived_) == ["b"]
    assert roc.width_ == pytest.approx(0.04)
    assert roc.gap_ == pytest.approx(0.0, abs=1e-12)
    assert roc.objective_value_ == pytest.approx(0.6)
    assert roc.constraint_met_
    pred = roc.predict(_S, sensitive_features=_G)
    assert pred.tolist() == [1, 1, 1, 0, 0, 1, 1, 1, 0, 0]
    assert roc.rates_.loc["a", "rate_before"] == pytest.approx(0.6)
    assert roc.rates_.loc["b", "rate_before"] == pytest.approx(0.4)
    assert roc.rates_["rate_after"].tolist() == pytest.approx([0.6, 0.6])
    assert roc.rates_["role"].tolist() == ["favoured", "deprived"]
    # a tolerance of 0.2 admits width 0.075 (a's 0.55, a negative, -> 0): gap 0.2, accuracy 0.7
    roc = af.RejectOptionClassifier(tolerance=0.2).fit(_S, _Y, sensitive_features=_G)
    assert roc.width_ == pytest.approx(0.075)
    assert roc.objective_value_ == pytest.approx(0.7)
    assert roc.gap_ == pytest.approx(0.2)
    assert roc.predict(_S, sensitive_features=_G).tolist() == [1, 1, 0, 0, 0, 1, 1, 1, 0, 0]


def test_reject_option_equal_opportunity_hand_made():
    # positives: a .9 .7 .35 (TPR 2/3 at 0.5), b .8 .47 .4 (TPR 1/3): b deprived; width 0.04 adds b's
    # 0.47 (a positive) -> TPR 2/3 both; width 0.075 also drops a's 0.55, a negative: TPRs unchanged,
    # accuracy 0.7 (width 0.125 would add b's 0.4, a positive: TPR 1 vs 2/3)
    roc = af.RejectOptionClassifier(constraint="equal_opportunity", tolerance=0.0).fit(
        _S, _Y, sensitive_features=_G)
    assert list(roc.deprived_) == ["b"]
    assert roc.width_ == pytest.approx(0.075)
    assert roc.objective_value_ == pytest.approx(0.7)
    assert roc.rates_["rate_after"].tolist() == pytest.approx([2 / 3, 2 / 3])


def test_reject_option_the_other_direction_and_warns_when_unreachable():
    # swap the groups' names: a is now the low-rate group, and is deprived
    roc = af.RejectOptionClassifier(tolerance=0.0).fit(_S, _Y, sensitive_features=np.where(_G == "a", "b", "a"))
    assert list(roc.deprived_) == ["a"]
    # one group always selected, the other never, all scores far from the threshold: gap 1 at any width
    # below the scores' distance; the farthest width flips both -> gap 1 again: not met
    s = np.array([.99, .98, .01, .02])
    with pytest.warns(AssayWarning, match="tolerance"):
        roc = af.RejectOptionClassifier(tolerance=0.1, widths=[0.0, 0.1]).fit(s, [1, 0, 1, 0],
                                                                              sensitive_features=list("aabb"))
    assert not roc.constraint_met_ and roc.gap_ == pytest.approx(1.0)


def test_reject_option_intersections_bring_every_cell_within_tolerance():
    rng = np.random.default_rng(0)
    n = 4000
    sex, race = rng.choice(["f", "m"], n), rng.choice(["x", "y", "z"], n, p=[.5, .3, .2])
    shift = (sex == "m") * 0.5 + (race == "x") * 0.25
    y = (rng.random(n) < 1 / (1 + np.exp(-(shift - 0.6)))).astype(int)
    s = 1 / (1 + np.exp(-(1.5 * y - 0.75 + shift - 0.6 + rng.normal(size=n))))
    sf = pd.DataFrame({"sex": sex, "race": race})
    # one width for all six cells: 0.05 is out of reach here (smallest gap 0.094), 0.1 is not
    with pytest.warns(AssayWarning, match="smallest gap"):
        assert not af.RejectOptionClassifier(tolerance=0.05).fit(s, y, sensitive_features=sf).constraint_met_
    roc = af.RejectOptionClassifier(tolerance=0.1).fit(s, y, sensitive_features=sf)
    assert len(roc.groups_) == 6 and roc.constraint_met_
    pred = roc.predict(s, sensitive_features=sf)
    cells = sex + race
    rates = [pred[cells == c].mean() for c in np.unique(cells)]
    assert max(rates) - min(rates) <= 0.1 + 1e-12
    assert max(rates) - min(rates) == pytest.approx(roc.gap_, abs=1e-12)
    assert np.mean(pred == y) == pytest.approx(roc.objective_value_, abs=1e-12)
    base = (s > 0.5).astype(int)
    base_rates = [base[cells == c].mean() for c in np.unique(cells)]
    assert max(base_rates) - min(base_rates) > 0.2  # the gap was real
    # the middle cells keep the plain rule: a three-way split
    assert set(roc.rates_["role"]) == {"deprived", "favoured", "untouched"} or len(roc.favoured_) + len(
        roc.deprived_) == 6


def test_reject_option_threshold_grid_keeps_the_best():
    one = af.RejectOptionClassifier(tolerance=0.2).fit(_S, _Y, sensitive_features=_G)
    grid = af.RejectOptionClassifier(tolerance=0.2, threshold=[0.3, 0.5, 0.6]).fit(_S, _Y, sensitive_features=_G)
    assert grid.objective_value_ >= one.objective_value_
    assert grid.threshold_ in (0.3, 0.5, 0.6)


@pytest.fixture(scope="module")
def adult_scores():
    data = load_adult()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    n = 6000
    s = model.predict_proba(data.test.X.iloc[:n])[:, 1].astype(np.float64)
    sf = data.test.sensitive_features[["sex", "race"]].iloc[:n].astype(str).reset_index(drop=True)
    return s, data.test.y.to_numpy()[:n], sf


def test_reject_option_equals_aif360_on_adult(adult_scores):
    logging.getLogger("aif360").setLevel(logging.ERROR)
    aif = pytest.importorskip("aif360")  # noqa: F841 - the test extra
    from aif360.algorithms.postprocessing import RejectOptionClassification
    from aif360.datasets import BinaryLabelDataset

    s, y, sf = adult_scores
    male = (sf["sex"] == "Male").to_numpy().astype(float)
    frame = pd.DataFrame({"sex": male, "label": y.astype(float)})
    true = BinaryLabelDataset(df=frame, label_names=["label"], protected_attribute_names=["sex"],
                              favorable_label=1.0, unfavorable_label=0.0)
    scored = true.copy(deepcopy=True)
    scored.scores = s[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = RejectOptionClassification(unprivileged_groups=[{"sex": 0.0}], privileged_groups=[{"sex": 1.0}],
                                            low_class_thresh=0.5, high_class_thresh=0.51, num_class_thresh=1,
                                            num_ROC_margin=50, metric_name="Statistical parity difference",
                                            metric_ub=0.05, metric_lb=-0.05).fit(true, scored)
        their_pred = theirs.predict(scored).labels.ravel()
    ours = af.RejectOptionClassifier(tolerance=0.05, objective="balanced_accuracy", threshold=0.5,
                                     widths=np.linspace(0, 0.5, 50)).fit(s, y, sensitive_features=sf["sex"])
    assert ours.constraint_met_
    assert list(ours.deprived_) == ["Female"]  # AIF360's unprivileged group, found by the search
    assert ours.width_ == theirs.ROC_margin
    assert ours.threshold_ == theirs.classification_threshold
    np.testing.assert_array_equal(ours.predict(s, sensitive_features=sf["sex"]), their_pred.astype(np.int64))
    # the exact search (every width) is at least as good within the same tolerance
    exact = af.RejectOptionClassifier(tolerance=0.05, objective="balanced_accuracy").fit(
        s, y, sensitive_features=sf["sex"])
    assert exact.objective_value_ >= ours.objective_value_ - 1e-12


def test_reject_option_holds_on_adult_for_sex_and_narrows_sex_x_race(adult_scores):
    s, y, sf = adult_scores
    for features, tolerance in ((["sex"], 0.05), (["sex", "race"], 0.08)):
        part = sf[features]
        roc = af.RejectOptionClassifier(tolerance=tolerance).fit(s, y, sensitive_features=part)
        assert roc.constraint_met_, features
        pred = roc.predict(s, sensitive_features=part)
        cells = part.astype(str).agg("|".join, axis=1).to_numpy()
        rates = [pred[cells == c].mean() for c in np.unique(cells)]
        assert max(rates) - min(rates) <= tolerance + 1e-12
        assert max(rates) - min(rates) == pytest.approx(roc.gap_, abs=1e-12)
        assert np.mean(pred == y) == pytest.approx(roc.objective_value_, abs=1e-12)
        base = [(s[cells == c] > 0.5).mean() for c in np.unique(cells)]
        assert max(base) - min(base) > 2 * tolerance  # there was a gap to close
    # sex x race at 0.05: out of reach of one width (smallest gap ~0.071): a warning, the smallest gap kept
    with pytest.warns(AssayWarning, match="smallest gap"):
        roc = af.RejectOptionClassifier(tolerance=0.05).fit(s, y, sensitive_features=sf)
    assert not roc.constraint_met_ and 0.05 < roc.gap_ < 0.08


class _BoundROC(af.RejectOptionClassifier):
    def fit(self, X, y):
        X = np.asarray(X)
        return super().fit(X[:, 0], y, sensitive_features=X[:, 1] > 0.5)

    def predict(self, X):
        X = np.asarray(X)
        return super().predict(X[:, 0], sensitive_features=X[:, 1] > 0.5)


def test_new_post_processing_are_components():
    rng = np.random.default_rng(0)
    X = np.c_[rng.random(200), rng.random(200)]
    y = (X[:, 0] > 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssayWarning)
        check_component(_BoundROC(tolerance=0.1), X=X, y=y)
    est = af.CostSensitiveThreshold(cost_matrix=[[0, 5], [1, 0]])
    assert est.get_params() == {"cost_matrix": [[0, 5], [1, 0]], "method": "bayes"}
    assert est.fit() is est


# --------------------------------------------------------------------------- cost-sensitive threshold
def test_cost_sensitive_bayes_threshold_german_credit():
    data = load_german_credit()
    est = af.CostSensitiveThreshold(cost_matrix=data.cost_matrix).fit()
    # true bad (0) predicted good (1) costs 5 (c_FP), true good predicted bad costs 1 (c_FN): 5 / (5 + 1)
    assert est.threshold_ == pytest.approx(5 / 6, abs=1e-15)
    assert est.predict([0.8, 5 / 6, 0.9]).tolist() == [0, 1, 1]
    # a general matrix: b / (a + b) with a = C10 - C11, b = C01 - C00
    assert af.CostSensitiveThreshold(cost_matrix=[[1, 4], [3, 0]]).fit().threshold_ == pytest.approx(3 / 6)


def test_cost_sensitive_empirical_on_german_credit_minimises_the_cost():
    data = load_german_credit()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    s = model.predict_proba(data.test.X)[:, 1]
    y = data.test.y.to_numpy()
    est = af.CostSensitiveThreshold(cost_matrix=data.cost_matrix, method="empirical").fit(s, y)

    def cost(t):
        pred = s >= t
        return (5 * np.sum(pred & (y == 0)) + 1 * np.sum(~pred & (y == 1))) / len(y)

    brute = min(cost(t) for t in np.r_[np.unique(s), np.inf])
    assert est.cost_ == pytest.approx(brute, abs=1e-12)
    assert cost(est.threshold_) == pytest.approx(brute, abs=1e-12)
    assert est.costs_.min() == pytest.approx(brute, abs=1e-12)
    # at 0.5 (the accuracy rule) the cost is higher; the Bayes threshold's cost is what it is, shown
    assert cost(0.5) > brute
    bayes = af.CostSensitiveThreshold(cost_matrix=data.cost_matrix).fit(s, y)
    assert bayes.cost_ == pytest.approx(cost(5 / 6), abs=1e-12)
    assert bayes.cost_ >= brute - 1e-12


def test_group_thresholds_and_cost_threshold_share_the_cost():
    from assay.fairness.mitigation import _cost, postprocessing

    c = np.array([[0.0, 5.0], [1.0, 0.0]])
    assert postprocessing._objective_weights(c, 10, 10) == _cost.cost_weights(c) == (1.0, 5.0)
    assert _cost.total_cost(c, 3, 2, 1, 4) == 5 * 2 + 1 * 1


@pytest.mark.parametrize("call,words", [
    (lambda: af.CostSensitiveThreshold(cost_matrix=[[0, 5, 1], [1, 0, 2]]).fit(), ["'cost_matrix'", "2x2"]),
    (lambda: af.CostSensitiveThreshold().fit(), ["'cost_matrix'", "2x2", "None"]),
    (lambda: af.CostSensitiveThreshold(cost_matrix=[[0, 0], [0, 0]]).fit(), ["'cost_matrix'", "costlier"]),
    (lambda: af.CostSensitiveThreshold(cost_matrix=[[0, 5], [1, 0]], method="empirical").fit(),
     ["'y_score'", "'y'", "empirical"]),
    (lambda: af.RejectOptionClassifier(constraint="equalized_odds").fit(_S, _Y, sensitive_features=_G),
     ["'constraint'", "equalized_odds"]),
])
def test_refuses_bad_input(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for w in words:
        assert w in str(info.value)


class _BoundCost(af.CostSensitiveThreshold):
    def fit(self, X, y):
        return super().fit(np.asarray(X)[:, 0], y)

    def predict(self, X):
        return super().predict(np.asarray(X)[:, 0])


class _BoundMinDiff(af.MinDiffClassifier):
    def fit(self, X, y):
        return super().fit(X, y, sensitive_features=np.asarray(X)[:, 1] > 0.5)


def test_cost_threshold_and_mindiff_classifier_pass_the_conformance_battery():
    rng = np.random.default_rng(0)
    X = np.c_[rng.random(200), rng.random(200)].astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    ran = check_component(_BoundCost(cost_matrix=[[0, 5], [1, 0]], method="empirical"), X=X, y=y)
    assert {"fit_returns_self", "bad_params", "clone"} <= set(ran)
    ran = check_component(_BoundMinDiff(weight=1.0, epochs=2, batch_size=64, random_state=0), X=X, y=y)
    assert {"fit_returns_self", "pickle", "deterministic"} <= set(ran)
