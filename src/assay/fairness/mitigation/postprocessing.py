"""Post-processing mitigations: group-specific decision thresholds on a fitted model's scores.

:class:`GroupThresholds` (Hardt, Price & Srebro 2016) reads every threshold of every group at
once (one sort of the scores and one radix sort of the group codes, then running sums per group;
no loop over thresholds), keeps
each group's upper hull (the best mixtures of two thresholds), then picks the common selection
rate (demographic parity) or true-positive rate (equal opportunity) that maximises the objective,
and for each group the two hull vertices (thresholds), mixed with a probability, that hit it.
Equalized odds and approximate constraints (``tolerance``) solve Hardt et al.'s linear program
over the groups' ROC hulls (:mod:`._hull`).
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Component, Interval, Options
from ...core.errors import AssayInputError
from ...core.validation import as_array, check_is_fitted, check_random_state
from ._cost import check_cost_matrix, cost_weights, total_cost
from ._groups import codes_for, group_codes
from ._hull import hull_at, realise, solve_hull_lp, upper_hull, upper_vertices

__all__ = ["GroupThresholds"]

_CONSTRAINTS = ("demographic_parity", "equal_opportunity", "equalized_odds")
_OBJECTIVES = ("accuracy", "balanced_accuracy")
_COLUMNS = ["threshold_high", "threshold_low", "p_between", "p_constant", "constant", "n", "rate"]


def _index(cells: pd.MultiIndex) -> pd.Index:
    return cells.get_level_values(0) if cells.nlevels == 1 else cells


def _objective_weights(objective: Any, n_pos: float, n_neg: float) -> tuple[float, float]:
    """(a, b) such that the objective, up to a constant, is ``a * TP - b * FP``."""
    if isinstance(objective, str):
        if objective not in _OBJECTIVES:
            raise AssayInputError(
                f"'objective' must be one of {list(_OBJECTIVES)} or a 2x2 cost matrix (rows: true class "
                f"0, 1; columns: predicted class 0, 1). Got {objective!r} instead."
            )
        return (1.0, 1.0) if objective == "accuracy" else (1.0 / n_pos, 1.0 / n_neg)
    return cost_weights(check_cost_matrix(objective, name="objective"))


def _rate_at(x: np.ndarray, values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values`` over strictly increasing ``x`` at ``target``."""
    return np.interp(target, x, values)


def _group_curves(scores: np.ndarray, positive: np.ndarray, codes: np.ndarray, n_groups: int
                  ) -> tuple[list, np.ndarray, np.ndarray]:
    """Per group, its operating points from "none selected" (threshold +inf) to "all selected".

    One sort of the scores (descending) and one stable (radix) sort of the group codes put each
    group's rows together, highest score first; the running sums of positives and negatives at
    the last row of every run of equal scores are the group's (TP, FP) at that threshold. Work
    is O(n) after the sort, whatever the number of distinct scores or groups.
    """
    order = np.argsort(-scores)  # the order within a run of equal scores does not matter
    small = np.int16 if n_groups < 2**15 else np.int64
    order = order[np.argsort(codes[order].astype(small), kind="stable")]
    s_o, c_o = scores[order], codes[order]
    tp_c = np.cumsum(positive[order], dtype=np.float64)
    fp_c = np.arange(1, len(order) + 1, dtype=np.float64) - tp_c
    last = np.r_[(s_o[1:] != s_o[:-1]) | (c_o[1:] != c_o[:-1]), True]
    n_g = np.bincount(codes, minlength=n_groups).astype(np.float64)
    starts = np.r_[0, np.cumsum(n_g).astype(np.int64)]
    curves, p_g = [], np.zeros(n_groups)
    for g in range(n_groups):
        lo, hi = starts[g], starts[g + 1]
        ends = lo + np.flatnonzero(last[lo:hi])
        base_tp, base_fp = (tp_c[lo - 1], fp_c[lo - 1]) if lo > 0 else (0.0, 0.0)
        t, f = np.r_[0.0, tp_c[ends] - base_tp], np.r_[0.0, fp_c[ends] - base_fp]
        curves.append((np.r_[np.inf, s_o[ends]], t, f))
        p_g[g] = t[-1]
    return curves, n_g, p_g


