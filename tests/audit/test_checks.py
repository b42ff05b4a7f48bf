"""Built-in checks on their own: numbers equal the library functions they stand for."""

import pytest
from scipy.stats import binomtest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from assay.audit import Audit
from assay.data_checks.summary import describe_data
from assay.metrics import expected_calibration_error


@pytest.fixture(scope="module")
def digits_audit():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = LogisticRegression(max_iter=300).fit(X[:1200], y[:1200])
    result = Audit(model, {"train": (X[:1200], y[:1200]), "test": (X[1200:], y[1200:])}, progress=False).run()
    return model, X, y, result


def test_multiclass_calibration_without_groups(digits_audit):
    model, X, y, result = digits_audit
    record = result.records["calibration"]
    assert record["status"] == "ok", record.get("error")
    proba = model.predict_proba(X[1200:])
    assert record["summary"]["overall_ece"] == pytest.approx(expected_calibration_error(y[1200:], proba), abs=1e-12)
    assert record["summary"]["max_calibration_error"] == pytest.approx(
        expected_calibration_error(y[1200:], proba, norm="max"), abs=1e-12)
    weights = record["result"]["reliability"]["data"]
    assert sum(row[2] for row in weights) == pytest.approx(len(y) - 1200)
    # each non-empty bin's accuracy interval is the Wilson interval of its hits (scipy's)
    columns = record["result"]["reliability"]["columns"]
    for row in weights:
        bin_ = dict(zip(columns, row))
        if not bin_["weight"]:
            assert bin_["accuracy_lower"] is None  # NaN in the record
            continue
        hits = round(bin_["accuracy"] * bin_["weight"])
        ci = binomtest(hits, int(bin_["weight"])).proportion_ci(method="wilson")
        assert bin_["accuracy_lower"] == pytest.approx(ci.low, abs=1e-9)
        assert bin_["accuracy_upper"] == pytest.approx(ci.high, abs=1e-9)
    assert "max_group" not in record["summary"]  # no sensitive features, no per-group ECE


def test_training_data_check_equals_describe_data(digits_audit):
    _, X, y, result = digits_audit
    record = result.records["training_data"]
    assert record["summary"]["n_rows"] == 1200
    assert record["summary"]["description"] == describe_data(X[:1200], y[:1200]).lines()
    # fairness and per-group checks need sensitive features: skipped with the reason
    assert "sensitive_features" in result.skipped["fairness"]
    assert result.forward_passes == {"test": 1}


def _small_group_audit(n_regions, eval_split="holdout"):
    """A binary model audited on ``eval_split``, where region r has 3 + r rows (all below 30) and
    the big region "main" 400; ``sex`` has two large groups."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    region = ["main"] * 400 + [f"r{r}" for r in range(n_regions) for _ in range(3 + r)]
    n = len(region)
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "sex": rng.choice(["F", "M"], n), "region": region,
                          "label": (x + rng.normal(size=n) > 0).astype(int)})
    model = LogisticRegression().fit(frame[["x"]], frame["label"])

    class OnX:
        classes_ = model.classes_

        def fit(self, X, y):  # pragma: no cover
            return self

        def predict_proba(self, X):
            return model.predict_proba(X[["x"]])

    result = Audit(OnX(), {eval_split: frame}, target="label", sensitive_features=["sex", "region"],
                   eval_split=eval_split, checks=["group_performance"], check_params={
                       "group_performance": {"intersections": False, "n_boot": 0}}, progress=False).run()
    return frame, result


def test_small_group_finding_names_the_split_and_the_groups():
    frame, result = _small_group_audit(2)
    finding = next(f for f in result.findings if f.metric == "n_small_groups")
    counts = frame["region"].value_counts()
    assert finding.value == 2 and counts["r0"] == 3 and counts["r1"] == 4
    assert finding.message == ("2 group(s) of the evaluation split 'holdout' have fewer than 30 rows: "
                               "region = r0 (3 rows), region = r1 (4 rows); their metrics are noisy.")
    assert finding.evidence["split"] == "holdout"
    assert result.records["group_performance"]["result"]["split"] == "holdout"


def test_small_group_finding_names_a_handful_then_counts_the_rest():
    frame, result = _small_group_audit(8, eval_split="test")
    finding = next(f for f in result.findings if f.metric == "n_small_groups")
    assert finding.value == 8
    named = ", ".join(f"region = r{r} ({3 + r} rows)" for r in range(5))  # the smallest first
    assert finding.message == (f"8 group(s) of the evaluation split 'test' have fewer than 30 rows: {named} "
                               "and 3 more; their metrics are noisy.")
    assert [g["count"] for g in finding.evidence["small_groups"]] == [3, 4, 5, 6, 7]


def test_small_group_finding_of_a_record_written_before_the_names():
    from assay.audit.checks.performance import GroupPerformanceCheck

    found = GroupPerformanceCheck().findings({"n_small_groups": 2}, {"accuracy_gap_warn": 0.05,
                                                                    "accuracy_gap_fail": 0.1})
    assert found[0].message == "2 group(s) have fewer than 30 rows; their metrics are noisy."
