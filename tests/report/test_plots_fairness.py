"""Fairness plots: threshold trade-off, disparity, intersection heatmap, CI layouts."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from assay import AssayInputError, UndefinedMetricWarning
from assay.metrics import evaluate_groups
from assay.report._plotting import MAIN_LIGHT, PALETTE, SMALL_HATCH
from assay.metrics.thresholds import best_threshold, threshold_sweep
from assay.report import (figure_to_png, plot_disparity, plot_intersection_heatmap, plot_metric_by_group,
                          plot_threshold_tradeoff)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 1500
    sf = pd.DataFrame({"sex": rng.choice(["Female", "Male"], n, p=[0.4, 0.6]),
                       "race": rng.choice(["White", "Black", "Asian", "Other"], n, p=[0.7, 0.15, 0.1, 0.05])})
    y = (rng.random(n) < 0.3 + 0.1 * (sf["sex"] == "Male")).astype(int)
    score = np.clip(rng.normal(0.3 + 0.35 * y + 0.08 * (sf["sex"] == "Male"), 0.2), 0, 1)
    return y, score, sf


@pytest.fixture(scope="module")
def grouped(data):
    y, score, sf = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return evaluate_groups(y, (score >= 0.5).astype(int), sensitive_features=sf, metrics=["tpr", "fpr"],
                               min_group_size=60)


def _bars(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle)]


# ---------------------------------------------------------------------------------------------
# plot_threshold_tradeoff
# ---------------------------------------------------------------------------------------------


def test_tradeoff_has_two_axes_and_the_chosen_line(data):
    y, score, sf = data
    sweep = threshold_sweep(y, score, sensitive_features=sf, thresholds=101)
    best = best_threshold(sweep, constraint=("disparate_impact", ">=", 0.8), feature="sex")
    fig = plot_threshold_tradeoff(sweep, "sex", chosen=best)
    left, right = fig.axes
    assert len(left.lines) == 2 and len(right.lines) == 1  # objective + chosen line; the gap
    assert np.array_equal(left.lines[0].get_xdata(), sweep.thresholds)
    np.testing.assert_allclose(left.lines[0].get_ydata(), sweep.overall("balanced_accuracy"))
    np.testing.assert_allclose(right.lines[0].get_ydata(), sweep.gap("1 - DI", "sex"))
    assert left.lines[1].get_xdata()[0] == best.threshold
    assert "1 - DI (sex)" in right.get_ylabel()
    assert figure_to_png(fig)[:8] == PNG

    fig = plot_threshold_tradeoff(sweep, "sex x race", objective="tpr", fairness="equalized_odds_difference",
                                  chosen=0.4)
    assert fig.axes[0].get_ylabel() == "tpr" and len(fig.axes[0].lines) == 2
    plt.close(fig)
    fig = plot_threshold_tradeoff(threshold_sweep(y, score, sensitive_features=sf["sex"], thresholds=11))
    assert len(fig.axes[0].lines) == 1  # single feature by default, no chosen line
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"feature": "age"}, "'feature' must be one of"),
        ({"feature": None}, "'feature' must be one of"),
        ({"objective": "f1"}, "'objective' must be one of the sweep's metrics"),
        ({"fairness": "gini"}, "'fairness' must be one of"),
        ({"chosen": "best"}, "'chosen' must be None, a finite number"),
        ({"chosen": np.nan}, "'chosen' must be None, a finite number"),
    ],
)
def test_tradeoff_bad_input(data, kwargs, match):
    y, score, sf = data
    sweep = threshold_sweep(y, score, sensitive_features=sf, thresholds=11)
    args = {"feature": "sex"}
    args.update(kwargs)
    with pytest.raises(AssayInputError, match=match):
        plot_threshold_tradeoff(sweep, **args)


def test_tradeoff_needs_a_sweep_with_features(data):
    y, score, _ = data
    with pytest.raises(AssayInputError, match="'sweep' has no sensitive features"):
        plot_threshold_tradeoff(threshold_sweep(y, score, thresholds=11), "sex")
    with pytest.raises(AssayInputError, match="'sweep' must be a ThresholdSweep"):
        plot_threshold_tradeoff(pd.DataFrame(), "sex")


# ---------------------------------------------------------------------------------------------
# plot_disparity
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("higher", [True, False])
def test_disparity_best_group_at_zero(grouped, higher):
    metric = "tpr" if higher else "fpr"
    fig = plot_disparity(grouped, metric, higher_is_better=higher)
    assert len(fig.axes) == 3  # sex, race, sex x race
    for ax, feature in zip(fig.axes, grouped.features):
        values = grouped.by_group.loc[feature, metric]
        best = values.max() if higher else values.min()
        widths = np.array([bar.get_width() for bar in _bars(ax)])
        assert len(widths) == len(values)
        np.testing.assert_allclose(widths, (best - values) if higher else (values - best), atol=1e-12)
        assert widths.min() == 0 and (widths >= 0).all()
        assert widths[int(np.argmax(values.to_numpy() if higher else -values.to_numpy()))] == 0
    assert figure_to_png(fig)[:8] == PNG


def test_disparity_one_feature_with_ci_nan_and_small(grouped):
    table = grouped.by_group.copy()
    table.loc[("race", "Other"), "tpr"] = np.nan
    table.loc[("race", table.loc["race"].index[0]), "small"] = True
    ci = pd.DataFrame({"lower": table["tpr"] - 0.05, "upper": table["tpr"] + 0.05})
    fig = plot_disparity(table, "tpr", "race", ci=ci)
    (ax,) = fig.axes
    bars = _bars(ax)
    assert len(bars) == 4 and bars[list(table.loc["race"].index).index("Other")].get_width() == 0
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith(" best (") for t in texts) and " n/a" in texts
    assert len(ax.containers) == 2  # the bars and one errorbar container (NaN rows skipped)
    small = table.loc["race", "small"].to_numpy()
    assert small.any() and not small.all()
    assert [bar.get_hatch() == SMALL_HATCH for bar in bars] == list(small)
    # one colour-blind-safe palette: the main blue, its light tint for small groups, named in the legend
    assert {to_hex(bar.get_facecolor()) for bar, s in zip(bars, small) if not s} == {PALETTE[0]}
    assert {to_hex(bar.get_facecolor()) for bar, s in zip(bars, small) if s} == {MAIN_LIGHT}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["small group"]
    figure_to_png(fig)


def test_metric_by_group_legend_names_overall_and_small_groups(grouped):
    table = grouped.by_group.copy()
    table.loc[("race", table.loc["race"].index[0]), "small"] = True
    fig = plot_metric_by_group(table, "tpr", overall=0.5)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["overall", "small group"]
    assert to_hex(fig.axes[0].get_lines()[0].get_color()) == PALETTE[1]  # the reference colour
    plt.close(fig)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("auc",), {}, "'metric' must be a column of 'by_group'"),
        (("tpr", "age"), {}, "'feature' must be one of"),
        (("tpr",), {"higher_is_better": "yes"}, "'higher_is_better' parameter of plot_disparity must be a bool"),
        (("tpr",), {"ci": pd.DataFrame({"lo": [0.1]})}, "'ci' must have columns 'lower' and 'upper'"),
    ],
)
def test_disparity_bad_input(grouped, args, kwargs, match):
    with pytest.raises(AssayInputError, match=match):
        plot_disparity(grouped, *args, **kwargs)


def test_disparity_rejects_a_table_without_groups():
    with pytest.raises(AssayInputError, match="'by_group' must be a DataFrame indexed by \\(feature, group\\)"):
        plot_disparity(pd.DataFrame({"tpr": [0.5]}), "tpr")


# ---------------------------------------------------------------------------------------------
# plot_intersection_heatmap
# ---------------------------------------------------------------------------------------------


def test_heatmap_shape_order_and_annotations(grouped):
    fig = plot_intersection_heatmap(grouped, "tpr", "sex x race")
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    assert image.shape == (2, 4)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Female", "Male"]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(grouped.by_group.loc["race"].index)
    assert image[0, 0] == pytest.approx(grouped.by_group.loc[("sex x race", "Female x Asian"), "tpr"])
    texts = [t.get_text() for t in ax.texts]
    assert sum(t.startswith("n=") for t in texts) == 8
    n_small = int(grouped.by_group.loc["sex x race", "small"].sum())
    assert n_small > 0 and sum(t.endswith("*") for t in texts) == n_small
    assert figure_to_png(fig)[:8] == PNG


def test_heatmap_missing_cells_and_nan_are_grey():
    index = pd.MultiIndex.from_tuples(
        [("a", "x"), ("a", "y"), ("b", "p x q"), ("b", "r"), ("a x b", "x x p x q"), ("a x b", "y x r"),
         ("a x b", "x x r")], names=["feature", "group"])
    table = pd.DataFrame({"tpr": [0.5, 0.6, 0.7, 0.8, 0.4, np.nan, 0.9], "count": [5, 6, 7, 8, 3, 2, 1]}, index=index)
    fig = plot_intersection_heatmap(table, "tpr", "a x b")
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    assert image.shape == (2, 2)  # group 'p x q' of b contains the separator: resolved by b's labels
    assert [t.get_text() for t in ax.get_xticklabels()] == ["p x q", "r"]
    assert image.mask.tolist() == [[False, False], [True, True]]  # 'y x p x q' absent, 'y x r' NaN
    texts = [t.get_text() for t in ax.texts]
    assert "no rows" in texts and "n/a" in texts
    figure_to_png(fig)


@pytest.mark.parametrize(
    "feature, match",
    [
        ("sex", "'feature' must be a two-way intersection"),
        ("age x sex", "'feature' must be one of"),
    ],
)
def test_heatmap_bad_feature(grouped, feature, match):
    with pytest.raises(AssayInputError, match=match):
        plot_intersection_heatmap(grouped, "tpr", feature)


def test_heatmap_rejects_three_way_and_unknown_metric(data):
    y, score, sf = data
    sf3 = sf.assign(age=np.where(np.arange(len(y)) % 2, "young", "old"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        result = evaluate_groups(y, (score >= 0.5).astype(int), sensitive_features=sf3, metrics=["tpr"])
    with pytest.raises(AssayInputError, match="'feature' must be a two-way intersection .* 3 feature"):
        plot_intersection_heatmap(result, "tpr", "sex x race x age")
    with pytest.raises(AssayInputError, match="'metric' must be a column"):
        plot_intersection_heatmap(result, "ppv", "sex x race")


# ---------------------------------------------------------------------------------------------
# plot_metric_by_group with confidence intervals
# ---------------------------------------------------------------------------------------------


def _errorbar_segments(fig):
    return sum(len(c[2][0].get_segments()) for ax in fig.axes for c in ax.containers
               if hasattr(c, "has_xerr") and c.has_xerr)


@pytest.mark.parametrize("layout", ["plain", "multiindex", "suffixed", "partial"])
def test_metric_by_group_ci_layouts(grouped, layout):
    table = grouped.by_group
    lower, upper = table["tpr"] - 0.03, table["tpr"] + 0.02
    if layout == "plain":
        ci = pd.DataFrame({"lower": lower, "upper": upper})
    elif layout == "multiindex":
        ci = pd.concat({"tpr": pd.DataFrame({"lower": lower, "upper": upper}),
                        "fpr": pd.DataFrame({"lower": lower * 0, "upper": upper * 0})}, axis=1)
    elif layout == "suffixed":
        ci = pd.DataFrame({"tpr_lower": lower, "tpr_upper": upper})
    else:  # only some groups have an interval; one bound NaN
        ci = pd.DataFrame({"lower": lower, "upper": upper}).loc[["sex", "race"]]
        ci.iloc[0, 0] = np.nan
    fig = plot_metric_by_group(grouped, "tpr", overall=float(grouped.overall["tpr"]), ci=ci)
    expected = len(table) if layout != "partial" else len(table.loc[["sex", "race"]]) - 1
    assert _errorbar_segments(fig) == expected
    assert figure_to_png(fig)[:8] == PNG


def test_metric_by_group_labels(grouped):
    fig = plot_metric_by_group(grouped, "tpr")
    assert fig.axes[-1].get_xlabel() == "tpr"
    fig = plot_metric_by_group(grouped, "tpr", title="Recall", xlabel="share of positives found")
    assert fig.axes[-1].get_xlabel() == "share of positives found" and fig._suptitle.get_text() == "Recall"


def test_metric_by_group_bad_ci(grouped):
    with pytest.raises(AssayInputError, match="'ci' must be a DataFrame"):
        plot_metric_by_group(grouped.by_group, "tpr", ci=[0.1, 0.2])
