"""Metrics broken down by group and by intersections of groups.

:func:`make_groups` turns sensitive features into groupings (each feature, and each
combination of features) with integer codes per row. :func:`evaluate_groups` makes one pass
over the rows to fill the sufficient statistics of the finest groups (the intersection of all
features), then sums those into every grouping and into the overall statistics, and applies
the formulas of :mod:`assay.metrics.classification`. The result is a :class:`GroupedMetrics`.

Small groups are flagged in the ``small`` column of ``by_group``, never hidden.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Hashable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import check_consistent_length, check_option, check_scalar, check_sensitive_features
from ._checks import (
    check_binary_labels,
    check_class_indices,
    check_labels_1d,
    check_prob,
    check_sample_weight,
)
from ._stats import CalibrationStats, ConfusionStats
from .classification import METRICS

SEPARATOR = " x "
"""Joins feature names ("sex x race") and group labels ("Female x Black") of intersections."""

DEFAULT_METRICS = ("accuracy", "selection_rate", "tpr", "fpr")

_UNKNOWN_METRIC = "'metrics' must name metrics among {valid}. Got unknown name(s) {unknown} instead."
_EMPTY_METRICS = "'metrics' must name at least one metric among {valid}. Got {received} instead."
_NEEDS_INPUT = "'{name}' is required for the metric(s) {metrics}. Got None instead."
_DUPLICATE_FEATURES = "'sensitive_features' must have distinct column names. Got {columns}."
_UNKNOWN_FEATURE = "'feature' must be one of {valid} (or None for all). Got {received!r} instead."
_NOT_BOOL = "The '{name}' parameter of {owner} must be a bool. Got {received!r} instead."

_AGGREGATE_METHODS = ("between_groups", "to_overall")

FeatureSelection = str | Sequence[str] | None
"""Which features an aggregate covers: one name, several, or None for all."""


def _selected(features: tuple[str, ...], feature: FeatureSelection) -> list[str]:
    if feature is None:
        return list(features)
    return [feature] if isinstance(feature, str) else list(feature)


# ---------------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Grouping:
    """One way of splitting the rows into groups: a feature, or an intersection of features.

    Attributes
    ----------
    name : str
        ``"sex"``, or ``"sex x race"`` for an intersection.
    features : tuple of str
        The sensitive features it splits by.
    labels : tuple
        Group labels in sorted order: strings for one feature, tuples of strings for an
        intersection (only combinations that occur in the data).
    codes : ndarray of int64, shape (n_samples,)
        The group of each row, an index into ``labels``.
    cell_map : ndarray of int64, shape (n_cells,)
        The group of each finest cell (see :attr:`Groups.cells`): statistics of the finest
        cells summed with this map are the statistics of this grouping.
    """

    name: str
    features: tuple[str, ...]
    labels: tuple[Hashable, ...]
    codes: np.ndarray
    cell_map: np.ndarray

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.labels)

    @property
    def label_strings(self) -> tuple[str, ...]:
        """Labels as strings; intersections joined with ``" x "`` ("Female x Black")."""
        return tuple(SEPARATOR.join(lab) if isinstance(lab, tuple) else str(lab) for lab in self.labels)

    def __repr__(self) -> str:
        return f"Grouping(name={self.name!r}, n_groups={self.n_groups})"


@dataclasses.dataclass(frozen=True, eq=False)
class Groups:
    """The groupings of a set of sensitive features; iterate over it for each :class:`Grouping`.

    Attributes
    ----------
    features : tuple of str
        The sensitive features, in the given column order.
    groupings : tuple of Grouping
        Each feature alone, then (with intersections) every combination of 2..k features, in
        ``itertools.combinations`` order of the columns.
    cells : Grouping
        The finest partition: the intersection of all features (always computed, even without
        intersections). Every grouping is a union of cells.
    """

    features: tuple[str, ...]
    groupings: tuple[Grouping, ...]
    cells: Grouping

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the groupings."""
        return tuple(g.name for g in self.groupings)

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return len(self.cells.codes)

    def __iter__(self) -> Iterator[Grouping]:
        return iter(self.groupings)

    def __len__(self) -> int:
        return len(self.groupings)

    def __getitem__(self, name: str) -> Grouping:
        for grouping in self.groupings:
            if grouping.name == name:
                return grouping
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"Groups(features={list(self.features)!r}, groupings={list(self.names)!r})"


