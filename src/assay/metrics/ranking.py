"""Ranking metrics -- AUROC, AUPR, FPR at a TPR -- and their bootstrap: one module.

Two views of the same sums over blocks of tied scores:

* :class:`_AUCPlan` -- exact weighted ROC AUC per group from one sort by ``(group, score)``,
  vectorised over weightings (a point estimate, or bootstrap resamples as row weights). The
  grouped table's ``roc_auc`` (:class:`~assay.metrics.scores.RankStats`) and its bootstrap
  (:func:`assay.metrics.bootstrap.score_resamples`) use it.
* :func:`_sort` / :func:`_metrics_from_blocks` -- two pooled samples (in-distribution vs OOD)
  sorted once; AUROC (Mann-Whitney, ties 1/2), AUPR-in/out (average precision), FPR at a
  TPR and the detection error from block counts, vectorised over resamples drawn by
  :func:`_draw_counts`. OOD evaluation (:mod:`assay.ood.evaluation`) uses them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["fpr_key"]


def fpr_key(tpr: float) -> str:
    """The name of the FPR-at-TPR metric for ``tpr``: ``0.95 -> "fpr_at_95_tpr"``."""
    return f"fpr_at_{100 * float(tpr):.10g}_tpr"


def _metric_names(tpr: float) -> tuple[str, ...]:
    return ("auroc", "aupr_in", "aupr_out", fpr_key(tpr), "detection_error")


# ---------------------------------------------------------------------------------------------
# One sort: blocks of tied scores
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Sorted:
    """The pooled scores sorted descending, and their blocks of equal values.

    ``order``: pooled index (in-distribution rows first, then OOD rows) of each sorted
    position; ``starts``: the first sorted position of each block; ``values``: each block's
    score, descending; ``is_out``: whether each sorted position is an OOD row.
    """

    order: np.ndarray
    starts: np.ndarray
    values: np.ndarray
    is_out: np.ndarray

    def block_counts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(in_b, out_b)`` of shape ``(..., n_blocks)`` from row counts ``(..., n_rows)``
        given in pooled order."""
        w = np.asarray(weights, dtype=np.float64)[..., self.order]
        out_b = np.add.reduceat(np.where(self.is_out, w, 0.0), self.starts, axis=-1)
        in_b = np.add.reduceat(np.where(self.is_out, 0.0, w), self.starts, axis=-1)
        return in_b, out_b


def _sort(scores_in: np.ndarray, scores_out: np.ndarray) -> _Sorted:
    pooled = np.concatenate([scores_in, scores_out])
    order = np.argsort(-pooled, kind="stable")
    ordered = pooled[order]
    new_block = np.empty(len(ordered), dtype=bool)
    new_block[0] = True
    new_block[1:] = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(new_block)
    return _Sorted(order=order, starts=starts, values=ordered[starts], is_out=order >= len(scores_in))


