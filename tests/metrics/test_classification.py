"""Metric formulas against numbers worked out by hand, and ECE against a loop-over-bins reference."""

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from assay import AssayInputError, UndefinedMetricWarning
from assay.metrics import (
    METRICS,
    CalibrationStats,
    ConfusionStats,
    MetricSpec,
    accuracy_score,
    balanced_accuracy_score,
    base_rate_score,
    binned_calibration_error,
    error_rate_score,
    evaluate_groups,
    expected_calibration_error,
    f1_score,
    fdr_score,
    fnr_score,
    fpr_score,
    npv_score,
    ppv_score,
    precision_score,
    recall_score,
    selection_rate_score,
    tnr_score,
    tpr_score,
)

# ---------------------------------------------------------------------------------------------
# The hand-worked case: 8 rows, 2 groups.
#   group A (rows 0-3): y_true 1 1 1 0, y_pred 1 1 0 1  ->  TP 2, FN 1, FP 1, TN 0
#   group B (rows 4-7): y_true 0 0 0 1, y_pred 0 0 0 0  ->  TP 0, FN 1, FP 0, TN 3
#   all rows:                                            ->  TP 2, FN 2, FP 1, TN 3
# ---------------------------------------------------------------------------------------------
Y_TRUE = np.array([1, 1, 1, 0, 0, 0, 0, 1])
Y_PRED = np.array([1, 1, 0, 1, 0, 0, 0, 0])
GROUP = np.array(["A"] * 4 + ["B"] * 4)
CODES = np.array([0] * 4 + [1] * 4)
NAN = math.nan

# metric: (group A, group B, overall), each written out from the counts above
EXPECTED = {
    "accuracy": (2 / 4, 3 / 4, 5 / 8),
    "error_rate": (2 / 4, 1 / 4, 3 / 8),
    "balanced_accuracy": ((2 / 3 + 0 / 1) / 2, (0 / 1 + 3 / 3) / 2, (2 / 4 + 3 / 4) / 2),
    "selection_rate": (3 / 4, 0 / 4, 3 / 8),
    "tpr": (2 / 3, 0 / 1, 2 / 4),
    "fpr": (1 / 1, 0 / 3, 1 / 4),
    "fnr": (1 / 3, 1 / 1, 2 / 4),
    "tnr": (0 / 1, 3 / 3, 3 / 4),
    "ppv": (2 / 3, NAN, 2 / 3),  # B predicts no positive: 0/0
    "npv": (0 / 1, 3 / 4, 3 / 5),
    "fdr": (1 / 3, NAN, 1 / 3),
    "f1": (4 / 6, 0 / 2, 4 / 7),
    "base_rate": (3 / 4, 1 / 4, 4 / 8),
    "count": (4, 4, 8),
}
UNDEFINED_IN_B = {"ppv", "fdr"}

SCORE_FUNCTIONS = {
    "accuracy": accuracy_score,
    "error_rate": error_rate_score,
    "balanced_accuracy": balanced_accuracy_score,
    "selection_rate": selection_rate_score,
    "tpr": tpr_score,
    "fpr": fpr_score,
    "fnr": fnr_score,
    "tnr": tnr_score,
    "ppv": ppv_score,
    "npv": npv_score,
    "fdr": fdr_score,
    "f1": f1_score,
    "base_rate": base_rate_score,
}


def test_every_label_metric_has_a_hand_worked_case():
    label_metrics = {name for name, spec in METRICS.items() if spec.needs == "labels"}
    assert label_metrics == set(EXPECTED)
    assert set(SCORE_FUNCTIONS) == label_metrics - {"count"}


