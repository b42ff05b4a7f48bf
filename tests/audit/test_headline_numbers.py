"""Each check's headline numbers recomputed from the raw model outputs with numpy.

These catch a wrong pick of the worst group (idxmin for idxmax) or a headline number that no
longer follows from the per-group table.
"""

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from assay.audit import HEADLINE_COLUMNS, Audit


@pytest.fixture(scope="module")
def binary_audit():
    rng = np.random.default_rng(3)

    def make(n):
        sex = rng.choice(["F", "M"], n)
        race = rng.choice(["a", "b", "c"], n, p=[0.55, 0.3, 0.15])
        x1 = rng.normal(0, 1, n) + (sex == "M") * 0.8 + (race == "c") * 0.6
        x2 = rng.normal(0, 1, n)
        # the model sees only x1, x2; the label also depends on race, so calibration differs by group
        y = (x1 + x2 + (race == "b") * 0.9 + rng.normal(0, 0.8, n) > 0.5).astype(int)
        return pd.DataFrame({"x1": x1, "x2": x2, "sex": sex, "race": race, "label": y})

    train, test = make(1500), make(1400)
    model = LogisticRegression().fit(train[["x1", "x2"]], train["label"])

    class Features:  # the model takes the numeric columns only
        classes_ = model.classes_

        def fit(self, X, y):  # pragma: no cover - never refitted
            return self

        def predict_proba(self, X):
            return model.predict_proba(X[["x1", "x2"]])

    result = Audit(Features(), {"train": train, "test": test}, target="label", sensitive_features=["sex", "race"],
                   checks=["group_performance", "fairness", "calibration"], progress=False).run()
    p = model.predict_proba(test[["x1", "x2"]])[:, 1]
    return test, p, result


def _groups(test):
    """(feature name, group label, row mask) for each feature and the intersection, as the audit names them."""
    out = []
    for feature in ("sex", "race"):
        for value in sorted(test[feature].unique()):
            out.append((feature, str(value), (test[feature] == value).to_numpy()))
    for a, b in itertools.product(sorted(test["sex"].unique()), sorted(test["race"].unique())):
        out.append(("sex x race", f"{a} x {b}", ((test["sex"] == a) & (test["race"] == b)).to_numpy()))
    return out


def _ece(y, p, n_bins=15):
    bins = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], p, side="left")
    gaps = [abs(y[bins == b].sum() - p[bins == b].sum()) for b in range(n_bins) if (bins == b).any()]
    return float(np.sum(gaps) / len(y))


def test_calibration_worst_group_is_the_largest_ece(binary_audit):
    test, p, result = binary_audit
    y = test["label"].to_numpy()
    summary = result.records["calibration"]["summary"]
    assert summary["overall_ece"] == pytest.approx(_ece(y, p), abs=1e-12)
    eces = {(f, g): _ece(y[m], p[m]) for f, g, m in _groups(test) if m.sum() >= 30}
    worst = max(eces, key=eces.get)
    assert len(set(np.round(list(eces.values()), 9))) > 2  # the groups really differ
    assert summary["max_group_ece"] == pytest.approx(eces[worst], abs=1e-12)
    assert summary["max_group"] == f"{worst[0]} / {worst[1]}"
    rows = {r["metric"]: r for r in result.records["calibration"]["headline"]}
    assert rows["max_group_ece"]["value"] == pytest.approx(eces[worst], abs=1e-12)
    assert rows["max_group_ece"]["group"] == summary["max_group"] and rows["max_group_ece"]["direction"] == "lower"


def test_accuracy_gap_is_max_minus_min_group_accuracy(binary_audit):
    test, p, result = binary_audit
    y, pred = test["label"].to_numpy(), (p >= 0.5).astype(int)
    gaps = result.records["group_performance"]["summary"]["accuracy_gap"]
    for feature in ("sex", "race"):
        accuracy = [np.mean(pred[m] == y[m]) for f, g, m in _groups(test) if f == feature]
        assert gaps[feature] == pytest.approx(max(accuracy) - min(accuracy), abs=1e-12)
    assert result.records["group_performance"]["summary"]["overall_accuracy"] == pytest.approx(np.mean(pred == y))


def test_demographic_parity_ratio_is_min_over_max_selection_rate(binary_audit):
    test, p, result = binary_audit
    pred = (p >= 0.5).astype(int)
    summary = result.records["fairness"]["summary"]
    for feature in ("sex", "race"):
        rates = [pred[m].mean() for f, g, m in _groups(test) if f == feature]
        assert summary[f"demographic_parity_ratio[{feature}]"] == pytest.approx(min(rates) / max(rates), abs=1e-12)


def test_headline_table_is_tidy_and_matches_the_summaries(binary_audit):
    _, _, result = binary_audit
    table = result.headline()
    assert list(table.columns) == ["check", *HEADLINE_COLUMNS]
    assert set(table["direction"].dropna()) <= {"higher", "lower"}
    fairness = table[(table["check"] == "fairness") & (table["metric"] == "demographic_parity_ratio")]
    summary = result.records["fairness"]["summary"]
    for _, row in fairness.iterrows():
        key = f"demographic_parity_ratio[{row['feature']}]"
        assert row["value"] == summary[key]
        assert (row["lower"], row["upper"]) == (summary[f"{key}.ci_lower"], summary[f"{key}.ci_upper"])
        assert row["lower"] <= row["upper"]


def findings_without_headline(result):
    """Findings (with a number) whose metric names no headline row of their check, or whose value differs."""
    from assay.audit import headline_key

    bad = []
    for finding in result.findings:
        if finding.severity == "error" or finding.value is None:
            continue  # a check that raised, or a verdict with no number (the data checks')
        rows = {headline_key(row): row for row in result.records[finding.check]["headline"]}
        row = rows.get(finding.metric)
        if row is None or row["value"] != pytest.approx(finding.value, abs=0, rel=0):
            bad.append((finding.check, finding.metric, finding.value, sorted(rows)))
    return bad


def test_every_finding_names_a_headline_row_of_its_check(binary_audit):
    _, _, result = binary_audit
    numbered = [f for f in result.findings if f.value is not None]
    assert {f.check for f in numbered} == {"group_performance", "fairness", "calibration"}
    assert any("[" in f.metric for f in numbered)  # feature-qualified keys are among them
    assert findings_without_headline(result) == []
    # a finding under a key no row has is caught
    from assay.audit import Finding
    forged = dataclasses.replace(result, findings=result.findings + (
        Finding("fairness", "warn", "x", "demographic_parity_ratio[nope]", 0.5, 0.8, {}),))
    assert len(findings_without_headline(forged)) == 1
