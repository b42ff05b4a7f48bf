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


