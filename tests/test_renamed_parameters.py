"""One name per idea: ``random_state`` (old ``seed``) and ``confidence_level`` (old ``ci_level`` and
``confidence``); the old names still work with a FutureWarning, never beside the new ones."""

import dataclasses
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
from assay.metrics import GroupedStats, evaluate_groups, evaluate_groups_batches
from assay.metrics.intervals import wilson_interval
from assay.models import fit_torch_classifier, train_sklearn_model, train_tabular_mlp


def _old_and_new(call, value=3, *, old="seed", new="random_state", other=None):
    """``call(old=value)`` warns once (at this file) and equals ``call(new=value)``; both is an error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = call(**{old: value})
    deprecations = [w for w in caught if w.category is FutureWarning]
    assert len(deprecations) == 1 and f"'{old}' parameter" in str(deprecations[0].message)
    assert deprecations[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        after = call(**{new: value})
    with pytest.raises(AssayInputError, match=rf"'{old}'.*deprecated alias of '{new}'.*got both"):
        call(**{new: value + 1 if other is None else other, old: value})
    return before, after


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


def test_confidence_level_aliases():
    _, y, pred, group = _binary()
    level = {"value": 0.9, "old": "ci_level", "new": "confidence_level", "other": 0.8}
    for call in (lambda **kw: evaluate_groups(y, pred, sensitive_features=group, n_boot=30, random_state=0, **kw),
                 lambda **kw: evaluate_groups_batches([(y, pred, None, group)], n_boot=30, random_state=0, **kw),
                 lambda **kw: GroupedStats().update(y, pred, sensitive_features=group).compute(
                     n_boot=30, random_state=0, **kw)):
        before, after = _old_and_new(call, **level)
        assert before == after and after.params["confidence_level"] == 0.9
        assert after.difference_ci().equals(before.difference_ci())
    level["old"] = "confidence"
    before, after = _old_and_new(lambda **kw: af.fairness_report(y, pred, sensitive_features=group, n_boot=30,
                                                                 random_state=0, **kw), **level)
    assert before == after and after.params["confidence_level"] == 0.9
    for call in (lambda **kw: af.two_proportion_test(3, 10, 6, 10, **kw),
                 lambda **kw: af.gap_test(y, pred, sensitive_features=group, **kw),
                 lambda **kw: af.disparate_impact_null(pred, sensitive_features=group, n_resamples=50,
                                                       random_state=0, **kw)):
        before, after = _old_and_new(call, **level)
        assert before == after and after.confidence == 0.9
    before, after = _old_and_new(lambda **kw: wilson_interval([3, 4], [10, 10], **kw), **level)
    assert np.array_equal(before, after)


def test_records_from_before_the_rename_read_their_level():
    _, y, pred, group = _binary()
    table = evaluate_groups(y, pred, sensitive_features=group, n_boot=50, random_state=0, confidence_level=0.8)
    old = dataclasses.replace(table, params={**{k: v for k, v in table.params.items() if k != "confidence_level"},
                                             "ci_level": 0.8})
    assert old.difference_ci().equals(table.difference_ci())
