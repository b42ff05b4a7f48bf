"""The privacy check on Adult: its numbers equal a direct recomputation; report, card, findings."""

import numpy as np
import pytest

from assay.audit import Audit
from assay.audit.checks.privacy import PrivacyCheck
from assay.audit.documents import audit_record, write_audit_report
from assay.datasets import load_adult
from assay.models import train_sklearn_model
from assay.privacy import evaluate_attack, loss_attack
from assay.privacy.attribute import attribute_inference
from assay.testing import check_component


@pytest.fixture(scope="module")
def adult():
    data = load_adult()
    rows = np.random.default_rng(0).permutation(len(data.train.y))[:1500]

    def part(split, index):
        return (split.X.iloc[index], split.y.iloc[index], split.sensitive_features.iloc[index][["sex", "race"]])

    features = [c for c in data.categorical_features if c not in ("sex", "race")]
    model = train_sklearn_model(data.train.X.iloc[rows], data.train.y.iloc[rows], categorical_features=features,
                                numeric_features=data.numeric_features, kind="logistic", random_state=0)
    splits = {"train": part(data.train, rows), "test": part(data.test, np.arange(1500))}
    result = Audit(model, splits, checks=["privacy"], check_params={"privacy": {"n_boot": 50}},
                   progress=False).run()
    return model, splits, result


def test_privacy_numbers_equal_a_direct_recomputation(adult):
    model, splits, result = adult
    record = result.records["privacy"]
    assert record["status"] == "ok", record.get("traceback")
    assert result.forward_passes == {"train": 1, "test": 1}  # scores from the cached outputs of each split
    (X_m, y_m, _), (X_n, y_n, _) = splits["train"], splits["test"]
    direct = evaluate_attack(loss_attack(model, X_m, y_m.to_numpy()), loss_attack(model, X_n, y_n.to_numpy()),
                             n_boot=0)
    summary = record["summary"]
    assert summary["membership_auc"] == pytest.approx(direct.auc, abs=1e-12)
    assert summary["membership_advantage"] == pytest.approx(direct.advantage, abs=1e-12)
    assert summary["tpr_at_1_fpr"] == pytest.approx(direct.tpr_at_fpr(0.01), abs=1e-12)
    assert set(summary["max_group_advantage"]) == {"sex", "race"}
    assert set(summary["attribute_inference_gain"]) == {"sex", "race"}
    assert -0.2 < summary["attribute_inference_gain"]["sex"] < 0.5


def test_privacy_findings_report_and_card(adult, tmp_path):
    model, splits, _ = adult
    strict = Audit(model, splits, checks=["privacy"], thresholds={"membership_advantage_warn": 0.0},
                   check_params={"privacy": {"n_boot": 0, "attribute_inference": False}}, progress=False).run()
    findings = [f for f in strict.findings if f.check == "privacy"]
    assert findings[0].metric == "membership_advantage" and findings[0].severity == "warn"
    paths = write_audit_report(audit_record(strict, model_name="hgb"), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Privacy: membership and attribute inference" in page and "data:image/png" in page
    card = paths["card"].read_text(encoding="utf-8")
    assert "Membership inference (loss attack" in card


def test_lira_in_the_audit_with_a_training_function(adult):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)

    def train_fn(X, y):
        return LogisticRegression(C=100).fit(X, y)

    model = train_fn(X[:150], y[:150])
    splits = {"train": (X[:150], y[:150]), "test": (X[150:], y[150:])}
    result = Audit(model, splits, checks=[PrivacyCheck(n_reference=2, n_boot=0, train_fn=train_fn)],
                   progress=False).run()
    record = result.records["privacy"]
    assert record["status"] == "ok", record.get("traceback")
    assert 0 <= record["summary"]["lira_auc"] <= 1


def test_attribute_inference_recovers_a_leaked_attribute():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n = 1000
    a = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 3))
    y = ((X[:, 0] + 2 * a + rng.normal(size=n)) > 1).astype(int)
    model = LogisticRegression().fit(np.column_stack([X, a]), y)

    def on_features(Z):  # the model sees the attribute; the attacker only the features and the output
        return model.predict_proba(np.column_stack([Z, a[:len(Z)]]))

    import pandas as pd

    from assay import wrap

    table = attribute_inference(wrap(on_features, classes=[0, 1]), X, pd.DataFrame({"a": a})).table
    assert table.loc["a", "baseline_auc"] < 0.6
    assert table.loc["a", "attack_auc"] > 0.7
    assert table.loc["a", "gain"] == pytest.approx(table.loc["a", "attack_auc"] - table.loc["a", "baseline_auc"])


def test_conformance():
    check_component(PrivacyCheck())
