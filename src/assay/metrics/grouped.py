"""Metrics broken down by group and by intersections of groups.

Three layers, each built on the one before:

* :class:`GroupedStats` -- the mergeable statistics of a grouped table: for every finest cell
  (a combination of the values of all sensitive features, such as ``("F", "Black", "30-45")``)
  the confusion counts and the reliability-diagram sums. Its size is fixed by the number of
  cells, never by the number of rows. :meth:`GroupedStats.update` adds a batch (new cells are
  discovered on the fly), :meth:`GroupedStats.merge` adds another object's statistics. So the
  same statistics come from arrays, from an iterator of batches
  (:func:`evaluate_groups_batches`) or from a Dask DataFrame
  (:func:`assay.metrics.distributed.evaluate_groups_dask`), with identical numbers.
* :meth:`GroupedStats.compute` (= :meth:`GroupedMetrics.from_stats`) sums the cells into every
  grouping (each feature, each intersection, overall), applies the formulas of
  :mod:`assay.metrics.classification` and, with ``n_boot > 0``, adds percentile bootstrap
  intervals drawn from the counts (:mod:`assay.metrics.bootstrap`).
* :func:`evaluate_groups` is ``GroupedStats().update(...)`` then ``compute(...)``: one code path.

:func:`make_groups` gives the same groupings with a group code per row, for code that works
on rows. Small groups are flagged in the ``small`` column of ``by_group``, never hidden.

The code lives in four modules, each importing only the ones before it:
:mod:`~assay.metrics.groups` (group encoding: :func:`make_groups`, the finest cells),
:mod:`~assay.metrics.grouped_stats` (:class:`GroupedStats`),
:mod:`~assay.metrics.grouped_table` (:class:`GroupedMetrics`) and this module (the entry
points); every name stays importable from here.

What "identical" means
----------------------
Row counts, and every statistic of unweighted data, are integers (confidence sums are held as
exact fixed-point integers, resolution ``2**-53``), so they do not depend on how the rows are
split into batches or partitions, nor on the order in which the parts are merged: arrays,
batches and Dask give bit-identical tables. Weighted sums are floating-point sums; they are
exact -- hence identical -- when every partial sum is representable (integer weights, or
dyadic weights such as 0.5 or 0.25, below ``2**53``), and otherwise agree to rounding
(relative differences of order ``1e-16`` times the number of parts).
"""


from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import (
    NOT_GIVEN,
    align_pandas,
    check_consistent_length,
    check_option,
    check_random_state,
    check_scalar,
    describe,
    renamed_parameter,
)
from ._checks import check_labels_1d, check_prob, check_sample_weight
from .classification import AVERAGES
from .grouped_stats import DEFAULT_METRICS, _NEEDS_INPUT, GroupedStats
from .grouped_table import (
    FeatureSelection,
    GroupedMetrics,
    _check_table_params,
    _needs_losses,
    _needs_ranks,
    _plan,
    _regression_metrics,
    _value_columns,
)
from .regression import needs_interval
from .values import check_values
from .groups import _BAD_FEATURES, SEPARATOR, Grouping, Groups, make_groups

__all__ = [
    "DEFAULT_METRICS",
    "SEPARATOR",
    "FeatureSelection",
    "GroupedMetrics",
    "GroupedStats",
    "Grouping",
    "Groups",
    "evaluate_groups",
    "evaluate_groups_batches",
    "make_groups",
    "relative_change",
]

_BAD_BATCH = (
    "'batches' must yield dicts with keys among {keys} or tuples (y_true, y_pred, y_score, "
    "sensitive_features[, sample_weight]). Got {received} as batch {index}."
)
_IN_BATCH = "In batch {index} of 'batches': {message}"
_NO_BATCHES = "'batches' must yield at least one batch. Got none."
_NOT_GROUPED = "'{name}' must be a GroupedMetrics (the result of evaluate_groups). Got {received} instead."
_TABLES_DIFFER = "'other' must have the same {what} as 'baseline'. {detail}"

