"""Plots of explanations: image overlays, tabular importance and summaries, per-group importance,
the randomisation sanity check and deletion/insertion curves.

Each plot reads plain arrays and tables (the ``values`` of an attribution, the frames of the
results in :mod:`assay.explain`) and imports nothing from :mod:`assay.explain`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import MAIN, PALETTE, REFERENCE, plt

__all__ = ["plot_attribution_overlay", "plot_attribution_summary", "plot_deletion_insertion", "plot_group_importance",
           "plot_importance", "plot_randomization"]


def _array(value: Any, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
    if arr.dtype.kind not in "biuf" or arr.ndim not in ndim or arr.size == 0:
        raise AssayInputError(f"'{name}' must be a non-empty numeric array with {' or '.join(map(str, ndim))} "
                              f"dimensions. Got {describe(value)}.")
    return arr.astype(np.float64)


def plot_attribution_overlay(images: Any, values: Any, *, titles: Any = None, ncols: int = 6, alpha: float = 0.55,
                             signed: bool = True) -> plt.Figure:
    """Each image in grey with its attribution map on top (summed over channels).

    ``images``/``values``: ``(n, c, h, w)`` or ``(n, h, w)`` of the same shape. ``signed``: a
    diverging map centred on 0 (red positive, blue negative); else ``|values|`` in one hue.
    """
    imgs = _array(images, "images", (3, 4))
    vals = _array(values, "values", (3, 4))
    if imgs.shape != vals.shape:
        raise AssayInputError(f"'values' must have the shape of 'images' {imgs.shape}. Got {vals.shape}.")
    if imgs.ndim == 4:
        imgs, vals = imgs.mean(1), vals.sum(1)
    n = len(imgs)
    titles = [None] * n if titles is None else list(titles)
    if len(titles) != n:
        raise AssayInputError(f"'titles' must have one entry per image ({n}). Got {len(titles)}.")
    cols = max(1, min(int(ncols), n))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.0 * rows + 0.3), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(imgs[i], cmap="gray")
        v = vals[i] if signed else np.abs(vals[i])
        scale = float(np.abs(v).max()) or 1.0
        im = ax.imshow(v, cmap="RdBu_r" if signed else "inferno", vmin=-scale if signed else 0, vmax=scale,
                       alpha=alpha)
        if titles[i] is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="attribution (each image scaled to its own max |value|)")
    return fig


def plot_importance(frame: pd.DataFrame, *, value: str | None = None, max_features: int = 20,
                    title: str | None = None) -> plt.Figure:
    """Horizontal bars of importance per feature, most important on top, with interval whiskers.

    ``frame``: columns ``feature`` and the value (``importance`` or ``mean_abs``, or ``value``),
    optionally ``lower``/``upper`` (:meth:`PermutationImportance.to_frame`, :func:`mean_abs_attribution`).
    """
    if not isinstance(frame, pd.DataFrame) or "feature" not in frame.columns:
        raise AssayInputError(f"'frame' must be a DataFrame with a 'feature' column. Got {describe(frame)}.")
    value = value or next((c for c in ("importance", "mean_abs", "value") if c in frame.columns), None)
    if value is None or value not in frame.columns:
        raise AssayInputError(f"'value' must name a column of 'frame' {list(frame.columns)}. Got {value!r}.")
    top = frame.sort_values(value, ascending=False, kind="stable").head(int(max_features))[::-1]
    fig, ax = plt.subplots(figsize=(6.0, 0.32 * len(top) + 1.0))
    err = None
    if {"lower", "upper"} <= set(top.columns):
        err = np.vstack([(top[value] - top["lower"]).clip(lower=0), (top["upper"] - top[value]).clip(lower=0)])
        err = np.nan_to_num(err)
    ax.barh(top["feature"].astype(str), top[value], xerr=err, color=MAIN, ecolor="#333333", capsize=2)
    ax.axvline(0, color="#666666", linewidth=0.8)
    ax.set_xlabel(value.replace("_", " "))
    ax.set_title(title or "Feature importance", fontsize=10)
    return fig


def plot_attribution_summary(values: Any, feature_values: Any = None, *, feature_names: Any = None,
                             max_features: int = 15, random_state: int = 0) -> plt.Figure:
    """Beeswarm-like summary: one row per feature (by mean |attribution|), one dot per example.

    The x position is the attribution (jittered vertically); the colour is the feature's value
    scaled to [0, 1] within the feature (``feature_values`` numeric, same shape), else blue.
    """
    vals = _array(values, "values", (2,))
    names = [f"x{j}" for j in range(vals.shape[1])] if feature_names is None else [str(f) for f in feature_names]
    if len(names) != vals.shape[1]:
        raise AssayInputError(f"'feature_names' must have {vals.shape[1]} names. Got {len(names)}.")
    colours = None
    if feature_values is not None:
        fv = feature_values.to_numpy() if isinstance(feature_values, pd.DataFrame) else np.asarray(feature_values)
        if fv.shape != vals.shape:
            raise AssayInputError(f"'feature_values' must have the shape of 'values' {vals.shape}. Got {fv.shape}.")
        colours = np.full(vals.shape, np.nan)
        for j in range(fv.shape[1]):
            col = pd.to_numeric(pd.Series(fv[:, j]), errors="coerce").to_numpy(dtype=float)
            lo, hi = np.nanmin(col) if np.isfinite(col).any() else 0, np.nanmax(col) if np.isfinite(col).any() else 0
            colours[:, j] = (col - lo) / (hi - lo) if hi > lo else 0.5
    order = np.argsort(-np.abs(vals).mean(0), kind="stable")[: int(max_features)][::-1]
    rng = np.random.default_rng(random_state)
    fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(order) + 1.2))
    for row, j in enumerate(order):
        y = row + rng.uniform(-0.3, 0.3, len(vals))
        if colours is None:
            ax.scatter(vals[:, j], y, s=6, color=MAIN, alpha=0.6, linewidths=0)
        else:
            sc = ax.scatter(vals[:, j], y, s=6, c=colours[:, j], cmap="coolwarm", vmin=0, vmax=1, alpha=0.8,
                            linewidths=0)
    if colours is not None:
        fig.colorbar(sc, ax=ax, label="feature value (low to high)")
    ax.set_yticks(range(len(order)), [names[j] for j in order])
    ax.axvline(0, color="#666666", linewidth=0.8)
    ax.set_xlabel("attribution")
    ax.set_title("Attributions per feature (one dot per example)", fontsize=10)
    return fig


def plot_group_importance(by_group: Any, *, feature: str | None = None, features: Any = None, ci: Any = None,
                          max_features: int = 10, min_group_size: int | None = None) -> plt.Figure:
    """Mean |attribution| per feature, one bar per group of ``feature`` side by side, with intervals.

    ``by_group``: a (sensitive feature, group) x features table (``GroupAttributions.table`` or its
    ``by_group``); ``ci``: its interval table (default: the result's ``ci``). Small groups hatched.
    """
    table = getattr(by_group, "by_group", by_group)
    ci = getattr(by_group, "ci", None) if ci is None else ci
    if not isinstance(table, pd.DataFrame) or table.index.nlevels != 2:
        raise AssayInputError(f"'by_group' must be a table indexed by (feature, group) or a GroupedMetrics. "
                              f"Got {describe(by_group)}.")
    sensitive = list(dict.fromkeys(table.index.get_level_values(0)))
    feature = feature or next((f for f in sensitive if " x " not in str(f)), sensitive[0])
    if feature not in sensitive:
        raise AssayInputError(f"'feature' {feature!r} is not in the table; it holds {sensitive}.")
    part = table.xs(feature, level=0)
    names = [c for c in part.columns if c not in ("count", "small")] if features is None else list(features)
    missing = [f for f in names if f not in part.columns]
    if missing:
        raise AssayInputError(f"'features' {missing} are not columns of the table {list(part.columns)[:8]}.")
    names = sorted(names, key=lambda f: -float(part[f].astype(float).max()))[: int(max_features)]
    groups = list(part.index)
    width = 0.8 / max(1, len(groups))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(names) + 2), 3.6))
    x = np.arange(len(names))
    for g, group in enumerate(groups):
        heights = part.loc[group, names].astype(float).to_numpy()
        err = None
        if ci is not None:
            sub = ci.xs(feature, level=0)
            lo = np.array([sub.loc[group, (f, "lower")] for f in names], dtype=float)
            hi = np.array([sub.loc[group, (f, "upper")] for f in names], dtype=float)
            err = np.nan_to_num(np.vstack([(heights - lo).clip(0), (hi - heights).clip(0)]))
        small = bool(part.loc[group, "small"]) if "small" in part.columns else False
        ax.bar(x + (g - (len(groups) - 1) / 2) * width, heights, width, yerr=err, capsize=2,
               color=PALETTE[g % len(PALETTE)], hatch="///" if small else None, edgecolor="white",
               label=f"{group}" + (" (small)" if small else ""))
    ax.set_xticks(x, [str(n) for n in names], rotation=30, ha="right")
    ax.set_ylabel("mean |attribution|")
    ax.set_title(f"Feature importance by {feature}", fontsize=10)
    ax.legend(fontsize=8, title=str(feature), title_fontsize=8)
    return fig


def plot_randomization(tests: Any) -> plt.Figure:
    """The cascading randomisation panel: mean rank correlation with the original maps vs the layers
    randomised (top first), one line per method, with 2.5-97.5% bands.

    ``tests``: a dict method -> table (``RandomizationTest.table``: ``step``, ``mean``, ``lower``,
    ``upper``) or -> a result with a ``table``; or one such table.
    """
    if isinstance(tests, pd.DataFrame) or hasattr(tests, "table"):
        tests = {getattr(tests, "method", "method"): tests}
    if not isinstance(tests, dict) or not tests:
        raise AssayInputError(f"'tests' must be a dict method -> randomisation table. Got {describe(tests)}.")
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for i, (name, table) in enumerate(tests.items()):
        table = getattr(table, "table", table)
        if not isinstance(table, pd.DataFrame) or not {"step", "mean"} <= set(table.columns):
            raise AssayInputError(f"'tests'[{name!r}] must be a table with columns 'step' and 'mean'. "
                                  f"Got {describe(table)}.")
        x = np.arange(len(table))
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(x, table["mean"].astype(float), marker="o", color=colour, label=str(name))
        if {"lower", "upper"} <= set(table.columns):
            ax.fill_between(x, table["lower"].astype(float), table["upper"].astype(float), color=colour, alpha=0.15)
        ax.set_xticks(x, [str(s) for s in table["step"]], rotation=30, ha="right")
    ax.axhline(0, color=REFERENCE, linestyle="--", linewidth=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("layers randomised (cascading, from the top)")
    ax.set_ylabel("Spearman rank correlation")
    ax.set_title("Model-parameter randomisation test", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def plot_deletion_insertion(fractions: Any, curves: Any) -> plt.Figure:
    """Mean deletion (solid) and insertion (dashed) curves per method, with their mean areas in the legend.

    ``curves``: dict method -> ``(deletion (n, s+1), insertion (n, s+1))`` or a result with
    ``deletion`` and ``insertion``; ``fractions (s+1,)`` of the features moved.
    """
    frac = _array(fractions, "fractions", (1,))
    if not isinstance(curves, dict) or not curves:
        raise AssayInputError(f"'curves' must be a dict method -> (deletion, insertion). Got {describe(curves)}.")
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for i, (name, pair) in enumerate(curves.items()):
        deletion, insertion = (pair.deletion, pair.insertion) if hasattr(pair, "deletion") else pair
        deletion, insertion = _array(deletion, "deletion", (2,)), _array(insertion, "insertion", (2,))
        if deletion.shape[1] != len(frac) or insertion.shape[1] != len(frac):
            raise AssayInputError(f"'curves'[{name!r}] must have {len(frac)} columns (one per fraction). "
                                  f"Got {deletion.shape} and {insertion.shape}.")
        colour = PALETTE[i % len(PALETTE)]
        d, s = deletion.mean(0), insertion.mean(0)
        ax.plot(frac, d, color=colour, label=f"{name}: deletion (AUC {np.trapezoid(d, frac):.3f})")
        ax.plot(frac, s, color=colour, linestyle="--", label=f"{name}: insertion (AUC {np.trapezoid(s, frac):.3f})")
    ax.set_xlabel("fraction of features moved (most important first)")
    ax.set_ylabel("target score")
    ax.set_title("Deletion and insertion curves", fontsize=10)
    ax.legend(fontsize=7)
    return fig
