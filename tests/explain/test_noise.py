"""NoiseTunnel (SmoothGrad, SmoothGrad-squared, VarGrad): the same noise and values as Captum 0.9's."""

import warnings

import numpy as np
import pytest
import torch

from assay import AssayInputError
from assay.explain import InputXGradient, IntegratedGradients, NoiseTunnel, Saliency
from assay.testing import check_component

from ._models import cnn as _cnn
from ._models import mlp as _mlp

captum_attr = pytest.importorskip("captum.attr")




def _X(shape, seed=2):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _captum(inner, model, X, seed, **kwargs):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return captum_attr.NoiseTunnel(inner(model)).attribute(X.clone(), **kwargs).detach().numpy()


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
@pytest.mark.parametrize("model, X", [(_mlp(), _X((7, 5))), (_cnn(), _X((4, 1, 8, 8)))], ids=["mlp", "cnn"])
def test_equal_captum(model, X, nt_type):
    target = np.arange(len(X)) % 3
    for ours, ref, extra in ((Saliency, captum_attr.Saliency, {}), (InputXGradient, captum_attr.InputXGradient, {}),
                             (IntegratedGradients, captum_attr.IntegratedGradients, {"n_steps": 6})):
        got = NoiseTunnel(ours(model), nt_type=nt_type, nt_samples=5, stdevs=0.25, random_state=11).attribute(
            X, target=target, **extra)
        want = _captum(ref, model, X, 11, nt_type=nt_type, nt_samples=5, stdevs=0.25, target=torch.tensor(target),
                       **extra)
        np.testing.assert_allclose(got.values, want, atol=1e-6, rtol=0)
        assert got.values.shape == tuple(X.shape)


def test_hand_computed_on_a_linear_model():
    # the gradient of a linear model is constant: SmoothGrad = the gradient, VarGrad = 0
    torch.manual_seed(3)
    model = torch.nn.Linear(4, 3).double()
    X = _X((5, 4))
    W = model.weight.detach().numpy()
    sg = NoiseTunnel(Saliency(model, abs=False), nt_samples=7, stdevs=2.0, random_state=0).attribute(X, target=2)
    np.testing.assert_allclose(sg.values, np.tile(W[2], (5, 1)), atol=1e-12)
    vg = NoiseTunnel(Saliency(model, abs=False), nt_type="vargrad", random_state=0).attribute(X, target=2)
    np.testing.assert_allclose(vg.values, 0, atol=1e-12)
    ig = NoiseTunnel(IntegratedGradients(model), nt_samples=3, random_state=0).attribute(X, target=0)
    np.testing.assert_allclose(ig.delta, 0, atol=1e-12)  # each noisy copy's integral is exact


def test_seeded_and_batch_size_free():
    model, X = _cnn(), _X((5, 1, 8, 8))
    tunnel = NoiseTunnel(IntegratedGradients(model, n_steps=4), nt_samples=3, random_state=1)
    full = tunnel.attribute(X, target=1)
    np.testing.assert_array_equal(tunnel.attribute(X, target=1).values, full.values)
    for size in (1, 5, 64):
        np.testing.assert_allclose(tunnel.attribute(X, target=1, batch_size=size).values, full.values, atol=1e-12)
    other = NoiseTunnel(IntegratedGradients(model, n_steps=4), nt_samples=3, random_state=2).attribute(X, target=1)
    assert not np.allclose(other.values, full.values)


def test_bad_inputs():
    model, X = _mlp(), _X((4, 5))
    with pytest.raises(AssayInputError, match="'explainer'"):
        NoiseTunnel(model).attribute(X)
    with pytest.raises(AssayInputError, match="'nt_samples'.*NoiseTunnel"):
        NoiseTunnel(Saliency(model), nt_samples=0).attribute(X)
    with pytest.raises(AssayInputError, match="'stdevs'"):
        NoiseTunnel(Saliency(model)).attribute(X, stdevs=-1.0)
    with pytest.raises(AssayInputError, match="'nt_type'"):
        NoiseTunnel(Saliency(model), nt_type="smooth").attribute(X)
    with pytest.raises(AssayInputError, match="'n_steps'"):
        NoiseTunnel(IntegratedGradients(model)).attribute(X, n_steps=0)
    with pytest.raises(AssayInputError, match="'target'"):
        NoiseTunnel(Saliency(model)).attribute(X, target=7)


def test_conformance():
    # "pickle" and "clone" compare the parameters after a copy, and the nested explainer (holding a
    # torch module) equals only itself: test_clone_and_pickle compares the attributions instead.
    ran = check_component(NoiseTunnel(Saliency(torch.nn.Linear(4, 2)), random_state=0), skip=["pickle", "clone"])
    assert {"params_declared", "init_stores_params", "params_roundtrip", "bad_params"} <= set(ran)


def test_clone_and_pickle():
    import pickle

    import sklearn.base

    from assay.core.component import clone

    model, X = _mlp(), _X((4, 5))
    tunnel = NoiseTunnel(Saliency(model), nt_samples=3, random_state=4)
    before = tunnel.attribute(X, target=0).values
    for copy in (clone(tunnel), sklearn.base.clone(tunnel), pickle.loads(pickle.dumps(tunnel))):
        assert copy is not tunnel and copy.get_params()["nt_samples"] == 3
        np.testing.assert_array_equal(copy.attribute(X, target=0).values, before)