_BATCH_KEYS = ("y_true", "y_pred", "y_score", "sensitive_features", "sample_weight", "values", "y_interval")


def _check_unused(y_true: np.ndarray, y_pred: Any, y_score: Any) -> None:
    """Inputs given but not needed by the metrics are still checked (shape and length)."""
    y_pred = None if y_pred is None else check_labels_1d(y_pred, name="y_pred")
    y_score = None if y_score is None else check_prob(y_score, name="y_score")
    check_consistent_length(y_true=y_true, y_pred=y_pred, y_score=y_score)


def evaluate_groups(
    y_true: Any = None,
    y_pred: Any = None,
    *,
    y_score: Any = None,
    sensitive_features: Any,
    values: Mapping[str, Any] | None = None,
    metrics: str | Sequence[str] | None = None,
    intersections: bool = True,
    min_group_size: int = 30,
    sample_weight: Any = None,
    n_bins: int = 15,
    pos_label: Any = 1,
    n_boot: int = 0,
    confidence_level: float = 0.95,
    random_state: Any = None,
    average: str = "binary",
    y_interval: Any = None,
    ci_level: Any = NOT_GIVEN,
) -> GroupedMetrics:
    """Metrics overall, per group of each sensitive feature, and per intersection of features.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels. Binary for the label metrics and for binary calibration; class indices
        ``0..k-1`` when ``y_score`` has ``k >= 3`` columns.
    y_pred : array-like of shape (n,), optional
        Predicted labels; needed by the label metrics. With ``average="binary"`` (default)
        ``y_true`` and ``y_pred`` together may hold at most two labels; any number with
        ``average="ovr"`` or ``"macro"``.
    y_score : array-like of shape (n,) or (n, k), optional
        Probabilities; needed by ``ece``, ``roc_auc``, ``log_loss`` and ``brier``. (n,):
        probability of ``pos_label``; (n, 2): column 1 is that probability; (n, k >= 3): one
        column per class (ECE top-label, AUC one-vs-rest macro; see
        :mod:`assay.metrics.scores`). ``roc_auc`` -- and the bootstrap of ``log_loss`` and
        ``brier`` -- keep the exact per-cell score histograms, whose size grows with the
        number of distinct scores (round the scores to bound it).
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        One column per feature, each with at least two groups. Categorical columns are read
        through their codes (fastest); values are compared as strings.
    values : dict of str -> array-like of shape (n,), optional
        Any per-example quantities (finite numbers; e.g. ``{"covered": covered, "set_size":
        size}``), broken down by group through the metrics ``"<statistic>:<name>"``:
        ``"mean:covered"`` (weighted mean), ``"sum:set_size"`` (weighted sum); see
        :mod:`assay.metrics.values`. ``y_true`` may then be omitted.
    metrics : str or sequence of str, optional
        Names from :data:`METRICS` and ``"<statistic>:<value>"`` names. The regression metrics
        ``"mae"``, ``"mse"``, ``"rmse"``, ``"bias"``, ``"r2"``, ``"interval_coverage"`` and
        ``"interval_width"`` (:mod:`assay.metrics.regression`, all exact from mergeable sums)
        read ``y_true`` and ``y_pred`` as numbers of shape (n,) or (n, d) (averaged uniformly
        over the d outputs); they cannot be mixed with label or score metrics in one table. Default:
        ``("accuracy", "selection_rate", "tpr", "fpr")``, or the mean of every value when
        ``y_true`` is omitted.
    intersections : bool, default True
        Also report every combination of 2..k features.
    min_group_size : int, default 30
        Groups with fewer rows are flagged ``small`` (never hidden).
    sample_weight : array-like of shape (n,), optional
        Non-negative row weights; rates are weighted, ``count`` is not.
    n_bins : int, default 15
        Equal-width calibration bins on [0, 1] (for ``ece``).
    pos_label : scalar, default 1
        The positive label.
    n_boot : int, default 0
        Bootstrap resamples for percentile confidence intervals (0: no intervals). Resamples
        are stratified by finest cell and drawn from the counts, not the rows -- exactly the
        row bootstrap in distribution for unweighted label metrics; see
        :mod:`assay.metrics.bootstrap` for weighted data and ``ece``.
    confidence_level : float in (0, 1), default 0.95
        Confidence level of the intervals. ``ci_level=`` is a deprecated alias.
    random_state : None, int or numpy Generator, default None
        Seed of the resamples; the same int gives identical intervals (and JSON).
    average : {"binary", "ovr", "macro"}, default "binary"
        How the label metrics read ``y_true`` and ``y_pred``:

        * ``"binary"``: two labels at most, ``pos_label`` positive (the default).
        * ``"ovr"``: any number of classes; ``accuracy``, ``error_rate`` and
          ``balanced_accuracy`` (mean recall over the classes present, as scikit-learn) are
          multiclass; every other label metric is that of ``pos_label`` against all other
          classes (one-vs-rest).
        * ``"macro"``: as ``"ovr"``, but each one-vs-rest metric is the unweighted mean over
          the classes (every label seen in ``y_true`` or ``y_pred``) where it is defined:
          scikit-learn's ``average="macro"`` with ``zero_division=np.nan``.

    y_interval : array-like of shape (n, 2) or (n, d, 2), optional
        Prediction intervals (lower, upper) of a regression model, for ``"interval_coverage"``
        and ``"interval_width"``.

    Returns
    -------
    GroupedMetrics
        With ``ci``, ``overall_ci`` and ``resamples`` when ``n_boot > 0``.

    Notes
    -----
    This is ``GroupedStats(pos_label=..., n_bins=...).update(...).compute(...)``: one pass over
    the rows fills the statistics of the finest cells, every grouping sums them. The same
    table comes from batches (:func:`evaluate_groups_batches`) or a Dask DataFrame
    (:func:`assay.metrics.distributed.evaluate_groups_dask`).

    Undefined values (0/0, e.g. TPR of a group without positives) are NaN and raise an
    :class:`~assay.core.errors.UndefinedMetricWarning` naming the metric and the group(s).

    Examples
    --------
    >>> result = evaluate_groups(y_true, y_pred, sensitive_features=df[["sex", "race"]])  # doctest: +SKIP
    >>> result.by_group.loc[("sex x race", "Female x Black"), "tpr"]      # doctest: +SKIP
    >>> result.difference()                                                 # doctest: +SKIP
    """
    owner = "evaluate_groups"
    confidence_level = renamed_parameter(confidence_level, ci_level, name="confidence_level", old="ci_level",
                                         owner=owner, default=0.95)
    aligned = align_pandas(y_true=y_true, y_pred=y_pred, y_score=y_score, sensitive_features=sensitive_features,
                           sample_weight=sample_weight, y_interval=y_interval,
                           **({} if not isinstance(values, Mapping) else {f"values[{k!r}]": v for k, v in values.items()}))
    y_true, y_pred, y_score = aligned["y_true"], aligned["y_pred"], aligned["y_score"]
    sensitive_features, sample_weight = aligned["sensitive_features"], aligned["sample_weight"]
    y_interval = aligned["y_interval"]
    if isinstance(values, Mapping):
        values = {k: aligned[f"values[{k!r}]"] for k in values}
    if values is not None:
        values = check_values(values)
    sample_weight = check_sample_weight(sample_weight, allow_all_zero=False)
    metrics = _default_metrics(metrics, y_true, values)
    names, label_metrics, score_metrics = _plan(metrics)
    _value_columns(names, None if values is None else tuple(values))
    _check_table_params(owner, intersections, min_group_size, n_boot, confidence_level)
    check_option(average, "average", owner=owner, options=AVERAGES)
    check_scalar(n_bins, "n_bins", owner=owner, kind=(int, np.integer), low=1)
    if n_boot:
        check_random_state(random_state, name="random_state")
    reg_metrics = _regression_metrics(names, label_metrics, score_metrics)
    if reg_metrics or y_interval is not None:
        return _evaluate_regression(owner, y_true, y_pred, y_score, y_interval, sensitive_features, values,
                                    sample_weight, names, reg_metrics, intersections=intersections,
                                    min_group_size=min_group_size, n_boot=n_boot,
                                    confidence_level=confidence_level, random_state=random_state)
    if y_true is None and (values is None or label_metrics or score_metrics):
        raise AssayInputError(_NEEDS_INPUT.format(name="y_true", metrics=[*label_metrics, *score_metrics]
                                                  or list(names)))
    if y_true is not None:
        y_true = check_labels_1d(y_true, name="y_true")
    if y_pred is None and label_metrics:
        raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics=label_metrics))
    if y_score is None and score_metrics:
        raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics=score_metrics))
    if y_true is not None:
        _check_unused(y_true, None if label_metrics else y_pred, None if score_metrics else y_score)
    uses_y_true = bool(label_metrics or score_metrics) or values is None
    stats = GroupedStats(pos_label=pos_label, n_bins=n_bins, keep_ranks=_needs_ranks(names, n_boot),
                         multiclass=average != "binary" and bool(label_metrics),
                         keep_losses=_needs_losses(names)).update(
        y_true if uses_y_true else None,
        y_pred if label_metrics else None,
        y_score=y_score if score_metrics else None,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        values=values,
    )
    return stats.compute(names, intersections=intersections, min_group_size=min_group_size,
                         n_boot=n_boot, confidence_level=confidence_level, random_state=random_state, average=average)


