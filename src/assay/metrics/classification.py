"""Classification metrics: the one home of their formulas.

Every formula is a function of sufficient statistics (:class:`ConfusionStats` for the label
metrics, :class:`CalibrationStats` for calibration) returning one value per group, shape
``(n_groups,)``. Grouped tables, overall values and the plain array functions below
(``accuracy_score(y_true, y_pred)``, ...) all go through these formulas.

Conventions
-----------
* Label metrics are **binary-only** for now: ``y == pos_label`` is positive, the one other
  label negative.
* Rates use weighted counts (sums of ``sample_weight``); ``count`` is the unweighted number of
  rows.
* A value that is 0/0 (e.g. TPR of a group with no positives) is NaN, and an
  :class:`~assay.core.errors.UndefinedMetricWarning` names the metric and the group(s).
  ``balanced_accuracy`` follows scikit-learn: it is the mean of TPR and TNR over the classes
  present in ``y_true``, so a group with one class gets that class's recall (NaN only for a
  group with no weight).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..core.errors import UndefinedMetricWarning
from ..core.validation import check_consistent_length, check_option, check_scalar
from ._checks import (
    check_binary_labels,
    check_class_indices,
    check_labels_1d,
    check_prob,
    check_sample_weight,
)
from ._stats import CalibrationStats, ConfusionStats

_UNDEFINED = "'{metric}' is undefined for group(s) {groups} ({reason}); its value is NaN."
_NORMS = ("l1", "l2", "max")
_ALL_ROWS = "all"  # the group label of the plain array functions (one group: all rows)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _label_str(label: Hashable) -> str:
    return " x ".join(str(part) for part in label) if isinstance(label, tuple) else str(label)


def _outside_package_stacklevel() -> int:
    """The ``stacklevel`` that attributes a warning to the first caller outside assay.metrics."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def _warn_undefined(metric: str, labels: tuple[Hashable, ...], undefined: np.ndarray, reason: str) -> None:
    names = [repr(_label_str(labels[i])) for i in np.flatnonzero(undefined)]
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    warnings.warn(
        _UNDEFINED.format(metric=metric, groups=shown, reason=reason),
        UndefinedMetricWarning,
        stacklevel=_outside_package_stacklevel(),
    )


def _divide(
    num: np.ndarray, den: np.ndarray, labels: tuple[Hashable, ...], metric: str, reason: str
) -> np.ndarray:
    """``num / den`` per group; NaN (with one warning naming the groups) where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(den.shape, np.nan)
    defined = den > 0
    np.divide(num, den, out=out, where=defined)
    if not defined.all():
        _warn_undefined(metric, labels, ~defined, reason)
    return out


_NO_ROWS = "no rows, or zero total weight"
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
    return _divide(stats.tp, stats.tp + stats.fn, stats.labels, "tpr", _NO_POS)


def fnr(stats: ConfusionStats) -> np.ndarray:
    """False negative rate (miss rate): FN / (TP + FN)."""
    return _divide(stats.fn, stats.tp + stats.fn, stats.labels, "fnr", _NO_POS)


def tnr(stats: ConfusionStats) -> np.ndarray:
    """True negative rate (specificity): TN / (TN + FP)."""
    return _divide(stats.tn, stats.tn + stats.fp, stats.labels, "tnr", _NO_NEG)


def fpr(stats: ConfusionStats) -> np.ndarray:
    """False positive rate (fall-out): FP / (TN + FP)."""
    return _divide(stats.fp, stats.tn + stats.fp, stats.labels, "fpr", _NO_NEG)


def ppv(stats: ConfusionStats) -> np.ndarray:
    """Positive predictive value (precision): TP / (TP + FP)."""
    return _divide(stats.tp, stats.tp + stats.fp, stats.labels, "ppv", _NO_PRED_POS)


def fdr(stats: ConfusionStats) -> np.ndarray:
    """False discovery rate: FP / (TP + FP)."""
    return _divide(stats.fp, stats.tp + stats.fp, stats.labels, "fdr", _NO_PRED_POS)


def npv(stats: ConfusionStats) -> np.ndarray:
    """Negative predictive value: TN / (TN + FN)."""
    return _divide(stats.tn, stats.tn + stats.fn, stats.labels, "npv", _NO_PRED_NEG)


def f1(stats: ConfusionStats) -> np.ndarray:
    """F1 score: 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall."""
    return _divide(
        2 * stats.tp, 2 * stats.tp + stats.fp + stats.fn, stats.labels, "f1",
        "no positives in y_true or y_pred",
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


def expected_calibration_error(stats: CalibrationStats, norm: str = "l1") -> np.ndarray:
    """Binned calibration error per group, from :class:`CalibrationStats`.

    With bin weights ``w_b`` (sum of sample weights), mean confidence ``conf_b`` and observed
    frequency (accuracy) ``acc_b``, over the bins with ``w_b > 0`` and ``W = sum_b w_b``:

    * ``"l1"`` (ECE): ``sum_b (w_b / W) |acc_b - conf_b|``
    * ``"l2"`` (RMS calibration error): ``sqrt(sum_b (w_b / W) (acc_b - conf_b)**2)``
    * ``"max"`` (MCE): ``max_b |acc_b - conf_b|``

    What confidence and outcome mean (binary positive-class probability, or top-label) is set
    by the shape of the probabilities given to :meth:`CalibrationStats.update`.
    A group with zero total weight is NaN (with an :class:`UndefinedMetricWarning`).
    """
    check_option(norm, "norm", owner="expected_calibration_error", options=_NORMS)
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
    out = _divide(value, total, stats.labels, "ece", _NO_ROWS)
    return np.sqrt(out) if norm == "l2" else out


def _ece(stats: CalibrationStats) -> np.ndarray:
    return expected_calibration_error(stats, norm="l1")


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
    """

    name: str
    function: Callable[[Any], np.ndarray]
    higher_is_better: bool | None
    needs: Literal["labels", "scores"]
    description: str