@pytest.mark.parametrize("metric", sorted(EXPECTED))
def test_formula_on_stats_matches_hand_count(metric):
    stats = ConfusionStats(["A", "B"]).update(Y_TRUE, Y_PRED, CODES)
    assert (stats.tp.tolist(), stats.fn.tolist(), stats.fp.tolist(), stats.tn.tolist()) == (
        [2, 0], [1, 1], [1, 0], [0, 3]
    )
    a, b, overall = EXPECTED[metric]
    if metric in UNDEFINED_IN_B:
        with pytest.warns(UndefinedMetricWarning, match=rf"'{metric}' is undefined for group\(s\) 'B'"):
            got = METRICS[metric].function(stats)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UndefinedMetricWarning)
            got = METRICS[metric].function(stats)
    assert_allclose(got, [a, b], rtol=0, atol=1e-15)
    assert_allclose(METRICS[metric].function(stats.total()), [overall], rtol=0, atol=1e-15)


@pytest.mark.parametrize("metric", sorted(SCORE_FUNCTIONS))
def test_plain_function_matches_hand_count(metric):
    a, b, overall = EXPECTED[metric]
    function = SCORE_FUNCTIONS[metric]
    assert function(Y_TRUE, Y_PRED) == pytest.approx(overall, abs=1e-15)
    assert function(Y_TRUE[:4], Y_PRED[:4]) == pytest.approx(a, abs=1e-15)
    if metric in UNDEFINED_IN_B:
        with pytest.warns(UndefinedMetricWarning, match=metric):
            assert math.isnan(function(Y_TRUE[4:], Y_PRED[4:]))
    else:
        assert function(Y_TRUE[4:], Y_PRED[4:]) == pytest.approx(b, abs=1e-15)


def test_evaluate_groups_by_group_matches_hand_count():
    with pytest.warns(UndefinedMetricWarning) as record:
        result = evaluate_groups(
            Y_TRUE, Y_PRED, sensitive_features={"g": GROUP}, metrics=list(EXPECTED), min_group_size=5
        )
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert messages[0].startswith("'fdr' is undefined for group(s) 'B' (no predicted positives)")
    assert messages[1].startswith("'ppv' is undefined for group(s) 'B' (no predicted positives)")
    for metric, (a, b, overall) in EXPECTED.items():
        assert_allclose(result.by_group.loc[("g", "A"), metric], a, rtol=0, atol=1e-15, err_msg=metric)
        assert_allclose(result.by_group.loc[("g", "B"), metric], b, rtol=0, atol=1e-15, err_msg=metric)
        assert_allclose(result.overall[metric], overall, rtol=0, atol=1e-15, err_msg=metric)
    assert result.by_group["small"].tolist() == [True, True]  # 4 rows < 5


def test_weighted_hand_count():
    # weights 1 2 1 1 | 1 1 1 2: A has TP 1+2=3, FN 1, FP 1, TN 0; B has TN 1+1+1=3, FN 2
    w = np.array([1, 2, 1, 1, 1, 1, 1, 2], dtype=float)
    stats = ConfusionStats(["A", "B"]).update(Y_TRUE, Y_PRED, CODES, sample_weight=w)
    assert_allclose(METRICS["accuracy"].function(stats), [3 / 5, 3 / 5], rtol=0, atol=1e-15)
    assert_allclose(METRICS["selection_rate"].function(stats), [4 / 5, 0 / 5], rtol=0, atol=1e-15)
    assert_allclose(METRICS["tpr"].function(stats), [3 / 4, 0 / 2], rtol=0, atol=1e-15)
    assert_allclose(METRICS["base_rate"].function(stats), [4 / 5, 2 / 5], rtol=0, atol=1e-15)
    assert METRICS["count"].function(stats).tolist() == [4, 4]  # count stays unweighted
    assert accuracy_score(Y_TRUE, Y_PRED, sample_weight=w) == pytest.approx(6 / 10, abs=1e-15)


def test_string_labels_and_pos_label():
    y_true = np.where(Y_TRUE == 1, "yes", "no")
    y_pred = np.where(Y_PRED == 1, "yes", "no")
    assert tpr_score(y_true, y_pred, pos_label="yes") == pytest.approx(2 / 4)
    # with "no" as the positive label, TPR is the TNR of the original problem
    assert tpr_score(y_true, y_pred, pos_label="no") == pytest.approx(3 / 4)


