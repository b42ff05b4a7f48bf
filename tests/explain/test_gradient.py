"""Gradient attributions: equal to Captum 0.9's, exact on linear models, independent of batch_size."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError, wrap
from assay.explain import Attribution, InputXGradient, IntegratedGradients, Saliency
from assay.testing import check_component

from ._models import cnn as _cnn
from ._models import mlp as _mlp

captum_attr = pytest.importorskip("captum.attr")

IG_METHODS = ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]




def _X(shape=(7, 5), seed=2):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _linear():
    torch.manual_seed(3)
    return torch.nn.Linear(4, 3).double()


def _c(cls, model, X, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = cls(model).attribute(X.clone(), **kwargs)
    return tuple(o.detach().numpy() for o in out) if isinstance(out, tuple) else out.detach().numpy()


@pytest.mark.parametrize("model, X", [(_mlp(), _X()), (_cnn(), _X((5, 1, 8, 8)))], ids=["mlp", "cnn"])
def test_saliency_and_input_x_gradient_equal_captum(model, X):
    target = torch.arange(len(X)) % 3
    for abs_ in (True, False):
        ours = Saliency(model, abs=abs_).attribute(X, target=target.numpy())
        assert ours.values.shape == tuple(X.shape)
        np.testing.assert_allclose(ours.values, _c(captum_attr.Saliency, model, X, target=target, abs=abs_),
                                   atol=1e-6, rtol=0)
    ours = InputXGradient(model).attribute(X, target=1)
    np.testing.assert_allclose(ours.values, _c(captum_attr.InputXGradient, model, X, target=1), atol=1e-6, rtol=0)
    np.testing.assert_array_equal(ours.target, np.ones(len(X), dtype=int))


@pytest.mark.parametrize("method", IG_METHODS)
@pytest.mark.parametrize("model, X", [(_mlp(), _X()), (_cnn(), _X((5, 1, 8, 8)))], ids=["mlp", "cnn"])
def test_integrated_gradients_equal_captum(model, X, method):
    base = 0.3 * _X(tuple(X.shape), seed=9)
    row = base[0]
    for baselines, n_steps in ((None, 50), (base, 13), (row, 7)):
        ours = IntegratedGradients(model, method=method, n_steps=n_steps).attribute(X, target=2, baselines=baselines)
        ref = base[:1] if baselines is row else baselines
        values, delta = _c(captum_attr.IntegratedGradients, model, X, target=2, baselines=ref, n_steps=n_steps,
                           method=method, return_convergence_delta=True)
        if method == "riemann_trapezoid":  # Captum weighs the nodes 1/n, summing to 1 - 1/n (see _steps)
            values = values * n_steps / (n_steps - 1)
            delta = values.reshape(len(X), -1).sum(1) - (_target_logit(model, X, 2) - _target_logit(model, torch.zeros_like(X) if ref is None else ref, 2))
        np.testing.assert_allclose(ours.values, values, atol=1e-6, rtol=0)
        np.testing.assert_allclose(ours.delta, delta, atol=1e-6, rtol=0)
        assert ours.method == f"IntegratedGradients({method}, n_steps={n_steps})"


def _target_logit(model, X, t):
    with torch.no_grad():
        return model(X)[:, t].numpy()


def test_target_none_is_the_predicted_class():
    model, X = _mlp(), _X()
    predicted = model(X).argmax(1)
    ours = IntegratedGradients(model).attribute(X)
    np.testing.assert_array_equal(ours.target, predicted.numpy())
    np.testing.assert_allclose(ours.values, _c(captum_attr.IntegratedGradients, model, X, target=predicted),
                               atol=1e-6, rtol=0)


def test_linear_model_hand_computed():
    model, X = _linear(), _X((6, 4), seed=4)
    W = model.weight.detach().numpy()
    x = X.numpy()
    t = np.array([0, 1, 2, 0, 1, 2])
    np.testing.assert_allclose(Saliency(model).attribute(X, target=t).values, np.abs(W[t]), atol=1e-12)
    np.testing.assert_allclose(Saliency(model, abs=False).attribute(X, target=t).values, W[t], atol=1e-12)
    np.testing.assert_allclose(InputXGradient(model).attribute(X, target=t).values, x * W[t], atol=1e-12)
    base = np.full(4, 0.5)
    for method in IG_METHODS:
        ig = IntegratedGradients(model, method=method, n_steps=3).attribute(X, target=t, baselines=base)
        # completeness: on a linear model every rule is exact, F(x) - F(b) = w_t . (x - b)
        # completeness: the gradient is constant, so every rule gives (x - b) * w_t, summing to F(x) - F(b)
        np.testing.assert_allclose(ig.values, (x - base) * W[t], atol=1e-12)
        np.testing.assert_allclose(ig.values.sum(1), (x @ W.T)[np.arange(6), t] - (base @ W.T)[t], atol=1e-12)
        np.testing.assert_allclose(ig.delta, 0, atol=1e-12)


def test_delta_shrinks_with_steps():
    model, X = _mlp(), _X()
    deltas = [np.abs(IntegratedGradients(model, method="riemann_right", n_steps=n).attribute(X, target=0).delta).max()
              for n in (4, 16, 64)]
    assert deltas[0] > deltas[1] > deltas[2]


@pytest.mark.parametrize("explainer", [Saliency, InputXGradient, IntegratedGradients])
def test_batch_size_does_not_change_results(explainer):
    model, X = _cnn(), _X((9, 1, 8, 8))
    kwargs = {"n_steps": 8} if explainer is IntegratedGradients else {}
    full = explainer(model, **kwargs).attribute(X, target=1)
    for size in (1, 3, 17, 1000):
        small = explainer(model, batch_size=size, **kwargs).attribute(X, target=1)
        np.testing.assert_allclose(small.values, full.values, atol=1e-12, rtol=0)
        assert small.delta is None or np.allclose(small.delta, full.delta, atol=1e-12)


def test_dataframe_inputs_frame_and_adapter_accepted():
    model = torch.nn.Linear(3, 2)
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32), columns=["age", "hours", "x"])
    att = InputXGradient(wrap(model)).attribute(df, target=1)
    assert isinstance(att, Attribution)
    frame = att.to_frame()
    assert list(frame.columns) == ["age", "hours", "x"]
    np.testing.assert_allclose(frame.to_numpy(), df.to_numpy() * model.weight.detach().numpy()[1], rtol=1e-6)
    assert att.to_dict()["method"] == "InputXGradient"
    with pytest.raises(AssayInputError, match="to_frame"):
        Saliency(_cnn()).attribute(_X((2, 1, 8, 8))).to_frame()


def test_bad_inputs_name_the_argument():
    model, X = _mlp(), _X()
    with pytest.raises(AssayInputError, match="'target'.*\\[0, 2\\]"):
        IntegratedGradients(model).attribute(X, target=3)
    with pytest.raises(AssayInputError, match="'target'"):
        Saliency(model).attribute(X, target=np.array([0, 1]))
    with pytest.raises(AssayInputError, match="'baselines'.*\\(3, 5\\)"):
        IntegratedGradients(model).attribute(X, baselines=np.zeros((3, 5)))
    with pytest.raises(AssayInputError, match="'n_steps'.*IntegratedGradients"):
        IntegratedGradients(model).attribute(X, n_steps=0)
    with pytest.raises(AssayInputError, match="'n_steps'.*riemann_trapezoid"):
        IntegratedGradients(model, n_steps=1, method="riemann_trapezoid").attribute(X)
    with pytest.raises(AssayInputError, match="'method'"):
        IntegratedGradients(model).attribute(X, method="simpson")
    with pytest.raises(AssayInputError, match="no_such"):
        Saliency(model).attribute(X, no_such=1)
    with pytest.raises(AssayInputError, match="'baselines'.*Saliency"):
        Saliency(model).attribute(X, baselines=X)
    sk = LogisticRegression().fit(np.random.default_rng(0).normal(size=(20, 5)), np.arange(20) % 2)
    for cls in (Saliency, InputXGradient, IntegratedGradients):
        with pytest.raises(AssayInputError, match="'model'.*torch"):
            cls(sk).attribute(X.numpy())


@pytest.mark.parametrize("explainer", [Saliency, InputXGradient, IntegratedGradients])
def test_conformance(explainer):
    # no fit and no random_state: fit_returns_self, not_fitted and deterministic do not apply and are not run
    # "pickle" compares the parameters after a roundtrip, and a torch module equals only itself
    # (as for the attacks): test_pickle checks the attributions instead.
    ran = check_component(explainer(torch.nn.Linear(4, 2)), skip=["pickle"])
    assert {"params_declared", "init_stores_params", "clone", "params_roundtrip", "bad_params"} <= set(ran)


@pytest.mark.parametrize("explainer", [Saliency, InputXGradient, IntegratedGradients])
def test_pickle(explainer):
    import pickle

    model, X = _mlp(), _X()
    before = explainer(model).attribute(X, target=1)
    after = pickle.loads(pickle.dumps(explainer(model))).attribute(X, target=1)
    np.testing.assert_array_equal(after.values, before.values)
