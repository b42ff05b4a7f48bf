"""Occlusion: equal to Captum 0.9's on a CNN and a tabular MLP; hand-computed on a scikit-learn model."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError, wrap
from assay.explain import Occlusion
from assay.testing import check_component

from ._models import cnn as _cnn
from ._models import mlp as _mlp

captum_attr = pytest.importorskip("captum.attr")




def _X(shape, seed=2):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _captum(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return captum_attr.Occlusion(model).attribute(X.clone(), **kwargs).numpy()


@pytest.mark.parametrize("window, strides", [((1, 3, 3), (1, 2, 2)), ((1, 2, 2), 1), ((1, 3, 3), (1, 3, 3)),
                                             ((1, 8, 8), 1)])
def test_images_equal_captum(window, strides):
    model, X = _cnn(), _X((5, 1, 8, 8))
    base = 0.2 * _X((5, 1, 8, 8), seed=7)
    for baselines in (None, 0.5, base):
        ours = Occlusion(model, sliding_window_shapes=window, strides=strides).attribute(X, target=2,
                                                                                          baselines=baselines)
        want = _captum(model, X, sliding_window_shapes=window, strides=strides, target=2, baselines=baselines)
        np.testing.assert_allclose(ours.values, want, atol=1e-6, rtol=0)


def test_tables_one_feature_at_a_time_equal_captum():
    model, X = _mlp(), _X((7, 5))
    target = np.arange(7) % 3
    ours = Occlusion(model).attribute(X, target=target)
    want = _captum(model, X, sliding_window_shapes=(1,), target=torch.tensor(target))
    np.testing.assert_allclose(ours.values, want, atol=1e-6, rtol=0)
    assert ours.method == "Occlusion(sliding_window_shapes=(1,), strides=(1,))"


def test_scikit_learn_model_hand_computed():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    model = LogisticRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    df = pd.DataFrame(X[:6], columns=["a", "b", "c"])
    means = X.mean(0)
    att = Occlusion(model).attribute(df, target=1, baselines=means)
    want = np.empty((6, 3))
    for j in range(3):  # the drop of log p(1) when feature j is set to its mean
        occluded = X[:6].copy()
        occluded[:, j] = means[j]
        log_p = [model.predict_log_proba(pd.DataFrame(a, columns=df.columns))[:, 1] for a in (X[:6], occluded)]
        want[:, j] = log_p[0] - log_p[1]
    np.testing.assert_allclose(att.values, want, atol=1e-10)
    assert list(att.to_frame().columns) == ["a", "b", "c"]
    np.testing.assert_array_equal(att.target, np.ones(6, dtype=int))
    predicted = Occlusion(wrap(model)).attribute(df)
    np.testing.assert_array_equal(predicted.target, model.predict(df))


def test_batch_size_does_not_change_results():
    model, X = _cnn(), _X((6, 1, 8, 8))
    full = Occlusion(model, sliding_window_shapes=(1, 3, 3), strides=(1, 2, 2)).attribute(X, target=1)
    for size in (1, 7, 50, 10_000):
        small = Occlusion(model, sliding_window_shapes=(1, 3, 3), strides=(1, 2, 2), batch_size=size).attribute(
            X, target=1)
        np.testing.assert_allclose(small.values, full.values, atol=1e-12, rtol=0)


def test_bad_inputs():
    model, X = _cnn(), _X((2, 1, 8, 8))
    with pytest.raises(AssayInputError, match="'sliding_window_shapes'.*3 ints"):
        Occlusion(model, sliding_window_shapes=(3, 3)).attribute(X)
    with pytest.raises(AssayInputError, match="'sliding_window_shapes'.*fit"):
        Occlusion(model, sliding_window_shapes=(1, 9, 9)).attribute(X)
    with pytest.raises(AssayInputError, match="'strides'"):
        Occlusion(model, strides=0).attribute(X)
    with pytest.raises(AssayInputError, match="'baselines'.*\\(1, 8, 8\\)"):
        Occlusion(model).attribute(X, baselines=np.zeros((8, 8)))
    with pytest.raises(AssayInputError, match="'target'"):
        Occlusion(model).attribute(X, target=4)
    with pytest.raises(AssayInputError, match="'batch_size'.*Occlusion"):
        Occlusion(model, batch_size=0).attribute(X)


def test_conformance():
    # "pickle" compares the parameters after a roundtrip, and a torch module equals only itself
    ran = check_component(Occlusion(torch.nn.Linear(4, 2)), skip=["pickle"])
    assert {"params_declared", "init_stores_params", "clone", "params_roundtrip", "bad_params"} <= set(ran)
    ran = check_component(Occlusion(LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])))
    assert "pickle" in ran
