"""Regression metrics of the grouped table: scikit-learn on each group's rows, batches, Dask."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    root_mean_squared_error,
)

from assay.core.errors import AssayInputError, UndefinedMetricWarning
from assay.metrics import GroupedStats, evaluate_groups, evaluate_groups_batches
from assay.metrics.regression import RegressionStats, central_sums, combine_central

METRICS = ["mae", "rmse", "mse", "bias", "r2"]


def _data(n=3000, offset=0.0, d=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n,) if d is None else (n, d)
    y = offset + rng.normal(size=shape) * 3
    pred = y + rng.normal(scale=1.0, size=shape) + 0.2
    groups = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "age": rng.choice(["<40", "40-60", "60+"], n)})
    weight = rng.uniform(0, 2, n)
    return y, pred, groups, weight


def _expected(y, pred, w, metric):
    if metric == "mae":
        return mean_absolute_error(y, pred, sample_weight=w)
    if metric == "mse":
        return mean_squared_error(y, pred, sample_weight=w)
    if metric == "rmse":
        return root_mean_squared_error(y, pred, sample_weight=w)
    if metric == "r2":
        return r2_score(y, pred, sample_weight=w)
    residual = (pred - y).reshape(len(y), -1).mean(axis=1)
    return np.average(residual, weights=w)


def _rows(groups, feature, group):
    parts = feature.split(" x ")
    labels = group.split(" x ")
    mask = np.ones(len(groups), dtype=bool)
    for part, label in zip(parts, labels):
        mask &= groups[part].to_numpy() == label
    return mask


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("d", [None, 3])
def test_equals_scikit_learn_per_group_and_intersection(weighted, d):
    y, pred, groups, weight = _data(d=d)
    w = weight if weighted else None
    table = evaluate_groups(y, pred, sensitive_features=groups, metrics=METRICS, sample_weight=w)
    for metric in METRICS:
        assert table.overall[metric] == pytest.approx(_expected(y, pred, w, metric), rel=1e-12, abs=1e-12)
    assert set(table.features) == {"sex", "age", "sex x age"}
    for (feature, group), row in table.by_group.iterrows():
        mask = _rows(groups, feature, group)
        assert row["count"] == mask.sum()
        for metric in METRICS:
            expected = _expected(y[mask], pred[mask], None if w is None else w[mask], metric)
            assert row[metric] == pytest.approx(expected, rel=1e-11, abs=1e-12), (feature, group, metric)


def test_r2_is_stable_under_a_large_offset():
    y, pred, groups, _ = _data(offset=1e8)
    table = evaluate_groups(y, pred, sensitive_features=groups, metrics=["r2"])
    for (feature, group), row in table.by_group.iterrows():
        mask = _rows(groups, feature, group)
        assert row["r2"] == pytest.approx(r2_score(y[mask], pred[mask]), abs=1e-10)
    # batches of different cells merged: still stable
    batched = evaluate_groups_batches(
        [{"y_true": y[i:i + 500], "y_pred": pred[i:i + 500], "sensitive_features": groups.iloc[i:i + 500]}
         for i in range(0, len(y), 500)], metrics=["r2"])
    np.testing.assert_allclose(batched.by_group["r2"], table.by_group["r2"], rtol=0, atol=1e-10)


def test_hand_computed_case():
    y = np.array([1.0, 2.0, 3.0, 10.0, 10.0, 14.0])
    pred = np.array([2.0, 2.0, 1.0, 11.0, 9.0, 14.0])
    g = np.array(["a", "a", "a", "b", "b", "b"])
    table = evaluate_groups(y, pred, sensitive_features={"g": g}, metrics=METRICS, min_group_size=1)
    a = table.by_group.loc[("g", "a")]
    # residuals pred - y: a: 1, 0, -2; b: 1, -1, 0
    assert a["mae"] == pytest.approx(1.0)
    assert a["mse"] == pytest.approx(5 / 3)
    assert a["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert a["bias"] == pytest.approx(-1 / 3)
    assert a["r2"] == pytest.approx(1 - 5 / 2)  # total sum of squares of 1, 2, 3 about 2: 2
    b = table.by_group.loc[("g", "b")]
    assert b["mae"] == pytest.approx(2 / 3) and b["bias"] == pytest.approx(0.0)
    assert b["r2"] == pytest.approx(1 - 2 / (32 / 3))  # y 10, 10, 14 about 34/3: 16/9 + 16/9 + 64/9
    assert b["r2"] == pytest.approx(r2_score(y[3:], pred[3:]))


def test_constant_y_group_r2_is_nan_with_a_warning():
    y = np.array([1.0, 2.0, 3.0, 5.0, 5.0, 5.0])
    pred = y + np.array([0.1, -0.1, 0.2, 0.3, 0.0, -0.3])
    g = np.array(["a", "a", "a", "b", "b", "b"])
    with pytest.warns(UndefinedMetricWarning, match="'r2'.*'b'.*constant"):
        table = evaluate_groups(y, pred, sensitive_features={"g": g}, metrics=["r2", "mae"])
    assert np.isnan(table.by_group.loc[("g", "b"), "r2"])
    assert table.by_group.loc[("g", "a"), "r2"] == pytest.approx(r2_score(y[:3], pred[:3]))
    # scikit-learn's default (force_finite=True) would give 0.0 here; assay says undefined
    assert r2_score(y[3:], pred[3:]) == 0.0


def test_interval_coverage_and_width():
    y, pred, groups, weight = _data()
    rng = np.random.default_rng(3)
    half = rng.uniform(0.5, 2.0, len(y))
    interval = np.stack([pred - half, pred + half], axis=1)
    for w in (None, weight):
        table = evaluate_groups(y, pred, sensitive_features=groups, y_interval=interval, sample_weight=w,
                                metrics=["interval_coverage", "interval_width", "mae"])
        covered = (interval[:, 0] <= y) & (y <= interval[:, 1])
        for (feature, group), row in table.by_group.iterrows():
            mask = _rows(groups, feature, group)
            ww = None if w is None else w[mask]
            assert row["interval_coverage"] == pytest.approx(np.average(covered[mask], weights=ww))
            assert row["interval_width"] == pytest.approx(np.average(2 * half[mask], weights=ww))


def test_batches_and_dask_give_the_same_table():
    y, pred, groups, weight = _data(n=4000)
    interval = np.stack([pred - 1, pred + 1.5 + np.abs(y) / 4], axis=1)
    metrics = [*METRICS, "interval_coverage", "interval_width"]
    kw = {"metrics": metrics, "n_boot": 50, "random_state": 0}
    table = evaluate_groups(y, pred, sensitive_features=groups, y_interval=interval, sample_weight=weight, **kw)
    batches = [{"y_true": y[i:i + 700], "y_pred": pred[i:i + 700], "sensitive_features": groups.iloc[i:i + 700],
                "sample_weight": weight[i:i + 700], "y_interval": interval[i:i + 700]} for i in range(0, 4000, 700)]
    batched = evaluate_groups_batches(batches, **kw)
    pd.testing.assert_frame_equal(batched.by_group, table.by_group, rtol=1e-12)
    pd.testing.assert_frame_equal(batched.ci, table.ci, rtol=1e-8)
    dd = pytest.importorskip("dask.dataframe")
    from assay.metrics import evaluate_groups_dask

    frame = groups.assign(y=y, pred=pred, w=weight, lo=interval[:, 0], hi=interval[:, 1])
    ddf = dd.from_pandas(frame, npartitions=7)
    import dask

    with dask.config.set(scheduler="synchronous"):
        distributed = evaluate_groups_dask(ddf, y_true="y", y_pred="pred", sensitive_features=["sex", "age"],
                                           sample_weight="w", y_interval=["lo", "hi"], **kw)
    pd.testing.assert_frame_equal(distributed.by_group, table.by_group, rtol=1e-12)
    pd.testing.assert_frame_equal(distributed.ci, table.ci, rtol=1e-8)


def test_bootstrap_is_seeded_and_holds_the_estimate():
    y, pred, groups, _ = _data()
    a = evaluate_groups(y, pred, sensitive_features=groups, metrics=METRICS, n_boot=200, random_state=1)
    b = evaluate_groups(y, pred, sensitive_features=groups, metrics=METRICS, n_boot=200, random_state=1)
    pd.testing.assert_frame_equal(a.ci, b.ci)
    for metric in METRICS:
        lower, upper = a.ci[(metric, "lower")], a.ci[(metric, "upper")]
        assert (lower <= a.by_group[metric]).all() and (a.by_group[metric] <= upper).all()
        assert (upper - lower > 0).all()
    assert a.difference_ci().shape[0] == 3


def test_bootstrap_close_to_the_row_bootstrap():
    rng = np.random.default_rng(1)
    n = 600
    x = rng.normal(size=n)
    y = 5 + 2 * x + rng.normal(size=n)
    pred = 5 + 1.8 * x
    g = np.repeat(["a"], n)
    g[: n // 2] = "b"
    table = evaluate_groups(y, pred, sensitive_features={"g": g}, metrics=["mae", "rmse", "r2"],
                            n_boot=2000, random_state=0)
    m = g == "a"
    ya, pa = y[m], pred[m]
    draws = []
    for _ in range(2000):
        i = rng.integers(0, len(ya), len(ya))
        draws.append((mean_absolute_error(ya[i], pa[i]), root_mean_squared_error(ya[i], pa[i]),
                      r2_score(ya[i], pa[i])))
    reference = np.percentile(np.array(draws), [2.5, 97.5], axis=0)
    ci = table.ci.loc[("g", "a")]
    for j, metric in enumerate(["mae", "rmse", "r2"]):
        width = reference[1, j] - reference[0, j]
        assert ci[(metric, "lower")] == pytest.approx(reference[0, j], abs=0.15 * width)
        assert ci[(metric, "upper")] == pytest.approx(reference[1, j], abs=0.15 * width)


def test_central_moments_merge_like_one_pass():
    rng = np.random.default_rng(0)
    y = (1e6 + rng.gamma(2.0, size=(1000, 2)))
    w = rng.uniform(0.1, 3, 1000)
    cell = rng.integers(0, 4, 1000)
    whole = central_sums(y, cell, w, 4)
    halves = np.concatenate([central_sums(y[:300], cell[:300], w[:300], 4),
                             central_sums(y[300:], cell[300:], w[300:], 4)])
    merged = combine_central(halves, np.tile(np.arange(4), 2), 4)
    np.testing.assert_allclose(merged, whole, rtol=1e-9)
    for c in range(4):
        m = cell == c
        mean = 1e6 + np.average(y[m] - 1e6, weights=w[m], axis=0)
        for k in (2, 3, 4):
            np.testing.assert_allclose(whole[c, :, k], (w[m, None] * (y[m] - mean) ** k).sum(axis=0), rtol=1e-9)


def test_regression_stats_merge_and_aggregate():
    y, pred, groups, weight = _data(n=500)
    codes = (groups["sex"] == "M").to_numpy().astype(np.int64)
    whole = RegressionStats(["F", "M"]).update(y, pred, codes, weight)
    parts = RegressionStats(["F", "M"]).update(y[:200], pred[:200], codes[:200], weight[:200]) + \
        RegressionStats(["F", "M"]).update(y[200:], pred[200:], codes[200:], weight[200:])
    for state in ("n", "values", "sq", "y"):
        np.testing.assert_allclose(getattr(parts, state), getattr(whole, state), rtol=1e-10, atol=1e-9)
    from assay.metrics.regression import r2

    assert r2(whole.total())[0] == pytest.approx(r2_score(y, pred, sample_weight=weight))


@pytest.mark.parametrize("call, words", [
    (lambda y, p, g: evaluate_groups(y, np.array(["a"] * len(y)), sensitive_features=g, metrics=["mae"]),
     ["y_pred", "float"]),
    (lambda y, p, g: evaluate_groups(y, np.where(np.arange(len(y)) == 3, np.nan, p), sensitive_features=g,
                                     metrics=["mae"]), ["y_pred", "NaN"]),
    (lambda y, p, g: evaluate_groups(y, p[:-1], sensitive_features=g, metrics=["rmse"]), ["y_pred"]),
    (lambda y, p, g: evaluate_groups(y, np.stack([p, p], 1), sensitive_features=g, metrics=["r2"]),
     ["y_pred", "shape"]),
    (lambda y, p, g: evaluate_groups(y, p, sensitive_features=g, metrics=["mae", "accuracy"]),
     ["metrics", "mix"]),
    (lambda y, p, g: evaluate_groups(y, p, sensitive_features=g, metrics=["interval_coverage"]),
     ["y_interval", "required"]),
    (lambda y, p, g: evaluate_groups(y, p, sensitive_features=g, metrics=["mae"],
                                     y_interval=np.stack([p + 1, p - 1], 1)), ["y_interval", "lower <= upper"]),
    (lambda y, p, g: evaluate_groups(y, p, sensitive_features=g, metrics=["mae"], y_interval=p),
     ["y_interval", "2-D"]),
    (lambda y, p, g: evaluate_groups(y, p, sensitive_features=g, metrics=["accuracy"],
                                     y_interval=np.stack([p, p], 1)), ["y_interval", "regression"]),
])
def test_bad_inputs_are_refused(call, words):
    y, pred, groups, _ = _data(n=100)
    with pytest.raises(AssayInputError) as info:
        call(y, pred, groups)
    for word in words:
        assert word.lower() in str(info.value).lower()


def test_grouped_stats_refuses_changing_outputs_between_batches():
    y, pred, groups, _ = _data(n=100)
    stats = GroupedStats(regression=True).update(y, pred, sensitive_features=groups)
    with pytest.raises(AssayInputError, match="outputs"):
        stats.update(np.stack([y, y], 1), np.stack([pred, pred], 1), sensitive_features=groups)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stats.compute(["mae"]).overall["count"] == 100
