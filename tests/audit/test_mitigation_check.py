"""The mitigation check on German credit and Adult: numbers equal compare_mitigations run directly;
findings, headline rows, the report section and the card."""

import numpy as np
import pandas as pd
import pytest
import torch

from assay.audit import Audit
from assay.audit.checks.mitigation import MitigationCheck
from assay.audit.documents import audit_record, write_audit_report
from assay.datasets import load_adult, load_german_credit
from assay.fairness import GroupResampler, GroupThresholds, Reweighing, compare_mitigations
from assay.models import train_sklearn_model
from assay.testing import check_component


@pytest.fixture(scope="module")
def adult():
    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:4000]

    def part(split, index):
        return (split.X.iloc[index], split.y.iloc[index], split.sensitive_features.iloc[index][["sex", "race"]])

    model = train_sklearn_model(data.train.X.iloc[rows], data.train.y.iloc[rows],
                                categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    splits = {"train": part(data.train, rows[:3000]), "val": part(data.train, rows[3000:]),
              "test": part(data.test, np.arange(3000))}
    result = Audit(model, splits, checks=["mitigation"], check_params={"mitigation": {"n_boot": 50}},
                   progress=False).run()
    return model, splits, result


def test_adult_numbers_equal_compare_mitigations(adult):
    model, splits, result = adult
    record = result.records["mitigation"]
    assert record["status"] == "ok", record.get("traceback")
    summary = record["summary"]
    assert summary["gap"] == "demographic_parity_difference[sex x race]"
    direct = compare_mitigations(model, {"reweighing": Reweighing(), "resampling": GroupResampler(random_state=0),
                                         "thresholds_demographic_parity": GroupThresholds(),
                                         "thresholds_equalized_odds": GroupThresholds(constraint="equalized_odds")},
                                 splits, sensitive_features=["sex", "race"], n_boot=50, random_state=0)
    for name, row in summary["rows"].items():
        if row["error"]:  # equalized odds: some sex x race cells of the 1,000 validation rows lack positives
            assert row["error"] == direct.table.loc[name, "error"] and "lack one of the two labels" in row["error"]
            continue
        assert row["accuracy"] == pytest.approx(direct.table.loc[name, "accuracy"], abs=1e-12)
        assert row["gap"] == pytest.approx(direct.table.loc[name, summary["gap"]], abs=1e-12)
    assert summary["n_train"] == 3000 and summary["n_val"] == 1000 and summary["n_test"] == 3000
    # the parity thresholds close the intersection's parity gap on the rows they were fitted on... and here
    assert summary["rows"]["thresholds_demographic_parity"]["gap"] < summary["rows"]["none"]["gap"]
    keys = {(r["metric"], r["feature"]) for r in record["headline"]}
    assert ("mitigated_accuracy", "none") in keys and ("mitigated_gap", "reweighing") in keys


def test_findings_report_and_card(adult, tmp_path):
    _, _, result = adult
    summary = result.records["mitigation"]["summary"]
    findings = [f for f in result.findings if f.check == "mitigation"]
    if summary["best"] is None:
        assert findings == []
    else:
        cost = summary["mitigation_accuracy_cost"]
        expected = "fail" if cost > 0.05 else "warn" if cost > 0.02 else "pass"
        assert [f.severity for f in findings] == [expected]
    paths = write_audit_report(audit_record(result, model_name="lr"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Fairness mitigations compared" in page and "data:image/png" in page
    card = paths["card"].read_text(encoding="utf-8")
    assert "Mitigations considered" in card
    # side by side: one table row per fitted model, accuracy and the gap with intervals and their changes
    rows = summary["rows"]
    line = next(x for x in card.splitlines() if x.startswith("| reweighing |")).replace("\\", "")  # unescaped
    r = rows["reweighing"]
    assert line == (f"| reweighing | pre-processing | {r['accuracy']:.4f} [{r['accuracy_ci'][0]:.4f}, "
                    f"{r['accuracy_ci'][1]:.4f}] | {r['accuracy_change']:+.4f} | {r['gap']:.4f} [{r['gap_ci'][0]:.4f}, "
                    f"{r['gap_ci'][1]:.4f}] | {r['gap_change']:+.4f} | "
                    f"{'yes' if r['gap_change_significant'] else 'no'} |")
    base = rows["none"]
    assert f"| none (baseline) | baseline | {base['accuracy']:.4f} \\[" in card
    header = next(x for x in card.splitlines() if x.startswith("| model |")).replace("\\", "")
    assert header == ("| model | stage | accuracy | accuracy change | demographic_parity_difference[sex x race] | "
                      "gap change | gap change significant |")
    for name, row in rows.items():
        if row["error"]:
            assert f"- {name} ({row['stage']}): not fitted on these data" in card


def test_conformance_and_refusals():
    from torch import nn

    from assay import AssayInputError

    check_component(MitigationCheck())
    X = torch.zeros((10, 3))
    sf = pd.DataFrame({"sex": ["a", "b"] * 5})
    with pytest.raises(AssayInputError, match="scikit-learn"):
        Audit(nn.Sequential(nn.Linear(3, 2)), {"train": (X, np.arange(10) % 2, sf), "test": (X, np.arange(10) % 2, sf)},
              checks=["mitigation"], progress=False).run()
    data = load_german_credit()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    splits = {"train": (data.train.X, data.train.y, data.train.sensitive_features[["sex"]]),
              "test": (data.test.X, data.test.y, data.test.sensitive_features[["sex"]])}
    result = Audit(model, splits, checks=["mitigation"], check_params={"mitigation": {"mitigations": ["smote"]}},
                   progress=False).run()
    record = result.records["mitigation"]
    assert record["status"] == "error" and "smote" in record["error"]


def test_cost_threshold_needs_a_cost_matrix_and_equals_the_estimator():
    from assay.fairness import CostSensitiveThreshold

    data = load_german_credit()
    model = train_sklearn_model(data.train.X, data.train.y, categorical_features=data.categorical_features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    n_val = 200
    splits = {"train": (data.train.X.iloc[n_val:], data.train.y.iloc[n_val:],
                        data.train.sensitive_features.iloc[n_val:][["age_group"]]),
              "val": (data.train.X.iloc[:n_val], data.train.y.iloc[:n_val],
                      data.train.sensitive_features.iloc[:n_val][["age_group"]]),
              "test": (data.test.X, data.test.y, data.test.sensitive_features[["age_group"]])}
    missing = Audit(model, splits, checks=["mitigation"], progress=False,
                    check_params={"mitigation": {"mitigations": ["cost_threshold"], "prefit": True}}).run()
    record = missing.records["mitigation"]
    assert record["status"] == "error" and "'cost_matrix'" in record["error"]
    cost = data.cost_matrix.to_numpy().tolist()
    result = Audit(model, splits, checks=["mitigation"], progress=False,
                   check_params={"mitigation": {"mitigations": ["cost_threshold"], "prefit": True, "n_boot": 20,
                                                "cost_matrix": cost}}).run()
    row = result.records["mitigation"]["summary"]["rows"]["cost_threshold"]
    # the same threshold fitted directly on the validation scores of the same (prefit) model
    direct = CostSensitiveThreshold(cost_matrix=cost, method="empirical").fit(
        model.predict_proba(splits["val"][0])[:, 1], splits["val"][1])
    predicted = direct.predict(model.predict_proba(data.test.X)[:, 1])
    assert row["accuracy"] == pytest.approx(np.mean(predicted == data.test.y.to_numpy()), abs=1e-12)
