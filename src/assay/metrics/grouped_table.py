"""The grouped table: :class:`GroupedMetrics` (overall, by group and intersection, intervals).

Built from a :class:`~assay.metrics.grouped_stats.GroupedStats` by
:meth:`GroupedMetrics.from_stats`; the helpers that check metric names and table settings
(shared by every entry point) live here too.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result, to_jsonable
from ..core.validation import NOT_GIVEN, check_bool, check_option, check_random_state, check_scalar, describe, renamed_parameter
from . import bootstrap as _bootstrap
from ._checks import metric_names
from .classification import AVERAGES, METRICS, multiclass_metric
from .grouped_stats import DEFAULT_METRICS, _NEEDS_INPUT, _NEEDS_RANKS, _NOT_STATS, GroupedStats
from .groups import SEPARATOR, _groupings_of_cells
from .regression import needs_interval, regression_resamples
from .values import (
    MOMENTS,
    VALUE_STATISTICS,
    CellStatistic,
    is_value_metric,
    parse_value_metric,
    point_values,
    value_resamples,
)

_UNKNOWN_METRIC = "'metrics' must name metrics among {valid}. Got unknown name(s) {unknown} instead."
_NEEDS_VALUES = "'values' is required for the metric {metric!r}. Got None instead."
_UNKNOWN_FEATURE = "'feature' must be one of {valid} (or None for all). Got {received!r} instead."
_NO_RESAMPLES = (
    "{owner} needs bootstrap resamples: pass 'n_boot' > 0 to evaluate_groups (or compute). "
    "This table has n_boot=0."
)

_AGGREGATE_METHODS = ("between_groups", "to_overall")
_BOUNDS = ("lower", "upper")

_NEEDS_MULTICLASS = (
    "average={average!r} needs multiclass confusion matrices: build the GroupedStats with "
    "multiclass=True (evaluate_groups does so itself for average='ovr' or 'macro')."
)
_MULTICLASS_BINARY = (
    "'y_true' and 'y_pred' hold more than two classes {classes}: pass average='ovr' (pos_label "
    "against the rest) or average='macro' (mean over classes) for the label metrics."
)

FeatureSelection = str | Sequence[str] | None
"""Which features an aggregate covers: one name, several, or None for all."""


def _selected(features: tuple[str, ...], feature: FeatureSelection) -> list[str]:
    if feature is None:
        return list(features)
    return [feature] if isinstance(feature, str) else list(feature)



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
        The settings used (intersections, n_bins, pos_label, weighted, features, n_boot,
        confidence_level, random_state; records written before the rename hold ``ci_level``).
    ci : DataFrame or None
        Bootstrap percentile intervals (with ``n_boot > 0``): rows as ``by_group``, columns a
        MultiIndex ``(metric, "lower" | "upper")`` over the metrics but ``count`` (fixed:
        the bootstrap is stratified by cell, so group sizes never vary).
    overall_ci : DataFrame or None
        The same for the overall values: rows are metrics, columns ``lower`` and ``upper``.
    resamples : ndarray or None
        The metric values on every resample, shape ``(n_boot, 1 + len(by_group),
        len(ci_metrics))``: column 0 of the second axis is overall, then the rows of
        ``by_group`` in order. What :meth:`difference_ci` and friends read, and what a
        derived quantity (e.g. the larger of two gaps) needs for its own interval. Left out of
        :meth:`to_dict` (the record keeps ``n_boot`` and ``random_state``, which reproduce it).

    The aggregates (:meth:`difference`, :meth:`ratio`, :meth:`group_min`, :meth:`group_max`,
    :meth:`worst_group`) are computed on demand, per feature (each row of the result is one
    feature or intersection), skip NaN values, and always return a DataFrame. With bootstrap
    resamples, :meth:`difference_ci`, :meth:`ratio_ci`, :meth:`group_min_ci` and
    :meth:`group_max_ci` give their percentile intervals, from the same resamples.
    """

    overall: pd.Series
    by_group: pd.DataFrame
    metrics: tuple[str, ...]
    higher_is_better: dict[str, bool | None]
    min_group_size: int
    params: dict[str, Any]
    ci: pd.DataFrame | None = None
    overall_ci: pd.DataFrame | None = None
    resamples: np.ndarray | None = dataclasses.field(default=None, repr=False)


    @property
    def features(self) -> tuple[str, ...]:
        """The features and intersections, in table order."""
        return tuple(dict.fromkeys(self.by_group.index.get_level_values("feature")))

    @property
    def _confidence_level(self) -> float:
        """The intervals' confidence level (``params``; ``ci_level`` in records from before the rename)."""
        return float(self.params.get("confidence_level", self.params.get("ci_level", 0.95)))

    @property
    def ci_metrics(self) -> tuple[str, ...]:
        """The metrics with bootstrap intervals: every metric but ``count``."""
        return tuple(m for m in self.metrics if m != "count")

    def __repr__(self) -> str:
        n_boot = self.params.get("n_boot", 0)
        return (
            f"GroupedMetrics(metrics={list(self.metrics)!r}, features={list(self.features)!r}, "
            f"n_groups={len(self.by_group)}, n_small={int(self.by_group['small'].sum())}"
            + (f", n_boot={n_boot}" if n_boot else "") + ")"
        )

    # -- aggregates ---------------------------------------------------------------------------

    def _table(self, feature: FeatureSelection, include_small: bool, owner: str) -> pd.DataFrame:
        check_bool(include_small, "include_small", owner=owner)
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
            # A gap needs two groups with a value: one defined group is NaN, not a gap of 0.
            result = (grouped.max() - grouped.min()).where(grouped.count() >= 2)
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
                result = (grouped.min() / grouped.max()).where(grouped.count() >= 2)
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

    def rename_metrics(self, names: dict[str, str]) -> GroupedMetrics:
        """The same table with metrics renamed (``{"mean:refused": "selection_rate"}``): values,
        intervals and resamples unchanged."""
        clash = [new for old, new in names.items() if new in self.metrics and new != old]
        unknown = [old for old in names if old not in self.metrics]
        if unknown or clash:
            raise AssayInputError(
                f"'names' must map metrics of this table {list(self.metrics)} to new names. "
                f"Got unknown {unknown} and clashing {clash}."
            )
        rename = lambda name: names.get(name, name)  # noqa: E731
        ci = None if self.ci is None else self.ci.rename(columns=names, level="metric")
        overall_ci = None if self.overall_ci is None else self.overall_ci.rename(index=names)
        return dataclasses.replace(
            self,
            overall=self.overall.rename(index=names),
            by_group=self.by_group.rename(columns=names),
            metrics=tuple(rename(m) for m in self.metrics),
            higher_is_better={rename(m): v for m, v in self.higher_is_better.items()},
            ci=ci,
            overall_ci=overall_ci,
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
        """JSON-safe record; ``by_group`` (and ``ci``) rows are ``[feature, group]`` pairs, ``ci``
        columns ``[metric, bound]`` pairs. ``resamples`` is left out."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for field in dataclasses.fields(self):
            if field.name != "resamples":
                out[field.name] = to_jsonable(getattr(self, field.name))
        out["by_group"]["index"] = [[str(f), str(g)] for f, g in self.by_group.index]
        if self.ci is not None:
            out["ci"]["index"] = [[str(f), str(g)] for f, g in self.ci.index]
            out["ci"]["columns"] = [[str(m), str(b)] for m, b in self.ci.columns]
        return out

    # -- bootstrap intervals of the aggregates ------------------------------------------------

    def _resampled_blocks(self, feature: FeatureSelection, include_small: bool, owner: str,
                          with_rows: bool = False) -> Iterator[Any]:
        """Per feature: its groups' resampled values, shape (n_boot, n_groups, n_metrics)."""
        if self.resamples is None:
            raise AssayInputError(_NO_RESAMPLES.format(owner=owner))
        self._table(feature, include_small, owner)  # checks the arguments
        names = self.by_group.index.get_level_values("feature")
        keep = np.ones(len(self.by_group), dtype=bool)
        if not include_small:
            keep &= ~self.by_group["small"].to_numpy(bool)
        for name in _selected(self.features, feature):
            rows = np.flatnonzero(keep & (names == name))
            yield (name, self.resamples[:, 1 + rows, :], rows) if with_rows else (name, self.resamples[:, 1 + rows, :])

    def _aggregate_ci(self, feature: FeatureSelection, include_small: bool, owner: str,
                      reduce: Any) -> pd.DataFrame:
        names, lower, upper = [], [], []
        level = self._confidence_level
        overall = self.resamples[:, :1, :] if self.resamples is not None else None
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN, as intended
            for name, block in self._resampled_blocks(feature, include_small, owner):
                if block.shape[1]:
                    values = reduce(block, overall)
                else:
                    values = np.full((block.shape[0], block.shape[2]), np.nan)
                low, high = _bootstrap.percentile_interval(values, level)
                names.append(name)
                lower.append(low)
                upper.append(high)
        return self._ci_frame(pd.Index(names, name="feature"), np.asarray(lower), np.asarray(upper))

    def _ci_frame(self, index: pd.Index, lower: np.ndarray, upper: np.ndarray) -> pd.DataFrame:
        metrics = list(self.ci_metrics)
        data = np.stack([lower.reshape(len(index), -1), upper.reshape(len(index), -1)], axis=-1)
        columns = _bounds_columns(metrics)
        return pd.DataFrame(data.reshape(len(index), 2 * len(metrics)), index=index, columns=columns)

    def group_min_ci(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """Bootstrap interval of :meth:`group_min` (rows: features; columns: (metric, bound))."""
        return self._aggregate_ci(feature, include_small, "GroupedMetrics.group_min_ci",
                                  lambda block, overall: np.nanmin(block, axis=1))

    def group_max_ci(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """Bootstrap interval of :meth:`group_max` (rows: features; columns: (metric, bound))."""
        return self._aggregate_ci(feature, include_small, "GroupedMetrics.group_max_ci",
                                  lambda block, overall: np.nanmax(block, axis=1))

    def difference_ci(
        self,
        method: str = "between_groups",
        feature: FeatureSelection = None,
        *,
        include_small: bool = True,
    ) -> pd.DataFrame:
        """Bootstrap interval of :meth:`difference` (an absolute gap), from the table's resamples.

        The gap is ``|d|`` for a signed difference ``d`` fixed by the point estimate (the
        groups with the largest and smallest values, or the group furthest from overall
        minus overall); ``d`` is computed on each resample, its ``confidence_level`` percentile
        interval ``[l, u]`` taken, and the interval of ``|d|`` is ``[0, max(|l|, |u|)]`` when
        it straddles 0, else ``[min(|l|, |u|), max(|l|, |u|)]`` -- so it holds the estimate
        even for a gap near 0 (a percentile interval of the gap itself can miss it).
        Rows: features; columns: MultiIndex ``(metric, "lower" | "upper")``.
        """
        owner = "GroupedMetrics.difference_ci"
        check_option(method, "method", owner=owner, options=_AGGREGATE_METHODS)
        return self._fixed_pair_ci(method, feature, include_small, owner, _bootstrap.signed_gap,
                                   _bootstrap.absolute_interval)

    def _fixed_pair_ci(self, method: str, feature: FeatureSelection, include_small: bool, owner: str,
                       gap, to_interval) -> pd.DataFrame:
        """Per feature, ``to_interval`` of the percentile interval of ``gap`` (the signed
        statistic of the pair fixed by the point estimate) on each resample."""
        names, lower, upper = [], [], []
        level = self._confidence_level
        for name, signed in self._signed_gaps(method, feature, include_small, owner, gap):
            low, high = to_interval(*_bootstrap.percentile_interval(signed, level))
            names.append(name)
            lower.append(low)
            upper.append(high)
        return self._ci_frame(pd.Index(names, name="feature"), np.asarray(lower), np.asarray(upper))

    def _signed_gaps(self, method: str, feature: FeatureSelection, include_small: bool, owner: str,
                     gap) -> Iterator[tuple[str, np.ndarray]]:
        """Per feature: the signed difference behind :meth:`difference` (or, with ``gap=``
        :func:`~assay.metrics.bootstrap.signed_relative_gap`, the signed relative gap behind
        :meth:`ratio`) on each resample, shape (n_boot, n_metrics) (see
        :func:`assay.metrics.bootstrap.signed_gap`)."""
        metrics = list(self.ci_metrics)
        point_overall = self.overall[metrics].to_numpy(np.float64)
        overall = self.resamples[:, 0, :] if self.resamples is not None else None
        for name, block, rows in self._resampled_blocks(feature, include_small, owner, with_rows=True):
            point = self.by_group[metrics].to_numpy(np.float64)[rows]
            if not len(rows):
                yield name, np.full((block.shape[0], block.shape[2]), np.nan)
                continue
            with np.errstate(invalid="ignore"):
                yield name, gap(block, overall, point, point_overall, method)

    def ratio_ci(
        self,
        method: str = "between_groups",
        feature: FeatureSelection = None,
        *,
        include_small: bool = True,
    ) -> pd.DataFrame:
        """Bootstrap interval of :meth:`ratio` (at most 1), from the table's resamples.

        As for :meth:`difference_ci`, the pair is fixed by the point estimate (the groups with
        the smallest and largest values, or the group furthest from overall and overall); its
        signed relative gap ``t = (a - b) / (a + b)`` is computed on each resample, its
        percentile interval taken, and mapped to the ratio ``(1 - |t|) / (1 + |t|)``
        (:func:`~assay.metrics.bootstrap.ratio_interval`): the interval holds the estimate and
        reaches 1 when the data cannot tell the groups apart (a percentile interval of the
        ratio itself, bounded by 1, can miss a ratio near 1). For non-negative metrics (rates).
        Rows: features; columns: MultiIndex ``(metric, "lower" | "upper")``.
        """
        owner = "GroupedMetrics.ratio_ci"
        check_option(method, "method", owner=owner, options=_AGGREGATE_METHODS)
        return self._fixed_pair_ci(method, feature, include_small, owner, _bootstrap.signed_relative_gap,
                                   _bootstrap.ratio_interval)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_stats(
        cls,
        stats: GroupedStats,
        metrics: str | Sequence[str] = DEFAULT_METRICS,
        *,
        intersections: bool = True,
        min_group_size: int = 30,
        n_boot: int = 0,
        confidence_level: float = 0.95,
        random_state: Any = None,
        average: str = "binary",
        _draws: dict | None = None,
        ci_level: Any = NOT_GIVEN,
    ) -> GroupedMetrics:
        """The grouped table of mergeable statistics: overall, each feature, each intersection.

        Cells are summed into every group (the statistics of ``sex`` are those of ``sex x
        race`` summed over race), then the metric formulas are applied. The same statistics
        always give the same table, however they were gathered.

        Parameters
        ----------
        stats : GroupedStats
        metrics, intersections, min_group_size
            As in :func:`evaluate_groups`.
        n_boot : int, default 0
            Bootstrap resamples for percentile intervals (0: none). Resampling is stratified
            by cell and drawn from the counts (see :mod:`assay.metrics.bootstrap`).
        confidence_level : float in (0, 1), default 0.95
            Confidence level of the intervals. ``ci_level=`` is a deprecated alias.
        random_state : None, int or numpy Generator
            Seed of the resamples: the same int gives the same intervals (and JSON).
        average : {"binary", "ovr", "macro"}, default "binary"
            How label metrics of one class are read (see :func:`evaluate_groups`); ``"ovr"``
            and ``"macro"`` need ``GroupedStats(multiclass=True)``.
        """
        owner = "GroupedMetrics.from_stats"
        confidence_level = renamed_parameter(confidence_level, ci_level, name="confidence_level", old="ci_level",
                                             owner=owner, default=0.95)
        if not isinstance(stats, GroupedStats):
            raise AssayInputError(_NOT_STATS.format(name="stats", received=describe(stats)))
        names, label_metrics, score_metrics = _plan(metrics)
        _check_table_params(owner, intersections, min_group_size, n_boot, confidence_level)
        stats._require_rows("stats")
        if label_metrics and not stats.has_labels:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics=label_metrics))
        if score_metrics and not stats.has_scores:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics=score_metrics))
        if not stats.keep_ranks:
            if "roc_auc" in names:
                raise AssayInputError(_NEEDS_RANKS.format(what="'roc_auc'"))
            resampled = [m for m in names if m in METRICS and METRICS[m].statistics == "scores"]
            if n_boot and resampled:
                raise AssayInputError(_NEEDS_RANKS.format(what=f"The bootstrap of {resampled}"))
        check_option(average, "average", owner=owner, options=AVERAGES)
        reg_metrics = _regression_metrics(names, label_metrics, score_metrics)
        if reg_metrics and not stats.regression:
            raise AssayInputError(
                f"The regression metric(s) {reg_metrics} need a GroupedStats built with regression=True "
                "(evaluate_groups does so itself)."
            )
        if reg_metrics:
            needs_interval(reg_metrics, bool(stats.has_interval))
        if label_metrics and average != "binary" and not stats.multiclass:
            raise AssayInputError(_NEEDS_MULTICLASS.format(average=average))
        if label_metrics and stats.multiclass and average == "binary" and len(stats.classes) > 2:
            raise AssayInputError(_MULTICLASS_BINARY.format(classes=list(stats.classes)[:10]))
        if label_metrics and stats.multiclass and average != "macro" and stats.pos_label not in stats.classes:
            raise AssayInputError(
                f"'pos_label' must be one of the classes {list(stats.classes)[:10]}. Got {stats.pos_label!r} instead."
            )
        rng = check_random_state(random_state, name="random_state") if n_boot else None
        groupings, _ = _groupings_of_cells(stats.features, stats.cells, bool(intersections))

        n_cells = stats._sums["n"]
        kinds = {METRICS[m].statistics for m in names if m != "count" and m in METRICS}
        value_columns = _value_columns(names, stats.value_names)
        cell_stats = {kind: getattr(stats, kind) for kind in kinds}  # the .confusion, .ranks, ... properties

        def compute(group_of: np.ndarray, labels: tuple[Hashable, ...]) -> dict[str, np.ndarray]:
            summed = {kind: cells.aggregate(group_of, labels) for kind, cells in cell_stats.items()}
            values = {
                m: (multiclass_metric(m, summed["confusion"], average, stats.pos_label)
                    if stats.multiclass and METRICS[m].statistics == "confusion"
                    else METRICS[m].function(summed[METRICS[m].statistics]))
                for m in names if m != "count" and m in METRICS
            }
            for column, statistic, value in value_columns:
                moments = np.zeros((len(labels), len(MOMENTS)))
                np.add.at(moments, group_of, stats._sums[f"value:{value}"])
                values[column] = point_values(statistic, moments)
            sizes = np.zeros(len(labels), dtype=np.int64)
            np.add.at(sizes, group_of, n_cells)
            values["count"] = sizes
            return values

        columns = [m for m in names if m != "count"] + ["count"]
        overall_values = compute(np.zeros(stats.n_cells, dtype=np.int64), ("overall",))
        overall = pd.Series({m: float(overall_values[m][0]) for m in columns}, name="overall", dtype=np.float64)

        parts: dict[str, list[np.ndarray]] = {m: [] for m in columns}
        index: list[tuple[str, str]] = []
        for name, _, labels, cell_map in groupings:
            strings = tuple(SEPARATOR.join(lab) if isinstance(lab, tuple) else str(lab) for lab in labels)
            values = compute(cell_map, strings)
            for m in columns:
                parts[m].append(values[m])
            index += [(name, label) for label in strings]
        data = {m: np.concatenate(parts[m]) for m in columns}
        data["small"] = data["count"] < min_group_size
        by_group = pd.DataFrame(data, index=_table_index(index))

        ci = overall_ci = resamples = None
        if n_boot:
            ci_metrics = [m for m in names if m != "count"]
            membership = np.zeros((stats.n_cells, 1 + len(by_group)))
            membership[:, 0] = 1.0
            offset, cell_ids = 1, np.arange(stats.n_cells)
            for _, _, labels, cell_map in groupings:
                membership[cell_ids, offset + cell_map] = 1.0
                offset += len(labels)
            classic = [m for m in ci_metrics if m in METRICS and m not in reg_metrics]
            if classic == ci_metrics:  # the common case: no copy
                resamples = _bootstrap.metric_resamples(classic, membership, int(n_boot), rng, average=average,
                                                        draws=_draws, **stats._resample_inputs())
            else:
                resamples = np.empty((int(n_boot), membership.shape[1], len(ci_metrics)))
            if classic and classic != ci_metrics:
                resamples[:, :, [ci_metrics.index(m) for m in classic]] = _bootstrap.metric_resamples(
                    classic, membership, int(n_boot), rng, average=average, draws=_draws,
                    **stats._resample_inputs()
                )
            if reg_metrics:
                resamples[:, :, [ci_metrics.index(m) for m in reg_metrics]] = regression_resamples(
                    reg_metrics, stats.residuals, membership, int(n_boot), rng, bool(stats.weighted))
            if value_columns:  # drawn after the others: their intervals do not change
                moments = {value: stats._sums[f"value:{value}"] for _, _, value in value_columns}
                resamples[:, :, [ci_metrics.index(c) for c, _, _ in value_columns]] = value_resamples(
                    value_columns, moments, stats.value_binary, membership, int(n_boot), rng,
                    bool(stats.weighted),
                )
            lower, upper = _bootstrap.percentile_interval(resamples, float(confidence_level))
            bounds = _bounds_columns(ci_metrics)
            ci = pd.DataFrame(
                np.stack([lower[1:], upper[1:]], axis=-1).reshape(len(by_group), 2 * len(ci_metrics)),
                index=by_group.index.copy(), columns=bounds,
            )
            overall_ci = pd.DataFrame({"lower": lower[0], "upper": upper[0]},
                                      index=pd.Index(ci_metrics, name="metric"))

        return cls(
            overall=overall,
            by_group=by_group,
            metrics=names,
            higher_is_better={m: METRICS[m].higher_is_better if m in METRICS else
                              VALUE_STATISTICS[m.partition(":")[0]].higher_is_better for m in names},
            min_group_size=int(min_group_size),
            params={
                "intersections": bool(intersections),
                "n_bins": stats.n_bins,
                "pos_label": stats.pos_label,
                "weighted": bool(stats.weighted),
                "features": list(stats.features),
                "n_boot": int(n_boot),
                "confidence_level": float(confidence_level),
                "random_state": _seed_record(random_state),
                "average": average,
                **({} if stats.value_names is None else {"values": list(stats.value_names)}),
            },
            ci=ci,
            overall_ci=overall_ci,
            resamples=resamples,
        )


