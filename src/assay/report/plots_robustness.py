"""Robustness curves: a metric vs corruption severity per group, one panel per corruption.

Reads the tidy table of a robustness curve (``corruption, severity, feature, group, metric,
value, lower, upper[, small]``; the clean inputs are ``corruption="clean", severity=0``) and
imports nothing from :mod:`assay.robustness`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import PALETTE, REFERENCE, plt

_COLUMNS = ("corruption", "severity", "feature", "group", "metric", "value", "lower", "upper")
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def plot_robustness_curves(
    table: pd.DataFrame,
    *,
    metric: str = "accuracy",
    feature: str | None = None,
    max_groups: int = 6,
    ncols: int = 4,
    title: str | None = None,
) -> plt.Figure:
    """Small multiples: ``metric`` vs severity (0 = clean) per group of ``feature``, with interval bands.

    Parameters
    ----------
    table : the tidy curve table (``RobustnessCurve.table``, or its JSON record rebuilt).
    metric : the metric drawn.
    feature : the sensitive feature whose groups are drawn (default: the first one in the
        table; none: overall only). "overall" is always drawn, dashed, in the reference colour.
    max_groups : at most this many groups (the largest first); small groups are drawn dotted
        and named "(small)" in the legend.
    """
    if not isinstance(table, pd.DataFrame) or not set(_COLUMNS) <= set(table.columns):
        raise AssayInputError(f"'table' must be a DataFrame with columns {list(_COLUMNS)}. "
                              f"Got {describe(table)} instead.")
    rows = table[table["metric"] == metric]
    if rows.empty:
        raise AssayInputError(f"'metric' {metric!r} is not in the table; it holds {sorted(set(table['metric']))}.")
    features = [f for f in dict.fromkeys(rows["feature"]) if f != "overall"]
    if feature is None:
        feature = next((f for f in features if " x " not in str(f)), features[0] if features else None)
    elif feature not in features:
        raise AssayInputError(f"'feature' {feature!r} is not in the table; it holds {features}.")
    clean = rows[rows["corruption"] == "clean"]
    corruptions = [c for c in dict.fromkeys(rows["corruption"]) if c != "clean"]
    if not corruptions:
        raise AssayInputError("'table' holds no corrupted rows (only 'clean').")
    chosen = rows[rows["feature"] == feature] if feature is not None else rows.iloc[:0]
    if "count" in chosen.columns and len(chosen):
        sizes = clean[clean["feature"] == feature].set_index("group")["count"]
        groups = list(sizes.sort_values(ascending=False).index[:max_groups])
    else:
        groups = list(dict.fromkeys(chosen["group"]))[:max_groups]
    lines = [("overall", "all", REFERENCE, "--", "s", "overall")]
    for i, group in enumerate(groups):
        small = bool(clean[(clean["feature"] == feature) & (clean["group"] == group)].get(
            "small", pd.Series([False])).any())
        colour = PALETTE[[0, 2, 3, 4, 5, 6, 7][i % 7]]
        lines.append((feature, group, colour, ":" if small else "-", _MARKERS[i % len(_MARKERS)],
                      f"{group} (small)" if small else str(group)))
    ncols = min(ncols, len(corruptions))
    nrows = math.ceil(len(corruptions) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols + 0.6, 2.2 * nrows + 0.9), sharey=True,
                             squeeze=False)
    for ax, corruption in zip(axes.flat, corruptions):
        part = rows[rows["corruption"] == corruption]
        for feat, group, colour, style, marker, label in lines:
            curve = pd.concat([clean[(clean["feature"] == feat) & (clean["group"] == group)],
                               part[(part["feature"] == feat) & (part["group"] == group)]]).sort_values("severity")
            x = curve["severity"].to_numpy(float)
            ax.plot(x, curve["value"].to_numpy(float), color=colour, ls=style, marker=marker, ms=3.5, lw=1.3,
                    label=label)
            low, high = curve["lower"].to_numpy(float), curve["upper"].to_numpy(float)
            ok = np.isfinite(low) & np.isfinite(high)
            if ok.any():
                ax.fill_between(x[ok], low[ok], high[ok], color=colour, alpha=0.15, lw=0)
        ax.set_title(str(corruption), fontsize=9)
        ax.set_xticks(sorted(set(part["severity"]) | {0}))
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(corruptions):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(metric, fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("severity (0 = clean)", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False,
               title=None if feature is None else f"groups of {feature}", title_fontsize=8)
    fig.suptitle(title or f"{metric} vs corruption severity" + (f", by {feature}" if feature else ""), fontsize=10)
    fig.tight_layout(rect=(0, 0.08 + 0.04 * (len(labels) > 4), 1, 1))
    return fig
