"""Classification metrics: the one home of their formulas.

Every formula is a function of sufficient statistics (:class:`ConfusionStats` for the label
metrics, :class:`CalibrationStats` for calibration, :class:`~assay.metrics.scores.ScoreStats`
for log loss and Brier, :class:`~assay.metrics.scores.RankStats` for ROC AUC; the registry's
``MetricSpec.statistics`` says which) returning one value per group, shape ``(n_groups,)``. Grouped tables, overall values and the plain array functions below
(``accuracy_score(y_true, y_pred)``, ...) all go through these formulas.

Conventions
-----------
* Label metrics are binary on :class:`ConfusionStats`: ``y == pos_label`` is positive, the
  one other label negative. Multiclass labels go through :class:`MulticlassConfusionStats`
  and :func:`multiclass_metric`: accuracy, error rate and balanced accuracy (mean recall over
  the classes present, as scikit-learn) from the whole matrix; every other label metric of
  one class against the rest (``average="ovr"``), or its mean over classes (``"macro"``).
* Score metrics: ``ece`` and ``mce`` (equal-width binned calibration; the array functions of
  every calibration metric are in :mod:`assay.metrics.calibration`), ``roc_auc`` (exact, ties 1/2; multiclass the
  one-vs-rest macro average), ``log_loss`` (nats) and ``brier`` (multiclass: sum over classes,
  in [0, 2]); definitions as scikit-learn 1.9 (see :mod:`assay.metrics.scores`).
* Directions (``higher_is_better``): ``roc_auc`` True; ``log_loss``, ``brier``, ``ece``, ``mce``,
  error-type rates False, so the worst group of a loss is its maximum.
* Rates use weighted counts (sums of ``sample_weight``); ``count`` is the unweighted number of
  rows.
* A value that is 0/0 (e.g. TPR of a group with no positives) is NaN, and an
  :class:`~assay.core.errors.UndefinedMetricWarning` names the metric and the group(s).
  ``balanced_accuracy`` follows scikit-learn: it is the mean of TPR and TNR over the classes
  present in ``y_true``, so a group with one class gets that class's recall (NaN only for a
  group with no weight).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..core.errors import UndefinedMetricWarning, outside_stacklevel
from ..core.validation import SEPARATOR, check_consistent_length, check_option
from ._checks import (
    check_binary_labels,
    check_class_indices,
    check_labels_1d,
    check_prob,
    check_sample_weight,
)
from ._stats import CalibrationStats, ConfusionStats, MulticlassConfusionStats
from .scores import RankStats, ScoreStats

_UNDEFINED = "'{metric}' is undefined for group(s) {groups} ({reason}); its value is NaN."
_NORMS = ("l1", "l2", "max")
_ALL_ROWS = "all"  # the group label of the plain array functions (one group: all rows)


def _label_str(label: Hashable) -> str:
    return SEPARATOR.join(str(part) for part in label) if isinstance(label, tuple) else str(label)


def _warn_undefined(metric: str, labels: tuple[Hashable, ...], undefined: np.ndarray, reason: str) -> None:
    names = [repr(_label_str(labels[i])) for i in np.flatnonzero(undefined)]
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    warnings.warn(
        _UNDEFINED.format(metric=metric, groups=shown, reason=reason),
        UndefinedMetricWarning,
        stacklevel=outside_stacklevel(),
    )


def _divide(
    num: np.ndarray, den: np.ndarray, labels: tuple[Hashable, ...], metric: str, reason: str,
    total: np.ndarray | None = None,
) -> np.ndarray:
    """``num / den`` per group; NaN (with one warning naming the groups) where ``den == 0``.

    With ``total`` (each group's total weight), groups whose total weight is 0 are named with
    that reason instead of ``reason``.
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(den.shape, np.nan)
    defined = den > 0
    np.divide(num, den, out=out, where=defined)
    if not defined.all():
        weightless = np.zeros(den.shape, dtype=bool) if total is None else np.asarray(total) <= 0
        if (~defined & ~weightless).any():
            _warn_undefined(metric, labels, ~defined & ~weightless, reason)
        if (~defined & weightless).any():
            _warn_undefined(metric, labels, ~defined & weightless, _ZERO_WEIGHT)
    return out


_NO_ROWS = "no rows, or zero total weight"
_ZERO_WEIGHT = "total weight is 0"
_NO_POS = "no positives in y_true"
_NO_NEG = "no negatives in y_true"
_NO_PRED_POS = "no predicted positives"
_NO_PRED_NEG = "no predicted negatives"


# ---------------------------------------------------------------------------------------------
# Formulas on ConfusionStats (one value per group)
# ---------------------------------------------------------------------------------------------


def accuracy(stats: ConfusionStats) -> np.ndarray:
    """(TP + TN) / total weight."""
    return _divide(stats.tp + stats.tn, stats.weight, stats.labels, "accuracy", _NO_ROWS)


def error_rate(stats: ConfusionStats) -> np.ndarray:
    """(FP + FN) / total weight."""
    return _divide(stats.fp + stats.fn, stats.weight, stats.labels, "error_rate", _NO_ROWS)


def selection_rate(stats: ConfusionStats) -> np.ndarray:
    """(TP + FP) / total weight: the share predicted positive."""
    return _divide(stats.tp + stats.fp, stats.weight, stats.labels, "selection_rate", _NO_ROWS)


def base_rate(stats: ConfusionStats) -> np.ndarray:
    """(TP + FN) / total weight: the share truly positive (prevalence)."""
    return _divide(stats.tp + stats.fn, stats.weight, stats.labels, "base_rate", _NO_ROWS)


def tpr(stats: ConfusionStats) -> np.ndarray:
    """True positive rate (recall, sensitivity): TP / (TP + FN)."""
    return _divide(stats.tp, stats.tp + stats.fn, stats.labels, "tpr", _NO_POS, stats.weight)


def fnr(stats: ConfusionStats) -> np.ndarray:
    """False negative rate (miss rate): FN / (TP + FN)."""
    return _divide(stats.fn, stats.tp + stats.fn, stats.labels, "fnr", _NO_POS, stats.weight)


def tnr(stats: ConfusionStats) -> np.ndarray:
    """True negative rate (specificity): TN / (TN + FP)."""
    return _divide(stats.tn, stats.tn + stats.fp, stats.labels, "tnr", _NO_NEG, stats.weight)


def fpr(stats: ConfusionStats) -> np.ndarray:
    """False positive rate (fall-out): FP / (TN + FP)."""
    return _divide(stats.fp, stats.tn + stats.fp, stats.labels, "fpr", _NO_NEG, stats.weight)


def ppv(stats: ConfusionStats) -> np.ndarray:
    """Positive predictive value (precision): TP / (TP + FP)."""
    return _divide(stats.tp, stats.tp + stats.fp, stats.labels, "ppv", _NO_PRED_POS, stats.weight)


def fdr(stats: ConfusionStats) -> np.ndarray:
    """False discovery rate: FP / (TP + FP)."""
    return _divide(stats.fp, stats.tp + stats.fp, stats.labels, "fdr", _NO_PRED_POS, stats.weight)


def npv(stats: ConfusionStats) -> np.ndarray:
    """Negative predictive value: TN / (TN + FN)."""
    return _divide(stats.tn, stats.tn + stats.fn, stats.labels, "npv", _NO_PRED_NEG, stats.weight)


def f1(stats: ConfusionStats) -> np.ndarray:
    """F1 score: 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall."""
    return _divide(
        2 * stats.tp, 2 * stats.tp + stats.fp + stats.fn, stats.labels, "f1",
        "no positives in y_true or y_pred", stats.weight,
    )


def balanced_accuracy(stats: ConfusionStats) -> np.ndarray:
    """Mean of TPR and TNR over the classes present (scikit-learn's convention).

    A group with only positives gets its TPR, one with only negatives its TNR; NaN only where
    the group has no weight.
    """
    pos = stats.tp + stats.fn
    neg = stats.tn + stats.fp
    recall_pos = np.zeros(stats.n_groups)
    np.divide(stats.tp, pos, out=recall_pos, where=pos > 0)
    recall_neg = np.zeros(stats.n_groups)
    np.divide(stats.tn, neg, out=recall_neg, where=neg > 0)
    classes = (pos > 0).astype(np.float64) + (neg > 0)
    return _divide(recall_pos + recall_neg, classes, stats.labels, "balanced_accuracy", _NO_ROWS)


def count(stats: ConfusionStats | CalibrationStats) -> np.ndarray:
    """Unweighted number of rows per group (int64)."""
    n = stats.n
    return n.sum(axis=1) if n.ndim == 2 else n.copy()


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------


def binned_calibration_error(stats: CalibrationStats, norm: str = "l1") -> np.ndarray:
    """Binned calibration error per group, from :class:`CalibrationStats` (any bin edges).

    With bin weights ``w_b`` (sum of sample weights), mean confidence ``conf_b`` and observed
    frequency (accuracy) ``acc_b``, over the bins with ``w_b > 0`` and ``W = sum_b w_b``:

    * ``"l1"`` (ECE): ``sum_b (w_b / W) |acc_b - conf_b|``
    * ``"l2"`` (RMS calibration error): ``sqrt(sum_b (w_b / W) (acc_b - conf_b)**2)``
    * ``"max"`` (MCE): ``max_b |acc_b - conf_b|``

    What confidence and outcome mean (binary positive-class probability, or top-label) is set
    by the shape of the probabilities given to :meth:`CalibrationStats.update`.
    A group with zero total weight is NaN (with an :class:`UndefinedMetricWarning`).
    """
    check_option(norm, "norm", owner="binned_calibration_error", options=_NORMS)
    weight = stats.weight
    total = weight.sum(axis=1)
    filled = weight > 0
    # |acc_b - conf_b| * w_b is |correct_sum_b - conf_sum_b|: no division needed for l1
    abs_diff = np.where(filled, np.abs(stats.correct_sum - stats.conf_sum), 0.0)
    gap = np.zeros_like(weight)
    np.divide(abs_diff, weight, out=gap, where=filled)
    if norm == "l1":
        value = abs_diff.sum(axis=1)
    elif norm == "l2":
        value = (abs_diff * gap).sum(axis=1)
    else:
        value = gap.max(axis=1)
        total = (total > 0).astype(np.float64)
    out = _divide(value, total, stats.labels, {"l1": "ece", "l2": "rms_calibration_error", "max": "mce"}[norm],
                  _NO_ROWS)
    return np.sqrt(out) if norm == "l2" else out


def _ece(stats: CalibrationStats) -> np.ndarray:
    return binned_calibration_error(stats, norm="l1")


def _mce(stats: CalibrationStats) -> np.ndarray:
    return binned_calibration_error(stats, norm="max")


# ---------------------------------------------------------------------------------------------
# Scores: ROC AUC (RankStats), log loss and Brier score (ScoreStats)
# ---------------------------------------------------------------------------------------------


def roc_auc(stats: RankStats) -> np.ndarray:
    """Exact ROC AUC per group, from :class:`~assay.metrics.scores.RankStats`.

    Binary: ``P(score of a positive > score of a negative) + P(tie) / 2``, with weights
    (scikit-learn's ``roc_auc_score``). Multiclass: the unweighted mean over the ``k`` classes
    of the one-vs-rest AUCs (``roc_auc_score(multi_class="ovr", average="macro")``). A group
    lacking a class (binary: positives or negatives) is NaN, with an
    :class:`UndefinedMetricWarning` naming the group.
    """
    values = stats.roc_auc()
    undefined = np.isnan(values)
    if undefined.any():
        reason = ("y_true does not hold both classes" if stats.n_classes in (None, 2)
                  else "y_true does not hold every class")
        _warn_undefined("roc_auc", stats.labels, undefined, reason)
    return values


def log_loss(stats: ScoreStats) -> np.ndarray:
    """Mean log loss (cross-entropy, nats): ``-sum_i w_i log p_i[y_i] / sum_i w_i``, ``p``
    clipped to ``[eps, 1]`` (scikit-learn's ``log_loss``)."""
    return _divide(stats.log_loss_sum, stats.weight, stats.labels, "log_loss", _NO_ROWS)


def brier(stats: ScoreStats) -> np.ndarray:
    """Mean Brier score: binary ``(p - y)**2``; multiclass ``sum_c (p_c - 1[y = c])**2`` in
    [0, 2] (scikit-learn's ``brier_score_loss``, >= 1.7)."""
    return _divide(stats.brier_sum, stats.weight, stats.labels, "brier", _NO_ROWS)


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricSpec:
    """A metric known to assay.

    Attributes
    ----------
    name : str
        Its name in tables and in ``evaluate_groups(metrics=...)``.
    function : callable
        ``function(stats) -> ndarray of shape (n_groups,)``, on :class:`ConfusionStats` when
        ``needs == "labels"``, on :class:`CalibrationStats` when ``needs == "scores"``.
    higher_is_better : bool or None
        The direction of "better"; None for descriptive quantities (counts, rates that are
        neither good nor bad in themselves, such as the selection rate).
    needs : {"labels", "scores"}
        Predicted labels (``y_pred``) or scores/probabilities (``y_score``).
    description : str
        One line for tables and reports.
    statistics : {"confusion", "calibration", "scores", "ranks"}
        The statistics ``function`` takes: :class:`ConfusionStats`, :class:`CalibrationStats`,
        :class:`~assay.metrics.scores.ScoreStats` or :class:`~assay.metrics.scores.RankStats`.
        Defaults to ``"confusion"`` for label metrics and ``"calibration"`` for score metrics.
    """

    name: str
    function: Callable[[Any], np.ndarray]
    higher_is_better: bool | None
    needs: Literal["labels", "scores"]
    description: str
    statistics: Literal["confusion", "calibration", "scores", "ranks"] | None = None

    def __post_init__(self) -> None:
        if self.statistics is None:
            object.__setattr__(self, "statistics", "confusion" if self.needs == "labels" else "calibration")


def _spec(function: Callable[[Any], np.ndarray], higher_is_better: bool | None, description: str,
          name: str | None = None, needs: Literal["labels", "scores"] = "labels",
          statistics: str | None = None) -> MetricSpec:
    return MetricSpec(name or function.__name__, function, higher_is_better, needs, description,
                      statistics)  # type: ignore[arg-type]


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        _spec(accuracy, True, "Share of correct predictions."),
        _spec(error_rate, False, "Share of wrong predictions (1 - accuracy)."),
        _spec(balanced_accuracy, True, "Mean of TPR and TNR."),
        _spec(selection_rate, None, "Share predicted positive."),
        _spec(tpr, True, "True positive rate (recall, sensitivity)."),
        _spec(fpr, False, "False positive rate (fall-out)."),
        _spec(fnr, False, "False negative rate (miss rate)."),
        _spec(tnr, True, "True negative rate (specificity)."),
        _spec(ppv, True, "Positive predictive value (precision)."),
        _spec(npv, True, "Negative predictive value."),
        _spec(fdr, False, "False discovery rate (1 - precision)."),
        _spec(f1, True, "F1 score: harmonic mean of precision and recall."),
        _spec(base_rate, None, "Share truly positive (prevalence)."),
        _spec(count, None, "Number of rows (unweighted)."),
        _spec(_ece, False, "Expected calibration error (L1, equal-width bins).",
              name="ece", needs="scores"),
        _spec(_mce, False, "Maximum calibration error (largest |accuracy - confidence| over the non-empty "
              "equal-width bins).", name="mce", needs="scores"),
        _spec(roc_auc, True, "ROC AUC (exact, ties 1/2; multiclass one-vs-rest macro).",
              needs="scores", statistics="ranks"),
        _spec(log_loss, False, "Log loss (cross-entropy, nats).", needs="scores", statistics="scores"),
        _spec(brier, False, "Brier score (multiclass: sum over classes).", needs="scores",
              statistics="scores"),
    )
}
"""Every metric by name: ``METRICS["tpr"].function(stats)``."""


