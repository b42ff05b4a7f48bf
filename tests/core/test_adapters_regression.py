"""assay.wrap on regressors: scikit-learn, torch (task="regression"), callables."""

import numpy as np
import pytest
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import assay
from assay.core.adapters_regression import (
    CallableRegressorAdapter,
    SklearnRegressorAdapter,
    TorchRegressorAdapter,
)
from assay.core.errors import AssayInputError, NotFittedError


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 10 + rng.normal(scale=0.1, size=300)
    return X, y


@pytest.mark.parametrize("make", [
    lambda: Ridge(alpha=0.1),
    lambda: make_pipeline(StandardScaler(), LinearRegression()),
    lambda: TransformedTargetRegressor(regressor=LinearRegression(), func=np.log1p, inverse_func=np.expm1),
])
def test_sklearn_regressors_are_found(data, make):
    X, y = data
    model = make().fit(X, np.abs(y))
    adapter = assay.wrap(model, batch_size=64)
    assert isinstance(adapter, SklearnRegressorAdapter) and adapter.task == "regression"
    pred = adapter.predict(X)
    np.testing.assert_allclose(pred, model.predict(X))
    assert pred.dtype == np.float64 and pred.shape == (300,)
    assert adapter.predict(X.copy()) is pred  # cached per fingerprint
    assert sum(adapter.forward_passes_.values()) == 1


def test_classifier_stays_a_classifier(data):
    X, y = data
    adapter = assay.wrap(LogisticRegression().fit(X, y > 10))
    assert adapter.task == "classification"
    with pytest.raises(AssayInputError, match="task"):
        assay.wrap(adapter, task="regression")


def test_multi_output_sklearn(data):
    X, y = data
    model = LinearRegression().fit(X, np.column_stack([y, 2 * y]))
    pred = assay.wrap(model).predict(X)
    assert pred.shape == (300, 2)
    np.testing.assert_allclose(pred, model.predict(X))


def test_torch_module_with_task(data):
    X, _ = data
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    adapter = assay.wrap(net, task="regression", batch_size=7)
    assert isinstance(adapter, TorchRegressorAdapter)
    pred = adapter.predict(X)
    with torch.no_grad():
        expected = net(torch.as_tensor(X, dtype=torch.float32)).numpy()[:, 0]
    np.testing.assert_allclose(pred, expected, rtol=1e-5, atol=1e-6)  # float32 batches of 7 vs 300: ~1 ulp
    assert pred.shape == (300,)
    two = assay.wrap(torch.nn.Linear(4, 2), task="regression").predict(X)
    assert two.shape == (300, 2)
    assert assay.wrap(net).task == "classification"  # a module cannot tell: classification unless told


def test_callable_with_task(data):
    X, _ = data
    adapter = assay.wrap(lambda batch: batch.sum(axis=1), task="regression", batch_size=50)
    assert isinstance(adapter, CallableRegressorAdapter)
    np.testing.assert_allclose(adapter.predict(X), X.sum(axis=1))


@pytest.mark.parametrize("method", ["logits", "predict_proba", "gradients"])
def test_classifier_outputs_are_refused(data, method):
    X, y = data
    adapter = assay.wrap(Ridge().fit(X, y))
    with pytest.raises(AssayInputError, match="regressor"):
        getattr(adapter, method)(X)
    with pytest.raises(AssayInputError, match="regressor"):
        _ = adapter.classes_
    with pytest.raises(AssayInputError, match="regressor"):
        adapter.predict(X, threshold=0.5)


@pytest.mark.parametrize("fn, words", [
    (lambda b: np.full(len(b), np.nan), ["NaN", "row 0"]),
    (lambda b: np.ones(len(b) - 1), ["row"]),
    (lambda b: np.array(["a"] * len(b)), ["numeric"]),
    (lambda b: np.ones((len(b), 2, 2)), ["shape"]),
    (lambda b: 1.0, ["one row per input row"]),
])
def test_bad_model_outputs_are_refused(data, fn, words):
    X, _ = data
    with pytest.raises(AssayInputError) as info:
        assay.wrap(fn, task="regression").predict(X)
    for word in words:
        assert word in str(info.value)


def test_bad_wrap_arguments(data):
    X, y = data
    with pytest.raises(AssayInputError, match="task"):
        assay.wrap(Ridge().fit(X, y), task="ranking")
    with pytest.raises(AssayInputError, match="regressor"):
        assay.wrap(Ridge().fit(X, y), task="classification")
    with pytest.raises(AssayInputError, match="classes"):
        assay.wrap(Ridge().fit(X, y), classes=[0, 1])
    with pytest.raises(AssayInputError, match="output"):
        assay.wrap(lambda b: b[:, 0], task="regression", output="logits")
    with pytest.raises(NotFittedError):
        assay.wrap(Ridge())
