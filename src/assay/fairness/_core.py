"""Shared machinery of :mod:`assay.fairness`: input checks, per-group rates, aggregates, resampling.

Everything here works on per-group confusion counts, stored as arrays of shape ``(..., G, 4)``
in the cell order ``[tn, fp, fn, tp]`` (the order of :meth:`ConfusionStats.update`), with
optional leading axes (one per bootstrap resample). Rates come from the formulas of
:mod:`assay.metrics.classification` (through the :data:`~assay.metrics.METRICS` registry), so a
point estimate and its bootstrap replicates go through the same code.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..core.errors import AssayInputError, UndefinedMetricWarning, outside_stacklevel
from ..core.validation import align_pandas, check_consistent_length, check_option, check_scalar
from ..metrics import METRICS, ConfusionStats, make_groups
from ..metrics import bootstrap as _bootstrap
from ..metrics._checks import check_binary_labels, check_labels_1d, check_sample_weight
from ..metrics.grouped import SEPARATOR, Grouping, Groups

METHODS = ("between_groups", "to_overall")
AGGS = ("worst_case", "mean")

#: Names accepted by ``metric=``: the label metrics of :data:`assay.metrics.METRICS`.
LABEL_METRICS = tuple(name for name, spec in METRICS.items() if spec.needs == "labels" and name != "count")

_UNKNOWN_METRIC = "'metric' must be one of {valid}. Got {received!r} instead."
_UNKNOWN_PRIVILEGED = (
    "'{name}' must be one of the groups of '{feature}': {valid}. Got {received!r} instead."
)
_TOO_FEW_DEFINED = (
    "'{measure}' is undefined for '{feature}': fewer than two groups have a defined '{metric}'; "
    "its value is NaN."
)
_UNDEFINED_MEASURE = "'{measure}' is undefined for {where} ({reason}); its value is NaN."


def warn_undefined(message: str) -> None:
    """Emit an :class:`UndefinedMetricWarning` attributed to the user's call."""
    warnings.warn(message, UndefinedMetricWarning, stacklevel=outside_stacklevel())


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


class Prepared:
    """Validated labels, weights and groupings of one call."""

    __slots__ = ("actual", "groups", "n", "pos_label", "predicted", "w", "y_pred", "y_true")

    def __init__(self, y_true: np.ndarray, y_pred: np.ndarray, w: np.ndarray | None,
                 groups: Groups, pos_label: Any) -> None:
        self.y_true = y_true
        self.y_pred = y_pred
        self.w = w
        self.groups = groups
        self.n = len(y_true)
        self.pos_label = pos_label
        self.actual = np.asarray(y_true == pos_label)
        self.predicted = np.asarray(y_pred == pos_label)

    def cell_stats(self) -> ConfusionStats:
        """Confusion counts of the finest cells (the intersection of every feature)."""
        cells = self.groups.cells
        return ConfusionStats(cells.label_strings, pos_label=self.pos_label).update(
            self.y_true, self.y_pred, cells.codes, self.w
        )


def prepare(
    y_true: Any,
    y_pred: Any,
    sensitive_features: Any,
    sample_weight: Any = None,
    pos_label: Any = 1,
    *,
    intersections: bool = False,
    align: bool = True,
) -> Prepared:
    """Check binary labels, weights and sensitive features; build the groupings.

    Either ``y_true`` or ``y_pred`` may be None (data-only measures, measures of predictions
    alone); the other then stands for both. pandas inputs are aligned by index when every
    input is pandas (:func:`~assay.core.validation.align_pandas`; ``align=False`` when the
    caller has aligned them with more inputs).
    """
    if align:
        aligned = align_pandas(y_true=y_true, y_pred=y_pred, sensitive_features=sensitive_features,
                               sample_weight=sample_weight)
        y_true, y_pred = aligned["y_true"], aligned["y_pred"]
        sensitive_features, sample_weight = aligned["sensitive_features"], aligned["sample_weight"]
    true_arr = None if y_true is None else check_labels_1d(y_true, name="y_true")
    pred_arr = None if y_pred is None else check_labels_1d(y_pred, name="y_pred")
    w = check_sample_weight(sample_weight, allow_all_zero=False)
    n = check_consistent_length(y_true=true_arr, y_pred=pred_arr, sample_weight=w)
    check_binary_labels(true_arr, pred_arr, pos_label)
    groups = make_groups(sensitive_features, intersections, n_samples=n)
    true_arr = pred_arr if true_arr is None else true_arr
    pred_arr = true_arr if pred_arr is None else pred_arr
    return Prepared(true_arr, pred_arr, w, groups, pos_label)


