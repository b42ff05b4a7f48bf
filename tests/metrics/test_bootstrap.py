"""Bootstrap intervals drawn from counts: deterministic, and the row bootstrap in distribution."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from assay import AssayInputError, UndefinedMetricWarning
from assay.metrics import CalibrationStats, ConfusionStats, binned_calibration_error, evaluate_groups
from assay.metrics.bootstrap import percentile_interval, quantiles
from assay.metrics.classification import METRICS

METRIC_NAMES = ["accuracy", "tpr", "ppv", "f1", "selection_rate"]


def _case(seed=0, n=1200):
    rng = np.random.default_rng(seed)
    sf = pd.DataFrame({"g": rng.choice(["a", "b"], n, p=[0.6, 0.4]), "h": rng.choice(["x", "y"], n, p=[0.55, 0.45])})
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.78, y, 1 - y)
    s = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    w = rng.uniform(0.5, 2.0, n)
    return y, p, s, w, sf


def test_same_seed_gives_identical_json_and_another_seed_differs():
    y, p, s, _, sf = _case()
    run = lambda seed: evaluate_groups(y, p, y_score=s, sensitive_features=sf,  # noqa: E731
                                       metrics=[*METRIC_NAMES, "ece"], n_boot=200, random_state=seed)
    first, second, other = run(7), run(7), run(8)
    assert json.dumps(first.to_dict()) == json.dumps(second.to_dict())
    assert json.dumps(first.to_dict()) != json.dumps(other.to_dict())
    assert_array_equal(first.resamples, second.resamples)
    record = json.loads(json.dumps(first.to_dict()))
    assert record["params"]["n_boot"] == 200 and record["params"]["random_state"] == 7
    assert record["ci"]["columns"][0] == ["accuracy", "lower"] and "resamples" not in record
    assert record["ci"]["index"][0] == ["g", "a"]


def test_interval_layout_and_no_bootstrap_by_default():
    y, p, _, _, sf = _case()
    plain = evaluate_groups(y, p, sensitive_features=sf, metrics=[*METRIC_NAMES, "count"])
    assert plain.ci is None and plain.overall_ci is None and plain.resamples is None
    with pytest.raises(AssayInputError, match="GroupedMetrics.difference_ci needs bootstrap resamples: pass 'n_boot'"):
        plain.difference_ci()
    table = evaluate_groups(y, p, sensitive_features=sf, metrics=[*METRIC_NAMES, "count"], n_boot=100,
                            confidence_level=0.9, random_state=0)
    assert table.ci_metrics == tuple(METRIC_NAMES)  # count does not vary: the bootstrap keeps cell sizes
    assert list(table.ci.columns.get_level_values("bound")[:2]) == ["lower", "upper"]
    assert table.ci.index.equals(table.by_group.index)
    assert table.resamples.shape == (100, 1 + len(table.by_group), len(METRIC_NAMES))
    lower = table.ci.xs("lower", axis=1, level="bound")
    upper = table.ci.xs("upper", axis=1, level="bound")
    assert (lower.to_numpy() <= upper.to_numpy()).all()
    inside = (lower.to_numpy() <= table.by_group[METRIC_NAMES].to_numpy()) & (
        table.by_group[METRIC_NAMES].to_numpy() <= upper.to_numpy())
    assert inside.mean() > 0.9  # point estimates sit inside their intervals
    assert list(table.overall_ci.columns) == ["lower", "upper"]
    # the interval is the percentile of the stored resamples
    expected = np.nanquantile(table.resamples[:, 0, :], [0.05, 0.95], axis=0)
    assert_allclose(table.overall_ci.to_numpy().T, expected, rtol=0, atol=1e-15)


def test_aggregate_intervals_are_the_aggregates_of_each_resample():
    y, p, _, _, sf = _case(1)
    table = evaluate_groups(y, p, sensitive_features=sf, metrics=METRIC_NAMES, n_boot=150, random_state=2,
                            min_group_size=300)
    values = table.resamples
    rows = lambda feature: 1 + np.flatnonzero(table.by_group.index.get_level_values(0) == feature)  # noqa: E731
    g = values[:, rows("g"), :]
    point = table.by_group.loc["g", METRIC_NAMES].to_numpy()
    hi, lo = point.argmax(axis=0), point.argmin(axis=0)
    far = np.abs(point - table.overall[METRIC_NAMES].to_numpy(float)).argmax(axis=0)
    cols = np.arange(len(METRIC_NAMES))
    checks = {
        # absolute gaps: the interval of |d| from that of the signed d (issue 21, item 22)
        "difference": (table.difference_ci(), g[:, hi, cols] - g[:, lo, cols]),
        # ratios: the interval of r = (1 - |t|) / (1 + |t|) from that of t = (a - b) / (a + b), same pair
        "ratio": (table.ratio_ci(), (g[:, hi, cols] - g[:, lo, cols]) / (g[:, hi, cols] + g[:, lo, cols])),
        "group_min": (table.group_min_ci(), g.min(axis=1)),
        "group_max": (table.group_max_ci(), g.max(axis=1)),
        "difference to_overall": (table.difference_ci("to_overall"), g[:, far, cols] - values[:, 0, :]),
    }
    for name, (frame, per_resample) in checks.items():
        expected = np.quantile(per_resample, [0.025, 0.975], axis=0)
        if name.startswith("difference"):
            a, b = np.abs(expected)
            straddles = (expected[0] <= 0) & (expected[1] >= 0)
            expected = np.stack([np.where(straddles, 0, np.minimum(a, b)), np.maximum(a, b)])
        if name == "ratio":
            a, b = np.abs(expected)
            straddles = (expected[0] <= 0) & (expected[1] >= 0)
            low, high = np.where(straddles, 0, np.minimum(a, b)), np.maximum(a, b)
            expected = np.stack([(1 - high) / (1 + high), (1 - low) / (1 + low)])
            point_ratio = point.min(axis=0) / point.max(axis=0)
            assert np.all((expected[0] <= point_ratio) & (point_ratio <= expected[1]))
        got = frame.loc["g"].unstack("bound")[["lower", "upper"]].loc[METRIC_NAMES].to_numpy().T
        assert_allclose(got, expected, rtol=0, atol=1e-14, err_msg=name)
    assert list(table.difference_ci(feature="g x h").index) == ["g x h"]
    # small groups can be left out of the aggregates' intervals, as of the aggregates
    without_small = table.difference_ci(feature="g x h", include_small=False)
    kept = ~table.by_group.loc["g x h", "small"].to_numpy()
    block = values[:, rows("g x h")[kept], :]
    kept_point = table.by_group.loc["g x h", METRIC_NAMES].to_numpy()[kept]
    signed = block[:, kept_point.argmax(axis=0), cols] - block[:, kept_point.argmin(axis=0), cols]
    low, high = np.quantile(signed, [0.025, 0.975], axis=0)
    assert_allclose(without_small.loc["g x h"].unstack("bound")["lower"].loc[METRIC_NAMES].to_numpy(),
                    np.where((low <= 0) & (high >= 0), 0, np.minimum(abs(low), abs(high))), atol=1e-14)
    with pytest.raises(AssayInputError, match="'method' parameter of GroupedMetrics.ratio_ci"):
        table.ratio_ci("between")
    with pytest.raises(AssayInputError, match="'feature' must be one of"):
        table.difference_ci(feature="nope")


# ---------------------------------------------------------------------------------------------
# In distribution: the count bootstrap equals an explicit, slow row bootstrap
# ---------------------------------------------------------------------------------------------


def _row_bootstrap(y, p, s, w, sf, n_boot, seed):
    """Resample rows within each finest cell, recompute every group's metrics: shape (B, G, M)."""
    rng = np.random.default_rng(seed)
    table = evaluate_groups(y, p, y_score=s, sensitive_features=sf, metrics=[*METRIC_NAMES, "ece"],
                            sample_weight=w, min_group_size=0)
    cell_codes, cells = pd.factorize(pd.MultiIndex.from_frame(sf), sort=True)
    members = [np.flatnonzero(cell_codes == c) for c in range(len(cells))]
    # cell -> group maps of every row of the table (overall first), as the table orders them
    maps = [np.zeros(len(cells), dtype=int)]
    labels = [("overall", "all")]
    for feature, part in table.by_group.groupby(level="feature", sort=False):
        columns = feature.split(" x ")
        names = [" x ".join(str(v) for v in np.atleast_1d(np.asarray(c, dtype=object)[[sf.columns.get_loc(k) for k in columns]]))
                 for c in cells]
        order = list(part.index.get_level_values("group"))
        maps.append(np.array([order.index(name) for name in names]))
        labels += list(part.index)
    out = np.empty((n_boot, len(labels), len(METRIC_NAMES) + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for b in range(n_boot):
            idx = np.concatenate([rng.choice(m, len(m)) for m in members])
            codes = cell_codes[idx]
            weights = None if w is None else w[idx]
            confusion = ConfusionStats(len(cells)).update(y[idx], p[idx], codes, weights)
            calibration = CalibrationStats(len(cells)).update(y[idx], s[idx], codes, weights)
            column = 0
            for cell_map in maps:
                n_groups = cell_map.max() + 1
                c = confusion.aggregate(cell_map, list(range(n_groups)))
                k = calibration.aggregate(cell_map, list(range(n_groups)))
                for j, metric in enumerate(METRIC_NAMES):
                    out[b, column:column + n_groups, j] = METRICS[metric].function(c)
                out[b, column:column + n_groups, -1] = binned_calibration_error(k)
                column += n_groups
    return out


@pytest.mark.parametrize("weighted", [False, True])
def test_count_bootstrap_matches_the_row_bootstrap_in_distribution(weighted):
    y, p, s, w, sf = _case(3)
    w = w if weighted else None
    slow = _row_bootstrap(y, p, s, w, sf, n_boot=2000, seed=11)
    fast = evaluate_groups(y, p, y_score=s, sensitive_features=sf, metrics=[*METRIC_NAMES, "ece"],
                           sample_weight=w, n_boot=4000, random_state=12).resamples
    spread = slow.std(axis=0)
    # The Monte Carlo error of a 2.5% quantile is ~0.06 sd here (both sides together); 0.35 sd
    # is ~5 of those. ECE leaves out the spread of confidences within a bin (documented): more room.
    tolerance = np.full(spread.shape, 0.35)
    tolerance[:, -1] = 0.45
    for q in (0.025, 0.5, 0.975):
        gap = np.abs(np.quantile(slow, q, axis=0) - np.quantile(fast, q, axis=0))
        assert (gap <= tolerance * spread).all(), (q, (gap / spread).max(axis=0))
        assert gap[:, :-1].max() <= 0.012
    assert_allclose(fast.std(axis=0), spread, rtol=0.1)


def test_percentile_intervals_cover_the_truth_at_about_their_level():
    rng = np.random.default_rng(5)
    truth, hits, repeats = 0.8, 0, 200
    for seed in range(repeats):
        r = np.random.default_rng(seed)
        n = 300
        y = r.integers(0, 2, n)
        p = np.where(r.random(n) < truth, y, 1 - y)
        table = evaluate_groups(y, p, sensitive_features={"g": r.choice(["a", "b"], n)}, metrics="accuracy",
                                n_boot=300, confidence_level=0.9, random_state=int(rng.integers(1 << 30)))
        low, high = table.overall_ci.loc["accuracy"]
        hits += low <= truth <= high
    assert 0.82 <= hits / repeats <= 0.96


def test_undefined_resamples_are_nan_without_warnings():
    y = np.array([0, 0, 0, 1, 1, 0, 1, 0] * 10)
    p = np.array([0, 1, 0, 1, 0, 0, 1, 1] * 10)
    g = np.array(["a"] * 40 + ["b"] * 40)
    y[g == "b"] = 0  # no positives in b: tpr undefined
    y[np.flatnonzero(g == "a")[0]] = 1
    with warnings.catch_warnings(record=True) as plain:
        warnings.simplefilter("always")
        evaluate_groups(y, p, sensitive_features={"g": g}, metrics=["tpr", "accuracy"])
    with warnings.catch_warnings(record=True) as boot:
        warnings.simplefilter("always")
        table = evaluate_groups(y, p, sensitive_features={"g": g}, metrics=["tpr", "accuracy"], n_boot=200,
                                random_state=0)
    assert len(boot) == len(plain) >= 1  # only the point estimate warns, not each resample
    assert np.isnan(table.ci.loc[("g", "b"), ("tpr", "lower")])
    assert np.isfinite(table.ci.loc[("g", "b"), ("accuracy", "lower")])
    assert np.isfinite(table.ci.loc[("g", "a"), ("tpr", "upper")])


def test_weighted_bootstrap_with_constant_weights_equals_unweighted():
    y, p, _, _, sf = _case(4)
    plain = evaluate_groups(y, p, sensitive_features=sf, metrics=METRIC_NAMES, n_boot=100, random_state=3)
    doubled = evaluate_groups(y, p, sensitive_features=sf, metrics=METRIC_NAMES, n_boot=100, random_state=3,
                              sample_weight=np.full(len(y), 2.0))
    assert_allclose(doubled.resamples, plain.resamples, rtol=1e-14)


def test_quantiles_match_numpy_nanquantile():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(57, 4, 3))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[:, 0, 0] = np.nan
    values[:-1, 1, 1] = np.nan  # one value left
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanquantile(values, [0.025, 0.5, 0.975], axis=0)
    assert_allclose(quantiles(values, [0.025, 0.5, 0.975]), expected, rtol=0, atol=1e-14)
    lower, upper = percentile_interval(values, 0.8)
    assert_allclose(lower, quantiles(values, 0.1), rtol=0, atol=1e-15, equal_nan=True)
    assert_allclose(upper, quantiles(values, 0.9), rtol=0, atol=1e-15, equal_nan=True)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"n_boot": -1}, r"The 'n_boot' parameter of evaluate_groups must be an int in \[0, inf\). Got -1"),
        ({"n_boot": 2.5}, r"'n_boot' parameter of evaluate_groups must be an int"),
        ({"n_boot": True}, r"'n_boot' parameter of evaluate_groups"),
        ({"confidence_level": 0},
         r"The 'confidence_level' parameter of evaluate_groups must be a float in \(0, 1\). Got 0"),
        ({"confidence_level": 1.0}, r"'confidence_level' parameter of evaluate_groups must be a float in \(0, 1\)"),
        ({"confidence_level": "0.9"}, r"'confidence_level' parameter of evaluate_groups"),
        ({"n_boot": 10, "random_state": "seed"}, r"'random_state' must be None, an int or a numpy Generator"),
        ({"n_boot": 10, "random_state": -3}, r"'random_state' must be a non-negative int"),
    ],
)
def test_bad_bootstrap_arguments_name_the_argument(kwargs, pattern):
    y, p, _, _, sf = _case(0, n=100)
    with pytest.raises(AssayInputError, match=pattern):
        evaluate_groups(y, p, sensitive_features=sf, **kwargs)
