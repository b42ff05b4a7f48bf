"""Split conformal prediction, marginal and group-conditional (Mondrian), and its report.

* :class:`ConformalClassifier` -- prediction sets from class probabilities: ``"lac"`` (score
  ``1 - p_y``), ``"aps"`` (probability mass of the labels ranked at or above ``y``) and
  ``"raps"`` (APS plus ``lambda_reg * max(0, rank - k_reg)``).
* :class:`ConformalRegressor` -- intervals from point predictions: ``"absolute"`` (``|y - f|``),
  ``"normalized"`` (``|y - f| / scale``, the scale given per example) and ``"cqr"``
  (``max(lo - y, y - hi)`` for lower/upper quantile predictions given by the user).
* :func:`conformal_report` -- coverage and set size / interval width, overall and per group and
  intersection with bootstrap intervals (one :func:`assay.metrics.evaluate_groups` table), and
  the groups a method under-covers.

The threshold is the ``k``-th smallest calibration score with ``k = ceil((n + 1)(1 - alpha))``
(quantile level ``k / n``, numpy ``method="lower"``; MAPIE's convention, computed with the
same float expression). It is finite only when ``k <= n``, i.e. ``n >=``
:func:`min_calibration_size` ``(alpha)`` (9 rows at alpha=0.1): a smaller calibration set is refused.

**Mondrian** (``sensitive_features`` given to ``fit``): one threshold per finest cell -- one
combination of every feature's values -- so every cell, and so every group and intersection
(unions of cells), has coverage >= 1 - alpha. **Fallback** for a cell with fewer rows than
:func:`min_calibration_size` (and, at predict time, for a combination or value not seen at
fit): the largest threshold among the enclosing groups with one feature fewer that are large
enough, then two fewer, ..., down to single features; if none is large enough, the marginal
threshold. Each fallback is recorded in ``fallback_`` (cell -> the group used) and warned about
(:class:`~assay.core.errors.SmallGroupWarning`).

Ties and tolerance are MAPIE 1.6's: a label is in a LAC set when ``(1 - p) - q <= 1e-8``;
APS/RAPS rank labels by decreasing probability (equal probabilities: larger class index first,
numpy's ``argsort`` reversed), include labels down to the first whose cumulated score reaches
``q - 1e-8`` and every label with probability within 1e-8 of it (MAPIE's
``include_last_label=True``). ``randomized=True`` draws ``U ~ Uniform(0, 1)`` per row: the
calibration score becomes ``E - U p_y`` (the stream of ``RandomState(random_state)``, as
MAPIE) and the last label is kept when ``(E_last - q) / s_last <= U``, ``s_last`` its
probability plus, for RAPS, its penalty step (Romano et al., 2020; Angelopoulos et al., 2021;
sets may then be empty).
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.component import Component, Interval, Options
from ..core.errors import AssayInputError, SmallGroupWarning, outside_stacklevel
from ..core.result import Result
from ..core.validation import (
    as_array,
    check_consistent_length,
    check_is_fitted,
    check_labels,
    check_probabilities,
    check_scalar,
    describe,
)

__all__ = [
    "ConformalClassifier",
    "ConformalRegressor",
    "ConformalReport",
    "conformal_report",
    "conformal_threshold",
    "min_calibration_size",
]

EPSILON = 1e-8
"""Tolerance of the set comparisons (MAPIE's ``EPSILON``)."""

_MARGINAL = "marginal"


# ---------------------------------------------------------------------- quantiles
def _rank(n: Any, alpha: float) -> np.ndarray:
    """``ceil((n + 1)(1 - alpha))`` (MAPIE's expression), as int64."""
    return np.ceil((np.asarray(n, dtype=np.float64) + 1) * (1 - alpha)).astype(np.int64)


def min_calibration_size(alpha: float) -> int:
    """The fewest calibration rows that give a finite split-conformal threshold at ``alpha``."""
    check_scalar(alpha, "alpha", owner="min_calibration_size", low=0.0, high=1.0, closed="neither")
    n = max(1, int(np.floor((1 - alpha) / alpha)) - 1)
    while _rank(n, alpha) > n:
        n += 1
    return n


def conformal_threshold(scores: Any, alpha: float) -> float:
    """The split-conformal threshold of calibration ``scores`` (n,): their ``ceil((n+1)(1-alpha))``-th smallest."""
    check_scalar(alpha, "alpha", owner="conformal_threshold", low=0.0, high=1.0, closed="neither")
    scores = as_array(scores, name="scores", ndim=1, dtype=np.float64)
    n = len(scores)
    k = int(_rank(n, alpha))
    if k > n:
        raise AssayInputError(_too_small("scores", n, alpha))
    return float(np.partition(scores, k - 1)[k - 1])


def _too_small(name: str, n: int, alpha: float) -> str:
    return (f"'{name}' has {n} calibration row(s); at alpha={alpha:g} split conformal needs at least "
            f"{min_calibration_size(alpha)} (k = ceil((n + 1)(1 - alpha)) must not exceed n, else the "
            "threshold is infinite). Use more calibration rows or a larger alpha.")


def _cell_quantiles(scores: np.ndarray, codes: np.ndarray, n_codes: int, alpha: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per code: the row count and the conformal threshold (NaN where too few rows).

    Rows are ordered by code (a radix sort of small integers), then one partial sort per code.
    """
    counts = np.bincount(codes, minlength=n_codes)
    small = codes.astype(np.int16) if n_codes < 2**15 else codes
    ordered = scores[np.argsort(small, kind="stable")]
    ends = np.cumsum(counts)
    k = _rank(counts, alpha)
    q = np.full(n_codes, np.nan)
    for code in np.flatnonzero((k <= counts) & (counts > 0)):
        part = ordered[ends[code] - counts[code]:ends[code]]
        q[code] = np.partition(part, k[code] - 1)[k[code] - 1]
    return counts, q


_DENSE_KEYS = 1 << 20


def _compact(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct keys and each row's index into them (``np.unique``, by counting when small)."""
    if size <= _DENSE_KEYS:
        present = np.flatnonzero(np.bincount(keys, minlength=size))
        lookup = np.zeros(size, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        return present, lookup[keys]
    present, codes = np.unique(keys, return_inverse=True)
    return present, codes.reshape(-1)


# ---------------------------------------------------------------------- Mondrian cells
def _feature_indices(sensitive_features: Any, n: int, name: str
                     ) -> tuple[tuple[str, ...], list[tuple[str, ...]], list[np.ndarray]]:
    """Features, each feature's sorted labels (strings) and each row's index into them."""
    from ..metrics.groups import _encode_column, _feature_columns

    features, columns = _feature_columns(sensitive_features, n, name, reference="the scores")
    labels, indices = [], []
    for feature, column in zip(features, columns):
        coded = _encode_column(column, feature, name)
        labels.append(coded.labels)
        indices.append(coded.table[coded.raw])
    return features, labels, indices


def _keys(indices: Sequence[np.ndarray], cards: Sequence[int]) -> np.ndarray:
    key = np.zeros(len(indices[0]), dtype=np.int64)
    for index, card in zip(indices, cards):
        key = key * card + index
    return key


def _unkey(keys: np.ndarray, cards: Sequence[int]) -> np.ndarray:
    out = np.empty((len(keys), len(cards)), dtype=np.int64)
    rest = keys.copy()
    for j in range(len(cards) - 1, -1, -1):
        out[:, j] = rest % cards[j]
        rest //= cards[j]
    return out


class _Conformal(Component):
    """Shared fitting of the marginal and per-cell thresholds from calibration scores."""

    def _fit_thresholds(self, scores: np.ndarray, sensitive_features: Any, name: str) -> None:
        alpha = self.alpha
        n = len(scores)
        if _rank(n, alpha) > n:
            raise AssayInputError(_too_small(name, n, alpha))
        self.n_calibration_ = n
        self.threshold_ = conformal_threshold(scores, alpha)
        self.fallback_: dict[str, str] = {}
        if sensitive_features is None:
            self.features_ = None
            return
        features, labels, indices = _feature_indices(sensitive_features, n, "sensitive_features")
        cards = [len(lab) for lab in labels]
        keys = _keys(indices, cards)
        cell_keys, codes = _compact(keys, int(np.prod(cards, dtype=float)))
        counts, q = _cell_quantiles(scores, codes, len(cell_keys), alpha)
        self.features_ = features
        self.feature_labels_ = labels
        self.cell_keys_ = cell_keys
        self.cell_counts_ = counts
        self.group_thresholds_ = {}
        for size in range(len(features) - 1, 0, -1):
            for subset in itertools.combinations(range(len(features)), size):
                sub_cards = [cards[j] for j in subset]
                present, sub_codes = _compact(_keys([indices[j] for j in subset], sub_cards),
                                              int(np.prod(sub_cards, dtype=float)))
                _, sub_q = _cell_quantiles(scores, sub_codes, len(present), alpha)
                self.group_thresholds_[subset] = {int(k): float(v) for k, v in zip(present, sub_q) if not np.isnan(v)}
        small = np.flatnonzero(np.isnan(q))
        values = _unkey(cell_keys, cards)
        q[small] = self._fallbacks(values[small], "calibration cells with fewer than "
                                   f"{min_calibration_size(alpha)} rows")
        self.cell_thresholds_ = q

    def _cell_name(self, value: np.ndarray) -> str:
        return " x ".join(f"{f}={self.feature_labels_[j][v]}" if v >= 0 else f"{f}=<unseen>"
                          for j, (f, v) in enumerate(zip(self.features_, value)))

    def _fallbacks(self, values: np.ndarray, why: str) -> np.ndarray:
        """Thresholds of cells (rows of per-feature indices, -1 = unseen value) by the fallback rule."""
        out = np.empty(len(values))
        cards = [len(lab) for lab in self.feature_labels_]
        d = len(cards)
        for i, value in enumerate(values):
            used, q = _MARGINAL, self.threshold_
            for size in range(d - 1, 0, -1):
                found = []
                for subset in itertools.combinations(range(d), size):
                    if any(value[j] < 0 for j in subset):
                        continue
                    key = int(_keys([np.array([value[j]]) for j in subset], [cards[j] for j in subset])[0])
                    if key in self.group_thresholds_[subset]:
                        found.append((self.group_thresholds_[subset][key],
                                      " x ".join(f"{self.features_[j]}={self.feature_labels_[j][value[j]]}"
                                                 for j in subset)))
                if found:
                    q, used = max(found)
                    break
            out[i] = q
            self.fallback_[self._cell_name(value)] = used
        if len(values):
            shown = ", ".join(f"{self._cell_name(v)} -> {self.fallback_[self._cell_name(v)]}" for v in values[:10])
            more = f" and {len(values) - 10} more" if len(values) > 10 else ""
            warnings.warn(f"{type(self).__name__}: {len(values)} {why} use a coarser group's threshold "
                          f"(see fallback_): {shown}{more}.", SmallGroupWarning, stacklevel=outside_stacklevel())
        return out

    def _row_thresholds(self, sensitive_features: Any, n: int) -> np.ndarray | float:
        """The threshold of each row (n,), or the marginal one when fitted without groups."""
        if self.features_ is None:
            if sensitive_features is not None:
                raise AssayInputError("'sensitive_features' was given to predict but not to fit: fit with "
                                      "sensitive_features for group-conditional (Mondrian) conformal, or drop it.")
            return self.threshold_
        if sensitive_features is None:
            raise AssayInputError(f"'sensitive_features' is required: {type(self).__name__} was fitted per group "
                                  f"of {list(self.features_)}; pass the same features for the rows to predict.")
        features, labels, indices = _feature_indices(sensitive_features, n, "sensitive_features")
        if features != self.features_:
            raise AssayInputError(f"'sensitive_features' has features {list(features)}; the fit had "
                                  f"{list(self.features_)}. Pass the same features.")
        mapped = []
        for fit_labels, new_labels, index in zip(self.feature_labels_, labels, indices):
            lookup = {lab: i for i, lab in enumerate(fit_labels)}
            table = np.array([lookup.get(lab, -1) for lab in new_labels], dtype=np.int64)
            mapped.append(table[index] if len(table) else index)
        cards = [len(lab) for lab in self.feature_labels_]
        unseen_value = np.zeros(n, dtype=bool)
        for m in mapped:
            unseen_value |= m < 0
        keys = _keys([np.maximum(m, 0) for m in mapped], cards)
        size = int(np.prod(cards, dtype=float))
        if size <= _DENSE_KEYS:
            lookup = np.full(size, -1, dtype=np.int64)
            lookup[self.cell_keys_] = np.arange(len(self.cell_keys_))
            pos = lookup[keys]
            unseen = unseen_value | (pos < 0)
            pos = np.maximum(pos, 0)
        else:
            pos = np.minimum(np.searchsorted(self.cell_keys_, keys), len(self.cell_keys_) - 1)
            unseen = unseen_value | (self.cell_keys_[pos] != keys)
        out = self.cell_thresholds_[pos]
        if unseen.any():
            stacked = np.stack(mapped, axis=1)[unseen]
            cells, inverse = np.unique(stacked, axis=0, return_inverse=True)
            out = out.copy()
            out[unseen] = self._fallbacks(cells, "cells not seen at calibration")[inverse.reshape(-1)]
        return out


def _uniform(random_state: Any, n: int) -> np.ndarray:
    if isinstance(random_state, np.random.Generator):
        return random_state.uniform(size=n)
    if isinstance(random_state, np.random.RandomState):
        return random_state.uniform(size=n)
    return np.random.RandomState(random_state).uniform(size=n)


# ---------------------------------------------------------------------- classification
class ConformalClassifier(_Conformal):
    """Split conformal prediction sets from class probabilities (LAC, APS, RAPS), marginal or Mondrian.

    Parameters
    ----------
    method : {"lac", "aps", "raps"}
    alpha : float in (0, 1)
        Miscoverage: sets contain the true label with probability >= 1 - alpha (per cell under Mondrian).
    k_reg, lambda_reg : RAPS penalty ``lambda_reg * max(0, rank - k_reg)`` (rank 1-based).
    randomized : bool
        APS/RAPS only: randomised scores and last-label inclusion (exact coverage, possibly empty sets).
    random_state : None, int, RandomState or Generator
        The uniform draws of ``randomized``: ``RandomState(random_state)``'s stream at fit (MAPIE's
        calibration scores), and at predict a stream seeded at fit (``predict_seed_``), independent of
        it, and the same on every call.

    Attributes
    ----------
    threshold_ : float
        Marginal threshold. ``cell_thresholds_`` (n_cells,), ``cell_keys_``, ``cell_counts_``,
        ``features_``, ``feature_labels_`` and ``fallback_`` (cell -> group used) under Mondrian.
    n_classes_ : int
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "method": [Options(str, ("lac", "aps", "raps"))],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "k_reg": [Interval(Integral, 0, None)],
        "lambda_reg": [Interval(Real, 0, None)],
        "randomized": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, method: str = "lac", alpha: float = 0.1, k_reg: int = 1, lambda_reg: float = 0.01,
                 randomized: bool = False, random_state: Any = None) -> None:
        self.method = method
        self.alpha = alpha
        self.k_reg = k_reg
        self.lambda_reg = lambda_reg
        self.randomized = randomized
        self.random_state = random_state

    def _penalty(self, k: int) -> np.ndarray:
        if self.method != "raps":
            return np.zeros(k)
        return self.lambda_reg * np.maximum(np.arange(1, k + 1) - self.k_reg, 0)

    def _scores(self, p: np.ndarray, y: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Conformity scores (n,) of class indices ``y`` under probabilities ``p`` (n, k); higher = stranger."""
        rows = np.arange(len(p))
        p_y = p[rows, y]
        if self.method == "lac":
            return 1.0 - p_y
        order = np.argsort(p, axis=1)[:, ::-1]
        cum = np.cumsum(np.take_along_axis(p, order, axis=1), axis=1) + self._penalty(p.shape[1])
        rank = np.argmax(order == np.asarray(y)[:, None], axis=1)
        score = cum[rows, rank]
        if u is not None:
            score = score - u * p_y
        return score

    def fit(self, proba_cal: Any, y_cal: Any, sensitive_features: Any = None) -> ConformalClassifier:
        """Calibrate on probabilities (n, k) and true class indices (n,) in ``0..k-1``."""
        if self.randomized and self.method == "lac":
            raise AssayInputError("The 'randomized' parameter of ConformalClassifier applies to 'aps' and 'raps' "
                                  "only. Got randomized=True with method='lac'.")
        p = _proba(proba_cal, "proba_cal")
        y = check_labels(y_cal, name="y_cal", classes=None)
        check_consistent_length(proba_cal=p, y_cal=y)
        if y.max() >= p.shape[1]:
            raise AssayInputError(f"'y_cal' holds class index {int(y.max())}, but 'proba_cal' has "
                                  f"{p.shape[1]} columns: labels must be class indices 0..{p.shape[1] - 1}.")
        y = y.astype(np.int64)
        u = _uniform(self.random_state, len(p)) if self.randomized else None
        seed = self.random_state
        self.predict_seed_ = (int(np.random.default_rng([seed, 1]).integers(2**62)) if isinstance(seed, Integral)
                              else int(_uniform(seed, 1)[0] * 2**62))
        self.n_classes_ = p.shape[1]
        self._fit_thresholds(self._scores(p, y, u), sensitive_features, "y_cal")
        return self

    def predict_sets(self, proba: Any, sensitive_features: Any = None) -> np.ndarray:
        """Boolean prediction sets (n, n_classes): ``sets[i, c]`` is True when class ``c`` is in row i's set."""
        check_is_fitted(self, ["threshold_"])
        p = _proba(proba, "proba")
        if p.shape[1] != self.n_classes_:
            raise AssayInputError(f"'proba' has {p.shape[1]} columns; the calibration had {self.n_classes_} classes.")
        q = self._row_thresholds(sensitive_features, len(p))
        q_col = q[:, None] if isinstance(q, np.ndarray) else q
        if self.method == "lac":
            return p >= (1.0 - q_col) - EPSILON
        k = p.shape[1]
        order = np.argsort(p, axis=1)[:, ::-1]
        ordered = np.take_along_axis(p, order, axis=1)
        cum = np.cumsum(ordered, axis=1) + self._penalty(k)
        reached = cum - q_col >= -EPSILON
        last = np.where(reached.any(axis=1), np.argmax(reached, axis=1), k - 1)
        rows = np.arange(len(p))
        p_last = ordered[rows, last]
        zero = p_last <= EPSILON
        if zero.any():
            positive = np.where(p > EPSILON, p, np.inf).min(axis=1)
            p_last = np.where(zero, positive, p_last)
        sets = p - p_last[:, None] >= -EPSILON
        if self.randomized:
            u = np.random.default_rng(self.predict_seed_).uniform(size=len(p))
            step = p_last + np.diff(self._penalty(k), prepend=0.0)[last]  # the last label's share of the score
            v = (cum[rows, last] - q) / step
            sets[rows, order[rows, last]] = v - u <= EPSILON
        return sets


def _proba(proba: Any, name: str) -> np.ndarray:
    p = check_probabilities(proba, name=name)
    if p.ndim != 2 or p.shape[1] < 2:
        raise AssayInputError(f"'{name}' must be class probabilities of shape (n, k >= 2). "
                              f"Got {describe(proba)} instead.")
    return p


# ---------------------------------------------------------------------- regression
class ConformalRegressor(_Conformal):
    """Split conformal intervals from point predictions, marginal or Mondrian.

    Parameters
    ----------
    method : {"absolute", "normalized", "cqr"}
        ``"absolute"``: ``y_pred`` (n,), intervals ``y_pred -/+ q``. ``"normalized"``: also ``scale``
        (n,) > 0 per example (e.g. a predicted spread), intervals ``y_pred -/+ q * scale``. ``"cqr"``:
        ``y_pred`` (n, 2) = lower and upper quantile predictions, intervals ``[lo - q, hi + q]``.
    alpha : float in (0, 1)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "method": [Options(str, ("absolute", "normalized", "cqr"))],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, *, method: str = "absolute", alpha: float = 0.1) -> None:
        self.method = method
        self.alpha = alpha

    def _inputs(self, y_pred: Any, scale: Any, name: str, scale_name: str) -> tuple[np.ndarray, np.ndarray | None]:
        if self.method == "cqr":
            f = as_array(y_pred, name=name, ndim=2, dtype=np.float64)
            if f.shape[1] != 2:
                raise AssayInputError(f"'{name}' must be (n, 2) lower and upper quantile predictions for "
                                      f"method='cqr'. Got shape {f.shape} instead.")
        else:
            f = as_array(y_pred, name=name, ndim=1, dtype=np.float64)
        if self.method != "normalized":
            if scale is not None:
                raise AssayInputError(f"'{scale_name}' is used by method='normalized' only; "
                                      f"got it with method={self.method!r}.")
            return f, None
        if scale is None:
            raise AssayInputError(f"'{scale_name}' (n,) > 0 is required by method='normalized'.")
        s = as_array(scale, name=scale_name, ndim=1, dtype=np.float64)
        check_consistent_length(**{name: f, scale_name: s})
        if (s <= 0).any():
            raise AssayInputError(f"'{scale_name}' must be > 0. Got a minimum of {float(s.min()):.6g}.")
        return f, s

    def fit(self, y_pred_cal: Any, y_cal: Any, scale: Any = None, sensitive_features: Any = None
            ) -> ConformalRegressor:
        """Calibrate on predictions (n,) or (n, 2) for CQR, and true values (n,)."""
        f, s = self._inputs(y_pred_cal, scale, "y_pred_cal", "scale")
        y = as_array(y_cal, name="y_cal", ndim=1, dtype=np.float64)
        check_consistent_length(y_pred_cal=f, y_cal=y)
        if self.method == "cqr":
            scores = np.maximum(f[:, 0] - y, y - f[:, 1])
        else:
            scores = np.abs(y - f) if s is None else np.abs(y - f) / s
        self._fit_thresholds(scores, sensitive_features, "y_cal")
        return self

    def predict_intervals(self, y_pred: Any, scale: Any = None, sensitive_features: Any = None) -> np.ndarray:
        """Intervals (n, 2): lower and upper bounds."""
        check_is_fitted(self, ["threshold_"])
        f, s = self._inputs(y_pred, scale, "y_pred", "scale")
        q = self._row_thresholds(sensitive_features, len(f))
        if self.method == "cqr":
            return np.stack([f[:, 0] - q, f[:, 1] + q], axis=1)
        half = q if s is None else q * s
        return np.stack([f - half, f + half], axis=1)


# ---------------------------------------------------------------------- report
@dataclasses.dataclass(frozen=True)
class ConformalReport(Result):
    """Coverage and set size (or interval width) overall and per group, with bootstrap intervals.

    ``table`` is the :class:`~assay.metrics.GroupedMetrics` of ``mean:covered`` and ``mean:size``;
    ``under_covered`` lists the groups whose coverage is below ``1 - alpha - tolerance``.
    """

    alpha: float
    tolerance: float
    kind: str
    coverage: float
    coverage_ci: tuple[float, float] | None
    mean_size: float
    size_ci: tuple[float, float] | None
    table: Any
    under_covered: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """One row per group (``overall`` first): coverage, size, their intervals, count, under-covered."""
        t = self.table
        frame = t.by_group[["mean:covered", "mean:size", "count", "small"]].rename(
            columns={"mean:covered": "coverage", "mean:size": "size"})
        overall = pd.DataFrame({"coverage": [t.overall["mean:covered"]], "size": [t.overall["mean:size"]],
                                "count": [t.overall["count"]], "small": [False]},
                               index=pd.MultiIndex.from_tuples([("overall", "overall")], names=frame.index.names))
        frame = pd.concat([overall, frame])
        for metric, column in (("mean:covered", "coverage"), ("mean:size", "size")):
            for bound in ("lower", "upper"):
                values = [np.nan] * len(frame)
                if t.ci is not None:
                    values = [t.overall_ci.loc[metric, bound], *t.ci[(metric, bound)].reindex(frame.index[1:])]
                frame[f"{column}_{bound}"] = values
        frame["under_covered"] = frame["coverage"] < 1 - self.alpha - self.tolerance
        return frame

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["table"] = self.table.to_dict()
        out["under_covered"]["index"] = [[str(f), str(g)] for f, g in self.under_covered.index]
        return out


def conformal_report(
    sets_or_intervals: Any,
    y_true: Any,
    sensitive_features: Any,
    *,
    alpha: float = 0.1,
    tolerance: float = 0.02,
    n_boot: int = 200,
    min_group_size: int = 30,
    random_state: Any = None,
) -> ConformalReport:
    """Coverage and mean set size / interval width of conformal predictions, overall and per group.

    Parameters
    ----------
    sets_or_intervals : bool array (n, k) of prediction sets, or float array (n, 2) of intervals
    y_true : (n,) class indices ``0..k-1`` for sets, real values for intervals
    sensitive_features : as :func:`assay.metrics.evaluate_groups`
    alpha : the target miscoverage; tolerance : a group is under-covered when its coverage is below
        ``1 - alpha - tolerance``.
    n_boot, min_group_size, random_state : as :func:`assay.metrics.evaluate_groups`.
    """
    from ..metrics import evaluate_groups

    check_scalar(alpha, "alpha", owner="conformal_report", low=0.0, high=1.0, closed="neither")
    check_scalar(tolerance, "tolerance", owner="conformal_report", low=0.0, high=1.0)
    arr = as_array(sets_or_intervals, name="sets_or_intervals", ndim=2)
    if arr.dtype == bool:
        kind = "sets"
        y = check_labels(y_true, name="y_true", classes=None)
        check_consistent_length(sets_or_intervals=arr, y_true=y)
        if y.max() >= arr.shape[1]:
            raise AssayInputError(f"'y_true' holds class index {int(y.max())}, but 'sets_or_intervals' has "
                                  f"{arr.shape[1]} columns.")
        covered = arr[np.arange(len(y)), y.astype(np.int64)]
        size = arr.sum(axis=1)
    elif np.issubdtype(arr.dtype, np.number) and arr.shape[1] == 2:
        kind = "intervals"
        arr = arr.astype(np.float64)
        y = as_array(y_true, name="y_true", ndim=1, dtype=np.float64)
        check_consistent_length(sets_or_intervals=arr, y_true=y)
        if (arr[:, 1] < arr[:, 0]).any():
            raise AssayInputError("'sets_or_intervals' has intervals with upper < lower bound.")
        covered = (arr[:, 0] <= y) & (y <= arr[:, 1])
        size = arr[:, 1] - arr[:, 0]
    else:
        raise AssayInputError(f"'sets_or_intervals' must be a boolean (n, k) array of prediction sets or a "
                              f"numeric (n, 2) array of intervals. Got {describe(sets_or_intervals)} instead.")
    table = evaluate_groups(values={"covered": covered.astype(np.float64), "size": size.astype(np.float64)},
                            metrics=["mean:covered", "mean:size"], sensitive_features=sensitive_features,
                            n_boot=n_boot, min_group_size=min_group_size, random_state=random_state)
    by = table.by_group
    low = by["mean:covered"] < 1 - alpha - tolerance
    under = pd.DataFrame({"coverage": by["mean:covered"][low], "count": by["count"][low],
                          "shortfall": (1 - alpha) - by["mean:covered"][low]})
    if table.ci is not None:
        under["lower"] = table.ci[("mean:covered", "lower")][low]
        under["upper"] = table.ci[("mean:covered", "upper")][low]
    ci = table.overall_ci

    def bounds(metric: str) -> tuple[float, float] | None:
        return None if ci is None else (float(ci.loc[metric, "lower"]), float(ci.loc[metric, "upper"]))

    return ConformalReport(alpha=float(alpha), tolerance=float(tolerance), kind=kind,
                           coverage=float(table.overall["mean:covered"]), coverage_ci=bounds("mean:covered"),
                           mean_size=float(table.overall["mean:size"]), size_ci=bounds("mean:size"),
                           table=table, under_covered=under)
