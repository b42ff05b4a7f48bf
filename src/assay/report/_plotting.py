"""Shared by the plots: the Agg backend, PNG export, colours and input checks of per-group tables."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..core.errors import AssayInputError  # noqa: E402
from ..core.validation import describe  # noqa: E402

def figure_to_png(fig: plt.Figure, *, dpi: int = 110) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()



#: One colour-blind-safe palette for every plot (Okabe & Ito, "Color Universal Design", 2008):
#: blue for the model's own values, vermillion for references (overall, thresholds), the rest for
#: OOD sets, detectors and classes. Colour is never the only cue: small groups are also hatched,
#: OOD points are also crosses.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#e69f00", "#cc79a7", "#56b4e9", "#000000", "#f0e442")
MAIN, REFERENCE = PALETTE[0], PALETTE[1]
#: Light blue of small groups' bars (drawn hatched, with a legend entry).
MAIN_LIGHT = "#a6cde8"
SMALL_HATCH = "///"
_BAR = MAIN
_BAR_SMALL = MAIN_LIGHT
_MISSING = "#d9d9d9"


def small_group_patch(min_group_size: int | None = None) -> Any:
    """A legend entry for hatched small groups (``fewer than min_group_size rows`` when known)."""
    from matplotlib.patches import Patch

    label = "small group" + (f" (< {int(min_group_size)} rows)" if min_group_size is not None else "")
    return Patch(facecolor=MAIN_LIGHT, hatch=SMALL_HATCH, edgecolor="white", label=label)
_GAP_LABELS = {"one_minus_di": "1 - DI", "disparate_impact": "DI"}


def _as_by_group(by_group: Any, name: str = "by_group") -> pd.DataFrame:
    """A (feature, group) table: the DataFrame itself, or the ``by_group`` table of a result."""
    table = getattr(by_group, "by_group", by_group)
    if not isinstance(table, pd.DataFrame) or table.index.nlevels != 2:
        raise AssayInputError(
            f"'{name}' must be a DataFrame indexed by (feature, group), or a result with such a "
            f"'by_group' table (e.g. GroupedMetrics). Got {describe(by_group)} instead."
        )
    return table


def _ci_bounds(ci: Any, metric: str, index: pd.Index) -> tuple[pd.Series, pd.Series] | None:
    """``(lower, upper)`` of ``metric`` aligned to ``index``, from the CI layouts accepted."""
    if ci is None:
        return None
    if not isinstance(ci, pd.DataFrame):
        raise AssayInputError(f"'ci' must be a DataFrame with columns 'lower' and 'upper'. Got {describe(ci)} instead.")
    columns = ci.columns
    candidates = [(f"{metric}_lower", f"{metric}_upper"), ("lower", "upper")]
    if columns.nlevels == 2:
        candidates.insert(0, ((metric, "lower"), (metric, "upper")))
    for low, high in candidates:
        if low in columns and high in columns:
            lower = ci[low].astype(float).reindex(index)
            upper = ci[high].astype(float).reindex(index)
            return lower, upper
    raise AssayInputError(
        f"'ci' must have columns 'lower' and 'upper' (or ({metric!r}, 'lower'), or '{metric}_lower', "
        f"with their 'upper'). Got columns {list(columns)}."
    )


def _draw_interval(ax: Any, centre: np.ndarray, y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
    """Horizontal error bars from ``lower`` to ``upper``; rows with a NaN are skipped."""
    keep = np.isfinite(centre) & np.isfinite(lower) & np.isfinite(upper)
    if keep.any():
        err = np.vstack([centre[keep] - lower[keep], upper[keep] - centre[keep]])
        ax.errorbar(centre[keep], y[keep], xerr=np.clip(err, 0, None), fmt="none", ecolor="black",
                    capsize=2, lw=1)


def _check_features(table: pd.DataFrame, feature: Any) -> list[str]:
    features = list(dict.fromkeys(table.index.get_level_values(0)))
    wanted = features if feature is None else [feature] if isinstance(feature, str) else list(feature)
    unknown = [f for f in wanted if f not in features]
    if unknown or not wanted:
        raise AssayInputError(f"'feature' must be one of {features} (or None for all). Got {feature!r} instead.")
    return wanted



_IN_COLOR = MAIN
_THRESHOLD_COLOR = "black"


def _ood_colors(n: int) -> list[Any]:
    """Distinct colours of :data:`PALETTE` for OOD sets or detectors (never the in-distribution blue)."""
    others = PALETTE[1:]
    return [others[i % len(others)] for i in range(n)]


#: Share of the values a robust axis range keeps, and how much wider than that range the full
#: range must be before the axis is clipped (a lone outlier must not flatten the bulk).
ROBUST_COVERAGE = 0.99
ROBUST_FACTOR = 3.0


def robust_limits(values: np.ndarray, *, coverage: float = ROBUST_COVERAGE,
                  factor: float = ROBUST_FACTOR) -> tuple[float, float, int]:
    """``(low, high, n_outside)``: the axis range to draw finite ``values`` on.

    The full range (padded by 5%) unless it is more than ``factor`` times the central
    ``coverage`` quantile range; then that quantile range padded by 10% of itself, and the number
    of values outside it (which the plot says it leaves out).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    low, high = float(v.min()), float(v.max())
    tail = (1.0 - coverage) / 2
    q_low, q_high = (float(q) for q in np.quantile(v, [tail, 1.0 - tail]))
    if q_high > q_low and high - low > factor * (q_high - q_low):
        pad = 0.1 * (q_high - q_low)
        low, high = q_low - pad, q_high + pad
        return low, high, int(np.count_nonzero((v < low) | (v > high)))
    pad = 0.05 * (high - low) if high > low else 1.0
    return low - pad, high + pad, 0
