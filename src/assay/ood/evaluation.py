"""How well OOD scores separate in-distribution inputs from out-of-distribution (OOD) inputs.

Conventions
-----------
* An OOD score is higher for inputs that look more out-of-distribution.
* ``auroc`` and ``aupr_out`` treat OOD as the positive class and the score as its score.
  ``aupr_in`` treats in-distribution as positive, with the negated score as its score.
  ``auroc`` is the probability that a random OOD input scores above a random in-distribution
  input, ties counting one half (the area under the ROC curve, as scikit-learn's
  ``roc_auc_score``); ``aupr_*`` are average precisions (scikit-learn's
  ``average_precision_score``: tied scores form one threshold, no interpolation).
* ``fpr_at_95_tpr`` follows Liang et al. (2018, ODIN), in-distribution as positive: the
  threshold ``t`` is the smallest in-distribution score accepting at least 95% of
  in-distribution inputs (``score <= t``; see :func:`~assay.ood.thresholds.threshold_at_tpr`),
  and the value is the share of OOD inputs accepted at ``t``. With another ``tpr`` the key is
  named after it, e.g. ``fpr_at_90_tpr``.
* ``detection_error`` is ``min_t 0.5 * (1 - TPR(t)) + 0.5 * FPR(t)`` over every threshold
  (accepting ``score <= t``), including accepting nothing (0.5): the error of the best
  threshold when in- and out-of-distribution inputs are equally likely.

All metrics come from one sort of the pooled scores: the distinct score values in descending
order ("blocks", ties together) and how many in- and OOD inputs fall in each block. The same
formulas, applied to resampled block counts, give the bootstrap intervals of
:func:`evaluate_scores` for all resamples at once.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_option, check_random_state, check_scalar, describe
from ..metrics.bootstrap import percentile_interval
from ..metrics.ranking import _draw_counts, _metric_names, _metrics_from_blocks, _sort, fpr_key

__all__ = [
    "OODEvaluation",
    "evaluate_detectors",
    "evaluate_scores",
    "fpr_key",
    "ood_metrics",
    "roc_curve_points",
]

_BLOCK = 50
"""Bootstrap resamples computed together."""

_MAX_CURVE_POINTS = 256
"""ROC points kept per (detector, OOD set) in a result (for plotting)."""


def _higher_is_better(tpr: float) -> dict[str, bool]:
    return dict(zip(_metric_names(tpr), (True, True, True, False, False)))


def _scores(x: Any, name: str) -> np.ndarray:
    return as_array(x, name=name, ndim=1, dtype=np.float64)


def _check_tpr(tpr: Any, owner: str) -> float:
    check_scalar(tpr, "tpr", owner=owner, kind=numbers.Real, low=0.0, high=1.0, closed="neither")
    return float(tpr)


def ood_metrics(scores_in: Any, scores_out: Any, *, tpr: float = 0.95) -> dict[str, float]:
    """Separation of in-distribution and OOD inputs by an OOD score (higher = more OOD).

    Parameters
    ----------
    scores_in : array-like of shape (n_in,)
        OOD scores of in-distribution inputs; finite.
    scores_out : array-like of shape (n_out,)
        OOD scores of out-of-distribution inputs; finite.
    tpr : float in (0, 1), default 0.95
        In-distribution acceptance rate at which the FPR is read.

    Returns
    -------
    dict
        ``auroc``, ``aupr_in``, ``aupr_out``, ``fpr_at_{100 tpr}_tpr`` and ``detection_error``
        (floats in [0, 1]; definitions in the module docstring). ``auroc`` 0.5 is chance;
        FPR and detection error are better when lower.
    """
    tpr = _check_tpr(tpr, "ood_metrics")
    s_in = _scores(scores_in, "scores_in")
    s_out = _scores(scores_out, "scores_out")
    sorted_ = _sort(s_in, s_out)
    in_b, out_b = sorted_.block_counts(np.ones(len(s_in) + len(s_out)))
    return {k: float(v) for k, v in _metrics_from_blocks(in_b, out_b, tpr).items()}


def roc_curve_points(scores_in: Any, scores_out: Any, *, max_points: int | None = _MAX_CURVE_POINTS
                     ) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve with OOD as positive: ``(fpr, tpr)``, each of shape (m,), from (0, 0) to (1, 1).

    ``fpr`` is the share of in-distribution inputs with ``score >= t`` and ``tpr`` that of OOD
    inputs, at every distinct score ``t`` (descending). Points on a straight segment between
    their neighbours are dropped (the area is unchanged); if more than ``max_points`` remain,
    an evenly spaced subset keeping both ends is returned (for plotting: the area of the thinned
    curve may differ slightly from ``auroc``).
    """
    s_in = _scores(scores_in, "scores_in")
    s_out = _scores(scores_out, "scores_out")
    if max_points is not None:
        check_scalar(max_points, "max_points", owner="roc_curve_points", kind=(int, np.integer), low=2)
    sorted_ = _sort(s_in, s_out)
    in_b, out_b = sorted_.block_counts(np.ones(len(s_in) + len(s_out)))
    fpr = np.concatenate([[0.0], np.cumsum(in_b) / len(s_in)])
    tpr = np.concatenate([[0.0], np.cumsum(out_b) / len(s_out)])
    if len(fpr) > 2:  # drop collinear interior points (both steps in the same direction)
        d_fpr, d_tpr = np.diff(fpr), np.diff(tpr)
        turn = np.abs(d_fpr[:-1] * d_tpr[1:] - d_tpr[:-1] * d_fpr[1:]) > 1e-15
        keep = np.concatenate([[True], turn, [True]])
        fpr, tpr = fpr[keep], tpr[keep]
    if max_points is not None and len(fpr) > max_points:
        pick = np.unique(np.round(np.linspace(0, len(fpr) - 1, max_points)).astype(np.int64))
        fpr, tpr = fpr[pick], tpr[pick]
    return fpr, tpr


