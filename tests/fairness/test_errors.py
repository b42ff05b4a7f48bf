"""Bad input raises AssayInputError naming the argument."""

import numpy as np
import pandas as pd
import pytest

import assay.fairness as af
from assay import AssayInputError
from assay.metrics import evaluate_groups

Y = np.array([1, 0, 1, 0, 1, 0])
P = np.array([1, 1, 0, 0, 1, 0])
G = np.array(["a", "a", "a", "b", "b", "b"])
S = np.array([0.9, 0.2, 0.4, 0.1, 0.8, 0.3])


def _raises(name, function, *args, **kwargs):
    with pytest.raises(AssayInputError) as info:
        function(*args, **kwargs)
    assert f"'{name}'" in str(info.value), str(info.value)
    return str(info.value)


def _mismatch(lengths, function, *args, **kwargs):
    """Length mismatches list every argument with its length: 'y_true: 6, y_pred: 5'."""
    with pytest.raises(AssayInputError) as info:
        function(*args, **kwargs)
    for item in lengths:
        assert item in str(info.value), str(info.value)


def test_length_mismatch_names_the_arguments():
    _mismatch(["y_true: 6", "y_pred: 5"], af.demographic_parity_difference, Y, P[:-1], sensitive_features=G)
    _mismatch(["y_true: 5", "y_pred: 6"], af.equalized_odds_difference, Y[:-1], P, sensitive_features=G)
    _mismatch(["sensitive_features: 5"], af.equalized_odds_ratio, Y, P, sensitive_features=G[:-1])
    _mismatch(["sample_weight: 5"], af.demographic_parity_ratio, Y, P, sensitive_features=G,
              sample_weight=np.ones(5))
    _mismatch(["y_score: 5"], af.calibration_difference, Y, S[:-1], sensitive_features=G)
    _mismatch(["y_score: 5"], af.fairness_report, Y, P, sensitive_features=G, y_score=S[:-1])
    _mismatch(["X: 5", "y_pred: 6"], af.consistency_score, np.zeros((5, 2)), P)
    _mismatch(["y_true: 6", "y_pred: 5"], af.gap_test, Y, P[:-1], sensitive_features=G)
    _mismatch(["y_true: 6", "y_pred: 5"], af.theil_index, Y, P[:-1])


def test_nan_in_labels():
    y = Y.astype(float)
    y[2] = np.nan
    _raises("y_true", af.equal_opportunity_difference, y, P, sensitive_features=G)
    _raises("y_true", af.fairness_report, y, P, sensitive_features=G)
    _raises("y_true", af.label_disparate_impact, y, sensitive_features=G, privileged_group="a")
    _raises("y_pred", af.disparate_impact_null, pd.Series([1, None, 0, 0, 1, 0], dtype=object),
            sensitive_features=G, privileged_group="a")
    _raises("y_true", af.theil_index, y, P)
    _raises("y_true", af.gap_test, y, P, sensitive_features=G)


def test_scores_outside_unit_interval():
    _raises("y_score", af.calibration_by_group, Y, S * 2, sensitive_features=G)
    _raises("y_score", af.calibration_difference, Y, S - 0.5, sensitive_features=G)
    _raises("y_score", af.fairness_report, Y, P, sensitive_features=G, y_score=S + 1)


def test_unknown_metric_name():
    message = _raises("metric", af.metric_difference, Y, P, sensitive_features=G, metric="recal")
    assert "'recal'" in message and "tpr" in message
    _raises("metric", af.metric_ratio, Y, P, sensitive_features=G, metric="count")
    _raises("metric", af.gap_test, Y, P, sensitive_features=G, metric="f1")
    _raises("metric", af.privileged_difference, Y, P, sensitive_features=G, privileged_group="a", metric="x")


def test_sensitive_feature_with_one_group():
    one = np.array(["a"] * 6)
    for function in [af.demographic_parity_difference, af.equal_opportunity_difference, af.fairness_report,
                     af.gap_test]:
        message = _raises("sensitive_features", function, Y, P, sensitive_features=one)
        assert "single group" in message
    _raises("sensitive_features", af.disparate_impact_null, P, sensitive_features=one)
    _raises("sensitive_features", af.label_base_rates, Y, sensitive_features=pd.DataFrame({"g": G, "h": one}))


