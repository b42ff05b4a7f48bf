"""The model fingerprint depends on what determines predictions, and is equal across processes."""

import json
import os
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assay import wrap
from assay.audit import Audit
from assay.audit._fingerprint import _hash_of, model_fingerprint

_SCRIPT = """
import json, sys, joblib, torch
from assay import wrap
from assay.audit._fingerprint import model_fingerprint
out = {}
for name, path in json.loads(sys.argv[1]).items():
    model = (torch.load(path, weights_only=False) if path.endswith(".pt") else torch.jit.load(path)
             if path.endswith(".ts") else joblib.load(path))
    out[name] = model_fingerprint(wrap(model))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    fitted = {
        "logistic": LogisticRegression().fit(X, y),
        "boosting": GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y),
        "forest": RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y),
        "torch": net,
    }
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name, model in fitted.items():
        path = folder / (f"{name}.pt" if name == "torch" else f"{name}.joblib")
        torch.save(model, path) if name == "torch" else joblib.dump(model, path)
        paths[name] = str(path)
    torch.jit.script(net).save(str(folder / "script.ts"))
    paths["torchscript"] = str(folder / "script.ts")
    fitted["torchscript"] = torch.jit.load(paths["torchscript"])
    return X, y, fitted, paths


def _in_subprocess(paths):
    env = dict(os.environ, PYTHONHASHSEED="random")
    done = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(paths)], capture_output=True, text=True,
                          env=env, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_same_fingerprint_in_two_processes(models):
    _, _, fitted, paths = models
    first, second = _in_subprocess(paths), _in_subprocess(paths)
    assert first == second
    here = {name: model_fingerprint(wrap(model)) for name, model in fitted.items()}
    assert here == first  # and equal to the in-memory model's, before it was saved
    assert len(set(here.values())) == len(here)
    assert isinstance(fitted["torchscript"], torch.jit.ScriptModule)
    for name in ("logistic", "boosting", "forest", "pipeline"):  # by their state, not a probe of predictions
        assert _hash_of(fitted[name], 0, set())


def test_fingerprint_changes_with_what_predicts(models):
    X, y, fitted, _ = models
    same = LogisticRegression().fit(X, y)
    assert model_fingerprint(wrap(same)) == model_fingerprint(wrap(fitted["logistic"]))
    other_params = LogisticRegression(C=0.01).fit(X, y)
    other_data = LogisticRegression().fit(X[:200], y[:200])
    prints = {model_fingerprint(wrap(m)) for m in (fitted["logistic"], other_params, other_data)}
    assert len(prints) == 3
    net = fitted["torch"]
    before = model_fingerprint(wrap(net))
    with torch.no_grad():
        net[0].weight[0, 0] += 1.0
    assert model_fingerprint(wrap(net)) != before
    with torch.no_grad():
        net[0].weight[0, 0] -= 1.0


def _scores_a(X):
    p = 1 / (1 + np.exp(-np.asarray(X)[:, 0]))
    return np.column_stack([1 - p, p])


def _scores_b(X):
    p = 1 / (1 + np.exp(-np.asarray(X)[:, 1]))
    return np.column_stack([1 - p, p])


def test_a_function_is_fingerprinted_by_its_predictions_on_a_probe(models):
    X, _, _, _ = models
    probe = X[:64]
    a = model_fingerprint(wrap(_scores_a, output="probabilities"), probe=probe)
    assert a == model_fingerprint(wrap(_scores_a, output="probabilities"), probe=probe)
    _scores_b.__qualname__ = _scores_a.__qualname__  # same name, other behaviour
    assert model_fingerprint(wrap(_scores_b, output="probabilities"), probe=probe) != a


def test_audit_of_a_reloaded_model_resumes(models, tmp_path):
    X, y, fitted, paths = models
    data = {"train": (X[:200], y[:200]), "test": (X[200:], y[200:])}
    first = Audit(fitted["boosting"], data, progress=False).run(tmp_path)
    second = Audit(joblib.load(paths["boosting"]), data, progress=False).run(tmp_path)
    assert second.resumed == first.computed and second.computed == ()
