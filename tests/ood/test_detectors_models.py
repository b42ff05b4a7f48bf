"""OOD detectors with a torch model: same numbers as on the adapter's arrays, batch-size invariant,
one forward pass per split for detectors sharing an adapter, and a small digits experiment."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from scipy.special import softmax as scipy_softmax
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import assay
from assay.core.errors import AssayInputError
from assay.ood import (
    GEN, KNN, ODIN, Energy, Entropy, KLMatching, Mahalanobis, MaxLogit, MaxSoftmax, ReAct,
    RelativeMahalanobis, ViM,
)


class Net(torch.nn.Module):
    def __init__(self, n_in=5, n_out=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.body = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU())
        self.penultimate = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU())
        self.head = torch.nn.Linear(8, n_out)

    def forward(self, x):
        return self.head(self.penultimate(self.body(x)))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(120, 5)).astype(np.float32), rng.normal(size=(77, 5)).astype(np.float32)


def make_all(model, **kw):
    return [MaxSoftmax(model, **kw), MaxLogit(model, **kw), Energy(model, temperature=2.0, **kw),
            Entropy(model, **kw), GEN(model, **kw), KLMatching(model, **kw),
            Mahalanobis(model, **kw), RelativeMahalanobis(model, **kw), KNN(model, k=5, **kw),
            ViM(model, dim=3, **kw), ReAct(model, **kw), Mahalanobis(model, layer=["body", "penultimate"], **kw)]


def test_model_path_equals_array_path_on_the_adapters_outputs(data):
    fit, test = data
    model = Net()
    adapter = assay.wrap(model)
    logits_fit, logits_test = adapter.logits(fit), adapter.logits(test)
    emb = lambda X: adapter.embeddings(X, "penultimate", flatten=True)  # noqa: E731
    W, b = model.head.weight.detach().double().numpy(), model.head.bias.detach().double().numpy()
    pred = logits_fit.argmax(axis=1)
    pairs = [
        (MaxSoftmax(model), MaxSoftmax(), "logits"), (MaxLogit(model), MaxLogit(), "logits"),
        (Energy(model, temperature=2.0), Energy(temperature=2.0), "logits"),
        (Entropy(model), Entropy(), "logits"), (GEN(model), GEN(), "logits"),
        (KLMatching(model), KLMatching(), "logits"),
        (Mahalanobis(model), Mahalanobis(), "features"),
        (RelativeMahalanobis(model), RelativeMahalanobis(), "features"),
        (KNN(model, k=5), KNN(k=5), "features"),
        (ViM(model, dim=3), ViM(dim=3, weight=W, bias=b), "features"),
        (ReAct(model), ReAct(weight=W, bias=b), "features"),
    ]
    for with_model, on_arrays, kind in pairs:
        rep_fit, rep_test = (logits_fit, logits_test) if kind == "logits" else (emb(fit), emb(test))
        with_model.fit(fit)
        on_arrays.fit(rep_fit, pred if with_model.needs_fit and kind == "features" else None)
        assert_allclose(with_model.score(test), on_arrays.score(rep_test), rtol=1e-10, atol=1e-12,
                        err_msg=type(with_model).__name__)


def test_multi_layer_mahalanobis_sums_the_layers(data):
    fit, test = data
    adapter = assay.wrap(Net())
    pred = adapter.logits(fit).argmax(axis=1)
    both = Mahalanobis(adapter, layer=["body", "penultimate"]).fit(fit)
    parts = [Mahalanobis().fit(adapter.embeddings(fit, name, flatten=True), pred).score(
        adapter.embeddings(test, name, flatten=True)) for name in ("body", "penultimate")]
    assert_allclose(both.score(test), parts[0] + parts[1], rtol=1e-10)
    assert set(both.means_) == {"body", "penultimate"}


def test_scores_do_not_depend_on_the_batch_size(data):
    fit, test = data
    small = make_all(Net(), batch_size=7) + [ODIN(Net(), batch_size=7)]
    large = make_all(Net(), batch_size=256) + [ODIN(Net(), batch_size=256)]
    for a, b in zip(small, large):
        a.fit(fit)
        b.fit(fit)
        assert_allclose(a.score(test), b.score(test), rtol=1e-6, atol=1e-6, err_msg=type(a).__name__)


def test_shared_adapter_runs_one_forward_pass_per_split(data):
    fit, test = data
    model = Net()
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    adapter = assay.wrap(model, batch_size=1000)
    detectors = make_all(adapter)
    assert adapter.capture_layers == []  # constructors have no side effects
    assay.ood.capture_layers(detectors)  # declared before the first pass, by the user
    assert adapter.capture_layers == ["penultimate", "body"]
    for det in detectors:  # a logit detector first: the layers the others need are captured
        det.fit(fit)
        det.score(test)
    assert sorted(adapter.forward_passes_.values()) == [1, 1]
    assert len(calls) == 2


def test_odin_perturbs_the_input_against_the_gradient(data):
    _, test = data
    model = Net()
    T, eps = 10.0, 0.01
    x = torch.from_numpy(test).requires_grad_(True)
    logits = model(x).double()
    log_s = torch.log_softmax(logits / T, dim=1)
    log_s.gather(1, logits.argmax(1, keepdim=True)).sum().backward()
    x_new = (torch.from_numpy(test) + eps * torch.sign(x.grad)).detach()  # x - eps sign(-grad log S)
    with torch.no_grad():
        expected = -scipy_softmax(model(x_new).double().numpy() / T, axis=1).max(axis=1)
    det = ODIN(model, temperature=T, epsilon=eps)
    assert_allclose(det.score(test), expected, rtol=1e-6)
    # the perturbation raises the confidence (lowers the score) of in-distribution-like inputs
    plain = ODIN(model, temperature=T, epsilon=0.0).score(test)
    assert np.mean(det.score(test) < plain) > 0.9


def test_model_errors_name_the_argument(data):
    fit, test = data
    with pytest.raises(AssayInputError, match="'layer' names 'nope'.*Expected one of: body"):
        Mahalanobis(Net(), layer="nope").fit(fit)
    with pytest.raises(AssayInputError, match="'head' names 'body'.*Expected one of"):
        ViM(Net(), head="body").fit(fit)
    with pytest.raises(AssayInputError, match="'layer'.*8 features"):
        ReAct(Net(), layer="body").fit(fit)
    y = (fit[:, 0] > 0).astype(int)
    sk = LogisticRegression().fit(fit, y)
    for det in (Mahalanobis(sk), KNN(sk), ViM(sk), ODIN(sk)):
        with pytest.raises(AssayInputError, match="'model'.*PyTorch"):
            det.fit(fit).score(test)
    assert_allclose(MaxLogit(sk).score(test), -assay.wrap(sk).logits(test).max(axis=1))
    det = KNN(Net(), k=3).fit(fit)
    with pytest.raises(AssayInputError, match="'X'"):
        det.score(test[:, :4])  # the model cannot run on it
    nan = test.copy()
    nan[0, 0] = np.nan
    with pytest.raises(AssayInputError, match="finite|NaN"):
        Energy(Net()).score(nan)


def test_digits_feature_detectors_vs_max_softmax_on_held_out_classes():
    """Digits 8 and 9 never trained on, averaged over three seeds (split and training).

    Measured here (AUROC, seeds 0/1/2): MSP 0.972/0.972/0.956, KNN(k=1) 0.974/0.980/0.980,
    Mahalanobis 0.933/0.925/0.936. KNN beats MSP on average, Mahalanobis on the 64-d embedding
    does not (see benchmarks/README.md); the margin asserted is half the measured mean margin.
    """
    from assay.datasets import load_digits_split
    from assay.models import train_digits_cnn

    aurocs = {"MaxSoftmax": [], "KNN": [], "Mahalanobis": [], "Energy": []}
    for seed in (0, 1, 2):
        data = load_digits_split(random_state=seed)
        known = lambda s: s.y.numpy() < 8  # noqa: E731
        X_train, y_train = data.train.X[known(data.train)], data.train.y[known(data.train)]
        model = train_digits_cnn(X_train, y_train, random_state=seed, epochs=15, n_classes=8)
        adapter = assay.wrap(model)
        is_ood = ~known(data.test)
        assay.ood.capture_layers([Mahalanobis(adapter)])
        # k scaled to the bank size as the paper does (k=50 for 50,000 images; ~900 here).
        for det in (MaxSoftmax(adapter), Energy(adapter), Mahalanobis(adapter), KNN(adapter, k=1)):
            det.fit(X_train, y_train)
            aurocs[type(det).__name__].append(roc_auc_score(is_ood, det.score(data.test.X)))
        assert sorted(adapter.forward_passes_.values()) == [1, 1]
    mean = {name: float(np.mean(values)) for name, values in aurocs.items()}
    print(aurocs)
    assert all(a > 0.85 for values in aurocs.values() for a in values), aurocs
    assert mean["KNN"] > mean["MaxSoftmax"] + 0.005, mean
