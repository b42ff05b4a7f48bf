"""A single decision threshold that minimises the expected cost of a 2x2 cost matrix.

:class:`CostSensitiveThreshold` either takes the Bayes-optimal threshold of the cost matrix
(``method="bayes"``: right for calibrated probabilities, no data needed) or the threshold that
minimises the cost on validation scores (``method="empirical"``: every distinct score at once,
through :func:`assay.metrics.threshold_sweep`). The cost arithmetic is :mod:`._cost`'s, shared
with :class:`GroupThresholds`' ``objective=`` cost matrix.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Component, Options
from ...core.errors import AssayInputError
from ...core.validation import as_array, check_is_fitted
from ._cost import bayes_threshold, check_cost_matrix, total_cost

__all__ = ["CostSensitiveThreshold"]


def _scores(y_score: Any) -> np.ndarray:
    scores = as_array(y_score, name="y_score", ndim=1, dtype=np.float64)
    if not np.isfinite(scores).all():
        raise AssayInputError("'y_score' must hold finite numbers. Got NaN or inf.")
    return scores


def _binary(y: Any, n: int) -> np.ndarray:
    labels = as_array(y, name="y", ndim=1)
    if len(labels) != n:
        raise AssayInputError(f"'y' and 'y_score' must have the same length. Got y: {len(labels)}, y_score: {n}.")
    values = set(pd.unique(labels).tolist())
    if not values <= {0, 1}:
        raise AssayInputError(f"'y' must hold binary labels in {{0, 1}}. Got values {sorted(map(str, values))}.")
    return (labels == 1).astype(np.int64)


class CostSensitiveThreshold(Component):
    """One threshold on a binary classifier's scores minimising the expected cost of ``cost_matrix``.

    Parameters
    ----------
    cost_matrix : (2, 2) array-like or DataFrame
        Rows = true class 0, 1; columns = predicted class 0, 1 (German credit's ``cost_matrix``,
        true bad (0) predicted good (1) costs 5, true good predicted bad costs 1, is read so).
    method : "bayes" or "empirical"
        ``"bayes"``: ``threshold_ = b / (a + b)`` with ``a = C10 - C11``, ``b = C01 - C00``
        (``c_FP / (c_FP + c_FN)`` for a zero diagonal: 5/6 for German credit): optimal when the
        scores are calibrated probabilities of class 1; ``fit`` needs no data. ``"empirical"``:
        the score threshold with the lowest total cost on the scores and labels given to ``fit``
        (every distinct score, and "select nothing", evaluated at once by
        :func:`~assay.metrics.threshold_sweep`; the lowest such threshold on ties): right for
        any monotone score, calibrated or not.

    A row is predicted 1 when its score is ``>= threshold_``.

    Attributes
    ----------
    threshold_ : float
        ``+inf`` selects nothing, ``-inf`` everything.
    cost_ : float or None
        The mean cost per row at ``threshold_`` on the rows fitted (None for ``"bayes"`` fitted
        without data).
    costs_ : Series or None
        ``"empirical"``: the mean cost per row at every threshold tried (index: threshold).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "cost_matrix": ["no_validation"],
        "method": [Options(str, {"bayes", "empirical"})],
    }

    def __init__(self, *, cost_matrix: Any = None, method: str = "bayes") -> None:
        self.cost_matrix = cost_matrix
        self.method = method

    def fit(self, y_score: Any = None, y: Any = None) -> CostSensitiveThreshold:
        """Set ``threshold_``; ``y_score`` (n,) and ``y`` (n,) in {0, 1} are needed for ``"empirical"``."""
        cost = check_cost_matrix(self.cost_matrix, name="cost_matrix")
        self.cost_matrix_ = cost
        self.costs_ = None
        if self.method == "bayes":
            self.threshold_ = bayes_threshold(cost)
            if y_score is None or y is None:
                self.cost_ = None
                return self
            scores = _scores(y_score)
            positive = _binary(y, len(scores))
            self.cost_ = self._mean_cost(scores >= self.threshold_, positive)
            return self
        if y_score is None or y is None:
            raise AssayInputError("method='empirical' of CostSensitiveThreshold needs 'y_score' and 'y' at fit "
                                  "(validation scores and labels). Got None.")
        from ...metrics import threshold_sweep

        scores = _scores(y_score)
        positive = _binary(y, len(scores))
        n_pos = int(positive.sum())
        n_neg = len(positive) - n_pos
        if n_pos == 0 or n_neg == 0:
            raise AssayInputError("'y' must hold both classes for method='empirical' (the cost of each threshold "
                                  f"needs them). Got {n_pos} positive and {n_neg} negative rows.")
        distinct = np.unique(scores)
        grid = np.r_[distinct, np.nextafter(distinct[-1], np.inf)]  # the last: "select nothing"
        sweep = threshold_sweep(positive, scores, thresholds=grid, metrics=("tpr", "fpr"))
        tp = sweep.overall("tpr").to_numpy() * n_pos
        fp = sweep.overall("fpr").to_numpy() * n_neg
        costs = total_cost(cost, n_neg - fp, fp, n_pos - tp, tp) / len(scores)
        best = int(np.argmin(costs))
        self.threshold_ = float(grid[best]) if best < len(distinct) else float(np.inf)
        self.costs_ = pd.Series(costs, index=pd.Index(grid, name="threshold"), name="mean_cost")
        self.cost_ = self._mean_cost(scores >= self.threshold_, positive)
        return self

    def _mean_cost(self, selected: np.ndarray, positive: np.ndarray) -> float:
        tp = float(np.sum(selected & (positive == 1)))
        fp = float(np.sum(selected & (positive == 0)))
        n_pos = float(positive.sum())
        n_neg = len(positive) - n_pos
        return float(total_cost(self.cost_matrix_, n_neg - fp, fp, n_pos - tp, tp)) / len(positive)

    def predict(self, y_score: Any) -> np.ndarray:
        """Decisions (n,) int64: 1 where ``y_score >= threshold_``."""
        check_is_fitted(self, ["threshold_"])
        return (_scores(y_score) >= self.threshold_).astype(np.int64)
