"""The reliability diagram of a calibration result."""

from __future__ import annotations

import numpy as np

from ..core.errors import AssayInputError
from ._plotting import MAIN, MAIN_LIGHT, plt

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
    ax.scatter(conf[keep], acc[keep], s=20 + 400 * count[keep] / max(count.sum(), 1), color=MAIN,
               alpha=0.8, label=label, zorder=3)
    ax.plot(conf[keep], acc[keep], "-", color=MAIN, lw=1)
    if bin_lower is not None and bin_upper is not None:
        lower, upper = (np.asarray(b, dtype=float)[keep] for b in (bin_lower, bin_upper))
        y = acc[keep]
        ax.errorbar(conf[keep], y, yerr=np.vstack([np.clip(y - lower, 0, None), np.clip(upper - y, 0, None)]),
                    fmt="none", ecolor=MAIN, elinewidth=0.8, capsize=2, alpha=0.7, label="95% interval")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed frequency")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    share = count / max(count.sum(), 1)
    width = 1.0 / max(len(count), 1)
    hist.bar(conf[keep], share[keep], width=width * 0.8, color=MAIN_LIGHT)
    hist.set_ylabel("share", fontsize=8)
    hist.set_xlabel("mean predicted probability")
    hist.grid(alpha=0.3)
    fig.tight_layout()
    return fig


#: Okabe-Ito colours and distinct markers and line styles: the two curves stay apart without colour.
_STYLES = {"model": ("#0072B2", "o", "-"), "recalibrated": ("#D55E00", "s", "--")}
_MAX_PANELS = 24


def plot_reliability_by_group(bins, *, ncols: int = 4, title: str = "Reliability by group") -> plt.Figure:
    """Small multiples: one reliability diagram per group of each sensitive feature.

    ``bins`` is a DataFrame with one row per bin and columns ``model``, ``feature``, ``group``,
    ``confidence``, ``accuracy``, ``weight`` and optionally ``accuracy_lower`` / ``accuracy_upper``
    (the ``reliability_by_group`` table of the calibration check); ``model`` is "model" and, where
    present, "recalibrated" (drawn dashed, with squares). Empty bins are skipped; at most 24
    panels are drawn (the title says how many were left out).
    """
    import pandas as pd

    needed = {"model", "feature", "group", "confidence", "accuracy", "weight"}
    if not isinstance(bins, pd.DataFrame) or not needed <= set(bins.columns):
        raise AssayInputError(f"'bins' must be a DataFrame with columns {sorted(needed)}. Got {type(bins).__name__}"
                              f"{' with columns ' + str(list(bins.columns)) if hasattr(bins, 'columns') else ''}.")
    models = list(dict.fromkeys(bins["model"]))
    panels = list(dict.fromkeys(zip(bins["feature"], bins["group"])))  # in the table's order
    bins = bins.set_index(["model", "feature", "group"]).sort_index()
    left_out = max(len(panels) - _MAX_PANELS, 0)
    panels = panels[:_MAX_PANELS]
    ncols = max(1, min(ncols, len(panels)))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.7 * ncols, 2.7 * nrows), sharex=True, sharey=True,
                             squeeze=False)
    for ax, (feature, group) in zip(axes.ravel(), panels):
        ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
        count = 0
        for model in models:
            try:
                part = bins.loc[(model, feature, group)]
            except KeyError:
                continue
            colour, marker, style = _STYLES.get(model, ("#009E73", "^", "-."))
            keep = part["weight"].to_numpy(float) > 0
            conf, acc = part["confidence"].to_numpy(float)[keep], part["accuracy"].to_numpy(float)[keep]
            count = int(part["weight"].sum()) if model == models[0] else count
            ax.plot(conf, acc, ls=style, marker=marker, ms=3.5, lw=1.1, color=colour, label=model)
            if {"accuracy_lower", "accuracy_upper"} <= set(part.columns):
                lower = part["accuracy_lower"].to_numpy(float)[keep]
                upper = part["accuracy_upper"].to_numpy(float)[keep]
                ax.errorbar(conf, acc, yerr=np.vstack([np.clip(acc - lower, 0, None), np.clip(upper - acc, 0, None)]),
                            fmt="none", ecolor=colour, elinewidth=0.6, alpha=0.5)
        ax.set_title(f"{feature} = {group} (n = {count})", fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    for ax in axes[-1, :]:
        ax.set_xlabel("mean predicted probability", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("observed frequency", fontsize=7)
    fig.suptitle(title + (f" ({left_out} more groups not drawn)" if left_out else ""), fontsize=10)
    fig.tight_layout()
    return fig
