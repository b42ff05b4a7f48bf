"""DeepLift (rescale): equal to Captum 0.9's on the seeded MLP (tanh) and CNN (ReLU); summation to delta."""

import warnings

import numpy as np
import pytest
import torch

from assay import AssayInputError
from assay.explain import DeepLift
from assay.testing import check_component

from ._models import cnn as _cnn
from ._models import mlp as _mlp

captum_attr = pytest.importorskip("captum.attr")


def _X(shape, seed=2):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("model, X", [(_mlp(), _X((7, 5))), (_cnn(), _X((5, 1, 8, 8)))], ids=["mlp", "cnn"])
def test_equal_captum_and_complete(model, X):
    target = np.arange(len(X)) % 3
    for baselines in (None, 0.3 * _X(tuple(X.shape), seed=5)):
        ours = DeepLift(model).attribute(X, target=target, baselines=baselines)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            want, delta = captum_attr.DeepLift(model).attribute(X, target=torch.tensor(target), baselines=baselines,
                                                                return_convergence_delta=True)
        np.testing.assert_allclose(ours.values, want.detach().numpy(), atol=1e-12, rtol=0)
        np.testing.assert_allclose(ours.delta, delta.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.delta, 0, atol=1e-10)
        small = DeepLift(model, batch_size=2).attribute(X, target=target, baselines=baselines)
        np.testing.assert_allclose(small.values, ours.values, atol=1e-15, rtol=0)


def test_hand_computed_rescale_on_one_relu():
    # f(x) = relu(x0 - x1): from baseline 0 to x = (3, 1) the multiplier is (2 - 0) / (2 - 0) = 1
    lin = torch.nn.Linear(2, 1, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -1.0]]))
    model = torch.nn.Sequential(lin, torch.nn.ReLU(), torch.nn.Linear(1, 2).double())
    with torch.no_grad():
        model[2].weight.copy_(torch.tensor([[0.0], [1.0]]))
        model[2].bias.zero_()
    att = DeepLift(model).attribute(torch.tensor([[3.0, 1.0], [1.0, 3.0]], dtype=torch.float64), target=1)
    np.testing.assert_allclose(att.values, [[3.0, -1.0], [0.0, 0.0]], atol=1e-12)  # second row: relu(-2) = relu(0)


def test_refuses_max_pooling_and_is_a_component():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(18, 3))
    with pytest.raises(AssayInputError, match="'model' of DeepLift.*max-pooling"):
        DeepLift(model).attribute(torch.zeros(2, 1, 8, 8))
    assert "bad_params" in check_component(DeepLift(torch.nn.Linear(4, 2)), skip=["pickle"])
