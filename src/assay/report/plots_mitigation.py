"""Mitigations compared: accuracy against a fairness gap, with intervals, the Pareto front marked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import MAIN, PALETTE, REFERENCE, plt


def pareto_front(accuracy: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Boolean mask (n,): the rows no other row beats on both (higher accuracy, lower gap)."""
    accuracy, gap = np.asarray(accuracy, float), np.asarray(gap, float)
    ok = np.isfinite(accuracy) & np.isfinite(gap)
    front = np.zeros(len(accuracy), bool)
    for i in np.flatnonzero(ok):
        better = ok & (accuracy >= accuracy[i]) & (gap <= gap[i]) & ((accuracy > accuracy[i]) | (gap < gap[i]))
        front[i] = not better.any()
    return front


def plot_mitigation_pareto(comparison: Any, *, gap: str, metric: str = "accuracy",
                           title: str | None = None) -> plt.Figure:
    """Each model of a :class:`~assay.fairness.MitigationComparison` at (gap, metric), CI bars both ways.

    ``gap`` is a column of its table such as ``"demographic_parity_difference[sex]"``; the
    baseline (``"none"``) is drawn in the reference colour, the Pareto-optimal models (no other
    has both a higher ``metric`` and a lower gap) joined by a line.
    """
    table = getattr(comparison, "table", comparison)
    if not isinstance(table, pd.DataFrame):
        raise AssayInputError(f"'comparison' must be a MitigationComparison or its table. Got {describe(comparison)}.")
    for column in (gap, metric):
        if column not in table.columns:
            shown = [c for c in table.columns if "[" in c and not c.endswith(("_lower", "_upper"))][:12]
            raise AssayInputError(f"'{'gap' if column == gap else 'metric'}' must be a column of the comparison's "
                                  f"table (gaps: {shown}). Got {column!r} instead.")
    x, y = table[gap].to_numpy(float), table[metric].to_numpy(float)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, name in enumerate(table.index):
        color = REFERENCE if name == "none" else PALETTE[2 + i % (len(PALETTE) - 3)] if i else MAIN
        xerr = _err(x[i], table, gap, i)
        yerr = _err(y[i], table, metric, i)
        ax.errorbar([x[i]], [y[i]], xerr=xerr, yerr=yerr, fmt="o" if name != "none" else "s", color=color,
                    ecolor=color, elinewidth=1, capsize=2, label="none (baseline)" if name == "none" else str(name))
    front = pareto_front(y, x)
    if front.sum() > 1:
        order = np.argsort(x[front])
        ax.plot(x[front][order], y[front][order], color="grey", lw=1, ls="--", zorder=0, label="Pareto front")
    ax.set_xlabel(f"{gap} (lower is fairer)")
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} against {gap}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _err(value: float, table: pd.DataFrame, column: str, i: int) -> Any:
    lo, hi = f"{column}_lower", f"{column}_upper"
    if lo not in table.columns or not np.isfinite(value):
        return None
    low, high = float(table[lo].iloc[i]), float(table[hi].iloc[i])
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    return np.array([[max(value - low, 0.0)], [max(high - value, 0.0)]])
