"""Metrics of scores (probabilities), per group: ROC AUC, log loss, Brier score.

Two kinds of mergeable statistics, because the metrics are of two kinds:

* Log loss and Brier score are means of per-row terms, so their sufficient statistics
  (:class:`ScoreStats`: weighted sums per group) are fixed-size and merge by addition, like
  the confusion counts.
* ROC AUC is a rank statistic, not a sum of per-row terms. Its exact sufficient statistic is
  the **sparse histogram of the scores by class** (:class:`RankStats`): for every group, every
  distinct score and every class, the number of rows (and their weight). Histograms merge by
  adding the counts of equal keys, and the histogram of a union of groups is the union of
  their histograms -- so the exact AUC (ties counting one half) of any group, intersection or
  union of groups follows, without the rows. Its size is the number of distinct ``(group,
  class, scores)`` keys: at most the number of rows, far fewer when scores are coarse (round
  the scores, e.g. ``np.round(p, 4)``, to bound it; the AUC is then exact for the rounded
  scores).

:func:`roc_auc_by_group` computes the AUC of every group at once from one sort of the scores
(the Mann-Whitney form: the probability that a random positive scores above a random negative,
ties counting one half, weights respected).

Shapes: ``y_prob`` is ``(n,)`` (binary: probability of ``pos_label``), ``(n, 2)`` (binary,
column 1) or ``(n, k)`` with ``k >= 3`` (multiclass: ``y_true`` holds class indices
``0..k-1``). Definitions, which are scikit-learn's (1.9):

* ROC AUC: binary as above; multiclass the unweighted mean over classes of the one-vs-rest
  AUCs (``roc_auc_score(multi_class="ovr", average="macro")``); a group lacking a class
  (binary: positives or negatives) is NaN.
* Log loss: mean of ``-log p[y]`` in nats, with ``p[y]`` clipped to ``[eps, 1]``
  (``eps = 2**-52``), i.e. ``log_loss``.
* Brier score: binary ``(p - 1[y = pos_label])**2``; multiclass the sum over classes of
  ``(p_c - 1[y = c])**2`` (Brier 1950), which ranges over [0, 2]. That is
  ``brier_score_loss`` of scikit-learn >= 1.7 (``scale_by_half="auto"``: binary halved).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import check_consistent_length, check_scalar
from .ranking import _auc_of
from ._checks import check_class_indices, check_group_codes, check_labels_1d, check_prob, check_sample_weight
from ._stats import _MERGE_MISMATCH, _MERGE_TYPE, _as_labels, _SummedStats

#: Probabilities are clipped to [EPS, 1] before the log, as scikit-learn does.
EPS = np.finfo(np.float64).eps

_MODE_CHANGED = (
    "'y_prob' has {k} class column(s) ({mode}), but this {owner} already holds {held_mode} statistics "
    "with {held_k}; use a separate object."
)


def _canonical(y_true: np.ndarray, p: np.ndarray, pos_label: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(label, score)``: binary -> label 1 for ``pos_label`` else 0 and score (n, 1), the
    positive-class probability; multiclass -> class indices and the (n, k) probabilities."""
    if p.ndim == 1 or p.shape[1] == 2:
        positive = p if p.ndim == 1 else p[:, 1]
        label = np.asarray(y_true == pos_label)
        if label.shape != y_true.shape:  # a comparison numpy could not broadcast
            label = np.full(y_true.shape, bool(label))
        return label.astype(np.int64), positive.reshape(-1, 1)
    indices = check_class_indices(y_true, p.shape[1], name="y_true", prob_name="y_prob")
    return indices, p