class GroupThresholds(Component):
    """Group-specific thresholds that satisfy a fairness constraint at the best objective.

    Fitted on validation scores of a binary classifier (higher = more likely positive), one
    group per cell of the sensitive features (several columns = their intersection):

    * ``constraint="demographic_parity"``: every group gets the same selection rate;
    * ``constraint="equal_opportunity"``: every group gets the same true-positive rate;
    * ``constraint="equalized_odds"``: every group gets the same true-positive *and* false-positive
      rate (Hardt et al.'s linear program over the groups' ROC hulls: each group mixes two hull
      vertices and, where its hull lies above the common point, a constant rate).

    ``tolerance`` (default 0) relaxes the constraint: the constrained rates of any two groups may
    differ by up to ``tolerance`` (both rates for equalized odds); fitted by the same linear
    program (scipy's HiGHS) over the groups' ROC hulls, exact up to the solver's feasibility
    tolerance (~1e-9). ``tolerance=1`` leaves every group its own best rule.

    The common rate is the one maximising ``objective`` over the rows fitted: ``"accuracy"``,
    ``"balanced_accuracy"`` or a 2x2 cost matrix (rows = true class 0, 1; columns = predicted
    class 0, 1; a DataFrame such as German credit's ``cost_matrix`` is read in that order), whose
    expected cost is minimised. Each group's rule selects every row with ``score >= threshold_high``
    and, with probability ``p_between``, the rows with ``threshold_low <= score < threshold_high``
    (Hardt et al.'s randomisation between two thresholds: adjacent vertices of the group's hull,
    so any mixture of the group's threshold rules is reachable; as Fairlearn's ThresholdOptimizer).

    Guarantee: on the rows fitted, the *expected* rates of the groups are equal up to floating
    error, or within ``tolerance`` (see :meth:`positive_probability`); the realised rates of :meth:`predict` differ from
    them by the randomisation of the rows between the two thresholds (at most one tie block per
    group). On new data the gap is the sampling error of the fitted thresholds.

    Attributes
    ----------
    thresholds_ : DataFrame
        One row per group: ``threshold_high``, ``threshold_low``, ``p_between``, ``p_constant``,
        ``constant`` (the rule is replaced by the constant rate ``constant`` with probability
        ``p_constant``; 0 except on the hull path), ``n``, ``rate`` (selection rate or TPR); on the
        hull path also ``fpr``.
    target_ : float or (float, float)
        The common selection rate or true-positive rate chosen (with a tolerance: the centre of the
        band); for equalized odds ``(tpr, fpr)`` (with a tolerance: the groups' mean).
    objective_value_ : float
        The objective at ``target_`` on the rows fitted (accuracy, balanced accuracy, or minus
        the mean cost per row for a cost matrix).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "constraint": [Options(str, set(_CONSTRAINTS))],
        "objective": ["no_validation"],
        "tolerance": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, constraint: str = "demographic_parity", objective: Any = "accuracy",
                 tolerance: float = 0.0, random_state: Any = None) -> None:
        self.constraint = constraint
        self.objective = objective
        self.tolerance = tolerance
        self.random_state = random_state

    def fit(self, y_score: Any, y: Any, *, sensitive_features: Any = None) -> GroupThresholds:
        """Choose the thresholds on scores ``y_score`` (n,) and binary labels ``y`` (n,) in {0, 1}."""
        scores = as_array(y_score, name="y_score", ndim=1, dtype=np.float64)
        if not np.isfinite(scores).all():
            raise AssayInputError("'y_score' must hold finite numbers. Got NaN or inf.")
        labels = as_array(y, name="y", ndim=1)
        if len(labels) != len(scores):
            raise AssayInputError(
                f"'y' and 'y_score' must have the same length. Got y: {len(labels)}, y_score: {len(scores)}."
            )
        values = set(pd.unique(labels).tolist())
        if not values <= {0, 1}:
            raise AssayInputError(f"'y' must hold binary labels in {{0, 1}}. Got values {sorted(map(str, values))}.")
        positive = (labels == 1).astype(np.int64)
        codes, cells = group_codes(sensitive_features, len(scores), owner="GroupThresholds")
        n_groups = len(cells)
        a, b = _objective_weights(self.objective, positive.sum(), len(positive) - positive.sum())

        curves, n_g, p_g = _group_curves(scores, positive, codes, n_groups)
        self.groups_ = cells
        if self.constraint == "equalized_odds" or self.tolerance > 0:
            return self._fit_hull(curves, cells, p_g, n_g, a, b, positive)
        # mixing any two thresholds reaches every point of a group's hull: keep its upper vertices
        # (most true positives per selection rate; fewest false positives per true-positive rate)
        if self.constraint == "demographic_parity":
            hulls = [upper_vertices(t + f, t, (float(n), 0.0)) for (_, t, f), n in zip(curves, n_g)]
        else:
            hulls = [upper_vertices(t, -f, (0.0, -float(n - p))) for (_, t, f), n, p in zip(curves, n_g, p_g)]
        curves = [(th[v], t[v], f[v]) for (th, t, f), v in zip(curves, hulls)]
        if self.constraint == "demographic_parity":
            xs = [(t + f) / n for (_, t, f), n in zip(curves, n_g)]
        else:
            empty = [cells[g] for g in range(n_groups) if p_g[g] == 0]
            if empty:
                raise AssayInputError(
                    f"constraint='equal_opportunity' needs positives in every group of 'sensitive_features'; "
                    f"group(s) {empty[:10]} have none (their true-positive rate is undefined)."
                )
            xs = [t / p for (_, t, _), p in zip(curves, p_g)]
        candidates = np.unique(np.concatenate(xs))
        total = np.zeros(len(candidates))
        for x, (_, t, f) in zip(xs, curves):
            tp_at, fp_at = self._counts_at(x, t, f, candidates)
            total += a * tp_at - b * fp_at
        best = int(np.argmax(total))
        target = float(candidates[best])

        rows = []
        for x, (th, t, f), n in zip(xs, curves, n_g):
            j, p = self._segment(x, t, target)
            high = th[j]
            low = th[j + 1] if p > 0 else high
            rows.append((high, low, p, 0.0, 0.0, int(n), target))
        self.thresholds_ = pd.DataFrame(rows, columns=_COLUMNS, index=_index(cells))
        self.target_ = target
        n = len(scores)
        tp_sum = float(sum(self._counts_at(x, t, f, np.array([target]))[0][0] for x, (_, t, f) in zip(xs, curves)))
        fp_sum = float(sum(self._counts_at(x, t, f, np.array([target]))[1][0] for x, (_, t, f) in zip(xs, curves)))
        self.objective_value_ = self._objective_value(tp_sum, fp_sum, float(positive.sum()), n)
        return self

    def _objective_value(self, tp_sum: float, fp_sum: float, n_pos: float, n: int) -> float:
        if isinstance(self.objective, str) and self.objective == "accuracy":
            return (tp_sum + (n - n_pos) - fp_sum) / n
        if isinstance(self.objective, str):
            return 0.5 * (tp_sum / n_pos + 1 - fp_sum / (n - n_pos))
        cost = check_cost_matrix(self.objective, name="objective")
        return -float(total_cost(cost, (n - n_pos) - fp_sum, fp_sum, n_pos - tp_sum, tp_sum)) / n

    def _fit_hull(self, curves: list, cells: pd.MultiIndex, p_g: np.ndarray, n_g: np.ndarray, a: float, b: float,
                  positive: np.ndarray) -> GroupThresholds:
        """Equalized odds, or any constraint with a tolerance: the linear program over ROC hulls."""
        neg_g = n_g - p_g
        lacking = [cells[g] for g in range(len(cells)) if p_g[g] == 0 or neg_g[g] == 0]
        if lacking:
            raise AssayInputError(
                f"constraint={self.constraint!r} with tolerance={self.tolerance!r} needs positives and negatives "
                f"in every group of 'sensitive_features' (it works on each group's ROC curve); group(s) "
                f"{lacking[:10]} lack one of the two labels."
            )
        hulls = [upper_hull(f / neg, t / pos, th) for (th, t, f), pos, neg in zip(curves, p_g, neg_g)]
        fpr, tpr, centres = solve_hull_lp(hulls, p_g, neg_g, a, b, self.constraint, float(self.tolerance))
        if self.tolerance == 0:  # equalized odds: one common point, below every group's hull
            x = float(np.clip(centres[1], 0.0, 1.0))
            y = min(float(centres[0]), *(hull_at(h[0], h[1], x) for h in hulls))
            fpr[:], tpr[:] = x, max(y, x)
        rows = []
        for g, hull in enumerate(hulls):
            high, low, p, p_constant, fpr[g], tpr[g] = realise(hull, fpr[g], tpr[g])
            selection = (p_g[g] * tpr[g] + neg_g[g] * fpr[g]) / n_g[g]
            rate = selection if self.constraint == "demographic_parity" else tpr[g]
            rows.append((high, low, p, p_constant, fpr[g], int(n_g[g]), rate, fpr[g]))
        self.thresholds_ = pd.DataFrame(rows, columns=[*_COLUMNS, "fpr"], index=_index(cells))
        if self.constraint == "equalized_odds":
            self.target_ = (float(tpr.mean()), float(fpr.mean())) if self.tolerance else (float(tpr[0]), float(fpr[0]))
        else:
            self.target_ = float(centres[0])
        tp_sum, fp_sum = float(p_g @ tpr), float(neg_g @ fpr)
        self.objective_value_ = self._objective_value(tp_sum, fp_sum, float(positive.sum()), len(positive))
        return self

    def _counts_at(self, x: np.ndarray, tp: np.ndarray, fp: np.ndarray, target: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Expected TP and FP of one group at each rate in ``target`` (the best rule reaching it)."""
        if self.constraint == "demographic_parity":
            return _rate_at(x, tp, target), _rate_at(x, fp, target)
        # equal opportunity: x = TPR, nondecreasing with runs; at a run's value the first point
        # (fewest false positives) is best, between runs the segment from a run's last point
        first = np.r_[True, np.diff(x) > 0]
        last = np.r_[np.diff(x) > 0, True]
        u, f_first, f_last = x[first], fp[first], fp[last]
        j = np.clip(np.searchsorted(u, target, side="right") - 1, 0, len(u) - 1)
        nxt = np.minimum(j + 1, len(u) - 1)
        exact = u[j] == target
        span = np.where(nxt > j, u[nxt] - u[j], 1.0)
        between = f_last[j] + (target - u[j]) / span * (f_first[nxt] - f_last[j])
        tp_at = target * tp[-1]
        return tp_at, np.where(exact, f_first[j], between)

    def _segment(self, x: np.ndarray, tp: np.ndarray, target: float) -> tuple[int, float]:
        """The point ``j`` selected fully and the probability of the next block, hitting ``target``."""
        if self.constraint == "demographic_parity":
            j = int(np.searchsorted(x, target, side="right") - 1)
        else:
            hits = np.flatnonzero(x == target)
            if len(hits):
                return int(hits[0]), 0.0
            j = int(np.searchsorted(x, target, side="right") - 1)
        if x[j] == target or j + 1 >= len(x):
            return j, 0.0
        return j, float((target - x[j]) / (x[j + 1] - x[j]))

    def positive_probability(self, y_score: Any, *, sensitive_features: Any = None) -> np.ndarray:
        """The probability (n,) that :meth:`predict` labels each row positive."""
        check_is_fitted(self, ["thresholds_"])
        scores = as_array(y_score, name="y_score", ndim=1, dtype=np.float64)
        codes = codes_for(sensitive_features, len(scores), self.groups_, owner="GroupThresholds")
        t = self.thresholds_
        high = t["threshold_high"].to_numpy()[codes]
        low = t["threshold_low"].to_numpy()[codes]
        p = t["p_between"].to_numpy()[codes]
        rule = np.where(scores >= high, 1.0, np.where(scores >= low, p, 0.0))
        p_constant = t["p_constant"].to_numpy()[codes]
        return rule * (1.0 - p_constant) + p_constant * t["constant"].to_numpy()[codes]

    def predict(self, y_score: Any, *, sensitive_features: Any = None, random_state: Any = None) -> np.ndarray:
        """Binary decisions (n,) int64; rows between a group's two thresholds are drawn with
        ``random_state`` (default: the estimator's ``random_state``)."""
        prob = self.positive_probability(y_score, sensitive_features=sensitive_features)
        rng = check_random_state(self.random_state if random_state is None else random_state, name="random_state")
        draw = rng.random(len(prob))
        return (draw < prob).astype(np.int64)