# ---------------------------------------------------------------------------------------------
# Many detectors, many OOD sets, bootstrap intervals
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class OODEvaluation(Result):
    """OOD detection metrics of every detector on every OOD set, with bootstrap intervals.

    Attributes
    ----------
    table : DataFrame
        One row per ``(detector, ood_set)``: columns ``detector``, ``ood_set``, ``n_in``,
        ``n_out``, then every metric of :func:`ood_metrics` and, with ``n_boot > 0``, its
        percentile interval ``{metric}_lower`` and ``{metric}_upper`` (NaN without bootstrap).
    curves : dict
        ``{detector: {ood_set: {"fpr": [...], "tpr": [...]}}}``: the ROC curve (OOD positive) of
        :func:`roc_curve_points`, at most 256 points, for plotting.
    metrics : tuple of str
        The metric columns, in order.
    higher_is_better : dict
        Metric -> True (AUROC, AUPRs) or False (FPR, detection error).
    params : dict
        ``tpr``, ``n_boot``, ``confidence_level``, ``random_state`` (the int seed or None).

    Notes
    -----
    Intervals resample the in-distribution inputs and each OOD set separately, with replacement
    (sizes fixed). The resamples are paired: every detector and OOD set sees the same resampled
    in-distribution inputs, and every detector the same resampled inputs of an OOD set.
    """

    table: pd.DataFrame
    curves: dict[str, dict[str, dict[str, list[float]]]]
    metrics: tuple[str, ...]
    higher_is_better: dict[str, bool]
    params: dict[str, Any]


    @property
    def detectors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.table["detector"]))

    @property
    def ood_sets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.table["ood_set"]))

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (a copy of :attr:`table`)."""
        return self.table.copy()

    def metric(self, metric: str = "auroc") -> pd.DataFrame:
        """One metric as a matrix: rows detectors, columns OOD sets."""
        check_option(metric, "metric", owner="OODEvaluation.metric", options=self.metrics)
        wide = self.table.pivot(index="detector", columns="ood_set", values=metric)
        return wide.reindex(index=list(self.detectors), columns=list(self.ood_sets))

    def best_detector(self, metric: str = "auroc") -> pd.DataFrame:
        """The best detector on each OOD set by ``metric`` (highest AUROC/AUPR, lowest FPR and
        detection error; the first in table order on ties).

        Returns a DataFrame indexed by ``ood_set`` with columns ``detector`` and ``value``.
        """
        check_option(metric, "metric", owner="OODEvaluation.best_detector", options=self.metrics)
        sign = 1.0 if self.higher_is_better[metric] else -1.0
        rows = []
        for name in self.ood_sets:
            part = self.table[self.table["ood_set"] == name]
            values = part[metric].to_numpy(np.float64)
            i = int(np.argmax(np.where(np.isnan(values), -np.inf, sign * values)))
            rows.append((str(part["detector"].iloc[i]), float(values[i])))
        return pd.DataFrame(rows, columns=["detector", "value"], index=pd.Index(self.ood_sets, name="ood_set"))

    def curve(self, detector: str, ood_set: str) -> tuple[np.ndarray, np.ndarray]:
        """``(fpr, tpr)`` of one ROC curve as arrays."""
        check_option(detector, "detector", owner="OODEvaluation.curve", options=self.detectors)
        check_option(ood_set, "ood_set", owner="OODEvaluation.curve", options=self.ood_sets)
        points = self.curves[detector][ood_set]
        return np.asarray(points["fpr"], dtype=np.float64), np.asarray(points["tpr"], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record; ``table`` in "split" orientation (``columns``, ``index``, ``data``)."""
        return super().to_dict()

    def __repr__(self) -> str:
        return (f"OODEvaluation(detectors={list(self.detectors)!r}, ood_sets={list(self.ood_sets)!r}, "
                f"n_boot={self.params.get('n_boot', 0)})")


