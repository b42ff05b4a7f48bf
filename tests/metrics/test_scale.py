"""Mergeable grouped statistics: arrays, batches, merges in any order and Dask give one table."""

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from assay import AssayInputError
from assay.metrics import (
    GroupedMetrics,
    GroupedStats,
    evaluate_groups,
    evaluate_groups_batches,
    make_groups,
)

LABEL_METRICS = ["accuracy", "selection_rate", "tpr", "fpr", "ppv", "f1", "balanced_accuracy", "count"]
ALL_METRICS = [*LABEL_METRICS, "ece"]


def _case(seed, n=None):
    """Three features; race 'E' is rare, so random batches often lack it."""
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(400, 1500))
    sf = pd.DataFrame({
        "sex": rng.choice(["F", "M"], n),
        "race": rng.choice(list("ABCDE"), n, p=[0.4, 0.3, 0.2, 0.08, 0.02]),
        "age": rng.integers(0, 4, n),
    })
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.8, y_true, 1 - y_true)
    y_score = np.clip(0.25 * y_true + 0.75 * rng.random(n), 0, 1)
    return y_true, y_pred, y_score, sf, rng


def _json(result):
    return json.dumps(result.to_dict(), sort_keys=True)


def _splits(n, rng, k):
    cuts = np.sort(rng.choice(np.arange(1, n), k - 1, replace=False))
    return np.split(np.arange(n), cuts)


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics of tiny intersections
        return function(*args, **kwargs)


@pytest.mark.parametrize("seed", range(6))
def test_arrays_batches_and_any_merge_order_give_identical_tables(seed):
    y_true, y_pred, y_score, sf, rng = _case(seed)
    n = len(y_true)
    order = np.argsort(sf["race"].to_numpy(), kind="stable")  # sorted by race: early batches lack 'E'
    y_true, y_pred, y_score, sf = y_true[order], y_pred[order], y_score[order], sf.iloc[order]
    options = dict(metrics=ALL_METRICS, min_group_size=20, n_boot=30, random_state=seed)
    whole = _quiet(evaluate_groups, y_true, y_pred, y_score=y_score, sensitive_features=sf, **options)

    parts = _splits(n, rng, int(rng.integers(2, 9)))
    batches = [
        {"y_true": y_true[i], "y_pred": y_pred[i], "y_score": y_score[i], "sensitive_features": sf.iloc[i]}
        for i in parts
    ]
    assert "E" not in set(batches[0]["sensitive_features"]["race"])  # a batch misses a group
    by_batches = _quiet(evaluate_groups_batches, batches, **options)
    as_tuples = _quiet(evaluate_groups_batches,
                       [(b["y_true"], b["y_pred"], b["y_score"], b["sensitive_features"]) for b in batches],
                       **options)

    # statistics of each part, merged in a random tree order
    stats = [GroupedStats().update(b["y_true"], b["y_pred"], y_score=b["y_score"],
                                   sensitive_features=b["sensitive_features"]) for b in batches]
    while len(stats) > 1:
        i, j = sorted(rng.choice(len(stats), 2, replace=False))
        merged = stats[j].merge(stats[i]) if rng.random() < 0.5 else stats[i] + stats[j]
        stats = [s for k, s in enumerate(stats) if k not in (i, j)] + [merged]
    merged_table = _quiet(stats[0].compute, **options)

    expected = _json(whole)
    assert _json(by_batches) == expected
    assert _json(as_tuples) == expected
    assert _json(merged_table) == expected
    assert stats[0] == GroupedStats().update(y_true, y_pred, y_score=y_score, sensitive_features=sf)
    pd.testing.assert_frame_equal(by_batches.by_group, whole.by_group, check_exact=True)
    pd.testing.assert_frame_equal(by_batches.ci, whole.ci, check_exact=True)


@pytest.mark.parametrize("weights", ["integer", "dyadic"])
def test_weighted_tables_are_identical_with_exactly_representable_weights(weights):
    y_true, y_pred, y_score, sf, rng = _case(7, n=1200)
    if weights == "integer":
        w = rng.integers(0, 5, len(y_true)).astype(float)
    else:
        w = rng.integers(1, 9, len(y_true)) / 8.0
    options = dict(metrics=LABEL_METRICS, n_boot=20, random_state=3)
    whole = _quiet(evaluate_groups, y_true, y_pred, sensitive_features=sf, sample_weight=w, **options)
    batches = [(y_true[i], y_pred[i], None, sf.iloc[i], w[i]) for i in _splits(len(y_true), rng, 5)]
    assert _json(_quiet(evaluate_groups_batches, batches, **options)) == _json(whole)


