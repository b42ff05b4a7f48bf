"""Adversarial examples beside the clean ones, perturbation heat maps, certified accuracy vs radius.

Inputs are arrays and DataFrames (e.g. the fields of an ``AttackResult`` and a
``CertifiedAccuracy``); nothing here imports :mod:`assay.robustness`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import PALETTE, plt

__all__ = ["plot_adversarial_examples", "plot_certified_accuracy", "plot_perturbation_heatmap"]


def _images(x: Any, name: str) -> np.ndarray:
    """``(n, h, w)`` (channels averaged) or ``(n, h, w, 3)`` from ``(n, c, h, w)`` / ``(n, h, w)``."""
    arr = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    if arr.ndim == 3:
        return arr
    if arr.ndim == 4 and arr.shape[1] in (1, 3):
        return arr[:, 0] if arr.shape[1] == 1 else arr.transpose(0, 2, 3, 1)
    raise AssayInputError(f"'{name}' must hold images of shape (n, h, w) or (n, c, h, w) with c in (1, 3). "
                          f"Got {describe(x)} instead.")


def _pick(clean: Any, adversarial: Any, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    a, b = _images(clean, "clean"), _images(adversarial, "adversarial")
    if a.shape != b.shape:
        raise AssayInputError(f"'clean' and 'adversarial' must have the same shape. Got {a.shape} and {b.shape}.")
    if not isinstance(n, int) or n < 1:
        raise AssayInputError(f"'n' must be a positive int. Got {n!r} instead.")
    return a, b, min(n, len(a))


def plot_adversarial_examples(clean: Any, adversarial: Any, original_pred: Any, adversarial_pred: Any,
                              original_confidence: Any = None, adversarial_confidence: Any = None, *, n: int = 8,
                              title: str = "Clean (top) and adversarial (bottom) inputs") -> plt.Figure:
    """The first ``n`` clean inputs above their adversarial versions, titled with prediction (confidence);
    adversarial titles whose prediction changed are drawn in the reference colour."""
    a, b, n = _pick(clean, adversarial, n)
    before, after = np.asarray(original_pred), np.asarray(adversarial_pred)
    conf = [None if c is None else np.asarray(c, dtype=float) for c in (original_confidence, adversarial_confidence)]
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n + 0.4, 3.0), squeeze=False)
    for row, (images, preds, confidence) in enumerate(((a, before, conf[0]), (b, after, conf[1]))):
        for j in range(n):
            ax = axes[row, j]
            ax.imshow(images[j], cmap="gray", vmin=0, vmax=max(1.0, float(a.max())), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            text = f"{preds[j]}" + ("" if confidence is None else f" ({confidence[j]:.2f})")
            changed = row == 1 and preds[j] != before[j]
            ax.set_title(text, fontsize=8, color=PALETTE[1] if changed else "black")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_perturbation_heatmap(clean: Any, adversarial: Any, *, n: int = 8,
                              title: str = "Perturbation (adversarial - clean)") -> plt.Figure:
    """Signed perturbation of the first ``n`` inputs (channels averaged), one symmetric colour scale."""
    a, b, n = _pick(clean, adversarial, n)
    delta = b[:n] - a[:n]
    if delta.ndim == 4:
        delta = delta.mean(axis=3)
    scale = float(np.abs(delta).max()) or 1.0
    fig, axes = plt.subplots(1, n, figsize=(1.3 * n + 1.0, 1.8), squeeze=False)
    for j in range(n):
        shown = axes[0, j].imshow(delta[j], cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        axes[0, j].set_xticks([])
        axes[0, j].set_yticks([])
    fig.colorbar(shown, ax=list(axes[0]), shrink=0.8)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_certified_accuracy(curve: pd.DataFrame, by_group: pd.DataFrame | None = None, *,
                            title: str = "Certified accuracy vs L2 radius") -> plt.Figure:
    """Overall certified accuracy (``curve``: index radius, column ``certified_accuracy``) and,
    optionally, one line per group (``by_group``: rows ``(feature, group)``, columns the radii)."""
    if not isinstance(curve, pd.DataFrame) or "certified_accuracy" not in curve.columns:
        raise AssayInputError(f"'curve' must be a DataFrame with a 'certified_accuracy' column indexed by radius. "
                              f"Got {describe(curve)} instead.")
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    radii = curve.index.to_numpy(dtype=float)
    ax.plot(radii, curve["certified_accuracy"], color=PALETTE[1], lw=2, label="overall", drawstyle="steps-post")
    if by_group is not None:
        columns = [c for c in by_group.columns if c != "count"]
        for i, (key, row) in enumerate(by_group[columns].iterrows()):
            label = f"{key[0]}: {key[1]}" if isinstance(key, tuple) else str(key)
            ax.plot(np.asarray(columns, dtype=float), row.to_numpy(dtype=float), lw=1.2, drawstyle="steps-post",
                    color=PALETTE[[0, 2, 3, 4, 5, 6, 7][i % 7]], label=label)
    ax.set_xlabel("L2 radius")
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
