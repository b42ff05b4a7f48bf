"""Global surrogate tree: fidelity 1 on a model that is a tree, Adult GBM, intervals by hand, bad inputs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from assay import AssayInputError
from assay.explain import surrogate_tree
from assay.metrics import wilson_interval


def _integer_data(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, size=(n, 4)).astype(float)


def test_a_model_that_is_a_tree_has_fidelity_one():
    X = _integer_data()
    y = ((X[:, 0] > 4) & (X[:, 1] < 3)) | (X[:, 2] > 7)
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    result = surrogate_tree(model, X, max_depth=3, random_state=0)
    assert result.metric == "agreement" and result.fidelity == 1.0 and result.train_fidelity == 1.0
    assert result.n_test == 300 and result.n_train == 900
    lo, hi = wilson_interval(300, 300)
    assert (result.lower, result.upper) == pytest.approx((float(lo), float(hi)), abs=1e-12)
    assert "x0" in result.rules and "class:" in result.rules
    np.testing.assert_array_equal(result.predict(X), model.predict(X))
    # a regressor that is a tree: R^2 = 1
    reg = DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, X[:, 3] * 2.0 + (X[:, 0] > 5))
    out = surrogate_tree(reg, X, max_depth=2, random_state=0)
    assert out.metric == "r2" and out.fidelity == pytest.approx(1.0) and out.lower == pytest.approx(1.0)


def test_too_shallow_a_tree_is_less_faithful_by_hand():
    X = _integer_data(seed=1)
    y = (X[:, 0] + X[:, 1] + X[:, 2] > 13)  # a sum: a depth-1 tree cannot follow it
    model = DecisionTreeClassifier(random_state=0).fit(X, y)
    result = surrogate_tree(model, X, max_depth=1, random_state=3)
    order = np.random.default_rng(3).permutation(len(X))
    test = order[:300]
    hits = result.tree.predict(X[test]) == model.predict(X[test])
    assert result.fidelity == pytest.approx(hits.mean(), abs=1e-12) and result.fidelity < 0.9
    lo, hi = wilson_interval(hits.sum(), len(hits))
    assert (result.lower, result.upper) == pytest.approx((float(lo), float(hi)), abs=1e-12)
    assert result.lower < result.fidelity < result.upper


def test_adult_gbm_pipeline():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # HistGradientBoosting's OpenMP threads spin on a shared machine (minutes)
        _adult_gbm_pipeline()


def _adult_gbm_pipeline():
    from assay.datasets import load_adult
    from assay.models import train_sklearn_model

    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:3000]
    model = train_sklearn_model(data.train.X.iloc[rows], data.train.y.iloc[rows],
                                categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="gbm", random_state=0)
    X = data.test.X.iloc[:2000]
    result = surrogate_tree(model, X, max_depth=4, random_state=0)
    assert result.metric == "agreement" and 0.85 < result.fidelity <= 1.0
    assert result.lower < result.fidelity < result.upper
    assert any(name.startswith(("relationship=", "marital_status=")) for name in result.feature_names)
    assert "capital_gain" in result.rules or "relationship=" in result.rules or "marital_status=" in result.rules
    # the tree's held-out agreement, recomputed from its own predictions
    order = np.random.default_rng(0).permutation(len(X))
    test = X.iloc[order[:500]]
    assert result.fidelity == pytest.approx((result.predict(test) == model.predict(test)).mean(), abs=1e-12)
    deeper = surrogate_tree(model, X, max_depth=8, random_state=0)
    assert deeper.train_fidelity >= result.train_fidelity


def test_bad_inputs():
    X = _integer_data(40)
    model = DecisionTreeClassifier(max_depth=2).fit(X, X[:, 0] > 4)
    with pytest.raises(AssayInputError, match="'max_depth'"):
        surrogate_tree(model, X, max_depth=0)
    with pytest.raises(AssayInputError, match="'test_size'"):
        surrogate_tree(model, X, test_size=1.0)
    with pytest.raises(AssayInputError, match="'X'"):
        surrogate_tree(model, X[:3])
    with pytest.raises(AssayInputError, match="'X'"):
        surrogate_tree(model, np.zeros((5, 2, 2)))
    frame = pd.DataFrame(X, columns=list("abcd"))
    result = surrogate_tree(lambda Z: np.column_stack([1 - (np.asarray(Z)[:, 0] > 4), np.asarray(Z)[:, 0] > 4]),
                            frame, random_state=0)
    with pytest.raises(AssayInputError, match="'X'"):
        result.predict(frame[["b", "a", "c", "d"]])
