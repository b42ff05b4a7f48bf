"""The conformal check on UCI Adult with a validation split: its numbers equal a direct recomputation."""

import warnings

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.audit import Audit
from assay.audit.checks.conformal import ConformalCheck
from assay.audit.documents import audit_record, write_audit_report
from assay.core.errors import SmallGroupWarning
from assay.datasets import load_adult
from assay.models import train_sklearn_model
from assay.report import frame_from_record
from assay.testing import check_component
from assay.uncertainty import ConformalClassifier


@pytest.fixture(scope="module")
def adult():
    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))
    train, val = rows[:4000], rows[4000:10000]

    def part(split, index):
        return (split.X.iloc[index], split.y.iloc[index], split.sensitive_features.iloc[index][["sex", "race"]])

    model = train_sklearn_model(data.train.X.iloc[train], data.train.y.iloc[train],
                                categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    splits = {"train": part(data.train, train), "val": part(data.train, val), "test": part(data.test, np.arange(6000))}
    result = Audit(model, splits, checks=["conformal"], progress=False).run()
    return model, splits, result


def test_conformal_check_numbers_equal_a_direct_recomputation(adult):
    model, splits, result = adult
    record = result.records["conformal"]
    assert record["status"] == "ok", record.get("traceback")
    X_val, y_val, sf_val = splits["val"]
    X, y, sf = splits["test"]
    p_val, p = model.predict_proba(X_val), model.predict_proba(X)
    marginal = ConformalClassifier(alpha=0.1).fit(p_val, y_val.to_numpy())
    covered = marginal.predict_sets(p)[np.arange(len(y)), y.to_numpy()]
    summary = record["summary"]
    assert summary["coverage"] == pytest.approx(covered.mean(), abs=1e-12)
    assert summary["coverage_ci"][0] <= summary["coverage"] <= summary["coverage_ci"][1]
    assert 0.87 <= summary["coverage"] <= 0.93
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        mondrian = ConformalClassifier(alpha=0.1).fit(p_val, y_val.to_numpy(), sensitive_features=sf_val)
        covered_g = mondrian.predict_sets(p, sensitive_features=sf)[np.arange(len(y)), y.to_numpy()]
    assert summary["mondrian_coverage"] == pytest.approx(covered_g.mean(), abs=1e-12)
    by_sex = pd.Series(covered).groupby(sf["sex"].to_numpy()).mean()
    by_sex_g = pd.Series(covered_g).groupby(sf["sex"].to_numpy()).mean()
    entries = {(e["feature"], e["group"]): e for e in summary["undercovered"]}
    for sex, value in by_sex.items():
        if value < 0.9:
            assert entries[("sex", sex)]["coverage"] == pytest.approx(value, abs=1e-12)
            assert entries[("sex", sex)]["mondrian_coverage"] == pytest.approx(by_sex_g[sex], abs=1e-12)
    worst = by_sex.idxmin()
    if entries.get(("sex", worst), {}).get("upper", 1) < 0.9:
        assert summary["max_undercoverage"]["sex"] == pytest.approx(0.9 - by_sex[worst], abs=1e-12)
    # Mondrian covers every sex at about 1 - alpha
    assert (by_sex_g >= 0.88).all()
    metrics = {(r["metric"], r["feature"]) for r in record["headline"]}
    assert {("coverage", None), ("mean_set_size", None), ("mondrian_coverage", None),
            ("max_undercoverage", "sex"), ("max_undercoverage", "sex x race")} <= metrics


def test_conformal_findings_report_and_card(adult, tmp_path):
    model, splits, _ = adult
    strict = Audit(model, splits, checks=["conformal"], thresholds={"undercoverage_warn": 0.0,
                                                                     "undercoverage_fail": 0.0}, progress=False).run()
    summary = strict.records["conformal"]["summary"]
    findings = [f for f in strict.findings if f.check == "conformal"]
    assert len(findings) == 1 + len(summary["max_undercoverage"])
    flagged = [f for f in findings if f.severity == "fail"]
    assert all("Mondrian" in f.message for f in flagged if f.evidence.get("mondrian_coverage") is not None)
    paths = write_audit_report(audit_record(strict, model_name="lr"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Conformal prediction sets by group" in page and "Coverage by group" in page and "data:image/png" in page
    card = paths["card"].read_text(encoding="utf-8")
    assert f"coverage {summary['coverage']:.4f}" in card and "conformal.max_undercoverage[sex]" in card


def test_calibrating_on_the_training_rows_is_flagged_overall(adult):
    # A fully grown tree is certain on the rows it was fitted on: calibrated there, the LAC
    # threshold is 0, every test set is the one predicted class, and coverage equals accuracy.
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder
    from sklearn.tree import DecisionTreeClassifier

    _, splits, fair = adult
    data = load_adult()
    X, y, sf = splits["train"]
    encode = make_column_transformer((OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                                      data.categorical_features), remainder="passthrough")
    tree = make_pipeline(encode, DecisionTreeClassifier(random_state=0)).fit(X, y)
    leaky = Audit(tree, {"val": splits["train"], "test": splits["test"]}, checks=["conformal"], progress=False).run()
    summary = leaky.records["conformal"]["summary"]
    X_test, y_test, _ = splits["test"]
    accuracy = float(np.mean(tree.predict(X_test) == y_test.to_numpy()))
    assert summary["coverage"] == pytest.approx(accuracy, abs=1e-12)
    assert summary["overall_undercoverage"] == pytest.approx(0.9 - accuracy, abs=1e-12)
    finding = next(f for f in leaky.findings if f.metric == "overall_undercoverage")
    assert finding.severity == "fail" and finding.value == pytest.approx(0.9 - accuracy)
    assert fair.records["conformal"]["summary"]["overall_undercoverage"] == 0.0  # a held-out split: no shortfall


def test_skipped_without_a_validation_split(adult):
    model, splits, _ = adult
    without_val = {k: v for k, v in splits.items() if k != "val"}
    result = Audit(model, without_val, checks="auto", progress=False).run()  # "auto": skipped, with the reason
    assert result.skipped["conformal"] == "needs a 'val' split in 'data'"
    assert "conformal" not in result.records
    with pytest.raises(AssayInputError, match="'conformal', which cannot run here: it needs a 'val' split"):
        Audit(model, without_val, checks=["conformal"], progress=False).run()  # asked for by name: refused


def test_conformance_and_parameters():
    check_component(ConformalCheck())
    check_component(ConformalCheck(alpha=0.2, method="aps", n_boot=0))


def test_without_groups_coverage_is_reported_per_true_class():
    """Digits has no sensitive features: the check reports class-conditional coverage of the marginal sets."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = LogisticRegression(max_iter=300).fit(X[:600], y[:600])
    splits = {"train": (X[:600], y[:600]), "val": (X[600:1200], y[600:1200]), "test": (X[1200:], y[1200:])}
    result = Audit(model, splits, checks=["conformal"], progress=False).run()
    record = result.records["conformal"]
    assert record["status"] == "ok", record.get("error")
    marginal = ConformalClassifier(alpha=0.1).fit(model.predict_proba(X[600:1200]), y[600:1200])
    covered = marginal.predict_sets(model.predict_proba(X[1200:]))[np.arange(len(y) - 1200), y[1200:]]
    table = frame_from_record(record["result"]["marginal"])
    assert table.loc[("overall", "overall"), "coverage"] == pytest.approx(covered.mean())
    for digit in (0, 7):
        assert table.loc[("true_class", str(digit)), "coverage"] == pytest.approx(covered[y[1200:] == digit].mean())
    assert record["result"]["mondrian"] is None