def test_weighted_tables_with_arbitrary_float_weights_agree_to_rounding():
    y_true, y_pred, y_score, sf, rng = _case(8, n=1500)
    w = rng.uniform(0.1, 3.0, len(y_true))
    whole = _quiet(evaluate_groups, y_true, y_pred, y_score=y_score, sensitive_features=sf, sample_weight=w,
                   metrics=ALL_METRICS)
    batches = [(y_true[i], y_pred[i], y_score[i], sf.iloc[i], w[i]) for i in _splits(len(y_true), rng, 6)]
    parts = _quiet(evaluate_groups_batches, batches, metrics=ALL_METRICS)
    assert_allclose(parts.by_group[ALL_METRICS].to_numpy(float), whole.by_group[ALL_METRICS].to_numpy(float),
                    rtol=1e-12, atol=1e-14)
    assert parts.by_group["count"].tolist() == whole.by_group["count"].tolist()


def test_top_label_calibration_batches_are_identical():
    rng = np.random.default_rng(4)
    n = 900
    prob = rng.dirichlet(np.ones(4), n)
    y = rng.integers(0, 4, n)
    sf = {"g": rng.choice(["a", "b", "c"], n), "h": rng.choice(["x", "y"], n)}
    whole = evaluate_groups(y, y_score=prob, sensitive_features=sf, metrics=["ece", "count"], n_boot=10,
                            random_state=0)
    batches = [{"y_true": y[i], "y_score": prob[i], "sensitive_features": {k: v[i] for k, v in sf.items()}}
               for i in np.array_split(np.arange(n), 4)]
    result = evaluate_groups_batches(batches, metrics=["ece", "count"], n_boot=10, random_state=0)
    assert _json(result) == _json(whole)


# ---------------------------------------------------------------------------------------------
# GroupedStats
# ---------------------------------------------------------------------------------------------


def test_cells_are_discovered_on_the_fly_and_kept_sorted():
    stats = GroupedStats()
    stats.update([1, 0], [1, 1], sensitive_features={"sex": ["M", "M"], "race": ["B", "B"]})
    assert stats.cells == (("M", "B"),)
    stats.update([0, 1, 1], [0, 0, 1], sensitive_features={"sex": ["F", "M", "F"], "race": ["A", "B", "C"]})
    assert stats.cells == (("F", "A"), ("F", "C"), ("M", "B"))
    assert stats.n.tolist() == [1, 1, 3] and stats.n_rows == 5
    confusion = stats.confusion
    assert confusion.tp.tolist() == [0, 1, 1] and confusion.fp.tolist() == [0, 0, 1]
    assert confusion.fn.tolist() == [0, 0, 1] and confusion.tn.tolist() == [1, 0, 0]
    assert confusion.labels == stats.cells
    table = stats.compute(["accuracy", "count"], min_group_size=0)
    assert table.by_group.loc[("sex", "M"), "count"] == 3
    assert table.by_group.loc[("sex", "M"), "accuracy"] == pytest.approx(1 / 3)


def test_merge_is_exact_commutative_and_leaves_inputs_unchanged():
    y_true, y_pred, y_score, sf, rng = _case(11, n=600)
    a = GroupedStats().update(y_true[:250], y_pred[:250], y_score=y_score[:250], sensitive_features=sf.iloc[:250])
    b = GroupedStats().update(y_true[250:], y_pred[250:], y_score=y_score[250:], sensitive_features=sf.iloc[250:])
    a_before, b_before = a.copy(), b.copy()
    assert a.merge(b) == b.merge(a) == a + b
    assert a == a_before and b == b_before
    empty = GroupedStats()
    assert a.merge(empty) == a and empty.merge(a) == a
    assert pickle.loads(pickle.dumps(a + b)) == a + b
    whole = GroupedStats().update(y_true, y_pred, y_score=y_score, sensitive_features=sf)
    assert a + b == whole
    # the confidence sums are exact fixed-point integers: equal to the float sums to rounding
    assert_allclose((a + b).calibration.conf_sum,
                    _reference_conf_sum(y_score, sf), rtol=1e-14, atol=1e-15)