def check_metric(metric: Any, valid: Sequence[str] = LABEL_METRICS) -> str:
    """``metric`` must name a label metric of the registry."""
    if not isinstance(metric, str) or metric not in valid:
        raise AssayInputError(_UNKNOWN_METRIC.format(valid=list(valid), received=metric))
    return metric


def check_method(method: Any, owner: str) -> str:
    return check_option(method, "method", owner=owner, options=METHODS)


def check_confidence(confidence: Any, owner: str) -> float:
    check_scalar(confidence, "confidence_level", owner=owner, kind=numbers.Real, low=0, high=1, closed="neither")
    return float(confidence)


def privileged_index(grouping: Grouping, privileged_group: Any, name: str = "privileged_group") -> int:
    """Index of ``privileged_group`` among the groups of ``grouping``.

    One feature: any value whose ``str`` is a group label. Several features: a tuple with one
    value per feature, or the joined label (``"Male x White"``).
    """
    labels = grouping.label_strings
    if isinstance(privileged_group, tuple) and len(grouping.features) > 1:
        wanted = SEPARATOR.join(str(part) for part in privileged_group)
    elif isinstance(privileged_group, np.generic):
        wanted = str(privileged_group.item())
    else:
        wanted = str(privileged_group)
    if privileged_group is None or wanted not in labels:
        raise AssayInputError(
            _UNKNOWN_PRIVILEGED.format(name=name, feature=grouping.name, valid=list(labels),
                                       received=privileged_group)
        )
    return labels.index(wanted)


# ---------------------------------------------------------------------------------------------
# Counts and rates
# ---------------------------------------------------------------------------------------------


def counts_of(stats: ConfusionStats) -> np.ndarray:
    """``(G, 4)`` array ``[tn, fp, fn, tp]`` of a :class:`ConfusionStats`."""
    return np.stack([stats.tn, stats.fp, stats.fn, stats.tp], axis=-1)