# ---------------------------------------------------------------------------------------------
# evaluate_groups and friends
# ---------------------------------------------------------------------------------------------


def _table_index(rows: Sequence[tuple[str, str]]) -> pd.MultiIndex:
    """The ``(feature, group)`` MultiIndex of ``rows`` (as ``from_tuples`` builds it, sorted
    levels, without hashing every label through pandas)."""
    levels = [sorted({row[k] for row in rows}) for k in range(2)]
    lookup = [{label: i for i, label in enumerate(level)} for level in levels]
    codes = [np.fromiter((lookup[k][row[k]] for row in rows), dtype=np.int64, count=len(rows)) for k in range(2)]
    return pd.MultiIndex(levels=levels, codes=codes, names=["feature", "group"], verify_integrity=False)


def _bounds_columns(metrics: Sequence[str]) -> pd.MultiIndex:
    """Columns ``(metric, "lower" | "upper")`` of the interval tables (= ``from_product``)."""
    order = sorted(metrics)
    position = {m: i for i, m in enumerate(order)}
    codes = [np.repeat([position[m] for m in metrics], 2).astype(np.int64), np.tile([0, 1], len(metrics))]
    return pd.MultiIndex(levels=[order, list(_BOUNDS)], codes=codes, names=["metric", "bound"],
                         verify_integrity=False)


