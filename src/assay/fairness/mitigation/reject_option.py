"""Reject-option classification (Kamiran, Karim & Zhang 2012) around a decision threshold.

Near the threshold the classifier is least sure; there, in the *critical region*
``threshold - width < score <= threshold + width``, the rows of the deprived groups are labelled
1 and those of the favoured groups 0; elsewhere the usual rule ``score > threshold`` holds (the
conventions of AIF360's ``RejectOptionClassification``, so the two agree on the same scores).

:class:`RejectOptionClassifier` fits the width and the split of the groups into deprived and
favoured: every candidate width at once (the rows that enter the region as the width grows,
counted per group from sorted scores; no loop over widths), for each split of the groups sorted
by their rate at the plain threshold (the lowest-rate groups deprived, the highest favoured, any
between untouched; or the other way round), and keeps the most accurate configuration whose gap is within ``tolerance``.
"""

from __future__ import annotations

import warnings
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Component, Interval, Options
from ...core.errors import AssayInputError, AssayWarning, outside_stacklevel
from ...core.validation import as_array, check_is_fitted
from ._groups import codes_for, group_codes

__all__ = ["RejectOptionClassifier"]

_NOT_MET = (
    "RejectOptionClassifier: no width and split of the groups brings the {constraint} gap within "
    "tolerance={tolerance:g} on the rows fitted (smallest gap {gap:.4g}); kept the configuration with the "
    "smallest gap. Widen 'widths' or 'threshold', or raise 'tolerance'."
)


def _index(cells: pd.MultiIndex) -> pd.Index:
    return cells.get_level_values(0) if cells.nlevels == 1 else cells


