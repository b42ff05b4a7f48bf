"""Multiclass label metrics in grouped tables: one-vs-rest for a class, and macro averages,
equal to scikit-learn per group and per intersection."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from assay import AssayInputError, UndefinedMetricWarning
from assay.metrics import GroupedStats, evaluate_groups, evaluate_groups_batches
from assay.metrics._stats import MulticlassConfusionStats

CLASSES = ["bird", "cat", "dog", "emu"]


def _case(seed, n=None):
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(400, 800))
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])})
    y = rng.choice(CLASSES, n, p=[0.4, 0.3, 0.2, 0.1])
    y_pred = np.where(rng.random(n) < 0.65, y, rng.choice(CLASSES, n))
    y_pred[(sf["race"] == "C").to_numpy() & (y_pred == "emu")] = "dog"  # race C: 'emu' never predicted
    w = rng.integers(1, 5, n).astype(float)
    return y, y_pred, sf, w


def _masks(sf):
    yield "overall", "all", np.ones(len(sf), dtype=bool)
    for feature, columns in [("sex", ["sex"]), ("race", ["race"]), ("sex x race", ["sex", "race"])]:
        keys = sf[columns].astype(str).agg(" x ".join, axis=1).to_numpy()
        for label in np.unique(keys):
            yield feature, label, keys == label


def _sk(function, **kwargs):
    def metric(y, p, sample_weight=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function(y, p, sample_weight=sample_weight, zero_division=np.nan, **kwargs)
    return metric


def _macro_labels(y, p):
    return sorted(set(y) | set(p))  # sklearn's default labels: every label in y_true or y_pred


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("weighted", [False, True])
def test_macro_and_ovr_equal_sklearn_per_group(seed, weighted):
    y, y_pred, sf, w = _case(seed)
    weights = w if weighted else None
    metrics = ["accuracy", "error_rate", "balanced_accuracy", "tpr", "ppv", "f1", "count"]
    macro = evaluate_groups(y, y_pred, sensitive_features=sf, metrics=metrics, sample_weight=weights,
                            average="macro").to_frame()
    ovr = _quiet(evaluate_groups, y, y_pred, sensitive_features=sf, metrics=["tpr", "ppv", "f1", "fpr"],
                 sample_weight=weights, average="ovr", pos_label="emu").to_frame()
    n_checked = 0
    for feature, label, m in _masks(sf):
        yt, yp = y[m], y_pred[m]
        wg = None if weights is None else weights[m]
        column = (feature, label)
        labels = sorted(set(y) | set(y_pred))  # every class of the data, as the table's macro
        expected = {
            "accuracy": skm.accuracy_score(yt, yp, sample_weight=wg),
            "error_rate": 1 - skm.accuracy_score(yt, yp, sample_weight=wg),
            "balanced_accuracy": _quiet(skm.balanced_accuracy_score, yt, yp, sample_weight=wg),
            "tpr": _sk(skm.recall_score, average="macro", labels=labels)(yt, yp, wg),
            "ppv": _sk(skm.precision_score, average="macro", labels=labels)(yt, yp, wg),
            "f1": _sk(skm.f1_score, average="macro", labels=labels)(yt, yp, wg),
            "count": m.sum(),
        }
        for metric, value in expected.items():
            assert macro.loc[metric, column] == pytest.approx(value, abs=1e-12, rel=0), (metric, column)
        one = {"labels": ["emu"], "average": "macro"}  # sklearn's one-vs-rest of a single class
        for metric, function in (("tpr", skm.recall_score), ("ppv", skm.precision_score), ("f1", skm.f1_score)):
            value = _sk(function, **one)(yt, yp, wg)
            assert ovr.loc[metric, column] == pytest.approx(value, abs=1e-12, rel=0, nan_ok=True), (metric, column)
        weight = np.ones(m.sum()) if wg is None else wg
        negatives = yt != "emu"
        fpr = np.nan if not negatives.any() else weight[negatives & (yp == "emu")].sum() / weight[negatives].sum()
        assert ovr.loc["fpr", column] == pytest.approx(fpr, abs=1e-12, rel=0, nan_ok=True)
        n_checked += 1
    assert n_checked == 12


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def test_class_never_predicted_gives_nan_ppv_for_that_class_only():
    y, y_pred, sf, _ = _case(5)
    with pytest.warns(UndefinedMetricWarning) as record:
        table = evaluate_groups(y, y_pred, sensitive_features=sf, metrics=["ppv"], average="ovr", pos_label="emu")
    assert [str(w.message) for w in record] == [
        "'ppv' is undefined for group(s) 'C' (no predicted positives); its value is NaN.",
        "'ppv' is undefined for group(s) 'F x C', 'M x C' (no predicted positives); its value is NaN.",
    ]
    assert np.isnan(table.by_group.loc[("race", "C"), "ppv"])
    # the macro average skips that class (sklearn, zero_division=np.nan) and stays defined
    macro = evaluate_groups(y, y_pred, sensitive_features=sf, metrics=["ppv"], average="macro")
    m = (sf["race"] == "C").to_numpy()
    assert macro.by_group.loc[("race", "C"), "ppv"] == pytest.approx(
        np.mean([skm.precision_score(y[m], y_pred[m], labels=[c], average="macro") for c in CLASSES[:3]]), abs=1e-12)


def test_multiclass_matrix_hand_count():
    stats = MulticlassConfusionStats(["g"], classes=["a", "b", "c"]).update(
        ["a", "a", "b", "c", "c", "c"], ["a", "b", "b", "c", "a", "c"], [0] * 6)
    assert stats.matrix[0].tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    b = stats.one_vs_rest("b")
    assert (b.tp[0], b.fn[0], b.fp[0], b.tn[0]) == (1, 0, 1, 4)
    table = evaluate_groups(["a", "a", "b", "c", "c", "c", "a", "b"], ["a", "b", "b", "c", "a", "c", "a", "b"],
                            sensitive_features={"g": ["x"] * 6 + ["y"] * 2}, metrics=["accuracy", "balanced_accuracy",
                                                                                     "tpr"], average="macro")
    x = table.by_group.loc[("g", "x")]
    assert x["accuracy"] == 4 / 6
    assert x["balanced_accuracy"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    assert x["tpr"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)  # macro recall = balanced accuracy here
    # group y holds classes a and b only: balanced accuracy averages the classes present
    y_row = table.by_group.loc[("g", "y")]
    assert y_row["balanced_accuracy"] == 1.0 and y_row["tpr"] == 1.0


def test_batches_merges_and_bootstrap_are_identical():
    y, y_pred, sf, _ = _case(7, n=1200)
    order = np.argsort(y, kind="stable")  # the first batch holds one class only: classes grow
    y, y_pred, sf = y[order], y_pred[order], sf.iloc[order].reset_index(drop=True)
    options = dict(metrics=["accuracy", "balanced_accuracy", "tpr", "f1"], average="macro", n_boot=30,
                   random_state=2, min_group_size=5)
    parts = np.array_split(np.arange(len(y)), 4)
    y_pred[parts[0]] = y[parts[0]]  # ... and all correct: the first batch sees only 'bird'
    assert set(y[parts[0]]) | set(y_pred[parts[0]]) == {"bird"}
    whole = _quiet(evaluate_groups, y, y_pred, sensitive_features=sf, **options)
    batches = [(y[i], y_pred[i], None, sf.iloc[i]) for i in parts]
    as_json = lambda t: json.dumps(t.to_dict(), sort_keys=True)  # noqa: E731
    assert as_json(_quiet(evaluate_groups_batches, batches, **options)) == as_json(whole)
    stats = [GroupedStats(multiclass=True).update(y[i], y_pred[i], sensitive_features=sf.iloc[i]) for i in parts]
    merged = (stats[3] + stats[1]) + (stats[0] + stats[2])
    assert merged == GroupedStats(multiclass=True).update(y, y_pred, sensitive_features=sf)
    assert merged.classes == tuple(CLASSES)
    assert as_json(_quiet(merged.compute, **options)) == as_json(whole)
    again = _quiet(evaluate_groups, y, y_pred, sensitive_features=sf, **options)
    np.testing.assert_array_equal(again.resamples, whole.resamples)
    assert not np.array_equal(_quiet(evaluate_groups, y, y_pred, sensitive_features=sf,
                                     **{**options, "random_state": 3}).resamples, whole.resamples)
    # intervals of accuracy hold the point estimate
    lower, upper = whole.ci[("accuracy", "lower")], whole.ci[("accuracy", "upper")]
    assert ((lower <= whole.by_group["accuracy"]) & (whole.by_group["accuracy"] <= upper)).all()


def test_binary_data_macro_is_the_mean_of_both_classes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.where(rng.random(300) < 0.8, y, 1 - y)
    sf = {"g": rng.choice(["a", "b"], 300)}
    macro = evaluate_groups(y, p, sensitive_features=sf, metrics=["tpr", "balanced_accuracy"], average="macro")
    binary = evaluate_groups(y, p, sensitive_features=sf, metrics=["balanced_accuracy"])
    assert macro.overall["tpr"] == pytest.approx(skm.recall_score(y, p, average="macro"), abs=1e-12)
    np.testing.assert_allclose(macro.by_group["balanced_accuracy"], binary.by_group["balanced_accuracy"],
                               rtol=0, atol=1e-15)


def test_errors_name_the_fix():
    y, y_pred, sf, _ = _case(1)
    with pytest.raises(AssayInputError, match="binary-only"):
        evaluate_groups(y, y_pred, sensitive_features=sf)  # default average="binary"
    with pytest.raises(AssayInputError, match="'average' .*macro"):
        evaluate_groups(y, y_pred, sensitive_features=sf, average="micro")
    with pytest.raises(AssayInputError, match="'pos_label' must be one of the classes"):
        evaluate_groups(y, y_pred, sensitive_features=sf, average="ovr")  # pos_label=1 is not a class
    binary_stats = GroupedStats().update([0, 1, 1, 0], [0, 1, 0, 0], sensitive_features={"g": list("abab")})
    with pytest.raises(AssayInputError, match="average='macro' needs multiclass confusion matrices"):
        binary_stats.compute(["tpr"], average="macro")
    stats = GroupedStats(multiclass=True).update(y, y_pred, sensitive_features=sf)
    with pytest.raises(AssayInputError, match="more than two classes.*average='ovr'"):
        stats.compute(["tpr"])
    with pytest.raises(AssayInputError, match="'other' must have the same multiclass"):
        stats.merge(GroupedStats().update(np.arange(len(y)) % 2, np.arange(len(y)) % 2, sensitive_features=sf))
    with pytest.raises(AssayInputError, match="not among the classes"):
        MulticlassConfusionStats(1, classes=["a", "b"]).update(["a", "z"], ["a", "b"])