def _reference_conf_sum(y_score, sf):
    groups = make_groups(sf)
    from assay.metrics import CalibrationStats

    stats = CalibrationStats(groups.cells.n_groups).update(
        np.zeros(len(y_score), int), y_score, groups.cells.codes
    )
    return stats.conf_sum


def test_update_is_atomic_and_checks_batches_together():
    stats = GroupedStats().update([0, 1], [1, 1], sensitive_features={"s": ["a", "b"]})
    before = stats.copy()
    # three labels over two batches raise as they would in one array
    with pytest.raises(AssayInputError, match="at most two distinct labels"):
        stats.update([0, 2], [0, 2], sensitive_features={"s": ["a", "b"]})
    with pytest.raises(AssayInputError, match=r"'sensitive_features' must have the same features.*\['s'\]"):
        stats.update([0, 1], [0, 1], sensitive_features={"t": ["a", "b"]})
    with pytest.raises(AssayInputError, match="'y_pred' must be given for every batch or for none"):
        stats.update([0, 1], sensitive_features={"s": ["a", "b"]})
    with pytest.raises(AssayInputError, match="'sample_weight' must be given for every batch or for none"):
        stats.update([0, 1], [0, 1], sensitive_features={"s": ["a", "b"]}, sample_weight=[1, 2])
    with pytest.raises(AssayInputError, match="'y_score' must be given for every batch"):
        stats.update([0, 1], [0, 1], y_score=[0.2, 0.8], sensitive_features={"s": ["a", "b"]})
    with pytest.raises(AssayInputError, match="'sensitive_features' column 's' has 1 missing"):
        stats.update([0, 1], [0, 1], sensitive_features={"s": ["a", None]})
    assert stats == before
    scores = GroupedStats().update([0, 1], y_score=[0.2, 0.7], sensitive_features={"s": ["a", "b"]})
    with pytest.raises(AssayInputError, match="'y_score' must have the same kind of columns"):
        scores.update([0, 2], y_score=[[0.2, 0.7, 0.1], [0.1, 0.1, 0.8]], sensitive_features={"s": ["a", "b"]})


def test_merge_refuses_incompatible_statistics():
    a = GroupedStats().update([0, 1], [1, 1], sensitive_features={"s": ["a", "b"]})
    with pytest.raises(AssayInputError, match="'other' must be a GroupedStats"):
        a.merge("stats")
    with pytest.raises(AssayInputError, match="'other' must have the same pos_label"):
        a.merge(GroupedStats(pos_label=0).update([0, 1], [1, 1], sensitive_features={"s": ["a", "b"]}))
    with pytest.raises(AssayInputError, match="'other' must have the same n_bins"):
        a.merge(GroupedStats(n_bins=5))
    with pytest.raises(AssayInputError, match="'other' must have the same features"):
        a.merge(GroupedStats().update([0, 1], [1, 1], sensitive_features={"t": ["a", "b"]}))
    with pytest.raises(AssayInputError, match="'other' must have the same inputs"):
        a.merge(GroupedStats().update([0, 1], [1, 1], sensitive_features={"s": ["a", "b"]}, sample_weight=[1, 1]))
    with pytest.raises(AssayInputError, match="'other' holds labels.*at most two"):
        a.merge(GroupedStats(pos_label=1).update([2, 1], [1, 1], sensitive_features={"s": ["a", "b"]}))


def test_single_group_batches_are_allowed_but_a_single_group_overall_is_not():
    stats = GroupedStats().update([0, 1], [0, 1], sensitive_features={"s": ["a", "a"], "t": ["x", "y"]})
    with pytest.raises(AssayInputError, match="'sensitive_features' column 's' has a single group"):
        stats.compute(["accuracy"])
    stats.update([1], [1], sensitive_features={"s": ["b"], "t": ["x"]})
    assert stats.compute(["accuracy"]).features == ("s", "t", "s x t")


def test_compute_needs_rows_and_the_inputs_of_its_metrics():
    with pytest.raises(AssayInputError, match="'stats' holds no rows yet"):
        GroupedStats().compute()
    stats = GroupedStats().update([0, 1], sensitive_features={"s": ["a", "b"]})
    assert stats.compute("count").by_group["count"].tolist() == [1, 1]
    with pytest.raises(AssayInputError, match=r"'y_pred' is required for the metric\(s\) \['accuracy'\]"):
        stats.compute("accuracy")
    with pytest.raises(AssayInputError, match=r"'y_score' is required for the metric\(s\) \['ece'\]"):
        stats.compute("ece")
    with pytest.raises(AssayInputError, match="'stats' must be a GroupedStats"):
        GroupedMetrics.from_stats({"s": 1})


