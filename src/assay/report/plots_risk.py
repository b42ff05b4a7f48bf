"""Risk plots: accuracy by risk decile per group, the toy regression's bands, and an example grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import as_array, describe
from ._plotting import MAIN, PALETTE, plt

_DECILE_COLUMNS = ("feature", "group", "decile", "accuracy", "lower", "upper")
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def plot_risk_deciles(table: pd.DataFrame, *, risk: str = "risk", title: str | None = None) -> plt.Figure:
    """Accuracy (with its interval) against the risk decile, overall and per group (one panel per feature).

    ``table``: :func:`assay.uncertainty.wrappers.risk_by_decile`'s frame (``feature``, ``group``,
    ``decile``, ``accuracy``, ``lower``, ``upper``). Groups differ by colour *and* marker.
    """
    if not isinstance(table, pd.DataFrame) or not set(_DECILE_COLUMNS) <= set(table.columns) or table.empty:
        raise AssayInputError(f"'table' must be risk_by_decile's DataFrame with columns {list(_DECILE_COLUMNS)}. "
                              f"Got {describe(table)} instead.")
    features = [f for f in dict.fromkeys(table["feature"]) if f != "overall"]
    fig, axes = plt.subplots(1, max(1, len(features)), figsize=(4.2 * max(1, len(features)), 3.2), squeeze=False,
                             sharey=True)
    overall = table[table["feature"] == "overall"]
    for ax, feature in zip(axes[0], features or [None]):
        series = [("overall", overall)] + ([] if feature is None else list(
            table[table["feature"] == feature].groupby("group", sort=False)))
        for j, (group, rows) in enumerate(series):
            color = "black" if group == "overall" else PALETTE[j % len(PALETTE)]
            x = rows["decile"].to_numpy(float)
            ax.plot(x, rows["accuracy"], marker=_MARKERS[j % len(_MARKERS)], ms=4, lw=1.2 if j else 2,
                    color=color, label=str(group))
            lo, hi = rows["lower"].to_numpy(float), rows["upper"].to_numpy(float)
            if np.isfinite(lo).any():
                ax.fill_between(x, lo, hi, color=color, alpha=0.12, lw=0)
        ax.set_xlabel(f"{risk} decile (1 = lowest)")
        ax.set_title("overall" if feature is None else str(feature), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    axes[0][0].set_ylabel("accuracy")
    fig.suptitle(title or f"Accuracy by {risk} decile", fontsize=10)
    fig.tight_layout()
    return fig


def plot_regression_bands(x: Any, y_hat: Any, *, aleatoric: Any = None, epistemic: Any = None, x_train: Any = None,
                          y_train: Any = None, title: str = "Prediction with aleatoric and epistemic bands"
                          ) -> plt.Figure:
    """A 1-D regression's prediction with ±2 std bands of each risk (variances, as RiskOutput gives them)."""
    x = as_array(x, name="x", dtype=np.float64).reshape(-1)
    y_hat = as_array(y_hat, name="y_hat", dtype=np.float64).reshape(-1)
    if len(x) != len(y_hat):
        raise AssayInputError(f"'x' and 'y_hat' must have the same length. Got {len(x)} and {len(y_hat)}.")
    order = np.argsort(x)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    if x_train is not None and y_train is not None:
        ax.scatter(np.ravel(x_train), np.ravel(y_train), s=6, color="#999999", marker=".", label="training data")
    for var, name, color, hatch in ((aleatoric, "aleatoric", PALETTE[1], None),
                                    (epistemic, "epistemic", PALETTE[2], "//")):
        if var is None:
            continue
        std = np.sqrt(np.clip(as_array(var, name=name, dtype=np.float64).reshape(-1), 0, None))[order]
        ax.fill_between(x[order], (y_hat[order] - 2 * std), (y_hat[order] + 2 * std), color=color, alpha=0.25,
                        hatch=hatch, lw=0, label=f"±2 std {name}")
    ax.plot(x[order], y_hat[order], color=MAIN, lw=2, label="prediction")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_example_grid(images: Any, scores: Any, *, k: int = 8, title: str = "Most and least under-represented",
                      score_name: str = "bias") -> plt.Figure:
    """The ``k`` highest- and ``k`` lowest-scoring images (two rows), each titled with its score.

    ``images`` (n, c, h, w) or (n, h, w); ``scores`` (n,), e.g. ``RiskOutput.bias``.
    """
    images = as_array(images, name="images", dtype=np.float64)
    scores = as_array(scores, name="scores", ndim=1, dtype=np.float64)
    if images.ndim == 4:
        images = images.mean(axis=1) if images.shape[1] != 3 else images.transpose(0, 2, 3, 1)
    if images.ndim not in (3, 4) or len(images) != len(scores):
        raise AssayInputError(f"'images' must be (n, c, h, w) or (n, h, w) with one score each. Got {images.shape} "
                              f"and {len(scores)} scores.")
    k = max(1, min(int(k), len(scores) // 2 or 1))
    order = np.argsort(scores, kind="stable")
    rows = [("highest " + score_name, order[::-1][:k]), ("lowest " + score_name, order[:k])]
    fig, axes = plt.subplots(2, k, figsize=(1.1 * k + 0.6, 2.8), squeeze=False)
    for r, (label, index) in enumerate(rows):
        for c in range(k):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(index):
                ax.imshow(images[index[c]], cmap="gray" if images.ndim == 3 else None)
                ax.set_title(f"{scores[index[c]]:.3g}", fontsize=7)
        axes[r][0].text(-0.3, 0.5, label, transform=axes[r][0].transAxes, rotation=90, va="center", ha="right",
                        fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
