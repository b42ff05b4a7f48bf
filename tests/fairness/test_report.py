"""fairness_report: table layout, verdicts, bootstrap intervals, JSON record."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import assay.fairness as af
from assay import Result
from assay.metrics import evaluate_groups
from assay.fairness.report import TABLE_COLUMNS

Z975 = 1.959963984540054


def _synthetic(seed=0, n=4000):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n, p=[0.4, 0.6]),
                          "race": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])})
    y_true = rng.integers(0, 2, n)
    rate = np.where(frame["sex"] == "M", 0.45, 0.3)
    y_pred = (rng.random(n) < rate).astype(int)
    y_score = np.clip(0.5 * y_pred + 0.25 + rng.normal(0, 0.1, n), 0, 1)
    return y_true, y_pred, y_score, frame


def test_table_layout_and_flags():
    y_true, y_pred, y_score, frame = _synthetic()
    report = af.fairness_report(y_true, y_pred, sensitive_features=frame, y_score=y_score,
                                privileged_groups={"sex": "M", "race": "a"})
    assert isinstance(report, Result)
    table = report.to_frame()
    assert tuple(table.columns) == TABLE_COLUMNS
    assert list(table.index.names) == ["feature", "measure"]
    assert list(dict.fromkeys(table.index.get_level_values("feature"))) == ["sex", "race", "sex x race", "overall"]
    sex = table.loc["sex"]
    # DP ratio: about 0.3 / 0.45, fails the four-fifths rule.
    assert sex.loc["demographic_parity_ratio", "reference"] == 0.8
    assert sex.loc["demographic_parity_ratio", "fair_range"] == ">= 0.8"
    assert sex.loc["demographic_parity_ratio", "passes"] is False
    assert sex.loc["demographic_parity_ratio", "flag"] == "fail"
    assert sex.loc["disparate_impact", "fair_range"] == "[0.8, 1.25]"
    assert sex.loc["disparate_impact", "value"] == pytest.approx(
        af.disparate_impact(y_true, y_pred, sensitive_features=frame["sex"], privileged_group="M"))
    # y_true is independent of everything: the base-rate ratio passes.
    assert sex.loc["base_rate_ratio", "flag"] == "pass"
    assert sex.loc["treatment_equality_difference", "flag"] == "n/a"
    assert sex.loc["treatment_equality_difference", "passes"] is None
    assert "calibration_difference" in sex.index
    # The intersection gets the tuple of privileged groups.
    assert "privileged: M x a" in table.loc[("sex x race", "disparate_impact"), "definition"]
    assert set(table["flag"]) <= {"pass", "fail", "uncertain", "undefined", "n/a"}
    assert report.failures.index.isin(table[table["flag"] == "fail"].index).all()
    assert "FairnessReport(" in repr(report)
    # by_group: counts and small flags
    assert report.by_group.loc[("sex", "F"), "count"] == (frame["sex"] == "F").sum()
    assert report.overall["count"] == len(y_true)


def test_intervals_flags_and_seed():
    y_true, y_pred, _, frame = _synthetic()
    report = af.fairness_report(y_true, y_pred, sensitive_features=frame, n_boot=2000, random_state=3,
                                intersections=False, privileged_groups={"sex": "M"})
    table = report.table
    finite = table.dropna(subset=["value", "ci_lower"])
    assert len(finite) == len(table)  # every measure resampled here
    assert ((finite["ci_lower"] <= finite["value"] + 1e-12) & (finite["value"] <= finite["ci_upper"] + 1e-12)).all()
    # Selection rates 0.3 (F, n ~ 1600) and 0.45 (M, n ~ 2400): the bootstrap interval of the
    # difference is close to the normal-approximation interval.
    by = report.by_group.loc["sex"]
    p_f, p_m = by.loc["F", "selection_rate"], by.loc["M", "selection_rate"]
    se = math.sqrt(p_f * (1 - p_f) / by.loc["F", "count"] + p_m * (1 - p_m) / by.loc["M", "count"])
    row = table.loc[("sex", "demographic_parity_difference")]
    assert row["ci_upper"] - row["ci_lower"] == pytest.approx(2 * Z975 * se, rel=0.1)
    assert row["flag"] == "fail"  # whole interval above 0.1
    # Same seed, same record; a different seed moves the intervals.
    again = af.fairness_report(y_true, y_pred, sensitive_features=frame, n_boot=2000, random_state=3,
                               intersections=False, privileged_groups={"sex": "M"})
    assert again.to_dict() == report.to_dict()
    other = af.fairness_report(y_true, y_pred, sensitive_features=frame, n_boot=2000, random_state=4,
                               intersections=False, privileged_groups={"sex": "M"})
    assert not np.array_equal(other.table["ci_lower"].to_numpy(), table["ci_lower"].to_numpy())
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_uncertain_when_the_interval_straddles_the_reference():
    # Two small groups with selection rates 0.5 and 0.4: DP ratio 0.8, right at the threshold.
    y_pred = np.r_[np.ones(25), np.zeros(25), np.ones(20), np.zeros(30)].astype(int)
    group = np.r_[np.full(50, "p"), np.full(50, "u")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no positives: TPR and FNR are undefined, as expected
        report = af.fairness_report(np.zeros(100, dtype=int), y_pred, sensitive_features=group, n_boot=500,
                                    random_state=0, privileged_groups={"sensitive_feature": "p"})
    row = report.table.loc[("sensitive_feature", "demographic_parity_ratio")]
    assert row["value"] == pytest.approx(0.8)
    assert row["passes"] is True and row["flag"] == "uncertain"
    assert report.table.loc[("sensitive_feature", "disparate_impact"), "flag"] == "uncertain"


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
def test_intervals_equal_the_metrics_layer_bootstrap(method, weighted):
    """Same resampler, same seed, same cells: the report's single-metric intervals are
    evaluate_groups(...).difference_ci() / ratio_ci()."""
    y_true, y_pred, _, frame = _synthetic(seed=1)
    w = np.random.default_rng(0).integers(1, 4, len(y_true)).astype(float) if weighted else None
    report = af.fairness_report(y_true, y_pred, sensitive_features=frame, sample_weight=w, n_boot=300,
                                random_state=11, method=method)
    grouped = evaluate_groups(y_true, y_pred, sensitive_features=frame, sample_weight=w,
                              metrics=["selection_rate", "tpr", "ppv", "base_rate"], n_boot=300,
                              random_state=11)
    diff_ci, ratio_ci = grouped.difference_ci(method), grouped.ratio_ci(method)
    for feature in ["sex", "race", "sex x race"]:
        for measure, ci, metric in [("demographic_parity_difference", diff_ci, "selection_rate"),
                                    ("demographic_parity_ratio", ratio_ci, "selection_rate"),
                                    ("equal_opportunity_difference", diff_ci, "tpr"),
                                    ("predictive_parity_difference", diff_ci, "ppv"),
                                    ("base_rate_ratio", ratio_ci, "base_rate")]:
            row = report.table.loc[(feature, measure)]
            assert row["ci_lower"] == pytest.approx(ci.loc[feature, (metric, "lower")], abs=1e-12), measure
            assert row["ci_upper"] == pytest.approx(ci.loc[feature, (metric, "upper")], abs=1e-12), measure


def test_undefined_measures_are_flagged_not_zero():
    # Group c has no positives: its TPR is undefined; with only a and c, equal opportunity is NaN.
    y_true = np.array([1, 0, 1, 0, 0, 0])
    y_pred = np.array([1, 0, 0, 1, 1, 0])
    group = np.array(["a", "a", "a", "a", "c", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = af.fairness_report(y_true, y_pred, sensitive_features=group)
    row = report.table.loc[("sensitive_feature", "equal_opportunity_difference")]
    assert math.isnan(row["value"]) and row["flag"] == "undefined" and row["passes"] is None
    assert math.isnan(report.by_group.loc[("sensitive_feature", "c"), "tpr"])
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_calibration_gap_gets_an_interval_with_scores():
    y_true, y_pred, y_score, frame = _synthetic(seed=2)
    report = af.fairness_report(y_true, y_pred, sensitive_features=frame, y_score=y_score, n_boot=200, random_state=0)
    rows = report.table.xs("calibration_difference", level="measure")
    assert len(rows) == 3
    assert (rows["ci_lower"] <= rows["ci_upper"]).all() and rows["ci_lower"].notna().all()
    expected = af.calibration_difference(y_true, y_score, sensitive_features=frame["race"])
    assert rows.loc["race", "value"] == pytest.approx(expected, abs=1e-12)
