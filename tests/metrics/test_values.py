"""Any per-example quantity per group: evaluate_groups(values=...) against a pandas group-by."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.metrics import GroupedStats, evaluate_groups, evaluate_groups_batches
from assay.metrics.values import CellStatistic, register_cell_statistic, VALUE_STATISTICS


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B", "C"], n, p=[.5, .3, .2])})
    covered = (rng.random(n) < 0.85).astype(float)
    size = rng.poisson(2.5, n).astype(float) + rng.random(n)
    w = rng.integers(1, 4, n).astype(float)
    return sf, covered, size, w


def _groupby_means(sf, column, w=None):
    """Reference: pandas group-by (weighted mean sum(w x) / sum(w)) for each grouping."""
    frame = sf.copy()
    frame["x"] = column
    frame["w"] = 1.0 if w is None else w
    frame["wx"] = frame["w"] * frame["x"]
    out = {}
    for keys in (["sex"], ["race"], ["sex", "race"]):
        sums = frame.groupby(keys)[["w", "wx"]].sum()
        for label, row in sums.iterrows():
            group = " x ".join(label) if isinstance(label, tuple) else label
            out[(" x ".join(keys), group)] = row["wx"] / row["w"]
    return out, frame["wx"].sum() / frame["w"].sum()


@pytest.mark.parametrize("weighted", [False, True])
def test_means_equal_pandas_groupby_with_intersections(weighted):
    sf, covered, size, w = _data()
    table = evaluate_groups(values={"covered": covered, "set_size": size}, metrics=["mean:covered", "mean:set_size"],
                            sensitive_features=sf, sample_weight=w if weighted else None)
    for name, column in (("covered", covered), ("set_size", size)):
        expected, overall = _groupby_means(sf, column, w if weighted else None)
        assert set(expected) == set(table.by_group.index)
        for key, value in expected.items():
            assert table.by_group.loc[key, f"mean:{name}"] == pytest.approx(value, rel=1e-12)
        assert table.overall[f"mean:{name}"] == pytest.approx(overall, rel=1e-12)
    counts = sf.groupby(["sex", "race"]).size()
    assert table.by_group.loc[("sex x race", "F x A"), "count"] == counts[("F", "A")]


def test_sum_and_hand_computed_case():
    sf = pd.Series(["a", "a", "b", "b", "b"], name="g")
    x = np.array([1.0, 3.0, 2.0, 4.0, 6.0])
    w = np.array([1.0, 0.5, 2.0, 0.0, 1.0])
    table = evaluate_groups(values={"x": x}, metrics=["mean:x", "sum:x"], sensitive_features=sf, sample_weight=w,
                            min_group_size=1)
    assert table.by_group.loc[("g", "a"), "mean:x"] == pytest.approx((1 + 1.5) / 1.5)
    assert table.by_group.loc[("g", "b"), "sum:x"] == pytest.approx(4 + 0 + 6)
    assert table.overall["mean:x"] == pytest.approx((1 + 1.5 + 4 + 6) / 4.5)
    assert table.higher_is_better["mean:x"] is None


def test_default_metrics_are_means_and_labels_mix():
    sf, covered, size, _ = _data(500)
    table = evaluate_groups(values={"covered": covered}, sensitive_features=sf)
    assert table.metrics == ("mean:covered",)
    y = (covered > 0).astype(int)
    mixed = evaluate_groups(y, 1 - y, values={"covered": covered}, sensitive_features=sf,
                            metrics=["accuracy", "mean:covered"])
    alone = evaluate_groups(y, 1 - y, sensitive_features=sf, metrics=["accuracy"])
    pd.testing.assert_series_equal(mixed.by_group["accuracy"], alone.by_group["accuracy"])


@pytest.mark.parametrize("weighted", [False, True])
def test_batches_and_dask_give_the_same_table(weighted):
    dd = pytest.importorskip("dask.dataframe")
    from assay.metrics import evaluate_groups_dask

    sf, covered, size, w = _data()
    w = w if weighted else None
    metrics = ["mean:covered", "mean:set_size", "sum:set_size"]
    whole = evaluate_groups(values={"covered": covered, "set_size": size}, metrics=metrics, sensitive_features=sf,
                            sample_weight=w, n_boot=50, random_state=3)
    cuts = [0, 700, 1900, 3000]
    batches = [{"values": {"covered": covered[a:b], "set_size": size[a:b]}, "sensitive_features": sf.iloc[a:b],
                "sample_weight": None if w is None else w[a:b]} for a, b in zip(cuts, cuts[1:])]
    batched = evaluate_groups_batches(batches, metrics=metrics, n_boot=50, random_state=3)
    frame = sf.assign(covered=covered, set_size=size, w=1.0 if w is None else w)
    dask_table = evaluate_groups_dask(dd.from_pandas(frame, npartitions=4), values={"covered": "covered",
                                      "set_size": "set_size"}, metrics=metrics, sensitive_features=["sex", "race"],
                                      sample_weight="w" if weighted else None, n_boot=50, random_state=3)
    for other in (batched, dask_table):
        # 0/1 values and integer weights: exact; other float sums agree to rounding
        pd.testing.assert_series_equal(other.by_group["mean:covered"], whole.by_group["mean:covered"], rtol=0,
                                       atol=0)
        pd.testing.assert_frame_equal(other.by_group, whole.by_group, rtol=1e-12)
        pd.testing.assert_frame_equal(other.ci, whole.ci, rtol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
def test_intervals_contain_the_estimate_and_cover(weighted):
    sf, covered, size, w = _data(4000, seed=1)
    table = evaluate_groups(values={"covered": covered, "set_size": size}, sensitive_features=sf,
                            sample_weight=w if weighted else None, n_boot=400, random_state=0)
    for metric in ("mean:covered", "mean:set_size"):
        low, high = table.ci[(metric, "lower")], table.ci[(metric, "upper")]
        assert (low <= table.by_group[metric]).all() and (table.by_group[metric] <= high).all()
        assert table.overall_ci.loc[metric, "lower"] < table.overall[metric] < table.overall_ci.loc[metric, "upper"]
    # width of the mean's interval ~ 2 * 1.96 * sd / sqrt(n) for an unweighted group
    if not weighted:
        group = sf["sex"] == "F"
        se = size[group].std() / np.sqrt(group.sum())
        width = table.ci.loc[("sex", "F"), ("mean:set_size", "upper")] - table.ci.loc[("sex", "F"),
                                                                                    ("mean:set_size", "lower")]
        assert width == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_zero_one_bootstrap_is_binomial():
    """A 0/1 value resamples as counts: the overall interval is that of a binomial proportion."""
    rng = np.random.default_rng(0)
    n = 5000
    x = (rng.random(n) < 0.3).astype(float)
    sf = rng.choice(["a", "b"], n)
    table = evaluate_groups(values={"x": x}, sensitive_features=sf, n_boot=2000, random_state=1)
    p = x.mean()
    se = np.sqrt(p * (1 - p) / n)
    low, high = table.overall_ci.loc["mean:x"]
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_registered_statistic():
    class RootMeanSquare(CellStatistic):
        name = "rms_test"
        states = ("w", "w2x2")

        def value(self, sums):
            return np.sqrt(sums["w2x2"] / sums["w"])

    register_cell_statistic(RootMeanSquare())
    try:
        sf = np.array(["a", "a", "b", "b"])
        table = evaluate_groups(values={"e": [3.0, 4.0, 1.0, 1.0]}, metrics=["rms_test:e"], sensitive_features=sf,
                                min_group_size=1)
        assert table.by_group.loc[("sensitive_feature", "a"), "rms_test:e"] == pytest.approx(np.sqrt(12.5))
    finally:
        VALUE_STATISTICS.pop("rms_test")


@pytest.mark.parametrize("kwargs, words", [
    ({"values": {"x": [1.0, 2.0]}}, ["values['x']", "4"]),
    ({"values": {"x": [1.0, np.nan, 2.0, 3.0]}}, ["values['x']", "NaN"]),
    ({"values": {"x": [1.0, 2.0, 3.0, 4.0]}, "metrics": ["median:x"]}, ["metrics", "median:x", "mean"]),
    ({"values": {"x": [1.0, 2.0, 3.0, 4.0]}, "metrics": ["mean:y"]}, ["metrics", "mean:y", "values"]),
    ({"metrics": ["mean:y"]}, ["values", "mean:y"]),
    ({"values": [1.0, 2.0, 3.0, 4.0]}, ["values", "dict"]),
    ({"values": {}}, ["values", "dict"]),
])
def test_bad_values_are_refused(kwargs, words):
    with pytest.raises(AssayInputError) as info:
        evaluate_groups(sensitive_features=np.array(["a", "a", "b", "b"]), **kwargs)
    for word in words:
        assert word in str(info.value)


def test_values_keys_must_agree_across_batches():
    stats = GroupedStats().update(values={"x": [1.0, 0.0]}, sensitive_features=["a", "b"])
    with pytest.raises(AssayInputError, match="values"):
        stats.update(values={"y": [1.0, 0.0]}, sensitive_features=["a", "b"])
    other = GroupedStats().update(values={"y": [1.0, 0.0]}, sensitive_features=["a", "b"])
    with pytest.raises(AssayInputError, match="values"):
        stats.merge(other)


@pytest.mark.parametrize("n_boot", [0, 200])
def test_ood_refusal_rates_unchanged_against_the_selection_rate_path(n_boot):
    """rejection_by_group goes through values={"refused": ...}; the rates equal the former
    path (refusals as y_pred, read back as selection_rate) to 1e-12, intervals within Monte-Carlo error."""
    from assay.ood.groups import rejection_by_group

    rng = np.random.default_rng(5)
    n = 4000
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "age": rng.choice(["<30", "30+"], n, p=[.3, .7])})
    scores = rng.normal(size=n) + 0.3 * (sf["sex"] == "F")
    threshold = 1.0
    old = evaluate_groups(np.zeros(n, dtype=np.int64), (scores > threshold).astype(np.int64), sensitive_features=sf,
                          metrics=["selection_rate"], n_boot=n_boot, random_state=0)
    new = rejection_by_group(scores, threshold, sf, n_boot=n_boot, random_state=0)
    assert new.metrics == ("selection_rate",)
    np.testing.assert_allclose(new.by_group["selection_rate"], old.by_group["selection_rate"], rtol=0, atol=1e-12)
    assert abs(new.overall["selection_rate"] - old.overall["selection_rate"]) <= 1e-12
    pd.testing.assert_series_equal(new.by_group["count"], old.by_group["count"])
    if n_boot:
        width = old.ci[("selection_rate", "upper")] - old.ci[("selection_rate", "lower")]
        for bound in ("lower", "upper"):
            gap = (new.ci[("selection_rate", bound)] - old.ci[("selection_rate", bound)]).abs()
            assert (gap <= 0.25 * width).all()