def _spec(function: Callable[[Any], np.ndarray], higher_is_better: bool | None, description: str,
          name: str | None = None, needs: Literal["labels", "scores"] = "labels") -> MetricSpec:
    return MetricSpec(name or function.__name__, function, higher_is_better, needs, description)


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
    )
}
"""Every metric by name: ``METRICS["tpr"].function(stats)``."""


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


def calibration_error(
    y_true: Any,
    y_prob: Any,
    *,
    n_bins: int = 15,
    norm: str = "l1",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Expected calibration error of all rows (same formula as ``METRICS["ece"]``).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels: binary (with ``pos_label``) for ``y_prob`` of shape (n,) or (n, 2); class
        indices ``0..k-1`` for ``y_prob`` of shape (n, k) with ``k >= 3``.
    y_prob : array-like of shape (n,) or (n, k)
        Probabilities. (n,): probability of ``pos_label`` (binary reliability); (n, 2): column 1
        is that probability; (n, k >= 3): top-label confidence. See :class:`CalibrationStats`.
    n_bins : int, default 15
        Equal-width bins on [0, 1], closed on the right.
    norm : {"l1", "l2", "max"}, default "l1"
        ECE, RMS calibration error, or maximum calibration error.
    sample_weight : array-like of shape (n,), optional
    pos_label : scalar, default 1
    """
    check_scalar(n_bins, "n_bins", owner="calibration_error", kind=(int, np.integer), low=1)
    check_option(norm, "norm", owner="calibration_error", options=_NORMS)
    y_true = check_labels_1d(y_true, name="y_true")
    p = check_prob(y_prob, name="y_prob")
    w = check_sample_weight(sample_weight)
    n = check_consistent_length(y_true=y_true, y_prob=p, sample_weight=w)
    if p.ndim == 2 and p.shape[1] > 2:
        y_true = check_class_indices(y_true, p.shape[1], name="y_true", prob_name="y_prob")
    else:
        check_binary_labels(y_true, None, pos_label)
    stats = CalibrationStats([_ALL_ROWS], n_bins=n_bins, pos_label=pos_label)
    stats._update(y_true, p, np.zeros(n, dtype=np.int64), w)
    return float(expected_calibration_error(stats, norm=norm)[0])
