"""run_data_checks, findings and the datasheet; the real-data smoke test on Adult."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.data_checks import (
    DEFAULT_THRESHOLDS,
    PROMPT,
    DataReport,
    Finding,
    datasheet_markdown,
    run_data_checks,
)


def _frame(n, seed, *, shift=0.0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    y = (rng.random(n) < np.where(sex == "M", 0.4, 0.2)).astype(int)
    return pd.DataFrame({
        "age": rng.normal(40 + shift, 10, n).round(),
        "hours": rng.normal(40, 5, n),
        "job": rng.choice(["a", "b", "c"], n),
        "refund_issued": y.astype(float),  # recorded after the outcome: a leak
        "title": np.where(sex == "F", "Ms", "Mr"),  # proxy for sex
        "sex": sex,
        "label": y,
    })


@pytest.fixture(scope="module")
def synthetic():
    train, test = _frame(1500, 0), _frame(700, 1, shift=8.0)
    test.iloc[:5] = train.iloc[:5].to_numpy()  # 5 planted copies
    report = run_data_checks(train, test, target="label", sensitive_features="sex")
    return train, test, report


def _by_check(findings, check):
    return [f for f in findings if f.check == check]


def test_report_holds_every_check(synthetic):
    train, test, report = synthetic
    assert isinstance(report, DataReport)
    assert (report.n_train, report.n_test, report.n_features) == (1500, 700, 6)
    assert report.target == "label" and report.sensitive_features == ("sex",)
    assert report.overlap.n_exact == 5
    assert report.predictiveness.suspicious_features == ["refund_issued"]
    assert report.proxies.sensitive_in_X == ("sex",)
    assert list(report.proxies.strong_proxies["feature"]) == ["title"]
    assert report.label_balance.n_samples == 1500 and report.label_balance_test.n_samples == 700
    assert report.group_sizes.table["count"].sum() == 1500
    assert report.shift.drifted_features == ["age"]
    assert report.skipped == {}


def test_findings(synthetic):
    _, _, report = synthetic
    findings = report.findings()
    assert all(isinstance(f, Finding) and f.severity in ("pass", "warn", "fail") for f in findings)
    (leak,) = _by_check(findings, "leakage")
    assert leak.severity == "fail" and leak.evidence["feature"] == "refund_issued"
    (overlap,) = _by_check(findings, "train_test_overlap")
    assert overlap.severity == "warn" and overlap.evidence["n_exact"] == 5  # 0.7% < 1%: warn, not fail
    proxies = _by_check(findings, "proxies")
    assert [f.severity for f in proxies] == ["warn"] and "'title'" in proxies[0].message
    assert _by_check(findings, "sensitive_in_features")[0].severity == "warn"
    (shift,) = _by_check(findings, "distribution_shift")
    assert shift.severity == "warn" and "'age'" in shift.message
    assert _by_check(findings, "base_rates")[0].severity == "warn"
    assert report.worst_severity() == "fail"
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "check", "message"] and len(frame) == len(findings)


def test_thresholds_can_be_overridden_after_the_fact(synthetic):
    _, _, report = synthetic
    changed = report.findings({"base_rate_difference": 0.5, "overlap_fail_fraction": 0.001})
    assert _by_check(changed, "base_rates")[0].severity == "pass"
    assert _by_check(changed, "train_test_overlap")[0].severity == "fail"  # 0.7% >= 0.1%
    assert _by_check(report.findings({"min_group_size": 10_000}), "group_sizes")[0].severity == "warn"
    assert report.thresholds == DEFAULT_THRESHOLDS  # the report itself is unchanged


def test_to_dict_is_json_safe_and_deterministic(synthetic):
    train, test, report = synthetic
    record = report.to_dict()
    text = json.dumps(record, allow_nan=False)
    assert record["type"] == "DataReport" and len(record["findings"]) == len(report.findings())
    again = run_data_checks(train, test, target="label", sensitive_features="sex")
    assert json.dumps(again.to_dict(), allow_nan=False) == text


def test_without_target_or_sensitive_features():
    train, test = _frame(300, 0).drop(columns="label"), _frame(200, 1).drop(columns="label")
    report = run_data_checks(train, test)
    assert report.predictiveness is None and report.proxies is None and report.label_balance is None
    assert set(report.skipped) == {"single_feature_predictiveness", "label_balance", "proxy_features", "group_sizes"}
    json.dumps(report.to_dict(), allow_nan=False)
    checks = {f.check for f in report.findings()}
    assert checks == {"train_test_overlap", "near_duplicates", "missingness", "distribution_shift"}
    assert "To fill in" in datasheet_markdown(report, name="toy")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target": "income"}, "'target' names column\\(s\\) \\['income'\\]"),
        ({"target": "label", "sensitive_features": ["race"]}, "'sensitive_features' names column"),
        ({"target": "label", "thresholds": {"leak": 0.5}}, "'thresholds' has unknown key"),
        ({"target": "label", "thresholds": {"proxy_auc": 2.0}}, "thresholds\\['proxy_auc'\\]"),
        ({"target": "label", "cv": 1}, "'cv'"),
        ({"target": "label", "sensitive_features": 3}, "'sensitive_features'"),
    ],
)
def test_run_bad_inputs(kwargs, match):
    train, test = _frame(50, 0), _frame(30, 1)
    with pytest.raises(AssayInputError, match=match):
        run_data_checks(train, test, **kwargs)


def test_run_bad_test_split():
    train, test = _frame(50, 0), _frame(30, 1)
    with pytest.raises(AssayInputError, match="'test' must have the same columns as 'train'"):
        run_data_checks(train, test.drop(columns="hours"), target="label")
    with pytest.raises(AssayInputError, match="'test'"):
        run_data_checks(train, [1, 2, 3], target="label")
    test["label"] = test["label"].iloc[:-1].tolist() + [np.nan]
    with pytest.raises(AssayInputError, match="test\\['label'\\]"):
        run_data_checks(train, test, target="label")


def test_datasheet_sections_numbers_and_prompts(synthetic):
    _, _, report = synthetic
    md = datasheet_markdown(report, name="Toy credit", description="A made-up table.\nTwo lines.")
    headers = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headers == [
        "Summary of data checks", "Motivation", "Composition", "Collection process",
        "Preprocessing, cleaning and labeling", "Uses", "Distribution", "Maintenance",
    ]
    assert md.startswith("# Datasheet: Toy credit\n")
    assert "> A made-up table.\n> Two lines." in md
    assert "1,500 in train, 700 in test" in md
    assert "Test rows that exactly equal a training row: 5" in md
    assert "| sex | title |" in md
    prompts = [line for line in md.splitlines() if line.startswith(PROMPT)]
    assert len(prompts) >= 20
    assert any("Who created the dataset" in p for p in prompts)
    assert "**FAIL** (leakage)" in md
    with pytest.raises(AssayInputError, match="'data_report'"):
        datasheet_markdown(report.overlap, name="x")
    with pytest.raises(AssayInputError, match="'name'"):
        datasheet_markdown(report, name="")


# ---------------------------------------------------------------------------------------------
# Adult
# ---------------------------------------------------------------------------------------------


def test_adult_overlap_matches_an_independent_merge(adult, adult_report):
    report = adult_report
    X_train, X_test = adult.train.X, adult.test.X
    merged = X_test.reset_index(names="_row").merge(X_train.drop_duplicates(), how="inner", on=list(X_train.columns))
    expected = merged["_row"].nunique()
    assert expected == 26
    assert report.overlap.n_exact == expected
    assert report.overlap.n_train_duplicates == int(X_train.duplicated().sum())
    assert report.overlap.n_test_duplicates == int(X_test.duplicated().sum())


def test_adult_findings(adult, adult_report):
    report = adult_report
    # No single feature is a leak; relationship is the best single predictor of income.
    assert report.predictiveness.suspicious_features == []
    assert report.predictiveness.table.index[0] == "relationship"
    # relationship (Husband / Wife) is a strong proxy for sex; native_country leads for race.
    proxies = report.proxies
    assert proxies.sensitive_in_X == ("sex", "race")
    top_sex = proxies.top("sex", 1).iloc[0]
    assert top_sex["feature"] == "relationship" and top_sex["strong"] and top_sex["auc"] > 0.85
    assert proxies.top("race", 1).iloc[0]["feature"] == "native_country"
    assert proxies.top("age_group", 1).iloc[0]["feature"] == "age"
    # Base rates: men about 0.31, women about 0.11.
    gaps = report.label_balance.gaps
    assert gaps.loc["sex", "base_rate_min"] == pytest.approx(0.1095, abs=1e-3)
    assert gaps.loc["sex", "base_rate_max"] == pytest.approx(0.3057, abs=1e-3)
    # Missing workclass / occupation depend on age group (students and retirees).
    dep = report.missingness.summary
    flagged = set(dep.loc[dep["depends_on_group"], "feature"])
    assert flagged == {"workclass", "occupation"}
    # The published split is random: no feature shifts.
    assert report.shift.drifted_features == []
    assert report.group_sizes.coverage.loc["sex x race x age_group", "n_small"] > 0
    json.dumps(report.to_dict(), allow_nan=False)


def test_many_dtypes_go_through_every_check():
    rng = np.random.default_rng(0)

    def frame(n):
        return pd.DataFrame({
            "when": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "flag": rng.random(n) < 0.5,
            "count": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), dtype="Int64"),
            "name": pd.array(rng.choice(["x", "y", None], n), dtype="string"),
            "mixed": np.array([1, "a", 2.5, None] * (n // 4), dtype=object),
            "group": rng.choice(["g1", "g2"], n),
            "y": rng.choice(["bad", "good"], n),
        })

    train, test = frame(400), frame(200)
    train.loc[0, "when"] = pd.NaT
    report = run_data_checks(train, test, target="y", sensitive_features=["group"])
    assert report.feature_kinds == {
        "when": "numeric", "flag": "categorical", "count": "numeric", "name": "categorical",
        "mixed": "categorical", "group": "categorical",
    }
    assert report.label_balance.pos_label == "good"
    assert report.missingness.overall.loc["when", "n_missing"] == 1
    assert report.missingness.overall.loc["count", "n_missing"] == int(train["count"].isna().sum())
    assert report.predictiveness.table["auc"].max() < 0.7  # all noise
    json.dumps(report.to_dict(), allow_nan=False)
    assert "## Composition" in datasheet_markdown(report, name="dtypes")


def test_group_size_findings_name_the_split_and_the_groups(synthetic):
    # issue 21 item 21: which split the sizes are of, and which group is small (or smallest)
    _, _, report = synthetic
    table = report.group_sizes.table
    smallest = table.loc[table["count"].idxmin()]
    (passed,) = _by_check(report.findings(), "group_sizes")
    assert passed.severity == "pass" and "in the training data" in passed.message
    assert f"sex = '{smallest['group']}', {int(smallest['count'])} rows" in passed.message
    (small,) = _by_check(report.findings({"min_group_size": int(table["count"].max())}), "group_sizes")
    below = table[table["count"] < table["count"].max()]
    assert small.severity == "warn" and small.message.startswith("In the training data, ")
    assert all(f"sex = '{g}' ({c})" in small.message for g, c in zip(below["group"], below["count"]))
