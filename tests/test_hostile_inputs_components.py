"""Hostile inputs for the components: bad model outputs, bad detector and check parameters, pickles as .pt."""

import pickle

import numpy as np
import pytest
import torch

import assay
from assay import AssayInputError
from assay.audit.base import registered_checks
from assay.ood import GEN, KNN, ODIN, Energy, GaussianMixtureDetector, IsolationForestDetector, Mahalanobis, ReAct

X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)


class Returns(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.lin(x))


class DuckClassifier:
    """Duck-typed scikit-learn classifier (fit + predict_proba) whose output is broken."""

    def __init__(self, proba):
        self.proba = proba

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return self.proba(X)


def torch_proba(fn, **kw):
    return lambda: assay.wrap(Returns(fn), **kw).predict_proba(X)


def sk_proba(fn):
    return lambda: assay.wrap(DuckClassifier(fn)).predict_proba(X)


def call_proba(fn):
    return lambda: assay.wrap(fn).predict_proba(X)


CASES = [
    # ---- model outputs (issue 21 items 3 and 5), whatever the model kind
    pytest.param(torch_proba(lambda z: z.sum()), ["model output", "one row per input row", "10", "()"],
                 id="wrap(torch).predict_proba: one number per batch"),
    pytest.param(torch_proba(lambda z: z.sum().reshape(1)), ["model output", "10", "(1,)", "whole batch"],
                 id="wrap(torch).predict_proba: one value of shape (1,) per batch"),
    pytest.param(torch_proba(lambda z: z[:-1]), ["model output", "10", "(9, 2)"],
                 id="wrap(torch).predict_proba: n - 1 rows"),
    pytest.param(torch_proba(lambda z: z[:-1], batch_size=4), ["model output", "4", "(3, 2)"],
                 id="wrap(torch, batch_size=4).predict_proba: n - 1 rows per batch"),
    pytest.param(torch_proba(lambda z: z[:, :, None]), ["model output", "(n,) or (n, k)", "(10, 2, 1)"],
                 id="wrap(torch).predict_proba: 3-D output"),
    pytest.param(torch_proba(lambda z: torch.complex(z, z)), ["model output", "real numeric", "complex"],
                 id="wrap(torch).predict_proba: complex output"),
    pytest.param(torch_proba(lambda z: z / 0 * 0), ["model output", "NaN or infinite"],
                 id="wrap(torch).predict_proba: NaN output"),
    pytest.param(sk_proba(lambda X: np.full((len(X) - 1, 2), 0.5)), ["model output", "10", "(9, 2)"],
                 id="wrap(duck sklearn).predict_proba: n - 1 rows"),
    pytest.param(sk_proba(lambda X: np.array(["yes"] * len(X))), ["model output", "numeric", "<U3"],
                 id="wrap(duck sklearn).predict_proba: strings"),
    pytest.param(sk_proba(lambda X: 0.5), ["model output", "one row per input row", "()"],
                 id="wrap(duck sklearn).predict_proba: a scalar"),
    pytest.param(call_proba(lambda b: ["yes"] * len(b)), ["model output", "numeric", "<U3"],
                 id="wrap(callable).predict_proba: strings"),
    pytest.param(call_proba(lambda b: None), ["model output", "numeric", "None"],
                 id="wrap(callable).predict_proba: None"),
    pytest.param(call_proba(lambda b: [[1.0, 2.0]] + [[1.0]] * (len(b) - 1)), ["model output", "numeric"],
                 id="wrap(callable).predict_proba: ragged lists"),
    pytest.param(call_proba(lambda b: np.ones(len(b) - 1)), ["model output", "10", "(9,)"],
                 id="wrap(callable).predict_proba: n - 1 rows"),
    pytest.param(call_proba(lambda b: np.ones((len(b), 2, 2))), ["model output", "(n,) or (n, k)", "(10, 2, 2)"],
                 id="wrap(callable).predict_proba: 3-D output"),
    pytest.param(call_proba(lambda b: np.array([{"p": 1}] * len(b))), ["model output", "numeric", "object"],
                 id="wrap(callable).predict_proba: objects"),
    # ---- detector parameters: refused at fit/score, naming the class and the parameter
    pytest.param(lambda: Energy(temperature=0).score(np.zeros((2, 2))), ["Energy", "'temperature'", "Got 0"],
                 id="Energy.score: temperature=0"),
    pytest.param(lambda: Energy(temperature=float("nan")).score(np.zeros((2, 2))), ["Energy", "'temperature'", "nan"],
                 id="Energy.score: temperature=nan"),
    pytest.param(lambda: Energy(temperature="1").score(np.zeros((2, 2))), ["Energy", "'temperature'", "'1'"],
                 id="Energy.score: temperature as a string"),
    pytest.param(lambda: GEN(top_m=True).score(np.zeros((2, 2))), ["GEN", "'top_m'", "True"],
                 id="GEN.score: top_m=True"),
    pytest.param(lambda: ODIN(epsilon=-1.0).score(np.zeros((2, 2))), ["ODIN", "'epsilon'", "-1.0"],
                 id="ODIN.score: negative epsilon"),
    pytest.param(lambda: KNN(k=0).fit(np.zeros((5, 2))), ["KNN", "'k'", "Got 0"], id="KNN.fit: k=0"),
    pytest.param(lambda: KNN(random_state=-3).fit(np.zeros((5, 2))), ["KNN", "'random_state'", "-3"],
                 id="KNN.fit: negative random_state"),
    pytest.param(lambda: Mahalanobis(layer=3).fit(np.zeros((5, 2)), [0, 1, 0, 1, 0]), ["Mahalanobis", "'layer'", "3"],
                 id="Mahalanobis.fit: layer=3"),
    pytest.param(lambda: ReAct(percentile=0).fit(np.zeros((5, 2))), ["ReAct", "'percentile'"],
                 id="ReAct.fit: percentile=0"),
    pytest.param(lambda: GaussianMixtureDetector(covariance_type="ful").fit(np.zeros((5, 2))),
                 ["GaussianMixtureDetector", "'covariance_type'", "'full'", "'ful'"],
                 id="GaussianMixtureDetector.fit: unknown covariance_type"),
    pytest.param(lambda: IsolationForestDetector(random_state=np.random.default_rng(0)).fit(np.zeros((5, 2))),
                 ["IsolationForestDetector", "'random_state'", "Generator"],
                 id="IsolationForestDetector.fit: a Generator scikit-learn cannot take"),
    pytest.param(lambda: Energy(batch_size=0).score(np.zeros((2, 2))), ["Energy", "'batch_size'"],
                 id="Energy.score: batch_size=0"),
    pytest.param(lambda: Energy(progress="yes").score(np.zeros((2, 2))), ["Energy", "'progress'", "'yes'"],
                 id="Energy.score: progress='yes'"),
    pytest.param(lambda: KNN().set_params(kk=1), ["'kk'", "KNN", "Expected one of"], id="KNN.set_params: unknown"),
    # ---- check parameters: refused at run, naming the check class
    pytest.param(lambda: registered_checks()["calibration"](n_bins=0).run(None), ["CalibrationCheck", "'n_bins'"],
                 id="CalibrationCheck.run: n_bins=0"),
    pytest.param(lambda: registered_checks()["ood"](tpr=1.0).run(None), ["OODCheck", "'tpr'", "1.0"],
                 id="OODCheck.run: tpr=1"),
    pytest.param(lambda: registered_checks()["ood"](detectors="Energy").run(None), ["OODCheck", "'detectors'"],
                 id="OODCheck.run: detectors as one string"),
    pytest.param(lambda: registered_checks()["fairness"](intersections="no").run(None), ["FairnessCheck", "'intersections'"],
                 id="FairnessCheck.run: intersections='no'"),
    pytest.param(lambda: registered_checks()["group_performance"](n_boot=-1).run(None), ["GroupPerformanceCheck", "'n_boot'"],
                 id="GroupPerformanceCheck.run: n_boot=-1"),
]


@pytest.mark.parametrize("call, words", CASES)
def test_refused_components(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("protocol", [2, 5])
def test_refused_components_pickle_renamed_pt(tmp_path, protocol):
    """load_model: a plain pickle renamed .pt says it holds pickled objects and how to opt in."""
    from assay.io import load_model

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=protocol))
    with pytest.raises(AssayInputError) as info:
        load_model(str(path))
    for word in ("pickled Python objects", "--trust-model-file", "trust_model_file=True"):
        assert word in str(info.value)
