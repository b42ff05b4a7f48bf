"""Grouped tables of a Dask DataFrame: the distributed engine of :mod:`assay.metrics.grouped`.

Each partition becomes a :class:`~assay.metrics.GroupedStats` (its sums per finest cell of the
sensitive features -- a few kilobytes, whatever the partition's size); those objects are
merged pairwise up a tree (``split_every`` at a time), so no worker ever holds more than a
handful of them and the client receives one. The table is then computed from the merged
statistics exactly as :func:`~assay.metrics.evaluate_groups` computes it from arrays:
unweighted statistics are integers, so the numbers are identical (see the notes of
:mod:`assay.metrics.grouped` for weighted data).

The work runs on Dask's current scheduler: a ``dask.distributed.Client`` if one is active (a
cluster of many machines), else the local threaded scheduler. Dask is the ``dask`` extra
(``pip install 'assay[dask]'``); it is imported only when these functions are called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import NOT_GIVEN, check_scalar, describe, renamed_parameter

__all__ = ["evaluate_groups_dask", "grouped_stats_dask"]

_NO_DASK = (
    "{owner} needs Dask, which is not installed. Install the extra: pip install 'assay[dask]' "
    "(dask[dataframe] and distributed)."
)
_NOT_DASK_FRAME = "'ddf' must be a Dask DataFrame. Got {received} instead."
_BAD_COLUMN = "'{name}' must name {what} of 'ddf' (columns: {columns}). Got {received!r} instead."


def _import_dask(owner: str) -> tuple[Any, Any]:
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - the test extra installs dask
        raise ImportError(_NO_DASK.format(owner=owner)) from exc
    return dask, dd


def _column_names(value: Any, name: str, columns: list[str], *, many: bool, optional: bool) -> Any:
    """A column name (or, with ``many``, a name or list of names) of the frame, checked."""
    what = "a column or a list of columns" if many else "a column"
    if value is None:
        if optional:
            return None
        raise AssayInputError(_BAD_COLUMN.format(name=name, what=what, columns=columns, received=value))
    names = list(value) if many and isinstance(value, (list, tuple)) else [value]
    if not names or any(not isinstance(c, str) or c not in columns for c in names) or (
        isinstance(value, (list, tuple)) and not many
    ):
        raise AssayInputError(_BAD_COLUMN.format(name=name, what=what, columns=columns, received=value))
    return names if many and isinstance(value, (list, tuple)) else value


def _partition_stats(part: Any, y_true: str, y_pred: str | None, y_score: Any, features: list[str],
                     sample_weight: str | None, pos_label: Any, n_bins: int, keep_ranks: bool = False,
                     multiclass: bool = False, values: dict[str, str] | None = None,
                     keep_losses: bool = True, regression: bool = False,
                     y_interval: list[str] | None = None) -> Any:
    """The GroupedStats of one pandas partition (empty partitions give empty statistics)."""
    from .grouped import GroupedStats

    stats = GroupedStats(pos_label=pos_label, n_bins=n_bins, keep_ranks=keep_ranks, multiclass=multiclass,
                         keep_losses=keep_losses, regression=regression)
    if len(part) == 0:
        return stats
    if regression:
        return stats.update(
            part[y_true].to_numpy(dtype=np.float64), part[y_pred].to_numpy(dtype=np.float64),
            sensitive_features=part[features],
            sample_weight=None if sample_weight is None else part[sample_weight].to_numpy(dtype=np.float64),
            values=None if values is None else {key: part[col].to_numpy(dtype=np.float64)
                                                for key, col in values.items()},
            y_interval=None if y_interval is None else part[y_interval].to_numpy(dtype=np.float64),
        )
    score = None
    if y_score is not None:
        score = part[y_score].to_numpy(dtype=np.float64)
    return stats.update(
        None if y_true is None else part[y_true].to_numpy(),
        None if y_pred is None else part[y_pred].to_numpy(),
        y_score=score,
        sensitive_features=part[features],
        sample_weight=None if sample_weight is None else part[sample_weight].to_numpy(dtype=np.float64),
        values=None if values is None else {key: part[col].to_numpy(dtype=np.float64) for key, col in values.items()},
    )


def _merge_all(parts: Sequence[Any]) -> Any:
    """Merge a node's children in order (a fixed order: the result never depends on timing)."""
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    return merged