def test_privileged_and_group_choices():
    message = _raises("privileged_group", af.disparate_impact, Y, P, sensitive_features=G, privileged_group="c")
    assert "['a', 'b']" in message
    _raises("privileged_group", af.statistical_parity_difference, Y, P, sensitive_features=G, privileged_group=None)
    _raises("privileged_groups", af.fairness_report, Y, P, sensitive_features=G, privileged_groups={"age": "x"})
    _raises("privileged_groups", af.fairness_report, Y, P, sensitive_features=G, privileged_groups=["a"])
    _raises("privileged_groups", af.fairness_report, Y, P, sensitive_features=G,
            privileged_groups={"sensitive_feature": "z"})
    _raises("groups", af.gap_test, Y, P, sensitive_features=G, groups=("a", "a"))
    _raises("groups", af.gap_test, Y, P, sensitive_features=G, groups=("a", "z"))
    _raises("groups", af.gap_test, Y, P, sensitive_features=G, groups="ab")


def test_bad_parameters():
    _raises("method", af.demographic_parity_difference, Y, P, sensitive_features=G, method="overall")
    _raises("agg", af.equalized_odds_difference, Y, P, sensitive_features=G, agg="max")
    _raises("method", af.fairness_report, Y, P, sensitive_features=G, method="x")
    _raises("n_boot", af.fairness_report, Y, P, sensitive_features=G, n_boot=-1)
    _raises("ratio_threshold", af.fairness_report, Y, P, sensitive_features=G, ratio_threshold=1.5)
    _raises("difference_threshold", af.fairness_report, Y, P, sensitive_features=G, difference_threshold=0)
    _raises("confidence_level", af.fairness_report, Y, P, sensitive_features=G, confidence_level=1.0)
    _raises("intersections", af.fairness_report, Y, P, sensitive_features=G, intersections="yes")
    _raises("random_state", af.fairness_report, Y, P, sensitive_features=G, n_boot=10, random_state="x")
    _raises("n_resamples", af.disparate_impact_null, P, sensitive_features=G, n_resamples=0)
    _raises("confidence_level", af.disparate_impact_null, P, sensitive_features=G, confidence_level=95)
    _raises("ci_method", af.two_proportion_test, 1, 2, 1, 2, ci_method="exact")
    _raises("successes_a", af.two_proportion_test, 5, 3, 1, 2)
    _raises("n_b", af.two_proportion_test, 1, 3, 0, 0)
    _raises("successes_b", af.two_proportion_test, 1, 3, -1, 2)
    _raises("alpha", af.generalized_entropy_index, Y, P, alpha="2")
    _raises("sample_weight", af.demographic_parity_difference, Y, P, sensitive_features=G,
            sample_weight=-np.ones(6))
    _raises("n_neighbors", af.consistency_score, np.zeros((6, 1)), P, n_neighbors=7)
    _raises("n_neighbors", af.consistency_score, np.zeros((6, 1)), P, n_neighbors=6, include_self=False)
    _raises("include_self", af.consistency_score, np.zeros((6, 1)), P, include_self=1)
    _raises("n_bins", af.calibration_by_group, Y, S, sensitive_features=G, n_bins=0)
    _raises("norm", af.calibration_by_group, Y, S, sensitive_features=G, norm="l3")


def test_non_binary_and_bad_features():
    _raises("y_pred", af.demographic_parity_difference, Y, S, sensitive_features=G)  # scores as labels
    _raises("pos_label", af.demographic_parity_difference, Y, P, sensitive_features=G, pos_label="yes")
    X = np.zeros((6, 2))
    X[0, 0] = np.nan
    _raises("X", af.consistency_score, X, P)
    _raises("X", af.consistency_score, pd.DataFrame({"a": list("abcdef")}), P)
    _raises("grouped", af.disparity_summary, evaluate_groups)