def test_bad_batches_name_the_argument_and_the_batch():
    y, p, sf = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]), {"s": ["a", "b", "a", "b"]}
    good = {"y_true": y, "y_pred": p, "sensitive_features": sf}
    with pytest.raises(AssayInputError, match="'batches' must be an iterable of batches"):
        evaluate_groups_batches(5)
    with pytest.raises(AssayInputError, match="'batches' must yield at least one batch"):
        evaluate_groups_batches(iter([]))
    with pytest.raises(AssayInputError, match=r"'batches' must yield dicts.*Got a dict with keys \['y', 'y_pred'\] as batch 1"):
        evaluate_groups_batches([good, {"y": y, "y_pred": p}])
    with pytest.raises(AssayInputError, match="Got 3 as batch 0"):
        evaluate_groups_batches([3])
    with pytest.raises(AssayInputError, match=r"In batch 1 of 'batches': 'y_pred' is required"):
        evaluate_groups_batches([good, {**good, "y_pred": None}])
    with pytest.raises(AssayInputError, match=r"In batch 1 of 'batches': .*'sensitive_features' must have the same features"):
        evaluate_groups_batches([good, {**good, "sensitive_features": {"t": sf["s"]}}])
    with pytest.raises(AssayInputError, match=r"In batch 0 of 'batches': Inputs must have the same number of rows"):
        evaluate_groups_batches([{**good, "y_pred": p[:3]}])
    with pytest.raises(AssayInputError, match="'n_boot' parameter of evaluate_groups_batches"):
        evaluate_groups_batches([good], n_boot=-1)


# ---------------------------------------------------------------------------------------------
# Sensitive features of any type give the same groups (values compared as strings)
# ---------------------------------------------------------------------------------------------


def test_feature_types_give_the_same_table():
    rng = np.random.default_rng(2)
    n = 500
    codes = rng.integers(0, 12, n)  # 10, 11 sort before 2 as strings
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    other = rng.choice(["u", "v"], n)
    variants = {
        "int": codes,
        "uint8": codes.astype(np.uint8),
        "int Series": pd.Series(codes),
        "object": codes.astype(str).astype(object),
        "str": pd.Series(codes.astype(str), dtype="str"),
        "categorical": pd.Categorical(codes.astype(str), categories=[*map(str, range(12)), "unused"]),
        "categorical ints": pd.Categorical(codes),
    }
    tables = {name: evaluate_groups(y, p, sensitive_features={"g": values, "o": other}, metrics=["accuracy", "count"],
                                    min_group_size=0)
              for name, values in variants.items()}
    expected = _json(tables.pop("int"))
    for name, table in tables.items():
        assert _json(table) == expected, name
    labels = tables["categorical"].by_group.loc["g"].index.tolist()
    assert labels == sorted(map(str, range(12))) and "unused" not in labels
    assert make_groups({"g": codes, "o": other})["g"].labels == tuple(labels)
    floats = evaluate_groups(y, p, sensitive_features={"g": codes / 2, "o": other}, metrics="count")
    assert "0.5" in floats.by_group.loc["g"].index and "1.0" in floats.by_group.loc["g"].index
    flags = evaluate_groups(y, p, sensitive_features={"g": codes > 5, "o": other}, metrics="count")
    assert flags.by_group.loc["g"].index.tolist() == ["False", "True"]


def test_missing_feature_values_are_refused_in_every_representation():
    y = [0, 1, 1, 0]
    for values in (["a", None, "b", "a"], [1.0, np.nan, 2.0, 1.0], pd.Categorical(["a", None, "b", "a"]),
                   pd.Series(["a", pd.NA, "b", "a"], dtype="str")):
        with pytest.raises(AssayInputError, match="'sensitive_features' column 'g' has 1 missing value"):
            evaluate_groups(y, y, sensitive_features={"g": values})