def grouped_stats_dask(
    ddf: Any,
    *,
    y_true: str | None = None,
    y_pred: str | None = None,
    y_score: str | Sequence[str] | None = None,
    sensitive_features: str | Sequence[str],
    sample_weight: str | None = None,
    pos_label: Any = 1,
    n_bins: int = 15,
    split_every: int = 8,
    keep_ranks: bool = False,
    multiclass: bool = False,
    values: dict[str, str] | None = None,
    keep_losses: bool = True,
    regression: bool = False,
    y_interval: Sequence[str] | None = None,
) -> Any:
    """The :class:`~assay.metrics.GroupedStats` of a Dask DataFrame (computed now).

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    y_true, y_pred, sample_weight : str
        Column names (``y_pred`` and ``sample_weight`` optional).
    y_score : str or list of str, optional
        The probability column, or the columns of a (n, k) probability matrix.
    sensitive_features : str or list of str
        The sensitive feature columns (categorical columns are fastest).
    pos_label, n_bins, keep_ranks, multiclass, keep_losses
        As in :class:`~assay.metrics.GroupedStats` (``keep_ranks``: also the per-cell score
        histograms, for ``roc_auc``; they travel up the tree like the other sums).
    split_every : int, default 8
        Fan-in of the tree reduction: each merge task combines this many statistics.
    values : dict of str -> str, optional
        Value name -> column of per-example numbers (see ``evaluate_groups(values=...)``);
        ``y_true`` may then be None.
    regression : bool, default False
        Read ``y_true`` / ``y_pred`` as numbers (one column each, or a list of columns for d
        outputs) and keep the regression sums (see ``GroupedStats(regression=True)``).
    y_interval : list of two str, optional
        With ``regression``: the lower and upper bound columns of a prediction interval (one output).
    """
    owner = "grouped_stats_dask"
    dask, dd = _import_dask(owner)
    if not isinstance(ddf, dd.DataFrame):
        raise AssayInputError(_NOT_DASK_FRAME.format(received=describe(ddf)))
    check_scalar(split_every, "split_every", owner=owner, kind=(int, np.integer), low=2)
    columns = [str(c) for c in ddf.columns]
    y_true = _column_names(y_true, "y_true", columns, many=False, optional=values is not None)
    if values is not None:
        if not isinstance(values, dict) or not values:
            raise AssayInputError(_BAD_COLUMN.format(name="values", what="a dict of value name -> column",
                                                     columns=columns, received=values))
        values = {key: _column_names(col, f"values[{key!r}]", columns, many=False, optional=False)
                  for key, col in values.items()}
    if regression:
        y_true = _column_names(y_true, "y_true", columns, many=True, optional=False)
        y_pred = _column_names(y_pred, "y_pred", columns, many=True, optional=False)
        if y_interval is not None:
            y_interval = _column_names(y_interval, "y_interval", columns, many=True, optional=False)
            if not isinstance(y_interval, list) or len(y_interval) != 2:
                raise AssayInputError(_BAD_COLUMN.format(name="y_interval", what="a list of two columns "
                                                         "(lower, upper)", columns=columns, received=y_interval))
    else:
        y_pred = _column_names(y_pred, "y_pred", columns, many=False, optional=True)
    y_score = _column_names(y_score, "y_score", columns, many=True, optional=True)
    sample_weight = _column_names(sample_weight, "sample_weight", columns, many=False, optional=True)
    features = _column_names(sensitive_features, "sensitive_features", columns, many=True, optional=False)
    features = features if isinstance(features, list) else [features]

    from .grouped import GroupedStats

    GroupedStats(pos_label=pos_label, n_bins=n_bins, keep_ranks=keep_ranks, multiclass=multiclass,
                 keep_losses=keep_losses, regression=regression)  # checks first
    layer = [
        dask.delayed(_partition_stats, pure=True)(
            part, y_true, y_pred, y_score, features, sample_weight, pos_label, int(n_bins), bool(keep_ranks),
            bool(multiclass), values, bool(keep_losses), bool(regression), y_interval,
        )
        for part in ddf.to_delayed()
    ]
    while len(layer) > 1:
        layer = [
            dask.delayed(_merge_all, pure=True)(layer[i:i + split_every])
            for i in range(0, len(layer), split_every)
        ]
    (stats,) = dask.compute(layer[0])
    return stats


