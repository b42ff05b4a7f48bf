"""An audit of a regressor: the diabetes reference model end to end, task=, --task."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from assay.audit import Audit
from assay.audit.documents import audit_record, write_audit_report
from assay.core.errors import AssayInputError
from assay.datasets import load_diabetes_split
from assay.models import train_sklearn_regressor


@pytest.fixture(scope="module")
def diabetes():
    data = load_diabetes_split(random_state=0)
    model = train_sklearn_regressor(data.train.X, data.train.y, numeric_features=data.numeric_features)
    return data, model


def test_end_to_end_audit_of_the_diabetes_regressor(diabetes, tmp_path):
    data, model = diabetes
    result = Audit(model, {"train": data.train, "val": data.val, "test": data.test}, random_state=0).run(tmp_path)
    assert result.errors == {}
    assert "group_performance" in result.records and "data_quality" in result.records
    for check in ("fairness", "calibration"):
        assert "regression model" in result.skipped[check]
    record = result.records["group_performance"]
    pred = model.predict(data.test.X)
    y = data.test.y.to_numpy()
    summary = record["summary"]
    assert summary["overall_rmse"] == pytest.approx(root_mean_squared_error(y, pred), rel=1e-12)
    assert summary["overall_mae"] == pytest.approx(mean_absolute_error(y, pred), rel=1e-12)
    assert summary["overall_r2"] == pytest.approx(r2_score(y, pred), rel=1e-12)
    # the worst group's MAE and the gap, from each group's own rows
    sex = data.test.sensitive_features["sex"].astype(str).to_numpy()
    per_group = {g: mean_absolute_error(y[sex == g], pred[sex == g]) for g in ("sex=1", "sex=2")}
    worst = max(per_group, key=per_group.get)
    assert summary["worst_group_mae"]["sex"]["group"] == worst
    assert summary["worst_group_mae"]["sex"]["value"] == pytest.approx(per_group[worst], rel=1e-12)
    assert summary["mae_gap"]["sex"] == pytest.approx(abs(per_group["sex=1"] - per_group["sex=2"]), rel=1e-10)
    lower, upper = summary["intervals"]["r2"]
    assert lower <= summary["overall_r2"] <= upper
    rows = {(r["metric"], r["feature"]): r for r in record["headline"]}
    assert rows[("rmse", None)]["direction"] == "lower" and rows[("r2", None)]["direction"] == "higher"
    assert rows[("mae_gap", "sex")]["lower"] <= rows[("mae_gap", "sex")]["value"] <= rows[("mae_gap", "sex")]["upper"]

    paths = write_audit_report(audit_record(result, model_name="diabetes-ridge"), tmp_path)
    report = json.loads(paths["json"].read_text())
    assert report["task"] == "tabular-regression"
    assert {"fairness", "calibration"} <= set(report["summary"]["checks_skipped"])
    card = paths["card"].read_text()
    assert "tabular-regression" in card and "group_performance.rmse" in card and "mae_gap[sex]" in card
    assert "sex=1" in card and "female" not in card.lower()
    html = paths["html"].read_text()
    assert "worst_group_mae" in html and "mae by group" in html


def test_no_sensitive_features_gives_overall_regression_metrics(diabetes):
    data, model = diabetes
    split = (data.test.X, data.test.y)
    result = Audit(model, {"test": split}, checks=["group_performance"]).run()
    summary = result.records["group_performance"]["summary"]
    pred = model.predict(data.test.X)
    assert summary["overall_mae"] == pytest.approx(mean_absolute_error(data.test.y, pred))
    assert "overall_accuracy" not in summary


def test_torch_regressor_needs_task(diabetes):
    data, _ = diabetes
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(10, 1))
    X = data.test.X.to_numpy(np.float32)
    y = data.test.y.to_numpy()
    split = (X, y, data.test.sensitive_features)
    result = Audit(net, {"test": split}, task="regression", checks=["group_performance"]).run()
    with torch.no_grad():
        pred = net(torch.as_tensor(X)).numpy()[:, 0]
    summary = result.records["group_performance"]["summary"]
    assert summary["overall_mae"] == pytest.approx(mean_absolute_error(y, pred), rel=1e-6)
    assert Audit(net, {"test": split}, checks=["group_performance"])._context().model.task == "classification"


def test_regression_target_must_be_numbers(diabetes):
    data, model = diabetes
    bad = (data.test.X, pd.Series(["high"] * len(data.test.y), name="progression"), data.test.sensitive_features)
    with pytest.raises(AssayInputError, match="progression"):
        Audit(model, {"test": bad}).run()


def test_task_that_contradicts_the_model_is_refused(diabetes):
    data, model = diabetes
    with pytest.raises(AssayInputError, match="regressor"):
        Audit(model, {"test": data.test}, task="classification").run()
    with pytest.raises(AssayInputError, match="task"):
        Audit(model, {"test": data.test}, task="ranking").run()


def test_cli_task_flag(diabetes, tmp_path):
    from assay.cli import main

    data, model = diabetes
    import joblib

    joblib.dump(model, tmp_path / "model.joblib")
    frame = data.test.X.assign(progression=data.test.y, sex_group=data.test.sensitive_features["sex"].astype(str))
    frame.to_csv(tmp_path / "test.csv", index=False)
    code = main(["audit", "--model", str(tmp_path / "model.joblib"), "--trust-model-file", "--data",
                 str(tmp_path / "test.csv"), "--target", "progression", "--sensitive", "sex_group",
                 "--features", ",".join(data.numeric_features), "--task", "regression",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["task"] == "tabular-regression"
    assert "overall_rmse" in report["checks"]["group_performance"]["summary"]