def test_large_cell_spaces_are_indexed_not_enumerated():
    rng = np.random.default_rng(0)
    n = 3000
    sf = {"a": rng.integers(0, 400, n) * 1000, "b": rng.integers(0, 300, n), "c": rng.choice(["x", "y"], n)}
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    result = _quiet(evaluate_groups, y, p, sensitive_features=sf, metrics="count", intersections=False)
    assert result.by_group["count"].loc["a"].sum() == n
    batches = [(y[i], p[i], None, {k: v[i] for k, v in sf.items()}) for i in np.array_split(np.arange(n), 3)]
    assert _json(_quiet(evaluate_groups_batches, batches, metrics="count", intersections=False)) == _json(result)


# ---------------------------------------------------------------------------------------------
# Dask: a local distributed cluster with two worker processes
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_gives_the_identical_table(dask_client):
    dd = pytest.importorskip("dask.dataframe")
    from assay.metrics import evaluate_groups_dask, grouped_stats_dask

    y_true, y_pred, y_score, sf, rng = _case(21, n=4000)
    w = rng.integers(1, 4, len(y_true)).astype(float)
    frame = pd.DataFrame({"y": y_true, "pred": y_pred, "score": y_score, "w": w, **sf})
    frame = frame.sort_values("race", kind="stable").reset_index(drop=True)
    frame["race"] = frame["race"].astype("category")
    options = dict(n_boot=25, random_state=5, min_group_size=10)
    features = ["sex", "race", "age"]
    ddf = dd.from_pandas(frame, npartitions=9)
    # unweighted, every statistic is an integer: identical, label metrics and ece alike
    expected = _quiet(evaluate_groups, frame["y"], frame["pred"], y_score=frame["score"],
                      sensitive_features=frame[features], metrics=ALL_METRICS, **options)
    result = _quiet(evaluate_groups_dask, ddf, y_true="y", y_pred="pred", y_score="score",
                    sensitive_features=features, metrics=ALL_METRICS, split_every=2, **options)
    assert _json(result) == _json(expected)
    # integer weights: weighted counts are exact too
    expected = _quiet(evaluate_groups, frame["y"], frame["pred"], sensitive_features=frame[features],
                      sample_weight=frame["w"], metrics=LABEL_METRICS, **options)
    result = _quiet(evaluate_groups_dask, ddf, y_true="y", y_pred="pred", sensitive_features=features,
                    sample_weight="w", metrics=LABEL_METRICS, **options)
    assert _json(result) == _json(expected)

    # partitions that lose whole groups, and empty ones, merge as well
    kept = frame[frame["race"] != "A"]
    stats = grouped_stats_dask(dd.from_pandas(frame, npartitions=9).query("race != 'A'"), y_true="y",
                               y_pred="pred", sensitive_features=["sex", "race", "age"])
    assert stats == GroupedStats().update(kept["y"], kept["pred"], sensitive_features=kept[["sex", "race", "age"]])


def test_dask_inputs_are_checked_before_any_work():
    dd = pytest.importorskip("dask.dataframe")
    from assay.metrics import evaluate_groups_dask

    ddf = dd.from_pandas(pd.DataFrame({"y": [0, 1], "p": [1, 1], "s": ["a", "b"]}), npartitions=1)
    with pytest.raises(AssayInputError, match="'ddf' must be a Dask DataFrame"):
        evaluate_groups_dask(pd.DataFrame({"y": [0]}), y_true="y", y_pred="p", sensitive_features="s")
    with pytest.raises(AssayInputError, match=r"'y_pred' must name a column of 'ddf' \(columns: \['y', 'p', 's'\]\). Got 'q'"):
        evaluate_groups_dask(ddf, y_true="y", y_pred="q", sensitive_features="s")
    with pytest.raises(AssayInputError, match="'sensitive_features' must name a column or a list of columns"):
        evaluate_groups_dask(ddf, y_true="y", y_pred="p", sensitive_features=["s", "t"])
    with pytest.raises(AssayInputError, match=r"'y_pred' is required for the metric\(s\)"):
        evaluate_groups_dask(ddf, y_true="y", sensitive_features="s")
    with pytest.raises(AssayInputError, match="'split_every' parameter of grouped_stats_dask"):
        evaluate_groups_dask(ddf, y_true="y", y_pred="p", sensitive_features="s", split_every=1)
    result = evaluate_groups_dask(ddf, y_true="y", y_pred="p", sensitive_features="s", metrics="accuracy",
                                  min_group_size=0)
    assert result.by_group["accuracy"].tolist() == [0.0, 1.0]
