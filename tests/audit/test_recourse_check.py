"""The recourse check on UCI Adult: flip rates and recourse costs equal direct calls; findings, report, card."""

import numpy as np
import pytest

from assay.audit import Audit
from assay.audit.checks.recourse import RecourseCheck
from assay.audit.documents import audit_record, write_audit_report
from assay.datasets import load_adult
from assay.explain import Counterfactuals, recourse_cost, sensitive_flip_rate
from assay.models import train_sklearn_model
from assay.testing import check_component


@pytest.fixture(scope="module")
def adult():
    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:3000]

    def part(split, index):
        return (split.X.iloc[index], split.y.iloc[index], split.sensitive_features.iloc[index][["sex", "race"]])

    model = train_sklearn_model(data.train.X.iloc[rows], data.train.y.iloc[rows],
                                categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    splits = {"train": part(data.train, rows), "test": part(data.test, np.arange(1500))}
    params = {"recourse": {"max_rows": 80, "max_flip_rows": 600, "n_boot": 50, "n_candidates": 20}}
    result = Audit(model, splits, checks=["recourse"], check_params=params, progress=False).run()
    return model, splits, result


def test_numbers_equal_direct_calls(adult):
    model, splits, result = adult
    record = result.records["recourse"]
    assert record["status"] == "ok", record.get("traceback")
    summary = record["summary"]
    X, y, sf = splits["test"]
    rng = np.random.default_rng(0)
    flip_rows = np.sort(rng.choice(len(X), 600, replace=False))
    direct = sensitive_flip_rate(model, X.iloc[flip_rows], "sex", reference=splits["train"][0],
                                 sensitive_features=sf.iloc[flip_rows], n_boot=0)
    assert summary["sensitive_flip_rate"]["sex"] == pytest.approx(direct.rate, abs=1e-12)
    assert summary["sensitive_flip_rate"]["sex"] > 0  # the logistic model reads sex
    rejected = np.flatnonzero(model.predict(X) != 1)
    chosen = np.sort(rng.choice(rejected, 80, replace=False))
    search = Counterfactuals(immutable=["sex", "race"], data=splits["train"][0], n_candidates=20, random_state=0)
    cost = recourse_cost(model, X.iloc[chosen], sensitive_features=sf.iloc[chosen], counterfactuals=search,
                         n_boot=0, random_state=0)
    assert summary["mean_cost"] == pytest.approx(cost.mean_cost, abs=1e-12)
    assert summary["found_rate"] == pytest.approx(cost.found_rate, abs=1e-12)
    assert summary["immutable"] == ["sex", "race"]
    for feature, value in summary["recourse_cost_ratio"].items():
        assert value == pytest.approx(cost.gap[feature]["ratio"])


def test_findings_report_and_card(adult, tmp_path):
    model, splits, result = adult
    summary = result.records["recourse"]["summary"]
    findings = [f for f in result.findings if f.check == "recourse"]
    assert len(findings) == len(summary["sensitive_flip_rate"]) + len(summary["recourse_cost_ratio"])
    flip = next(f for f in findings if f.metric == "sensitive_flip_rate[sex]")
    value = summary["sensitive_flip_rate"]["sex"]
    assert flip.severity == ("fail" if value > 0.05 else "warn" if value > 0.01 else "pass")
    paths = write_audit_report(audit_record(result, model_name="lr"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Counterfactual fairness and recourse by group" in page and "data:image/png" in page
    card = paths["card"].read_text(encoding="utf-8")
    assert f"Decisions that change when only sex changes: {value:.4f}" in card


def test_opt_in_and_conformance(adult):
    model, splits, _ = adult
    check_component(RecourseCheck())
    result = Audit(model, splits, checks="auto", progress=False).run()
    assert result.skipped["recourse"].startswith("runs only when named")
