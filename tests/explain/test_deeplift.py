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


def test_max_pooling_on_the_digits_cnn_complete_and_captum_explained():
    from assay.datasets import load_digits_split
    from assay.models import train_digits_cnn

    data = load_digits_split()
    model = train_digits_cnn(data.train.X[:300], data.train.y[:300], epochs=2, random_state=0).double().eval()
    X = data.test.X[:40].double()
    target = np.arange(len(X)) % 10
    for baselines in (None, 0.5 * torch.ones(1, 8, 8, dtype=torch.float64)):
        ours = DeepLift(model, batch_size=16).attribute(X, target=target, baselines=baselines)
        np.testing.assert_allclose(ours.delta, 0, atol=1e-10)  # summation to delta through ReLU -> MaxPool2d
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            want, delta = captum_attr.DeepLift(model).attribute(
                X, target=torch.tensor(target), baselines=None if baselines is None else baselines.expand_as(X),
                return_convergence_delta=True)
        # Captum's pooling rule is lost behind the ReLU hooked on the same tensor: it computes the plain
        # max-pool gradient there, and misses summation to delta
        assert np.abs(delta.detach().numpy()).max() > 1e-3 and np.abs(ours.values - want.detach().numpy()).max() > 1e-4
        plain = DeepLift(model, maxpool="gradient").attribute(X, target=target, baselines=baselines)
        np.testing.assert_allclose(plain.values, want.detach().numpy(), atol=1e-12, rtol=0)
        np.testing.assert_allclose(plain.delta, delta.detach().numpy(), atol=1e-12)
        assert plain.method == "DeepLift(rescale, maxpool=gradient)"


def test_max_pooling_rule_equals_captum_where_captum_applies_it():
    # the pooling between unhooked modules and inputs that differ from the baselines everywhere
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(48, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4)).double().eval()
    X, base = _X((6, 1, 8, 8)), 0.3 * _X((6, 1, 8, 8), seed=9)
    target = np.arange(6) % 4
    ours = DeepLift(model).attribute(X, target=target, baselines=base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = captum_attr.DeepLift(model).attribute(X, target=torch.tensor(target), baselines=base)
    np.testing.assert_allclose(ours.values, want.detach().numpy(), atol=1e-12, rtol=0)
    np.testing.assert_allclose(ours.delta, 0, atol=1e-10)
    plain = DeepLift(model, maxpool="gradient").attribute(X, target=target, baselines=base)
    assert np.abs(plain.delta).max() > 1e-3  # the plain gradient breaks completeness


def test_hand_computed_max_pooling():
    # f(x) = maxpool over 4 inputs. x = (1, 4, 2, 0) against b = (3, 0, 0, 0): o = 4 (at 1), o_b = 3 (at 0);
    # cross max 4: g (4 - 3) = 1 goes to x's argmax (position 1) and g (4 - 4) = 0 to b's (position 0);
    # multipliers (0 / -2, 1 / 4, 0, grad) -> attributions (0, 1, 0, 0), summing to f(x) - f(b) = 1
    model = torch.nn.Sequential(torch.nn.Unflatten(1, (1, 4)), torch.nn.MaxPool1d(4), torch.nn.Flatten(),
                                torch.nn.Linear(1, 2).double())
    with torch.no_grad():
        model[3].weight.copy_(torch.tensor([[0.0], [1.0]]))
        model[3].bias.zero_()
    x = torch.tensor([[1.0, 4.0, 2.0, 0.0]], dtype=torch.float64)
    att = DeepLift(model).attribute(x, target=1, baselines=torch.tensor([3.0, 0.0, 0.0, 0.0], dtype=torch.float64))
    np.testing.assert_allclose(att.values, [[0.0, 1.0, 0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(att.delta, 0, atol=1e-12)


def test_softmax_refused_because_captums_rule_mixes_the_rows_of_a_batch():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1)).double()
    X = _X((6, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        together = captum_attr.DeepLift(model).attribute(X, target=0).detach().numpy()
        alone = np.concatenate([captum_attr.DeepLift(model).attribute(X[i:i + 1], target=0).detach().numpy()
                                for i in range(len(X))])
    assert np.abs(together - alone).max() > 1e-3  # Captum: a row's attributions depend on its batch
    with pytest.raises(AssayInputError, match="'model' of DeepLift has softmax modules"):
        DeepLift(model).attribute(X, target=0)


def test_is_a_component():
    assert "bad_params" in check_component(DeepLift(torch.nn.Linear(4, 2)), skip=["pickle"])