# ---------------------------------------------------------------------------------------------
# Multiclass label metrics
# ---------------------------------------------------------------------------------------------

AVERAGES = ("binary", "ovr", "macro")
"""How label metrics of a single class are read: ``"binary"`` -- ``pos_label`` against the
other label of binary data; ``"ovr"`` -- ``pos_label`` against every other class of data with
any number of classes; ``"macro"`` -- the mean over the classes of each class against the rest."""


def multiclass_metric(metric: str, stats: MulticlassConfusionStats, average: str = "macro",
                      pos_label: Any = 1) -> np.ndarray:
    """A label metric per group from multiclass confusion matrices.

    * ``accuracy`` / ``error_rate``: the share of rows on / off the diagonal.
    * ``balanced_accuracy``: the mean recall over the classes present in ``y_true``
      (scikit-learn's ``balanced_accuracy_score``).
    * ``count``: rows.
    * every other metric (TPR, FPR, PPV, F1, selection rate, ...) is a metric of one class
      against the rest: with ``average="ovr"`` (or ``"binary"``) of the class ``pos_label``;
      with ``average="macro"`` the unweighted mean over the classes of the one-vs-rest values
      of the classes where it is defined -- scikit-learn's ``average="macro"`` with
      ``zero_division=np.nan`` and ``labels`` every class seen. NaN, with an
      :class:`UndefinedMetricWarning`, only where it is defined for no class.
    """
    check_option(average, "average", owner="multiclass_metric", options=AVERAGES)
    labels = stats.labels
    k = len(stats.classes)
    diagonal = stats.matrix[:, np.arange(k), np.arange(k)]
    if metric == "count":
        return stats.n.copy()
    if metric in ("accuracy", "error_rate"):
        off = ~np.eye(k, dtype=bool)
        num = diagonal.sum(axis=1) if metric == "accuracy" else stats.matrix[:, off].sum(axis=1)
        return _divide(num, stats.weight, labels, metric, _NO_ROWS)
    if metric == "balanced_accuracy":
        support = stats.matrix.sum(axis=2)
        present = support > 0
        recall = np.zeros(support.shape)
        np.divide(diagonal, support, out=recall, where=present)
        return _divide(recall.sum(axis=1), present.sum(axis=1), labels, metric, _NO_ROWS)
    spec = METRICS[metric]
    if spec.statistics != "confusion":
        raise ValueError(f"{metric!r} is not a label metric")
    if average != "macro":
        return spec.function(stats.one_vs_rest(pos_label))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        values = np.stack([spec.function(stats.one_vs_rest(c)) for c in stats.classes], axis=1)
    defined = ~np.isnan(values)
    return _divide(np.where(defined, values, 0.0).sum(axis=1), defined.sum(axis=1), labels, metric,
                   "undefined for every class")


