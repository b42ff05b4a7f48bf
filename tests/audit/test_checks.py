"""Built-in checks on their own: numbers equal the library functions they stand for."""

import pytest
from scipy.stats import binomtest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from assay.audit import Audit
from assay.data_checks.summary import describe_data
from assay.metrics import calibration_error


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
    assert record["summary"]["overall_ece"] == pytest.approx(calibration_error(y[1200:], proba), abs=1e-12)
    assert record["summary"]["max_calibration_error"] == pytest.approx(
        calibration_error(y[1200:], proba, norm="max"), abs=1e-12)
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
