"""OOD evaluation metrics: exact values, bootstrap intervals, the result object."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from assay import AssayInputError
from assay.ood.evaluation import (OODEvaluation, evaluate_detectors, evaluate_scores, fpr_key, ood_metrics,
                                  roc_curve_points)
from assay.ood.thresholds import threshold_at_tpr

FPR95 = "fpr_at_95_tpr"


def _brute_detection_error(s_in, s_out):
    best = 0.5  # accept nothing
    for t in np.unique(np.r_[s_in, s_out]):
        best = min(best, 0.5 * (1 - np.mean(s_in <= t)) + 0.5 * np.mean(s_out <= t))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_metrics_equal_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    s_in = rng.integers(0, 15, 300).astype(float)  # many ties, within and across the two sets
    s_out = rng.integers(4, 20, 170).astype(float)
    m = ood_metrics(s_in, s_out)
    y = np.r_[np.zeros(len(s_in)), np.ones(len(s_out))]
    s = np.r_[s_in, s_out]
    assert m["auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m["aupr_out"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert m["aupr_in"] == pytest.approx(average_precision_score(1 - y, -s), abs=1e-12)
    t = threshold_at_tpr(s_in, 0.95)
    assert m[FPR95] == pytest.approx(np.mean(s_out <= t), abs=1e-12)
    assert m["detection_error"] == pytest.approx(_brute_detection_error(s_in, s_out), abs=1e-12)


def test_metrics_equal_sklearn_continuous_scores():
    rng = np.random.default_rng(7)
    s_in, s_out = rng.normal(0, 1, 500), rng.normal(1.2, 1.5, 80)
    m = ood_metrics(s_in, s_out, tpr=0.9)
    y = np.r_[np.zeros(500), np.ones(80)]
    assert m["auroc"] == pytest.approx(roc_auc_score(y, np.r_[s_in, s_out]), abs=1e-12)
    assert m["aupr_in"] == pytest.approx(average_precision_score(1 - y, -np.r_[s_in, s_out]), abs=1e-12)
    assert list(m) == ["auroc", "aupr_in", "aupr_out", "fpr_at_90_tpr", "detection_error"]


def test_hand_computed_fpr_at_95_and_detection_error():
    s_in = np.arange(20.0)  # 0..19; 19 of 20 (95%) are <= 18, so the threshold is 18
    s_out = np.array([10.0, 18.0, 18.5, 19.0, 25.0])  # 10 and 18 are accepted at t = 18
    m = ood_metrics(s_in, s_out)
    assert m[FPR95] == pytest.approx(2 / 5)
    # best threshold 17: TPR 18/20, FPR 1/5 -> 0.5 * 0.1 + 0.5 * 0.2
    assert m["detection_error"] == pytest.approx(0.15)


def test_perfect_and_reversed_detectors():
    s_in, s_out = np.arange(10.0), np.arange(10.0) + 100
    m = ood_metrics(s_in, s_out)
    assert m == pytest.approx({"auroc": 1.0, "aupr_in": 1.0, "aupr_out": 1.0, FPR95: 0.0, "detection_error": 0.0})
    m = ood_metrics(s_out, s_in)  # every OOD input scores below every in-distribution input
    assert m["auroc"] == 0.0 and m[FPR95] == 1.0 and m["detection_error"] == 0.5
    m = ood_metrics(np.ones(5), np.ones(3))  # all tied: chance
    assert m["auroc"] == 0.5 and m["detection_error"] == 0.5


def test_fpr_key_names():
    assert fpr_key(0.95) == "fpr_at_95_tpr" and fpr_key(0.9) == "fpr_at_90_tpr" and fpr_key(0.999) == "fpr_at_99.9_tpr"


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0.0, np.nan], [1.0]), {}, "'scores_in' must contain only finite"),
        (([0.0], [1.0, np.inf]), {}, "'scores_out' must contain only finite"),
        (([], [1.0]), {}, "'scores_in' must contain at least 1"),
        (([0.0], []), {}, "'scores_out' must contain at least 1"),
        (([[0.0, 1.0]], [1.0]), {}, "'scores_in' must be a 1-D"),
        (([0.0], [1.0]), {"tpr": 1.0}, "'tpr' parameter of ood_metrics"),
        (([0.0], [1.0]), {"tpr": 0}, "'tpr' parameter of ood_metrics"),
        ((["a"], [1.0]), {}, "'scores_in' must be an array convertible"),
    ],
)
def test_ood_metrics_errors(args, kwargs, match):
    with pytest.raises(AssayInputError, match=match):
        ood_metrics(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# evaluate_scores
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    s_in = {"msp": rng.normal(0, 1, 400), "energy": rng.normal(0, 1, 400)}
    s_out = {
        "msp": {"near": rng.normal(0.5, 1, 150), "far": rng.normal(2.0, 1, 90)},
        "energy": {"near": rng.normal(1.0, 1, 150), "far": rng.normal(1.5, 1, 90)},
    }
    return s_in, s_out


def test_evaluate_scores_table_matches_ood_metrics(scores):
    s_in, s_out = scores
    result = evaluate_scores(s_in, s_out)
    assert isinstance(result, OODEvaluation)
    frame = result.to_frame()
    assert list(frame[["detector", "ood_set"]].itertuples(index=False, name=None)) == [
        ("msp", "near"), ("msp", "far"), ("energy", "near"), ("energy", "far")]
    for _, row in frame.iterrows():
        expected = ood_metrics(s_in[row["detector"]], s_out[row["detector"]][row["ood_set"]])
        assert row[list(expected)].to_dict() == pytest.approx(expected, abs=1e-12)
        assert row["n_in"] == 400 and row["n_out"] == len(s_out[row["detector"]][row["ood_set"]])
    assert frame[[f"{m}_lower" for m in result.metrics]].isna().all().all()  # no bootstrap
    assert result.metrics == ("auroc", "aupr_in", "aupr_out", FPR95, "detection_error")
    wide = result.metric("auroc")
    assert list(wide.index) == ["msp", "energy"] and list(wide.columns) == ["near", "far"]
    assert wide.loc["energy", "far"] == frame.iloc[3]["auroc"]


def test_best_detector_uses_direction(scores):
    s_in, s_out = scores
    result = evaluate_scores(s_in, s_out)
    table = result.table.set_index(["detector", "ood_set"])
    best = result.best_detector("auroc")
    for name in ("near", "far"):
        col = table.xs(name, level="ood_set")["auroc"]
        assert best.loc[name, "detector"] == col.idxmax() and best.loc[name, "value"] == col.max()
    best = result.best_detector("detection_error")
    for name in ("near", "far"):
        col = table.xs(name, level="ood_set")["detection_error"]
        assert best.loc[name, "detector"] == col.idxmin()
    assert {best.loc["near", "detector"], result.best_detector().loc["far", "detector"]} == {"energy", "msp"}
    with pytest.raises(AssayInputError, match="'metric' parameter of OODEvaluation.best_detector"):
        result.best_detector("accuracy")


def test_bootstrap_equals_row_resampling():
    """The block-count bootstrap gives the metrics of resampled rows (same draws)."""
    rng = np.random.default_rng(3)
    s_in, s_out = rng.integers(0, 12, 60).astype(float), rng.integers(3, 15, 40).astype(float)
    n_boot, seed = 40, 11
    result = evaluate_scores(s_in, {"set": s_out}, n_boot=n_boot, confidence_level=0.9, random_state=seed)
    draws = np.random.default_rng(seed)
    idx_in = draws.integers(0, 60, size=(n_boot, 60))
    idx_out = draws.integers(0, 40, size=(n_boot, 40))
    values = pd.DataFrame([ood_metrics(s_in[i], s_out[o]) for i, o in zip(idx_in, idx_out)])
    row = result.table.iloc[0]
    for metric in result.metrics:
        lower, upper = np.percentile(values[metric], [5, 95])
        assert row[f"{metric}_lower"] == pytest.approx(lower, abs=1e-12)
        assert row[f"{metric}_upper"] == pytest.approx(upper, abs=1e-12)


def test_bootstrap_is_reproducible_and_paired(scores):
    s_in, s_out = scores
    a = evaluate_scores(s_in, s_out, n_boot=120, random_state=5)
    b = evaluate_scores(s_in, s_out, n_boot=120, random_state=5)
    assert a.to_dict() == b.to_dict()
    c = evaluate_scores(s_in, s_out, n_boot=120, random_state=6)
    assert c.table["auroc_lower"].tolist() != a.table["auroc_lower"].tolist()
    t = a.table
    for m in a.metrics:
        assert (t[f"{m}_lower"] <= t[m] + 1e-12).all() and (t[m] <= t[f"{m}_upper"] + 1e-12).all()
    assert (t["auroc_upper"] - t["auroc_lower"] > 0.01).all()
    # paired: a copy of a detector gets the very same intervals
    twin = evaluate_scores({"x": s_in["msp"], "y": s_in["msp"]},
                           {"x": s_out["msp"], "y": s_out["msp"]}, n_boot=60, random_state=1)
    cols = [c for c in twin.table.columns if c != "detector"]
    pd.testing.assert_frame_equal(twin.table[cols].iloc[[0, 1]].reset_index(drop=True),
                                  twin.table[cols].iloc[[2, 3]].reset_index(drop=True))


def test_wider_level_gives_wider_interval(scores):
    s_in, s_out = scores
    narrow = evaluate_scores(s_in, s_out, n_boot=200, confidence_level=0.5, random_state=0).table
    wide = evaluate_scores(s_in, s_out, n_boot=200, confidence_level=0.99, random_state=0).table
    assert ((wide["auroc_upper"] - wide["auroc_lower"]) > (narrow["auroc_upper"] - narrow["auroc_lower"])).all()


def test_record_is_json_safe_and_small(scores):
    s_in, s_out = scores
    result = evaluate_scores(s_in, s_out, n_boot=30, random_state=0)
    record = result.to_dict()
    text = json.dumps(record, allow_nan=False)
    assert record["type"] == "OODEvaluation" and record["params"]["random_state"] == 0
    assert len(text) < 80_000
    for sets in record["curves"].values():
        for curve in sets.values():
            assert len(curve["fpr"]) == len(curve["tpr"]) <= 256
    assert "OODEvaluation(detectors=['msp', 'energy']" in repr(result)


def test_curves_start_and_end_and_keep_the_area():
    rng = np.random.default_rng(2)
    s_in, s_out = rng.integers(0, 30, 300).astype(float), rng.normal(15, 8, 200).round(1)
    fpr, tpr = roc_curve_points(s_in, s_out, max_points=None)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)
    assert area == pytest.approx(ood_metrics(s_in, s_out)["auroc"], abs=1e-12)
    thin_fpr, thin_tpr = roc_curve_points(s_in, s_out, max_points=20)
    assert len(thin_fpr) <= 20 and (thin_fpr[0], thin_tpr[-1]) == (0.0, 1.0)
    result = evaluate_scores(s_in, {"set": s_out})
    got = result.curve("detector", "set")
    np.testing.assert_allclose(got[0], roc_curve_points(s_in, s_out)[0])


class _Shift:
    """A fitted toy detector: the distance of the first feature to 0."""

    def __init__(self, power):
        self.power = power

    def score(self, X):
        return np.abs(np.asarray(X)[:, 0]) ** self.power


class _Broken:
    def score(self, X):
        return np.zeros((len(X), 2))


def test_evaluate_detectors_delegates_to_evaluate_scores():
    rng = np.random.default_rng(4)
    X_in = rng.normal(size=(200, 3))
    sets = {"shifted": rng.normal(2, 1, size=(80, 3)), "wide": rng.normal(0, 3, size=(60, 3))}
    dets = {"abs": _Shift(1), "square": _Shift(2)}
    got = evaluate_detectors(dets, X_in, sets, n_boot=20, random_state=3)
    want = evaluate_scores({k: d.score(X_in) for k, d in dets.items()},
                           {k: {s: d.score(X) for s, X in sets.items()} for k, d in dets.items()},
                           n_boot=20, random_state=3)
    assert got.to_dict() == want.to_dict()
    # a monotone transform of the score changes no metric
    t = got.table
    assert np.allclose(t.loc[t.detector == "abs", "auroc"].to_numpy(), t.loc[t.detector == "square", "auroc"])
    with pytest.raises(AssayInputError, match="fitted detectors with a .score"):
        evaluate_detectors({"bad": object()}, X_in, sets)
    with pytest.raises(AssayInputError, match=r"must return scores of shape \(n,\)"):
        evaluate_detectors({"bad": _Broken()}, X_in, sets)
    with pytest.raises(AssayInputError, match="'ood_sets' must be a non-empty mapping"):
        evaluate_detectors(dets, X_in, {})


@pytest.mark.parametrize(
    "s_in, s_out, kwargs, match",
    [
        ({"a": [0.0, 1.0]}, {"b": {"x": [1.0]}}, {}, "'scores_out' must have the same detectors"),
        ({"a": [0.0, 1.0], "b": [0.0]}, {"a": {"x": [1.0]}, "b": {"x": [1.0]}}, {},
         "must score the same inputs with every detector"),
        ({"a": [0.0], "b": [0.0]}, {"a": {"x": [1.0]}, "b": {"x": [1.0, 2.0]}}, {},
         "same inputs of OOD set 'x'"),
        ({"a": [0.0], "b": [0.0]}, {"a": {"x": [1.0]}, "b": {"y": [1.0]}}, {}, "same OOD sets"),
        ({"a": [0.0, np.nan]}, {"a": {"x": [1.0]}}, {}, r"'scores_in\['a'\]' must contain only finite"),
        ({"a": [0.0]}, {"a": {"x": []}}, {}, r"'scores_out\['a'\]\['x'\]' must contain at least 1"),
        ({}, {}, {}, "'scores_in' must be a non-empty mapping"),
        ({"a": [0.0]}, {"a": {"x": [1.0]}}, {"n_boot": -1}, "'n_boot' parameter of evaluate_scores"),
        ({"a": [0.0]}, {"a": {"x": [1.0]}}, {"confidence_level": 1.0}, "'confidence_level' parameter"),
        ({"a": [0.0]}, {"a": {"x": [1.0]}}, {"tpr": 1.5}, "'tpr' parameter of evaluate_scores"),
        ({"a": [0.0]}, {"a": {"x": [1.0]}}, {"random_state": "seed"}, "'random_state' must be"),
    ],
)
def test_evaluate_scores_errors(s_in, s_out, kwargs, match):
    with pytest.raises(AssayInputError, match=match):
        evaluate_scores(s_in, s_out, **kwargs)


def test_single_detector_shorthand():
    result = evaluate_scores(np.arange(10.0), {"x": np.arange(5.0) + 3})
    assert result.detectors == ("detector",) and result.ood_sets == ("x",)
    with pytest.raises(AssayInputError, match="'detector' parameter of OODEvaluation.curve"):
        result.curve("other", "x")
