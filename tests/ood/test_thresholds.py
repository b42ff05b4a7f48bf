"""OOD thresholds: threshold at TPR, held-out report, selective prediction, sweeps, confusion
matrix, rejection rate per group."""

import warnings

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError, UndefinedMetricWarning
from assay.ood.groups import rejection_by_group
from assay.ood.thresholds import (OOD_COLUMN, OOD_ROW, ood_confusion_matrix, ood_threshold_sweep,
                                  selective_prediction, threshold_at_tpr, threshold_report)

# ---------------------------------------------------------------------------------------------
# threshold_at_tpr
# ---------------------------------------------------------------------------------------------


def _brute_threshold(s, tpr):
    return min(t for t in np.unique(s) if np.mean(s <= t) >= tpr)


@pytest.mark.parametrize("tpr", [0.01, 0.5, 0.9, 0.95, 0.99, 0.999])
@pytest.mark.parametrize("seed", range(3))
def test_threshold_at_tpr_is_the_smallest_qualifying_score(tpr, seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 40, 137 + seed).astype(float)  # ties
    t = threshold_at_tpr(s, tpr)
    assert t == _brute_threshold(s, tpr)
    assert np.mean(s <= t) >= tpr
    assert t in s


def test_threshold_at_tpr_exact_shares():
    assert threshold_at_tpr(np.arange(20.0), 0.95) == 18.0  # 19 / 20 == 0.95 exactly
    assert threshold_at_tpr(np.arange(100.0)[::-1], 0.95) == 94.0
    assert threshold_at_tpr([3.0, 1.0, 2.0], 0.5) == 2.0
    assert threshold_at_tpr([5.0], 0.3) == 5.0
    assert isinstance(threshold_at_tpr([1, 2, 3]), float)


@pytest.mark.parametrize(
    "scores, tpr, match",
    [
        ([0.0, np.nan], 0.95, "'scores_in' must contain only finite"),
        ([], 0.95, "'scores_in' must contain at least 1"),
        ([[1.0, 2.0]], 0.95, "'scores_in' must be a 1-D"),
        ([1.0, 2.0], 0.0, "'tpr' parameter of threshold_at_tpr must be a float in \\(0, 1\\)"),
        ([1.0, 2.0], 1.0, "'tpr' parameter"),
        ([1.0, 2.0], -0.2, "'tpr' parameter"),
        ([1.0, 2.0], "0.9", "'tpr' parameter"),
    ],
)
def test_threshold_at_tpr_errors(scores, tpr, match):
    with pytest.raises(AssayInputError, match=match):
        threshold_at_tpr(scores, tpr)


# ---------------------------------------------------------------------------------------------
# threshold_report
# ---------------------------------------------------------------------------------------------


def test_threshold_report_hand_case():
    val = np.arange(10.0)  # tpr 0.8 -> threshold 7
    test = np.array([1.0, 7.0, 7.5, 9.0])  # 2 of 4 accepted
    report = threshold_report(val, test, {"far": [20.0, 30.0], "near": [0.0, 7.0, 8.0]}, tpr=0.8)
    assert report.threshold == 7.0
    assert report.validation_tpr == 0.8 and report.test_tpr == 0.5
    assert report.fpr == {"far": 0.0, "near": pytest.approx(2 / 3)}
    frame = report.to_frame()
    assert frame["data"].tolist() == ["validation", "test", "far", "near"]
    assert frame["role"].tolist() == ["in (validation)", "in (test)", "ood", "ood"]
    assert frame["n"].tolist() == [10, 4, 2, 3]
    np.testing.assert_allclose(frame["rejected"], [0.2, 0.5, 1.0, 1 / 3])
    assert report.to_dict()["fpr"]["far"] == 0.0


def test_threshold_report_fits_on_validation_only():
    rng = np.random.default_rng(0)
    val, test = rng.normal(0, 1, 2000), rng.normal(0.5, 1, 2000)  # test drifted upward
    report = threshold_report(val, test, {"ood": rng.normal(3, 1, 100)})
    assert report.threshold == threshold_at_tpr(val, 0.95)
    assert report.validation_tpr >= 0.95 and report.test_tpr < 0.9  # drift shows on held-out data
    with pytest.raises(AssayInputError, match="'scores_out' must be a mapping"):
        threshold_report(val, test, [1.0, 2.0])
    with pytest.raises(AssayInputError, match=r"'scores_out\['x'\]' must contain only finite"):
        threshold_report(val, test, {"x": [np.nan]})
    with pytest.raises(AssayInputError, match="'scores_test_in' must contain at least 1"):
        threshold_report(val, [], {"x": [1.0]})