# ---------------------------------------------------------------------------------------------
# Plain array functions: one group (all rows), same formulas
# ---------------------------------------------------------------------------------------------


def _confusion_of(y_true: Any, y_pred: Any, sample_weight: Any, pos_label: Any) -> ConfusionStats:
    y_true = check_labels_1d(y_true, name="y_true")
    y_pred = check_labels_1d(y_pred, name="y_pred")
    w = check_sample_weight(sample_weight)
    n = check_consistent_length(y_true=y_true, y_pred=y_pred, sample_weight=w)
    check_binary_labels(y_true, y_pred, pos_label)
    return ConfusionStats([_ALL_ROWS], pos_label=pos_label)._update(
        y_true, y_pred, np.zeros(n, dtype=np.int64), w
    )


def _make_score(metric: str, public_name: str) -> Callable[..., float]:
    spec = METRICS[metric]

    def score(y_true: Any, y_pred: Any, *, sample_weight: Any = None, pos_label: Any = 1) -> float:
        stats = _confusion_of(y_true, y_pred, sample_weight, pos_label)
        return float(spec.function(stats)[0])

    score.__name__ = score.__qualname__ = public_name
    score.__module__ = __name__
    score.__doc__ = f"""{spec.description} Binary only.

    Same formula as ``METRICS[{metric!r}]``, on all rows as one group.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels, at most two distinct values between them.
    sample_weight : array-like of shape (n,), optional
        Non-negative row weights.
    pos_label : scalar, default 1
        The positive label.

    Returns
    -------
    float
        NaN, with an :class:`~assay.core.errors.UndefinedMetricWarning`, where undefined (0/0).
    """
    return score


