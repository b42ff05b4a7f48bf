"""Figures built from results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..core.errors import AssayInputError  # noqa: E402


def figure_to_png(fig: plt.Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def plot_metric_by_group(
    by_group: pd.DataFrame,
    metric: str,
    *,
    overall: float | None = None,
    ci: pd.DataFrame | None = None,
    small_column: str = "small",
    title: str | None = None,
) -> plt.Figure:
    """Horizontal bars of one metric for every group, one panel per feature or intersection.

    Parameters
    ----------
    by_group : DataFrame indexed by (feature, group) with a column ``metric`` (and optionally a
        boolean column ``small_column``: small groups are drawn hatched, not hidden).
    overall : the metric on all data, drawn as a dashed line.
    ci : optional DataFrame with the same index and columns ``lower``/``upper`` (error bars).
    """
    if metric not in by_group.columns:
        raise AssayInputError(f"'metric' must be a column of 'by_group' {list(by_group.columns)}. Got {metric!r}.")
    features = list(dict.fromkeys(by_group.index.get_level_values(0)))
    heights = [max(1, (by_group.index.get_level_values(0) == f).sum()) for f in features]
    fig, axes = plt.subplots(
        len(features), 1, figsize=(7, 0.9 + 0.32 * sum(heights) + 0.5 * len(features)),
        gridspec_kw={"height_ratios": heights}, sharex=True, squeeze=False,
    )
    for ax, feature in zip(axes[:, 0], features):
        rows = by_group.xs(feature, level=0)
        values = rows[metric].to_numpy(dtype=float)
        y = np.arange(len(rows))
        small = rows[small_column].to_numpy(bool) if small_column in rows else np.zeros(len(rows), bool)
        colors = ["#b8c4d6" if s else "#3b6ea8" for s in small]
        bars = ax.barh(y, np.nan_to_num(values), color=colors, height=0.7)
        for bar, s in zip(bars, small):
            if s:
                bar.set_hatch("//")
        if ci is not None:
            sub = ci.xs(feature, level=0).reindex(rows.index)
            err = np.vstack([values - sub["lower"].to_numpy(float), sub["upper"].to_numpy(float) - values])
            ax.errorbar(values, y, xerr=np.clip(err, 0, None), fmt="none", ecolor="black", capsize=2, lw=1)
        for yi, value in zip(y, values):
            ax.text(0.0 if np.isnan(value) else value, yi, "  n/a" if np.isnan(value) else f" {value:.3f}",
                    va="center", fontsize=8)
        if overall is not None and np.isfinite(overall):
            ax.axvline(overall, color="#c0392b", ls="--", lw=1, label="overall")
        ax.set_yticks(y, [str(g) for g in rows.index])
        ax.invert_yaxis()
        ax.set_title(feature, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel(metric)
    if overall is not None:
        axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle(title or f"{metric} by group (hatched: small group)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_reliability_diagram(
    bin_confidence: np.ndarray,
    bin_accuracy: np.ndarray,
    bin_count: np.ndarray,
    *,
    label: str = "model",
    title: str = "Reliability diagram",
) -> plt.Figure:
    """Accuracy against confidence per bin, with the diagonal of perfect calibration.

    All arrays have shape ``(n_bins,)``; empty bins (count 0) are skipped. Marker area is
    proportional to the bin's share of examples.
    """
    conf, acc, count = (np.asarray(a, dtype=float) for a in (bin_confidence, bin_accuracy, bin_count))
    keep = count > 0
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfect calibration")
    ax.plot(conf[keep], acc[keep], "-", color="#3b6ea8", lw=1)
    ax.scatter(conf[keep], acc[keep], s=20 + 400 * count[keep] / max(count.sum(), 1), color="#3b6ea8",
               alpha=0.8, label=label, zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
