"""Figures of per-group results: a metric by group, gaps to the best group, two-way
intersections, and the performance/fairness trade-off of a decision threshold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import SEPARATOR, check_bool, describe
from ..metrics.thresholds import GAP_ALIASES, GAPS, ThresholdSweep
from ._plotting import (_BAR, _BAR_SMALL, _GAP_LABELS, _MISSING, MAIN, REFERENCE, SMALL_HATCH, _as_by_group,
                        _check_features, _ci_bounds, _draw_interval, plt, small_group_patch)

def plot_metric_by_group(
    by_group: pd.DataFrame,
    metric: str,
    *,
    overall: float | None = None,
    ci: pd.DataFrame | None = None,
    small_column: str = "small",
    title: str | None = None,
    xlabel: str | None = None,
) -> plt.Figure:
    """Horizontal bars of one metric for every group, one panel per feature or intersection.

    Parameters
    ----------
    by_group : DataFrame indexed by (feature, group) with a column ``metric`` (and optionally a
        boolean column ``small_column``: small groups are drawn hatched, not hidden), or a result
        with such a ``by_group`` table (``GroupedMetrics``, ``ThresholdMetrics``).
    overall : the metric on all data, drawn as a dashed line.
    ci : optional DataFrame indexed like ``by_group`` (rows may be missing: no error bar there)
        with columns ``lower``/``upper``, or ``(metric, "lower")``/``(metric, "upper")``, or
        ``f"{metric}_lower"``/``f"{metric}_upper"`` (error bars; NaN bounds draw none).
    title, xlabel : optional; default: the metric's name.
    """
    by_group = _as_by_group(by_group)
    if metric not in by_group.columns:
        raise AssayInputError(f"'metric' must be a column of 'by_group' {list(by_group.columns)}. Got {metric!r}.")
    bounds = _ci_bounds(ci, metric, by_group.index)
    features = list(dict.fromkeys(by_group.index.get_level_values(0)))
    heights = [max(1, (by_group.index.get_level_values(0) == f).sum()) for f in features]
    fig, axes = plt.subplots(
        len(features), 1, figsize=(7, 0.9 + 0.32 * sum(heights) + 0.5 * len(features)),
        gridspec_kw={"height_ratios": heights}, sharex=True, squeeze=False,
    )
    for ax, feature in zip(axes[:, 0], features):
        rows = by_group.xs(feature, level=0)
        values = rows[metric].to_numpy(dtype=float)
        y = np.arange(len(rows))
        small = rows[small_column].to_numpy(bool) if small_column in rows else np.zeros(len(rows), bool)
        colors = [_BAR_SMALL if s else _BAR for s in small]
        bars = ax.barh(y, np.nan_to_num(values), color=colors, height=0.7)
        for bar, s in zip(bars, small):
            if s:
                bar.set_hatch(SMALL_HATCH)
        ends = np.nan_to_num(values)  # where each value's label goes: after its bar (and interval)
        if bounds is not None:
            lower, upper = (b.xs(feature, level=0).reindex(rows.index).to_numpy(float) for b in bounds)
            _draw_interval(ax, values, y, lower, upper)
            ends = np.where(np.isfinite(values) & np.isfinite(upper), np.fmax(ends, upper), ends)
        for yi, value, end in zip(y, values, ends):
            ax.text(end, yi, "  n/a" if np.isnan(value) else f" {value:.3f}", va="center", fontsize=8)
        if overall is not None and np.isfinite(overall):
            ax.axvline(overall, color=REFERENCE, ls="--", lw=1, label="overall")
        ax.set_yticks(y, [str(g) for g in rows.index])
        ax.invert_yaxis()
        ax.set_title(feature, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel(xlabel or metric)
    handles = [line for line in axes[0, 0].get_lines() if line.get_label() == "overall"][:1]
    if small_column in by_group and by_group[small_column].astype(bool).any():
        handles.append(small_group_patch())
    if handles:
        axes[0, 0].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle(title or f"{metric} by group", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Threshold trade-off
# ---------------------------------------------------------------------------------------------


def plot_threshold_tradeoff(
    sweep: Any,
    feature: str | None = None,
    *,
    objective: str = "balanced_accuracy",
    fairness: str = "1 - DI",
    chosen: Any = None,
    title: str | None = None,
) -> plt.Figure:
    """A performance metric (left axis) and a fairness gap (right axis) against the threshold.

    Parameters
    ----------
    sweep : ThresholdSweep
        From :func:`assay.metrics.thresholds.threshold_sweep`.
    feature : str, optional
        The feature (or intersection) whose gap is drawn; may be omitted if the sweep has one.
    objective : str, default "balanced_accuracy"
        An overall metric of the sweep (left axis).
    fairness : str, default "1 - DI"
        A gap of :data:`assay.metrics.thresholds.GAPS` or an alias such as ``"1 - DI"`` (right axis).
    chosen : float or result with a ``threshold``, optional
        Marks that threshold with a vertical line (e.g. a ``BestThreshold``).
    """
    if not isinstance(sweep, ThresholdSweep):
        raise AssayInputError(f"'sweep' must be a ThresholdSweep. Got {describe(sweep)} instead.")
    if objective not in sweep.metrics:
        raise AssayInputError(f"'objective' must be one of the sweep's metrics {list(sweep.metrics)}. Got {objective!r}.")
    gap = GAP_ALIASES.get(fairness, fairness) if isinstance(fairness, str) else fairness
    if gap not in GAPS:
        raise AssayInputError(
            f"'fairness' must be one of {list(GAPS) + list(GAP_ALIASES)}. Got {fairness!r} instead."
        )
    if not sweep.features:
        raise AssayInputError("'sweep' has no sensitive features: there is no fairness gap to draw.")
    if feature is None and len(sweep.features) == 1:
        feature = sweep.features[0]
    if feature not in sweep.features:
        raise AssayInputError(f"'feature' must be one of {list(sweep.features)}. Got {feature!r} instead.")
    threshold = getattr(chosen, "threshold", chosen)
    if threshold is not None and not (
        isinstance(threshold, (int, float, np.number)) and not isinstance(threshold, bool) and np.isfinite(threshold)
    ):
        raise AssayInputError(
            f"'chosen' must be None, a finite number or a result with a 'threshold'. Got {describe(chosen)} instead."
        )

    perf = sweep.overall(objective)
    fair = sweep.gap(gap, feature)
    fair_label = fairness if fairness != gap else _GAP_LABELS.get(gap, gap)
    left_color, right_color = MAIN, REFERENCE
    fig, ax = plt.subplots(figsize=(7, 4))
    right = ax.twinx()
    (line_left,) = ax.plot(perf.index, perf.to_numpy(), color=left_color, lw=1.6, label=objective)
    (line_right,) = right.plot(fair.index, fair.to_numpy(), color=right_color, lw=1.6, ls="--",
                               label=f"{fair_label} ({feature})")
    ax.set_xlabel("decision threshold (predict positive when score >= threshold)")
    ax.set_ylabel(objective, color=left_color)
    right.set_ylabel(f"{fair_label} ({feature})", color=right_color)
    ax.tick_params(axis="y", colors=left_color)
    right.tick_params(axis="y", colors=right_color)
    handles = [line_left, line_right]
    if threshold is not None:
        j = int(np.argmin(np.abs(perf.index.to_numpy(float) - float(threshold))))
        handles.append(ax.axvline(float(threshold), color="black", ls=":", lw=1.2,
                                  label=(f"chosen {float(threshold):.3g}: {objective} {perf.iloc[j]:.3f}, "
                                         f"{fair_label} {fair.iloc[j]:.3f}")))
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2 if threshold is None else 1,
              fontsize=8, frameon=False)
    ax.set_title(title or f"{objective} and {fair_label} ({feature}) by threshold", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Disparity
# ---------------------------------------------------------------------------------------------


def plot_disparity(
    by_group: Any,
    metric: str,
    feature: str | Sequence[str] | None = None,
    *,
    higher_is_better: bool = True,
    ci: pd.DataFrame | None = None,
    small_column: str = "small",
    title: str | None = None,
) -> plt.Figure:
    """Each group's gap to the best group on ``metric``: horizontal bars, the best group at 0.

    One panel per feature (or intersection). The gap is ``best - value`` when higher is better
    and ``value - best`` otherwise, so it is never negative and longer bars are worse. Small
    groups are hatched (and may be the best group: they are not hidden); NaN values are "n/a".

    Parameters
    ----------
    by_group : DataFrame indexed by (feature, group), or a result with a ``by_group`` table.
    metric : str
        A column of ``by_group``.
    feature : str or list of str, optional
        Which features to draw (default: all).
    higher_is_better : bool, default True
        The direction of ``metric`` (the best group is the largest value, or the smallest).
    ci : DataFrame, optional
        Intervals of ``metric`` per group (layouts as in :func:`plot_metric_by_group`); drawn as
        the group's interval shifted by the best value, i.e. not an interval of the difference.
    """
    owner = "plot_disparity"
    table = _as_by_group(by_group)
    if metric not in table.columns:
        raise AssayInputError(f"'metric' must be a column of 'by_group' {list(table.columns)}. Got {metric!r}.")
    higher = check_bool(higher_is_better, "higher_is_better", owner=owner)
    features = _check_features(table, feature)
    bounds = _ci_bounds(ci, metric, table.index)
    heights = [max(1, int((table.index.get_level_values(0) == f).sum())) for f in features]
    fig, axes = plt.subplots(
        len(features), 1, figsize=(7, 0.9 + 0.32 * sum(heights) + 0.5 * len(features)),
        gridspec_kw={"height_ratios": heights}, sharex=True, squeeze=False,
    )
    sign = 1.0 if higher else -1.0
    extent = floor = 0.0
    for ax, name in zip(axes[:, 0], features):
        rows = table.xs(name, level=0)
        values = rows[metric].to_numpy(dtype=float)
        y = np.arange(len(rows))
        small = rows[small_column].to_numpy(bool) if small_column in rows else np.zeros(len(rows), bool)
        defined = np.isfinite(values)
        # the best group: largest (or smallest) defined value, the first one on ties
        best_index = int(np.argmax(np.where(defined, sign * values, -np.inf))) if defined.any() else None
        best = values[best_index] if best_index is not None else np.nan
        gaps = sign * (best - values)
        bars = ax.barh(y, np.nan_to_num(gaps), color=[_BAR_SMALL if s else _BAR for s in small], height=0.7)
        for bar, s in zip(bars, small):
            if s:
                bar.set_hatch(SMALL_HATCH)
        ends = np.nan_to_num(gaps)  # where each label goes: after the bar and its interval
        if bounds is not None:
            lower, upper = (b.xs(name, level=0).reindex(rows.index).to_numpy(float) for b in bounds)
            gap_low, gap_high = sign * (best - upper), sign * (best - lower)
            low, high = np.fmin(gap_low, gap_high), np.fmax(gap_low, gap_high)
            _draw_interval(ax, gaps, y, low, high)
            ends = np.where(np.isfinite(gaps) & np.isfinite(high), np.fmax(ends, high), ends)
            floor = min(floor, float(np.nanmin(low, initial=0.0)))  # an interval may cross 0
        extent = max(extent, float(np.max(ends, initial=0.0)))
        for yi, gap, value, end in zip(y, gaps, values, ends):
            if np.isnan(value):
                text = " n/a"
            elif yi == best_index:
                text = f" best ({value:.3f})"
            else:
                text = f" {gap:.3f}"
            ax.text(end, yi, text, va="center", fontsize=8)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, [str(g) for g in rows.index])
        ax.invert_yaxis()
        ax.set_title(name, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    span = extent - floor if extent > floor else 1.0
    axes[-1, 0].set_xlim(floor - 0.05 * span * (floor < 0), extent + 0.3 * span)  # shared; room for labels
    direction = "higher" if higher else "lower"
    axes[-1, 0].set_xlabel(f"gap to the best group in {metric} ({direction} is better)")
    if small_column in table and table.loc[features, small_column].astype(bool).any():
        axes[0, 0].legend(handles=[small_group_patch()], loc="upper left", bbox_to_anchor=(1.01, 1.0),
                          fontsize=8, frameon=False)
    fig.suptitle(title or f"{metric}: gap to the best group", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Two-way intersection heatmap
# ---------------------------------------------------------------------------------------------


def _split_labels(labels: list[str], first: list[str] | None, second: list[str] | None) -> list[tuple[str, str]]:
    """(first group, second group) of each intersection label; known single-feature labels
    resolve labels whose groups contain the separator themselves."""
    pairs = []
    for label in labels:
        pair = None
        if first is not None and second is not None:
            for a in first:
                rest = label[len(a) + len(SEPARATOR):]
                if label.startswith(a + SEPARATOR) and rest in second:
                    pair = (a, rest)
                    break
        if pair is None:
            parts = label.split(SEPARATOR)
            if len(parts) != 2:
                raise AssayInputError(
                    f"'by_group' group {label!r} cannot be split into two groups joined by {SEPARATOR!r}."
                )
            pair = (parts[0], parts[1])
        pairs.append(pair)
    return pairs


def plot_intersection_heatmap(
    by_group: Any,
    metric: str,
    feature: str = "sex x race",
    *,
    small_column: str = "small",
    count_column: str = "count",
    cmap: str = "viridis",
    title: str | None = None,
) -> plt.Figure:
    """``metric`` of a two-way intersection as a heatmap: rows the first feature's groups,
    columns the second's.

    Each cell shows the value and, from ``count_column``, the group size in small text. Cells
    whose combination does not occur, or whose value is NaN, are grey; small groups (from
    ``small_column``) are marked with ``*`` and a dashed border.

    Parameters
    ----------
    by_group : DataFrame indexed by (feature, group), or a result with a ``by_group`` table.
    metric : str
        A column of ``by_group``.
    feature : str, default "sex x race"
        A two-way intersection in ``by_group`` (two feature names joined by ``" x "``). Row and
        column order follow the single features' rows in ``by_group`` when present.
    """
    table = _as_by_group(by_group)
    if metric not in table.columns:
        raise AssayInputError(f"'metric' must be a column of 'by_group' {list(table.columns)}. Got {metric!r}.")
    features = list(dict.fromkeys(table.index.get_level_values(0)))
    if feature not in features:
        raise AssayInputError(f"'feature' must be one of {features}. Got {feature!r} instead.")
    names = feature.split(SEPARATOR)
    if len(names) != 2:
        raise AssayInputError(
            f"'feature' must be a two-way intersection such as 'sex x race' (two features joined by "
            f"{SEPARATOR!r}). Got {feature!r}, which has {len(names)} feature(s)."
        )
    rows = table.xs(feature, level=0)
    known = [list(map(str, table.xs(n, level=0).index)) if n in features else None for n in names]
    pairs = _split_labels([str(g) for g in rows.index], known[0], known[1])
    order = []
    for k in range(2):
        seen = list(dict.fromkeys(p[k] for p in pairs))
        order.append([g for g in known[k] if g in seen] + [g for g in seen if g not in known[k]]
                     if known[k] is not None else sorted(seen))
    shape = (len(order[0]), len(order[1]))
    values = np.full(shape, np.nan)
    counts = np.full(shape, -1, dtype=np.int64)
    small = np.zeros(shape, dtype=bool)
    present = np.zeros(shape, dtype=bool)
    row_of = {g: i for i, g in enumerate(order[0])}
    col_of = {g: j for j, g in enumerate(order[1])}
    for (a, b), (_, row) in zip(pairs, rows.iterrows()):
        i, j = row_of[a], col_of[b]
        present[i, j] = True
        values[i, j] = float(row[metric])
        if count_column in rows:
            counts[i, j] = int(row[count_column])
        if small_column in rows:
            small[i, j] = bool(row[small_column])

    fig, ax = plt.subplots(figsize=(1.8 + 1.0 * shape[1], 1.2 + 0.6 * shape[0]))
    colormap = plt.get_cmap(cmap).with_extremes(bad=_MISSING)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low == high:
        low, high = low - 0.5, high + 0.5
    image = ax.imshow(np.ma.masked_invalid(values), cmap=colormap, vmin=low, vmax=high, aspect="auto")
    colorbar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    colorbar.set_label(metric, fontsize=8)
    for i in range(shape[0]):
        for j in range(shape[1]):
            value = values[i, j]
            if not present[i, j]:
                text, color = "no rows", "#555555"
            elif np.isnan(value):
                text, color = "n/a", "#333333"
            else:
                shade = colormap((value - low) / (high - low))
                luminance = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2]
                text, color = f"{value:.3f}" + ("*" if small[i, j] else ""), "black" if luminance > 0.5 else "white"
            ax.text(j, i - (0.12 if counts[i, j] >= 0 else 0), text, ha="center", va="center", fontsize=9, color=color)
            if counts[i, j] >= 0:
                ax.text(j, i + 0.22, f"n={counts[i, j]}", ha="center", va="center", fontsize=6.5, color=color)
            if small[i, j]:
                ax.add_patch(plt.Rectangle((j - 0.47, i - 0.47), 0.94, 0.94, fill=False, ls="--", lw=1.2,
                                           edgecolor=REFERENCE))
    ax.set_xticks(np.arange(shape[1]), order[1], rotation=30 if max(map(len, order[1])) > 6 else 0,
                  ha="right" if max(map(len, order[1])) > 6 else "center", fontsize=8)
    ax.set_yticks(np.arange(shape[0]), order[0], fontsize=8)
    ax.set_xlabel(names[1])
    ax.set_ylabel(names[0])
    note = " (* dashed: small group; grey: no rows or n/a)" if small.any() else " (grey: no rows or n/a)"
    ax.set_title(title or f"{metric} by {feature}" + note, fontsize=9)
    fig.tight_layout()
    return fig