accuracy_score = _make_score("accuracy", "accuracy_score")
error_rate_score = _make_score("error_rate", "error_rate_score")
balanced_accuracy_score = _make_score("balanced_accuracy", "balanced_accuracy_score")
selection_rate_score = _make_score("selection_rate", "selection_rate_score")
tpr_score = _make_score("tpr", "tpr_score")
fpr_score = _make_score("fpr", "fpr_score")
fnr_score = _make_score("fnr", "fnr_score")
tnr_score = _make_score("tnr", "tnr_score")
ppv_score = _make_score("ppv", "ppv_score")
npv_score = _make_score("npv", "npv_score")
fdr_score = _make_score("fdr", "fdr_score")
f1_score = _make_score("f1", "f1_score")
base_rate_score = _make_score("base_rate", "base_rate_score")
recall_score = _make_score("tpr", "recall_score")
precision_score = _make_score("ppv", "precision_score")


def _score_inputs(y_true: Any, y_score: Any, sample_weight: Any, pos_label: Any
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    y_true = check_labels_1d(y_true, name="y_true")
    p = check_prob(y_score, name="y_score")
    w = check_sample_weight(sample_weight)
    n = check_consistent_length(y_true=y_true, y_score=p, sample_weight=w)
    if p.ndim == 2 and p.shape[1] > 2:
        y_true = check_class_indices(y_true, p.shape[1], name="y_true", prob_name="y_score")
    else:
        check_binary_labels(y_true, None, pos_label)
    return y_true, p, w, n


def roc_auc_score(y_true: Any, y_score: Any, *, sample_weight: Any = None, pos_label: Any = 1) -> float:
    """Exact ROC AUC of all rows (same formula as ``METRICS["roc_auc"]``).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels (with ``pos_label``) for ``y_score`` of shape (n,) or (n, 2); class
        indices ``0..k-1`` for (n, k >= 3).
    y_score : array-like of shape (n,) or (n, k)
        Probabilities: (n,) of ``pos_label``; (n, 2) column 1; (n, k) one column per class
        (one-vs-rest macro average).
    sample_weight : array-like of shape (n,), optional
    pos_label : scalar, default 1

    Returns
    -------
    float
        NaN, with an :class:`~assay.core.errors.UndefinedMetricWarning`, when a class is absent.
    """
    y_true, p, w, n = _score_inputs(y_true, y_score, sample_weight, pos_label)
    stats = RankStats([_ALL_ROWS], pos_label=pos_label).update(y_true, p, np.zeros(n, dtype=np.int64), w)
    return float(roc_auc(stats)[0])


def _make_loss(metric: str, public_name: str, what: str) -> Callable[..., float]:
    spec = METRICS[metric]

    def score(y_true: Any, y_score: Any, *, sample_weight: Any = None, pos_label: Any = 1) -> float:
        y_true, p, w, n = _score_inputs(y_true, y_score, sample_weight, pos_label)
        stats = ScoreStats([_ALL_ROWS], pos_label=pos_label).update(y_true, p, np.zeros(n, dtype=np.int64), w)
        return float(spec.function(stats)[0])

    score.__name__ = score.__qualname__ = public_name
    score.__module__ = __name__
    score.__doc__ = f"""{what} of all rows (same formula as ``METRICS[{metric!r}]``).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels for ``y_score`` of shape (n,) or (n, 2); class indices ``0..k-1`` for
        (n, k >= 3).
    y_score : array-like of shape (n,) or (n, k)
        Probabilities, read as in :func:`roc_auc_score`.
    sample_weight : array-like of shape (n,), optional
    pos_label : scalar, default 1
    """
    return score


log_loss_score = _make_loss("log_loss", "log_loss_score", "Mean log loss (nats, as scikit-learn's log_loss)")
brier_score = _make_loss("brier", "brier_score",
                         "Mean Brier score (as scikit-learn's brier_score_loss; multiclass: sum over classes)")
