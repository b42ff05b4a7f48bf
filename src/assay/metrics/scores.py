"""Metrics of scores (probabilities), per group: ROC AUC, log loss, Brier score.

* Log loss and Brier score are sums over rows, so their sufficient statistics
  (:class:`ScoreStats`: weighted sums per group) merge like the confusion counts.
* ROC AUC is a rank statistic: :func:`roc_auc_by_group` computes it exactly for every group
  at once from one sort of the scores (the Mann-Whitney form: the probability that a random
  positive scores above a random negative, ties counting one half, weights respected).

Shapes: ``y_prob`` is ``(n,)`` (binary: probability of ``pos_label``), ``(n, 2)`` (binary,
column 1) or ``(n, k)`` with ``k >= 3`` (multiclass: ``y_true`` holds class indices; AUC is
the one-vs-rest macro average, log loss ``-log p[y]``, Brier the sum over classes of
``(p_c - 1[y = c])^2``, as in Brier (1950)).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..core.validation import check_consistent_length, check_scalar
from ._checks import check_class_indices, check_group_codes, check_labels_1d, check_prob, check_sample_weight
from ._stats import _as_labels

#: Probabilities are clipped to [EPS, 1 - EPS] before the log, as scikit-learn does.
EPS = np.finfo(np.float64).eps


def _binary_or_multiclass(y_true: np.ndarray, p: np.ndarray, pos_label: Any):
    """(targets one-hot (n, k), probabilities (n, k)) for the two cases of the module docstring."""
    if p.ndim == 1 or p.shape[1] == 2:
        positive = p if p.ndim == 1 else p[:, 1]
        probs = np.column_stack([1.0 - positive, positive])
        is_pos = np.asarray(y_true == pos_label)
        onehot = np.column_stack([~is_pos, is_pos]).astype(np.float64)
        return onehot, probs
    indices = check_class_indices(y_true, p.shape[1], name="y_true", prob_name="y_prob")
    onehot = np.zeros(p.shape, dtype=np.float64)
    onehot[np.arange(len(p)), indices] = 1.0
    return onehot, p


class ScoreStats:
    """Per-group weighted sums of log loss and (multiclass) Brier score.

    Attributes (shape ``(n_groups,)``): ``weight`` (sum of weights), ``log_loss_sum``,
    ``brier_sum``, ``n`` (rows). ``update`` works in place and returns ``self``; ``merge``
    returns a new object.
    """

    _states = ("weight", "log_loss_sum", "brier_sum", "n")

    def __init__(self, groups: int | Sequence[Hashable] = 1, *, pos_label: Any = 1) -> None:
        self.labels = _as_labels(groups, "ScoreStats")
        self.pos_label = pos_label
        size = len(self.labels)
        self.weight = np.zeros(size)
        self.log_loss_sum = np.zeros(size)
        self.brier_sum = np.zeros(size)
        self.n = np.zeros(size, dtype=np.int64)

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    def update(self, y_true: Any, y_prob: Any, group_codes: Any = None, sample_weight: Any = None) -> ScoreStats:
        """Add rows: ``y_true`` (n,), ``y_prob`` (n,) or (n, k), integer ``group_codes`` (n,)."""
        y_true = check_labels_1d(y_true, name="y_true")
        p = check_prob(y_prob, name="y_prob")
        w = check_sample_weight(sample_weight)
        n = check_consistent_length(y_true=y_true, y_prob=p, group_codes=group_codes, sample_weight=w)
        codes = check_group_codes(group_codes, self.n_groups, n)
        onehot, probs = _binary_or_multiclass(y_true, p, self.pos_label)
        row_log_loss = -np.log(np.clip((probs * onehot).sum(axis=1), EPS, 1.0))
        row_brier = ((probs - onehot) ** 2).sum(axis=1)
        if probs.shape[1] == 2:
            row_brier = row_brier / 2.0  # binary Brier: (p - y)^2, scikit-learn's convention
        weights = np.ones(n) if w is None else w
        size = self.n_groups
        self.weight = self.weight + np.bincount(codes, weights, size)
        self.log_loss_sum = self.log_loss_sum + np.bincount(codes, weights * row_log_loss, size)
        self.brier_sum = self.brier_sum + np.bincount(codes, weights * row_brier, size)
        self.n = self.n + np.bincount(codes, minlength=size)
        return self

    def merge(self, other: ScoreStats) -> ScoreStats:
        """A new object holding both objects' rows (same groups required)."""
        if not isinstance(other, ScoreStats) or other.labels != self.labels:
            from ..core.errors import AssayInputError

            raise AssayInputError("'other' must be a ScoreStats with the same group labels.")
        out = ScoreStats(self.labels, pos_label=self.pos_label)
        for name in self._states:
            setattr(out, name, getattr(self, name) + getattr(other, name))
        return out

    def log_loss(self) -> np.ndarray:
        """Mean log loss per group (nats); NaN for an empty group."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight > 0, self.log_loss_sum / self.weight, np.nan)

    def brier(self) -> np.ndarray:
        """Mean Brier score per group; NaN for an empty group."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.weight > 0, self.brier_sum / self.weight, np.nan)


def _binary_auc_by_group(is_pos: np.ndarray, score: np.ndarray, codes: np.ndarray, n_groups: int,
                         weights: np.ndarray) -> np.ndarray:
    """Exact weighted AUC per group from one lexicographic sort by (group, score)."""
    order = np.lexsort((score, codes))
    s, g, w, pos = score[order], codes[order], weights[order], is_pos[order]
    # Blocks of equal (group, score): ties share half credit.
    new_block = np.empty(len(s), dtype=bool)
    new_block[0] = True
    new_block[1:] = (s[1:] != s[:-1]) | (g[1:] != g[:-1])
    block = np.cumsum(new_block) - 1
    n_blocks = block[-1] + 1
    block_neg = np.bincount(block, w * ~pos, n_blocks)
    block_pos = np.bincount(block, w * pos, n_blocks)
    block_group = g[new_block]
    # Negative weight strictly below each block, within its group.
    cum_neg = np.cumsum(block_neg) - block_neg
    group_start = np.bincount(block_group, minlength=n_groups)  # blocks per group
    first_block = np.concatenate([[0], np.cumsum(group_start)[:-1]])
    offset = np.zeros(n_groups)
    present = group_start > 0
    offset[present] = cum_neg[first_block[present]]
    below = cum_neg - offset[block_group]
    credit = block_pos * (below + 0.5 * block_neg)
    num = np.bincount(block_group, credit, n_groups)
    total_pos = np.bincount(block_group, block_pos, n_groups)
    total_neg = np.bincount(block_group, block_neg, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((total_pos > 0) & (total_neg > 0), num / (total_pos * total_neg), np.nan)


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
    onehot, probs = _binary_or_multiclass(y_true, p, pos_label)
    if probs.shape[1] == 2:
        return _binary_auc_by_group(onehot[:, 1].astype(bool), probs[:, 1], codes, n_groups, weights)
    per_class = np.stack([
        _binary_auc_by_group(onehot[:, c].astype(bool), probs[:, c], codes, n_groups, weights)
        for c in range(probs.shape[1])
    ])
    return per_class.mean(axis=0)
