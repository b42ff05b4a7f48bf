"""Coverage of conformal prediction sets by group, with intervals and the 1 - alpha target."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe
from ._plotting import plt

#: Okabe-Ito colours (distinguishable with colour-vision deficiencies), one per method.
_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
_MARKERS = ("o", "s", "D", "^")
_COLUMNS = ("coverage", "coverage_lower", "coverage_upper")


def plot_conformal_coverage(
    tables: Mapping[str, pd.DataFrame],
    *,
    target: float,
    title: str = "Coverage of the prediction sets by group",
) -> plt.Figure:
    """Coverage per group for one or more methods (e.g. marginal and Mondrian), with intervals.

    Parameters
    ----------
    tables : mapping of method name -> DataFrame indexed by (feature, group) with columns
        ``coverage``, ``coverage_lower``, ``coverage_upper`` (NaN bounds draw no bar); rows in the
        first table's order.
    target : the coverage aimed at, 1 - alpha (a vertical line).
    """
    if not tables or not all(isinstance(t, pd.DataFrame) and set(_COLUMNS) <= set(t.columns)
                             for t in tables.values()):
        raise AssayInputError(f"'tables' must map method names to DataFrames with columns {list(_COLUMNS)}. "
                              f"Got {describe(tables)} instead.")
    if not 0 < target < 1:
        raise AssayInputError(f"'target' must be in (0, 1). Got {target!r} instead.")
    index = next(iter(tables.values())).index
    labels = [("overall" if key == ("overall", "overall") else f"{key[0]}: {key[1]}") if isinstance(key, tuple)
              else str(key) for key in index]
    n, k = len(index), len(tables)
    fig, ax = plt.subplots(figsize=(6.4, max(2.2, 0.32 * n * max(1, k * 0.6) + 1.0)))
    y = np.arange(n)[::-1].astype(float)
    offsets = (np.arange(k) - (k - 1) / 2) * 0.25
    lowest = target
    for j, (name, table) in enumerate(tables.items()):
        t = table.reindex(index)
        cov, lo, hi = (t[c].to_numpy(float) for c in _COLUMNS)
        yy = y + offsets[j]
        ax.scatter(cov, yy, color=_COLORS[j % 4], marker=_MARKERS[j % 4], s=28, zorder=3, label=name)
        ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(cov)
        if ok.any():
            ax.errorbar(cov[ok], yy[ok], xerr=np.vstack([np.clip(cov[ok] - lo[ok], 0, None),
                                                         np.clip(hi[ok] - cov[ok], 0, None)]),
                        fmt="none", ecolor=_COLORS[j % 4], elinewidth=1, capsize=2, zorder=2)
        finite = np.concatenate([cov[np.isfinite(cov)], lo[np.isfinite(lo)]])
        if finite.size:
            lowest = min(lowest, float(finite.min()))
    ax.axvline(target, color="black", ls="--", lw=1, label=f"1 - alpha = {target:g}")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlim(max(0.0, lowest - 0.05), 1.005)
    ax.set_xlabel("coverage (share of true labels in the set)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