def _evaluate_regression(owner: str, y_true: Any, y_pred: Any, y_score: Any, y_interval: Any,
                         sensitive_features: Any, values: Any, sample_weight: Any, names: Sequence[str],
                         reg_metrics: Sequence[str], **table: Any) -> GroupedMetrics:
    """:func:`evaluate_groups` of the regression metrics (``GroupedStats(regression=True)``)."""
    if not reg_metrics:
        raise AssayInputError(
            f"'y_interval' is read only by the regression metrics; {owner} got it with the metrics "
            f"{list(names)}. Add 'interval_coverage' or 'interval_width', or leave y_interval out."
        )
    if y_score is not None:
        raise AssayInputError(
            f"'y_score' is not read by the regression metrics {list(reg_metrics)}. Got an array; leave it out."
        )
    for name, given in (("y_true", y_true), ("y_pred", y_pred)):
        if given is None:
            raise AssayInputError(_NEEDS_INPUT.format(name=name, metrics=list(reg_metrics)))
    needs_interval(reg_metrics, y_interval is not None)
    stats = GroupedStats(regression=True).update(y_true, y_pred, sensitive_features=sensitive_features,
                                                 sample_weight=sample_weight, values=values, y_interval=y_interval)
    return stats.compute(names, **table)


def _default_metrics(metrics: Any, y_true: Any, values: Mapping[str, Any] | None) -> Any:
    """``metrics``, or its default: the label metrics, or the mean of every value without ``y_true``."""
    if metrics is not None:
        return metrics
    if y_true is None and values:
        return [f"mean:{key}" for key in values]
    return DEFAULT_METRICS


