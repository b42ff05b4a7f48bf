"""The results of a threshold sweep and the fairness gaps they hold.

:class:`ThresholdSweep` (every metric and gap at every threshold), :class:`ThresholdMetrics`
(at one threshold), :class:`BestThreshold` and :class:`ThresholdSelection` (a chosen threshold),
and :data:`GAPS`. Computed by :mod:`assay.metrics.threshold_counts` and
:mod:`assay.metrics.thresholds`; every name stays importable from :mod:`assay.metrics.thresholds`.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result

__all__ = [
    "GAPS",
    "GAP_ALIASES",
    "BestThreshold",
    "ThresholdMetrics",
    "ThresholdSelection",
    "ThresholdSweep",
]

GAPS: dict[str, tuple[bool, str]] = {
    "disparate_impact": (True, "Smallest / largest selection rate over the groups (1 is parity)."),
    "one_minus_di": (False, "1 - disparate impact (0 is parity)."),
    "demographic_parity_difference": (False, "Largest - smallest selection rate over the groups."),
    "tpr_difference": (False, "Largest - smallest true positive rate over the groups."),
    "fpr_difference": (False, "Largest - smallest false positive rate over the groups."),
    "equalized_odds_difference": (False, "The larger of the TPR and FPR differences."),
}
"""Fairness gaps per threshold and feature: name -> (higher_is_better, description)."""

GAP_ALIASES = {"1 - DI": "one_minus_di", "1-DI": "one_minus_di", "DI": "disparate_impact"}
"""Other names accepted for the gaps (as in plot labels)."""

_OVERALL = ("overall", "all")  # (feature, group) of all rows in long tables

_UNKNOWN_NAME = "'{argument}' must be one of {valid}. Got {received!r} instead."
_NO_FEATURES = (
    "'{argument}' {received!r} needs sensitive features, but this sweep was computed without "
    "'sensitive_features'."
)
_FEATURE_NEEDED = "'feature' must be one of {valid} (this sweep has several). Got None instead."
_NOT_SWEPT = (
    "'threshold' must be one of the sweep's thresholds (in [{low:.6g}, {high:.6g}], {n} values). "
    "Got {received!r} instead."
)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def _by_group_to_dict(out: dict[str, Any], frame: pd.DataFrame, key: str) -> None:
    """Index rows of a (feature, group[, ...]) table by lists, not by ' x '-joined strings."""
    out[key]["index"] = [[_plain(v) for v in row] for row in frame.index]


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ThresholdMetrics(Result):
    """Metrics and fairness gaps at one threshold (predict positive when ``score >= threshold``).

    Attributes
    ----------
    threshold : float
    overall : Series
        Metric -> value on all rows.
    by_group : DataFrame
        As :attr:`GroupedMetrics.by_group`: rows ``(feature, group)``, columns the metrics,
        ``count`` and ``small``. Empty without sensitive features.
    gaps : DataFrame
        Rows: features (and intersections); columns: the gaps of :data:`GAPS`.
    """

    threshold: float
    overall: pd.Series
    by_group: pd.DataFrame
    gaps: pd.DataFrame


    def summary(self) -> pd.Series:
        """Overall metrics and every gap in one Series indexed by ``(feature, name)``."""
        keys = [("overall", m) for m in self.overall.index]
        values = list(self.overall.to_numpy(np.float64))
        for feature, row in self.gaps.iterrows():
            keys += [(feature, g) for g in row.index]
            values += list(row.to_numpy(np.float64))
        return pd.Series(values, index=pd.MultiIndex.from_tuples(keys, names=["feature", "name"]),
                         dtype=np.float64, name=self.threshold)

    def to_frame(self) -> pd.DataFrame:
        """Long table: columns ``threshold, feature, group, metric, value`` (overall first)."""
        metrics = list(self.overall.index)
        rows = [(self.threshold, *_OVERALL, m, float(self.overall[m])) for m in metrics]
        for (feature, group), row in self.by_group[metrics].iterrows():
            rows += [(self.threshold, feature, group, m, float(row[m])) for m in metrics]
        return pd.DataFrame(rows, columns=["threshold", "feature", "group", "metric", "value"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record; ``by_group`` rows are indexed by ``[feature, group]`` pairs."""
        out = super().to_dict()
        _by_group_to_dict(out, self.by_group, "by_group")
        return out

    def __repr__(self) -> str:
        return f"ThresholdMetrics(threshold={self.threshold:.6g}, metrics={list(self.overall.index)!r})"


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ThresholdSweep(Result):
    """Metrics overall, per group and per intersection, and fairness gaps, at every threshold.

    A row is predicted positive at threshold ``t`` when its score is ``>= t``. Use the accessors
    rather than the tables: :meth:`overall`, :meth:`by_group`, :meth:`gap`, :meth:`at`.

    Attributes
    ----------
    thresholds : ndarray of float64, shape (n_thresholds,)
        Sorted ascending, distinct.
    overall_table : DataFrame
        Index: ``threshold``; columns: the metrics.
    group_table : DataFrame
        Index: MultiIndex ``(feature, group, threshold)``; columns: the metrics. Empty without
        sensitive features.
    gap_table : DataFrame
        Index: MultiIndex ``(feature, threshold)``; columns: the gaps of :data:`GAPS`.
    counts : DataFrame
        Index: ``(feature, group)``; columns ``count`` (unweighted rows, the same at every
        threshold) and ``small`` (``count < min_group_size``).
    metrics : tuple of str
    higher_is_better : dict
        Metric or gap -> True, False or None (no direction).
    min_group_size : int
    params : dict
        Settings used (pos_label, weighted, intersections, features, n_rows).

    Notes
    -----
    A metric that is 0/0 at a threshold is NaN there: ``ppv`` (and ``fdr``) where nothing is
    selected, ``npv`` where everything is, ``tpr`` of a group without positives. Such values
    raise no warning per threshold; an :class:`UndefinedMetricWarning` is raised once for a group
    whose metric is undefined at *every* threshold.
    """

    thresholds: np.ndarray
    overall_table: pd.DataFrame
    group_table: pd.DataFrame
    gap_table: pd.DataFrame
    counts: pd.DataFrame
    metrics: tuple[str, ...]
    higher_is_better: dict[str, bool | None]
    min_group_size: int
    params: dict[str, Any]


    # -- navigation ---------------------------------------------------------------------------

    @property
    def features(self) -> tuple[str, ...]:
        """The features and intersections, in table order (empty without sensitive features)."""
        return tuple(dict.fromkeys(self.counts.index.get_level_values("feature")))

    @property
    def n_thresholds(self) -> int:
        """Number of thresholds."""
        return len(self.thresholds)

    def __repr__(self) -> str:
        return (
            f"ThresholdSweep(n_thresholds={self.n_thresholds}, metrics={list(self.metrics)!r}, "
            f"features={list(self.features)!r})"
        )

    def _check_metric(self, metric: Any, argument: str = "metric") -> str:
        if not isinstance(metric, str) or metric not in self.metrics:
            raise AssayInputError(_UNKNOWN_NAME.format(argument=argument, valid=list(self.metrics),
                                                       received=metric))
        return metric

    def _check_feature(self, feature: Any, argument: str = "feature", asked: str = "feature") -> str:
        features = self.features
        if not features:
            raise AssayInputError(_NO_FEATURES.format(argument=argument, received=asked))
        if feature is None:
            if len(features) == 1:
                return features[0]
            raise AssayInputError(_FEATURE_NEEDED.format(valid=list(features)))
        if not isinstance(feature, str) or feature not in features:
            raise AssayInputError(_UNKNOWN_NAME.format(argument="feature", valid=list(features),
                                                       received=feature))
        return feature

    @staticmethod
    def _check_gap(name: Any, argument: str = "name") -> str:
        resolved = GAP_ALIASES.get(name, name) if isinstance(name, str) else name
        if resolved not in GAPS:
            valid = list(GAPS) + list(GAP_ALIASES)
            raise AssayInputError(_UNKNOWN_NAME.format(argument=argument, valid=valid, received=name))
        return resolved

    def _index(self) -> pd.Index:
        return pd.Index(self.thresholds, name="threshold")

    # -- accessors ----------------------------------------------------------------------------

    def overall(self, metric: str) -> pd.Series:
        """``metric`` on all rows at every threshold: a Series indexed by threshold."""
        metric = self._check_metric(metric)
        return self.overall_table[metric].rename(metric)

    def by_group(self, metric: str, feature: str | None = None) -> pd.DataFrame:
        """``metric`` per group of ``feature``: rows are thresholds, columns the groups.

        ``feature`` may be omitted when the sweep has a single feature.
        """
        metric = self._check_metric(metric)
        feature = self._check_feature(feature)
        groups = self.counts.loc[feature].index
        part = self.group_table.xs(feature, level="feature")[metric]
        values = part.to_numpy(np.float64).reshape(len(groups), self.n_thresholds)
        return pd.DataFrame(values.T, index=self._index(), columns=pd.Index(groups, name="group"))

    def gap(self, name: str, feature: str | None = None) -> pd.Series:
        """Fairness gap ``name`` (see :data:`GAPS`; ``"1 - DI"`` is accepted) of ``feature`` at every
        threshold: a Series indexed by threshold."""
        name = self._check_gap(name)
        feature = self._check_feature(feature, "name", name)
        values = self.gap_table.xs(feature, level="feature")[name].to_numpy(np.float64)
        return pd.Series(values, index=self._index(), name=name)

    def _position(self, threshold: Any) -> int:
        if isinstance(threshold, numbers.Real) and not isinstance(threshold, bool):
            scale = max(1.0, float(np.max(np.abs(self.thresholds))))
            hits = np.flatnonzero(np.abs(self.thresholds - float(threshold)) <= 1e-12 * scale)
            if hits.size:
                return int(hits[0])
        raise AssayInputError(_NOT_SWEPT.format(
            low=self.thresholds[0], high=self.thresholds[-1], n=self.n_thresholds, received=threshold
        ))

    def at(self, threshold: float) -> ThresholdMetrics:
        """Metrics and gaps at one of the sweep's thresholds (matched to 1e-12 relative)."""
        j = self._position(threshold)
        t = float(self.thresholds[j])
        overall = self.overall_table.iloc[j].astype(np.float64).rename("overall")
        if self.features:
            # tables are (feature[, group]) blocks of n_thresholds rows: take row j of each block
            rates = [m for m in self.metrics if m != "count"]
            picked = self.group_table[rates].iloc[j::self.n_thresholds]
            by_group = pd.concat([picked.set_axis(self.counts.index), self.counts], axis=1)
            gaps = self.gap_table.iloc[j::self.n_thresholds].set_axis(pd.Index(self.features, name="feature"))
        else:
            by_group = pd.DataFrame(
                columns=[*(m for m in self.metrics if m != "count"), "count", "small"],
                index=pd.MultiIndex.from_tuples([], names=["feature", "group"]),
            )
            gaps = pd.DataFrame(columns=list(GAPS), index=pd.Index([], name="feature"), dtype=np.float64)
        return ThresholdMetrics(threshold=t, overall=overall, by_group=by_group, gaps=gaps)

    # -- presentation -------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Long (tidy) table: columns ``threshold, feature, group, metric, value``.

        The values on all rows come first (feature ``"overall"``, group ``"all"``), metric by
        metric; then the groups of every feature and intersection, metric by metric, each block
        in table order (feature, group, threshold).
        """
        parts = []
        for metric in self.metrics:
            parts.append(pd.DataFrame({
                "threshold": self.thresholds, "feature": _OVERALL[0], "group": _OVERALL[1],
                "metric": metric, "value": self.overall_table[metric].to_numpy(np.float64),
            }))
        if len(self.group_table):
            features = self.group_table.index.get_level_values("feature").to_numpy(object)
            groups = self.group_table.index.get_level_values("group").to_numpy(object)
            thresholds = self.group_table.index.get_level_values("threshold").to_numpy(np.float64)
            n_rows = len(self.group_table)
            for metric in self.metrics:
                parts.append(pd.DataFrame({
                    "threshold": thresholds, "feature": features, "group": groups,
                    "metric": np.full(n_rows, metric, dtype=object),
                    "value": self.group_table[metric].to_numpy(np.float64),
                }))
        return pd.concat(parts, ignore_index=True)

    def gaps_to_frame(self) -> pd.DataFrame:
        """Long table of the fairness gaps: columns ``threshold, feature, gap, value`` (gap by gap,
        each block in table order: feature, threshold)."""
        features = self.gap_table.index.get_level_values("feature").to_numpy(object)
        thresholds = self.gap_table.index.get_level_values("threshold").to_numpy(np.float64)
        parts = [
            pd.DataFrame({
                "threshold": thresholds, "feature": features, "gap": np.full(len(features), gap, dtype=object),
                "value": self.gap_table[gap].to_numpy(np.float64),
            })
            for gap in self.gap_table.columns
        ]
        return pd.concat(parts, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record; table rows are indexed by lists (``[feature, group, threshold]``)."""
        out = super().to_dict()
        _by_group_to_dict(out, self.group_table, "group_table")
        _by_group_to_dict(out, self.gap_table, "gap_table")
        _by_group_to_dict(out, self.counts, "counts")
        return out


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class BestThreshold(Result):
    """The threshold that optimises an objective over a sweep (``float(best)`` is the threshold).

    Attributes
    ----------
    threshold : float
    objective : str
        An overall metric, or a gap of ``feature``.
    value : float
        The objective at the threshold.
    maximize : bool
    constraint : tuple of (name, op, value) tuples, or None
    feature : str or None
        The feature that gap objectives and constraints refer to (None: every feature).
    n_feasible : int
        Thresholds that met every constraint (and where the objective is defined).
    at_threshold : ThresholdMetrics
        Every metric and gap at the chosen threshold.
    """

    threshold: float
    objective: str
    value: float
    maximize: bool
    constraint: tuple[tuple[str, str, float], ...] | None
    feature: str | None
    n_feasible: int
    at_threshold: ThresholdMetrics


    def __float__(self) -> float:
        return self.threshold

    def to_frame(self) -> pd.DataFrame:
        """Overall metrics and gaps at the threshold: rows ``(feature, name)``, column ``value``."""
        return self.at_threshold.summary().rename("value").to_frame()

    def __repr__(self) -> str:
        return (f"BestThreshold(threshold={self.threshold:.6g}, {self.objective}={self.value:.6g}, "
                f"constraint={self.constraint!r})")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ThresholdSelection(Result):
    """A threshold chosen on validation data, and the test metrics at it (not re-optimised).

    Attributes
    ----------
    threshold : float
        Chosen on the validation data by :func:`best_threshold`.
    objective : str
    constraint : tuple or None
    validation : BestThreshold
        The choice, with every validation metric and gap at the threshold.
    test : ThresholdMetrics
        Every test metric and gap at the same threshold: the numbers to report.
    """

    threshold: float
    objective: str
    constraint: tuple[tuple[str, str, float], ...] | None
    validation: BestThreshold
    test: ThresholdMetrics


    def __float__(self) -> float:
        return self.threshold

    def to_frame(self) -> pd.DataFrame:
        """Validation and test side by side: rows ``(feature, name)`` (overall metrics, then the
        gaps of each feature), columns ``validation`` and ``test``."""
        return pd.concat(
            {"validation": self.validation.at_threshold.summary(), "test": self.test.summary()}, axis=1
        )

    def __repr__(self) -> str:
        test_value = self.test.overall.get(self.objective, np.nan)
        return (f"ThresholdSelection(threshold={self.threshold:.6g}, {self.objective}: "
                f"validation={self.validation.value:.6g}, test={float(test_value):.6g})")