def _check_name(key: Any, name: str) -> str:
    if not isinstance(key, str) or not key:
        raise AssayInputError(f"'{name}' must have non-empty str keys. Got {describe(key)}.")
    return key


def _check_mapping(value: Any, name: str) -> Mapping:
    if not isinstance(value, Mapping) or not value:
        raise AssayInputError(f"'{name}' must be a non-empty mapping (dict). Got {describe(value)} instead.")
    return value


def _normalise(scores_in: Any, scores_out: Any) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Checked ``{detector: in scores}`` and ``{detector: {ood_set: scores}}`` with the same
    detectors, the same OOD sets per detector, and consistent lengths across detectors."""
    if not isinstance(scores_in, Mapping):  # one detector: an array and {ood_set: array}
        scores_in = {"detector": scores_in}
        scores_out = {"detector": _check_mapping(scores_out, "scores_out")}
    _check_mapping(scores_in, "scores_in")
    _check_mapping(scores_out, "scores_out")
    detectors = [_check_name(k, "scores_in") for k in scores_in]
    if set(scores_out) != set(detectors):
        raise AssayInputError(
            f"'scores_out' must have the same detectors as 'scores_in' {detectors}. Got {list(scores_out)}."
        )
    ins: dict[str, np.ndarray] = {}
    outs: dict[str, dict[str, np.ndarray]] = {}
    ood_sets: list[str] | None = None
    for d in detectors:
        ins[d] = _scores(scores_in[d], f"scores_in[{d!r}]")
        sets = _check_mapping(scores_out[d], f"scores_out[{d!r}]")
        names = [_check_name(k, f"scores_out[{d!r}]") for k in sets]
        if ood_sets is None:
            ood_sets = names
        elif set(names) != set(ood_sets):
            raise AssayInputError(
                f"'scores_out[{d!r}]' must have the same OOD sets as the first detector {ood_sets}. Got {names}."
            )
        outs[d] = {s: _scores(sets[s], f"scores_out[{d!r}][{s!r}]") for s in ood_sets}
    first = detectors[0]
    for d in detectors[1:]:
        if len(ins[d]) != len(ins[first]):
            raise AssayInputError(
                f"'scores_in' must score the same inputs with every detector: got {len(ins[first])} scores "
                f"for {first!r} and {len(ins[d])} for {d!r}."
            )
        for s in ood_sets:
            if len(outs[d][s]) != len(outs[first][s]):
                raise AssayInputError(
                    f"'scores_out' must score the same inputs of OOD set {s!r} with every detector: got "
                    f"{len(outs[first][s])} scores for {first!r} and {len(outs[d][s])} for {d!r}."
                )
    return ins, outs


def evaluate_scores(
    scores_in: Mapping[str, Any] | Any,
    scores_out: Mapping[str, Mapping[str, Any]] | Mapping[str, Any],
    *,
    tpr: float = 0.95,
    n_boot: int = 0,
    confidence_level: float = 0.95,
    random_state: Any = None,
) -> OODEvaluation:
    """OOD metrics of several detectors on several OOD sets, with bootstrap intervals.

    Parameters
    ----------
    scores_in : mapping of str to array-like of shape (n_in,)
        Detector name -> OOD scores (higher = more OOD) of the same in-distribution inputs. A
        single array is read as one detector named ``"detector"``.
    scores_out : mapping of str to mapping of str to array-like
        Detector name -> OOD set name -> scores of that set's inputs (same sets, and the same
        inputs of a set, for every detector). With a single array for ``scores_in``: OOD set
        name -> scores.
    tpr : float in (0, 1), default 0.95
        In-distribution acceptance rate of the FPR metric.
    n_boot : int, default 0
        Bootstrap resamples (0: no intervals). In-distribution and OOD inputs are resampled
        separately, so both counts stay fixed; resamples are shared by detectors (paired).
    confidence_level : float in (0, 1), default 0.95
        Level of the percentile intervals.
    random_state : None, int or numpy Generator
        Seed of the resamples; the same int gives the same result (and ``to_dict()``).

    Returns
    -------
    OODEvaluation
    """
    owner = "evaluate_scores"
    tpr = _check_tpr(tpr, owner)
    check_scalar(n_boot, "n_boot", owner=owner, kind=(int, np.integer), low=0)
    check_scalar(confidence_level, "confidence_level", owner=owner, kind=numbers.Real, low=0.0, high=1.0,
                 closed="neither")
    rng = check_random_state(random_state, name="random_state")
    ins, outs = _normalise(scores_in, scores_out)
    detectors = list(ins)
    ood_sets = list(outs[detectors[0]])
    names = _metric_names(tpr)

    sorts = {(d, s): _sort(ins[d], outs[d][s]) for d in detectors for s in ood_sets}
    point = {}
    curves: dict[str, dict[str, dict[str, list[float]]]] = {d: {} for d in detectors}
    for (d, s), sorted_ in sorts.items():
        n_rows = len(ins[d]) + len(outs[d][s])
        in_b, out_b = sorted_.block_counts(np.ones(n_rows))
        point[d, s] = _metrics_from_blocks(in_b, out_b, tpr)
        fpr, tpr_curve = roc_curve_points(ins[d], outs[d][s])
        curves[d][s] = {"fpr": fpr.tolist(), "tpr": tpr_curve.tolist()}

    bounds: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    if n_boot:
        n_in = len(ins[detectors[0]])
        resampled = {key: {m: [] for m in names} for key in sorts}
        for start in range(0, n_boot, _BLOCK):
            size = min(_BLOCK, n_boot - start)
            counts_in = _draw_counts(rng, size, n_in)
            for s in ood_sets:
                counts_out = _draw_counts(rng, size, len(outs[detectors[0]][s]))
                weights = np.concatenate([counts_in, counts_out], axis=1)
                for d in detectors:
                    in_b, out_b = sorts[d, s].block_counts(weights)
                    for m, v in _metrics_from_blocks(in_b, out_b, tpr).items():
                        resampled[d, s][m].append(v)
        for key, per_metric in resampled.items():
            values = np.stack([np.concatenate(per_metric[m]) for m in names], axis=1)  # (n_boot, n_metrics)
            lower, upper = percentile_interval(values, float(confidence_level))
            bounds[key] = {m: (float(lo), float(hi)) for m, lo, hi in zip(names, lower, upper)}

    rows = []
    for d in detectors:
        for s in ood_sets:
            row: dict[str, Any] = {"detector": d, "ood_set": s, "n_in": len(ins[d]), "n_out": len(outs[d][s])}
            row.update({m: float(point[d, s][m]) for m in names})
            for m in names:
                lo, hi = bounds[d, s][m] if n_boot else (np.nan, np.nan)
                row[f"{m}_lower"], row[f"{m}_upper"] = lo, hi
            rows.append(row)
    columns = ["detector", "ood_set", "n_in", "n_out", *names,
               *[f"{m}_{b}" for m in names for b in ("lower", "upper")]]
    table = pd.DataFrame(rows, columns=columns)
    seed = None if random_state is None or isinstance(random_state, np.random.Generator) else int(random_state)
    params = {"tpr": tpr, "n_boot": int(n_boot), "confidence_level": float(confidence_level), "random_state": seed}
    return OODEvaluation(table=table, curves=curves, metrics=names, higher_is_better=_higher_is_better(tpr),
                         params=params)


def _score(detector: Any, X: Any, name: str, what: str) -> np.ndarray:
    if not callable(getattr(detector, "score", None)):
        raise AssayInputError(
            f"'detectors' must map names to fitted detectors with a .score(X) method. "
            f"Got {describe(detector)} for {name!r}."
        )
    scores = np.asarray(detector.score(X))
    if scores.ndim != 1:
        raise AssayInputError(
            f"Detector {name!r} must return scores of shape (n,) from .score({what}). Got shape {scores.shape}."
        )
    return scores


def evaluate_detectors(
    detectors: Mapping[str, Any],
    X_in: Any,
    ood_sets: Mapping[str, Any],
    *,
    tpr: float = 0.95,
    n_boot: int = 0,
    confidence_level: float = 0.95,
    random_state: Any = None,
) -> OODEvaluation:
    """Score held-out in-distribution inputs and every OOD set with each fitted detector, then
    :func:`evaluate_scores`.

    Parameters
    ----------
    detectors : mapping of str to detector
        Name -> fitted detector with ``.score(X) -> array of shape (n,)`` (higher = more OOD).
    X_in : inputs accepted by the detectors
        In-distribution test inputs (not those the detectors were fitted on).
    ood_sets : mapping of str to inputs
        OOD set name -> inputs.
    tpr, n_boot, confidence_level, random_state
        As in :func:`evaluate_scores`.
    """
    _check_mapping(detectors, "detectors")
    _check_mapping(ood_sets, "ood_sets")
    names = [_check_name(k, "detectors") for k in detectors]
    sets = [_check_name(k, "ood_sets") for k in ood_sets]
    scores_in = {d: _score(detectors[d], X_in, d, "X_in") for d in names}
    scores_out = {d: {s: _score(detectors[d], ood_sets[s], d, f"ood_sets[{s!r}]") for s in sets} for d in names}
    return evaluate_scores(scores_in, scores_out, tpr=tpr, n_boot=n_boot, confidence_level=confidence_level,
                           random_state=random_state)