# ---------------------------------------------------------------------------------------------
# selective_prediction
# ---------------------------------------------------------------------------------------------


def _brute_selective(ood_score, correct):
    coverage, risk = [], []
    for t in np.unique(ood_score):
        accepted = ood_score <= t
        coverage.append(accepted.mean())
        risk.append(1 - correct[accepted].mean())
    coverage, risk = np.array(coverage), np.array(risk)
    aurc = sum((c - p) * r for c, p, r in zip(coverage, np.r_[0, coverage[:-1]], risk))
    return coverage, risk, aurc


@pytest.mark.parametrize("seed", range(4))
def test_selective_prediction_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 12, 60).astype(float)
    correct = rng.random(60) < 0.7
    result = selective_prediction(score, correct)
    coverage, risk, aurc = _brute_selective(score, correct)
    np.testing.assert_allclose(result.coverage, coverage, atol=1e-12)
    np.testing.assert_allclose(result.risk, risk, atol=1e-12)
    np.testing.assert_allclose(result.accuracy, 1 - risk, atol=1e-12)
    np.testing.assert_array_equal(result.thresholds, np.unique(score))
    assert result.aurc == pytest.approx(aurc, abs=1e-12)
    assert result.aacc == pytest.approx(1 - aurc, abs=1e-12)
    assert result.risk[-1] == pytest.approx(1 - correct.mean())


def test_selective_prediction_without_ties_is_the_geifman_mean():
    rng = np.random.default_rng(1)
    score = rng.permutation(25).astype(float)
    correct = rng.random(25) < 0.6
    order = np.argsort(score)
    risks = [1 - correct[order[:k]].mean() for k in range(1, 26)]
    result = selective_prediction(score, correct)
    assert result.aurc == pytest.approx(np.mean(risks), abs=1e-12)
    assert len(result.coverage) == 25


def test_confidence_direction_and_excess_aurc():
    correct = np.array([True] * 8 + [False] * 2)
    perfect = np.arange(10.0)  # errors have the highest OOD scores: accepted last
    result = selective_prediction(perfect, correct)
    assert result.excess_aurc == pytest.approx(0.0, abs=1e-12)
    worst = selective_prediction(-perfect, correct)
    assert worst.excess_aurc > 0.3
    as_confidence = selective_prediction(-perfect, correct, higher_is_ood=False)
    np.testing.assert_allclose(as_confidence.risk, result.risk)
    np.testing.assert_allclose(as_confidence.thresholds, -result.thresholds)
    assert as_confidence.aurc == result.aurc
    frame = result.to_frame()
    assert list(frame.columns) == ["threshold", "coverage", "risk", "accuracy"] and len(frame) == 10
    assert result.risk_at_coverage(0.8) == 0.0 and result.risk_at_coverage(1.0) == pytest.approx(0.2)
    with pytest.raises(AssayInputError, match="'coverage' parameter"):
        result.risk_at_coverage(0.0)


@pytest.mark.parametrize(
    "score, correct, kwargs, match",
    [
        ([0.1, np.nan], [1, 0], {}, "'confidence_or_ood_score' must contain only finite"),
        ([0.1, 0.2], [1, 0, 1], {}, "Inputs must have the same number of rows"),
        ([0.1, 0.2], [1, 2], {}, "'correct' must hold booleans"),
        ([0.1, 0.2], ["yes", "no"], {}, "'correct' must hold booleans"),
        ([], [], {}, "'confidence_or_ood_score' must contain at least 1"),
        ([0.1, 0.2], [1, 0], {"higher_is_ood": "yes"}, "'higher_is_ood' parameter"),
    ],
)
def test_selective_prediction_errors(score, correct, kwargs, match):
    with pytest.raises(AssayInputError, match=match):
        selective_prediction(score, correct, **kwargs)