def aggregate_counts(counts: np.ndarray, group_of: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the cell axis (-2) of ``counts`` into ``n_groups`` groups: ``(..., C, 4) -> (..., G, 4)``."""
    onehot = np.zeros((n_groups, len(group_of)))
    onehot[group_of, np.arange(len(group_of))] = 1.0
    return np.einsum("gc,...ck->...gk", onehot, counts)


def _stats_from_counts(counts: np.ndarray, labels: Sequence[Hashable] | int, pos_label: Any) -> ConfusionStats:
    stats = ConfusionStats(labels, pos_label=pos_label)
    stats.tn, stats.fp, stats.fn, stats.tp = (np.ascontiguousarray(counts[:, k], dtype=np.float64) for k in range(4))
    return stats


class Rates:
    """Per-group and overall values of label metrics, from counts of shape ``(..., G, 4)``.

    ``quiet`` silences the formulas' :class:`UndefinedMetricWarning` (bootstrap replicates);
    point estimates warn, naming the group and the metric.
    """

    def __init__(self, counts: np.ndarray, labels: Sequence[Hashable], pos_label: Any, *,
                 name: str, quiet: bool = False) -> None:
        self.counts = np.asarray(counts, dtype=np.float64)
        self.labels = tuple(labels)
        self.pos_label = pos_label
        self.name = name
        self.quiet = quiet
        self._group: dict[str, np.ndarray] = {}
        self._overall: dict[str, np.ndarray] = {}

    @property
    def lead(self) -> tuple[int, ...]:
        return self.counts.shape[:-2]

    def _evaluate(self, counts: np.ndarray, labels: Sequence[Hashable], metric: str,
                  quiet: bool = False) -> np.ndarray:
        shape = counts.shape[:-1]
        flat = counts.reshape(-1, 4)
        group_labels: Sequence[Hashable] | int = labels if not self.lead else flat.shape[0]
        stats = _stats_from_counts(flat, group_labels, self.pos_label)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UndefinedMetricWarning)
            values = METRICS[metric].function(stats)
        if not (self.quiet or quiet):
            # Re-emitted so that they point at the user's call, not at this module.
            for warning in caught:
                warnings.warn(warning.message, warning.category, stacklevel=outside_stacklevel())
        return np.asarray(values, dtype=np.float64).reshape(shape)

    def group(self, metric: str) -> np.ndarray:
        """Values per group, shape ``(..., G)``."""
        if metric not in self._group:
            self._group[metric] = self._evaluate(self.counts, self.labels, metric)
        return self._group[metric]

    def overall(self, metric: str) -> np.ndarray:
        """Value on all rows, shape ``(...)``."""
        if metric not in self._overall:
            total = self.counts.sum(axis=-2, keepdims=True)
            # Quiet: all rows are undefined only when every group is, and those warnings name them.
            self._overall[metric] = self._evaluate(total, ("overall",), metric, quiet=True)[..., 0]
        return self._overall[metric]

    def treatment_equality(self) -> tuple[np.ndarray, np.ndarray]:
        """FN / FP per group ``(..., G)`` and overall ``(...)``; NaN where FP is 0.

        Treatment equality (Berk et al., 2018) is not a metric of the registry; it is a ratio of
        two confusion counts, computed here.
        """
        if "treatment_equality" not in self._group:
            fp, fn = self.counts[..., 1], self.counts[..., 2]
            per_group = _ratio_or_nan(fn, fp)
            self._group["treatment_equality"] = per_group
            self._overall["treatment_equality"] = _ratio_or_nan(fn.sum(axis=-1), fp.sum(axis=-1))
            undefined = np.isnan(per_group)
            if not self.quiet and undefined.any():
                names = ", ".join(repr(str(self.labels[i])) for i in np.flatnonzero(undefined))
                warn_undefined(_UNDEFINED_MEASURE.format(
                    measure="treatment_equality", where=f"group(s) {names}",
                    reason="no false positives"))
        return self._group["treatment_equality"], self._overall["treatment_equality"]

    def treatment_equality_overall(self) -> np.ndarray:
        """FN / FP of all rows, shape ``(...)`` (no per-group warning)."""
        fp, fn = self.counts[..., 1].sum(axis=-1), self.counts[..., 2].sum(axis=-1)
        return _ratio_or_nan(fn, fp)


class TableRates(Rates):
    """:class:`Rates` whose registry metrics are given -- per group and overall, read from a
    grouped table (:class:`~assay.metrics.GroupedMetrics`) and its resamples; the counts serve
    the quantities that are not per-group rates (FN / FP, two-group aggregates)."""

    def __init__(self, counts: np.ndarray, labels: Sequence[Hashable], pos_label: Any, *, name: str,
                 quiet: bool = False, group: dict[str, np.ndarray] | None = None,
                 overall: dict[str, np.ndarray] | None = None) -> None:
        super().__init__(counts, labels, pos_label, name=name, quiet=quiet)
        self._group.update(group or {})
        self._overall.update(overall or {})


def _ratio_or_nan(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


# ---------------------------------------------------------------------------------------------
# Aggregates over groups (vectorised over leading axes)
# ---------------------------------------------------------------------------------------------


def _enough(values: np.ndarray) -> np.ndarray:
    return (~np.isnan(values)).sum(axis=-1) >= 2


def difference(values: np.ndarray, overall: np.ndarray, method: str) -> np.ndarray:
    """Largest gap over the groups (last axis); NaN groups skipped; NaN if < 2 groups defined.

    ``between_groups``: ``max - min``; ``to_overall``: ``max |group - overall|``.
    """
    if method == "between_groups":
        gap = np.fmax.reduce(values, axis=-1) - np.fmin.reduce(values, axis=-1)
    else:
        gap = np.fmax.reduce(np.abs(values - np.asarray(overall)[..., None]), axis=-1)
    return np.where(_enough(values), gap, np.nan)


def ratio(values: np.ndarray, overall: np.ndarray, method: str) -> np.ndarray:
    """Smallest ratio over the groups (at most 1); NaN groups skipped; NaN if < 2 groups defined.

    ``between_groups``: ``min / max``; ``to_overall``: ``min over groups of min(g/o, o/g)``.
    0/0 is NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "between_groups":
            result = np.fmin.reduce(values, axis=-1) / np.fmax.reduce(values, axis=-1)
        else:
            r = values / np.asarray(overall)[..., None]
            r = np.where(r > 1, 1 / r, r)
            result = np.fmin.reduce(r, axis=-1)
    return np.where(_enough(values), result, np.nan)


def warn_if_too_few(values: np.ndarray, measure: str, feature: str, metric: str) -> None:
    """Warn when a point estimate is NaN because fewer than two groups have a value."""
    if values.ndim == 1 and (~np.isnan(values)).sum() < 2:
        warn_undefined(_TOO_FEW_DEFINED.format(measure=measure, feature=feature, metric=metric))


def metric_gap(rates: Rates, metric: str, method: str, kind: str, *, measure: str) -> np.ndarray:
    """``difference`` or ``ratio`` of ``metric`` over the groups of ``rates``."""
    values = rates.group(metric)
    if not rates.quiet:
        warn_if_too_few(values, measure, rates.name, metric)
    fn = difference if kind == "difference" else ratio
    result = fn(values, rates.overall(metric), method)
    if kind == "ratio" and not rates.quiet and np.ndim(result) == 0 and math.isnan(float(result)) \
            and _enough(values):
        warn_undefined(_UNDEFINED_MEASURE.format(
            measure=measure, where=f"'{rates.name}'", reason=f"'{metric}' is 0 for every group: 0/0"))
    return result


def equalized_odds(rates: Rates, method: str, kind: str, agg: str, *, measure: str) -> np.ndarray:
    """Worst case (max difference / min ratio) or mean of the TPR and FPR aggregates."""
    tpr = metric_gap(rates, "tpr", method, kind, measure=measure)
    fpr = metric_gap(rates, "fpr", method, kind, measure=measure)
    if agg == "mean":
        return (tpr + fpr) / 2
    return np.maximum(tpr, fpr) if kind == "difference" else np.minimum(tpr, fpr)


def signed_metric_gap(point: Rates, boot: Rates, metric: str, method: str) -> np.ndarray:
    """Resampled signed difference behind :func:`metric_gap`'s ``difference`` (pair fixed by the
    point estimate; see :func:`assay.metrics.bootstrap.signed_gap`), shape (n_boot,)."""
    return _bootstrap.signed_gap(boot.group(metric), boot.overall(metric), point.group(metric),
                                 point.overall(metric), method)


def signed_equalized_odds(point: Rates, boot: Rates, method: str) -> np.ndarray:
    """The signed gap of whichever of TPR and FPR gives the equalized odds difference."""
    gaps = [float(difference(point.group(m), point.overall(m), method)) for m in ("tpr", "fpr")]
    metric = "fpr" if gaps[1] > gaps[0] or math.isnan(gaps[0]) else "tpr"
    return signed_metric_gap(point, boot, metric, method)


def signed_metric_ratio(point: Rates, boot: Rates, metric: str, method: str) -> np.ndarray:
    """Resampled signed relative gap behind :func:`metric_gap`'s ``ratio`` (pair fixed by the
    point estimate; see :func:`assay.metrics.bootstrap.signed_relative_gap`), shape (n_boot,)."""
    return _bootstrap.signed_relative_gap(boot.group(metric), boot.overall(metric), point.group(metric),
                                          point.overall(metric), method)


def signed_equalized_odds_ratio(point: Rates, boot: Rates, method: str) -> np.ndarray:
    """The signed relative gap of whichever of TPR and FPR gives the equalized odds ratio."""
    ratios = [float(ratio(point.group(m), point.overall(m), method)) for m in ("tpr", "fpr")]
    metric = "fpr" if ratios[1] < ratios[0] or math.isnan(ratios[0]) else "tpr"
    return signed_metric_ratio(point, boot, metric, method)


def signed_relative_difference(rates: Rates, metric: str) -> np.ndarray:
    """``(u - p) / (u + p)`` of ``metric`` on a two-group :class:`Rates` (privileged first):
    ``tanh`` of half the log of :func:`signed_ratio`."""
    values = rates.group(metric)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (values[..., 1] - values[..., 0]) / (values[..., 1] + values[..., 0])


def signed_treatment_equality(point: Rates, boot: Rates, method: str) -> np.ndarray:
    """Resampled signed difference behind :func:`treatment_equality_gap`."""
    (per_group, overall), (boot_group, boot_overall) = point.treatment_equality(), boot.treatment_equality()
    return _bootstrap.signed_gap(boot_group, boot_overall, per_group, overall, method)


def treatment_equality_gap(rates: Rates, method: str, *, measure: str) -> np.ndarray:
    per_group, overall = rates.treatment_equality()
    if not rates.quiet:
        warn_if_too_few(per_group, measure, rates.name, "treatment_equality")
    return difference(per_group, overall, method)


def two_groups(counts: np.ndarray, privileged: int) -> np.ndarray:
    """``(..., G, 4) -> (..., 2, 4)``: the privileged group (index 0) and all other rows (1)."""
    group_of = np.ones(counts.shape[-2], dtype=np.int64)
    group_of[privileged] = 0
    return aggregate_counts(counts, group_of, 2)


def privileged_labels(labels: Sequence[str], privileged: int) -> tuple[str, str]:
    name = labels[privileged]
    return (name, f"not {name}")


def signed_difference(rates: Rates, metric: str) -> np.ndarray:
    """``metric(unprivileged) - metric(privileged)`` on a two-group :class:`Rates` (priv first)."""
    values = rates.group(metric)
    return values[..., 1] - values[..., 0]


def signed_ratio(rates: Rates, metric: str, *, measure: str) -> np.ndarray:
    """``metric(unprivileged) / metric(privileged)``; ``inf`` for x/0 with x > 0, NaN for 0/0."""
    values = rates.group(metric)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = values[..., 1] / values[..., 0]
    if not rates.quiet and np.ndim(result) == 0 and math.isnan(float(result)) and \
            not np.isnan(values).any():
        warn_undefined(_UNDEFINED_MEASURE.format(
            measure=measure, where=f"'{rates.name}'",
            reason=f"'{metric}' is 0 for both the privileged group and the others"))
    return result


def disparate_impact_score(di: np.ndarray) -> np.ndarray:
    """``1 - min(DI, 1/DI)``: 0 at parity, 1 at total disparity (DI 0 or inf)."""
    di = np.asarray(di, dtype=np.float64)
    with np.errstate(divide="ignore"):
        inverse = np.where(di == 0, np.inf, 1 / np.where(di == 0, 1, di))
    return 1 - np.minimum(di, inverse)


def generalized_entropy(counts: np.ndarray, alpha: float) -> np.ndarray:
    """Generalized entropy index of benefits ``b = y_pred - y_true + 1`` from total counts.

    ``b`` is 0 for a false negative, 1 for a correct prediction and 2 for a false positive, so
    the index depends on the (weighted) confusion counts only. ``counts``: ``(..., 4)``.
    """
    counts = np.asarray(counts, dtype=np.float64)
    tn, fp, fn, tp = (counts[..., k] for k in range(4))
    total = tn + fp + fn + tp
    weights = np.stack([fn, tn + tp, fp], axis=-1)  # benefits 0, 1, 2
    benefits = np.array([0.0, 1.0, 2.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = (tn + tp + 2 * fp) / total
        share = benefits / mu[..., None]  # b / mu
        if alpha == 1:
            terms = np.where(share > 0, share * np.log(np.where(share > 0, share, 1.0)), 0.0)
            value = (weights * terms).sum(axis=-1) / total
        elif alpha == 0:
            terms = -np.log(share)
            terms = np.where(weights > 0, terms, 0.0)
            value = (weights * terms).sum(axis=-1) / total
        else:
            terms = np.where(weights > 0, share ** alpha - 1, 0.0)
            value = (weights * terms).sum(axis=-1) / (total * alpha * (alpha - 1))
    return np.where((total > 0) & (mu > 0), value, np.nan)


# ---------------------------------------------------------------------------------------------
# Resampling: the metrics layer's bootstrap (one home for resampling, as for formulas)
# ---------------------------------------------------------------------------------------------


def cell_rows(codes: np.ndarray, actual: np.ndarray, predicted: np.ndarray, n_groups: int,
              weights: np.ndarray | None = None) -> np.ndarray:
    """Row counts (or, with ``weights``, sums of ``weights``) per group and confusion cell,
    shape ``(n_groups, 4)``, order ``[tn, fp, fn, tp]``."""
    category = codes.astype(np.int64) * 4 + 2 * actual.astype(np.int64) + predicted.astype(np.int64)
    return np.bincount(category, weights, minlength=4 * n_groups).reshape(n_groups, 4)


def resample_counts(rows: np.ndarray, weight: np.ndarray | None, n_boot: int,
                    rng: np.random.Generator, weight_sq: np.ndarray | None = None) -> np.ndarray:
    """Bootstrap confusion counts ``(n_boot, G, 4)`` of :func:`assay.metrics.bootstrap.confusion_resamples`.

    Rows are resampled within each group (finest cell), drawn as multinomial counts of its four
    confusion cells: the row bootstrap in distribution for unweighted data; with weights (and
    ``weight_sq``, the sums of squared weights), a category's total weight is a gamma draw with
    the row bootstrap's mean and variance (see that module). The same draws
    as ``evaluate_groups(..., n_boot=, random_state=)`` for the same cells and seed.
    """
    return _bootstrap.confusion_resamples(rows, weight, int(n_boot), rng, weight_sq)


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0; NaN replicates skipped (all NaN gives NaN)."""
    return _bootstrap.percentile_interval(np.asarray(replicates, dtype=np.float64), float(confidence))
