"""A check written outside assay plugs in with no edit to the package: it brings its own
threshold and needs, runs, renders in report.html, gates, and resumes.

This module is also the example of "How to add a check" in docs/DESIGN.md.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay import Result
from assay.audit import CHECKS, NEEDS, Audit, Check, grade, known_thresholds, rate, register_check, register_need
from assay.audit.documents import audit_record, write_audit_report
from assay.uncertainty import ConformalClassifier

RUNS = {"n": 0}


@dataclasses.dataclass(frozen=True)
class CoverageResult(Result):
    """Split-conformal prediction sets (fitted on "val"): coverage overall and per group."""

    alpha: float
    qhat: float
    coverage: float
    by_group: pd.DataFrame  # index (feature, group); columns coverage, set_size, count


class ConformalCoverageCheck(Check):
    """Coverage gap between groups of split-conformal prediction sets (LAC score 1 - p_y).

    assay's own ``conformal`` check (``assay.audit.checks.conformal``) is the full version; this
    one shows an outside check building on a package component (``ConformalClassifier``).
    """

    name = "conformal_coverage"
    title = "Conformal coverage by group"
    section = "calibration"
    needs = frozenset({"model", "labels", "sensitive_features", "split:val", "min_rows:50"})
    thresholds = {
        "coverage_gap_warn": rate(0.05, "largest coverage difference between groups that warns",
                                  higher_is_better=False),
        "coverage_gap_fail": rate(0.15, "largest coverage difference between groups that fails",
                                  higher_is_better=False),
    }

    def __init__(self, *, alpha: float = 0.1):
        self.alpha = alpha

    def run(self, context):
        RUNS["n"] += 1
        classes = context.model.classes_
        p_val, y_val = context.predict_proba("val"), np.searchsorted(classes, context.y("val"))
        conformal = ConformalClassifier(method="lac", alpha=self.alpha).fit(p_val, y_val)  # the package's own
        qhat = conformal.threshold_
        p, y = context.predict_proba(), np.searchsorted(classes, context.y())
        sets = conformal.predict_sets(p)
        frame = pd.DataFrame({"covered": sets[np.arange(len(y)), y], "set_size": sets.sum(axis=1)})
        parts = []
        for feature, values in context.sensitive_features().items():
            table = frame.groupby(values.to_numpy()).agg(coverage=("covered", "mean"), set_size=("set_size", "mean"),
                                                         count=("covered", "size"))
            parts.append(table.set_index(pd.MultiIndex.from_product([[feature], table.index])))
        return CoverageResult(self.alpha, qhat, float(frame["covered"].mean()), pd.concat(parts))

    def summarize(self, result):
        gaps = result.by_group["coverage"].groupby(level=0).agg(lambda c: c.max() - c.min())
        return {"coverage": result.coverage, "coverage_gap": {str(k): float(v) for k, v in gaps.items()}}

    def findings(self, summary, thresholds):
        return [grade(self.name, f"coverage_gap[{feature}]", gap, warn=thresholds["coverage_gap_warn"],
                      fail=thresholds["coverage_gap_fail"], higher_is_better=False,
                      what=f"The largest coverage difference between groups of {feature}")
                for feature, gap in summary["coverage_gap"].items()]


@pytest.fixture(scope="module")
def registered():
    register_need("min_rows", lambda context, arg: len(context.X()) >= int(arg) or f"needs {arg} rows")
    register_check(ConformalCoverageCheck)
    yield
    CHECKS.pop("conformal_coverage")
    NEEDS.pop("min_rows")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)

    def make(n):
        group = rng.choice(["u", "v"], n, p=[0.6, 0.4])
        x = rng.normal(0, 1, (n, 2))
        noise = np.where(group == "v", 1.6, 0.5)  # group v is harder: lower coverage
        y = (x[:, 0] + x[:, 1] + rng.normal(0, 1, n) * noise > 0).astype(int)
        return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "group": group, "label": y})

    train, val, test = make(800), make(600), make(900)
    model = LogisticRegression().fit(train[["x1", "x2"]], train["label"])
    splits = {name: (frame[["x1", "x2"]], frame["label"], frame[["group"]])
              for name, frame in {"train": train, "val": val, "test": test}.items()}
    return model, splits


def test_outside_check_runs_with_its_numbers(registered, data):
    model, splits = data
    assert "coverage_gap_warn" in known_thresholds()  # what --threshold accepts
    result = Audit(model, splits, progress=False).run()  # "auto" selects it: its needs are met
    record = result.records["conformal_coverage"]
    assert record["status"] == "ok", record.get("traceback")
    X_val, y_val, _ = splits["val"]
    scores = 1 - model.predict_proba(X_val)[np.arange(len(y_val)), y_val.to_numpy()]
    qhat = np.sort(scores)[int(np.ceil((len(scores) + 1) * 0.9)) - 1]
    X, y, groups = splits["test"]
    covered = model.predict_proba(X)[np.arange(len(y)), y.to_numpy()] >= 1 - qhat
    rates = pd.Series(covered).groupby(groups["group"].to_numpy()).mean()
    assert record["result"]["qhat"] == pytest.approx(qhat, abs=1e-12)
    assert record["summary"]["coverage"] == pytest.approx(covered.mean(), abs=1e-12)
    assert record["summary"]["coverage_gap"]["group"] == pytest.approx(rates.max() - rates.min(), abs=1e-12)
    assert 0.85 <= covered.mean() <= 0.95  # about 1 - alpha: split conformal's guarantee, in expectation
    assert {(r["metric"], r["feature"]) for r in record["headline"]} == {("coverage", None),
                                                                          ("coverage_gap", "group")}
    # without "val", its need is not met: skipped with the reason, the others still run
    without_val = Audit(model, {k: v for k, v in splits.items() if k != "val"}, progress=False).run()
    assert without_val.skipped["conformal_coverage"] == "needs a 'val' split in 'data'"


def test_outside_check_renders_gates_and_resumes(registered, data, tmp_path):
    model, splits = data
    RUNS["n"] = 0

    def audit(thresholds=None, **kwargs):
        return Audit(model, splits, checks=["conformal_coverage"], thresholds=thresholds, progress=False,
                     **kwargs).run(tmp_path / "run")

    lenient = audit({"coverage_gap_warn": 1.0, "coverage_gap_fail": 1.0})
    assert lenient.worst_severity == "pass" and RUNS["n"] == 1
    # a threshold only the findings read: the same run directory resumes, and the gate closes
    strict = audit({"coverage_gap_warn": 0.0, "coverage_gap_fail": 0.0})
    assert strict.resumed == ("conformal_coverage",) and strict.computed == () and RUNS["n"] == 1
    assert strict.worst_severity == "fail"
    # its parameters are part of the run: check_params builds it with another alpha, a new run
    other = Audit(model, splits, checks=["conformal_coverage"], check_params={"conformal_coverage": {"alpha": 0.2}},
                  progress=False).run(tmp_path / "other")
    assert other.records["conformal_coverage"]["params"] == {"alpha": 0.2} and RUNS["n"] == 2
    paths = write_audit_report(audit_record(strict, model_name="lr"), tmp_path / "out")
    page = paths["html"].read_text(encoding="utf-8")
    assert "Conformal coverage by group" in page and "coverage_gap" in page
    assert f"{strict.records['conformal_coverage']['summary']['coverage']:.4f}"[:5] in page