def _batch_arguments(batch: Any, index: int) -> dict[str, Any]:
    if isinstance(batch, Mapping):
        unknown = [k for k in batch if k not in _BATCH_KEYS]
        if unknown or ("y_true" not in batch and "values" not in batch) or "sensitive_features" not in batch:
            raise AssayInputError(_BAD_BATCH.format(
                keys=list(_BATCH_KEYS), received=f"a dict with keys {list(batch)}", index=index
            ))
        return {key: batch.get(key) for key in _BATCH_KEYS}
    if isinstance(batch, (tuple, list)) and len(batch) in (4, 5):
        given = dict(zip(_BATCH_KEYS, (*batch, None) if len(batch) == 4 else batch))
        return {key: given.get(key) for key in _BATCH_KEYS}
    raise AssayInputError(_BAD_BATCH.format(keys=list(_BATCH_KEYS), received=describe(batch), index=index))


def evaluate_groups_batches(
    batches: Iterable[Any],
    *,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    intersections: bool = True,
    min_group_size: int = 30,
    n_bins: int = 15,
    pos_label: Any = 1,
    n_boot: int = 0,
    confidence_level: float = 0.95,
    random_state: Any = None,
    average: str = "binary",
    ci_level: Any = NOT_GIVEN,
) -> GroupedMetrics:
    """:func:`evaluate_groups` over an iterable of batches, in one pass and bounded memory.

    Parameters
    ----------
    batches : iterable
        Each batch is a dict with keys ``y_true`` (or ``values``), ``sensitive_features`` and
        optionally ``y_pred``, ``y_score``, ``sample_weight``, ``values``, ``y_interval``
        (regression); or a tuple ``(y_true, y_pred, y_score,
        sensitive_features)`` or ``(..., sample_weight)`` (None for what is not given). Every
        batch gives the same features and the same kinds of input; a batch may lack some
        groups, and later batches may bring new ones. ``y_pred`` / ``y_score`` are read only
        when the metrics need them.
    metrics, intersections, min_group_size, n_bins, pos_label, n_boot, confidence_level, random_state, average
        As in :func:`evaluate_groups` (``ci_level``: deprecated alias of ``confidence_level``).

    Returns
    -------
    GroupedMetrics
        Identical to :func:`evaluate_groups` on the concatenated batches (see the module notes
        on weighted data).
    """
    owner = "evaluate_groups_batches"
    confidence_level = renamed_parameter(confidence_level, ci_level, name="confidence_level", old="ci_level",
                                         owner=owner, default=0.95)
    names, label_metrics, score_metrics = _plan(metrics)
    _check_table_params(owner, intersections, min_group_size, n_boot, confidence_level)
    check_option(average, "average", owner=owner, options=AVERAGES)
    check_scalar(n_bins, "n_bins", owner=owner, kind=(int, np.integer), low=1)
    if n_boot:
        check_random_state(random_state, name="random_state")
    if isinstance(batches, (str, bytes, Mapping)) or not isinstance(batches, Iterable):
        raise AssayInputError(_BAD_FEATURES.format(
            name="batches", expected="an iterable of batches (dicts or tuples)", received=describe(batches)
        ))
    reg_metrics = _regression_metrics(names, label_metrics, score_metrics)
    stats = GroupedStats(pos_label=pos_label, n_bins=n_bins, keep_ranks=_needs_ranks(names, n_boot),
                         multiclass=average != "binary" and bool(label_metrics),
                         keep_losses=_needs_losses(names), regression=bool(reg_metrics))
    count = 0
    for index, batch in enumerate(batches):
        args = _batch_arguments(batch, index)
        try:
            if reg_metrics:
                needs_interval(reg_metrics, args["y_interval"] is not None)
                stats.update(args["y_true"], args["y_pred"], sensitive_features=args["sensitive_features"],
                             sample_weight=args["sample_weight"], values=args["values"],
                             y_interval=args["y_interval"])
                count += 1
                continue
            values = args["values"]
            uses_y_true = bool(label_metrics or score_metrics) or values is None
            if args["y_true"] is None and uses_y_true:
                raise AssayInputError(_NEEDS_INPUT.format(name="y_true", metrics=[*label_metrics, *score_metrics]
                                                          or list(names)))
            y_true = check_labels_1d(args["y_true"], name="y_true") if uses_y_true else None
            if values is not None:
                values = check_values(values)
                _value_columns(names, tuple(values))
            if args["y_pred"] is None and label_metrics:
                raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics=label_metrics))
            if args["y_score"] is None and score_metrics:
                raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics=score_metrics))
            stats.update(
                y_true,
                args["y_pred"] if label_metrics else None,
                y_score=args["y_score"] if score_metrics else None,
                sensitive_features=args["sensitive_features"],
                sample_weight=args["sample_weight"],
                values=values,
            )
        except AssayInputError as exc:
            raise AssayInputError(_IN_BATCH.format(index=index, message=exc)) from None
        count += 1
    if not count:
        raise AssayInputError(_NO_BATCHES)
    return stats.compute(names, intersections=intersections, min_group_size=min_group_size,
                         n_boot=n_boot, confidence_level=confidence_level, random_state=random_state, average=average)


