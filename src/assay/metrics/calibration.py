"""Calibration metrics of predicted probabilities, on arrays: ECE, MCE, RMS, ACE, reliability data.

* :func:`expected_calibration_error` -- binned calibration error (``norm="l1"`` ECE, ``"l2"``
  RMS, ``"max"`` MCE) with equal-width (``strategy="uniform"``) or equal-mass
  (``"quantile"``) bins, of the top label or of every class (``kind="classwise"``).
* :func:`adaptive_calibration_error` -- ACE (Nixon et al., 2019): equal-mass bins, every bin
  weighted equally, averaged over classes.
* :func:`reliability_table` -- the data of a reliability diagram: per bin its edges, mean
  confidence, accuracy, count, weight and whether it is empty (empty bins are NaN, never 0).

What is calibrated
------------------
* Binary probabilities -- shape ``(n,)`` (``p(y = pos_label)``) or ``(n, 2)`` (column 1 is that
  probability): ``kind="top_label"`` is the reliability of the positive-class probability (as
  scikit-learn's ``calibration_curve`` and netcal), ``kind="classwise"`` the mean over both
  columns ``1 - p`` and ``p``.
* ``k >= 3`` columns (``y_true`` holds class indices ``0..k-1``): ``kind="top_label"`` -- the
  confidence is the largest probability, the outcome whether its class (``argmax``, first on
  ties) is ``y_true``; ``kind="classwise"`` -- column ``c`` against ``y_true == c`` for every
  class, and the metric is the unweighted mean over the ``k`` classes (Kull et al., 2019).

Bins
----
* ``"uniform"``: ``n_bins`` equal-width bins closed on the right, ``[0, 1/B], (1/B, 2/B], ...,
  ((B-1)/B, 1]`` with edges ``k / B`` (as :class:`~assay.metrics.CalibrationStats` and the
  grouped table's ``ece``/``mce``).
* ``"quantile"`` (equal mass): edges ``np.quantile(confidence, linspace(0, 1, B + 1))`` (linear
  interpolation; unweighted even with ``sample_weight``), the first set to 0 and the last to 1;
  bins closed on the left, ``[e_0, e_1), ..., [e_{B-1}, 1]`` -- netcal's convention
  (``equal_intervals=False``), so a confidence equal to an inner edge lies in the bin above it.
  Ties: tied confidences always share one bin, so with ties bins hold unequal numbers of rows
  and repeated edges give empty bins, which are skipped like any empty bin. Classwise, each
  class has its own edges (the quantiles of its column).

Every metric skips empty bins (zero weight). With ``sample_weight``, a bin's weight, mean
confidence and accuracy are weighted. Per group and intersection, the equal-width metrics come
from the grouped table (``evaluate_groups(metrics=["ece", "mce"])``); equal-mass bins depend on
each group's own rows and are not mergeable: apply these functions to a group's rows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError, outside_stacklevel
from ..core.validation import check_consistent_length, check_option, check_scalar
from ._checks import check_binary_labels, check_class_indices, check_labels_1d, check_prob, check_sample_weight
from ._stats import CalibrationStats, checked_top_label, top_label, uniform_bins
from .classification import _NORMS, _divide, binned_calibration_error

STRATEGIES = ("uniform", "quantile")
KINDS = ("top_label", "classwise")

__all__ = ["KINDS", "STRATEGIES", "adaptive_calibration_error", "calibration_error", "expected_calibration_error",
           "reliability_table"]


def _columns(y_true: Any, proba: Any, sample_weight: Any, pos_label: Any, kind: str
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[Any]]:
    """Confidences ``(n, m)``, the outcomes, weights, and column names.

    ``m`` is 1 for ``top_label`` (outcomes: a boolean per row, correct / positive) and the number
    of classes (2 for binary) for ``classwise`` (outcomes: the column each row's class is).
    """
    y_true = check_labels_1d(y_true, name="y_true")
    fast = checked_top_label(proba) if kind == "top_label" else None
    p = check_prob(proba, name="proba") if fast is None else fast[0]
    w = check_sample_weight(sample_weight)
    check_consistent_length(y_true=y_true, proba=p, sample_weight=w)
    if p.ndim == 2 and p.shape[1] > 2:
        y = check_class_indices(y_true, p.shape[1], name="y_true", prob_name="proba")
        if kind == "classwise":
            return p, y, w, list(range(p.shape[1]))
        predicted, conf = top_label(p) if fast is None else fast[1:]
        return conf[:, None], predicted == y, w, ["top_label"]
    check_binary_labels(y_true, None, pos_label)
    positive = np.asarray(y_true == pos_label, dtype=bool)
    p1 = p[:, 1] if p.ndim == 2 else p
    if kind == "classwise":
        conf = p if p.ndim == 2 else np.column_stack([1.0 - p1, p1])
        return conf, positive.astype(np.int64), w, [0, 1]
    return p1[:, None], positive, w, [pos_label]


def _edges(conf: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Bin edges per column, shape ``(m, n_bins + 1)``."""
    m = conf.shape[1]
    if strategy == "uniform":
        return np.broadcast_to(np.arange(n_bins + 1) / n_bins, (m, n_bins + 1))
    if len(conf) == 0:
        return np.full((m, n_bins + 1), np.nan)
    edges = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1), axis=0).T.copy()
    edges[:, 0], edges[:, -1] = 0.0, 1.0
    return edges


