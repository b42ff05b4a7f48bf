"""Calibration metrics on arrays (ECE, MCE, RMS, ACE, reliability table): hand-worked cases,
netcal 1.4 on the same inputs, per-group values through the grouped table, the deprecated alias."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from assay import AssayInputError
from assay.metrics import (
    CalibrationStats,
    adaptive_calibration_error,
    binned_calibration_error,
    calibration_error,
    evaluate_groups,
    evaluate_groups_batches,
    expected_calibration_error,
    reliability_table,
)

ECE = expected_calibration_error
PROBS3 = [[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]]
Y3 = [0, 0, 2, 1]


# ---------------------------------------------------------------------------------------------
# Hand-worked cases
# ---------------------------------------------------------------------------------------------


def test_uniform_top_label_and_weighted_by_hand():
    # bins [0, .5], (.5, 1]: [.2, .4] -> conf .3, acc .5; [.6, .9] -> conf .75, acc 1
    p, y = [0.2, 0.4, 0.6, 0.9], [0, 1, 1, 1]
    assert ECE(y, p, n_bins=2) == pytest.approx((2 * 0.2 + 2 * 0.25) / 4, abs=1e-15)
    assert ECE(y, p, n_bins=2, norm="max") == pytest.approx(0.25, abs=1e-15)
    assert ECE(y, p, n_bins=2, norm="l2") == pytest.approx(math.sqrt((2 * 0.2**2 + 2 * 0.25**2) / 4), abs=1e-15)
    # weights 1, 3, 2: bin 0 weight 4, conf (.2 + 1.2) / 4 = .35, acc 3/4 -> .4; bin 1: conf .9, acc 1 -> .1
    assert ECE([0, 1, 1], [0.2, 0.4, 0.9], n_bins=2, sample_weight=[1, 3, 2]) == pytest.approx(
        (4 * 0.4 + 2 * 0.1) / 6, abs=1e-15)
    # top-label: confidences .7 .6 .8 .5, correct 1 0 1 0
    assert ECE(Y3, PROBS3, n_bins=2) == pytest.approx((0.5 + 3 * (0.7 - 2 / 3)) / 4, abs=1e-15)


def test_classwise_by_hand():
    # class 0, column [.7, .3, .1, .5] vs y == 0 [1, 1, 0, 0]: [0, .5]: conf .3 acc 1/3; (.5, 1]: .7 vs 1
    # class 1, column [.2, .6, .1, .4] vs [0, 0, 0, 1]: conf .7/3 acc 1/3; .6 vs 0
    # class 2, column [.1, .1, .8, .1] vs [0, 0, 1, 0]: conf .1 acc 0; .8 vs 1
    per_class = [(3 * (1 / 3 - 0.3) + 0.3) / 4, (3 * (1 / 3 - 0.7 / 3) + 0.6) / 4, (3 * 0.1 + 0.2) / 4]
    assert ECE(Y3, PROBS3, n_bins=2, kind="classwise") == pytest.approx(np.mean(per_class), abs=1e-15)
    assert ECE(Y3, PROBS3, n_bins=2, kind="classwise", norm="max") == pytest.approx((0.3 + 0.6 + 0.2) / 3, abs=1e-15)


def test_quantile_bins_by_hand():
    # median of [.1 .2 .3 .4 .6 .8] is .35: [0, .35) holds .1 .2 .3 (conf .2, acc 1/3),
    # [.35, 1] holds .4 .6 .8 (conf .6, acc 2/3)
    p, y = [0.1, 0.2, 0.3, 0.4, 0.6, 0.8], [0, 0, 1, 0, 1, 1]
    assert ECE(y, p, n_bins=2, strategy="quantile") == pytest.approx(0.1, abs=1e-15)
    assert ECE(y, p, n_bins=2, strategy="quantile", norm="max") == pytest.approx(2 / 15, abs=1e-15)
    assert adaptive_calibration_error(y, p, n_bins=2, kind="top_label") == pytest.approx(0.1, abs=1e-15)
    table = reliability_table(y, p, n_bins=2, strategy="quantile")
    assert_allclose(table["lower"], [0, 0.35], atol=1e-15)
    assert_allclose(table["upper"], [0.35, 1], atol=1e-15)
    assert_allclose(table["confidence"], [0.2, 0.6], atol=1e-15)
    assert_allclose(table["accuracy"], [1 / 3, 2 / 3], atol=1e-15)


def test_quantile_bins_are_closed_on_the_left_and_uniform_on_the_right():
    p, y = [0.1, 0.2, 0.3, 0.4, 0.5], [0, 1, 0, 1, 1]
    # the median .3 is an edge: it lies in the upper equal-mass bin
    assert reliability_table(y, p, n_bins=2, strategy="quantile")["count"].tolist() == [2, 3]
    # .5 is the equal-width edge: it lies in the lower bin
    assert reliability_table(y, p, n_bins=2)["count"].tolist() == [5, 0]


def test_ties_leave_empty_equal_mass_bins_that_are_nan_and_skipped():
    p, y = [0.2, 0.2, 0.2, 0.2, 0.9], [0, 0, 1, 0, 1]
    table = reliability_table(y, p, n_bins=4, strategy="quantile")
    assert table["count"].tolist() == [0, 0, 0, 5]
    assert table["empty"].tolist() == [True, True, True, False]
    assert table.loc[table["empty"], ["confidence", "accuracy"]].isna().all().all()
    assert_allclose(table["upper"], [0.2, 0.2, 0.2, 1.0])
    # one non-empty bin: conf (.8 + .9) / 5 = .34, acc 2/5
    assert ECE(y, p, n_bins=4, strategy="quantile") == pytest.approx(0.06, abs=1e-15)
    assert adaptive_calibration_error(y, p, n_bins=4, kind="top_label") == pytest.approx(0.06, abs=1e-15)


def test_adaptive_classwise_by_hand():
    # class 0 [.7 .3 .1 .5], median .4: {.3, .1} conf .2 acc .5; {.7, .5} conf .6 acc .5 -> (.3 + .1) / 2
    # class 1 [.2 .6 .1 .4], median .3: {.2, .1} conf .15 acc 0; {.6, .4} conf .5 acc .5 -> .15 / 2
    # class 2 [.1 .1 .8 .1], median .1 (ties): one bin of 4, conf .275 acc .25 -> .025
    expected = (0.2 + 0.075 + 0.025) / 3
    assert adaptive_calibration_error(Y3, PROBS3, n_bins=2) == pytest.approx(expected, abs=1e-15)
    table = reliability_table(Y3, PROBS3, n_bins=2, strategy="quantile", kind="classwise")
    assert table.index.names == ["class", "bin"]
    assert table.loc[2, "count"].tolist() == [0, 4] and table.loc[(2, 0), "empty"]


def test_reliability_table_columns_and_ece_from_it():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), 300)
    y = rng.integers(0, 4, 300)
    w = rng.uniform(0.5, 2, 300)
    for kind in ("top_label", "classwise"):
        table = reliability_table(y, p, n_bins=15, kind=kind, sample_weight=w)
        assert list(table.columns) == ["lower", "upper", "confidence", "accuracy", "count", "weight", "empty"]
        full = table[~table["empty"]]
        gap = (full["weight"] * (full["accuracy"] - full["confidence"]).abs())
        per_class = gap.groupby(level=0).sum() / full["weight"].groupby(level=0).sum() if kind == "classwise" \
            else pd.Series([gap.sum() / full["weight"].sum()])
        assert ECE(y, p, kind=kind, sample_weight=w) == pytest.approx(per_class.mean(), abs=1e-12)
        assert table["count"].sum() == 300 * (4 if kind == "classwise" else 1)


def test_binary_shapes_agree_and_classwise_binary_is_both_columns():
    rng = np.random.default_rng(1)
    p = rng.random(200)
    y = (rng.random(200) < p).astype(int)
    two = np.column_stack([1 - p, p])
    assert ECE(y, two) == pytest.approx(ECE(y, p), abs=1e-15)
    negative = ECE(1 - y, 1 - p)
    assert ECE(y, p, kind="classwise") == pytest.approx((ECE(y, p) + negative) / 2, abs=1e-15)
    assert ECE(["no", "yes"] * 100, p, pos_label="yes") == pytest.approx(ECE(np.tile([0, 1], 100), p), abs=1e-15)


# ---------------------------------------------------------------------------------------------
# netcal 1.4 on the same inputs
# ---------------------------------------------------------------------------------------------


def _netcal_case(seed, n, k):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p])
    return y, p


@pytest.mark.parametrize("seed, n", [(0, 1000), (1, 301), (2, 4501)])  # 301, 4501: every quantile edge is a row
@pytest.mark.parametrize("equal_intervals", [True, False])
def test_ece_mce_ace_equal_netcal(seed, n, equal_intervals):
    """Equal-width: random confidences never sit on an edge k/15, where netcal's bins (closed on
    the left) and assay's (closed on the right) differ. Equal-mass: the conventions are the same
    (np.quantile edges, bins closed on the left), tested with rows on the edges (n - 1 a multiple of 15)."""
    metrics = pytest.importorskip("netcal.metrics")
    strategy = "uniform" if equal_intervals else "quantile"
    y, p = _netcal_case(seed, n, 5)
    options = dict(bins=15, equal_intervals=equal_intervals)
    ours = dict(n_bins=15, strategy=strategy)
    assert ECE(y, p, **ours) == pytest.approx(metrics.ECE(**options).measure(p, y), abs=1e-12)
    assert ECE(y, p, norm="max", **ours) == pytest.approx(metrics.MCE(**options).measure(p, y), abs=1e-12)
    # netcal's ACE is top-label; classwise it is netcal's ACE of each column, averaged
    if not equal_intervals:
        assert adaptive_calibration_error(y, p, n_bins=15, kind="top_label") == pytest.approx(
            metrics.ACE(**options).measure(p, y), abs=1e-12)
        per_class = [metrics.ACE(**options).measure(p[:, c], (y == c).astype(int)) for c in range(5)]
        assert adaptive_calibration_error(y, p, n_bins=15) == pytest.approx(np.mean(per_class), abs=1e-12)
    per_class = [metrics.ECE(**options).measure(p[:, c], (y == c).astype(int)) for c in range(5)]
    assert ECE(y, p, kind="classwise", **ours) == pytest.approx(np.mean(per_class), abs=1e-12)
    # binary: the positive-class probability
    yb, pb = (y == 0).astype(int), p[:, 0]
    assert ECE(yb, pb, **ours) == pytest.approx(metrics.ECE(**options).measure(pb, yb), abs=1e-12)


def test_reliability_table_equals_netcal_bins():
    metrics = pytest.importorskip("netcal.metrics")
    y, p = _netcal_case(3, 2000, 4)
    for equal_intervals, strategy in ((True, "uniform"), (False, "quantile")):
        ece = metrics.ECE(bins=15, equal_intervals=equal_intervals)
        X, matched, _, bounds, _ = ece.prepare(p, y)
        (acc, conf), counts, _, _ = ece.binning(bounds[0], X[0], matched[0], X[0][:, 0])
        table = reliability_table(y, p, n_bins=15, strategy=strategy)
        assert table["count"].tolist() == counts.astype(int).tolist()
        full = ~table["empty"].to_numpy()
        assert_allclose(table["accuracy"].to_numpy()[full], acc[full], atol=1e-12)
        assert_allclose(table["confidence"].to_numpy()[full], conf[full], atol=1e-12)
        assert_allclose(table["lower"].tolist() + [1.0], bounds[0][0], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Per group, batches, bootstrap
# ---------------------------------------------------------------------------------------------


def _grouped_case(seed=0, n=3000, k=3):
    rng = np.random.default_rng(seed)
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B", "C"], n)})
    prob = rng.dirichlet(np.ones(k), n)
    y = np.array([rng.choice(k, p=row) for row in prob])
    return y, prob, sf


def test_mce_and_ece_per_group_equal_the_function_on_each_group():
    y, prob, sf = _grouped_case()
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    for weights in (None, w):
        result = evaluate_groups(y, y_score=prob, sensitive_features=sf, metrics=["ece", "mce"], n_bins=10,
                                 sample_weight=weights)
        for (feature, group), row in result.by_group.iterrows():
            columns = feature.split(" x ")
            mask = np.all([sf[c].to_numpy() == g for c, g in zip(columns, group.split(" x "))], axis=0)
            ww = None if weights is None else weights[mask]
            for metric, norm in (("ece", "l1"), ("mce", "max")):
                assert row[metric] == pytest.approx(ECE(y[mask], prob[mask], n_bins=10, norm=norm, sample_weight=ww),
                                                    abs=1e-12)
        assert result.overall["mce"] == pytest.approx(ECE(y, prob, n_bins=10, norm="max", sample_weight=weights),
                                                      abs=1e-12)


def test_mce_from_batches_equals_arrays_and_has_bootstrap_intervals():
    y, prob, sf = _grouped_case(2)
    options = dict(metrics=["ece", "mce"], n_boot=200, random_state=0, min_group_size=10)
    whole = evaluate_groups(y, y_score=prob, sensitive_features=sf, **options)
    parts = np.array_split(np.arange(len(y)), 7)
    batched = evaluate_groups_batches(({"y_true": y[i], "y_score": prob[i], "sensitive_features": sf.iloc[i]}
                                       for i in parts), **options)
    pd.testing.assert_frame_equal(whole.by_group, batched.by_group)
    pd.testing.assert_frame_equal(whole.ci, batched.ci)
    lower, upper = whole.ci[("mce", "lower")], whole.ci[("mce", "upper")]
    assert np.isfinite(lower).all() and (lower <= whole.by_group["mce"] + 1e-12).all()
    assert (upper >= whole.by_group["mce"] - 1e-12).all() and (upper > lower).all()


def test_mce_from_dask_equals_arrays():
    dd = pytest.importorskip("dask.dataframe")
    from assay.metrics import evaluate_groups_dask

    y, prob, sf = _grouped_case(3, k=2)
    frame = pd.DataFrame({"y": y, "score": prob[:, 1], **sf})
    expected = evaluate_groups(frame["y"], y_score=frame["score"], sensitive_features=frame[["sex", "race"]],
                               metrics=["ece", "mce"])
    import dask

    with warnings.catch_warnings(), dask.config.set(scheduler="synchronous"):
        warnings.simplefilter("ignore")
        result = evaluate_groups_dask(dd.from_pandas(frame, npartitions=5), y_true="y", y_score="score",
                                      sensitive_features=["sex", "race"], metrics=["ece", "mce"])
    pd.testing.assert_frame_equal(result.by_group, expected.by_group)


# ---------------------------------------------------------------------------------------------
# One name per idea: the former names still work, with a FutureWarning at the caller
# ---------------------------------------------------------------------------------------------


def _warns_here(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call()
    future = [w for w in caught if w.category is FutureWarning]
    assert len(future) == 1 and future[0].filename == __file__
    return value, str(future[0].message)


def test_calibration_error_is_a_deprecated_alias():
    y, p = [0, 1, 1, 1], [0.2, 0.4, 0.6, 0.9]
    value, message = _warns_here(lambda: calibration_error(y, y_prob=p, n_bins=2, norm="max"))
    assert value == ECE(y, p, n_bins=2, norm="max") and "expected_calibration_error" in message


def test_stats_form_of_expected_calibration_error_still_works():
    stats = CalibrationStats(["a", "b"], n_bins=4).update([0, 1, 1, 0], [0.1, 0.7, 0.8, 0.6], [0, 0, 1, 1])
    value, message = _warns_here(lambda: expected_calibration_error(stats, norm="max"))
    assert_allclose(value, binned_calibration_error(stats, norm="max")) and "binned_calibration_error" in message


def test_bad_inputs_name_the_argument():
    with pytest.raises(AssayInputError, match="'strategy' parameter of expected_calibration_error"):
        ECE([0, 1], [0.2, 0.7], strategy="kmeans")
    with pytest.raises(AssayInputError, match="'kind' parameter of reliability_table"):
        reliability_table([0, 1], [0.2, 0.7], kind="marginal")
    with pytest.raises(AssayInputError, match="'n_bins' parameter of adaptive_calibration_error"):
        adaptive_calibration_error([0, 1], [0.2, 0.7], n_bins=0)
    with pytest.raises(AssayInputError, match="'proba'.*rows summing to 1"):
        ECE([0, 1], [[0.2, 0.7, 0.3], [0.1, 0.1, 0.8]])
    with pytest.raises(AssayInputError, match="needs 'proba'"):
        ECE([0, 1])


@pytest.mark.parametrize("n_bins", [1, 2, 3, 7, 10, 15, 49, 100])
def test_uniform_bins_and_top_label_equal_numpy_exactly(n_bins):
    from assay.metrics._stats import top_label, uniform_bins

    edges = np.arange(n_bins + 1) / n_bins
    written = np.array([float(repr(k / n_bins)) for k in range(n_bins + 1)])  # 0.3 for 3/10
    around = np.concatenate([np.nextafter(edges, 0), np.nextafter(edges, 1)])
    conf = np.clip(np.concatenate([edges, written, around, np.random.default_rng(n_bins).random(10_000)]), 0, 1)
    assert_allclose(uniform_bins(conf, n_bins), np.searchsorted(edges[1:-1], conf, side="left"), rtol=0, atol=0)
    p = np.random.default_rng(0).dirichlet(np.ones(4), 40_000)
    p[:5] = [0.25, 0.25, 0.25, 0.25]  # ties: the first column
    predicted, confidence = top_label(p)
    assert (predicted == p.argmax(axis=1)).all() and (confidence == p.max(axis=1)).all()


def test_the_one_pass_check_gives_the_numbers_of_the_general_path():
    """float64 (n, k >= 3) arrays take a one-pass check; lists and float32 take check_prob: same numbers."""
    y, p = _netcal_case(4, 5000, 6)
    for kind in ("top_label", "classwise"):
        fast = ECE(y, p, kind=kind)
        assert fast == ECE(y, p.tolist(), kind=kind)
        assert fast == pytest.approx(ECE(y, p.astype(np.float32), kind=kind), abs=1e-6)
    bad = p.copy()
    bad[4321, 0] += 0.01
    with pytest.raises(AssayInputError, match="row 4321 summing to 1.01"):
        ECE(y, bad)


def test_grouped_table_skips_the_loss_sums_only_when_no_metric_needs_them():
    from assay.metrics import GroupedStats

    y, prob, sf = _grouped_case(5, n=800)
    lean = GroupedStats(keep_losses=False).update(y, y_score=prob, sensitive_features=sf)
    full = GroupedStats().update(y, y_score=prob.tolist(), sensitive_features=sf)  # the general check_prob path
    assert "log_loss_fixed" not in lean._sums and "log_loss_fixed" in full._sums
    pd.testing.assert_frame_equal(lean.compute(["ece", "mce"]).by_group, full.compute(["ece", "mce"]).by_group)
    with pytest.raises(AssayInputError, match="keep_losses=True"):
        lean.compute(["log_loss"])
    with pytest.raises(AssayInputError, match="keep_losses"):
        lean.merge(full)
    table = evaluate_groups(y, y_score=prob, sensitive_features=sf, metrics=["ece", "log_loss"])
    assert np.isfinite(table.by_group["log_loss"]).all()


def test_zero_total_weight_is_nan_with_a_warning():
    from assay import UndefinedMetricWarning

    with pytest.warns(UndefinedMetricWarning, match="'all'"):
        assert np.isnan(ECE([0, 1], [0.2, 0.7], sample_weight=[0, 0]))
    with pytest.warns(UndefinedMetricWarning, match="'ace'"):
        assert np.isnan(adaptive_calibration_error([0, 1, 2], PROBS3[:3], sample_weight=[0, 0, 0]))