def test_aliases_and_zero_weight_group():
    assert recall_score(Y_TRUE, Y_PRED) == tpr_score(Y_TRUE, Y_PRED)
    assert precision_score(Y_TRUE, Y_PRED) == ppv_score(Y_TRUE, Y_PRED)
    with pytest.warns(UndefinedMetricWarning, match="'accuracy' is undefined .*zero total weight"):
        assert math.isnan(accuracy_score([1, 0], [1, 1], sample_weight=[0, 0]))


def test_undefined_warning_names_each_group_once():
    stats = ConfusionStats(["A", ("F", "Black"), "C"]).update([0, 0, 1], [0, 1, 1], [0, 1, 2])
    with pytest.warns(UndefinedMetricWarning) as record:
        values = METRICS["tpr"].function(stats)
    assert len(record) == 1
    assert "'A', 'F x Black'" in str(record[0].message) and "no positives" in str(record[0].message)
    assert np.isnan(values[:2]).all() and values[2] == 1.0


def test_registry_entries():
    assert all(isinstance(spec, MetricSpec) and spec.name == name for name, spec in METRICS.items())
    assert METRICS["tpr"].higher_is_better is True and METRICS["fpr"].higher_is_better is False
    assert METRICS["selection_rate"].higher_is_better is None
    assert METRICS["ece"].needs == "scores" and METRICS["ece"].higher_is_better is False


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------


def ece_reference(y_true, y_prob, n_bins, norm, sample_weight=None):
    """A direct implementation: loop over bins (0, 1/B], ..., the first bin including 0."""
    y_true = np.asarray(y_true)
    y_prob = np.asarray(y_prob, dtype=float)
    w = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if y_prob.ndim == 1:
        confidence, outcome = y_prob, (y_true == 1).astype(float)
    elif y_prob.shape[1] == 2:
        confidence, outcome = y_prob[:, 1], (y_true == 1).astype(float)
    else:
        confidence = y_prob.max(axis=1)
        outcome = (y_prob.argmax(axis=1) == y_true).astype(float)
    gaps, weights = [], []
    for b in range(n_bins):
        low, high = b / n_bins, (b + 1) / n_bins
        in_bin = (confidence > low) & (confidence <= high)
        if b == 0:
            in_bin |= confidence == 0
        if w[in_bin].sum() == 0:
            continue
        accuracy = np.sum(w[in_bin] * outcome[in_bin]) / np.sum(w[in_bin])
        mean_confidence = np.sum(w[in_bin] * confidence[in_bin]) / np.sum(w[in_bin])
        gaps.append(abs(accuracy - mean_confidence))
        weights.append(w[in_bin].sum())
    gaps, weights = np.array(gaps), np.array(weights) / np.sum(weights)
    if norm == "l1":
        return float(np.sum(weights * gaps))
    if norm == "l2":
        return float(np.sqrt(np.sum(weights * gaps**2)))
    return float(np.max(gaps))


def _random_probs(rng, n, k):
    if k == 1:
        p = rng.random(n) ** 2
        y = (rng.random(n) < p * 0.8 + 0.1).astype(int)
        return y, p
    logits = rng.normal(size=(n, k)) * 2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p * 0.7 + 0.3 / k])
    return y, p


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
@pytest.mark.parametrize("weighted", [False, True])
def test_ece_matches_loop_reference(seed, k, norm, weighted):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 500))
    y, p = _random_probs(rng, n, k)
    n_bins = int(rng.integers(2, 20))
    w = rng.uniform(0.1, 3.0, n) if weighted else None
    expected = ece_reference(y, p, n_bins, norm, w)
    got = expected_calibration_error(y, p, n_bins=n_bins, norm=norm, sample_weight=w)
    assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_ece_hand_worked_binary_and_multiclass():
    # bins (0, .5], (.5, 1]: [.2, .4] -> conf .3, acc .5, gap .2; [.6, .9] -> conf .75, acc 1, gap .25
    p, y = [0.2, 0.4, 0.6, 0.9], [0, 1, 1, 1]
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx((2 * 0.2 + 2 * 0.25) / 4, abs=1e-15)
    assert expected_calibration_error(y, p, n_bins=2, norm="max") == pytest.approx(0.25, abs=1e-15)
    assert expected_calibration_error(y, p, n_bins=2, norm="l2") == pytest.approx(
        math.sqrt((2 * 0.2**2 + 2 * 0.25**2) / 4), abs=1e-15
    )
    # top-label: confidences .7 .6 .8 .5, correct 1 0 1 0; (0, .5]: gap .5; (.5, 1]: |2/3 - .7|
    probs = [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]]
    assert expected_calibration_error([0, 0, 2, 1], probs, n_bins=2) == pytest.approx(
        (0.5 + 3 * (0.7 - 2 / 3)) / 4, abs=1e-15)