def _check_metrics(metrics: Any) -> tuple[str, ...]:
    valid = list(METRICS)
    names = metric_names(metrics, valid)
    for name in names:
        if is_value_metric(name):
            parse_value_metric(name)
    unknown = [m for m in names if not isinstance(m, str) or (m not in METRICS and not is_value_metric(m))]
    if unknown:
        raise AssayInputError(_UNKNOWN_METRIC.format(valid=valid, unknown=unknown))
    return tuple(dict.fromkeys(names))


def _plan(metrics: Any) -> tuple[tuple[str, ...], list[str], list[str]]:
    """Checked metric names, and those that need ``y_pred`` and ``y_score``."""
    names = _check_metrics(metrics)
    label_metrics = [m for m in names if m in METRICS and METRICS[m].needs == "labels" and m != "count"]
    score_metrics = [m for m in names if m in METRICS and METRICS[m].needs == "scores"]
    return names, label_metrics, score_metrics


def _regression_metrics(names: Sequence[str], label_metrics: Sequence[str], score_metrics: Sequence[str]
                        ) -> list[str]:
    """The regression metrics among ``names``; refused beside label or score metrics (a table
    reads ``y_pred`` either as labels or as numbers)."""
    reg = [m for m in names if m in METRICS and METRICS[m].needs == "regression"]
    if reg and (label_metrics or score_metrics):
        raise AssayInputError(
            f"'metrics' must not mix regression metrics {reg} with classification metrics "
            f"{[*label_metrics, *score_metrics]}: y_pred is read either as numbers or as labels. "
            "Compute two tables."
        )
    return reg


