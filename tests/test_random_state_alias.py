"""``random_state`` is the one name of a seed; ``seed=`` still works (FutureWarning), never beside it."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import assay.fairness as af
from assay import AssayInputError
from assay.audit import Audit, AuditContext
from assay.data_checks import proxy_features, run_data_checks, single_feature_predictiveness, train_test_overlap
from assay.datasets import load_digits_split, load_german_credit, load_text_domains
from assay.demo import run_demo
from assay.models import fit_torch_classifier, train_sklearn_model, train_tabular_mlp


def _old_and_new(call, value=3):
    """``call(seed=value)`` warns once (at this file) and equals ``call(random_state=value)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = call(seed=value)
    deprecations = [w for w in caught if w.category is FutureWarning]
    assert len(deprecations) == 1 and "'seed' parameter" in str(deprecations[0].message)
    assert deprecations[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        new = call(random_state=value)
    with pytest.raises(AssayInputError, match=r"'seed'.*deprecated alias of 'random_state'.*got both"):
        call(random_state=value + 1, seed=value)
    return old, new


def _binary(n=400):
    rng = np.random.default_rng(0)
    group = rng.choice(["a", "b"], size=n)
    y = rng.integers(0, 2, size=n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    X = pd.DataFrame({"x": y + rng.normal(size=n), "c": rng.choice(["u", "v"], size=n)})
    return X, y, pred, pd.Series(group, name="g")


def test_fairness_seed_alias():
    _, y, pred, group = _binary()
    old, new = _old_and_new(lambda **kw: af.fairness_report(y, pred, sensitive_features=group, n_boot=30, **kw))
    assert old == new and new.params["random_state"] == 3
    old, new = _old_and_new(lambda **kw: af.disparate_impact_null(pred, sensitive_features=group, n_resamples=50,
                                                                  **kw))
    assert old == new


def test_data_checks_seed_alias():
    X, y, _, group = _binary()
    frame = X.assign(t=y, g=group)
    old, new = _old_and_new(lambda **kw: run_data_checks(frame[:300], frame[300:], target="t",
                                                         sensitive_features="g", cv=2, **kw))
    assert old.to_dict() == new.to_dict()
    for call in (lambda **kw: single_feature_predictiveness(X, y, cv=2, **kw),
                 lambda **kw: proxy_features(X, group, cv=2, **kw),
                 lambda **kw: train_test_overlap(X[:300], X[300:], max_rows=20, **kw)):
        old, new = _old_and_new(call)
        assert old == new and new.params["random_state"] == 3


def test_datasets_seed_alias():
    old, new = _old_and_new(lambda **kw: load_german_credit(**kw))
    assert old.test.X.equals(new.test.X)
    old, new = _old_and_new(lambda **kw: load_text_domains(n_reviews=20, n_ood=5, **kw))
    assert old.reviews == new.reviews
    old, new = _old_and_new(lambda **kw: load_digits_split(**kw))
    assert torch.equal(old.test.X, new.test.X)


def test_models_seed_alias():
    X, y, _, _ = _binary(200)
    old, new = _old_and_new(lambda **kw: train_sklearn_model(X, y, categorical_features=["c"],
                                                             numeric_features=["x"], **kw))
    assert np.array_equal(old.predict_proba(X), new.predict_proba(X))
    Z = X[["x"]].to_numpy(np.float32)
    old, new = _old_and_new(lambda **kw: train_tabular_mlp(Z, y, epochs=1, hidden=(4,), **kw))
    assert old.training_history_.train_loss == new.training_history_.train_loss
    assert new.training_history_.random_state == new.training_history_.seed == 3
    old, new = _old_and_new(lambda **kw: fit_torch_classifier(torch.nn.Linear(1, 2), Z, y, epochs=1, **kw))
    assert old.training_history_.train_loss != [] and new.training_history_.random_state == 3


def test_audit_seed_alias_and_context_alias():
    old, new = _old_and_new(lambda **kw: Audit(None, {}, **kw))
    assert old.random_state == new.random_state == 3
    context = AuditContext(None, {}, random_state=5)
    assert context.seed == 5
    with pytest.raises(AttributeError):
        context.seed = 6


def test_demo_refuses_both_names():
    with pytest.raises(AssayInputError, match="'seed'.*got both"):
        run_demo("unused", random_state=1, seed=2)
