"""adapter.map_batches: the one batch loop (torch, scikit-learn, callables), and ODIN on it."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from scipy.special import softmax as scipy_softmax
from sklearn.linear_model import LogisticRegression

import assay
from assay import AssayInputError
from assay.ood import ODIN


@pytest.fixture
def net():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    model.train()  # dropout on: map_batches must run in eval mode and restore this
    return model


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(23, 5)).astype(np.float32)


def test_map_batches_batches_in_eval_mode_and_restores_training(net, X):
    adapter = assay.wrap(net, batch_size=5)
    seen = []

    def fn(batch, index):
        seen.append((index.start, index.stop, net.training, torch.is_grad_enabled(), batch.requires_grad))
        return net(batch) * 2

    out = adapter.map_batches(fn, X)
    assert out.shape == (23, 3) and out.dtype == np.float32
    net.eval()
    with torch.no_grad():
        expected = net(torch.from_numpy(X)).numpy() * 2
    net.train()
    # float32: a batch of 5 and one of 23 may sum in another order (the CPU's kernels choose), ~1 ulp apart
    assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert [(a, b) for a, b, *_ in seen] == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    assert all(not training and not grad_on and not req for *_, training, grad_on, req in seen)
    assert net.training and all(m.training for m in net.modules())


def test_map_batches_with_gradients(net, X):
    adapter = assay.wrap(net)
    states = []

    def input_gradient(batch, index):
        states.append((torch.is_grad_enabled(), batch.requires_grad))
        (grad,) = torch.autograd.grad(adapter.forward_batch(batch)[:, 0].sum(), batch)
        return grad

    out = adapter.map_batches(input_gradient, X, grad=True, batch_size=10)
    assert states == [(True, True)] * 3
    assert_allclose(out, adapter.gradients(X, target=0), rtol=1e-6)
    assert net.training
    with pytest.raises(AssayInputError, match="'X' must be floating point"):
        adapter.map_batches(input_gradient, X.astype(np.int64), grad=True)
    with pytest.raises(AssayInputError, match="'batch_size' parameter of map_batches"):
        adapter.map_batches(input_gradient, X, batch_size=0)


def test_map_batches_cache_and_row_check(net, X):
    adapter = assay.wrap(net, batch_size=8)
    calls = []

    def fn(batch, index):
        calls.append(1)
        return batch.sum(dim=1)

    first = adapter.map_batches(fn, X, cache_key="sum")
    second = adapter.map_batches(fn, X, cache_key="sum")
    assert first is second and len(calls) == 3
    with pytest.raises(AssayInputError, match=r"output of 'fn' must have one row per input row: 8 .*Got shape \(\)"):
        adapter.map_batches(lambda batch, index: batch.sum(), X)


def test_map_batches_on_sklearn_and_callables(X):
    y = (X[:, 0] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    adapter = assay.wrap(clf, batch_size=4)
    out = adapter.map_batches(lambda batch, index: clf.decision_function(batch), X)
    assert_allclose(out, clf.decision_function(X))
    with pytest.raises(AssayInputError, match="map_batches\\(grad=True\\)' needs a PyTorch model"):
        adapter.map_batches(lambda b, i: b, X, grad=True)
    f = assay.wrap(lambda batch: batch[:, :2], batch_size=6)
    assert_allclose(f.map_batches(lambda batch, index: batch * 2, X), X * 2)


def test_odin_batched_equals_the_full_batch_reference(net, X):
    T, eps = 5.0, 0.02
    net.eval()
    x = torch.from_numpy(X).requires_grad_(True)
    logits = net(x).double()
    torch.log_softmax(logits / T, dim=1).gather(1, logits.argmax(1, keepdim=True)).sum().backward()
    with torch.no_grad():
        expected = -scipy_softmax(net(torch.from_numpy(X) + eps * torch.sign(x.grad)).double().numpy() / T,
                                  axis=1).max(axis=1)
    net.train()
    scores = ODIN(net, temperature=T, epsilon=eps, batch_size=4).score(X)
    assert_allclose(scores, expected, rtol=1e-6)
    assert net.training
    with pytest.raises(AssayInputError, match="'X' must be floating point"):
        ODIN(net, epsilon=0.0).score(X.astype(np.int64))


def test_odin_on_a_one_logit_model(X):
    torch.manual_seed(1)
    net = torch.nn.Linear(5, 1)
    T, eps = 2.0, 0.05
    x = torch.from_numpy(X).requires_grad_(True)
    d = net(x).double()
    logits = torch.cat([-d / 2, d / 2], dim=1)
    torch.log_softmax(logits / T, dim=1).gather(1, logits.argmax(1, keepdim=True)).sum().backward()
    with torch.no_grad():
        d2 = net(torch.from_numpy(X) + eps * torch.sign(x.grad)).double()
    expected = -scipy_softmax(torch.cat([-d2 / 2, d2 / 2], dim=1).numpy() / T, axis=1).max(axis=1)
    assert_allclose(ODIN(net, temperature=T, epsilon=eps, batch_size=6).score(X), expected, rtol=1e-6)