def _combine(keys: np.ndarray, cardinalities: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mixed-radix code of each row of ``keys`` compacted to 0..m-1 in lexicographic order.

    Returns ``(codes, first)``: the compact code of each row and, for each code, one row that has it.
    """
    combined = np.zeros(len(keys), dtype=np.int64)
    for j, cardinality in enumerate(cardinalities):
        combined = combined * cardinality + keys[:, j]
    _, first, codes = np.unique(combined, return_index=True, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), first


def make_groups(
    sensitive_features: Any, intersections: bool = True, *, n_samples: int | None = None
) -> Groups:
    """Groupings of the rows by each sensitive feature and, optionally, their intersections.

    Parameters
    ----------
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        One column per feature (see :func:`assay.core.validation.check_sensitive_features`);
        values are compared as strings. Each feature needs at least two groups.
    intersections : bool, default True
        Also group by every combination of 2..k features (``"sex x race"``).
    n_samples : int, optional
        Expected number of rows (checked).

    Returns
    -------
    Groups
        Group labels are sorted (as strings; intersections lexicographically by feature).
        Intersections list only the combinations present in the data.
    """
    if not isinstance(intersections, (bool, np.bool_)):
        raise AssayInputError(
            _NOT_BOOL.format(name="intersections", owner="make_groups", received=intersections)
        )
    frame = check_sensitive_features(sensitive_features, n_samples=n_samples)
    features = tuple(frame.columns)
    if len(set(features)) != len(features):
        raise AssayInputError(_DUPLICATE_FEATURES.format(columns=list(features)))
    per_feature = [pd.factorize(frame[f].to_numpy(), sort=True) for f in features]
    uniques = [np.asarray(u, dtype=object) for _, u in per_feature]
    cards = [len(u) for u in uniques]
    keys = np.column_stack([codes.astype(np.int64) for codes, _ in per_feature])

    # Finest cells: the intersection of all features, in lexicographic order of the codes
    # (= sorted order of the label tuples, as each feature's codes follow its sorted labels).
    cell_codes, cell_first = _combine(keys, cards)
    cell_keys = keys[cell_first]  # (n_cells, k): per-feature code of each cell

    def grouping(columns: tuple[int, ...]) -> Grouping:
        sub = cell_keys[:, columns]
        cell_map, first = _combine(sub, [cards[j] for j in columns])
        group_keys = sub[first]
        if len(columns) == 1:
            labels: tuple[Hashable, ...] = tuple(str(v) for v in uniques[columns[0]][group_keys[:, 0]])
        else:
            labels = tuple(
                tuple(str(uniques[j][key[i]]) for i, j in enumerate(columns)) for key in group_keys
            )
        names = tuple(features[j] for j in columns)
        return Grouping(SEPARATOR.join(names), names, labels, cell_map[cell_codes], cell_map)

    sizes = range(1, len(features) + 1) if intersections else range(1, 2)
    groupings = tuple(
        grouping(c) for size in sizes for c in itertools.combinations(range(len(features)), size)
    )
    cells = grouping(tuple(range(len(features))))
    return Groups(features, groupings, cells)


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class GroupedMetrics(Result):
    """Metrics overall and for every group and intersection of groups.

    Attributes
    ----------
    overall : Series
        Metric name -> value on all rows (with ``count``).
    by_group : DataFrame
        Rows: MultiIndex ``(feature, group)`` such as ``("sex x race", "Female x Black")``.
        Columns: the metrics, ``count`` (unweighted rows) and ``small`` (``count <
        min_group_size``; small groups are flagged, never hidden).
    metrics : tuple of str
        The metrics asked for, in order.
    higher_is_better : dict
        Metric -> True, False, or None (no direction: count, selection_rate, base_rate).
    min_group_size : int
        Groups with fewer rows are flagged ``small``.
    params : dict
        The settings used (intersections, n_bins, pos_label, weighted).

    The aggregates (:meth:`difference`, :meth:`ratio`, :meth:`group_min`, :meth:`group_max`,
    :meth:`worst_group`) are computed on demand, per feature (each row of the result is one
    feature or intersection), skip NaN values, and always return a DataFrame.
    """

    overall: pd.Series
    by_group: pd.DataFrame
    metrics: tuple[str, ...]
    higher_is_better: dict[str, bool | None]
    min_group_size: int
    params: dict[str, Any]

    kind: ClassVar[str] = "grouped_metrics"

    @property
    def features(self) -> tuple[str, ...]:
        """The features and intersections, in table order."""
        return tuple(dict.fromkeys(self.by_group.index.get_level_values("feature")))

    def __repr__(self) -> str:
        return (
            f"GroupedMetrics(metrics={list(self.metrics)!r}, features={list(self.features)!r}, "
            f"n_groups={len(self.by_group)}, n_small={int(self.by_group['small'].sum())})"
        )

    # -- aggregates ---------------------------------------------------------------------------

    def _table(self, feature: FeatureSelection, include_small: bool, owner: str) -> pd.DataFrame:
        if not isinstance(include_small, (bool, np.bool_)):
            raise AssayInputError(
                _NOT_BOOL.format(name="include_small", owner=owner, received=include_small)
            )
        table = self.by_group
        if feature is not None:
            wanted = _selected(self.features, feature)
            unknown = [f for f in wanted if f not in self.features]
            if unknown or not wanted:
                raise AssayInputError(
                    _UNKNOWN_FEATURE.format(valid=list(self.features), received=feature)
                )
            table = table[table.index.get_level_values("feature").isin(wanted)]
        if not include_small:
            table = table[~table["small"].to_numpy(bool)]
        return table[list(self.metrics)].astype(np.float64)

    def _by_feature(self, table: pd.DataFrame) -> Any:
        return table.groupby(level="feature", sort=False)

    def _reindexed(self, frame: pd.DataFrame, feature: FeatureSelection) -> pd.DataFrame:
        order = _selected(self.features, feature)
        return frame.reindex(index=pd.Index(order, name="feature"), columns=list(self.metrics))

    def group_min(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """Smallest value over the groups of each feature (rows: features, columns: metrics)."""
        table = self._table(feature, include_small, "GroupedMetrics.group_min")
        return self._reindexed(self._by_feature(table).min(), feature)

    def group_max(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """Largest value over the groups of each feature (rows: features, columns: metrics)."""
        table = self._table(feature, include_small, "GroupedMetrics.group_max")
        return self._reindexed(self._by_feature(table).max(), feature)

    def difference(
        self,
        method: str = "between_groups",
        feature: FeatureSelection = None,
        *,
        include_small: bool = True,
    ) -> pd.DataFrame:
        """Largest gap per feature and metric.

        ``"between_groups"``: ``group_max - group_min``. ``"to_overall"``: the largest
        ``|group value - overall value|``. NaN values are skipped; all NaN gives NaN.
        Rows: features (and intersections); columns: metrics.
        """
        owner = "GroupedMetrics.difference"
        check_option(method, "method", owner=owner, options=_AGGREGATE_METHODS)
        table = self._table(feature, include_small, owner)
        if method == "between_groups":
            grouped = self._by_feature(table)
            result = grouped.max() - grouped.min()
        else:
            gaps = (table - self.overall[list(self.metrics)].astype(np.float64)).abs()
            result = self._by_feature(gaps).max()
        return self._reindexed(result, feature)

    def ratio(
        self,
        method: str = "between_groups",
        feature: FeatureSelection = None,
        *,
        include_small: bool = True,
    ) -> pd.DataFrame:
        """Smallest ratio per feature and metric, at most 1.

        ``"between_groups"``: ``group_min / group_max``. ``"to_overall"``: the smallest of
        ``group / overall`` and ``overall / group`` over the groups. 0/0 is NaN; NaN values are
        skipped. Rows: features (and intersections); columns: metrics.
        """
        owner = "GroupedMetrics.ratio"
        check_option(method, "method", owner=owner, options=_AGGREGATE_METHODS)
        table = self._table(feature, include_small, owner)
        with np.errstate(divide="ignore", invalid="ignore"):
            if method == "between_groups":
                grouped = self._by_feature(table)
                result = grouped.min() / grouped.max()
            else:
                ratios = table / self.overall[list(self.metrics)].astype(np.float64)
                ratios = ratios.where(~(ratios > 1), 1 / ratios)
                result = self._by_feature(ratios).min()
        return self._reindexed(result, feature)

    def worst_group(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """The worst group per feature and metric, by ``higher_is_better``.

        Metrics without a direction (``count``, ``selection_rate``, ``base_rate``) are left
        out. Rows: MultiIndex ``(feature, metric)``; columns ``group`` (None where every group
        is NaN), ``value``, ``count`` and ``small``.
        """
        table = self._table(feature, include_small, "GroupedMetrics.worst_group")
        ranked = [m for m in self.metrics if self.higher_is_better.get(m) is not None]
        rows, index = [], []
        for name in _selected(self.features, feature):
            part = table[table.index.get_level_values("feature") == name]
            for metric in ranked:
                values = part[metric]
                index.append((name, metric))
                if values.notna().any():
                    key = values.idxmin() if self.higher_is_better[metric] else values.idxmax()
                    row = self.by_group.loc[key]
                    rows.append((key[1], float(values[key]), int(row["count"]), bool(row["small"])))
                else:
                    rows.append((None, np.nan, 0, False))
        return pd.DataFrame(
            rows,
            index=pd.MultiIndex.from_tuples(index, names=["feature", "metric"]),
            columns=["group", "value", "count", "small"],
        )

    # -- presentation -------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Gender Shades layout: rows are metrics (and ``count``), columns are groups.

        The first column is ``("overall", "all")``; then one column per ``(feature, group)``.
        """
        rows = [m for m in self.metrics if m != "count"] + ["count"]
        columns = pd.MultiIndex.from_tuples(
            [("overall", "all"), *self.by_group.index], names=["feature", "group"]
        )
        data = np.column_stack(
            [self.overall[rows].to_numpy(np.float64), self.by_group[rows].to_numpy(np.float64).T]
        )
        return pd.DataFrame(data, index=pd.Index(rows, name="metric"), columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record; ``by_group`` rows are indexed by ``[feature, group]`` pairs."""
        out = super().to_dict()
        out["by_group"]["index"] = [[str(f), str(g)] for f, g in self.by_group.index]
        return out


# ---------------------------------------------------------------------------------------------
# evaluate_groups
# ---------------------------------------------------------------------------------------------


def _check_metrics(metrics: Any) -> tuple[str, ...]:
    valid = list(METRICS)
    names = [metrics] if isinstance(metrics, str) else metrics
    try:
        names = list(names)
    except TypeError:
        raise AssayInputError(_EMPTY_METRICS.format(valid=valid, received=repr(metrics))) from None
    if not names:
        raise AssayInputError(_EMPTY_METRICS.format(valid=valid, received=repr(metrics)))
    unknown = [m for m in names if not isinstance(m, str) or m not in METRICS]
    if unknown:
        raise AssayInputError(_UNKNOWN_METRIC.format(valid=valid, unknown=unknown))
    return tuple(dict.fromkeys(names))


def evaluate_groups(
    y_true: Any,
    y_pred: Any = None,
    *,
    y_score: Any = None,
    sensitive_features: Any,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    intersections: bool = True,
    min_group_size: int = 30,
    sample_weight: Any = None,
    n_bins: int = 15,
    pos_label: Any = 1,
) -> GroupedMetrics:
    """Metrics overall, per group of each sensitive feature, and per intersection of features.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels. Binary for the label metrics and for binary calibration; class indices
        ``0..k-1`` when ``y_score`` has ``k >= 3`` columns.
    y_pred : array-like of shape (n,), optional
        Predicted labels; needed by every metric but ``ece`` and ``count``. **Binary only**:
        ``y_true`` and ``y_pred`` together may hold at most two labels.
    y_score : array-like of shape (n,) or (n, k), optional
        Probabilities; needed by ``ece``. (n,): probability of ``pos_label``; (n, 2): column 1
        is that probability; (n, k >= 3): top-label calibration (see :class:`CalibrationStats`).
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        One column per feature, each with at least two groups.
    metrics : str or sequence of str, default ("accuracy", "selection_rate", "tpr", "fpr")
        Names from :data:`METRICS`.
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

    Returns
    -------
    GroupedMetrics

    Notes
    -----
    Undefined values (0/0, e.g. TPR of a group without positives) are NaN and raise an
    :class:`~assay.core.errors.UndefinedMetricWarning` naming the metric and the group(s).

    Examples
    --------
    >>> result = evaluate_groups(y_true, y_pred, sensitive_features=df[["sex", "race"]])  # doctest: +SKIP
    >>> result.by_group.loc[("sex x race", "Female x Black"), "tpr"]      # doctest: +SKIP
    >>> result.difference()                                                 # doctest: +SKIP
    """
    owner = "evaluate_groups"
    names = _check_metrics(metrics)
    check_scalar(min_group_size, "min_group_size", owner=owner, kind=(int, np.integer), low=0)
    check_scalar(n_bins, "n_bins", owner=owner, kind=(int, np.integer), low=1)
    if not isinstance(intersections, (bool, np.bool_)):
        raise AssayInputError(
            _NOT_BOOL.format(name="intersections", owner=owner, received=intersections)
        )
    label_metrics = [m for m in names if METRICS[m].needs == "labels" and m != "count"]
    score_metrics = [m for m in names if METRICS[m].needs == "scores"]

    y_true = check_labels_1d(y_true, name="y_true")
    if y_pred is None and label_metrics:
        raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics=label_metrics))
    if y_pred is not None:
        y_pred = check_labels_1d(y_pred, name="y_pred")
    if y_score is None and score_metrics:
        raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics=score_metrics))
    if y_score is not None:
        y_score = check_prob(y_score, name="y_score")
    w = check_sample_weight(sample_weight)
    n = check_consistent_length(y_true=y_true, y_pred=y_pred, y_score=y_score, sample_weight=w)
    top_label = y_score is not None and y_score.ndim == 2 and y_score.shape[1] > 2
    if label_metrics:
        check_binary_labels(y_true, y_pred, pos_label)
    if score_metrics:
        if top_label:
            y_index = check_class_indices(y_true, y_score.shape[1], name="y_true", prob_name="y_score")
        elif not label_metrics:
            check_binary_labels(y_true, None, pos_label)
    groups = make_groups(sensitive_features, intersections, n_samples=n)

    # One pass over the rows: statistics of the finest cells; every grouping sums them.
    cells = groups.cells
    n_cells = np.bincount(cells.codes, minlength=cells.n_groups)
    confusion = calibration = None
    if label_metrics:
        confusion = ConfusionStats(cells.n_groups, pos_label=pos_label)
        confusion._update(y_true, y_pred, cells.codes, w)
    if score_metrics:
        calibration = CalibrationStats(cells.n_groups, n_bins=n_bins, pos_label=pos_label)
        calibration._update(y_index if top_label else y_true, y_score, cells.codes, w)

    def compute(group_of: np.ndarray, labels: tuple[Hashable, ...]) -> dict[str, np.ndarray]:
        values: dict[str, np.ndarray] = {}
        summed = {
            "labels": confusion.aggregate(group_of, labels) if confusion is not None else None,
            "scores": calibration.aggregate(group_of, labels) if calibration is not None else None,
        }
        for metric in names:
            if metric != "count":
                spec = METRICS[metric]
                values[metric] = spec.function(summed[spec.needs])
        sizes = np.zeros(len(labels), dtype=np.int64)
        np.add.at(sizes, group_of, n_cells)
        values["count"] = sizes
        return values

    columns = [m for m in names if m != "count"] + ["count"]
    overall_values = compute(np.zeros(cells.n_groups, dtype=np.int64), ("overall",))
    overall = pd.Series({m: float(overall_values[m][0]) for m in columns}, name="overall", dtype=np.float64)

    blocks, index = [], []
    for grouping in groups:
        labels = grouping.label_strings
        values = compute(grouping.cell_map, labels)
        blocks.append(pd.DataFrame({m: values[m] for m in columns}))
        index += [(grouping.name, label) for label in labels]
    by_group = pd.concat(blocks, ignore_index=True)
    by_group.index = pd.MultiIndex.from_tuples(index, names=["feature", "group"])
    by_group["small"] = by_group["count"].to_numpy() < min_group_size

    return GroupedMetrics(
        overall=overall,
        by_group=by_group,
        metrics=names,
        higher_is_better={m: METRICS[m].higher_is_better for m in names},
        min_group_size=int(min_group_size),
        params={
            "intersections": bool(intersections),
            "n_bins": int(n_bins),
            "pos_label": pos_label.item() if isinstance(pos_label, np.generic) else pos_label,
            "weighted": w is not None,
            "features": list(groups.features),
        },
    )