def _region_counts(scores: np.ndarray, positive: np.ndarray, codes: np.ndarray, n_groups: int, t: float,
                   widths: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per group (rows) and width (columns): the rows (and positives) that enter the region below
    the threshold (``t - w < s <= t``: flipped to 1) and above it (``t < s <= t + w``: flipped to 0).

    The comparisons are :meth:`RejectOptionClassifier.predict`'s, on the same floats.
    """
    up_all = np.zeros((n_groups, len(widths)))
    up_pos, down_all, down_pos = np.zeros_like(up_all), np.zeros_like(up_all), np.zeros_like(up_all)
    low, high = t - widths, t + widths
    for g in range(n_groups):
        mine = codes == g
        s, p = scores[mine], positive[mine]
        below = s <= t
        sb, pb = s[below], p[below]
        order = np.argsort(sb)
        sb, cum = sb[order], np.r_[0, np.cumsum(pb[order])]
        cut = np.searchsorted(sb, low, side="right")  # rows with s <= t - w stay 0
        up_all[g] = len(sb) - cut
        up_pos[g] = cum[-1] - cum[cut]
        sa, pa = s[~below], p[~below]
        order = np.argsort(sa)
        sa, cum = sa[order], np.r_[0, np.cumsum(pa[order])]
        cut = np.searchsorted(sa, high, side="right")  # rows with s <= t + w flip to 0
        down_all[g] = cut
        down_pos[g] = cum[cut]
    return up_all, up_pos, down_all, down_pos


class RejectOptionClassifier(Component):
    """Reject-option classification: in a band around the threshold, deprived groups get 1, favoured get 0.

    Fitted on validation scores of a binary classifier (higher = more likely 1) and labels, one
    group per cell of the sensitive features (several columns = their intersection).

    Parameters
    ----------
    constraint : "demographic_parity" or "equal_opportunity"
        The gap to bring within ``tolerance``: the largest difference between two groups'
        selection rates, or true-positive rates.
    tolerance : float in [0, 1]
        The largest gap accepted on the rows fitted (AIF360's default band is +-0.05).
    objective : "accuracy" or "balanced_accuracy"
        Maximised among the configurations within the tolerance (AIF360 uses balanced accuracy).
    threshold : float or 1-D array of floats
        The decision threshold (``score > threshold`` is 1 outside the region); an array: each is
        tried and the best kept (as AIF360's search over classification thresholds).
    widths : None or 1-D array of floats >= 0
        The critical-region half-widths tried. None: 0, the midpoints between consecutive
        distinct ``|score - threshold|`` and one beyond the farthest score (every set of rows a
        region can hold; exact). An array, e.g. AIF360's ``np.linspace(0, threshold, 50)``: exactly those.

    The groups are sorted by their rate at the plain threshold; the candidate splits are the
    ``k`` lowest-rate groups deprived and the ``m`` highest favoured, the groups between keeping
    the plain rule (Kamiran et al. split two groups; with more, e.g. an intersection, the middle
    ones need no push), and, the other way round, the ``k`` highest-rate groups deprived and the
    rest favoured (with two groups: either group deprived). One width serves every group, so
    for many groups of unequal rates the tolerance may be out of reach (see below). Of the configurations
    (threshold, width, split) whose gap is at most ``tolerance``, the one with the best objective
    is kept (on ties: the smallest width, then the first split, then the first threshold). When
    none is within the tolerance, the one with the smallest gap is kept and an
    :class:`~assay.core.errors.AssayWarning` says so (``constraint_met_`` is False).

    Guarantee: on the rows fitted the gap is ``<= tolerance`` when ``constraint_met_``; on new
    data the gap is that plus the sampling error of the fitted rule. The rule is deterministic.

    Attributes
    ----------
    threshold_, width_ : float
    deprived_, favoured_ : Index
        The groups labelled 1, and 0, in the region (any other group keeps the plain rule).
    roles_ : ndarray of int8 (G,)
        Per fitted group: 1 deprived, -1 favoured, 0 untouched.
    groups_ : MultiIndex
        The cells fitted.
    rates_ : DataFrame
        Per group: ``n``, ``role`` ("deprived", "favoured", "untouched"), ``rate_before`` and ``rate_after`` (selection
        rate or TPR on the rows fitted).
    gap_, objective_value_ : float
        On the rows fitted, at the chosen configuration.
    constraint_met_ : bool
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "constraint": [Options(str, {"demographic_parity", "equal_opportunity"})],
        "tolerance": [Interval(Real, 0, 1, closed="both")],
        "objective": [Options(str, {"accuracy", "balanced_accuracy"})],
        "threshold": [Real, "array-like"],
        "widths": [None, "array-like"],
    }

    def __init__(self, *, constraint: str = "demographic_parity", tolerance: float = 0.05,
                 objective: str = "accuracy", threshold: Any = 0.5, widths: Any = None) -> None:
        self.constraint = constraint
        self.tolerance = tolerance
        self.objective = objective
        self.threshold = threshold
        self.widths = widths

    def fit(self, y_score: Any, y: Any, *, sensitive_features: Any = None) -> RejectOptionClassifier:
        """Choose threshold, width and deprived groups on scores ``y_score`` (n,) and labels ``y`` (n,) in {0, 1}."""
        from .cost_sensitive import _binary, _scores

        scores = _scores(y_score)
        positive = _binary(y, len(scores))
        thresholds = as_array(np.atleast_1d(np.asarray(self.threshold, dtype=object)), name="threshold", ndim=1,
                              dtype=np.float64)
        if thresholds.size == 0 or not np.isfinite(thresholds).all():
            raise AssayInputError(f"The 'threshold' parameter of RejectOptionClassifier must be a finite float or a "
                                  f"non-empty 1-D array of them. Got {self.threshold!r} instead.")
        given = None
        if self.widths is not None:
            given = as_array(self.widths, name="widths", ndim=1, dtype=np.float64)
            if given.size == 0 or not np.isfinite(given).all() or (given < 0).any():
                raise AssayInputError(f"The 'widths' parameter of RejectOptionClassifier must be None or a non-empty "
                                      f"1-D array of finite floats >= 0. Got {self.widths!r} instead.")
        codes, cells = group_codes(sensitive_features, len(scores), owner="RejectOptionClassifier")
        n_groups = len(cells)
        n_g = np.bincount(codes, minlength=n_groups).astype(np.float64)
        p_g = np.bincount(codes, weights=positive, minlength=n_groups)
        if self.constraint == "equal_opportunity" and (p_g == 0).any():
            empty = [_index(cells)[g] for g in np.flatnonzero(p_g == 0)[:10]]
            raise AssayInputError(f"constraint='equal_opportunity' needs positives in every group of "
                                  f"'sensitive_features'; group(s) {empty} have none (their true-positive rate "
                                  "is undefined).")
        n, n_pos = len(scores), float(positive.sum())
        denominator = p_g if self.constraint == "equal_opportunity" else n_g
        best: tuple | None = None
        for t in thresholds:
            widths = given if given is not None else self._widths(scores, t)
            up_all, up_pos, down_all, down_pos = _region_counts(scores, positive, codes, n_groups, t, widths)
            base_sel = np.bincount(codes, weights=(scores > t), minlength=n_groups)
            base_tp = np.bincount(codes, weights=(scores > t) & (positive == 1), minlength=n_groups)
            base_rate = (base_tp if self.constraint == "equal_opportunity" else base_sel) / denominator
            for role in self._splits(base_rate):
                d, f = (role == 1)[:, None], (role == -1)[:, None]
                sel = base_sel[:, None] + d * up_all - f * down_all
                tp = base_tp[:, None] + d * up_pos - f * down_pos
                rate = (tp if self.constraint == "equal_opportunity" else sel) / denominator[:, None]
                gap = rate.max(axis=0) - rate.min(axis=0)
                tp_sum, fp_sum = tp.sum(axis=0), (sel - tp).sum(axis=0)
                if self.objective == "accuracy":
                    value = (tp_sum + (n - n_pos) - fp_sum) / n
                else:
                    value = 0.5 * (tp_sum / max(n_pos, 1.0) + 1 - fp_sum / max(n - n_pos, 1.0))
                ok = gap <= self.tolerance + 1e-12
                # rank: within tolerance first, then best objective (or smallest gap when none is)
                key = np.where(ok, value, -np.inf)
                j = int(np.argmax(key)) if ok.any() else int(np.lexsort((-value, gap))[0])
                candidate = (bool(ok.any()), float(value[j]) if ok.any() else -float(gap[j]), float(value[j]),
                             float(t), float(widths[j]), role, float(gap[j]), base_rate, rate[:, j])
                if best is None or candidate[:2] > best[:2]:
                    best = candidate
        assert best is not None
        met, _, value, t, width, role, gap, before, after = best
        if not met:
            warnings.warn(_NOT_MET.format(constraint=self.constraint, tolerance=self.tolerance, gap=gap),
                          AssayWarning, stacklevel=outside_stacklevel())
        self.groups_ = cells
        self.threshold_, self.width_ = t, width
        self.deprived_ = _index(cells)[role == 1]
        self.favoured_ = _index(cells)[role == -1]
        self.roles_ = role
        role_names = np.array(["favoured", "untouched", "deprived"], dtype=object)[role + 1]
        self.rates_ = pd.DataFrame({"n": n_g.astype(np.int64), "role": role_names, "rate_before": before,
                                    "rate_after": after}, index=_index(cells))
        self.gap_, self.objective_value_, self.constraint_met_ = gap, value, met
        return self

    @staticmethod
    def _widths(scores: np.ndarray, t: float) -> np.ndarray:
        """0, the midpoints between consecutive distinct ``|score - t|``, and one beyond the farthest:
        every set of rows a region can hold, with no row on a boundary (robust to rounding)."""
        distance = np.unique(np.abs(scores - t))
        return np.r_[0.0, (distance[1:] + distance[:-1]) / 2 if len(distance) > 1 else [], 2 * distance[-1] + 1.0]

    @staticmethod
    def _splits(base_rate: np.ndarray) -> list[np.ndarray]:
        """Per candidate split, each group's role: 1 deprived, -1 favoured, 0 untouched.

        Groups sorted by ``base_rate``: the ``k`` lowest deprived and the ``m`` highest favoured
        (the rest untouched; ``k, m >= 1``, every ``k + m <= G`` when ``G <= 12``, else ``k + m = G``);
        and the mirror, the ``k`` highest deprived and the others favoured.
        """
        order = np.argsort(base_rate, kind="stable")
        g = len(order)
        splits: list[np.ndarray] = []
        seen: set[bytes] = set()

        def add(deprived: np.ndarray, favoured: np.ndarray) -> None:
            role = np.zeros(g, dtype=np.int8)
            role[deprived], role[favoured] = 1, -1
            if role.tobytes() not in seen:
                seen.add(role.tobytes())
                splits.append(role)

        for k in range(1, g):
            for m in (range(1, g - k + 1) if g <= 12 else (g - k,)):
                add(order[:k], order[g - m:])
        for k in range(1, g):
            add(order[g - k:], order[:g - k])
        return splits

    def predict(self, y_score: Any, *, sensitive_features: Any = None) -> np.ndarray:
        """Decisions (n,) int64 for scores ``y_score`` (n,) of the groups in ``sensitive_features``."""
        check_is_fitted(self, ["width_"])
        from .cost_sensitive import _scores

        scores = _scores(y_score)
        codes = codes_for(sensitive_features, len(scores), self.groups_, owner="RejectOptionClassifier")
        t, w = self.threshold_, self.width_
        pred = (scores > t).astype(np.int64)
        region = (scores > t - w) & (scores <= t + w)
        role = self.roles_[codes]
        pred[region & (role == 1)] = 1
        pred[region & (role == -1)] = 0
        return pred
