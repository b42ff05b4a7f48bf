"""Every measure on a tiny case whose numbers are written by hand.

Group A (4 rows): y_true 1 1 0 0, y_pred 1 0 1 0 -> TP 1, FN 1, FP 1, TN 1.
Group B (6 rows): y_true 1 1 1 0 0 0, y_pred 1 1 0 0 0 0 -> TP 2, FN 1, FP 0, TN 3.
All rows: TP 3, FN 2, FP 1, TN 4.

        selection  TPR   FPR   PPV  error  FNR   FN/FP
  A     1/2        1/2   1/2   1/2  1/2    1/2   1
  B     1/3        2/3   0     1    1/6    1/3   undefined (FP = 0)
  all   2/5        3/5   1/5   3/4  3/10   2/5   2
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import assay.fairness as af
from assay import UndefinedMetricWarning
from assay.metrics import GroupedMetrics

Y_TRUE = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0, 0])
Y_PRED = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0, 0])
GROUP = np.array(["A"] * 4 + ["B"] * 6)
KW = {"sensitive_features": GROUP}


def approx(x):
    return pytest.approx(x, abs=1e-12)


def test_demographic_parity():
    assert af.demographic_parity_difference(Y_TRUE, Y_PRED, **KW) == approx(1 / 2 - 1 / 3)
    assert af.demographic_parity_difference(Y_TRUE, Y_PRED, **KW, method="to_overall") == approx(
        max(abs(1 / 2 - 2 / 5), abs(1 / 3 - 2 / 5)))
    assert af.demographic_parity_ratio(Y_TRUE, Y_PRED, **KW) == approx((1 / 3) / (1 / 2))
    assert af.demographic_parity_ratio(Y_TRUE, Y_PRED, **KW, method="to_overall") == approx(
        min((2 / 5) / (1 / 2), (1 / 3) / (2 / 5)))


def test_equalized_odds_and_equal_opportunity():
    tpr_gap, fpr_gap = 2 / 3 - 1 / 2, 1 / 2 - 0
    assert af.equalized_odds_difference(Y_TRUE, Y_PRED, **KW) == approx(max(tpr_gap, fpr_gap))
    assert af.equalized_odds_difference(Y_TRUE, Y_PRED, **KW, agg="mean") == approx((tpr_gap + fpr_gap) / 2)
    tpr_ratio, fpr_ratio = (1 / 2) / (2 / 3), 0 / (1 / 2)
    assert af.equalized_odds_ratio(Y_TRUE, Y_PRED, **KW) == approx(min(tpr_ratio, fpr_ratio))
    assert af.equalized_odds_ratio(Y_TRUE, Y_PRED, **KW, agg="mean") == approx((tpr_ratio + fpr_ratio) / 2)
    assert af.equal_opportunity_difference(Y_TRUE, Y_PRED, **KW) == approx(tpr_gap)
    assert af.equal_opportunity_ratio(Y_TRUE, Y_PRED, **KW) == approx(tpr_ratio)
    # to_overall: |TPR_g - 3/5| and |FPR_g - 1/5|
    assert af.equalized_odds_difference(Y_TRUE, Y_PRED, **KW, method="to_overall") == approx(
        max(abs(1 / 2 - 3 / 5), abs(2 / 3 - 3 / 5), abs(1 / 2 - 1 / 5), abs(0 - 1 / 5)))


def test_predictive_parity_error_rate_fnr_fpr():
    assert af.predictive_parity_difference(Y_TRUE, Y_PRED, **KW) == approx(1 - 1 / 2)
    assert af.predictive_parity_ratio(Y_TRUE, Y_PRED, **KW) == approx(1 / 2)
    assert af.error_rate_difference(Y_TRUE, Y_PRED, **KW) == approx(1 / 2 - 1 / 6)
    assert af.false_negative_rate_difference(Y_TRUE, Y_PRED, **KW) == approx(1 / 2 - 1 / 3)
    assert af.false_positive_rate_difference(Y_TRUE, Y_PRED, **KW) == approx(1 / 2)
    assert af.metric_difference(Y_TRUE, Y_PRED, **KW, metric="accuracy") == approx(5 / 6 - 1 / 2)
    assert af.metric_ratio(Y_TRUE, Y_PRED, **KW, metric="accuracy") == approx((1 / 2) / (5 / 6))


def test_treatment_equality_is_nan_not_zero_where_undefined():
    with pytest.warns(UndefinedMetricWarning, match="treatment_equality.*'B'"):
        series = af.treatment_equality(Y_TRUE, Y_PRED, **KW)
    assert series["A"] == approx(1.0)
    assert math.isnan(series["B"])
    assert series["overall"] == approx(2 / 1)
    # Only group A has a ratio: a gap needs two groups, so NaN (with a warning), never 0.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert math.isnan(af.treatment_equality_difference(Y_TRUE, Y_PRED, **KW))
    messages = [str(w.message) for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    assert any("'B'" in m for m in messages)
    assert any("fewer than two groups" in m and "treatment_equality_difference" in m for m in messages)
    # A third group C with FN 3, FP 1: ratios A 1, C 3 -> gap 2 (B skipped).
    y_true = np.append(Y_TRUE, [1, 1, 1, 0])
    y_pred = np.append(Y_PRED, [0, 0, 0, 1])
    group = np.append(GROUP, ["C"] * 4)
    with pytest.warns(UndefinedMetricWarning):
        assert af.treatment_equality_difference(y_true, y_pred, sensitive_features=group) == approx(2.0)


def test_undefined_rate_warns_names_group_and_metric_and_is_skipped():
    # Group C has no positives: its TPR is undefined, the gap is over A and B.
    y_true = np.append(Y_TRUE, [0, 0])
    y_pred = np.append(Y_PRED, [1, 0])
    group = np.append(GROUP, ["C", "C"])
    with pytest.warns(UndefinedMetricWarning, match="'tpr'.*'C'"):
        value = af.equal_opportunity_difference(y_true, y_pred, sensitive_features=group)
    assert value == approx(2 / 3 - 1 / 2)
    # With two groups only, one undefined: NaN, not 0.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = af.equal_opportunity_difference([1, 0, 0, 0], [1, 0, 1, 0], sensitive_features=["a", "a", "b", "b"])
    assert math.isnan(value)
    messages = [str(w.message) for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    assert any("'tpr'" in m and "'b'" in m for m in messages)
    assert any("equal_opportunity_difference" in m for m in messages)


def test_aif360_vocabulary_privileged_b():
    kw = {**KW, "privileged_group": "B"}
    assert af.statistical_parity_difference(Y_TRUE, Y_PRED, **kw) == approx(1 / 2 - 1 / 3)
    assert af.disparate_impact(Y_TRUE, Y_PRED, **kw) == approx((1 / 2) / (1 / 3))
    assert af.disparate_impact_score(Y_TRUE, Y_PRED, **kw) == approx(1 - 2 / 3)
    assert af.average_odds_difference(Y_TRUE, Y_PRED, **kw) == approx(((1 / 2 - 0) + (1 / 2 - 2 / 3)) / 2)
    assert af.privileged_difference(Y_TRUE, Y_PRED, **kw, metric="tpr") == approx(1 / 2 - 2 / 3)
    assert af.privileged_ratio(Y_TRUE, Y_PRED, **kw, metric="ppv") == approx((1 / 2) / 1)
    assert af.label_disparate_impact(Y_TRUE, **kw) == approx((2 / 4) / (3 / 6))
    # Privileged A: DI = (1/3) / (1/2); the score is the same whichever side is favoured.
    kw["privileged_group"] = "A"
    assert af.disparate_impact(Y_TRUE, Y_PRED, **kw) == approx(2 / 3)
    assert af.disparate_impact_score(Y_TRUE, Y_PRED, **kw) == approx(1 - 2 / 3)


def test_privileged_group_against_all_others_and_intersections():
    # Three groups: privileged A vs {B, C} pooled.
    group = np.array(["A", "A", "B", "B", "C", "C"])
    y_pred = np.array([1, 1, 1, 0, 0, 0])
    y_true = np.zeros(6, dtype=int)
    assert af.disparate_impact(y_true, y_pred, sensitive_features=group, privileged_group="A") == approx(
        (1 / 4) / 1)
    frame = pd.DataFrame({"sex": ["M", "M", "F", "F", "M", "F"], "race": ["w", "b", "w", "b", "w", "w"]})
    y_pred = np.array([1, 0, 1, 0, 1, 0])
    # privileged M x w: rows 0 and 4 (both selected); others: rows 1, 2, 3, 5 (one selected)
    for privileged in [("M", "w"), "M x w"]:
        assert af.statistical_parity_difference(
            np.zeros(6), y_pred, sensitive_features=frame, privileged_group=privileged) == approx(1 / 4 - 1)
    # Numbers as group labels are compared as strings.
    assert af.disparate_impact([0] * 4, [1, 0, 1, 1], sensitive_features=[0, 0, 1, 1], privileged_group=1) == approx(0.5)


def test_disparate_impact_edge_values():
    # Privileged never selected, others selected: DI is infinite and the score 1.
    assert af.disparate_impact([0] * 4, [0, 0, 1, 0], sensitive_features=["p", "p", "u", "u"],
                               privileged_group="p") == math.inf
    assert af.disparate_impact_score([0] * 4, [0, 0, 1, 0], sensitive_features=["p", "p", "u", "u"],
                                     privileged_group="p") == 1.0
    with pytest.warns(UndefinedMetricWarning, match="disparate_impact"):
        assert math.isnan(af.disparate_impact([0] * 4, [0] * 4, sensitive_features=["p", "p", "u", "u"],
                                              privileged_group="p"))


def test_generalized_entropy_and_theil_by_hand():
    # Benefits b = y_pred - y_true + 1: A 1 0 2 1, B 1 1 0 1 1 1 -> seven 1s, two 0s, one 2; mean 0.9.
    mu = 0.9
    ge2 = (7 * ((1 / mu) ** 2 - 1) + 2 * (0 - 1) + ((2 / mu) ** 2 - 1)) / (10 * 2 * 1)
    assert af.generalized_entropy_index(Y_TRUE, Y_PRED) == approx(ge2)
    assert ge2 == approx(29 / 162)
    theil = (7 * (1 / mu) * math.log(1 / mu) + (2 / mu) * math.log(2 / mu)) / 10
    assert af.theil_index(Y_TRUE, Y_PRED) == approx(theil)
    assert af.generalized_entropy_index(Y_TRUE, Y_PRED, alpha=1) == approx(theil)
    ge3 = (7 * ((1 / mu) ** 3 - 1) + 2 * (0 - 1) + ((2 / mu) ** 3 - 1)) / (10 * 3 * 2)
    assert af.generalized_entropy_index(Y_TRUE, Y_PRED, alpha=3) == approx(ge3)
    # alpha = 0 (mean log deviation) diverges with a zero benefit; without one it is finite.
    assert af.generalized_entropy_index(Y_TRUE, Y_PRED, alpha=0) == math.inf
    y_true, y_pred = [0, 0, 1, 1], [1, 0, 1, 1]  # b = 2 1 1 1, mean 5/4
    assert af.generalized_entropy_index(y_true, y_pred, alpha=0) == approx(
        -(math.log(2 / 1.25) + 3 * math.log(1 / 1.25)) / 4)
    # Weights act as repeated rows.
    w = np.array([2, 1, 1, 1, 1, 1, 1, 1, 1, 3])
    repeated = np.repeat(np.arange(10), w)
    assert af.generalized_entropy_index(Y_TRUE, Y_PRED, sample_weight=w) == approx(
        af.generalized_entropy_index(Y_TRUE[repeated], Y_PRED[repeated]))
    # Perfect predictions: every benefit 1, no inequality.
    assert af.theil_index([0, 1, 1], [0, 1, 1]) == approx(0.0)


def test_consistency_by_hand():
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    y_pred = np.array([1, 1, 0, 0, 0, 1])
    # k = 3 with self: each row's neighbourhood is its cluster, means 2/3 and 1/3.
    assert af.consistency_score(X, y_pred, n_neighbors=3) == approx(1 - (4 * (1 / 3) + 2 * (2 / 3)) / 6)
    # k = 2 without self: the other two rows of the cluster.
    assert af.consistency_score(X, y_pred, n_neighbors=2, include_self=False) == approx(
        1 - (0.5 + 0.5 + 1 + 0.5 + 0.5 + 1) / 6)
    assert af.consistency_score(X, [1] * 6, n_neighbors=2) == approx(1.0)


def test_calibration_within_groups_by_hand():
    # Two bins: [0, 0.5], (0.5, 1].
    y_score = np.array([0.8, 0.8, 0.2, 0.2, 0.6, 0.6])
    y_true = np.array([1, 0, 0, 0, 1, 1])
    group = np.array(["A"] * 4 + ["B"] * 2)
    series = af.calibration_by_group(y_true, y_score, sensitive_features=group, n_bins=2)
    ece_a = (2 * abs(0.5 - 0.8) + 2 * abs(0 - 0.2)) / 4
    ece_b = abs(1 - 0.6)
    ece_all = (4 * abs(3 / 4 - 0.7) + 2 * abs(0 - 0.2)) / 6
    assert series.to_dict() == {"A": approx(ece_a), "B": approx(ece_b), "overall": approx(ece_all)}
    assert af.calibration_difference(y_true, y_score, sensitive_features=group, n_bins=2) == approx(ece_b - ece_a)
    assert af.calibration_difference(y_true, y_score, sensitive_features=group, n_bins=2,
                                     method="to_overall") == approx(max(abs(ece_a - ece_all), abs(ece_b - ece_all)))
    mce = af.calibration_by_group(y_true, y_score, sensitive_features=group, n_bins=2, norm="max")
    assert mce["A"] == approx(0.3)


def test_label_base_rates_on_the_data_alone():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    frame = pd.DataFrame({"g": GROUP, "h": ["x", "y"] * 5})
    result = af.label_base_rates(y, sensitive_features=frame, min_group_size=1)
    assert isinstance(result, GroupedMetrics)
    assert result.by_group.loc[("g", "A"), "base_rate"] == approx(2 / 4)
    assert result.by_group.loc[("g", "B"), "base_rate"] == approx(1 / 6)
    assert result.by_group.loc[("g x h", "A x x"), "base_rate"] == approx(1 / 2)
    assert result.ratio().loc["g", "base_rate"] == approx((1 / 6) / (2 / 4))
    assert af.label_disparate_impact(y, sensitive_features=GROUP, privileged_group="A") == approx((1 / 6) / (2 / 4))


def test_weights_act_as_repeated_rows():
    w = np.array([1, 2, 3, 1, 1, 2, 1, 4, 1, 2])
    repeated = np.repeat(np.arange(10), w)
    for name in ["demographic_parity_difference", "equalized_odds_ratio", "predictive_parity_difference",
                 "error_rate_difference"]:
        function = getattr(af, name)
        assert function(Y_TRUE, Y_PRED, **KW, sample_weight=w) == approx(
            function(Y_TRUE[repeated], Y_PRED[repeated], sensitive_features=GROUP[repeated])), name
    assert af.average_odds_difference(Y_TRUE, Y_PRED, **KW, privileged_group="A", sample_weight=w) == approx(
        af.average_odds_difference(Y_TRUE[repeated], Y_PRED[repeated], sensitive_features=GROUP[repeated],
                                   privileged_group="A"))


def test_string_labels_and_pos_label():
    y_true = np.where(Y_TRUE == 1, "good", "bad")
    y_pred = np.where(Y_PRED == 1, "good", "bad")
    assert af.demographic_parity_difference(y_true, y_pred, **KW, pos_label="good") == approx(1 / 6)
    # Swapping the favourable label: selection rates become 1/2 and 2/3.
    assert af.demographic_parity_difference(y_true, y_pred, **KW, pos_label="bad") == approx(2 / 3 - 1 / 2)
