"""Bootstrap confidence intervals of grouped metrics, drawn from counts instead of rows.

The grouped table is computed from the sufficient statistics of the finest cells (the
intersection of every sensitive feature). A bootstrap that resamples rows **within each cell**
(stratified by cell, so every cell keeps its size) changes only how a cell's rows fall into
its outcome categories, and those are multinomial. So a resample is drawn as multinomial
counts over the categories of each cell, for all resamples and all cells at once: arrays of
shape ``(n_boot, n_cells, n_categories)``, never a pass over the rows. Resampled cell
statistics are then summed into every group by one matrix product with the cell -> group
indicator, and the metric formulas of :mod:`assay.metrics.classification` are applied to all
resamples at once.

What is exact and what is approximate
-------------------------------------
* **Label metrics, unweighted** (accuracy, TPR, ...): the categories are the four confusion
  cells (TN, FP, FN, TP). Multinomial counts with the cell's observed proportions are the row
  bootstrap's counts *exactly in distribution* -- same law, fewer random numbers.
* **Label metrics, weighted**: the multinomial is drawn on the unweighted row counts of each
  category, as above; then the total weight of the ``m`` rows a category drew is drawn from a
  gamma distribution with the mean and variance of a sum of ``m`` weights picked at random
  from that category's rows (``m * mean(w)`` and ``m * var(w)``, from the sums of ``w`` and
  ``w**2`` per category). Counts are exact in distribution; the weighted sums match the row
  bootstrap's in mean and variance, and their shape is the gamma approximation of a sum of
  positive weights (exact in distribution when weights are constant within a category).
* **ECE**: the categories are (bin, outcome) pairs of a cell (outcome: positive, or top-label
  correct), resampled as above; a resampled category keeps its rows' mean (weighted)
  confidence. Exact for the counts and outcomes; the spread of confidences *within* a bin
  (at most the bin width) is left out, so ECE intervals are very slightly narrow.
* **ROC AUC, log loss, Brier score**: the categories are the entries of the cell's exact score
  histogram (:class:`~assay.metrics.scores.RankStats`): its distinct ``(class, scores)`` keys,
  where a multiclass key is a whole row of probabilities with its class. Every row of a cell
  is one of its keys, so a multinomial draw over the keys with the observed proportions is
  the row bootstrap of the cell **exactly in distribution** (unweighted) -- for AUC too, not
  only for the sums: a resample's histogram is the histogram of the resampled rows, and its
  AUC is computed exactly from it (ties 1/2), for every group and intersection, from one sort
  per grouping and class shared by all resamples. Multiclass AUC, log loss and Brier are
  resampled jointly (the same draw of rows for every class). With weights, the weight of the
  rows a key drew is approximated by the gamma draw above (keys: rows with equal scores and
  class but possibly different weights). These draws come after the confusion and
  calibration draws, in blocks of resamples whose size depends only on the size of the
  histogram, so the label and ``ece`` intervals of a table are the same with or without these
  metrics, and a seed gives the same intervals every time.

Resamples where a metric is undefined (0/0, e.g. a resample of a small group drawing no
positives) are NaN, silently (no :class:`~assay.core.errors.UndefinedMetricWarning` per
resample). An interval bound is the percentile over the resamples where the metric is
defined, and NaN where it is defined in none.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..core.errors import UndefinedMetricWarning
from ._stats import CalibrationStats, ConfusionStats, MulticlassConfusionStats
from .classification import METRICS, multiclass_metric
from .ranking import _AUCPlan
from .scores import RankStats, row_losses

_BLOCK = 50
"""Resamples computed together: large enough to vectorise, small enough for little memory."""
_TABLE_BUDGET = 1 << 21
"""Score-histogram resamples: at most this many (resample, entry) values per array."""

__all__ = [
    "calibration_resamples",
    "confusion_resamples",
    "metric_resamples",
    "score_resamples",
    "percentile_interval",
    "quantiles",
    "absolute_interval",
    "signed_gap",
    "signed_relative_gap",
    "ratio_interval",
]


def _multinomial(rows: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Multinomial counts, shape ``(n_boot, C, K)``, for ``rows`` of shape ``(C, K)``.

    Row ``c`` of each resample sums to ``rows[c].sum()`` (the cell keeps its size); the
    category probabilities are the observed proportions ``rows[c] / rows[c].sum()``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    totals = rows.sum(axis=1)
    out = np.zeros((n_boot, *rows.shape), dtype=np.int64)
    filled = totals > 0
    if filled.any():
        pvals = rows[filled] / totals[filled, None]
        out[:, filled] = rng.multinomial(totals[filled], pvals, size=(n_boot, int(filled.sum())))
    return out


def _mean_per_row(total: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``total / rows`` where ``rows > 0``, else 0 (a category with no rows never gets any)."""
    out = np.zeros(np.broadcast(total, rows).shape, dtype=np.float64)
    np.divide(total, rows, out=out, where=rows > 0)
    return out


