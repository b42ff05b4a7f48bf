"""Figures built from results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..core.errors import AssayInputError  # noqa: E402
from ..core.validation import describe  # noqa: E402
from ..metrics.thresholds import GAP_ALIASES, GAPS, ThresholdSweep  # noqa: E402


def figure_to_png(fig: plt.Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


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
        colors = ["#b8c4d6" if s else "#3b6ea8" for s in small]
        bars = ax.barh(y, np.nan_to_num(values), color=colors, height=0.7)
        for bar, s in zip(bars, small):
            if s:
                bar.set_hatch("//")
        ends = np.nan_to_num(values)  # where each value's label goes: after its bar (and interval)
        if bounds is not None:
            lower, upper = (b.xs(feature, level=0).reindex(rows.index).to_numpy(float) for b in bounds)
            _draw_interval(ax, values, y, lower, upper)
            ends = np.where(np.isfinite(values) & np.isfinite(upper), np.fmax(ends, upper), ends)
        for yi, value, end in zip(y, values, ends):
            ax.text(end, yi, "  n/a" if np.isnan(value) else f" {value:.3f}", va="center", fontsize=8)
        if overall is not None and np.isfinite(overall):
            ax.axvline(overall, color="#c0392b", ls="--", lw=1, label="overall")
        ax.set_yticks(y, [str(g) for g in rows.index])
        ax.invert_yaxis()
        ax.set_title(feature, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel(xlabel or metric)
    if overall is not None:
        axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle(title or f"{metric} by group (hatched: small group)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_reliability_diagram(
    bin_confidence: np.ndarray,
    bin_accuracy: np.ndarray,
    bin_count: np.ndarray,
    *,
    bin_lower: np.ndarray | None = None,
    bin_upper: np.ndarray | None = None,
    label: str = "model",
    title: str = "Reliability diagram",
) -> plt.Figure:
    """Accuracy against confidence per bin, with the diagonal of perfect calibration, and the
    share of examples per bin underneath.

    All arrays have shape ``(n_bins,)``; empty bins (count 0) are skipped. Marker area is
    proportional to the bin's share of examples. ``bin_lower`` / ``bin_upper`` (e.g. from
    :func:`assay.metrics.wilson_interval` on each bin's hits and count) draw an interval per bin,
    so a bin of two examples does not read like a bin of two thousand.
    """
    conf, acc, count = (np.asarray(a, dtype=float) for a in (bin_confidence, bin_accuracy, bin_count))
    bounds = {"bin_lower": bin_lower, "bin_upper": bin_upper}
    shapes = {"bin_confidence": conf.shape, "bin_accuracy": acc.shape, "bin_count": count.shape} | {
        k: np.shape(v) for k, v in bounds.items() if v is not None}
    if len(set(shapes.values())) > 1 or conf.ndim != 1:
        raise AssayInputError("The bin arrays must be 1-D with one value per bin. Got shapes "
                              + ", ".join(f"{k}: {v}" for k, v in shapes.items()) + ".")
    if (bin_lower is None) != (bin_upper is None):
        raise AssayInputError("'bin_lower' and 'bin_upper' go together: pass both or neither.")
    keep = count > 0
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(4.6, 5.2), sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfect calibration")
    ax.scatter(conf[keep], acc[keep], s=20 + 400 * count[keep] / max(count.sum(), 1), color="#3b6ea8",
               alpha=0.8, label=label, zorder=3)
    ax.plot(conf[keep], acc[keep], "-", color="#3b6ea8", lw=1)
    if bin_lower is not None and bin_upper is not None:
        lower, upper = (np.asarray(b, dtype=float)[keep] for b in (bin_lower, bin_upper))
        y = acc[keep]
        ax.errorbar(conf[keep], y, yerr=np.vstack([np.clip(y - lower, 0, None), np.clip(upper - y, 0, None)]),
                    fmt="none", ecolor="#3b6ea8", elinewidth=0.8, capsize=2, alpha=0.7, label="95% interval")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed frequency")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    share = count / max(count.sum(), 1)
    width = 1.0 / max(len(count), 1)
    hist.bar(conf[keep], share[keep], width=width * 0.8, color="#9fb6d3")
    hist.set_ylabel("share", fontsize=8)
    hist.set_xlabel("mean predicted probability")
    hist.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Shared input handling
# ---------------------------------------------------------------------------------------------

_SEPARATOR = " x "  # joins the features of an intersection ("sex x race") and its group labels
_BAR = "#3b6ea8"
_BAR_SMALL = "#b8c4d6"
_MISSING = "#d9d9d9"
_GAP_LABELS = {"one_minus_di": "1 - DI", "disparate_impact": "DI"}


def _as_by_group(by_group: Any, name: str = "by_group") -> pd.DataFrame:
    """A (feature, group) table: the DataFrame itself, or the ``by_group`` table of a result."""
    table = getattr(by_group, "by_group", by_group)
    if not isinstance(table, pd.DataFrame) or table.index.nlevels != 2:
        raise AssayInputError(
            f"'{name}' must be a DataFrame indexed by (feature, group), or a result with such a "
            f"'by_group' table (e.g. GroupedMetrics). Got {describe(by_group)} instead."
        )
    return table


def _ci_bounds(ci: Any, metric: str, index: pd.Index) -> tuple[pd.Series, pd.Series] | None:
    """``(lower, upper)`` of ``metric`` aligned to ``index``, from the CI layouts accepted."""
    if ci is None:
        return None
    if not isinstance(ci, pd.DataFrame):
        raise AssayInputError(f"'ci' must be a DataFrame with columns 'lower' and 'upper'. Got {describe(ci)} instead.")
    columns = ci.columns
    candidates = [(f"{metric}_lower", f"{metric}_upper"), ("lower", "upper")]
    if columns.nlevels == 2:
        candidates.insert(0, ((metric, "lower"), (metric, "upper")))
    for low, high in candidates:
        if low in columns and high in columns:
            lower = ci[low].astype(float).reindex(index)
            upper = ci[high].astype(float).reindex(index)
            return lower, upper
    raise AssayInputError(
        f"'ci' must have columns 'lower' and 'upper' (or ({metric!r}, 'lower'), or '{metric}_lower', "
        f"with their 'upper'). Got columns {list(columns)}."
    )


def _draw_interval(ax: Any, centre: np.ndarray, y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
    """Horizontal error bars from ``lower`` to ``upper``; rows with a NaN are skipped."""
    keep = np.isfinite(centre) & np.isfinite(lower) & np.isfinite(upper)
    if keep.any():
        err = np.vstack([centre[keep] - lower[keep], upper[keep] - centre[keep]])
        ax.errorbar(centre[keep], y[keep], xerr=np.clip(err, 0, None), fmt="none", ecolor="black",
                    capsize=2, lw=1)


def _check_features(table: pd.DataFrame, feature: Any) -> list[str]:
    features = list(dict.fromkeys(table.index.get_level_values(0)))
    wanted = features if feature is None else [feature] if isinstance(feature, str) else list(feature)
    unknown = [f for f in wanted if f not in features]
    if unknown or not wanted:
        raise AssayInputError(f"'feature' must be one of {features} (or None for all). Got {feature!r} instead.")
    return wanted


def _check_bool(value: Any, name: str, owner: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise AssayInputError(f"The '{name}' parameter of {owner} must be a bool. Got {value!r} instead.")
    return bool(value)


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
    left_color, right_color = "#3b6ea8", "#c0392b"
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
    higher = _check_bool(higher_is_better, "higher_is_better", owner)
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
                bar.set_hatch("//")
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
    fig.suptitle(title or f"{metric}: gap to the best group (hatched: small group)", fontsize=10)
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
                rest = label[len(a) + len(_SEPARATOR):]
                if label.startswith(a + _SEPARATOR) and rest in second:
                    pair = (a, rest)
                    break
        if pair is None:
            parts = label.split(_SEPARATOR)
            if len(parts) != 2:
                raise AssayInputError(
                    f"'by_group' group {label!r} cannot be split into two groups joined by {_SEPARATOR!r}."
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
    names = feature.split(_SEPARATOR)
    if len(names) != 2:
        raise AssayInputError(
            f"'feature' must be a two-way intersection such as 'sex x race' (two features joined by "
            f"{_SEPARATOR!r}). Got {feature!r}, which has {len(names)} feature(s)."
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
                                           edgecolor="#c0392b"))
    ax.set_xticks(np.arange(shape[1]), order[1], rotation=30 if max(map(len, order[1])) > 6 else 0,
                  ha="right" if max(map(len, order[1])) > 6 else "center", fontsize=8)
    ax.set_yticks(np.arange(shape[0]), order[0], fontsize=8)
    ax.set_xlabel(names[1])
    ax.set_ylabel(names[0])
    note = " (* dashed: small group; grey: no rows or n/a)" if small.any() else " (grey: no rows or n/a)"
    ax.set_title(title or f"{metric} by {feature}" + note, fontsize=9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Out-of-distribution detection
# ---------------------------------------------------------------------------------------------

from collections.abc import Mapping  # noqa: E402

from ..core.validation import as_array, check_option, check_scalar  # noqa: E402

_IN_COLOR = "#3b6ea8"
_THRESHOLD_COLOR = "black"


def _ood_colors(n: int) -> list[Any]:
    """Distinct colours for OOD sets or detectors (never the in-distribution blue)."""
    cmap = plt.get_cmap("tab10")
    return [cmap((i + 1) % 10) for i in range(n)]


def plot_ood_score_density(
    scores_in: Any,
    scores_out: Mapping[str, Any],
    *,
    threshold: float | None = None,
    title: str = "OOD score density",
    n_grid: int = 256,
) -> plt.Figure:
    """Kernel density of the OOD score: in-distribution against each OOD set.

    Parameters
    ----------
    scores_in : array-like of shape (n_in,)
        OOD scores (higher = more OOD) of in-distribution inputs; finite, at least 2.
    scores_out : mapping of str to array-like
        OOD set name -> scores (at least 2 each).
    threshold : float, optional
        Drawn as a vertical line (inputs to its right are rejected as OOD).
    n_grid : int, default 256
        Points at which each density is evaluated.

    One line per data set (Gaussian KDE, ``scipy.stats.gaussian_kde``, Scott's bandwidth),
    evaluated on a common grid spanning every score; a set whose scores are all equal (no
    density) is drawn as a dashed vertical line at that value. Plus the threshold line.
    """
    from scipy.stats import gaussian_kde

    owner = "plot_ood_score_density"
    s_in = as_array(scores_in, name="scores_in", ndim=1, dtype=np.float64, min_samples=2)
    if not isinstance(scores_out, Mapping) or not scores_out:
        raise AssayInputError(
            f"'scores_out' must be a non-empty mapping of OOD set name -> scores. Got {describe(scores_out)} instead."
        )
    sets = {str(k): as_array(v, name=f"scores_out[{k!r}]", ndim=1, dtype=np.float64, min_samples=2)
            for k, v in scores_out.items()}
    check_scalar(n_grid, "n_grid", owner=owner, kind=(int, np.integer), low=2)
    if threshold is not None:
        check_scalar(threshold, "threshold", owner=owner, kind=(int, float, np.number), low=-np.inf, high=np.inf,
                     closed="neither")
    everything = np.concatenate([s_in, *sets.values()])
    low, high = float(everything.min()), float(everything.max())
    if threshold is not None:
        low, high = min(low, float(threshold)), max(high, float(threshold))
    span = high - low if high > low else 1.0
    grid = np.linspace(low - 0.1 * span, high + 0.1 * span, int(n_grid))
    fig, ax = plt.subplots(figsize=(7, 4))
    series = [("in-distribution", s_in, _IN_COLOR)] + [
        (name, values, color) for (name, values), color in zip(sets.items(), _ood_colors(len(sets)))
    ]
    for name, values, color in series:
        label = f"{name} (n={len(values)})"
        if np.ptp(values) == 0:
            ax.axvline(values[0], color=color, ls="--", lw=1.4, label=label + ", constant")
            continue
        density = gaussian_kde(values)(grid)
        ax.plot(grid, density, color=color, lw=1.6, label=label)
        ax.fill_between(grid, density, color=color, alpha=0.12)
    if threshold is not None:
        ax.axvline(float(threshold), color=_THRESHOLD_COLOR, ls=":", lw=1.4,
                   label=f"threshold {float(threshold):.4g} (reject to the right)")
    ax.set_xlabel("OOD score (higher = more out-of-distribution)")
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _roc_curves(evaluation_or_curves: Any) -> tuple[dict[str, dict[str, dict[str, Any]]], Any]:
    """(curves, table or None) from an OODEvaluation, its ``to_dict()``, or a curves mapping."""
    source = evaluation_or_curves
    table = getattr(source, "table", None)
    curves = getattr(source, "curves", None)
    if curves is None and isinstance(source, Mapping):
        curves = source.get("curves", source) if "curves" in source else source
        if isinstance(source.get("table"), pd.DataFrame):  # {"curves": ..., "table": DataFrame}
            table = source["table"]
    ok = isinstance(curves, Mapping) and curves and all(
        isinstance(sets, Mapping) and sets and all(
            isinstance(c, Mapping) and "fpr" in c and "tpr" in c for c in sets.values())
        for sets in curves.values()
    )
    if not ok:
        raise AssayInputError(
            "'evaluation_or_curves' must be an OODEvaluation or a mapping {detector: {ood_set: "
            f"{{'fpr': [...], 'tpr': [...]}}}}. Got {describe(evaluation_or_curves)} instead."
        )
    return curves, table if isinstance(table, pd.DataFrame) else None


def plot_ood_roc(evaluation_or_curves: Any, *, ood_set: str | Sequence[str] | None = None,
                 title: str | None = None, ncols: int = 3) -> plt.Figure:
    """ROC curves of OOD detection (OOD positive): one panel per OOD set, one line per detector.

    Parameters
    ----------
    evaluation_or_curves : OODEvaluation or mapping
        From :func:`assay.ood.evaluate_scores` (legend shows each AUROC), or its ``curves``:
        ``{detector: {ood_set: {"fpr": [...], "tpr": [...]}}}``.
    ood_set : str or list of str, optional
        The OOD sets to draw (default: all).
    ncols : int, default 3
        Panels per row.

    Each panel also has the chance diagonal (a dashed line). x: share of in-distribution inputs
    flagged (FPR); y: share of OOD inputs flagged (TPR).
    """
    curves, table = _roc_curves(evaluation_or_curves)
    detectors = list(curves)
    all_sets = list(dict.fromkeys(s for d in detectors for s in curves[d]))
    wanted = all_sets if ood_set is None else [ood_set] if isinstance(ood_set, str) else list(ood_set)
    unknown = [s for s in wanted if s not in all_sets]
    if unknown or not wanted:
        raise AssayInputError(f"'ood_set' must be one of {all_sets} (or None for all). Got {ood_set!r} instead.")
    check_scalar(ncols, "ncols", owner="plot_ood_roc", kind=(int, np.integer), low=1)
    cols = min(int(ncols), len(wanted))
    rows = -(-len(wanted) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols + 0.4, 4.2 * rows + 0.3), squeeze=False)
    for ax in axes.ravel()[len(wanted):]:
        ax.set_visible(False)
    for ax, name in zip(axes.ravel(), wanted):
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance")
        for detector, color in zip(detectors, _ood_colors(len(detectors))):
            if name not in curves[detector]:
                continue
            points = curves[detector][name]
            label = detector
            if table is not None and "auroc" in table:
                row = table[(table["detector"] == detector) & (table["ood_set"] == name)]
                if len(row):
                    label = f"{detector} (AUROC {float(row['auroc'].iloc[0]):.3f})"
            ax.plot(np.asarray(points["fpr"], dtype=float), np.asarray(points["tpr"], dtype=float), color=color,
                    lw=1.6, label=label)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_aspect("equal")
        ax.set_xlabel("in-distribution flagged (FPR)")
        ax.set_ylabel("OOD flagged (TPR)")
        ax.set_title(name, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title or "OOD detection ROC", fontsize=10)
    fig.tight_layout()
    return fig


def plot_risk_coverage(selective_result: Any, *, title: str = "Risk-coverage",
                       accuracy: bool = False) -> plt.Figure:
    """Risk (error rate on accepted inputs) against coverage (share accepted).

    Parameters
    ----------
    selective_result : SelectivePrediction or mapping of str to SelectivePrediction
        From :func:`assay.ood.thresholds.selective_prediction`; a mapping draws one line per
        entry (e.g. one per detector or confidence score), labelled with its AURC.
    accuracy : bool, default False
        Draw accuracy instead of risk (the accuracy-coverage curve; legend shows its area).

    Each curve also gets a dotted horizontal line at its risk (or accuracy) at full coverage,
    the value without abstention. Lines: two per curve.
    """
    _check_bool(accuracy, "accuracy", "plot_risk_coverage")
    results = dict(selective_result) if isinstance(selective_result, Mapping) else {"model": selective_result}
    for name, result in results.items():
        if not all(hasattr(result, a) for a in ("coverage", "risk", "aurc", "aacc")):
            raise AssayInputError(
                "'selective_result' must be a SelectivePrediction (from selective_prediction) or a mapping "
                f"of names to them. Got {describe(result)} for {name!r}."
            )
    if not results:
        raise AssayInputError("'selective_result' must not be an empty mapping.")
    fig, ax = plt.subplots(figsize=(6, 4))
    colors = [_IN_COLOR] if len(results) == 1 else _ood_colors(len(results))
    for (name, result), color in zip(results.items(), colors):
        coverage = np.asarray(result.coverage, dtype=float)
        values = np.asarray(result.accuracy if accuracy else result.risk, dtype=float)
        area = result.aacc if accuracy else result.aurc
        label = f"{name} ({'AUC' if accuracy else 'AURC'} {area:.3f})"
        ax.plot(coverage, values, color=color, lw=1.6, label=label)
        ax.axhline(values[-1], color=color, ls=":", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("coverage (share of inputs accepted)")
    ax.set_ylabel("accuracy on accepted inputs" if accuracy else "risk (error rate on accepted inputs)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_embedding_projection(
    embeddings: Any,
    *,
    is_ood: Any,
    labels: Any = None,
    method: str = "pca",
    random_state: int = 0,
    max_points: int = 2000,
    title: str | None = None,
) -> plt.Figure:
    """2-D projection of embeddings, in-distribution against OOD inputs.

    Parameters
    ----------
    embeddings : array-like of shape (n, d)
        Feature vectors (e.g. penultimate-layer activations), ``d >= 2``; finite.
    is_ood : array-like of bool, shape (n,)
        Whether each input is out of distribution (drawn as crosses).
    labels : array-like of shape (n,), optional
        Class of each in-distribution input (coloured by it) and name of each OOD input's set
        (one colour of cross per set).
    method : {"pca", "tsne", "umap"}, default "pca"
        See :func:`assay.ood.project_embeddings`; UMAP needs the ``umap-learn`` package.
    random_state : int, default 0
        Seed of the subsample and of the projection.
    max_points : int, default 2000
        At most this many points are projected and drawn (a seeded uniform subsample).
    """
    from ..ood.projection import PROJECTIONS, project_embeddings

    owner = "plot_embedding_projection"
    X = as_array(embeddings, name="embeddings", ndim=2, dtype=np.float64, min_samples=3)
    if X.shape[1] < 2:
        raise AssayInputError(f"'embeddings' must have at least 2 columns. Got shape {X.shape}.")
    ood, lab = _projection_marks(is_ood, labels, len(X))
    check_option(method, "method", owner=owner, options=PROJECTIONS)
    check_scalar(random_state, "random_state", owner=owner, kind=(int, np.integer), low=0)
    check_scalar(max_points, "max_points", owner=owner, kind=(int, np.integer), low=3)
    if len(X) > max_points:
        keep = np.sort(np.random.default_rng(random_state).choice(len(X), size=int(max_points), replace=False))
        X, ood = X[keep], ood[keep]
        lab = None if lab is None else lab[keep]
    projection = project_embeddings(X, method=method, random_state=random_state)
    return plot_projection(projection.points, is_ood=ood, labels=lab, axis_labels=projection.axis_labels,
                           title=title or f"Embeddings ({method.upper() if method == 'pca' else method}), "
                                          f"{len(X)} points")


def _projection_marks(is_ood: Any, labels: Any, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    ood = as_array(is_ood, name="is_ood", ndim=1)
    if ood.dtype != bool:
        if not np.isin(ood, (0, 1)).all():
            raise AssayInputError(f"'is_ood' must hold booleans (or 0/1). Got {describe(ood)}.")
        ood = ood.astype(bool)
    lab = None if labels is None else as_array(labels, name="labels", ndim=1, allow_nan=True)
    lengths = {"points": n, "is_ood": len(ood)} | ({} if lab is None else {"labels": len(lab)})
    if len(set(lengths.values())) > 1:
        raise AssayInputError("Inputs must have the same number of rows. Got "
                              + ", ".join(f"{k}: {v}" for k, v in lengths.items()) + ".")
    return ood, lab


def _sorted_values(values: np.ndarray) -> list:
    found = list(pd.unique(values))
    try:
        return sorted(found)
    except TypeError:
        return sorted(found, key=str)


def plot_projection(points: Any, *, is_ood: Any, labels: Any = None,
                    axis_labels: Sequence[str] = ("1", "2"), title: str | None = None) -> plt.Figure:
    """Draw 2-D points (from :func:`assay.ood.project_embeddings`): in-distribution as dots,
    OOD as crosses.

    Parameters
    ----------
    points : array-like of shape (n, 2)
    is_ood : array-like of bool, shape (n,)
    labels : array-like of shape (n,), optional
        In-distribution points are coloured by it (e.g. their class); OOD points are grouped by
        it (e.g. their OOD set), one colour of cross per value. Without it: one colour each.
    axis_labels : (str, str)
    title : str, optional

    One scatter collection per in-distribution label (one without ``labels``), then one per OOD
    label (one without).
    """
    P = as_array(points, name="points", ndim=2, dtype=np.float64)
    if P.shape[1] != 2:
        raise AssayInputError(f"'points' must have 2 columns. Got shape {P.shape}.")
    ood, lab = _projection_marks(is_ood, labels, len(P))
    fig, ax = plt.subplots(figsize=(6.4, 5))
    inside = ~ood
    if lab is None:
        if inside.any():
            ax.scatter(P[inside, 0], P[inside, 1], s=8, color=_IN_COLOR, alpha=0.6,
                       label=f"in-distribution (n={int(inside.sum())})")
    else:
        classes = _sorted_values(lab[inside])
        cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for i, c in enumerate(classes):
            rows = inside & (lab == c)
            ax.scatter(P[rows, 0], P[rows, 1], s=8, color=cmap(i % cmap.N), alpha=0.6,
                       label=f"{c} (n={int(rows.sum())})")
    if ood.any():
        sets = [None] if lab is None else _sorted_values(lab[ood])
        greys = ["#333333", "#b5472c", "#6b4fa0", "#2c8c6e", "#a07d1c", "#888888", "#c2185b", "#00838f"]
        for i, name in enumerate(sets):
            rows = ood if name is None else ood & (lab == name)
            text = "OOD" if name is None else f"OOD: {name}"
            ax.scatter(P[rows, 0], P[rows, 1], s=14, marker="x", color=greys[i % len(greys)], alpha=0.8,
                       linewidths=0.8, label=f"{text} (n={int(rows.sum())})")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, markerscale=1.5)
    ax.set_title(title or f"{len(P)} points", fontsize=10)
    fig.tight_layout()
    return fig
