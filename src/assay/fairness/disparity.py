"""Disparity across many groups: how spread out a metric is over the groups of a feature.

With two groups a difference says it all; with many (race, or sex x race x age) the gap between
the extremes ignores the rest. :func:`disparity_summary` adds the spread: standard deviation,
variance, range, min/max ratio and coefficient of variation of each metric over the groups.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import check_bool, describe
from ..metrics import GroupedMetrics

__all__ = ["DisparitySummary", "disparity_summary"]

_NOT_GROUPED = (
    "'grouped' must be a GroupedMetrics (the result of assay.metrics.evaluate_groups). Got {received} instead."
)
COLUMNS = ("n_groups", "mean", "std", "variance", "min", "max", "range", "ratio", "cv")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class DisparitySummary(Result):
    """Spread of each metric over the groups of each feature.

    Attributes
    ----------
    table : DataFrame
        Rows: MultiIndex ``(feature, metric)``. Columns: ``n_groups`` (groups with a value),
        ``mean``, ``std`` and ``variance`` (population: ``ddof=0``, each group counting once,
        whatever its size), ``min``, ``max``, ``range`` (``max - min``, the ``between_groups``
        difference), ``ratio`` (``min / max``, the ``between_groups`` ratio) and ``cv``
        (coefficient of variation ``std / mean``).
    params : dict
        ``include_small`` and the metrics summarised.
    """

    table: pd.DataFrame
    params: dict[str, Any]


    def __repr__(self) -> str:
        return f"DisparitySummary(rows={len(self.table)})"

    def to_frame(self) -> pd.DataFrame:
        """The table (rows ``(feature, metric)``)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record; table rows are indexed by ``[feature, metric]`` pairs."""
        out = super().to_dict()
        out["table"]["index"] = [[str(f), str(m)] for f, m in self.table.index]
        return out


def spread(values: np.ndarray) -> dict[str, float]:
    """Summary of one metric's values over groups (NaN values skipped)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {"n_groups": 0, **{c: np.nan for c in COLUMNS[1:]}}
    low, high = float(values.min()), float(values.max())
    mean = float(values.mean())
    variance = float(values.var(ddof=0))
    std = float(np.sqrt(variance))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.float64(low) / np.float64(high)) if high != 0 else np.nan
        cv = float(np.float64(std) / np.float64(mean)) if mean != 0 else np.nan
    return {"n_groups": int(values.size), "mean": mean, "std": std, "variance": variance,
            "min": low, "max": high, "range": high - low, "ratio": ratio, "cv": cv}


def disparity_summary(grouped: GroupedMetrics, *, include_small: bool = True) -> DisparitySummary:
    """Standard deviation, variance, range, ratio and coefficient of variation across groups.

    For each feature (and intersection) of ``grouped`` and each metric (``count`` excepted):

    * ``std = sqrt(1/G sum_g (m_g - mean)^2)`` -- population standard deviation (``ddof=0``):
      the groups are all the groups there are, not a sample of groups;
    * ``variance = std^2``, ``range = max_g m_g - min_g m_g``, ``ratio = min / max`` (0/0 NaN),
      ``cv = std / mean`` (NaN if the mean is 0).

    Every group counts once (an unweighted spread: a small group moves it as much as a large
    one; read ``count`` and the ``small`` flag of ``grouped.by_group`` with it). Groups where the
    metric is NaN are skipped. Ideal: 0 spread (ratio 1).

    Parameters
    ----------
    grouped : GroupedMetrics
        From :func:`assay.metrics.evaluate_groups`.
    include_small : bool, default True
        Include groups flagged ``small``.

    Returns
    -------
    DisparitySummary
    """
    if not isinstance(grouped, GroupedMetrics):
        raise AssayInputError(_NOT_GROUPED.format(received=describe(grouped)))
    check_bool(include_small, "include_small", owner="disparity_summary")
    frame = grouped.by_group
    if not include_small:
        frame = frame[~frame["small"].to_numpy(bool)]
    metrics = [m for m in grouped.metrics if m != "count"]
    features = frame.index.get_level_values("feature")
    rows, index = [], []
    for feature in grouped.features:
        part = frame[features == feature]
        for metric in metrics:
            rows.append(spread(part[metric].to_numpy(np.float64)))
            index.append((feature, metric))
    names = ["feature", "metric"]
    table = pd.DataFrame(rows, columns=list(COLUMNS),
                         index=pd.MultiIndex.from_tuples(index, names=names) if index
                         else pd.MultiIndex.from_arrays([[], []], names=names))
    table["n_groups"] = table["n_groups"].astype(np.int64)
    return DisparitySummary(table=table, params={"include_small": bool(include_small), "metrics": metrics})