def _bin_stats(conf: np.ndarray, hit: np.ndarray, w: np.ndarray | None, n_bins: int, strategy: str,
               labels: list[Any]) -> tuple[CalibrationStats, np.ndarray]:
    """Per column (the "groups" of the returned statistics) and bin: weight, confidence and
    outcome sums; and the edges."""
    n, m = conf.shape
    edges = _edges(conf, n_bins, strategy)
    if strategy == "uniform":
        bins = uniform_bins(conf, n_bins)
    else:  # left-closed: the number of inner edges at or below p
        bins = np.empty(conf.shape, dtype=np.intp)
        for c in range(m):
            bins[:, c] = np.searchsorted(edges[c, 1:-1], conf[:, c], side="right")
    if m > 1:
        bins += np.arange(m) * n_bins
    size = m * n_bins
    flat = bins.ravel()
    if m == 1 and w is None:  # one bincount over bin x outcome, as the floor of the benchmark
        both = np.bincount(2 * flat + hit, minlength=2 * size)
        counts = both[0::2] + both[1::2]
        weight = counts.astype(np.float64)
        conf_sum = np.bincount(flat, weights=conf.ravel(), minlength=size)
        correct = both[1::2].astype(np.float64)
    else:
        rows = np.arange(n) if m > 1 else np.flatnonzero(hit)
        hits = bins[rows, hit] if m > 1 else bins[rows, 0]
        counts = np.bincount(flat, minlength=size)
        if w is None:
            weight = counts.astype(np.float64)
            conf_sum = np.bincount(flat, weights=conf.ravel(), minlength=size)
            correct = np.bincount(hits, minlength=size).astype(np.float64)
        else:
            ww = np.repeat(w, m) if m > 1 else w
            weight = np.bincount(flat, weights=ww, minlength=size)
            conf_sum = np.bincount(flat, weights=conf.ravel() * ww, minlength=size)
            correct = np.bincount(hits, weights=w[rows], minlength=size)
    stats = CalibrationStats(["all"] if m == 1 else [f"class {label}" for label in labels], n_bins=n_bins)
    stats.weight = weight.reshape(m, n_bins)
    stats.conf_sum = conf_sum.reshape(m, n_bins)
    stats.correct_sum = correct.reshape(m, n_bins)
    stats.n = counts.reshape(m, n_bins)
    return stats, edges


def _check_settings(n_bins: Any, strategy: Any, kind: Any, owner: str) -> None:
    check_scalar(n_bins, "n_bins", owner=owner, kind=(int, np.integer), low=1)
    check_option(strategy, "strategy", owner=owner, options=STRATEGIES)
    check_option(kind, "kind", owner=owner, options=KINDS)


def _binned(y_true: Any, proba: Any, n_bins: Any, strategy: Any, kind: Any, sample_weight: Any, pos_label: Any,
            owner: str) -> tuple[CalibrationStats, np.ndarray, list[Any]]:
    _check_settings(n_bins, strategy, kind, owner)
    conf, hit, w, labels = _columns(y_true, proba, sample_weight, pos_label, kind)
    stats, edges = _bin_stats(conf, hit, w, int(n_bins), strategy, labels)
    return stats, edges, labels


