"""OOD rejection per group: does the detector turn away some groups' inputs more than others'?

An OOD threshold fitted on in-distribution data rejects a share of *in-distribution* inputs
(``1 - tpr`` on average). If that share differs by group, some groups lose service more often
although their inputs are in distribution. :func:`rejection_by_group` measures it per group
and per intersection of groups, with bootstrap intervals and the differences and ratios between
groups, through :func:`assay.metrics.evaluate_groups`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.validation import as_array, check_consistent_length, check_scalar
from ..metrics.grouped import GroupedMetrics, evaluate_groups

__all__ = ["rejection_by_group"]


def rejection_by_group(
    scores: Any,
    threshold: float,
    sensitive_features: Any,
    *,
    intersections: bool = True,
    min_group_size: int = 30,
    n_boot: int = 0,
    confidence_level: float = 0.95,
    random_state: Any = None,
) -> GroupedMetrics:
    """The share of each group's in-distribution inputs that ``threshold`` rejects as OOD.

    Parameters
    ----------
    scores : array-like of shape (n,)
        OOD scores (higher = more OOD) of **in-distribution** inputs; finite.
    threshold : float
        Inputs with ``score > threshold`` are rejected (e.g. from
        :func:`~assay.ood.thresholds.threshold_at_tpr` on validation data).
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        The groups of each input, as for :func:`~assay.metrics.evaluate_groups` (each feature
        needs at least two groups).
    intersections : bool, default True
        Also report every combination of features.
    min_group_size : int, default 30
        Groups with fewer inputs are flagged ``small`` (never hidden).
    n_boot : int, default 0
        Bootstrap resamples for percentile intervals (stratified by group cell).
    confidence_level : float in (0, 1), default 0.95
    random_state : None, int or numpy Generator

    Returns
    -------
    GroupedMetrics
        Metric ``selection_rate`` is the rejection rate (share of the group's inputs with
        ``score > threshold``), with ``count`` and ``small``; ``difference()`` and ``ratio()``
        compare groups, ``difference_ci()`` etc. give intervals with ``n_boot > 0``.

    Notes
    -----
    The refusals go through the grouped table as a per-example value,
    ``evaluate_groups(values={"refused": rejected}, metrics=["mean:refused"])``, whose 0/1
    bootstrap is drawn from the counts; the column keeps the name ``selection_rate`` that
    records and checks read.
    """
    owner = "rejection_by_group"
    s = as_array(scores, name="scores", ndim=1, dtype=np.float64)
    check_scalar(threshold, "threshold", owner=owner, kind=numbers.Real)
    if not np.isfinite(threshold):
        check_scalar(threshold, "threshold", owner=owner, kind=numbers.Real, low=-np.inf, high=np.inf,
                     closed="neither")
    check_scalar(confidence_level, "confidence_level", owner=owner, kind=numbers.Real, low=0.0, high=1.0,
                 closed="neither")
    if hasattr(sensitive_features, "__len__") and not isinstance(sensitive_features, Mapping):
        check_consistent_length(scores=s, sensitive_features=sensitive_features)
    rejected = (s > float(threshold)).astype(np.float64)
    table = evaluate_groups(
        values={"refused": rejected}, sensitive_features=sensitive_features, metrics=["mean:refused"],
        intersections=intersections, min_group_size=min_group_size, n_boot=n_boot,
        confidence_level=float(confidence_level), random_state=random_state,
    )
    return table.rename_metrics({"mean:refused": "selection_rate"})
