"""Monitoring plots: reference vs current distributions, drift over time, control charts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import MAIN, PALETTE, REFERENCE, plt


def plot_distribution_comparison(labels: Sequence[str], reference: Sequence[float], current: Sequence[float], *,
                                 title: str = "") -> plt.Figure:
    """Shares of each bin or category in the reference (hatched) and the current window, side by side."""
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if len(labels) != len(ref) or len(ref) != len(cur) or ref.sum() <= 0 or cur.sum() <= 0:
        raise AssayInputError("'labels', 'reference' and 'current' must have one entry per bin and positive totals. "
                              f"Got {len(labels)}, {len(ref)} and {len(cur)} entries.")
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(max(4.0, min(10.0, 0.35 * len(labels) + 2)), 2.8))
    ax.bar(x - 0.2, ref / ref.sum(), width=0.4, color="white", edgecolor=REFERENCE, hatch="///", label="reference")
    ax.bar(x + 0.2, cur / cur.sum(), width=0.4, color=MAIN, label="current")
    ax.set_xticks(x, [str(v)[:18] for v in labels], rotation=60 if len(labels) > 6 else 0, ha="right" if
                  len(labels) > 6 else "center", fontsize=7)
    ax.set_ylabel("share")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def plot_drift_over_time(table: pd.DataFrame, *, threshold: float | None = None, max_columns: int = 8,
                         title: str = "Drift effect size per window") -> plt.Figure:
    """Effect size of the most drifted columns per window (``table``: window, column, effect_size,
    drifted); drifted windows are marked with a filled marker, the threshold is a dashed line."""
    if not isinstance(table, pd.DataFrame) or not {"window", "column", "effect_size", "drifted"} <= set(table.columns):
        raise AssayInputError(f"'table' must have columns window, column, effect_size, drifted. Got {describe(table)}.")
    wide = table.pivot(index="window", columns="column", values="effect_size").sort_index()
    flags = table.pivot(index="window", columns="column", values="drifted").reindex(wide.index)
    order = wide.max().sort_values(ascending=False).index[:max_columns]
    fig, ax = plt.subplots(figsize=(7.0, 3.0))
    x = np.arange(len(wide))
    markers = ("o", "s", "D", "^", "v", "P", "X", "*")
    for j, column in enumerate(order):
        color = PALETTE[j % len(PALETTE)]
        y = wide[column].to_numpy(float)
        ax.plot(x, y, color=color, marker=markers[j % 8], markerfacecolor="white", label=str(column)[:24])
        hit = flags[column].fillna(False).to_numpy(bool)
        ax.scatter(x[hit], y[hit], color=color, marker=markers[j % 8], zorder=3)
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    ax.set_xticks(x, [str(w)[:10] for w in wide.index], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("effect size")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False, ncol=2)
    fig.tight_layout()
    return fig


def plot_control_chart(table: pd.DataFrame, *, title: str = "", h: float | None = None) -> plt.Figure:
    """A control chart (``table`` of :class:`assay.monitor.charts.ControlChart`): values, centre line and
    limits; the reference period shaded; alerts as crosses. CUSUM (``cusum_upper`` / ``cusum_lower``
    columns) draws its two sums and the decision interval ``h``."""
    needed = {"value", "center", "lower", "upper", "phase", "alert"}
    if not isinstance(table, pd.DataFrame) or not needed <= set(table.columns):
        raise AssayInputError(f"'table' must have columns {sorted(needed)}. Got {describe(table)}.")
    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(7.0, 2.8))
    n_ref = int((table["phase"] == "reference").sum())
    if n_ref:
        ax.axvspan(-0.5, n_ref - 0.5, color="#eeeeee", label="reference period")
    if "cusum_upper" in table.columns:
        ax.plot(x, table["cusum_upper"], color=MAIN, marker="o", ms=3, label="CUSUM upper")
        ax.plot(x, table["cusum_lower"], color=PALETTE[2], marker="s", ms=3, label="CUSUM lower")
        ax.set_ylabel("cumulative sum (sd)")
        if h is not None:
            ax.axhline(h, color=REFERENCE, linestyle="--", label="h")
        y_alert = np.maximum(table["cusum_upper"], table["cusum_lower"]).to_numpy(float)
    else:
        ax.plot(x, table["value"], color=MAIN, marker="o", ms=3, label="value")
        ax.plot(x, table["center"], color="black", linewidth=1, label="centre")
        ax.plot(x, table["upper"], color=REFERENCE, linestyle="--", linewidth=1, label="limits")
        ax.plot(x, table["lower"], color=REFERENCE, linestyle="--", linewidth=1)
        y_alert = table["value"].to_numpy(float)
    alert = table["alert"].to_numpy(bool)
    if alert.any():
        ax.scatter(x[alert], y_alert[alert], color=REFERENCE, marker="x", s=50, zorder=4, label="alert")
    ax.set_xticks(x, [str(w)[:10] for w in table.index], rotation=45, ha="right", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False, ncol=3)
    fig.tight_layout()
    return fig