# ---------------------------------------------------------------------------------------------
# Comparing two tables
# ---------------------------------------------------------------------------------------------

_CHANGE_COLUMNS = ("baseline", "other", "change", "relative_change")


def relative_change(baseline: GroupedMetrics, other: GroupedMetrics) -> pd.DataFrame:
    """How each metric of each group changed from a baseline model's table to another's.

    The layout of compressed-vs-dense studies (e.g. a dense model as ``baseline``, its pruned
    or quantized version as ``other``): for every group -- overall first, then the rows of
    ``by_group`` -- and every metric, the two values, the absolute change ``other -
    baseline`` and the relative change ``(other - baseline) / |baseline|`` (NaN where the
    baseline is 0 or NaN).

    Parameters
    ----------
    baseline, other : GroupedMetrics
        Tables of the same groups and metrics (typically the same data and sensitive
        features, two models).

    Returns
    -------
    DataFrame
        Rows: MultiIndex ``(feature, group)`` with ``("overall", "all")`` first. Columns:
        MultiIndex ``(metric, quantity)`` with quantity in ``baseline``, ``other``, ``change``,
        ``relative_change``, for each metric but ``count``; then ``("count", "baseline")`` and
        ``("count", "other")``.
    """
    for name, table in (("baseline", baseline), ("other", other)):
        if not isinstance(table, GroupedMetrics):
            raise AssayInputError(_NOT_GROUPED.format(name=name, received=describe(table)))
    if set(other.metrics) != set(baseline.metrics):
        raise AssayInputError(_TABLES_DIFFER.format(
            what="metrics", detail=f"Got {list(other.metrics)} instead of {list(baseline.metrics)}."
        ))
    if not other.by_group.index.equals(baseline.by_group.index):
        left, right = set(baseline.by_group.index), set(other.by_group.index)
        missing, extra = sorted(left - right), sorted(right - left)
        detail = (f"Missing groups {missing[:10]}; extra groups {extra[:10]}." if missing or extra
                  else "Got the same groups in a different order.")
        if missing or extra:
            raise AssayInputError(_TABLES_DIFFER.format(what="groups", detail=detail))
    metrics = [m for m in baseline.metrics if m != "count"]
    index = pd.MultiIndex.from_tuples([("overall", "all"), *baseline.by_group.index], names=["feature", "group"])

    def values(table: GroupedMetrics, column: str) -> np.ndarray:
        rows = table.by_group.loc[baseline.by_group.index, column].to_numpy(np.float64)
        return np.concatenate([[float(table.overall[column])], rows])

    data: dict[tuple[str, str], np.ndarray] = {}
    for metric in metrics:
        before, after = values(baseline, metric), values(other, metric)
        change = after - before
        relative = np.full(change.shape, np.nan)
        np.divide(change, np.abs(before), out=relative, where=np.abs(before) > 0)
        for quantity, column in zip(_CHANGE_COLUMNS, (before, after, change, relative)):
            data[(metric, quantity)] = column
    data[("count", "baseline")] = values(baseline, "count")
    data[("count", "other")] = values(other, "count")
    frame = pd.DataFrame(data, index=index)
    frame.columns = pd.MultiIndex.from_tuples(list(data), names=["metric", "quantity"])
    return frame
