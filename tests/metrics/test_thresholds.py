"""Threshold sweeps: equal to evaluate_groups at every threshold, fast, and the threshold choice."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from numpy.testing import assert_allclose

from assay import AssayInputError, UndefinedMetricWarning
from assay.metrics import evaluate_groups
from assay.metrics.thresholds import (
    GAPS,
    BestThreshold,
    ThresholdSelection,
    ThresholdSweep,
    best_threshold,
    select_threshold,
    threshold_sweep,
)

LABEL_METRICS = [
    "accuracy", "error_rate", "balanced_accuracy", "selection_rate", "tpr", "fpr", "fnr", "tnr",
    "ppv", "npv", "fdr", "f1", "base_rate", "count",
]


def _case(seed, n=None, no_positive_group=True):
    """Scores with many ties (two decimals); sex (2) x race (3); 'M x C' has no positives."""
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(200, 600))
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n, p=[0.4, 0.6]),
                       "race": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])})
    y = (rng.random(n) < 0.45).astype(int)
    if no_positive_group:
        y[((sf["sex"] == "M") & (sf["race"] == "C")).to_numpy()] = 0
    score = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 2)
    return y, score, sf, rng.uniform(0.2, 3.0, n)


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return function(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# The sweep equals evaluate_groups at every threshold
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("intersections", [True, False])
def test_equals_evaluate_groups_at_random_thresholds(seed, weighted, intersections):
    y, score, sf, weights = _case(seed)
    w = weights if weighted else None
    rng = np.random.default_rng(100 + seed)
    # 20 thresholds: some exactly on (tied) scores, some between, one below and one above all
    grid = np.r_[rng.choice(score, 9), rng.uniform(0, 1, 9), score.min() - 0.5, score.max() + 0.01]
    sweep = _quiet(threshold_sweep, y, score, sensitive_features=sf, thresholds=grid, metrics=LABEL_METRICS,
                   sample_weight=w, intersections=intersections, min_group_size=20)
    assert sweep.n_thresholds == len(np.unique(grid))
    expected_features = ("sex", "race", "sex x race") if intersections else ("sex", "race")
    assert sweep.features == expected_features
    for t in np.unique(grid):
        y_pred = (score >= t).astype(int)
        ref = _quiet(evaluate_groups, y, y_pred, sensitive_features=sf, metrics=LABEL_METRICS,
                     sample_weight=w, intersections=intersections, min_group_size=20)
        at = sweep.at(t)
        assert_allclose(at.overall[LABEL_METRICS].to_numpy(float), ref.overall[LABEL_METRICS].to_numpy(float),
                        rtol=0, atol=1e-12, err_msg=f"overall at {t}")
        assert at.by_group.index.equals(ref.by_group.index)
        assert_allclose(at.by_group[LABEL_METRICS].to_numpy(float), ref.by_group[LABEL_METRICS].to_numpy(float),
                        rtol=0, atol=1e-12, err_msg=f"by group at {t}")
        assert at.by_group["small"].tolist() == ref.by_group["small"].tolist()
        # the gaps are GroupedMetrics' between-group ratio and differences
        ratio, diff = _quiet(ref.ratio), _quiet(ref.difference)
        for feature in expected_features:
            gaps = at.gaps.loc[feature]
            assert_allclose(gaps["disparate_impact"], ratio.loc[feature, "selection_rate"], rtol=0, atol=1e-12)
            assert_allclose(gaps["one_minus_di"], 1 - ratio.loc[feature, "selection_rate"], rtol=0, atol=1e-12)
            assert_allclose(gaps["demographic_parity_difference"], diff.loc[feature, "selection_rate"],
                            rtol=0, atol=1e-12)
            assert_allclose(gaps["tpr_difference"], diff.loc[feature, "tpr"], rtol=0, atol=1e-12)
            assert_allclose(gaps["fpr_difference"], diff.loc[feature, "fpr"], rtol=0, atol=1e-12)
            assert_allclose(gaps["equalized_odds_difference"],
                            max(diff.loc[feature, "tpr"], diff.loc[feature, "fpr"]), rtol=0, atol=1e-12)


def test_default_thresholds_are_the_distinct_scores_and_match_at_each():
    y, score, sf, weights = _case(7)
    sweep = _quiet(threshold_sweep, y, score, sensitive_features=sf, sample_weight=weights)
    assert np.array_equal(sweep.thresholds, np.unique(score))
    for t in np.random.default_rng(0).choice(sweep.thresholds, 20, replace=False):
        ref = _quiet(evaluate_groups, y, (score >= t).astype(int), sensitive_features=sf, sample_weight=weights,
                     metrics=list(sweep.metrics))
        for feature in sweep.features:
            for metric in sweep.metrics:
                assert_allclose(sweep.by_group(metric, feature).loc[t].to_numpy(float),
                                ref.by_group.loc[feature, metric].to_numpy(float), rtol=0, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_tpr_fpr_match_sklearn_roc_curve(weighted):
    y, score, _, weights = _case(3, no_positive_group=False)
    w = weights if weighted else None
    fpr, tpr, thresholds = skm.roc_curve(y, score, sample_weight=w, drop_intermediate=False)
    keep = np.isfinite(thresholds)
    sweep = threshold_sweep(y, score, thresholds=thresholds[keep], metrics=["tpr", "fpr"], sample_weight=w)
    order = np.argsort(thresholds[keep])
    assert_allclose(sweep.overall("tpr").to_numpy(), tpr[keep][order], rtol=0, atol=1e-12)
    assert_allclose(sweep.overall("fpr").to_numpy(), fpr[keep][order], rtol=0, atol=1e-12)


def test_threshold_above_every_score_selects_nothing():
    y, score, sf, _ = _case(1, no_positive_group=False)
    top = score.max() + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no per-threshold warnings
        sweep = threshold_sweep(y, score, sensitive_features=sf, thresholds=[score.min(), top],
                                metrics=["selection_rate", "tpr", "fpr", "ppv", "npv", "balanced_accuracy"])
    at = sweep.at(top)
    assert at.overall["selection_rate"] == 0 and at.overall["tpr"] == 0 and at.overall["fpr"] == 0
    assert np.isnan(at.overall["ppv"]) and at.overall["balanced_accuracy"] == 0.5
    assert (at.by_group["tpr"] == 0).all() and at.by_group["ppv"].isna().all()
    assert at.gaps["disparate_impact"].isna().all()  # 0 / 0 selection rates
    assert (at.gaps["demographic_parity_difference"] == 0).all()
    lowest = sweep.at(score.min())  # everything selected: NPV undefined, TPR 1
    assert np.isnan(lowest.overall["npv"]) and lowest.overall["tpr"] == 1
    assert (lowest.gaps["disparate_impact"] == 1).all()


def test_undefined_everywhere_warns_once_per_metric():
    y, score, sf, _ = _case(2)
    with pytest.warns(UndefinedMetricWarning) as record:
        sweep = threshold_sweep(y, score, sensitive_features=sf, metrics=["tpr", "ppv", "selection_rate"])
    messages = [str(r.message) for r in record]
    assert len(messages) == 1 and messages[0].startswith("'tpr' is undefined (0/0) at every threshold")
    assert "'sex x race/M x C'" in messages[0]
    assert sweep.by_group("tpr", "sex x race")["M x C"].isna().all()


# ---------------------------------------------------------------------------------------------
# Thresholds, accessors, presentation
# ---------------------------------------------------------------------------------------------


def test_threshold_options():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    score = rng.normal(size=5000)  # decision scores: no range check by default
    default = threshold_sweep(y, score, metrics="tpr")
    assert default.n_thresholds <= 1001 and default.n_thresholds > 990
    assert np.isin(default.thresholds, score).all()  # every threshold is an actual score
    assert default.thresholds[0] == score.min() and default.thresholds[-1] == score.max()
    assert np.all(np.diff(default.thresholds) > 0)
    assert threshold_sweep(y, score, thresholds=11, metrics="tpr").n_thresholds == 11
    few = threshold_sweep(y[:50], np.round(score[:50]), thresholds=1000, metrics="tpr")
    assert np.array_equal(few.thresholds, np.unique(np.round(score[:50])))
    grid = threshold_sweep(y, score, thresholds=[0.5, -1, 0.5, 2], metrics="tpr")
    assert grid.thresholds.tolist() == [-1, 0.5, 2]


def test_accessors_and_frames():
    y, score, sf, _ = _case(4, no_positive_group=False)
    sweep = threshold_sweep(y, score, sensitive_features=sf, metrics=["balanced_accuracy", "tpr"])
    assert isinstance(sweep, ThresholdSweep)
    overall = sweep.overall("tpr")
    assert overall.index.name == "threshold" and np.array_equal(overall.index, sweep.thresholds)
    assert overall.is_monotonic_decreasing
    table = sweep.by_group("tpr", "sex x race")
    assert table.shape == (sweep.n_thresholds, 6) and list(table.columns) == sorted(table.columns)
    assert_allclose(sweep.gap("1 - DI", "sex"), 1 - sweep.gap("disparate_impact", "sex"))
    ratio = table.min(axis=1) / table.max(axis=1)
    assert_allclose(sweep.gap("tpr_difference", "sex x race"), table.max(axis=1) - table.min(axis=1))
    assert ratio.notna().any()

    frame = sweep.to_frame()
    assert list(frame.columns) == ["threshold", "feature", "group", "metric", "value"]
    n_groups = len(sweep.counts)
    assert len(frame) == (n_groups + 1) * 2 * sweep.n_thresholds
    one = frame[(frame.feature == "race") & (frame.group == "B") & (frame.metric == "tpr")]
    assert_allclose(one["value"].to_numpy(), sweep.by_group("tpr", "race")["B"].to_numpy())
    gaps = sweep.gaps_to_frame()
    assert list(gaps.columns) == ["threshold", "feature", "gap", "value"]
    assert len(gaps) == 3 * len(GAPS) * sweep.n_thresholds
    record = json.loads(json.dumps(sweep.to_dict()))
    assert record["type"] == "ThresholdSweep" and record["group_table"]["index"][0][:2] == ["sex", "F"]
    assert record["counts"]["index"][0] == ["sex", "F"]

    single = threshold_sweep(y, score, sensitive_features=sf["sex"], metrics="tpr")
    assert single.features == ("sex",)
    assert single.by_group("tpr").shape[1] == 2 and len(single.gap("1 - DI")) == single.n_thresholds


def test_accessor_errors_name_the_argument():
    y, score, sf, _ = _case(4, no_positive_group=False)
    sweep = threshold_sweep(y, score, sensitive_features=sf, metrics=["tpr"])
    with pytest.raises(AssayInputError, match="'metric' must be one of \\['tpr'\\]. Got 'fpr'"):
        sweep.overall("fpr")
    with pytest.raises(AssayInputError, match="'feature' must be one of"):
        sweep.by_group("tpr", "age")
    with pytest.raises(AssayInputError, match="'feature' must be one of .* several"):
        sweep.by_group("tpr")
    with pytest.raises(AssayInputError, match="'name' must be one of"):
        sweep.gap("dp", "sex")
    with pytest.raises(AssayInputError, match="'threshold' must be one of the sweep's thresholds"):
        sweep.at(0.12345)
    overall_only = threshold_sweep(y, score, metrics=["tpr"])
    assert overall_only.features == () and len(overall_only.at(overall_only.thresholds[3]).by_group) == 0
    with pytest.raises(AssayInputError, match="without 'sensitive_features'"):
        overall_only.gap("disparate_impact")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"metrics": ["tpr", "auc"]}, "'metrics' must name threshold-dependent .* Got unknown name\\(s\\) \\['auc'\\]"),
        ({"metrics": "ece"}, "'metrics' must name threshold-dependent"),
        ({"metrics": []}, "'metrics' must name at least one"),
        ({"thresholds": np.ones((2, 2))}, "'thresholds' must be None, an int"),
        ({"thresholds": [0.1, np.nan]}, "'thresholds' must be .*NaN or infinite"),
        ({"thresholds": [0.1, np.inf]}, "'thresholds' must be"),
        ({"thresholds": 0}, "'thresholds' must be None, an int >= 1"),
        ({"thresholds": 0.5}, "'thresholds' must be"),
        ({"thresholds": ["a"]}, "'thresholds' must be"),
        ({"y_score": [0.1, np.nan, 0.3, 0.4]}, "'y_score' must contain only finite values"),
        ({"y_score": np.ones((4, 2)) / 2}, "'y_score' must be a 1-D array .* y_score\\[:, 1\\]"),
        ({"y_score": [0.1, 0.2, 0.3]}, "same number of rows.*y_true: 4, y_score: 3"),
        ({"y_score": [0.1, 2.0, 0.3, 0.4], "scores_are_probabilities": True}, "'y_score' must hold probabilities"),
        ({"y_true": [0, 1, 2, 1]}, "'y_true' must hold at most two distinct labels"),
        ({"sample_weight": [1, -1, 1, 1]}, "'sample_weight' must hold non-negative"),
        ({"sensitive_features": ["a", "a", "a", "a"]}, "single group"),
        ({"intersections": "yes"}, "'intersections' parameter of threshold_sweep must be a bool"),
        ({"min_group_size": -1}, "'min_group_size' parameter of threshold_sweep"),
    ],
)
def test_input_errors_name_the_argument(kwargs, match):
    args = {"y_true": [0, 1, 0, 1], "y_score": [0.1, 0.7, 0.4, 0.9]}
    args.update(kwargs)
    with pytest.raises(AssayInputError, match=match):
        threshold_sweep(args.pop("y_true"), args.pop("y_score"), **args)


def test_decision_scores_and_string_labels():
    y = np.array(["no", "yes", "no", "yes", "yes"])
    score = np.array([-3.0, 2.5, 0.0, 0.0, 7.0])
    sweep = threshold_sweep(y, score, pos_label="yes", metrics=["tpr", "fpr"])
    assert sweep.overall("tpr").loc[0.0] == 1 and sweep.overall("fpr").loc[0.0] == 0.5
    assert sweep.overall("tpr").loc[2.5] == 2 / 3


# ---------------------------------------------------------------------------------------------
# best_threshold and select_threshold
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def hand_made():
    # thresholds 0.1, 0.35, 0.4, 0.8 -> balanced accuracy 0.5, 0.75, 0.5, 0.75;
    # selection rates: a 1, 1/2, 0, 0 and b 1, 1, 1, 1/2 -> disparate impact 1, 1/2, 0, 0
    y = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    score = np.array([0.1, 0.1, 0.35, 0.35, 0.4, 0.4, 0.8, 0.8])
    group = np.array(["a"] * 4 + ["b"] * 4)
    return y, score, group


def test_best_threshold_hand_made(hand_made):
    y, score, group = hand_made
    sweep = threshold_sweep(y, score, sensitive_features={"g": group}, metrics=["balanced_accuracy", "selection_rate"])
    assert_allclose(sweep.overall("balanced_accuracy").to_numpy(), [0.5, 0.75, 0.5, 0.75])
    best = best_threshold(sweep)
    assert isinstance(best, BestThreshold)
    assert best.threshold == 0.35 and float(best) == 0.35 and best.value == 0.75  # tie: the lowest threshold
    assert best.n_feasible == 4 and best.at_threshold.overall["selection_rate"] == 0.75
    assert best_threshold(sweep, constraint=("selection_rate", "<=", 0.5)).threshold == 0.8
    assert_allclose(sweep.gap("disparate_impact").to_numpy(), [1, 0.5, 0, 0])
    assert best_threshold(sweep, "disparate_impact", feature="g").threshold == 0.1
    assert best_threshold(sweep, "1 - DI").threshold == 0.1  # a gap is minimised
    assert best_threshold(sweep, "1 - DI", maximize=True).threshold == 0.4  # tie 0.4 / 0.8: the lowest
    lowest_sr = best_threshold(sweep, "selection_rate", maximize=False, constraint=[("balanced_accuracy", ">", 0.6)])
    assert lowest_sr.threshold == 0.8
    assert best_threshold(sweep, constraint=("disparate_impact", ">=", 0.5)).threshold == 0.35
    assert best_threshold(sweep, constraint=[("disparate_impact", ">=", 0.5), ("selection_rate", ">", 0.8)],
                          feature="g").threshold == 0.1
    assert best_threshold(sweep, "balanced_accuracy", ("1 - DI", ">", 0.5)).threshold == 0.8
    frame = best.to_frame()
    assert frame.loc[("overall", "balanced_accuracy"), "value"] == 0.75
    assert frame.loc[("g", "disparate_impact"), "value"] == 0.5
    json.dumps(best.to_dict())


def test_best_threshold_errors(hand_made):
    y, score, group = hand_made
    sweep = threshold_sweep(y, score, sensitive_features={"g": group}, metrics=["balanced_accuracy", "selection_rate"])
    with pytest.raises(AssayInputError, match="'constraint' .* is met at none of the 4 thresholds"):
        best_threshold(sweep, constraint=("balanced_accuracy", ">", 0.9))
    with pytest.raises(AssayInputError, match="'constraint' must be None, a tuple"):
        best_threshold(sweep, constraint=("balanced_accuracy", "=>", 0.9))
    with pytest.raises(AssayInputError, match="'constraint' must be one of"):
        best_threshold(sweep, constraint=("auc", ">=", 0.9))
    with pytest.raises(AssayInputError, match="'objective' 'selection_rate' has no direction"):
        best_threshold(sweep, "selection_rate")
    with pytest.raises(AssayInputError, match="'objective' must be one of"):
        best_threshold(sweep, "tpr")
    with pytest.raises(AssayInputError, match="'feature' must be one of"):
        best_threshold(sweep, feature="sex")
    with pytest.raises(AssayInputError, match="'sweep' must be a ThresholdSweep"):
        best_threshold(sweep.to_frame())


def test_select_threshold_reports_test_at_the_validation_threshold():
    y_val, s_val, sf_val, _ = _case(10, no_positive_group=False)
    y_test, s_test, sf_test, _ = _case(11, no_positive_group=False)
    s_test = np.clip(s_test + 0.15, 0, 1)  # shifted: the test optimum is elsewhere
    constraint = ("disparate_impact", ">=", 0.8)
    result = select_threshold(y_val, s_val, y_test, s_test, sensitive_features_val=sf_val,
                              sensitive_features_test=sf_test, constraint=constraint, feature="sex")
    assert isinstance(result, ThresholdSelection)
    val_sweep = threshold_sweep(y_val, s_val, sensitive_features=sf_val)
    expected = best_threshold(val_sweep, constraint=constraint, feature="sex")
    assert result.threshold == expected.threshold == float(result)
    assert result.validation.value == expected.value
    # test numbers: evaluate_groups at the validation threshold, not re-optimised on test
    ref = _quiet(evaluate_groups, y_test, (s_test >= result.threshold).astype(int), sensitive_features=sf_test,
                 metrics=list(val_sweep.metrics))
    assert_allclose(result.test.overall[list(val_sweep.metrics)].to_numpy(float),
                    ref.overall[list(val_sweep.metrics)].to_numpy(float), rtol=0, atol=1e-12)
    assert_allclose(result.test.by_group[list(val_sweep.metrics)].to_numpy(float),
                    ref.by_group[list(val_sweep.metrics)].to_numpy(float), rtol=0, atol=1e-12)
    test_best = best_threshold(threshold_sweep(y_test, s_test, sensitive_features=sf_test), constraint=constraint,
                               feature="sex")
    assert test_best.threshold != result.threshold
    frame = result.to_frame()
    assert list(frame.columns) == ["validation", "test"]
    assert frame.loc[("overall", "balanced_accuracy"), "test"] == result.test.overall["balanced_accuracy"]
    json.dumps(result.to_dict())


def test_select_threshold_errors_use_its_argument_names():
    y, s, sf, _ = _case(12, no_positive_group=False)
    with pytest.raises(AssayInputError, match="'score_test' must contain only finite values"):
        select_threshold(y, s, y, np.r_[s[:-1], np.nan])
    with pytest.raises(AssayInputError, match="y_val: .*, score_val: "):
        select_threshold(y, s[:-1], y, s)
    with pytest.raises(AssayInputError, match="'objective' 'disparate_impact' needs .*'sensitive_features_val'"):
        select_threshold(y, s, y, s, objective="disparate_impact")
    result = select_threshold(y, s, y, s, objective="f1", metrics=["tpr"])  # the objective is added
    assert list(result.test.overall.index) == ["tpr", "f1"]
    assert result.test.overall["f1"] == result.validation.value  # same data: same number