def evaluate_groups_dask(
    ddf: Any,
    *,
    y_true: str | None = None,
    y_pred: str | None = None,
    y_score: str | Sequence[str] | None = None,
    sensitive_features: str | Sequence[str],
    sample_weight: str | None = None,
    values: dict[str, str] | None = None,
    metrics: str | Sequence[str] | None = None,
    intersections: bool = True,
    min_group_size: int = 30,
    n_bins: int = 15,
    pos_label: Any = 1,
    n_boot: int = 0,
    confidence_level: float = 0.95,
    random_state: Any = None,
    split_every: int = 8,
    average: str = "binary",
    y_interval: Sequence[str] | None = None,
    ci_level: Any = NOT_GIVEN,
) -> Any:
    """:func:`~assay.metrics.evaluate_groups` on a Dask DataFrame, given by column names.

    One pass over the partitions (``map`` to per-partition :class:`~assay.metrics.GroupedStats`,
    tree reduction of ``split_every`` at a time), then the table and its bootstrap intervals
    from the merged statistics on the client -- identical to :func:`evaluate_groups` on the
    same rows in memory. Only the columns the metrics need are read.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
    y_true, y_pred, y_score, sensitive_features, sample_weight, values
        Column names, as in :func:`grouped_stats_dask`.
    metrics, intersections, min_group_size, n_bins, pos_label, n_boot, confidence_level, random_state, average
        As in :func:`~assay.metrics.evaluate_groups` (``ci_level``: deprecated alias of ``confidence_level``).
    split_every : int, default 8
        Fan-in of the tree reduction.
    y_interval : list of two str, optional
        Lower and upper bound columns, for ``interval_coverage`` / ``interval_width``. With
        regression metrics ``y_true`` / ``y_pred`` may be lists of columns (d outputs).

    Returns
    -------
    GroupedMetrics
    """
    from .grouped import (
        _NEEDS_INPUT,
        _check_table_params,
        _default_metrics,
        _needs_losses,
        _needs_ranks,
        _plan,
        _regression_metrics,
        _value_columns,
    )
    from .regression import needs_interval

    owner = "evaluate_groups_dask"
    confidence_level = renamed_parameter(confidence_level, ci_level, name="confidence_level", old="ci_level",
                                         owner=owner, default=0.95)
    names, label_metrics, score_metrics = _plan(_default_metrics(metrics, y_true, values))
    _value_columns(names, None if not isinstance(values, dict) else tuple(values))
    _check_table_params(owner, intersections, min_group_size, n_boot, confidence_level)
    check_scalar(n_bins, "n_bins", owner=owner, kind=(int, np.integer), low=1)
    reg_metrics = _regression_metrics(names, label_metrics, score_metrics)
    if reg_metrics:
        for name, given in (("y_true", y_true), ("y_pred", y_pred)):
            if given is None:
                raise AssayInputError(_NEEDS_INPUT.format(name=name, metrics=reg_metrics))
        needs_interval(reg_metrics, y_interval is not None)
        stats = grouped_stats_dask(ddf, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive_features,
                                   sample_weight=sample_weight, split_every=split_every, values=values,
                                   regression=True, y_interval=y_interval)
        return stats.compute(names, intersections=intersections, min_group_size=min_group_size, n_boot=n_boot,
                             confidence_level=confidence_level, random_state=random_state)
    if y_pred is None and label_metrics:
        raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics=label_metrics))
    if y_score is None and score_metrics:
        raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics=score_metrics))
    if y_true is None and (values is None or label_metrics or score_metrics):
        raise AssayInputError(_NEEDS_INPUT.format(name="y_true", metrics=[*label_metrics, *score_metrics]
                                                  or list(names)))
    uses_y_true = bool(label_metrics or score_metrics) or values is None
    stats = grouped_stats_dask(
        ddf,
        y_true=y_true if uses_y_true else None,
        y_pred=y_pred if label_metrics else None,
        y_score=y_score if score_metrics else None,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        pos_label=pos_label,
        n_bins=n_bins,
        split_every=split_every,
        keep_ranks=_needs_ranks(names, n_boot),
        keep_losses=_needs_losses(names),
        multiclass=average != "binary" and bool(label_metrics),
        values=values,
    )
    return stats.compute(names, intersections=intersections, min_group_size=min_group_size,
                         n_boot=n_boot, confidence_level=confidence_level, random_state=random_state, average=average)