@pytest.mark.parametrize("n_bins", [7, 10, 15])  # 7: np.linspace would put 5/7 in the wrong bin
def test_bins_are_right_closed_and_include_zero(n_bins):
    p = np.array([float(repr(k / n_bins)) for k in range(n_bins + 1)])  # every edge (0.3 for 3/10)
    stats = CalibrationStats(n_bins=n_bins).update(np.ones(len(p), dtype=int), p)
    # 0 and 1/B fall in the first bin, k/B in bin k-1
    assert stats.n[0].tolist() == [2] + [1] * (n_bins - 1)
    assert_allclose(stats.conf_sum[0], [1 / n_bins] + [k / n_bins for k in range(2, n_bins + 1)], rtol=0, atol=1e-15)
    assert ece_reference(np.ones(len(p)), p, n_bins, "l1") == pytest.approx(
        float(binned_calibration_error(stats)[0]), abs=1e-15
    )


def test_two_column_probabilities_read_as_binary():
    rng = np.random.default_rng(3)
    y, p = _random_probs(rng, 200, 1)
    two = np.column_stack([1 - p, p])
    assert expected_calibration_error(y, two) == pytest.approx(expected_calibration_error(y, p), abs=1e-15)


def test_ece_bad_inputs_name_the_argument():
    with pytest.raises(AssayInputError, match="'norm' parameter of binned_calibration_error"):
        binned_calibration_error(CalibrationStats(), norm="l3")
    with pytest.raises(AssayInputError, match="'n_bins' parameter"):
        expected_calibration_error([0, 1], [0.2, 0.7], n_bins=0)
    with pytest.raises(AssayInputError, match="'proba' must hold probabilities"):
        expected_calibration_error([0, 1], [0.2, 1.7])
    with pytest.raises(AssayInputError, match=r"'y_true' must hold class indices 0..2"):
        expected_calibration_error([0, 3], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    with pytest.raises(AssayInputError, match="'y_true' must hold at most two distinct labels"):
        expected_calibration_error([0, 1, 2], [0.2, 0.3, 0.5])


def test_label_metric_bad_inputs_name_the_argument():
    with pytest.raises(AssayInputError, match="'y_true' must contain only finite values"):
        accuracy_score([0, np.nan, 1], [0, 1, 1])
    with pytest.raises(AssayInputError, match="'y_pred' must not contain missing values"):
        accuracy_score(["a", "b"], ["a", None])
    with pytest.raises(AssayInputError, match="y_true: 3, y_pred: 2"):
        accuracy_score([0, 1, 1], [0, 1])
    with pytest.raises(AssayInputError, match="'y_true' must hold at most two distinct labels.*binary-only"):
        accuracy_score([0, 1, 2], [0, 1, 1])
    with pytest.raises(AssayInputError, match="'pos_label' must be one of the labels"):
        accuracy_score(["a", "b"], ["a", "a"])
    with pytest.raises(AssayInputError, match="'sample_weight' must hold non-negative"):
        accuracy_score([0, 1], [0, 1], sample_weight=[1, -1])