def _metrics_from_blocks(in_b: np.ndarray, out_b: np.ndarray, tpr: float) -> dict[str, np.ndarray]:
    """Every metric from block counts of shape ``(..., n_blocks)`` (blocks in descending score
    order); values of shape ``(...)``. Blocks may be empty (bootstrap resamples)."""
    n_in = in_b.sum(axis=-1)
    n_out = out_b.sum(axis=-1)
    # Descending: inputs with score >= block value, i.e. flagged as OOD at threshold "> next".
    cum_in_desc = np.cumsum(in_b, axis=-1)
    cum_out_desc = np.cumsum(out_b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # AUROC (Mann-Whitney): each OOD input beats the in-distribution inputs strictly below it,
        # and half of those tied with it.
        below_in = n_in[..., None] - cum_in_desc
        auroc = (out_b * (below_in + 0.5 * in_b)).sum(axis=-1) / (n_in * n_out)
        # AUPR-out: sum over thresholds of (recall step) x precision, OOD positive.
        flagged = cum_in_desc + cum_out_desc
        precision_out = np.divide(cum_out_desc, flagged, out=np.zeros_like(flagged), where=flagged > 0)
        aupr_out = (out_b * precision_out).sum(axis=-1) / n_out
        # Ascending: inputs with score <= block value (accepted as in-distribution).
        cum_in_asc = np.flip(np.cumsum(np.flip(in_b, -1), axis=-1), -1)
        cum_out_asc = np.flip(np.cumsum(np.flip(out_b, -1), axis=-1), -1)
        accepted = cum_in_asc + cum_out_asc
        precision_in = np.divide(cum_in_asc, accepted, out=np.zeros_like(accepted), where=accepted > 0)
        aupr_in = (in_b * precision_in).sum(axis=-1) / n_in
        tpr_in = cum_in_asc / n_in[..., None]  # in-distribution accepted at each block value
        fpr_out = cum_out_asc / n_out[..., None]  # OOD accepted
        # Smallest block value accepting a share >= tpr: blocks ascend from the last one.
        reached = np.flip(tpr_in >= tpr, -1)
        first = np.argmax(reached, axis=-1)
        fpr_at = np.take_along_axis(np.flip(fpr_out, -1), first[..., None], axis=-1)[..., 0]
        error = np.minimum(0.5, (0.5 * (1.0 - tpr_in) + 0.5 * fpr_out).min(axis=-1))
    return dict(zip(_metric_names(tpr), (auroc, aupr_in, aupr_out, fpr_at, error)))


def _draw_counts(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """Row counts of ``size`` bootstrap resamples of ``n`` rows: shape (size, n), rows sum to n."""
    picks = rng.integers(0, n, size=(size, n))
    flat = (np.arange(size)[:, None] * n + picks).ravel()
    return np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Exact AUC from sorted (group, score) blocks, vectorised over a leading axis of weightings
# ---------------------------------------------------------------------------------------------


class _AUCPlan:
    """The sort of ``(group, score)`` done once; :meth:`auc` then takes any row weights.

    Weights have shape ``(b, m)`` -- ``b`` weightings of the same ``m`` rows (``b = 1`` for a
    point estimate, ``b`` bootstrap resamples otherwise) -- so that the resamples of the
    bootstrap reuse one sort.
    """

    def __init__(self, group: np.ndarray, is_pos: np.ndarray, score: np.ndarray, n_groups: int) -> None:
        self.n_groups = int(n_groups)
        self.order = np.lexsort((score, group))
        s, g = score[self.order], group[self.order]
        self.is_pos = np.asarray(is_pos, dtype=bool)[self.order]
        m = len(s)
        new_block = np.ones(m, dtype=bool)
        new_block[1:] = (s[1:] != s[:-1]) | (g[1:] != g[:-1])
        self.block_starts = np.flatnonzero(new_block)
        block_group = g[self.block_starts]
        per_group = np.bincount(block_group, minlength=self.n_groups)  # blocks per group
        first = np.concatenate([[0], np.cumsum(per_group)[:-1]]).astype(np.int64)
        self.present = per_group > 0
        self.group_starts = first[self.present]
        self.first_block = first[block_group]  # for each block, the first block of its group

    def auc(self, weights: np.ndarray) -> np.ndarray:
        """AUC per weighting and group, shape ``(b, n_groups)``; NaN lacking either class."""
        weights = np.atleast_2d(weights)
        b = weights.shape[0]
        out = np.full((b, self.n_groups), np.nan)
        if not len(self.order):
            return out
        w = weights[:, self.order]
        pos_w = np.where(self.is_pos, w, 0.0)
        neg_w = np.where(self.is_pos, 0.0, w)
        block_pos = np.add.reduceat(pos_w, self.block_starts, axis=1)
        block_neg = np.add.reduceat(neg_w, self.block_starts, axis=1)
        cum_neg = np.cumsum(block_neg, axis=1) - block_neg  # negative weight strictly below
        below = cum_neg - cum_neg[:, self.first_block]  # ... within the block's group
        credit = block_pos * (below + 0.5 * block_neg)
        num = np.add.reduceat(credit, self.group_starts, axis=1)
        total_pos = np.add.reduceat(block_pos, self.group_starts, axis=1)
        total_neg = np.add.reduceat(block_neg, self.group_starts, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where((total_pos > 0) & (total_neg > 0), num / (total_pos * total_neg), np.nan)
        out[:, self.present] = values
        return out


def _binary_auc_by_group(is_pos: np.ndarray, score: np.ndarray, codes: np.ndarray, n_groups: int,
                         weights: np.ndarray) -> np.ndarray:
    """Exact weighted AUC per group from one lexicographic sort by (group, score)."""
    return _AUCPlan(codes, is_pos, score, n_groups).auc(weights[None, :])[0]


def _auc_of(group: np.ndarray, label: np.ndarray, score: np.ndarray, weights: np.ndarray,
            n_groups: int) -> np.ndarray:
    """AUC per weighting and group of canonical rows (binary, or one-vs-rest macro)."""
    if score.shape[1] == 1:
        return _AUCPlan(group, label == 1, score[:, 0], n_groups).auc(weights)
    total = None
    for c in range(score.shape[1]):
        values = _AUCPlan(group, label == c, score[:, c], n_groups).auc(weights)
        total = values if total is None else total + values
    return total / score.shape[1]