# ---------------------------------------------------------------------------------------------
# ood_threshold_sweep
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_sweep_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    s_in, s_out = rng.integers(0, 15, 50).astype(float), rng.integers(5, 20, 30).astype(float)
    sweep = ood_threshold_sweep(s_in, s_out)
    table = sweep.table
    pooled = np.unique(np.r_[s_in, s_out])
    assert len(table) == len(pooled) + 1 and table["threshold"].iloc[0] < pooled[0]
    np.testing.assert_array_equal(table["threshold"].iloc[1:], pooled)
    for _, row in table.iterrows():
        t = row["threshold"]
        tp, fp = np.sum(s_out > t), np.sum(s_in > t)
        fn = len(s_out) - tp
        precision = tp / (tp + fp) if tp + fp else np.nan
        f1 = 2 * tp / (2 * tp + fp + fn)
        assert (row["flagged_out"], row["flagged_in"]) == (tp, fp)
        np.testing.assert_allclose([row["precision"], row["recall"], row["f1"], row["in_rejected"]],
                                   [precision, tp / len(s_out), f1, fp / len(s_in)], atol=1e-12)
    best = table["f1"].idxmax()
    assert sweep.best_f1["threshold"] == table.loc[best, "threshold"] and sweep.best_f1["f1"] == table["f1"].max()
    t0 = sweep.zero_ood_accepted["threshold"]
    assert np.all(s_out > t0)
    assert not np.all(s_out > table["threshold"][table["threshold"] > t0].min())  # the largest such
    assert sweep.zero_ood_accepted["in_rejected"] == pytest.approx(np.mean(s_in > t0))


def test_sweep_hand_case():
    sweep = ood_threshold_sweep([1.0, 2.0, 3.0, 4.0], [3.0, 5.0])
    # thresholds: below 1, 1, 2, 3, 4, 5
    assert sweep.table["flagged_out"].tolist() == [2, 2, 2, 1, 1, 0]
    assert sweep.table["flagged_in"].tolist() == [4, 3, 2, 1, 0, 0]
    assert np.isnan(sweep.table["precision"].iloc[-1]) and sweep.table["f1"].iloc[-1] == 0
    assert sweep.best_f1["threshold"] == 2.0 and sweep.best_f1["f1"] == pytest.approx(2 * 2 / (4 + 2))
    assert sweep.zero_ood_accepted == {"threshold": 2.0, "in_rejected": 0.5}
    assert "OODThresholdSweep" in repr(sweep) and sweep.to_dict()["n_out"] == 2
    with pytest.raises(AssayInputError, match="'scores_out' must contain only finite"):
        ood_threshold_sweep([1.0], [np.nan])
    with pytest.raises(AssayInputError, match="'scores_in' must contain at least 1"):
        ood_threshold_sweep([], [1.0])


# ---------------------------------------------------------------------------------------------
# ood_confusion_matrix
# ---------------------------------------------------------------------------------------------


def test_confusion_matrix_hand_case():
    y_true = ["cat", "dog", "dog", "cat", None, None, "cat"]
    y_pred = ["cat", "dog", "cat", "dog", "dog", "cat", "cat"]
    is_ood = [False, False, False, False, True, True, False]
    rejected = [False, False, False, True, False, True, True]
    cm = ood_confusion_matrix(y_true, y_pred, is_ood=is_ood, rejected=rejected)
    assert list(cm.index) == ["cat", "dog", OOD_ROW] and list(cm.columns) == ["cat", "dog", OOD_COLUMN]
    expected = [[1, 0, 2], [1, 1, 0], [0, 1, 1]]
    np.testing.assert_array_equal(cm.to_numpy(), expected)
    assert cm.to_numpy().sum() == 7 and cm.index.name == "true" and cm.columns.name == "predicted"