def _weight_sums(drawn: np.ndarray, rows: np.ndarray, weight: np.ndarray | None,
                 weight_sq: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Total weight of the rows each category drew: shape of ``drawn`` ``(n_boot, *rows.shape)``.

    Unweighted: the counts. Weighted: ``drawn * mean(w)`` where the weights of a category are
    all equal, else a gamma draw with mean ``m * mean(w)`` and variance ``m * var(w)``.
    """
    if weight is None:
        return drawn.astype(np.float64)
    mean = _mean_per_row(weight, rows)
    out = drawn * mean
    if weight_sq is None:
        return out
    var = _mean_per_row(weight_sq, rows) - mean**2
    varies = var > 1e-12 * mean**2  # constant weights differ from 0 only by rounding
    spread = (drawn > 0) & varies
    if spread.any():
        m = drawn[spread]
        mu = np.broadcast_to(mean, drawn.shape)[spread]
        v = np.broadcast_to(var, drawn.shape)[spread]
        out[spread] = rng.gamma(m * mu**2 / v, v / mu)
    return out


def confusion_resamples(
    rows: np.ndarray,
    weight: np.ndarray | None,
    n_boot: int,
    rng: np.random.Generator,
    weight_sq: np.ndarray | None = None,
) -> np.ndarray:
    """Resampled confusion counts of each cell, shape ``(n_boot, C, 4)``, order ``[tn, fp, fn, tp]``.

    Parameters
    ----------
    rows : int array of shape (C, 4)
        Unweighted row counts per cell and confusion category.
    weight : float array of shape (C, 4), optional
        Weighted counts; None for unweighted data.
    n_boot : int
        Number of resamples.
    rng : numpy Generator
    weight_sq : float array of shape (C, 4), optional
        Sums of squared weights (the spread of weights within a category); without them,
        a category's weight is its count times its mean weight.
    """
    return _weight_sums(_multinomial(rows, n_boot, rng), rows, weight, weight_sq, rng)


def calibration_resamples(
    rows: np.ndarray,
    weight: np.ndarray | None,
    conf_sum: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    weight_sq: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resampled reliability sums of each cell: ``(weight, conf_sum, correct_sum)``, each of
    shape ``(n_boot, C, n_bins)``.

    Parameters
    ----------
    rows : int array of shape (C, n_bins, 2)
        Unweighted row counts per cell, bin and outcome (0: negative / wrong, 1: positive /
        correct).
    weight : float array of shape (C, n_bins, 2), optional
        Weighted counts; None for unweighted data.
    conf_sum : float array of shape (C, n_bins, 2)
        (Weighted) sums of confidences.
    weight_sq : float array of shape (C, n_bins, 2), optional
        Sums of squared weights.
    """
    n_cells, n_bins, _ = rows.shape
    drawn = _multinomial(rows.reshape(n_cells, 2 * n_bins), n_boot, rng).reshape(n_boot, n_cells, n_bins, 2)
    w = _weight_sums(drawn, rows, weight, weight_sq, rng)
    conf = w * _mean_per_row(conf_sum, rows if weight is None else weight)
    return w.sum(axis=-1), conf.sum(axis=-1), w[..., 1]


def metric_resamples(
    metrics: Sequence[str],
    membership: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    *,
    confusion_rows: np.ndarray | None = None,
    confusion_weight: np.ndarray | None = None,
    confusion_weight_sq: np.ndarray | None = None,
    bin_rows: np.ndarray | None = None,
    bin_weight: np.ndarray | None = None,
    bin_weight_sq: np.ndarray | None = None,
    bin_conf: np.ndarray | None = None,
    pos_label: object = 1,
    ranks: RankStats | None = None,
    weighted: bool = False,
    classes: Sequence[object] | None = None,
    average: str = "binary",
    draws: dict | None = None,
) -> np.ndarray:
    """Metric values on bootstrap resamples, shape ``(n_boot, G, len(metrics))``.

    Parameters
    ----------
    metrics : sequence of str
        Names from :data:`~assay.metrics.METRICS` (``count`` excluded: it does not vary).
    membership : array of shape (C, G)
        ``membership[c, g] = 1`` where cell ``c`` belongs to group ``g`` (every group of every
        grouping, and the overall "group" of all cells, side by side).
    n_boot : int
    rng : numpy Generator
        Confusion counts are drawn first (as one :func:`confusion_resamples` call), then
        calibration counts.
    confusion_rows, confusion_weight, confusion_weight_sq : arrays of shape (C, 4)
        See :func:`confusion_resamples`; needed by the label metrics.
    bin_rows, bin_weight, bin_weight_sq, bin_conf : arrays of shape (C, n_bins, 2)
        See :func:`calibration_resamples`; needed by ``ece``.
    ranks : RankStats, optional
        The score histograms of the cells (groups: the C cells); needed by ``roc_auc``,
        ``log_loss`` and ``brier`` (see :func:`score_resamples`).
    weighted : bool
        Whether ``ranks`` holds weighted data.
    classes, average : optional
        Multiclass labels: ``confusion_*`` then hold each cell's ``k x k`` confusion matrix
        flattened, shape (C, k * k), resampled as ``k * k`` categories exactly as the binary
        four; the label metrics are read with
        :func:`~assay.metrics.classification.multiclass_metric` and ``average``.
    """
    membership = np.asarray(membership, dtype=np.float64)
    n_groups = membership.shape[1]
    kinds = {METRICS[m].statistics for m in metrics}
    needs = {"labels"} if "confusion" in kinds else set()  # which of the draws below are made
    if "calibration" in kinds:
        needs.add("scores")
    # Every draw first, in one fixed order (the same draws as confusion_resamples called once
    # with n_boot, whatever the blocks below), then sums and formulas in blocks of resamples so
    # that temporaries stay small whatever n_boot.
    cells = parts = None
    if "labels" in needs:
        cells = confusion_resamples(confusion_rows, confusion_weight, n_boot, rng, confusion_weight_sq)
        if draws is not None:  # what callers deriving other quantities from the same draws read
            draws["confusion"] = cells
    if "scores" in needs:
        parts = calibration_resamples(bin_rows, bin_weight, bin_conf, n_boot, rng, bin_weight_sq)
    out = np.empty((n_boot, n_groups, len(metrics)))
    for start in range(0, n_boot, _BLOCK):
        block = slice(start, min(start + _BLOCK, n_boot))
        size = block.stop - block.start
        flat = size * n_groups
        summed: dict[str, object] = {}
        if cells is not None and classes is not None:
            k = len(classes)
            part = cells[block]
            groups = (part.transpose(0, 2, 1).reshape(k * k * size, -1) @ membership).reshape(size, k * k, n_groups)
            matrices = MulticlassConfusionStats(flat, classes=classes)
            matrices.matrix = groups.transpose(0, 2, 1).reshape(flat, k, k)
            summed["labels"] = matrices
        elif cells is not None:
            part = cells[block]
            groups = (part.transpose(0, 2, 1).reshape(4 * size, -1) @ membership).reshape(size, 4, n_groups)
            confusion = ConfusionStats(flat, pos_label=pos_label)
            confusion.tn, confusion.fp, confusion.fn, confusion.tp = (
                np.ascontiguousarray(groups[:, k, :]).reshape(flat) for k in range(4)
            )
            summed["labels"] = confusion
        if parts is not None:
            n_bins = bin_rows.shape[1]
            calibration = CalibrationStats(flat, n_bins=n_bins, pos_label=pos_label)
            calibration.weight, calibration.conf_sum, calibration.correct_sum = (
                (part[block].transpose(0, 2, 1).reshape(size * n_bins, -1) @ membership)
                .reshape(size, n_bins, n_groups).transpose(0, 2, 1).reshape(flat, n_bins)
                for part in parts
            )
            summed["scores"] = calibration
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            for j, metric in enumerate(metrics):
                spec = METRICS[metric]
                if spec.statistics == "confusion" and classes is not None:
                    values = multiclass_metric(metric, summed["labels"], average, pos_label)
                    out[block, :, j] = values.reshape(size, n_groups)
                elif spec.statistics in ("confusion", "calibration"):
                    out[block, :, j] = spec.function(summed[spec.needs]).reshape(size, n_groups)
    table_metrics = [m for m in metrics if METRICS[m].statistics in ("scores", "ranks")]
    if table_metrics:
        values = score_resamples(table_metrics, ranks, membership, n_boot, rng, weighted=weighted)
        for j, metric in enumerate(metrics):
            if metric in values:
                out[:, :, j] = values[metric]
    return out


def _cell_groups(cells: np.ndarray, membership: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each entry of cell ``cells[j]`` once per group containing that cell:
    ``(entry index, group index)`` of the expanded entries."""
    pair_cell, pair_group = np.nonzero(membership > 0)  # sorted by cell, then group
    per_cell = np.bincount(pair_cell, minlength=membership.shape[0])
    first = np.concatenate([[0], np.cumsum(per_cell)[:-1]])
    repeats = per_cell[cells]
    entry = np.repeat(np.arange(len(cells)), repeats)
    within = np.arange(len(entry)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    return entry, pair_group[first[cells[entry]] + within]


def score_resamples(
    metrics: Sequence[str],
    ranks: RankStats,
    membership: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    *,
    weighted: bool = False,
) -> dict[str, np.ndarray]:
    """``roc_auc``, ``log_loss`` and ``brier`` on bootstrap resamples, each ``(n_boot, G)``.

    Each cell's rows are resampled (stratified: the cell keeps its size) as a multinomial draw
    over the entries of its score histogram, with the observed proportions of rows -- the row
    bootstrap exactly in distribution for unweighted data (see the module notes). The AUC of
    every group of a resample is computed exactly from the resampled histogram: the entries of
    the cells of each group, sorted once by ``(group, score)`` for all resamples.

    Parameters
    ----------
    metrics : sequence of str
        Among ``roc_auc``, ``log_loss``, ``brier``.
    ranks : RankStats
        The histograms of the C cells (groups of ``ranks``: the rows of ``membership``).
    membership : array of shape (C, G)
    n_boot : int
    rng : numpy Generator
    weighted : bool
        Whether the histogram holds weighted data (weights then drawn as in
        :func:`confusion_resamples`).
    """
    table = ranks.table()
    cells, label, score, rows = table["group"], table["label"], table["score"], table["rows"]
    membership = np.asarray(membership, dtype=np.float64)
    n_cells, n_groups = membership.shape
    m = len(cells)
    out = {metric: np.full((n_boot, n_groups), np.nan) for metric in metrics}
    if m == 0 or n_boot == 0:
        return out
    bounds = np.searchsorted(cells, np.arange(n_cells + 1))  # entries of cell c: bounds[c]:bounds[c+1]
    filled = np.flatnonzero(bounds[1:] > bounds[:-1])
    plans = []
    expanded = m
    if "roc_auc" in metrics:
        entry, group = _cell_groups(cells, membership)
        expanded = len(entry)
        columns = [(label[entry] == 1, score[entry, 0])] if score.shape[1] == 1 else [
            (label[entry] == c, score[entry, c]) for c in range(score.shape[1])
        ]
        plans = [_AUCPlan(group, is_pos, s, n_groups) for is_pos, s in columns]
    losses = {}
    if {"log_loss", "brier"} & set(metrics):
        losses["log_loss"], losses["brier"] = row_losses(label, score)
        cell_members = membership[filled]
    weight = table["weight"] if weighted else None
    weight_sq = table["weight_sq"] if weighted else None
    block = int(max(1, min(_BLOCK, _TABLE_BUDGET // max(expanded, 1))))
    cell_rows = [(slice(bounds[c], bounds[c + 1]), int(rows[bounds[c]:bounds[c + 1]].sum())) for c in filled]
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        drawn = np.zeros((size, m), dtype=np.int64)
        for part, total in cell_rows:
            drawn[:, part] = rng.multinomial(total, rows[part] / total, size=size)
        w = _weight_sums(drawn, rows, weight, weight_sq, rng)
        if plans:
            w_expanded = w[:, entry]
            auc = sum(plan.auc(w_expanded) for plan in plans) / len(plans)
            out["roc_auc"][start:start + size] = auc
        if losses:
            group_weight = np.add.reduceat(w, bounds[filled], axis=1) @ cell_members
            with np.errstate(invalid="ignore", divide="ignore"):
                for metric in ("log_loss", "brier"):
                    if metric in out:
                        summed = np.add.reduceat(w * losses[metric], bounds[filled], axis=1) @ cell_members
                        out[metric][start:start + size] = np.where(group_weight > 0, summed / group_weight,
                                                                   np.nan)
    return out


def quantiles(values: np.ndarray, q: float | Sequence[float], axis: int = 0) -> np.ndarray:
    """NaN-skipping quantiles along ``axis`` (linear interpolation, as ``np.nanquantile``).

    Vectorised over the other axes (``np.nanquantile`` loops over them in Python). Where every
    value is NaN, the quantile is NaN. Returns shape ``(len(q), *other axes)`` (``q`` first),
    or the other axes' shape for a scalar ``q``.
    """
    values = np.moveaxis(np.asarray(values, dtype=np.float64), axis, 0)
    qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
    ordered = np.sort(values, axis=0)  # NaN last
    valid = (~np.isnan(values)).sum(axis=0)
    position = qs.reshape((-1,) + (1,) * (values.ndim - 1)) * np.maximum(valid - 1, 0)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(valid - 1, 0))
    frac = position - below
    low = np.take_along_axis(ordered, below, axis=0)
    high = np.take_along_axis(ordered, above, axis=0)
    with np.errstate(invalid="ignore"):
        gap = high - low  # interpolate as numpy does (from the nearer end), to the last bit
        out = np.where(frac >= 0.5, high - gap * (1 - frac), low + gap * frac)
    out = np.where(valid > 0, out, np.nan)
    return out if np.ndim(q) else out[0]


def percentile_interval(values: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval ``(lower, upper)`` at confidence ``level`` along ``axis``."""
    tail = (1.0 - level) / 2.0
    values = np.moveaxis(np.asarray(values, dtype=np.float64), axis, 0)
    if values.ndim < 3:
        lower, upper = quantiles(values, [tail, 1.0 - tail])
        return lower, upper
    # one slice of the last axis at a time: the sorted copy stays small
    bounds = np.stack([quantiles(values[..., j], [tail, 1.0 - tail]) for j in range(values.shape[-1])], axis=-1)
    return bounds[0], bounds[1]


def _fixed_pair(block: np.ndarray, overall: np.ndarray, point: np.ndarray, point_overall: np.ndarray,
                method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first, second, enough)``: the resampled values of the pair fixed by the point estimate
    (see :func:`signed_gap`), each (n_boot, ...), and where two groups have a value."""
    point = np.asarray(point, dtype=np.float64)
    block = np.asarray(block, dtype=np.float64)
    enough = (~np.isnan(point)).sum(axis=0) >= 2
    filled = np.where(np.isnan(point), 0.0, point)
    if method == "between_groups":
        hi = np.argmax(np.where(np.isnan(point), -np.inf, point), axis=0)
        lo = np.argmin(np.where(np.isnan(point), np.inf, point), axis=0)
        return (np.take_along_axis(block, hi[None, None], axis=1)[:, 0],
                np.take_along_axis(block, lo[None, None], axis=1)[:, 0], enough)
    far = np.argmax(np.where(np.isnan(point), -np.inf, np.abs(filled - point_overall)), axis=0)
    return np.take_along_axis(block, far[None, None], axis=1)[:, 0], overall, enough


def signed_gap(block: np.ndarray, overall: np.ndarray, point: np.ndarray, point_overall: np.ndarray,
               method: str) -> np.ndarray:
    """The signed difference behind an absolute gap, on each resample.

    ``point`` (G, ...) are the groups' values, ``block`` (n_boot, G, ...) their resamples,
    ``point_overall`` (...) and ``overall`` (n_boot, ...) those of all rows. The pair is fixed
    by the point estimate: ``"between_groups"`` -- the group with the largest value minus the
    one with the smallest (NaN skipped); ``"to_overall"`` -- the group furthest from overall
    minus overall. NaN where fewer than two groups have a value. Shape (n_boot, ...).
    """
    first, second, enough = _fixed_pair(block, overall, point, point_overall, method)
    return np.where(enough, first - second, np.nan)


def signed_relative_gap(block: np.ndarray, overall: np.ndarray, point: np.ndarray, point_overall: np.ndarray,
                        method: str) -> np.ndarray:
    """The signed relative gap ``t = (a - b) / (a + b)`` behind a ratio, on each resample.

    ``a, b`` are the resampled values of the pair of :func:`signed_gap` (non-negative values,
    e.g. rates). ``t`` is ``tanh`` of half the log ratio ``log(a / b)``, so the ratio
    ``min(a/b, b/a)`` (the ``between_groups`` min/max, or ``to_overall``'s ``min(g/o, o/g)``)
    is ``(1 - |t|) / (1 + |t|)`` (:func:`ratio_interval`); unlike the log ratio, ``t`` stays
    finite when a rate is 0. NaN for 0/0 and where fewer than two groups have a value.
    Shape (n_boot, ...).
    """
    first, second, enough = _fixed_pair(block, overall, point, point_overall, method)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(enough, (first - second) / (first + second), np.nan)


def ratio_interval(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval of a ratio ``r = (1 - |t|) / (1 + |t|)`` (at most 1) from the interval
    ``[lower, upper]`` of its signed relative gap ``t`` (:func:`signed_relative_gap`).

    The interval of ``|t|`` is :func:`absolute_interval`'s, mapped through the decreasing
    ``x -> (1 - x) / (1 + x)``: it holds ``r`` whenever ``[lower, upper]`` holds ``t``, and its
    upper end is 1 when ``t``'s interval straddles 0 (a percentile interval of the ratio
    itself, a statistic bounded by 1, can miss a ratio near 1). NaN stays NaN.
    """
    a, b = absolute_interval(lower, upper)
    return (1 - b) / (1 + b), (1 - a) / (1 + a)


def absolute_interval(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval of ``|d|`` from the interval ``[lower, upper]`` of the signed ``d``.

    Straddling 0: ``[0, max(|lower|, |upper|)]``; otherwise ``[min(|lower|, |upper|),
    max(|lower|, |upper|)]``. It holds ``|d|`` whenever ``[lower, upper]`` holds ``d`` (a
    percentile interval of ``|d|`` itself can miss a gap near 0). NaN stays NaN.
    """
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    a, b = np.abs(lower), np.abs(upper)
    straddles = (lower <= 0) & (upper >= 0)
    return np.where(straddles, 0.0, np.minimum(a, b)) + 0 * lower, np.maximum(a, b)
