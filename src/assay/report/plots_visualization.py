"""Plots of what a class responds to: feature visualizations per class, the class-entanglement heat map, and
prototypes/criticisms of image data.

Each plot reads plain arrays and tables (the fields of :class:`assay.explain.VisualizationResult`, the
matrices of :class:`assay.explain.EntanglementResult`, the table of :class:`assay.explain.PrototypeResult`)
and imports nothing from :mod:`assay.explain`. Prototypes of tabular data are a table, not a plot:
``PrototypeResult.with_rows(X)`` (the selections joined with their rows of ``X``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import plt

__all__ = ["plot_entanglement", "plot_feature_visualizations", "plot_prototypes"]


def _images(value: Any, name: str = "images") -> np.ndarray:
    """``(n, h, w)`` grey or ``(n, h, w, 3)`` colour images from ``(n, c, h, w)`` or ``(n, h, w)``."""
    arr = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
    if arr.dtype.kind not in "biuf" or arr.ndim not in (3, 4) or not len(arr):
        raise AssayInputError(f"'{name}' must be a non-empty numeric array (n, c, h, w) or (n, h, w). "
                              f"Got {describe(value)}.")
    arr = arr.astype(np.float64)
    if arr.ndim == 4:
        arr = arr.transpose(0, 2, 3, 1) if arr.shape[1] == 3 else arr.mean(1)
    return arr


def _show(ax, image, vmin, vmax):
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_feature_visualizations(images: Any, target: Any, probabilities: Any = None, *, ncols: int = 10,
                                clip: Any = (0.0, 1.0), title: str = "Feature visualization per class") -> plt.Figure:
    """A grid of optimised inputs, each titled with its class and the model's probability of that class.

    ``images`` ``(n, c, h, w)`` or ``(n, h, w)`` (``VisualizationResult.images``); ``target`` ``(n,)``, the
    class each was optimised for; ``probabilities`` ``(n, k)`` (``VisualizationResult.probabilities``; None:
    titles show only the class). ``clip``: the grey scale's range (None: each image's own).
    """
    imgs = _images(images)
    t = np.asarray(target)
    if t.shape != (len(imgs),):
        raise AssayInputError(f"'target' must have one class per image ({len(imgs)}). Got shape {t.shape}.")
    p = None
    if probabilities is not None:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim != 2 or len(p) != len(imgs) or t.min() < 0 or t.max() >= p.shape[1]:
            raise AssayInputError(f"'probabilities' must be (n, k) with n = {len(imgs)} and every target < k. "
                                  f"Got shape {p.shape}.")
    cols = max(1, min(int(ncols), len(imgs)))
    rows = -(-len(imgs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.25 * cols + 0.3, 1.45 * rows + 0.5), squeeze=False)
    vmin, vmax = (None, None) if clip is None else clip
    for i, ax in enumerate(axes.ravel()):
        if i >= len(imgs):
            ax.axis("off")
            continue
        _show(ax, imgs[i], vmin, vmax)
        label = f"class {t[i]}" if p is None else f"{t[i]}: p={p[i, t[i]]:.2f}"
        ax.set_title(label, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_entanglement(matrix: Any, *, value: str = "probability", title: str | None = None) -> plt.Figure:
    """Heat map of how much optimising class A (rows) raises class B (columns), annotated.

    ``matrix``: an :class:`EntanglementResult` (its ``value`` matrix: ``"probability"`` or ``"logit_gain"``)
    or a square DataFrame.
    """
    if not isinstance(matrix, pd.DataFrame):
        if value not in ("probability", "logit_gain") or not isinstance(getattr(matrix, value, None), pd.DataFrame):
            raise AssayInputError(f"'matrix' must be an EntanglementResult or a DataFrame (rows: optimised class, "
                                  f"columns: class), and 'value' 'probability' or 'logit_gain'. Got "
                                  f"{describe(matrix)} and {value!r}.")
        matrix = getattr(matrix, value)
    data = matrix.to_numpy(dtype=np.float64)
    n_rows, n_cols = data.shape
    fig, ax = plt.subplots(figsize=(0.55 * n_cols + 2.2, 0.5 * n_rows + 1.4))
    if value == "probability":
        im = ax.imshow(data, cmap="Blues", vmin=0, vmax=1)
    else:
        scale = float(np.nanmax(np.abs(data))) or 1.0
        im = ax.imshow(data, cmap="RdBu_r", vmin=-scale, vmax=scale)
    ax.set_xticks(range(n_cols), [str(c) for c in matrix.columns], fontsize=8)
    ax.set_yticks(range(n_rows), [str(r) for r in matrix.index], fontsize=8)
    ax.set_xlabel("class")
    ax.set_ylabel("optimised class")
    high = np.nanmax(np.abs(data)) if data.size else 1.0
    for i in range(n_rows):
        for j in range(n_cols):
            ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if abs(data[i, j]) > 0.6 * high else "black")
    fig.colorbar(im, ax=ax, shrink=0.8, label="probability" if value == "probability" else "logit gain")
    ax.set_title(title or ("Class entanglement: probability of each class at the visualization of another"
                           if value == "probability" else "Class entanglement: logit gain"), fontsize=9)
    fig.tight_layout()
    return fig


def plot_prototypes(images: Any, table: Any, *, max_per_row: int = 8, feature: str = "overall",
                    group: Any = "overall", title: str = "Prototypes and criticisms") -> plt.Figure:
    """Image grid: for each class, a row of prototypes then a row of criticisms (in selection order).

    ``images``: the ``X`` given to ``MMDCritic.fit`` ``(n, c, h, w)`` or ``(n, h, w)``; ``table``: its
    ``result_`` or ``result_.to_frame()``; ``feature``/``group`` choose the cell (default the whole data).
    Prototypes are titled with the cell's MMD^2 after them, criticisms with their witness value.
    """
    imgs = _images(images)
    frame = table.to_frame() if hasattr(table, "to_frame") else table
    needed = {"feature", "group", "class", "kind", "rank", "position"}
    if not isinstance(frame, pd.DataFrame) or not needed <= set(frame.columns):
        raise AssayInputError(f"'table' must be a PrototypeResult or its to_frame() with columns {sorted(needed)}. "
                              f"Got {describe(table)}.")
    cell = frame[(frame["feature"] == feature) & (frame["group"] == group)]
    if cell.empty:
        raise AssayInputError(f"'feature'/'group' must name a cell of 'table'. Got {feature!r}/{group!r}; cells: "
                              f"{sorted({(str(f), str(g)) for f, g in zip(frame['feature'], frame['group'])})[:10]}.")
    if int(cell["position"].max()) >= len(imgs):
        raise AssayInputError(f"'images' must be the X the table was fitted on: the table has position "
                              f"{int(cell['position'].max())}, 'images' has {len(imgs)} rows.")
    lines = []
    for cls, part in cell.groupby("class", sort=True, dropna=False):
        for kind in ("prototype", "criticism"):
            rows = part[part["kind"] == kind].sort_values("rank").head(int(max_per_row))
            if len(rows):
                lines.append((cls, kind, rows))
    cols = max(len(rows) for *_, rows in lines)
    fig, axes = plt.subplots(len(lines), cols, figsize=(1.1 * cols + 1.4, 1.25 * len(lines) + 0.5), squeeze=False)
    lo, hi = float(np.min(imgs)), float(np.max(imgs))
    for r, (cls, kind, rows) in enumerate(lines):
        for c, ax in enumerate(axes[r]):
            if c >= len(rows):
                ax.axis("off")
                continue
            row = rows.iloc[c]
            _show(ax, imgs[int(row["position"])], lo, hi)
            number = row.get("mmd2") if kind == "prototype" else row.get("witness")
            if number is not None and np.isfinite(number):
                ax.set_title(f"{'MMD²' if kind == 'prototype' else 'f'}={number:.3f}", fontsize=6)
        label = f"{kind}s" if cls is None or (isinstance(cls, float) and np.isnan(cls)) else f"{cls}: {kind}s"
        axes[r][0].set_ylabel(label, fontsize=7)
    fig.suptitle(title + ("" if feature == "overall" else f" ({feature} = {group})"), fontsize=10)
    fig.tight_layout()
    return fig

