"""The sweep engine: :func:`threshold_sweep`, every label metric and fairness gap at every threshold.

A row is predicted positive at threshold ``t`` when ``score >= t``; the values are those of
:func:`~assay.metrics.evaluate_groups` for the labels ``score >= t`` (see
:mod:`assay.metrics.thresholds`).

How the counts are computed (no loop over thresholds or rows): each row falls in the bin ``b``
= the number of thresholds ``<= score`` (one ``np.searchsorted`` of the scores into the sorted
thresholds); the row is predicted positive at threshold ``j`` exactly when ``j < b``. One
``np.bincount`` over ``(group, bin, is positive)`` gives weighted histograms of shape
``(n_groups, n_thresholds + 1)``, and cumulative sums over the bins give TP, FP, TN and FN for
every threshold. This is the sort-and-cumulate approach with the sort done on the (few)
thresholds instead of the (many) rows: ``O(n log T)`` for ``n`` rows and ``T`` thresholds,
and the histograms are per-group sums that merge like the other sufficient statistics of
:mod:`assay.metrics._stats`. The histograms are filled for the finest cells (the intersection of
all features) and summed into every feature and intersection, as in ``evaluate_groups``.

The gaps are those of :data:`~assay.metrics.threshold_results.GAPS`; every name stays importable
from :mod:`assay.metrics.thresholds`.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError, UndefinedMetricWarning, outside_stacklevel
from ..core.validation import as_array, check_bool, check_consistent_length, check_scalar, describe
from ._checks import check_binary_labels, check_labels_1d, check_sample_weight, metric_names
from ._stats import ConfusionStats
from .classification import METRICS
from .grouped import make_groups
from .threshold_results import _OVERALL, GAPS, ThresholdSweep, _plain

__all__ = ["DEFAULT_METRICS", "MAX_THRESHOLDS", "threshold_sweep"]

DEFAULT_METRICS = ("balanced_accuracy", "accuracy", "selection_rate", "tpr", "fpr", "ppv")
MAX_THRESHOLDS = 1001
"""Default cap on the number of thresholds (quantile-spaced scores beyond it)."""

_UNKNOWN_METRIC = (
    "'metrics' must name threshold-dependent label metrics among {valid}. Got unknown name(s) "
    "{unknown} instead."
)
_BAD_THRESHOLDS = (
    "'thresholds' must be None, an int >= 1 (the most thresholds, quantile-spaced over the scores) "
    "or a 1-D array of finite numbers. Got {received} instead."
)
_SCORE_2D = (
    "'{name}' must be a 1-D array of scores (higher means more likely {pos_label!r}). Got an array "
    "of shape {shape}; for predict_proba output pass its positive-class column, e.g. y_score[:, 1]."
)
_NOT_PROBABILITY = (
    "'{name}' must hold probabilities in [0, 1] when scores_are_probabilities=True. Got values in "
    "[{low:.4g}, {high:.4g}]."
)
_UNDEFINED_EVERYWHERE = (
    "'{metric}' is undefined (0/0) at every threshold for group(s) {groups}; its value is NaN. "
    "(Values undefined at some thresholds only, e.g. 'ppv' where nothing is selected, are NaN "
    "without a warning.)"
)



# ---------------------------------------------------------------------------------------------
# threshold_sweep
# ---------------------------------------------------------------------------------------------


def _check_metrics(metrics: Any) -> tuple[str, ...]:
    valid = [m for m, spec in METRICS.items() if spec.needs == "labels"]
    names = metric_names(metrics, valid)
    unknown = [m for m in names if not isinstance(m, str) or m not in valid]
    if unknown:
        raise AssayInputError(_UNKNOWN_METRIC.format(valid=valid, unknown=unknown))
    return tuple(dict.fromkeys(names))


def _check_scores(y_score: Any, *, name: str, probabilities: bool, pos_label: Any) -> np.ndarray:
    raw = as_array(y_score, name=name, allow_nan=True)
    if raw.ndim != 1:
        raise AssayInputError(_SCORE_2D.format(name=name, pos_label=pos_label, shape=raw.shape))
    scores = as_array(raw, name=name, ndim=1, dtype=np.float64)  # numbers, finite
    if probabilities and (scores.min() < 0 or scores.max() > 1):
        raise AssayInputError(_NOT_PROBABILITY.format(name=name, low=scores.min(), high=scores.max()))
    return scores


def _make_thresholds(thresholds: Any, scores: np.ndarray) -> np.ndarray:
    """The sorted distinct thresholds: given, or scores (all distinct ones, or quantile-spaced)."""
    if thresholds is None or isinstance(thresholds, (numbers.Integral, np.integer)) and not isinstance(
        thresholds, (bool, np.bool_)
    ):
        cap = MAX_THRESHOLDS if thresholds is None else int(thresholds)
        if cap < 1:
            raise AssayInputError(_BAD_THRESHOLDS.format(received=repr(thresholds)))
        ordered = np.sort(scores)
        distinct = ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
        if len(distinct) <= cap:
            return distinct
        # quantile-spaced scores (by row, so dense where the scores are): each an actual score
        picks = np.round(np.linspace(0, len(ordered) - 1, cap)).astype(np.int64)
        return np.unique(ordered[picks])
    if isinstance(thresholds, (bool, np.bool_, str, bytes)) or isinstance(thresholds, numbers.Number):
        raise AssayInputError(_BAD_THRESHOLDS.format(received=describe(thresholds)))
    try:
        grid = as_array(thresholds, name="thresholds", ndim=1, dtype=np.float64)
    except AssayInputError as exc:
        raise AssayInputError(f"{_BAD_THRESHOLDS.format(received=describe(thresholds))} ({exc})") from None
    return np.unique(grid)


def _confusion_by_threshold(
    positive: np.ndarray, bins: np.ndarray, codes: np.ndarray, w: np.ndarray | None,
    n_groups: int, n_thresholds: int,
) -> dict[str, np.ndarray]:
    """TP, FP, TN, FN of shape (n_groups, n_thresholds) and row counts of shape (n_groups,).

    ``bins[i]`` is the number of thresholds ``<= score_i``: row ``i`` is predicted positive at
    threshold ``j`` exactly when ``j < bins[i]``.
    """
    width = n_thresholds + 1
    key = (codes * width + bins) * 2 + positive
    hist = np.bincount(key, weights=w, minlength=n_groups * width * 2).astype(np.float64, copy=False)
    hist = hist.reshape(n_groups, width, 2)
    neg, pos = hist[:, :, 0], hist[:, :, 1]

    def above(h: np.ndarray) -> np.ndarray:  # weight in bins > j: selected at threshold j
        return np.cumsum(h[:, ::-1], axis=1)[:, ::-1][:, 1:]

    def below(h: np.ndarray) -> np.ndarray:  # weight in bins <= j: not selected at threshold j
        return np.cumsum(h, axis=1)[:, :-1]

    return {
        "tp": above(pos), "fp": above(neg), "tn": below(neg), "fn": below(pos),
        "n": np.bincount(codes, minlength=n_groups).astype(np.int64),
    }


def _aggregate(counts: dict[str, np.ndarray], group_of: np.ndarray, n_new: int) -> dict[str, np.ndarray]:
    out = {}
    for name, arr in counts.items():
        summed = np.zeros((n_new, *arr.shape[1:]), dtype=arr.dtype)
        np.add.at(summed, group_of, arr)
        out[name] = summed
    return out


def _evaluate(counts: dict[str, np.ndarray], names: Sequence[str], pos_label: Any) -> dict[str, np.ndarray]:
    """Apply the formulas of METRICS to (n_groups, n_thresholds) counts, flattened to one
    "group" per (group, threshold) pair; per-threshold undefined-value warnings are silenced."""
    n_groups, n_thresholds = counts["tp"].shape
    stats = ConfusionStats(n_groups * n_thresholds, pos_label=pos_label)
    for state in ("tp", "fp", "tn", "fn"):
        setattr(stats, state, counts[state].reshape(-1))
    stats.n = np.repeat(counts["n"], n_thresholds)
    values = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for name in names:
            values[name] = np.asarray(METRICS[name].function(stats), dtype=np.float64).reshape(
                n_groups, n_thresholds
            )
    return values


def _gaps(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Fairness gaps over the groups (axis 0) at each threshold; NaN values skipped."""

    def spread(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.fmin.reduce(v, axis=0), np.fmax.reduce(v, axis=0)

    sr_min, sr_max = spread(values["selection_rate"])
    di = np.full(sr_min.shape, np.nan)
    np.divide(sr_min, sr_max, out=di, where=sr_max > 0)
    tpr_min, tpr_max = spread(values["tpr"])
    fpr_min, fpr_max = spread(values["fpr"])
    tpr_diff, fpr_diff = tpr_max - tpr_min, fpr_max - fpr_min
    return {
        "disparate_impact": di,
        "one_minus_di": 1.0 - di,
        "demographic_parity_difference": sr_max - sr_min,
        "tpr_difference": tpr_diff,
        "fpr_difference": fpr_diff,
        "equalized_odds_difference": np.fmax(tpr_diff, fpr_diff),
    }


def _warn_undefined_everywhere(name: str, undefined: list[str]) -> None:
    if undefined:
        shown = ", ".join(undefined[:20]) + (f" and {len(undefined) - 20} more" if len(undefined) > 20 else "")
        warnings.warn(_UNDEFINED_EVERYWHERE.format(metric=name, groups=shown), UndefinedMetricWarning,
                      stacklevel=outside_stacklevel())


def threshold_sweep(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any = None,
    thresholds: Any = None,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    sample_weight: Any = None,
    pos_label: Any = 1,
    intersections: bool = True,
    min_group_size: int = 30,
    scores_are_probabilities: bool = False,
) -> ThresholdSweep:
    """Every metric, overall and per group, and the fairness gaps, at every decision threshold.

    A row is predicted positive at threshold ``t`` when ``y_score >= t``. The values at ``t``
    equal ``evaluate_groups(y_true, (y_score >= t), ...)`` (same formulas, same groups), computed
    for all thresholds at once (see the module docstring).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary true labels (``== pos_label`` is positive).
    y_score : array-like of shape (n,)
        Finite scores, higher meaning more likely positive: probabilities or decision scores.
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array, optional
        One column per feature (see :func:`~assay.metrics.make_groups`). Without it, only the
        overall metrics are computed (and no gaps).
    thresholds : None, int or array-like, default None
        None: every distinct score if there are at most 1001, else 1001 quantile-spaced scores.
        An int ``k``: the same with at most ``k`` thresholds. An array: exactly those thresholds
        (sorted, duplicates dropped), e.g. ``np.linspace(0, 1, 101)``; include a value above
        every score to see "nothing selected".
    metrics : str or sequence of str
        Label metrics from :data:`~assay.metrics.METRICS` (not ``ece``). The gaps are computed
        whatever the metrics.
    sample_weight : array-like of shape (n,), optional
        Non-negative row weights; rates are weighted, ``count`` is not.
    pos_label : scalar, default 1
    intersections : bool, default True
        Also every combination of 2..k features.
    min_group_size : int, default 30
        Groups with fewer rows are flagged ``small`` in :attr:`ThresholdSweep.counts`.
    scores_are_probabilities : bool, default False
        Check that the scores lie in [0, 1] (decision scores need not).

    Returns
    -------
    ThresholdSweep

    Notes
    -----
    Time ``O(n log T)`` plus ``O(G T)``; memory ``O(C T)`` for ``C`` finest cells (the
    intersection of all features; per feature instead with ``intersections=False``), ``G``
    groups and ``T`` thresholds. 1e6 rows x 1000 thresholds take well under a second.

    Examples
    --------
    >>> sweep = threshold_sweep(y_val, p_val, sensitive_features=sf_val)   # doctest: +SKIP
    >>> sweep.overall("balanced_accuracy").idxmax()                         # doctest: +SKIP
    >>> sweep.gap("1 - DI", "sex")                                          # doctest: +SKIP
    """
    owner = "threshold_sweep"
    names = _check_metrics(metrics)
    check_bool(intersections, "intersections", owner=owner)
    check_bool(scores_are_probabilities, "scores_are_probabilities", owner=owner)
    check_scalar(min_group_size, "min_group_size", owner=owner, kind=(int, np.integer), low=0)
    y_true = check_labels_1d(y_true, name="y_true")
    scores = _check_scores(y_score, name="y_score", probabilities=bool(scores_are_probabilities),
                           pos_label=pos_label)
    w = check_sample_weight(sample_weight)
    n = check_consistent_length(y_true=y_true, y_score=scores, sample_weight=w)
    check_binary_labels(y_true, None, pos_label)
    grid = _make_thresholds(thresholds, scores)
    n_t = len(grid)

    positive = np.asarray(y_true == pos_label, dtype=np.int64)
    bins = np.searchsorted(grid, scores, side="right").astype(np.int64)
    internal = tuple(dict.fromkeys([*names, "selection_rate", "tpr", "fpr"]))

    groups = make_groups(sensitive_features, intersections, n_samples=n) if sensitive_features is not None else None
    if groups is None:
        overall_counts = _confusion_by_threshold(positive, bins, np.zeros(n, dtype=np.int64), w, 1, n_t)
        per_grouping = []
    elif intersections:
        cells = groups.cells
        base = _confusion_by_threshold(positive, bins, cells.codes, w, cells.n_groups, n_t)
        overall_counts = _aggregate(base, np.zeros(cells.n_groups, dtype=np.int64), 1)
        per_grouping = [(g, _aggregate(base, g.cell_map, g.n_groups)) for g in groups]
    else:  # no finest cells needed: one pass per feature (keeps the histograms small)
        per_grouping = [
            (g, _confusion_by_threshold(positive, bins, g.codes, w, g.n_groups, n_t)) for g in groups
        ]
        first = per_grouping[0][1]
        overall_counts = _aggregate(first, np.zeros(len(first["n"]), dtype=np.int64), 1)

    overall_values = _evaluate(overall_counts, names, pos_label)
    index = pd.Index(grid, name="threshold")
    overall_table = pd.DataFrame({m: overall_values[m][0] for m in names}, index=index)

    metric_blocks: dict[str, list[np.ndarray]] = {m: [] for m in names}
    gap_blocks: dict[str, list[np.ndarray]] = {g: [] for g in GAPS}
    feature_level, group_level, count_rows = [], [], []
    labelled = [(_OVERALL[0], (_OVERALL[1],), overall_values)]
    for grouping, counts in per_grouping:
        values = _evaluate(counts, internal, pos_label)
        labels = grouping.label_strings
        labelled.append((grouping.name, labels, values))
        for m in names:
            metric_blocks[m].append(values[m].reshape(-1))
        for g, v in _gaps(values).items():
            gap_blocks[g].append(v)
        feature_level += [grouping.name] * len(labels)
        group_level += list(labels)
        count_rows.append(counts["n"])
    for m in names:
        undefined = [
            repr(f"{feature}/{label}")
            for feature, labels, values in labelled
            for label, row in zip(labels, values[m])
            if np.isnan(row).all()
        ]
        _warn_undefined_everywhere(m, undefined)

    if per_grouping:
        group_index = pd.MultiIndex.from_arrays(
            [np.repeat(np.asarray(feature_level, dtype=object), n_t),
             np.repeat(np.asarray(group_level, dtype=object), n_t),
             np.tile(grid, len(group_level))],
            names=["feature", "group", "threshold"],
        )
        group_table = pd.DataFrame({m: np.concatenate(metric_blocks[m]) for m in names}, index=group_index)
        gap_features = [g.name for g, _ in per_grouping]
        gap_index = pd.MultiIndex.from_arrays(
            [np.repeat(np.asarray(gap_features, dtype=object), n_t), np.tile(grid, len(gap_features))],
            names=["feature", "threshold"],
        )
        gap_table = pd.DataFrame({g: np.concatenate(v) for g, v in gap_blocks.items()}, index=gap_index)
        sizes = np.concatenate(count_rows)
        counts_table = pd.DataFrame(
            {"count": sizes, "small": sizes < min_group_size},
            index=pd.MultiIndex.from_arrays(
                [np.asarray(feature_level, dtype=object), np.asarray(group_level, dtype=object)],
                names=["feature", "group"],
            ),
        )
    else:
        group_table = pd.DataFrame(
            {m: np.array([], dtype=np.float64) for m in names},
            index=pd.MultiIndex.from_arrays([[], [], []], names=["feature", "group", "threshold"]),
        )
        gap_table = pd.DataFrame(
            {g: np.array([], dtype=np.float64) for g in GAPS},
            index=pd.MultiIndex.from_arrays([[], []], names=["feature", "threshold"]),
        )
        counts_table = pd.DataFrame(
            {"count": np.array([], dtype=np.int64), "small": np.array([], dtype=bool)},
            index=pd.MultiIndex.from_arrays([[], []], names=["feature", "group"]),
        )

    higher = {m: METRICS[m].higher_is_better for m in names}
    higher.update({g: better for g, (better, _) in GAPS.items()})
    return ThresholdSweep(
        thresholds=grid,
        overall_table=overall_table,
        group_table=group_table,
        gap_table=gap_table,
        counts=counts_table,
        metrics=names,
        higher_is_better=higher,
        min_group_size=int(min_group_size),
        params={
            "pos_label": _plain(pos_label),
            "weighted": w is not None,
            "intersections": bool(intersections),
            "features": list(groups.features) if groups is not None else [],
            "n_rows": int(n),
            "n_thresholds": int(n_t),
        },
    )