def expected_calibration_error(
    y_true: Any,
    proba: Any = None,
    *,
    n_bins: int = 15,
    strategy: str = "uniform",
    kind: str = "top_label",
    norm: str = "l1",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Binned calibration error of all rows: ECE, RMS calibration error or MCE.

    With bin weights ``w_b``, mean confidence ``conf_b`` and accuracy ``acc_b`` over the
    non-empty bins, ``W = sum_b w_b``: ``"l1"`` (ECE) ``sum_b (w_b / W) |acc_b - conf_b|``;
    ``"l2"`` (RMS) ``sqrt(sum_b (w_b / W) (acc_b - conf_b)**2)``; ``"max"`` (MCE)
    ``max_b |acc_b - conf_b|``. ``kind="classwise"``: the mean over classes of each class's
    value. Equal to netcal's ``ECE`` / ``MCE`` (``bins=n_bins``; ``equal_intervals=False`` for
    ``"quantile"``) wherever no confidence lies on an equal-width edge (tested).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels (with ``pos_label``) for binary ``proba``; class indices ``0..k-1`` for
        ``proba`` of shape (n, k) with ``k >= 3``.
    proba : array-like of shape (n,) or (n, k)
        Probabilities (rows summing to 1); see the module notes for how each shape is read.
    n_bins : int, default 15
    strategy : {"uniform", "quantile"}, default "uniform"
        Equal-width or equal-mass bins (module notes: edges, closed sides, ties).
    kind : {"top_label", "classwise"}, default "top_label"
    norm : {"l1", "l2", "max"}, default "l1"
    sample_weight : array-like of shape (n,), optional
    pos_label : scalar, default 1

    Returns
    -------
    float
        NaN (with an :class:`~assay.core.errors.UndefinedMetricWarning`) when there are no rows or
        the total weight is 0. (Given a :class:`~assay.metrics.CalibrationStats` instead of
        ``y_true``, as the former ``expected_calibration_error(stats, norm)``: the array of
        :func:`binned_calibration_error`, with a ``FutureWarning``.)
    """
    if isinstance(y_true, CalibrationStats):  # the former signature, (stats, norm)
        warnings.warn("expected_calibration_error(stats, norm) is deprecated and will be removed; use "
                      "assay.metrics.binned_calibration_error(stats, norm) (same numbers).",
                      FutureWarning, stacklevel=outside_stacklevel())
        return binned_calibration_error(y_true, norm=norm if proba is None else proba)
    check_option(norm, "norm", owner="expected_calibration_error", options=_NORMS)
    if proba is None:
        raise AssayInputError("expected_calibration_error needs 'proba', the predicted probabilities "
                              "(shape (n,) or (n, k)). Got None.")
    stats, _, _ = _binned(y_true, proba, n_bins, strategy, kind, sample_weight, pos_label,
                          "expected_calibration_error")
    return _mean_over_columns(binned_calibration_error(stats, norm=norm))


def _mean_over_columns(values: np.ndarray) -> float:
    return float(values[0]) if len(values) == 1 else float(np.mean(values))


def adaptive_calibration_error(
    y_true: Any,
    proba: Any,
    *,
    n_bins: int = 15,
    kind: str = "classwise",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Adaptive calibration error (ACE; Nixon et al., 2019): equal-mass bins, each weighted equally.

    ``ACE = mean_c mean_b |acc_{c,b} - conf_{c,b}|`` over each class's non-empty equal-mass bins
    (``strategy="quantile"`` bins, see the module notes); ``kind="top_label"`` uses the top-label
    confidence alone, equal to netcal's ``ACE(bins=n_bins, equal_intervals=False)``; classwise it
    is the mean over classes of netcal's ACE of each column against ``y_true == c`` (tested).
    Parameters as :func:`expected_calibration_error`.
    """
    stats, _, _ = _binned(y_true, proba, n_bins, "quantile", kind, sample_weight, pos_label,
                          "adaptive_calibration_error")
    filled = stats.weight > 0
    gap = np.zeros_like(stats.weight)
    np.divide(np.abs(stats.correct_sum - stats.conf_sum), stats.weight, out=gap, where=filled)
    values = _divide(gap.sum(axis=1), filled.sum(axis=1), stats.labels, "ace", "no rows, or zero total weight")
    return _mean_over_columns(values)


def reliability_table(
    y_true: Any,
    proba: Any,
    *,
    n_bins: int = 15,
    strategy: str = "uniform",
    kind: str = "top_label",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> pd.DataFrame:
    """The data of a reliability diagram: one row per bin (per class and bin for ``classwise``).

    Columns: ``lower``, ``upper`` (the bin's edges; closed side as the module notes say),
    ``confidence`` (mean confidence), ``accuracy`` (observed frequency of the outcome),
    ``count`` (rows, unweighted), ``weight`` (sum of ``sample_weight``; the count when
    unweighted), ``empty`` (no weight: ``confidence`` and ``accuracy`` are NaN, not 0). Index:
    ``bin`` (0..n_bins-1), or ``(class, bin)`` for ``classwise`` (``class``: the column of
    ``proba``; binary: 0 for ``1 - p``, 1 for ``p``). ECE is
    ``sum(weight * |accuracy - confidence|) / sum(weight)`` over the non-empty rows.
    """
    stats, edges, labels = _binned(y_true, proba, n_bins, strategy, kind, sample_weight, pos_label,
                                   "reliability_table")
    m, b = stats.weight.shape
    frame = pd.DataFrame({
        "lower": edges[:, :-1].ravel(),
        "upper": edges[:, 1:].ravel(),
        "confidence": stats.bin_confidence().ravel(),
        "accuracy": stats.bin_accuracy().ravel(),
        "count": stats.n.ravel().astype(np.int64),
        "weight": stats.weight.ravel(),
        "empty": (stats.weight <= 0).ravel(),
    })
    if kind == "classwise":
        frame.index = pd.MultiIndex.from_product([labels, range(b)], names=["class", "bin"])
    else:
        frame.index = pd.RangeIndex(b, name="bin")
    return frame


def calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 15, norm: str = "l1", sample_weight: Any = None,
                      pos_label: Any = 1) -> float:
    """Deprecated alias of :func:`expected_calibration_error` (``y_prob`` is its ``proba``)."""
    warnings.warn("calibration_error is deprecated and will be removed; use "
                  "assay.metrics.expected_calibration_error (same numbers; 'y_prob' is now 'proba').",
                  FutureWarning, stacklevel=outside_stacklevel())
    return expected_calibration_error(y_true, y_prob, n_bins=n_bins, norm=norm, sample_weight=sample_weight,
                                      pos_label=pos_label)
