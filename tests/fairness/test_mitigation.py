"""Fairness mitigations: closed forms on hand-made tables, AIF360 / Fairlearn on Adult."""

import logging

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import assay.fairness as af
from assay import AssayInputError
from assay.datasets import load_adult
from assay.fairness.mitigation import Reweighing
from assay.models import make_tabular_preprocessor
from assay.testing import check_component


@pytest.fixture(scope="module")
def adult():
    return load_adult()


# --------------------------------------------------------------------------- Reweighing
def test_reweighing_closed_form_on_a_hand_made_table():
    # group a: 3 rows (2 positive), group b: 5 rows (1 positive); n = 8, P(y=1) = 3/8
    sf = pd.Series(["a"] * 3 + ["b"] * 5, name="g")
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    rw = Reweighing().fit(np.zeros((8, 2)), y, sensitive_features=sf)
    expected = {("a", 1): (3 / 8) * (3 / 8) / (2 / 8), ("a", 0): (3 / 8) * (5 / 8) / (1 / 8),
                ("b", 1): (5 / 8) * (3 / 8) / (1 / 8), ("b", 0): (5 / 8) * (5 / 8) / (4 / 8)}
    for cell, w in expected.items():
        assert rw.weights_.loc[cell, "weight"] == pytest.approx(w, abs=1e-15)
    assert rw.weights_.loc[("b", 0), "n"] == 4
    assert_allclose(rw.sample_weight_, [expected[(g, c)] for g, c in zip(sf, y)], rtol=0, atol=1e-15)
    # under the weights every group has the overall base rate, and the total weight is n
    w = rw.sample_weight_
    for g in ("a", "b"):
        m = (sf == g).to_numpy()
        assert np.sum(w[m] * y[m]) / np.sum(w[m]) == pytest.approx(3 / 8, abs=1e-15)
    assert w.sum() == pytest.approx(8, abs=1e-12)


def test_reweighing_intersection_is_the_cells_of_all_columns():
    sf = pd.DataFrame({"s": list("aabbaabb"), "r": list("xyxyxyxy")})
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    joint = sf["s"] + "|" + sf["r"]
    ours = Reweighing().fit(np.zeros(8), y, sensitive_features=sf).sample_weight_
    single = Reweighing().fit(np.zeros(8), y, sensitive_features=joint).sample_weight_
    assert_allclose(ours, single, rtol=0, atol=1e-15)
    assert Reweighing().fit(np.zeros(8), y, sensitive_features=sf).weights_.index.names == ["s", "r", "label"]


class _BoundReweighing(Reweighing):
    """check_component calls fit(X, y): bind the sensitive feature to the sign of X[:, 0]."""

    def fit(self, X, y):
        return super().fit(X, y, sensitive_features=np.asarray(X)[:, 0] > 0)


def test_reweighing_is_a_component():
    check_component(_BoundReweighing())


@pytest.mark.parametrize("call,words", [
    (lambda: Reweighing().fit(np.zeros(4), [0, 1, 0, 1]), ["sensitive_features", "None"]),
    (lambda: Reweighing().fit(np.zeros(4), [0, 1, 0, 1], sensitive_features=["a", "b", "a"]),
     ["sensitive_features", "3", "4"]),
    (lambda: Reweighing().fit(np.zeros(5), [0, 1, 0, 1], sensitive_features=["a", "b", "a", "b"]),
     ["X", "5", "4"]),
], ids=["missing", "sf length", "X length"])
def test_reweighing_refuses_bad_input(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_reweighing_equals_aif360_on_adult(adult):
    pytest.importorskip("aif360")
    logging.disable(logging.WARNING)
    try:
        from aif360.algorithms.preprocessing import Reweighing as AifReweighing
        from aif360.datasets import BinaryLabelDataset
    finally:
        logging.disable(logging.NOTSET)
    train = adult.train
    sex = (train.sensitive_features["sex"].astype(str) == "Male").astype(float).to_numpy()
    frame = pd.DataFrame({"sex": sex, "label": train.y.to_numpy().astype(float)})
    dataset = BinaryLabelDataset(df=frame, label_names=["label"], protected_attribute_names=["sex"],
                                 favorable_label=1.0, unfavorable_label=0.0)
    theirs = AifReweighing(unprivileged_groups=[{"sex": 0.0}], privileged_groups=[{"sex": 1.0}]).fit_transform(dataset)
    ours = Reweighing().fit(train.X, train.y, sensitive_features=train.sensitive_features["sex"])
    assert_allclose(ours.sample_weight_, theirs.instance_weights, rtol=1e-12, atol=0)


def test_reweighed_logistic_regression_has_a_smaller_parity_gap(adult):
    train, test = adult.train, adult.test

    def fit(sample_weight):
        model = Pipeline([
            ("preprocess", make_tabular_preprocessor(categorical_features=adult.categorical_features,
                                                     numeric_features=adult.numeric_features)),
            ("classifier", LogisticRegression(max_iter=1000)),
        ])
        return model.fit(train.X, train.y, classifier__sample_weight=sample_weight)

    weights = Reweighing().fit(train.X, train.y, sensitive_features=train.sensitive_features["sex"]).sample_weight_
    sex = test.sensitive_features["sex"].astype(str)
    gaps = []
    for w in (None, weights):
        pred = fit(w).predict(test.X)
        gaps.append(af.statistical_parity_difference(test.y, pred, sensitive_features=sex, privileged_group="Male"))
    assert abs(gaps[1]) < abs(gaps[0]) * 0.8, gaps
