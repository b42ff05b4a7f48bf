"""Threshold sweeps: every label metric and fairness gap as a function of the decision threshold.

A score becomes a decision with a threshold ``t``: predict positive when ``score >= t``.
:func:`threshold_sweep` computes the confusion counts of every group (and of all rows) at every
threshold at once, then applies the formulas of :mod:`assay.metrics.classification` to them, so
that each value equals what :func:`~assay.metrics.evaluate_groups` gives for the labels
``score >= t``.

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

:func:`best_threshold` picks the threshold that optimises an objective, optionally under
constraints; :func:`select_threshold` picks it on validation data and reports the test metrics
at that threshold, once.

Fairness gaps per threshold and feature (over the groups of that feature or intersection, NaN
values skipped, small groups included):

* ``disparate_impact``: smallest / largest selection rate (1 is parity; NaN when every group's
  selection rate is 0, e.g. above every score);
* ``one_minus_di`` (alias ``"1 - DI"``): ``1 - disparate_impact`` (0 is parity);
* ``demographic_parity_difference``: largest - smallest selection rate;
* ``tpr_difference`` and ``fpr_difference``: largest - smallest TPR, FPR;
* ``equalized_odds_difference``: the larger of ``tpr_difference`` and ``fpr_difference``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import operator
import re
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError, UndefinedMetricWarning, outside_stacklevel
from ..core.result import Result
from ..core.validation import as_array, check_bool, check_consistent_length, check_scalar, describe
from ._checks import check_binary_labels, check_labels_1d, check_sample_weight
from ._stats import ConfusionStats
from .classification import METRICS
from .grouped import make_groups

__all__ = [
    "GAPS",
    "BestThreshold",
    "ThresholdMetrics",
    "ThresholdSelection",
    "ThresholdSweep",
    "best_threshold",
    "select_threshold",
    "threshold_sweep",
]

DEFAULT_METRICS = ("balanced_accuracy", "accuracy", "selection_rate", "tpr", "fpr", "ppv")
MAX_THRESHOLDS = 1001
"""Default cap on the number of thresholds (quantile-spaced scores beyond it)."""

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
_TIE_ATOL = 1e-12
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}

_UNKNOWN_METRIC = (
    "'metrics' must name threshold-dependent label metrics among {valid}. Got unknown name(s) "
    "{unknown} instead."
)
_EMPTY_METRICS = "'metrics' must name at least one metric among {valid}. Got {received} instead."
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
_UNKNOWN_NAME = "'{argument}' must be one of {valid}. Got {received!r} instead."
_NO_FEATURES = (
    "'{argument}' {received!r} needs sensitive features, but this sweep was computed without "
    "'sensitive_features'."
)
_FEATURE_NEEDED = "'feature' must be one of {valid} (this sweep has several). Got None instead."
_BAD_CONSTRAINT = (
    "'constraint' must be None, a tuple (name, op, value) with op one of {ops} and a finite number "
    "value, or a list of such tuples. Got {received} instead."
)
_NO_DIRECTION = (
    "'objective' {objective!r} has no direction (higher is not better or worse); pass "
    "maximize=True or maximize=False."
)
_INFEASIBLE = (
    "'constraint' {constraint} is met at none of the {n} thresholds where '{objective}' is defined "
    "({n_defined}); loosen the constraint or sweep other thresholds."
)
_ALL_UNDEFINED = "'objective' {objective!r} is undefined (NaN) at every threshold of the sweep."
_NOT_SWEPT = (
    "'threshold' must be one of the sweep's thresholds (in [{low:.6g}, {high:.6g}], {n} values). "
    "Got {received!r} instead."
)
_UNDEFINED_EVERYWHERE = (
    "'{metric}' is undefined (0/0) at every threshold for group(s) {groups}; its value is NaN. "
    "(Values undefined at some thresholds only, e.g. 'ppv' where nothing is selected, are NaN "
    "without a warning.)"
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


# ---------------------------------------------------------------------------------------------
# threshold_sweep
# ---------------------------------------------------------------------------------------------


def _check_metrics(metrics: Any) -> tuple[str, ...]:
    valid = [m for m, spec in METRICS.items() if spec.needs == "labels"]
    names = [metrics] if isinstance(metrics, str) else metrics
    try:
        names = list(names)
    except TypeError:
        raise AssayInputError(_EMPTY_METRICS.format(valid=valid, received=repr(metrics))) from None
    if not names:
        raise AssayInputError(_EMPTY_METRICS.format(valid=valid, received=repr(metrics)))
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


# ---------------------------------------------------------------------------------------------
# Choosing a threshold
# ---------------------------------------------------------------------------------------------


def _check_constraint(constraint: Any) -> tuple[tuple[str, str, float], ...] | None:
    """``None``, or the constraints as a tuple of ``(name, op, value)`` tuples."""
    if constraint is None:
        return None

    def valid(item: Any) -> bool:
        return (
            isinstance(item, (tuple, list)) and len(item) == 3 and isinstance(item[0], str)
            and isinstance(item[1], str) and item[1] in _OPS
            and isinstance(item[2], numbers.Real) and not isinstance(item[2], (bool, np.bool_))
            and bool(np.isfinite(item[2]))
        )

    if valid(constraint) and isinstance(constraint, tuple):
        items = [constraint]
    elif isinstance(constraint, (list, tuple)) and constraint and all(valid(c) for c in constraint):
        items = list(constraint)
    else:
        shown = repr(constraint) if isinstance(constraint, (tuple, list, str)) else describe(constraint)
        raise AssayInputError(_BAD_CONSTRAINT.format(ops=list(_OPS), received=shown))
    return tuple((str(name), str(op), float(value)) for name, op, value in items)


def _criterion(sweep: ThresholdSweep, name: str, feature: str | None, argument: str) -> list[np.ndarray]:
    """The values of an overall metric, or of a gap for ``feature`` (or for every feature), per threshold."""
    if isinstance(name, str) and name in sweep.metrics:
        return [sweep.overall_table[name].to_numpy(np.float64)]
    if isinstance(name, str) and GAP_ALIASES.get(name, name) in GAPS:
        gap = GAP_ALIASES.get(name, name)
        if not sweep.features:
            raise AssayInputError(_NO_FEATURES.format(argument=argument, received=name))
        if feature is not None:
            return [sweep.gap(gap, sweep._check_feature(feature)).to_numpy()]
        return [sweep.gap(gap, f).to_numpy() for f in sweep.features]
    valid = list(sweep.metrics) + list(GAPS) + list(GAP_ALIASES)
    raise AssayInputError(_UNKNOWN_NAME.format(argument=argument, valid=valid, received=name))


def best_threshold(
    sweep: ThresholdSweep,
    objective: str = "balanced_accuracy",
    constraint: Any = None,
    *,
    feature: str | None = None,
    maximize: bool | None = None,
) -> BestThreshold:
    """The threshold of ``sweep`` that optimises ``objective``, subject to ``constraint``.

    Parameters
    ----------
    sweep : ThresholdSweep
    objective : str, default "balanced_accuracy"
        An overall metric of the sweep, or a gap of :data:`GAPS` (then ``feature`` is needed
        unless the sweep has a single feature).
    constraint : tuple or list of tuples, optional
        ``(name, op, value)`` with ``op`` one of ``">=", "<=", ">", "<"``, e.g.
        ``("disparate_impact", ">=", 0.8)`` or ``("tpr", ">=", 0.7)``. A metric name constrains
        the overall value; a gap name constrains the gap of ``feature``, or, with
        ``feature=None``, of **every** feature and intersection of the sweep. All constraints
        must hold; a NaN value fails its constraint.
    feature : str, optional
        The feature (or intersection) that gap objectives and constraints refer to.
    maximize : bool, optional
        Default: from the metric's ``higher_is_better`` (needed for metrics without a direction,
        such as ``selection_rate``).

    Returns
    -------
    BestThreshold

    Notes
    -----
    Thresholds where the objective is NaN are skipped. **Ties**: thresholds whose objective is
    within 1e-12 of the best are tied, and the **lowest** of them is chosen (the one that
    selects the most rows), so the choice is deterministic.

    Raises
    ------
    AssayInputError
        If no threshold meets the constraints, or the objective is NaN everywhere.
    """
    owner = "best_threshold"
    if not isinstance(sweep, ThresholdSweep):
        raise AssayInputError(f"'sweep' must be a ThresholdSweep. Got {describe(sweep)} instead.")
    if feature is not None:
        sweep._check_feature(feature)
    values_list = _criterion(sweep, objective, feature, "objective")
    if len(values_list) != 1:
        raise AssayInputError(_FEATURE_NEEDED.format(valid=list(sweep.features)))
    values = values_list[0]
    if maximize is None:
        direction = sweep.higher_is_better.get(GAP_ALIASES.get(objective, objective))
        if direction is None:
            raise AssayInputError(_NO_DIRECTION.format(objective=objective))
        maximize = bool(direction)
    else:
        check_bool(maximize, "maximize", owner=owner)
    constraints = _check_constraint(constraint)

    defined = ~np.isnan(values)
    if not defined.any():
        raise AssayInputError(_ALL_UNDEFINED.format(objective=objective))
    feasible = defined.copy()
    for name, op, bound in constraints or ():
        for series in _criterion(sweep, name, feature, "constraint"):
            with np.errstate(invalid="ignore"):
                feasible &= _OPS[op](series, bound) & ~np.isnan(series)
    if not feasible.any():
        shown = constraints[0] if len(constraints) == 1 else list(constraints)
        raise AssayInputError(_INFEASIBLE.format(constraint=shown, n=sweep.n_thresholds, objective=objective,
                                                 n_defined=int(defined.sum())))
    score = np.where(feasible, values if maximize else -values, -np.inf)
    best = score.max()
    j = int(np.flatnonzero(feasible & (score >= best - _TIE_ATOL))[0])
    at = sweep.at(float(sweep.thresholds[j]))
    return BestThreshold(
        threshold=at.threshold,
        objective=objective,
        value=float(values[j]),
        maximize=bool(maximize),
        constraint=constraints,
        feature=feature,
        n_feasible=int(feasible.sum()),
        at_threshold=at,
    )


@contextlib.contextmanager
def _renamed_arguments(split: str) -> Iterator[None]:
    """Re-raise input errors of :func:`threshold_sweep` with :func:`select_threshold`'s argument
    names (``y_true`` -> ``y_val``, ``y_score`` -> ``score_val``, ...)."""
    try:
        yield
    except AssayInputError as exc:
        message = str(exc)
        for inner, outer in (("y_true", "y"), ("y_score", "score"), ("sample_weight", "sample_weight"),
                             ("sensitive_features", "sensitive_features")):
            message = re.sub(rf"\b{inner}\b", f"{outer}_{split}", message)
        raise type(exc)(message) from None


def select_threshold(
    y_val: Any,
    score_val: Any,
    y_test: Any,
    score_test: Any,
    *,
    objective: str = "balanced_accuracy",
    constraint: Any = None,
    sensitive_features_val: Any = None,
    sensitive_features_test: Any = None,
    feature: str | None = None,
    maximize: bool | None = None,
    thresholds: Any = None,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    sample_weight_val: Any = None,
    sample_weight_test: Any = None,
    pos_label: Any = 1,
    intersections: bool = True,
    min_group_size: int = 30,
    scores_are_probabilities: bool = False,
) -> ThresholdSelection:
    """Choose a threshold on validation data; report the test metrics at it, once.

    The threshold is :func:`best_threshold` of the validation sweep (``objective``,
    ``constraint``, ``feature``, ``maximize`` as there; ``thresholds`` are taken from the
    validation scores). The test data are evaluated at that single threshold and never used to
    choose it: the test numbers are the ones to report.

    The remaining parameters are those of :func:`threshold_sweep`, for each split
    (``*_val`` and ``*_test``). ``metrics`` is extended with the objective when it is a metric.

    Returns
    -------
    ThresholdSelection
    """
    names = list(_check_metrics(metrics))
    if isinstance(objective, str) and objective in METRICS and METRICS[objective].needs == "labels" and (
        objective not in names
    ):
        names.append(objective)
    common = {"metrics": names, "pos_label": pos_label, "intersections": intersections,
              "min_group_size": min_group_size, "scores_are_probabilities": scores_are_probabilities}
    with _renamed_arguments("val"):
        validation_sweep = threshold_sweep(y_val, score_val, sensitive_features=sensitive_features_val,
                                           thresholds=thresholds, sample_weight=sample_weight_val, **common)
        chosen = best_threshold(validation_sweep, objective, constraint, feature=feature, maximize=maximize)
    with _renamed_arguments("test"):
        test_sweep = threshold_sweep(y_test, score_test, sensitive_features=sensitive_features_test,
                                     thresholds=[chosen.threshold], sample_weight=sample_weight_test, **common)
    return ThresholdSelection(
        threshold=chosen.threshold,
        objective=objective,
        constraint=chosen.constraint,
        validation=chosen,
        test=test_sweep.at(chosen.threshold),
    )