def test_confusion_matrix_matches_crosstab_and_classes():
    rng = np.random.default_rng(0)
    n = 400
    y_true = rng.integers(0, 3, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, 3, n))
    is_ood = rng.random(n) < 0.2
    rejected = rng.random(n) < np.where(is_ood, 0.7, 0.1)
    cm = ood_confusion_matrix(y_true, y_pred, is_ood=is_ood, rejected=rejected, classes=[2, 1, 0, 3])
    row = np.where(is_ood, OOD_ROW, y_true.astype(str))
    col = np.where(rejected, OOD_COLUMN, y_pred.astype(str))
    want = pd.crosstab(row, col)
    for r in ["2", "1", "0", OOD_ROW]:
        for c in ["2", "1", "0", OOD_COLUMN]:
            key_r = r if r == OOD_ROW else int(r)
            key_c = c if c == OOD_COLUMN else int(c)
            assert cm.loc[key_r, key_c] == want.loc[r, c]
    assert list(cm.index) == [2, 1, 0, 3, OOD_ROW] and cm.loc[3].sum() == 0  # absent class: zeros
    assert cm.to_numpy().sum() == n


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"classes": [0, 1]}, "'y_true' contains labels that are not among 'classes'"),
        ({"rejected": [0, 0, 0, 0]}, "Inputs must have the same number of rows"),
        ({"is_ood": [0, 0, 2]}, "'is_ood' must hold booleans"),
        ({"classes": [0, 1, 2, 2]}, "'classes' must hold distinct labels"),
        ({"y_pred": [0, 1, None]}, "'y_pred' must not be missing"),
    ],
)
def test_confusion_matrix_errors(kwargs, match):
    args = {"y_true": [0, 1, 2], "y_pred": [0, 1, 1], "is_ood": [0, 0, 0], "rejected": [0, 0, 0]} | kwargs
    with pytest.raises(AssayInputError, match=match):
        ood_confusion_matrix(args.pop("y_true"), args.pop("y_pred"), **args)


# ---------------------------------------------------------------------------------------------
# rejection_by_group
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grouped_scores():
    rng = np.random.default_rng(0)
    n = 3000
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "age": rng.choice(["young", "mid", "old"], n)})
    scores = rng.normal(0.4 * (sf["age"] == "old") + 0.2 * (sf["sex"] == "F"), 1.0)
    return np.asarray(scores), sf


def test_rejection_by_group_matches_groupby(grouped_scores):
    scores, sf = grouped_scores
    t = threshold_at_tpr(scores, 0.9)
    result = rejection_by_group(scores, t, sf)
    rejected = pd.Series(scores > t)
    for feature in ("sex", "age"):
        want = rejected.groupby(sf[feature]).mean()
        got = result.by_group.xs(feature, level="feature")["selection_rate"]
        pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)
    both = rejected.groupby([sf["sex"], sf["age"]]).mean()
    got = result.by_group.xs("sex x age", level="feature")["selection_rate"]
    for (a, b), value in both.items():
        assert got[f"{a} x {b}"] == pytest.approx(value)
    assert result.overall["selection_rate"] == pytest.approx(rejected.mean())
    sex = rejected.groupby(sf["sex"]).mean()
    assert result.difference().loc["sex", "selection_rate"] == pytest.approx(sex.max() - sex.min())
    assert result.ratio().loc["sex", "selection_rate"] == pytest.approx(sex.min() / sex.max())
    assert result.by_group.xs("sex", level="feature")["count"].sum() == len(scores)


def test_rejection_by_group_bootstrap_and_errors(grouped_scores):
    scores, sf = grouped_scores
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        a = rejection_by_group(scores, 1.0, sf["sex"], n_boot=100, random_state=0, confidence_level=0.9)
    b = rejection_by_group(scores, 1.0, sf["sex"], n_boot=100, random_state=0, confidence_level=0.9)
    assert a.to_dict() == b.to_dict() and a.params["confidence_level"] == 0.9
    lower = a.ci[("selection_rate", "lower")]
    upper = a.ci[("selection_rate", "upper")]
    values = a.by_group["selection_rate"]
    assert (lower <= values).all() and (values <= upper).all() and (upper - lower > 0).all()
    assert a.difference_ci().shape[0] == 1
    with pytest.raises(AssayInputError, match="'scores' must contain only finite"):
        rejection_by_group(np.r_[scores[:-1], np.nan], 1.0, sf)
    with pytest.raises(AssayInputError, match="Inputs must have the same number of rows"):
        rejection_by_group(scores[:-1], 1.0, sf)
    with pytest.raises(AssayInputError, match="'threshold' parameter of rejection_by_group"):
        rejection_by_group(scores, np.nan, sf)
    with pytest.raises(AssayInputError, match="'confidence_level' parameter"):
        rejection_by_group(scores, 1.0, sf, confidence_level=95)