def row_losses(label: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log loss and Brier score of canonical ``(label, score)`` (see :func:`_canonical`)."""
    if score.shape[1] == 1:
        q = score[:, 0]
        is_pos = label == 1
        p_true = np.where(is_pos, q, 1.0 - q)
        brier = (q - is_pos) ** 2
    else:
        rows = np.arange(len(score))
        p_true = score[rows, label]
        onehot = np.zeros(score.shape)
        onehot[rows, label] = 1.0
        brier = ((score - onehot) ** 2).sum(axis=1)
    return -np.log(np.clip(p_true, EPS, 1.0)), brier


class ScoreStats(_SummedStats):
    """Per-group weighted sums of log loss and Brier score (definitions: module docstring).

    Attributes (shape ``(n_groups,)``): ``weight`` (sum of weights), ``log_loss_sum``,
    ``brier_sum``, ``n`` (rows). ``update`` works in place and returns ``self``; ``merge``,
    ``aggregate`` and ``total`` return new objects (as :class:`~assay.metrics.ConfusionStats`).
    """

    _states = ("weight", "log_loss_sum", "brier_sum", "n")
    _config_names = ("pos_label",)

    weight: np.ndarray
    log_loss_sum: np.ndarray
    brier_sum: np.ndarray
    n: np.ndarray

    def __init__(self, groups: int | Sequence[Hashable] = 1, *, pos_label: Any = 1) -> None:
        self.labels = _as_labels(groups, "ScoreStats")
        self.pos_label = pos_label.item() if isinstance(pos_label, np.generic) else pos_label
        self._init_states()

    def update(self, y_true: Any, y_prob: Any, group_codes: Any = None, sample_weight: Any = None) -> ScoreStats:
        """Add rows: ``y_true`` (n,), ``y_prob`` (n,) or (n, k), integer ``group_codes`` (n,)."""
        y_true = check_labels_1d(y_true, name="y_true")
        p = check_prob(y_prob, name="y_prob")
        w = check_sample_weight(sample_weight)
        n = check_consistent_length(y_true=y_true, y_prob=p, group_codes=group_codes, sample_weight=w)
        codes = check_group_codes(group_codes, self.n_groups, n)
        label, score = _canonical(y_true, p, self.pos_label)
        row_log_loss, row_brier = row_losses(label, score)
        weights = np.ones(n) if w is None else w
        size = self.n_groups
        self.weight = self.weight + np.bincount(codes, weights, size)
        self.log_loss_sum = self.log_loss_sum + np.bincount(codes, weights * row_log_loss, size)
        self.brier_sum = self.brier_sum + np.bincount(codes, weights * row_brier, size)
        self.n = self.n + np.bincount(codes, minlength=size)
        return self

    def log_loss(self) -> np.ndarray:
        """Mean log loss per group (nats); NaN for an empty group (no warning here)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight > 0, self.log_loss_sum / self.weight, np.nan)

    def brier(self) -> np.ndarray:
        """Mean Brier score per group; NaN for an empty group (no warning here)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight > 0, self.brier_sum / self.weight, np.nan)


def roc_auc_by_group(y_true: Any, y_prob: Any, group_codes: Any = None, n_groups: int | None = None, *,
                     sample_weight: Any = None, pos_label: Any = 1) -> np.ndarray:
    """Exact ROC AUC for every group, shape ``(n_groups,)``.

    AUC is ``P(score of a positive > score of a negative) + 0.5 P(tie)``, weighted by
    ``sample_weight``; NaN for a group lacking positives or negatives (the caller warns).
    Multiclass ``(n, k)`` probabilities give the unweighted mean over classes of the
    one-vs-rest AUCs (scikit-learn's ``multi_class="ovr", average="macro"``); a class absent
    from a group makes that group's value NaN.
    """
    y_true = check_labels_1d(y_true, name="y_true")
    p = check_prob(y_prob, name="y_prob")
    w = check_sample_weight(sample_weight)
    n = check_consistent_length(y_true=y_true, y_prob=p, group_codes=group_codes, sample_weight=w)
    if n_groups is None:
        n_groups = 1 if group_codes is None else int(np.max(group_codes)) + 1
    check_scalar(n_groups, "n_groups", owner="roc_auc_by_group", kind=(int, np.integer), low=1)
    codes = check_group_codes(group_codes, n_groups, n)
    weights = np.ones(n) if w is None else w
    label, score = _canonical(y_true, p, pos_label)
    return _auc_of(codes, label, score, weights[None, :], n_groups)[0]


# ---------------------------------------------------------------------------------------------
# Sparse score histograms: RankStats
# ---------------------------------------------------------------------------------------------

_TABLE_FIELDS = ("group", "label", "score", "rows", "weight", "weight_sq")


def _empty_table(width: int) -> dict[str, np.ndarray]:
    return {
        "group": np.zeros(0, dtype=np.int64), "label": np.zeros(0, dtype=np.int64),
        "score": np.zeros((0, width)), "rows": np.zeros(0, dtype=np.int64),
        "weight": np.zeros(0), "weight_sq": np.zeros(0),
    }


def _consolidate(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sort by (group, label, scores) and add up the entries with equal keys: the canonical
    table (one entry per distinct key, in that order), whatever the order of its input."""
    group, label, score = table["group"], table["label"], table["score"]
    m = len(group)
    if m == 0:
        return {k: v.copy() for k, v in table.items()}
    keys = [score[:, j] for j in range(score.shape[1] - 1, -1, -1)] + [label, group]
    order = np.lexsort(keys)
    group, label, score = group[order], label[order], score[order]
    new = np.ones(m, dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (label[1:] != label[:-1]) | (score[1:] != score[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    return {
        "group": group[starts], "label": label[starts], "score": score[starts],
        "rows": np.add.reduceat(table["rows"][order], starts),
        "weight": np.add.reduceat(table["weight"][order], starts),
        "weight_sq": np.add.reduceat(table["weight_sq"][order], starts),
    }


def _table_of_rows(group: np.ndarray, label: np.ndarray, score: np.ndarray, w: np.ndarray | None
                   ) -> dict[str, np.ndarray]:
    """The canonical table of validated canonical rows."""
    n = len(group)
    weight = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    return _consolidate({
        "group": np.asarray(group, dtype=np.int64), "label": np.asarray(label, dtype=np.int64),
        "score": np.asarray(score, dtype=np.float64) + 0.0,  # -0.0 -> 0.0: one key per value
        "rows": np.ones(n, dtype=np.int64), "weight": weight, "weight_sq": weight * weight,
    })


class _TableStack:
    """Parts of a table, each canonical, merged lazily so that adding many small batches costs
    ``O(m log m log B)`` rather than a full re-sort per batch (sizes halve along the stack)."""

    def __init__(self, width: int | None = None) -> None:
        self.width = width
        self.parts: list[dict[str, np.ndarray]] = []

    def push(self, part: dict[str, np.ndarray]) -> None:
        if not len(part["group"]):
            return
        self.parts.append(part)
        while len(self.parts) >= 2 and 2 * len(self.parts[-1]["group"]) >= len(self.parts[-2]["group"]):
            last, before = self.parts.pop(), self.parts.pop()
            self.parts.append(_consolidate({k: np.concatenate([before[k], last[k]]) for k in _TABLE_FIELDS}))

    def table(self) -> dict[str, np.ndarray]:
        """The canonical table of every part (consolidated in place, once)."""
        if not self.parts:
            return _empty_table(self.width or 1)
        if len(self.parts) > 1:
            self.parts = [_consolidate({k: np.concatenate([p[k] for p in self.parts]) for k in _TABLE_FIELDS})]
        return self.parts[0]

    def remap(self, new_group: np.ndarray) -> None:
        """Renumber groups through an increasing map (parts stay sorted)."""
        self.parts = [{**p, "group": new_group[p["group"]]} for p in self.parts]

    def copy(self) -> _TableStack:
        out = _TableStack(self.width)
        out.parts = list(self.parts)  # parts are never modified in place: sharing is safe
        return out


def _same_table(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in _TABLE_FIELDS)


class RankStats:
    """Per-group sparse histograms of the scores by class: the exact statistics of ROC AUC.

    One entry per distinct ``(group, class, scores)``: binary -- the class is ``y_true ==
    pos_label`` and the score the positive-class probability; multiclass ``(n, k)`` -- the
    class index and the row's ``k`` probabilities (so the one-vs-rest AUC of every class, and
    the log loss and Brier score of each entry, follow). Each entry holds its number of rows
    and the sums of their weights and squared weights.

    Histograms merge by adding equal keys (:meth:`merge`), and :meth:`aggregate` gives the
    histograms of unions of groups, whose AUC is exact (ties count one half): no binning, no
    approximation. The size is the number of distinct keys, at most the number of rows.

    Parameters
    ----------
    groups : int or sequence of hashable, default 1
    pos_label : scalar, default 1
        The positive label of binary ``y_true``.

    Attributes
    ----------
    group, label, rows : ndarray of int64, shape (m,)
    score : ndarray of float64, shape (m, 1) (binary) or (m, k)
    weight, weight_sq : ndarray of float64, shape (m,)
        Sums of weights and squared weights (row counts when unweighted).
    n_classes : int or None
        2 for binary, ``k`` for multiclass; None before the first update.
    """

    def __init__(self, groups: int | Sequence[Hashable] = 1, *, pos_label: Any = 1) -> None:
        self.labels = _as_labels(groups, "RankStats")
        self.pos_label = pos_label.item() if isinstance(pos_label, np.generic) else pos_label
        self.n_classes: int | None = None
        self._stack = _TableStack()

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @property
    def n_entries(self) -> int:
        """Number of distinct keys held."""
        return len(self.table()["group"])

    def table(self) -> dict[str, np.ndarray]:
        """The canonical arrays (keys: group, label, score, rows, weight, weight_sq)."""
        return self._stack.table()

    def __getattr__(self, name: str) -> Any:
        if name in _TABLE_FIELDS:
            return self.table()[name]
        raise AttributeError(name)

    @classmethod
    def _from_table(cls, labels: Sequence[Hashable], pos_label: Any, n_classes: int | None,
                    table: dict[str, np.ndarray]) -> RankStats:
        out = cls(labels, pos_label=pos_label)
        out.n_classes = n_classes
        out._stack = _TableStack(None if n_classes is None else (1 if n_classes == 2 else n_classes))
        out._stack.push(table)
        return out

    def _check_classes(self, k: int) -> None:
        if self.n_classes is not None and self.n_classes != k:
            raise AssayInputError(_MODE_CHANGED.format(
                k=k, mode="binary" if k == 2 else "multiclass", owner=type(self).__name__,
                held_mode="binary" if self.n_classes == 2 else "multiclass", held_k=self.n_classes,
            ))

    def update(self, y_true: Any, y_prob: Any, group_codes: Any = None, sample_weight: Any = None) -> RankStats:
        """Add rows (in place) and return ``self``; arguments as :meth:`ScoreStats.update`."""
        y_true = check_labels_1d(y_true, name="y_true")
        p = check_prob(y_prob, name="y_prob")
        w = check_sample_weight(sample_weight)
        n = check_consistent_length(y_true=y_true, y_prob=p, group_codes=group_codes, sample_weight=w)
        codes = check_group_codes(group_codes, self.n_groups, n)
        k = 2 if p.ndim == 1 or p.shape[1] == 2 else p.shape[1]
        self._check_classes(k)
        label, score = _canonical(y_true, p, self.pos_label)
        self.n_classes = k
        self._stack.width = score.shape[1]
        self._stack.push(_table_of_rows(codes, label, score, w))
        return self

    def _check_compatible(self, other: Any) -> None:
        kind = type(self).__name__
        if type(other) is not type(self):
            raise AssayInputError(_MERGE_TYPE.format(kind=kind, received=type(other).__name__))
        for what, left, right in (("group labels", self.labels, other.labels),
                                  ("pos_label", self.pos_label, other.pos_label)):
            if left != right:
                raise AssayInputError(_MERGE_MISMATCH.format(kind=kind, what=what, left=left, right=right))
        if other.n_classes is not None:
            self._check_classes(other.n_classes)

    def merge(self, other: RankStats) -> RankStats:
        """The histograms of both objects' rows, as a new object (same groups and settings)."""
        self._check_compatible(other)
        out = self.copy()
        out.n_classes = self.n_classes or other.n_classes
        out._stack.width = self._stack.width or other._stack.width
        for part in other._stack.parts:
            out._stack.push(part)
        return out

    __add__ = merge

    def copy(self) -> RankStats:
        out = RankStats(self.labels, pos_label=self.pos_label)
        out.n_classes = self.n_classes
        out._stack = self._stack.copy()
        return out

    def aggregate(self, group_of: Any, labels: Sequence[Hashable]) -> RankStats:
        """The histograms of coarser groups: ``group_of[g]`` is the new group of group ``g``."""
        new_labels = _as_labels(list(labels), "RankStats.aggregate")
        group_of = np.asarray(group_of)
        if (group_of.shape != (self.n_groups,) or group_of.dtype.kind not in "iu"
                or (group_of.size and (group_of.min() < 0 or group_of.max() >= len(new_labels)))):
            raise AssayInputError(
                f"'group_of' must be an integer array of shape ({self.n_groups},) with values in "
                f"[0, {len(new_labels)}). Got an array of shape {group_of.shape}."
            )
        table = self.table()
        moved = _consolidate({**table, "group": group_of.astype(np.int64)[table["group"]]})
        return RankStats._from_table(new_labels, self.pos_label, self.n_classes, moved)

    def total(self, label: Hashable = "overall") -> RankStats:
        """The histogram of all rows, as one group named ``label``."""
        return self.aggregate(np.zeros(self.n_groups, dtype=np.int64), [label])

    def roc_auc(self) -> np.ndarray:
        """Exact ROC AUC per group (binary, or one-vs-rest macro); NaN where a group lacks a
        class (no warning here: :func:`assay.metrics.classification.roc_auc` warns)."""
        table = self.table()
        return _auc_of(table["group"], table["label"], table["score"], table["weight"][None, :],
                       self.n_groups)[0]

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return (self.labels == other.labels and self.pos_label == other.pos_label
                and self.n_classes == other.n_classes and _same_table(self.table(), other.table()))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RankStats(groups={list(self.labels)!r}, pos_label={self.pos_label!r}, n_entries={self.n_entries})"
