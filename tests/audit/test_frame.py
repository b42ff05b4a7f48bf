"""The open audit frame: needs, thresholds, check parameters, guarded summaries and findings, results."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay import AssayInputError, Result
from assay.audit import CHECKS, NEEDS, Audit, AuditContext, Check, known_thresholds, register_need
from assay.audit.base import threshold_specs
from assay.audit.checks.calibration import CalibrationCheck, CalibrationResult
from assay.core.findings import Finding
from assay.audit.documents import audit_record, render_audit_html


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)
    model = LogisticRegression().fit(X[:300], y[:300])
    sex = pd.DataFrame({"sex": rng.choice(["F", "M"], 600)})
    splits = {"train": (X[:300], y[:300], sex[:300]), "val": (X[300:400], y[300:400], sex[300:400]),
              "test": (X[400:], y[400:], sex[400:].reset_index(drop=True))}
    return model, splits


@dataclasses.dataclass(frozen=True)
class _Mean(Result):
    value: float


class BrokenFindings(Check):
    name = "broken_findings"
    order = 990

    def run(self, context):
        return _Mean(1.0)

    def summarize(self, result):
        return {"value": result.value}

    def findings(self, summary, thresholds):
        raise RuntimeError("no such threshold\nsecond line of the message")


class BrokenSummary(BrokenFindings):
    name = "broken_summary"

    def summarize(self, result):
        raise ZeroDivisionError("division by zero")


def test_summarize_and_findings_are_guarded_like_run(setup):
    model, splits = setup
    result = Audit(model, splits, checks=["calibration", BrokenFindings(), BrokenSummary()], progress=False).run()
    assert result.records["calibration"]["status"] == "ok"
    assert {n: r["status"] for n, r in result.records.items()} == {
        "calibration": "ok", "broken_findings": "error", "broken_summary": "error"}
    assert result.errors == {"broken_findings": "RuntimeError: no such threshold ...",
                             "broken_summary": "ZeroDivisionError: division by zero"}
    assert result.worst_severity == "error"
    errors = [f for f in result.findings if f.severity == "error"]
    assert {f.check for f in errors} == {"broken_findings", "broken_summary"}
    assert all("\n" not in f.message for f in errors)
    record = audit_record(result)
    assert record["summary"]["worst_severity"] == "error" and record["summary"]["findings"]["error"] == 2
    assert record["findings"][0]["severity"] == "error"  # the most severe first
    assert "broken_summary" in render_audit_html(record)


def test_needs_are_an_open_vocabulary(setup):
    model, splits = setup
    context = Audit(model, splits)._context()
    assert context.need("split:val") is None and context.need("labels:val") is None
    assert context.need("split:calibration") == "needs a 'calibration' split in 'data'"
    assert context.need("layer:fc1") == "needs a torch model (embeddings of a layer)"
    assert context.need("task:classification") is None
    assert context.need("task:regression") == "needs a regression model; the model is a classification model"
    assert context.need("text") == "needs text" and context.need("tabular") == "needs tabular"
    assert "train_fn" in context.need("train_fn")
    with pytest.raises(AssayInputError, match="Unknown need 'telepathy'.*register_need"):
        context.need("telepathy")
    register_need("many_rows", lambda c, arg: len(c.X()) >= int(arg))
    try:
        class NeedsRows(Check):
            name = "needs_rows"
            needs = frozenset({"model", "many_rows:10000", "split:calibration"})

        reason = NeedsRows().applicable(context)
        assert reason == "needs many_rows:10000; needs a 'calibration' split in 'data'"
    finally:
        NEEDS.pop("many_rows")
    texts = AuditContext(None, {"test": (["a b", "c"], np.array([0, 1]), None)})
    assert texts.need("text") is None and texts.need("model") == "needs model"


def test_check_params_build_checks_by_name(setup):
    model, splits = setup
    result = Audit(model, splits, checks=["calibration"], check_params={"calibration": {"n_bins": 5}},
                   progress=False).run()
    assert result.records["calibration"]["params"]["n_bins"] == 5
    assert len(result.records["calibration"]["result"]["reliability"]["data"]) == 5
    auto = Audit(model, splits, check_params={"calibration": {"n_bins": 7}}, progress=False).run()
    assert auto.records["calibration"]["params"]["n_bins"] == 7
    with pytest.raises(AssayInputError, match="'check_params' names check 'calibration'.*instance"):
        Audit(model, splits, checks=[CalibrationCheck()], check_params={"calibration": {"n_bins": 5}}).run()


def test_thresholds_live_on_the_checks():
    known = known_thresholds()
    specs = threshold_specs()
    for name, cls in CHECKS.items():
        for key, spec in cls.thresholds.items():
            assert known[key] == spec.default and specs[key] is spec
            assert spec.doc
    assert {"ece_warn", "ece_fail", "ood_auroc_warn", "imbalance_ratio", "min_group_size"} <= set(known)
    from assay.data_checks import DEFAULT_THRESHOLDS as DATA

    assert {k: known[k] for k in DATA} == DATA  # the data check declares the data checks' thresholds
    assert all(CHECKS["data_quality"].thresholds[k].at_run for k in DATA)
    assert not CHECKS["calibration"].thresholds["ece_warn"].at_run
    from assay.audit import base

    assert base.DEFAULT_THRESHOLDS == known  # the old name, computed


def test_results_compare_without_ambiguous_truth():
    frame = pd.DataFrame({"confidence": [0.1, 0.9], "accuracy": [0.0, 1.0]})
    a = CalibrationResult(0.1, 0.2, 0.3, frame, None)
    b = CalibrationResult(0.1, 0.2, 0.3, frame.copy(), None)
    c = CalibrationResult(0.1, 0.2, 0.3, frame.assign(accuracy=[0.0, 0.5]), None)
    assert a == b and a != c and not (a == _Mean(0.1)) and a != "text"
    assert _Mean(float("nan")) == _Mean(float("nan"))
    assert Finding("x", "warn", "m") == Finding("x", "warn", "m") != Finding("x", "fail", "m")
