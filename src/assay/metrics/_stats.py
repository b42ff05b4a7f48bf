"""Mergeable sufficient statistics: per-group sums that every grouped metric is computed from.

A statistics object holds fixed-size arrays of per-group sums (their size never grows with the
number of rows). They are filled by :meth:`update` with one ``np.bincount`` over integer group
codes (no Python loop over rows), and combine by addition:

* ``a.merge(b)`` equals the statistics of the concatenated data (update on two halves, merge,
  and you have the statistics of the whole; exactly so for unweighted or integer-weighted data);
* ``a.aggregate(group_of, labels)`` sums groups into coarser groups: the statistics of ``sex``
  are those of ``sex x race`` summed over race, and ``a.total()`` is the statistics of all rows.

That is what makes grouped tables cheap (one pass over the rows, then sums over groups), and
lets data that does not fit in memory be processed in batches or on several machines.

Metric formulas on these statistics live in :mod:`assay.metrics.classification`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import check_consistent_length, check_scalar
from ._checks import (
    check_class_indices,
    check_group_codes,
    check_labels_1d,
    check_prob,
    check_sample_weight,
)

_MERGE_MISMATCH = (
    "Cannot merge {kind} objects with different {what}: {left!r} and {right!r}."
)
_MERGE_TYPE = "'other' must be a {kind}. Got an object of type {received} instead."
_BAD_GROUP_OF = (
    "'group_of' must be an integer array of shape ({n_groups},) with values in [0, {n_new}). "
    "Got {problem}."
)
_MODE_MISMATCH = (
    "'y_prob' has shape {shape}, which gives {mode} calibration, but this CalibrationStats "
    "already holds {held} calibration statistics; use a separate CalibrationStats."
)


def _as_labels(groups: int | Sequence[Hashable], owner: str) -> tuple[Hashable, ...]:
    if isinstance(groups, (int, np.integer)) and not isinstance(groups, bool):
        check_scalar(int(groups), "groups", owner=owner, kind=int, low=1)
        return tuple(range(int(groups)))
    if isinstance(groups, (str, bytes)) or not isinstance(groups, (Sequence, np.ndarray)):
        raise AssayInputError(
            f"The 'groups' parameter of {owner} must be a number of groups or a sequence of "
            f"group labels. Got {groups!r} instead."
        )
    labels = tuple(g.item() if isinstance(g, np.generic) else g for g in groups)
    if not labels:
        raise AssayInputError(
            f"The 'groups' parameter of {owner} must hold at least one group label. Got an empty sequence."
        )
    if len(set(labels)) != len(labels):
        raise AssayInputError(
            f"The 'groups' parameter of {owner} must hold distinct group labels. Got {list(labels)!r}."
        )
    return labels


class _SummedStats:
    """Base of statistics that are per-group sums: merge, aggregate, total, equality.

    Subclasses list their arrays in ``_states`` (first axis: group) and the settings that must
    agree for two objects to be merged in ``_config_names``.
    """

    _states: ClassVar[tuple[str, ...]] = ()
    _config_names: ClassVar[tuple[str, ...]] = ()

    labels: tuple[Hashable, ...]

    def _state_shape(self, n_groups: int) -> tuple[int, ...]:
        return (n_groups,)

    def _state_dtype(self, state: str) -> type:
        return np.int64 if state == "n" else np.float64

    def _init_states(self) -> None:
        for state in self._states:
            setattr(self, state, np.zeros(self._state_shape(self.n_groups), dtype=self._state_dtype(state)))

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.labels)

    def reset(self) -> _SummedStats:
        """Set every sum to zero (in place); return ``self``."""
        self._init_states()
        return self

    def _config(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._config_names}

    def _empty_like(self, labels: tuple[Hashable, ...]) -> _SummedStats:
        return type(self)(labels, **self._config())

    def copy(self) -> _SummedStats:
        """An independent copy."""
        out = self._empty_like(self.labels)
        for state in self._states:
            setattr(out, state, getattr(self, state).copy())
        self._copy_extra(out)
        return out

    def _copy_extra(self, out: _SummedStats) -> None:
        """Copy attributes that are not sums (none here; subclasses may add)."""

    def _check_compatible(self, other: Any) -> None:
        kind = type(self).__name__
        if type(other) is not type(self):
            raise AssayInputError(_MERGE_TYPE.format(kind=kind, received=type(other).__name__))
        if other.labels != self.labels:
            raise AssayInputError(
                _MERGE_MISMATCH.format(kind=kind, what="group labels", left=self.labels, right=other.labels)
            )
        for name in self._config_names:
            left, right = getattr(self, name), getattr(other, name)
            if left != right:
                raise AssayInputError(_MERGE_MISMATCH.format(kind=kind, what=name, left=left, right=right))

    def merge(self, other: _SummedStats) -> _SummedStats:
        """The statistics of both objects' data together, as a **new** object.

        ``self`` and ``other`` are left unchanged. They must have the same type, group labels
        and settings. ``a.merge(b)`` equals a single object updated with a's data then b's.
        """
        self._check_compatible(other)
        out = self.copy()
        out._merge_extra(other)
        for state in self._states:
            setattr(out, state, getattr(self, state) + getattr(other, state))
        return out

    def _merge_extra(self, other: _SummedStats) -> None:
        """Combine attributes that are not sums (none here; subclasses may add)."""

    __add__ = merge

    def aggregate(self, group_of: Any, labels: Sequence[Hashable]) -> _SummedStats:
        """Sum groups into coarser groups, as a new object.

        Parameters
        ----------
        group_of : array of int, shape (n_groups,)
            ``group_of[g]`` is the new group of old group ``g``; values in ``[0, len(labels))``.
        labels : sequence
            Labels of the new groups.
        """
        new_labels = _as_labels(list(labels), f"{type(self).__name__}.aggregate")
        group_of = np.asarray(group_of)
        problem = None
        if group_of.shape != (self.n_groups,) or group_of.dtype.kind not in "iu":
            problem = f"an array of shape {group_of.shape} and dtype {group_of.dtype}"
        elif group_of.size and (group_of.min() < 0 or group_of.max() >= len(new_labels)):
            problem = f"values in [{group_of.min()}, {group_of.max()}]"
        if problem is not None:
            raise AssayInputError(
                _BAD_GROUP_OF.format(n_groups=self.n_groups, n_new=len(new_labels), problem=problem)
            )
        out = self._empty_like(new_labels)
        self._copy_extra(out)
        for state in self._states:
            summed = getattr(out, state)
            np.add.at(summed, group_of, getattr(self, state))
        return out

    def total(self, label: Hashable = "overall") -> _SummedStats:
        """The statistics of all rows, as one group named ``label``."""
        return self.aggregate(np.zeros(self.n_groups, dtype=np.int64), [label])

    def __eq__(self, other: object) -> bool:
        """Exact equality of type, labels, settings and every sum."""
        if type(other) is not type(self):
            return NotImplemented
        return (
            self.labels == other.labels
            and self._config() == other._config()
            and all(np.array_equal(getattr(self, s), getattr(other, s)) for s in self._states)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        config = "".join(f", {k}={v!r}" for k, v in self._config().items())
        return f"{type(self).__name__}(groups={list(self.labels)!r}{config})"


def _bincount(codes: np.ndarray, weights: np.ndarray | None, size: int) -> np.ndarray:
    return np.bincount(codes, weights=weights, minlength=size).astype(np.float64, copy=False)


class ConfusionStats(_SummedStats):
    """Per-group binary confusion counts: the sufficient statistics of the label metrics.

    Parameters
    ----------
    groups : int or sequence of hashable, default 1
        The number of groups (labelled 0..n-1) or their labels. Labels name groups in warnings
        and tables; group ``g`` of :meth:`update`'s ``group_codes`` is ``labels[g]``.
    pos_label : scalar, default 1
        The positive label; every other label is negative (binary only).

    Attributes
    ----------
    tp, fp, tn, fn : ndarray of float64, shape (n_groups,)
        Weighted counts (sums of ``sample_weight``; counts when unweighted).
    n : ndarray of int64, shape (n_groups,)
        Unweighted number of rows per group.

    Examples
    --------
    >>> stats = ConfusionStats(["F", "M"]).update([1, 0, 1, 1], [1, 1, 0, 1], [0, 0, 1, 1])
    >>> stats.tp, stats.fp
    (array([1., 1.]), array([1., 0.]))
    """

    _states = ("tp", "fp", "tn", "fn", "n")
    _config_names = ("pos_label",)

    tp: np.ndarray
    fp: np.ndarray
    tn: np.ndarray
    fn: np.ndarray
    n: np.ndarray

    def __init__(self, groups: int | Sequence[Hashable] = 1, *, pos_label: Any = 1) -> None:
        self.labels = _as_labels(groups, "ConfusionStats")
        self.pos_label = pos_label.item() if isinstance(pos_label, np.generic) else pos_label
        self._init_states()

    @property
    def weight(self) -> np.ndarray:
        """Total weight per group: ``tp + fp + tn + fn``."""
        return self.tp + self.fp + self.tn + self.fn

    def update(
        self, y_true: Any, y_pred: Any, group_codes: Any = None, sample_weight: Any = None
    ) -> ConfusionStats:
        """Add rows (in place) and return ``self``.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n,)
            True and predicted labels; ``== pos_label`` is positive, anything else negative.
        group_codes : array-like of int, shape (n,), optional
            Group index of each row in ``[0, n_groups)``; may be omitted with a single group.
        sample_weight : array-like of shape (n,), optional
            Non-negative row weights.
        """
        y_true = check_labels_1d(y_true, name="y_true")
        y_pred = check_labels_1d(y_pred, name="y_pred")
        w = check_sample_weight(sample_weight)
        n = check_consistent_length(y_true=y_true, y_pred=y_pred, group_codes=group_codes, sample_weight=w)
        codes = check_group_codes(group_codes, self.n_groups, n)
        return self._update(y_true, y_pred, codes, w)

    def _update(self, y_true: np.ndarray, y_pred: np.ndarray, codes: np.ndarray,
                w: np.ndarray | None) -> ConfusionStats:
        """Add validated rows: one bincount over ``4 * group + 2 * actual + predicted``."""
        actual = np.asarray(y_true == self.pos_label, dtype=np.int64)
        predicted = np.asarray(y_pred == self.pos_label, dtype=np.int64)
        cell = codes * 4 + 2 * actual + predicted
        counts = _bincount(cell, w, 4 * self.n_groups).reshape(self.n_groups, 4)
        # cell order within a group: (actual, predicted) = (0,0) tn, (0,1) fp, (1,0) fn, (1,1) tp
        self.tn = self.tn + counts[:, 0]
        self.fp = self.fp + counts[:, 1]
        self.fn = self.fn + counts[:, 2]
        self.tp = self.tp + counts[:, 3]
        self.n = self.n + np.bincount(codes, minlength=self.n_groups)
        return self


class CalibrationStats(_SummedStats):
    """Per-group, per-bin sums of a reliability diagram: the sufficient statistics of ECE.

    Bins are ``n_bins`` equal-width intervals of [0, 1], closed on the right:
    ``[0, 1/B], (1/B, 2/B], ..., ((B-1)/B, 1]`` (the first bin includes 0).

    What is calibrated depends on the shape of ``y_prob`` given to :meth:`update`:

    * ``(n,)`` -- binary: the confidence is ``p(y = pos_label)`` and the outcome is
      ``y_true == pos_label``. This is the reliability of the positive-class probability (as
      scikit-learn's ``calibration_curve``), not of the predicted label's probability.
    * ``(n, 2)`` -- read as binary as well, with column 1 as ``p(y = pos_label)``, so that
      ``predict_proba(X)`` and ``predict_proba(X)[:, 1]`` give the same numbers.
    * ``(n, k)`` with ``k >= 3`` -- top-label: the confidence is the largest probability and the
      outcome is whether its class (``argmax``, first on ties) equals ``y_true``; ``y_true``
      must hold class indices ``0..k-1`` (the columns of ``y_prob``).

    One object holds one kind (binary or top-label); mixing them raises.

    Parameters
    ----------
    groups : int or sequence of hashable, default 1
        The number of groups or their labels.
    n_bins : int, default 15
        Number of equal-width bins.
    pos_label : scalar, default 1
        The positive label of binary ``y_true``.

    Attributes
    ----------
    weight : ndarray of float64, shape (n_groups, n_bins)
        Sum of sample weights per bin (row count when unweighted).
    conf_sum : ndarray of float64, shape (n_groups, n_bins)
        Weighted sum of confidences per bin.
    correct_sum : ndarray of float64, shape (n_groups, n_bins)
        Weighted sum of outcomes (1 if positive / correct, else 0) per bin.
    n : ndarray of int64, shape (n_groups, n_bins)
        Unweighted number of rows per bin.
    mode : {"binary", "top_label"} or None
        The kind of calibration held (None until the first update).
    """

    _states = ("weight", "conf_sum", "correct_sum", "n")
    _config_names = ("n_bins", "pos_label")

    weight: np.ndarray
    conf_sum: np.ndarray
    correct_sum: np.ndarray
    n: np.ndarray

    def __init__(
        self, groups: int | Sequence[Hashable] = 1, *, n_bins: int = 15, pos_label: Any = 1
    ) -> None:
        self.labels = _as_labels(groups, "CalibrationStats")
        check_scalar(n_bins, "n_bins", owner="CalibrationStats", kind=(int, np.integer), low=1)
        self.n_bins = int(n_bins)
        self.pos_label = pos_label.item() if isinstance(pos_label, np.generic) else pos_label
        self.mode: str | None = None
        self._init_states()

    def _state_shape(self, n_groups: int) -> tuple[int, ...]:
        return (n_groups, self.n_bins)

    @property
    def bin_edges(self) -> np.ndarray:
        """The ``n_bins + 1`` bin edges ``k / n_bins``, from 0 to 1.

        Computed as ``k / n_bins`` (correctly rounded, unlike ``np.linspace``), so that a
        probability written as, e.g., ``0.3`` lies exactly on the edge ``3 / 10``.
        """
        return np.arange(self.n_bins + 1) / self.n_bins

    def bin_confidence(self) -> np.ndarray:
        """Mean confidence per bin, shape (n_groups, n_bins); NaN for empty bins."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight > 0, self.conf_sum / self.weight, np.nan)

    def bin_accuracy(self) -> np.ndarray:
        """Observed frequency of the outcome per bin, shape (n_groups, n_bins); NaN for empty bins."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight > 0, self.correct_sum / self.weight, np.nan)

    def _copy_extra(self, out: _SummedStats) -> None:
        out.mode = self.mode  # type: ignore[attr-defined]

    def _merge_extra(self, other: _SummedStats) -> None:
        mode = other.mode  # type: ignore[attr-defined]
        if self.mode is not None and mode is not None and mode != self.mode:
            raise AssayInputError(
                _MERGE_MISMATCH.format(kind="CalibrationStats", what="mode", left=self.mode, right=mode)
            )
        self.mode = self.mode or mode

    def __eq__(self, other: object) -> bool:
        result = super().__eq__(other)
        if result is NotImplemented or not result:
            return result
        return self.mode == other.mode  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def update(
        self, y_true: Any, y_prob: Any, group_codes: Any = None, sample_weight: Any = None
    ) -> CalibrationStats:
        """Add rows (in place) and return ``self``.

        Parameters
        ----------
        y_true : array-like of shape (n,)
            True labels (class indices ``0..k-1`` when ``y_prob`` has ``k >= 3`` columns).
        y_prob : array-like of shape (n,) or (n, k)
            Probabilities; see the class docstring for how each shape is read.
        group_codes : array-like of int, shape (n,), optional
            Group index of each row in ``[0, n_groups)``; may be omitted with a single group.
        sample_weight : array-like of shape (n,), optional
            Non-negative row weights.
        """
        y_true = check_labels_1d(y_true, name="y_true")
        p = check_prob(y_prob, name="y_prob")
        w = check_sample_weight(sample_weight)
        n = check_consistent_length(y_true=y_true, y_prob=p, group_codes=group_codes, sample_weight=w)
        codes = check_group_codes(group_codes, self.n_groups, n)
        if p.ndim == 2 and p.shape[1] > 2:
            y_true = check_class_indices(y_true, p.shape[1], name="y_true", prob_name="y_prob")
        return self._update(y_true, p, codes, w)

    def _update(self, y_true: np.ndarray, p: np.ndarray, codes: np.ndarray,
                w: np.ndarray | None) -> CalibrationStats:
        """Add validated rows (``y_true`` already class indices in the top-label case)."""
        mode = "top_label" if p.ndim == 2 and p.shape[1] > 2 else "binary"
        if self.mode is not None and mode != self.mode:
            raise AssayInputError(_MODE_MISMATCH.format(shape=p.shape, mode=mode, held=self.mode))
        if mode == "binary":
            confidence = p[:, 1] if p.ndim == 2 else p
            correct = np.asarray(y_true == self.pos_label, dtype=np.float64)
        else:
            predicted, confidence = top_label(p)
            correct = (predicted == y_true).astype(np.float64)
        bins = uniform_bins(confidence, self.n_bins)
        flat = codes * self.n_bins + bins
        size = self.n_groups * self.n_bins
        shape = (self.n_groups, self.n_bins)
        cw = confidence if w is None else confidence * w
        ow = correct if w is None else correct * w
        self.weight = self.weight + _bincount(flat, w, size).reshape(shape)
        self.conf_sum = self.conf_sum + _bincount(flat, cw, size).reshape(shape)
        self.correct_sum = self.correct_sum + _bincount(flat, ow, size).reshape(shape)
        self.n = self.n + np.bincount(flat, minlength=size).reshape(shape)
        self.mode = mode
        return self



_TOP_LABEL_CHUNK = 1 << 14  # rows per block: a block of probabilities stays in cache


def top_label(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(argmax, max)`` of each row of ``p`` (n, k): the predicted class (first on ties) and its
    probability. Equal to ``p.argmax(axis=1)`` and ``p.max(axis=1)``; computed in blocks of rows
    that stay in cache, which is faster than one pass over a large array."""
    n = len(p)
    predicted = np.empty(n, dtype=np.intp)
    confidence = np.empty(n, dtype=p.dtype)
    for start in range(0, n, _TOP_LABEL_CHUNK):
        block = p[start:start + _TOP_LABEL_CHUNK]
        index = block.argmax(axis=1)
        predicted[start:start + len(block)] = index
        confidence[start:start + len(block)] = np.take_along_axis(block, index[:, None], axis=1)[:, 0]
    return predicted, confidence


def checked_top_label(proba: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """One pass over a float64 ``(n, k >= 3)`` array, in blocks that stay in cache: whether it
    holds probabilities (finite, in [0, 1], rows summing to 1 within 5e-5) and each row's
    ``(argmax, max)``. None for any other input or any doubt: the caller then runs
    :func:`~assay.metrics._checks.check_prob`, the one validator and its messages, so this
    accepts a subset of what it accepts and returns the same array and numbers."""
    if not (isinstance(proba, np.ndarray) and proba.dtype == np.float64 and proba.ndim == 2
            and proba.shape[0] > 0 and proba.shape[1] > 2):
        return None
    n, k = proba.shape
    ones = np.ones(k)
    predicted = np.empty(n, dtype=np.intp)
    confidence = np.empty(n)
    for start in range(0, n, _TOP_LABEL_CHUNK):
        block = proba[start:start + _TOP_LABEL_CHUNK]
        low, high = block.min(), block.max()
        if not (low >= 0.0 and high <= 1.0):  # NaN and infinities fail here too
            return None
        if np.abs(block @ ones - 1.0).max() > 5e-5:
            return None
        index = block.argmax(axis=1)
        predicted[start:start + len(block)] = index
        confidence[start:start + len(block)] = np.take_along_axis(block, index[:, None], axis=1)[:, 0]
    return proba, predicted, confidence


def uniform_bins(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each confidence in ``n_bins`` equal-width bins closed on the right, ``[0, 1/B],
    (1/B, 2/B], ..., ((B-1)/B, 1]``, edges ``k / B``: the number of inner edges strictly below
    the confidence (``np.searchsorted(edges[1:-1], confidence, side="left")``, exactly), from
    ``floor(confidence * B)`` corrected by one where rounding put it across an edge."""
    edges = np.arange(n_bins + 1) / n_bins
    bins = (confidence * n_bins).astype(np.intp)
    np.clip(bins, 0, n_bins - 1, out=bins)
    bins -= (edges[bins] >= confidence) & (bins > 0)
    bins += (edges[bins + 1] < confidence) & (bins < n_bins - 1)
    return bins


def sorted_classes(values: Any) -> tuple[Any, ...]:
    """Distinct labels in a canonical order: sorted, or sorted as strings when the labels do not
    compare (mixed types)."""
    distinct = list(dict.fromkeys(v.item() if isinstance(v, np.generic) else v for v in values))
    try:
        return tuple(sorted(distinct))
    except TypeError:
        return tuple(sorted(distinct, key=lambda v: (type(v).__name__, str(v))))


class MulticlassConfusionStats(_SummedStats):
    """Per-group multiclass confusion matrices: the statistics of multiclass label metrics.

    ``matrix[g, i, j]`` is the (weighted) number of rows of group ``g`` with true class
    ``classes[i]`` and predicted class ``classes[j]``. Accuracy and balanced accuracy are read
    from the whole matrix; any binary metric of one class against the rest from
    :meth:`one_vs_rest`.

    Parameters
    ----------
    groups : int or sequence of hashable, default 1
    classes : sequence of hashable
        The class labels (every label of ``y_true`` and ``y_pred`` must be one of them).
    """

    _states = ("matrix", "n")
    _config_names = ("classes",)

    matrix: np.ndarray
    n: np.ndarray

    def __init__(self, groups: int | Sequence[Hashable] = 1, *, classes: Sequence[Hashable] = (0, 1)) -> None:
        self.labels = _as_labels(groups, "MulticlassConfusionStats")
        self.classes = tuple(c.item() if isinstance(c, np.generic) else c for c in classes)
        if len(self.classes) < 1 or len(set(self.classes)) != len(self.classes):
            raise AssayInputError(
                f"'classes' must hold distinct class labels. Got {list(self.classes)!r} instead."
            )
        self._init_states()

    def _state_shape(self, n_groups: int) -> tuple[int, ...]:
        return (n_groups, len(self.classes), len(self.classes))

    def _init_states(self) -> None:
        k = len(self.classes)
        self.matrix = np.zeros((self.n_groups, k, k))
        self.n = np.zeros(self.n_groups, dtype=np.int64)

    @property
    def weight(self) -> np.ndarray:
        """Total weight per group."""
        return self.matrix.sum(axis=(1, 2))

    def class_index(self, values: np.ndarray, name: str) -> np.ndarray:
        """Index of each label in :attr:`classes`; raises naming ``name`` for unknown labels."""
        import pandas as pd

        index = pd.Index(list(self.classes), dtype=object).get_indexer(
            pd.Index(np.asarray(values, dtype=object).tolist(), dtype=object))
        if (index < 0).any():
            unknown = sorted_classes(np.asarray(values, dtype=object)[index < 0])
            raise AssayInputError(
                f"'{name}' holds labels {list(unknown[:10])!r} that are not among the classes "
                f"{list(self.classes)!r}."
            )
        return index.astype(np.int64)

    def update(self, y_true: Any, y_pred: Any, group_codes: Any = None,
               sample_weight: Any = None) -> MulticlassConfusionStats:
        """Add rows (in place) and return ``self``."""
        y_true = check_labels_1d(y_true, name="y_true")
        y_pred = check_labels_1d(y_pred, name="y_pred")
        w = check_sample_weight(sample_weight)
        n = check_consistent_length(y_true=y_true, y_pred=y_pred, group_codes=group_codes, sample_weight=w)
        codes = check_group_codes(group_codes, self.n_groups, n)
        k = len(self.classes)
        cell = (codes * k + self.class_index(y_true, "y_true")) * k + self.class_index(y_pred, "y_pred")
        self.matrix = self.matrix + _bincount(cell, w, self.n_groups * k * k).reshape(self.n_groups, k, k)
        self.n = self.n + np.bincount(codes, minlength=self.n_groups)
        return self

    def one_vs_rest(self, label: Any) -> ConfusionStats:
        """The binary confusion counts of class ``label`` against all other classes."""
        if label not in self.classes:
            raise AssayInputError(
                f"'pos_label' must be one of the classes {list(self.classes)!r}. Got {label!r} instead."
            )
        c = self.classes.index(label)
        others = np.arange(len(self.classes)) != c
        out = ConfusionStats(self.labels, pos_label=label)
        out.tp = self.matrix[:, c, c].copy()
        out.fn = self.matrix[:, c, others].sum(axis=1)  # sums of the cells themselves: no subtraction
        out.fp = self.matrix[:, others, c].sum(axis=1)
        out.tn = self.matrix[:, others][:, :, others].sum(axis=(1, 2))
        out.n = self.n.copy()
        return out
