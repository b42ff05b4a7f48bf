"""The calibration check end to end on Adult: per-group ECE with bootstrap intervals, temperature
scaling fitted on the validation split, ECE before/after per group, the report section and card."""

import json
from importlib import resources

import jsonschema
import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from assay.audit import Audit
from assay.audit.documents import audit_record, write_audit_report
from assay.audit.runner import environment
from assay.datasets import load_adult
from assay.metrics import expected_calibration_error
from assay.models import train_sklearn_model
from assay.report import frame_from_record
from assay.uncertainty import TemperatureScaling

from ..report.card_checks import assert_card_matches_record
from .test_headline_numbers import findings_without_headline


class OverConfident:
    """A fitted pipeline whose logit is multiplied by ``scale`` (scikit-learn-like: fit, predict_proba)."""

    def __init__(self, model, scale):
        self.model, self.scale, self.classes_ = model, scale, model.classes_

    def fit(self, X, y):  # pragma: no cover - never refitted
        return self

    def logit(self, X):
        return self.scale * self.model.decision_function(X)

    def predict_proba(self, X):
        d = self.logit(X)
        return np.column_stack([expit(-d), expit(d)])  # both accurate far into the tails


@pytest.fixture(scope="module")
def adult_audit(tmp_path_factory):
    data = load_adult()
    X, y, s = data.train.X, data.train.y, data.train.sensitive_features[["sex", "race"]]
    train, val = slice(0, 6000), slice(6000, 10000)
    test = slice(0, 6000)
    model = train_sklearn_model(X.iloc[train], y.iloc[train], categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic")
    over = OverConfident(model, 3.0)
    splits = {"train": (X.iloc[train], y.iloc[train], s.iloc[train]), "val": (X.iloc[val], y.iloc[val], s.iloc[val]),
              "test": (data.test.X.iloc[test], data.test.y.iloc[test],
                       data.test.sensitive_features[["sex", "race"]].iloc[test])}
    result = Audit(over, splits, checks=["calibration"], progress=False, random_state=0).run()
    record = audit_record(result, model_name="adult-overconfident", dataset_name="Adult", environment=environment())
    paths = write_audit_report(record, tmp_path_factory.mktemp("calibration"), model_name="adult-overconfident")
    return over, splits, result, record, paths


def test_temperature_is_fitted_on_val_and_the_ece_after_is_measured_on_test(adult_audit):
    over, splits, result, _, _ = adult_audit
    rec = result.records["calibration"]
    assert rec["status"] == "ok", rec.get("error")
    summary = rec["summary"]
    (X_val, y_val, _), (X_test, y_test, s_test) = splits["val"], splits["test"]
    d_val, d_test = over.logit(X_val), over.logit(X_test)
    scaler = TemperatureScaling().fit(d_val, y_val.to_numpy())
    assert summary["temperature"] == pytest.approx(scaler.temperature_, rel=1e-9)
    assert summary["temperature"] > 2  # the logits were tripled
    y = y_test.to_numpy()
    before, after = expit(d_test), expit(d_test / scaler.temperature_)
    assert summary["overall_ece"] == pytest.approx(expected_calibration_error(y, before), abs=1e-9)
    assert summary["recalibrated_ece"] == pytest.approx(expected_calibration_error(y, after), abs=1e-7)
    assert summary["recalibrated_ece"] < 0.5 * summary["overall_ece"]
    nll = np.mean(np.logaddexp(0, np.where(y == 1, -d_test, d_test)))
    assert summary["nll"] == pytest.approx(nll, rel=1e-6) and summary["recalibrated_nll"] < summary["nll"]
    # per group, before and after, each equal to the ECE of the group's rows
    table = frame_from_record(rec["result"]["recalibration"]["table"]).set_index(["feature", "group"])
    checked = 0
    for feature in ("sex", "race"):
        for group in s_test[feature].astype(str).unique():
            rows = (s_test[feature].astype(str) == group).to_numpy()
            assert table.loc[(feature, group), "ece"] == pytest.approx(expected_calibration_error(y[rows], before[rows]),
                                                                       abs=1e-9)
            assert table.loc[(feature, group), "ece_recalibrated"] == pytest.approx(
                expected_calibration_error(y[rows], after[rows]), abs=1e-7)
            assert table.loc[(feature, group), "ece_recalibrated_lower"] <= table.loc[
                (feature, group), "ece_recalibrated_upper"]
            checked += 1
    assert checked >= 6
    assert table.loc[("overall", "overall"), "count"] == len(y)


def test_bootstrap_intervals_of_the_group_ece(adult_audit):
    _, _, result, _, _ = adult_audit
    summary = result.records["calibration"]["summary"]
    params = result.records["calibration"]["params"]
    assert params["n_boot"] == 200
    assert summary["overall_ece.ci_lower"] < summary["overall_ece"] < summary["overall_ece.ci_upper"]
    assert summary["max_group_ece.ci_lower"] < summary["max_group_ece.ci_upper"]
    rows = {r["metric"]: r for r in result.records["calibration"]["headline"]}
    assert rows["max_group_ece"]["lower"] == summary["max_group_ece.ci_lower"]
    assert rows["recalibrated_ece"]["upper"] == summary["recalibrated_ece.ci_upper"]


def test_the_finding_recommends_recalibration_when_it_fixes_a_failing_ece(adult_audit):
    _, _, result, _, _ = adult_audit
    by_metric = {f.metric: f for f in result.findings if f.check == "calibration"}
    assert by_metric["overall_ece"].severity in ("warn", "fail")
    recommendation = by_metric["recalibrated_ece"]
    assert recommendation.evidence["recommended"] is True
    assert recommendation.message.startswith("Recalibrate")
    assert findings_without_headline(result) == []


def test_report_section_and_card(adult_audit):
    *_, paths = adult_audit
    html = paths["html"].read_text()
    assert "ECE before and after temperature scaling" in html
    assert "Reliability diagrams by group (before and after temperature scaling)" in html
    card = paths["card"].read_text() if "card" in paths else next(p for p in paths.values()
                                                                  if str(p).endswith(".md")).read_text()
    assert "Temperature scaling fitted on the 'val' split" in card
    assert assert_card_matches_record(card, json.loads(paths["json"].read_text())) > 0
    assert "calibration.temperature" in card and "calibration.recalibrated_ece" in card
    schema = json.loads(resources.files("assay.report").joinpath("schema/audit-report.schema.json").read_text())
    jsonschema.validate(json.loads(paths["json"].read_text()), schema)


def test_without_a_validation_split_nothing_is_recalibrated(adult_audit):
    over, splits, _, _, _ = adult_audit
    result = Audit(over, {"train": splits["train"], "test": splits["test"]}, checks=["calibration"],
                   progress=False).run()
    summary = result.records["calibration"]["summary"]
    assert "temperature" not in summary and result.records["calibration"]["result"]["recalibration"] is None
    assert "recalibrated_ece" not in {f.metric for f in result.findings}
    off = Audit(over, splits, checks=["calibration"], check_params={"calibration": {"recalibrate": False}},
                progress=False).run()
    assert "temperature" not in off.records["calibration"]["summary"]


def test_reliability_by_group_counts_every_row_of_each_group(adult_audit):
    _, splits, result, _, _ = adult_audit
    bins = result.records["calibration"]["result"]["reliability_by_group"]
    frame = frame_from_record(bins).set_index(["model", "feature", "group"]).sort_index()
    s_test = splits["test"][2]
    for model in ("model", "recalibrated"):
        for group, count in s_test["sex"].astype(str).value_counts().items():
            assert frame.loc[(model, "sex", group), "weight"].sum() == count


def test_recalibration_without_sensitive_features():
    """A validation split and no groups (the digits demo's case): the overall before/after table alone."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(900, 3))
    y = (X[:, 0] + rng.normal(size=900) > 0).astype(int)
    model = LogisticRegression().fit(X[:300], y[:300])
    splits = {"train": (X[:300], y[:300]), "val": (X[300:600], y[300:600]), "test": (X[600:], y[600:])}
    result = Audit(model, splits, checks=["calibration"], progress=False).run()
    record = result.records["calibration"]
    assert record["status"] == "ok", record.get("error")
    table = record["result"]["recalibration"]["table"]
    assert [row[:2] for row in table["data"]] == [["overall", "overall"]]
    assert record["summary"]["recalibrated_ece"] == pytest.approx(
        record["result"]["recalibration"]["ece_recalibrated"])