def _needs_ranks(names: Sequence[str], n_boot: Any) -> bool:
    """Whether the table needs the score histograms: ``roc_auc``, or bootstrap intervals of
    ``log_loss`` / ``brier`` (resampled from the histograms)."""
    return "roc_auc" in names or bool(n_boot) and any(
        m in METRICS and METRICS[m].statistics == "scores" for m in names)


def _needs_losses(names: Sequence[str]) -> bool:
    """Whether the table needs the per-cell log-loss and Brier sums (``log_loss``, ``brier``)."""
    return any(m in METRICS and METRICS[m].statistics == "scores" for m in names)


def _value_columns(names: Sequence[str], value_names: Sequence[str] | None
                   ) -> list[tuple[str, CellStatistic, str]]:
    """``(column, statistic, value name)`` of the ``"<statistic>:<value>"`` metrics, checked
    against the values held."""
    out = []
    for name in names:
        if is_value_metric(name):
            if value_names is None:
                raise AssayInputError(_NEEDS_VALUES.format(metric=name))
            out.append((name, *parse_value_metric(name, value_names)))
    return out


def _check_table_params(owner: str, intersections: Any, min_group_size: Any, n_boot: Any,
                        confidence_level: Any) -> None:
    check_scalar(min_group_size, "min_group_size", owner=owner, kind=(int, np.integer), low=0)
    check_bool(intersections, "intersections", owner=owner)
    check_scalar(n_boot, "n_boot", owner=owner, kind=(int, np.integer), low=0)
    check_scalar(confidence_level, "confidence_level", owner=owner, kind=numbers.Real, low=0, high=1,
                 closed="neither")


def _seed_record(random_state: Any) -> Any:
    """The seed as it goes in ``params`` (JSON): an int, None, or the type of a Generator."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        return None if random_state is None else int(random_state)
    return type(random_state).__name__


