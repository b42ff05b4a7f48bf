"""The audit runs each check once, records failures, resumes after a crash, counts passes."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError, Result
from assay.audit import CHECKS, Audit, Check, register_check
from assay.audit.base import AuditContext


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    n = 1200

    def make(n, shift=0.0):
        sex = rng.choice(["F", "M"], n)
        race = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
        x1 = rng.normal(shift, 1, n) + (sex == "M") * 0.5
        x2 = rng.normal(0, 1, n)
        y = (x1 + x2 + rng.normal(0, 0.7, n) > 0.4).astype(int)
        return pd.DataFrame({"x1": x1, "x2": x2, "sex": sex, "race": race, "label": y})

    train, test = make(n), make(n // 2)
    model = LogisticRegression().fit(train[["x1", "x2"]], train["label"])
    return train, test, model


CALLS = {}  # predict_proba calls per wrapper, kept outside the model so its state (and hash) is unchanged


class _FeatureModel:
    """A scikit-learn-like wrapper selecting the numeric columns, counting predict_proba calls."""

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_

    @property
    def calls(self):
        return CALLS.get(id(self), 0)

    def fit(self, X, y):  # pragma: no cover - never refitted
        return self

    def predict_proba(self, X):
        CALLS[id(self)] = self.calls + 1
        return self.model.predict_proba(X[["x1", "x2"]])


@dataclasses.dataclass(frozen=True)
class CountResult(Result):
    value: float


RUNS = {"counted_a": 0, "counted_b": 0, "exploding": 0}


class _Counted(Check):
    section = "test"
    needs = frozenset({"model", "labels"})
    order = 900

    def run(self, context: AuditContext):
        RUNS[self.name] += 1
        return CountResult(float(context.predict().mean()))

    def summarize(self, result):
        return {"value": result.value}


class CountedA(_Counted):
    name = "counted_a"


class CountedB(_Counted):
    name = "counted_b"


class Exploding(Check):
    name = "exploding"
    needs = frozenset({"model"})
    order = 950
    crash = False  # KeyboardInterrupt (not caught: simulates a killed process) vs a plain error

    def run(self, context):
        RUNS[self.name] += 1
        if Exploding.crash:
            raise KeyboardInterrupt
        raise RuntimeError("boom")


def test_auto_selects_applicable_checks_and_one_forward_pass(frames):
    train, test, model = frames
    wrapped = _FeatureModel(model)
    result = Audit(wrapped, {"train": train, "test": test}, target="label", sensitive_features=["sex", "race"],
                   progress=False).run()
    assert {"group_performance", "calibration"} <= set(result.records)
    assert all(r["status"] == "ok" for r in result.records.values())
    assert wrapped.calls == 1  # every check reused one pass over the test split
    assert result.forward_passes == {"test": 1}
    json.dumps(result.to_dict(), allow_nan=False)


def test_checks_needing_sensitive_features_are_skipped_with_a_reason(frames):
    train, test, model = frames
    result = Audit(_FeatureModel(model), {"test": test}, target="label", progress=False).run()
    assert "fairness" in result.skipped and "sensitive_features" in result.skipped["fairness"]
    with pytest.raises(AssayInputError, match="'checks' asks for 'fairness'.*sensitive_features"):
        Audit(_FeatureModel(model), {"test": test}, target="label", checks=["fairness"]).run()
    # performance is always reported: overall only, without groups
    assert result.records["group_performance"]["summary"].keys() == {"overall_accuracy", "overall_balanced_accuracy"}


def test_failing_check_is_recorded_and_audit_goes_on(frames, tmp_path):
    train, test, model = frames
    Exploding.crash = False
    result = Audit(_FeatureModel(model), {"test": test}, target="label", sensitive_features=["sex"],
                   checks=[Exploding(), "group_performance"], progress=False).run(tmp_path)
    assert result.records["exploding"]["status"] == "error"
    assert "RuntimeError: boom" in result.records["exploding"]["error"]
    assert result.records["group_performance"]["status"] == "ok"
    assert result.worst_severity == "error"  # a crash is not a model that failed: its own level, above fail
    assert result.errors == {"exploding": "RuntimeError: boom"}
    assert [f.message for f in result.findings if f.check == "exploding"] == [
        "The check raised an error: RuntimeError: boom"]
    assert all(f.severity == "error" for f in result.findings if f.check == "exploding")


def test_resume_after_a_crash_does_not_recompute_finished_checks(frames, tmp_path):
    train, test, model = frames
    for key in RUNS:
        RUNS[key] = 0
    checks = [CountedA(), CountedB(), Exploding()]
    audit = Audit(_FeatureModel(model), {"test": test}, target="label", checks=checks, progress=False)
    Exploding.crash = True
    with pytest.raises(KeyboardInterrupt):
        audit.run(tmp_path)
    assert RUNS == {"counted_a": 1, "counted_b": 1, "exploding": 1}
    assert sorted(p.name for p in (tmp_path / "checks").glob("*.json")) == ["counted_a.json", "counted_b.json"]
    Exploding.crash = False
    result = audit.run(tmp_path)
    assert RUNS == {"counted_a": 1, "counted_b": 1, "exploding": 2}  # only the unfinished check ran again
    assert result.resumed == ("counted_a", "counted_b") and result.computed == ("exploding",)
    assert result.records["counted_a"]["summary"]["value"] == pytest.approx(
        float(model.predict(test[["x1", "x2"]]).mean()))


def test_resume_refuses_a_directory_of_another_run(frames, tmp_path):
    train, test, model = frames
    Audit(_FeatureModel(model), {"test": test}, target="label", checks=[CountedA()], progress=False).run(tmp_path)
    other = test.assign(x1=test["x1"] + 1)
    with pytest.raises(AssayInputError, match="'run_dir'.*different"):
        Audit(_FeatureModel(model), {"test": other}, target="label", checks=[CountedA()]).run(tmp_path)
    fresh = Audit(_FeatureModel(model), {"test": other}, target="label", checks=[CountedA()], progress=False)
    assert fresh.run(tmp_path, resume=False).computed == ("counted_a",)


def test_thresholds_change_findings(frames):
    train, test, model = frames
    lenient = Audit(_FeatureModel(model), {"test": test}, target="label", sensitive_features=["sex"],
                    checks=["calibration"], thresholds={"ece_warn": 1.0, "ece_fail": 1.0}, progress=False).run()
    assert all(f.severity == "pass" for f in lenient.findings)
    strict = Audit(_FeatureModel(model), {"test": test}, target="label", sensitive_features=["sex"],
                   checks=["calibration"], thresholds={"ece_warn": 0.0, "ece_fail": 0.0}, progress=False).run()
    assert all(f.severity == "fail" for f in strict.findings)


def test_audit_thresholds_reach_the_data_checks(frames, tmp_path):
    train, test, model = frames
    data = {"train": train, "test": test}

    def balance_severities(thresholds, run_dir=None):
        result = Audit(None, data, target="label", sensitive_features=["sex"], checks=["data_quality"],
                       thresholds=thresholds, progress=False).run(run_dir)
        return {f.severity for f in result.findings if f.metric == "class_balance"}

    assert "warn" in balance_severities({"imbalance_ratio": 1.0, "base_rate_difference": 1.0})
    assert "warn" not in balance_severities({"imbalance_ratio": 100.0, "base_rate_difference": 1.0})
    # they change what the check computes, so a run directory made with others is another run
    balance_severities({"imbalance_ratio": 100.0}, tmp_path)
    with pytest.raises(AssayInputError, match="'run_dir'.*different"):
        balance_severities({"imbalance_ratio": 1.0}, tmp_path)


def test_bad_arguments(frames):
    train, test, model = frames
    with pytest.raises(AssayInputError, match="'target' 'income' is not a column of data\\['test'\\]"):
        Audit(model, {"test": test}, target="income").run()
    with pytest.raises(AssayInputError, match="'sensitive_features' names \\['gender'\\]"):
        Audit(model, {"test": test}, target="label", sensitive_features=["gender"]).run()
    with pytest.raises(AssayInputError, match="'checks' names unknown check 'nope'"):
        Audit(model, {"test": test}, target="label", checks=["nope"]).run()
    with pytest.raises(AssayInputError, match="'eval_split' 'valid'"):
        Audit(model, {"test": test}, target="label", eval_split="valid").run()
    with pytest.raises(AssayInputError, match="'thresholds' has unknown keys"):
        Audit(model, {"test": test}, target="label", thresholds={"ece": 0.1}).run()
    with pytest.raises(AssayInputError, match="'data' must be a non-empty dict"):
        Audit(model, [], target="label").run()


def test_register_check_validates():
    class NoName(Check):
        pass

    with pytest.raises(AssayInputError, match="non-empty 'name'"):
        register_check(NoName)

    class BadNeeds(Check):
        name = "bad_needs"
        needs = frozenset({"telepathy"})

    with pytest.raises(AssayInputError, match="unknown needs.*register_need"):
        register_check(BadNeeds)
    assert "bad_needs" not in CHECKS
