"""How well an attack tells members from non-members: one evaluation for every attack.

Every membership attack returns member scores (higher = more likely a member). :func:`evaluate_attack`
reads member and non-member scores and reports, overall and per group and intersection:

* ``auc`` -- ROC AUC, P(member score > non-member score) + 1/2 P(tie);
* ``advantage`` -- membership advantage max over thresholds of TPR - FPR (Yeom et al. 2018);
* ``tpr_at_0.1_fpr``, ``tpr_at_1_fpr`` -- the largest TPR among the thresholds whose FPR is at
  most 0.1% / 1% (Carlini et al. 2022: the number that says whether *anyone* is exposed);

with percentile bootstrap intervals (members and non-members resampled separately), the ROC curve
(for the log-log plot), and a per-example risk: the share of non-member scores below the example's
score (ties 1/2), i.e. one minus the example's p-value under "not a member". The members' risk goes
through the grouped table (``mean:risk``).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError, UndefinedMetricWarning
from ..core.result import Result
from ..core.validation import as_array, check_random_state, check_scalar, describe
from ..metrics.groups import make_groups
from ..metrics.ranking import _draw_counts, _sort

__all__ = ["MembershipAttackResult", "attack_report", "evaluate_attack", "tpr_key"]

_OWNER = "evaluate_attack"
_ROC_POINTS = 400


def tpr_key(fpr: float) -> str:
    """The name of the TPR-at-FPR metric: ``0.01 -> "tpr_at_1_fpr"``, ``0.001 -> "tpr_at_0.1_fpr"``."""
    return f"tpr_at_{100 * float(fpr):.10g}_fpr"


def _metric_names(fpr_levels: Sequence[float]) -> tuple[str, ...]:
    return ("auc", "advantage", *(tpr_key(f) for f in fpr_levels))


def _curve_metrics(in_b: np.ndarray, out_b: np.ndarray, fpr_levels: Sequence[float]) -> np.ndarray:
    """Metrics from block counts ``(b, n_blocks)`` (descending score; ``in`` = non-members,
    ``out`` = members): shape ``(b, 2 + len(fpr_levels))``."""
    n_non = in_b.sum(axis=-1)
    n_mem = out_b.sum(axis=-1)
    cum_non = np.cumsum(in_b, axis=-1)
    cum_mem = np.cumsum(out_b, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        below_non = n_non[..., None] - cum_non
        auc = (out_b * (below_non + 0.5 * in_b)).sum(axis=-1) / (n_non * n_mem)
        tpr = cum_mem / n_mem[..., None]
        fpr = cum_non / n_non[..., None]
        advantage = np.maximum(0.0, (tpr - fpr).max(axis=-1, initial=0.0))
        columns = [auc, advantage]
        for level in fpr_levels:
            columns.append(np.where(fpr <= level + 1e-12, tpr, 0.0).max(axis=-1, initial=0.0))
        out = np.stack(columns, axis=-1)
    out[(n_non == 0) | (n_mem == 0)] = np.nan
    return out


def _scores_metrics(member: np.ndarray, non: np.ndarray, fpr_levels: Sequence[float], n_boot: int,
                    rng: np.random.Generator | None, chunk: int = 50) -> tuple[np.ndarray, np.ndarray | None,
                                                                              np.ndarray, np.ndarray]:
    """Point metrics, resampled metrics ``(n_boot, m)`` or None, and the ROC curve (fpr, tpr)."""
    if not len(member) or not len(non):
        nan = np.full(2 + len(fpr_levels), np.nan)
        return nan, (np.full((n_boot, len(nan)), np.nan) if n_boot else None), np.zeros(1), np.zeros(1)
    plan = _sort(non, member)
    in_b, out_b = plan.block_counts(np.ones(len(non) + len(member)))
    point = _curve_metrics(in_b[None], out_b[None], fpr_levels)[0]
    fpr = np.concatenate([[0.0], np.cumsum(in_b) / len(non)])
    tpr = np.concatenate([[0.0], np.cumsum(out_b) / len(member)])
    resamples = None
    if n_boot:
        resamples = np.empty((n_boot, len(point)))
        for start in range(0, n_boot, chunk):
            size = min(chunk, n_boot - start)
            weights = np.concatenate([_draw_counts(rng, size, len(non)), _draw_counts(rng, size, len(member))], axis=1)
            rin, rout = plan.block_counts(weights)
            resamples[start:start + size] = _curve_metrics(rin, rout, fpr_levels)
    return point, resamples, fpr, tpr


def _roc_sample(fpr: np.ndarray, tpr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve at at most ``_ROC_POINTS`` FPR values, log-spaced (for the log-log plot)."""
    if len(fpr) <= _ROC_POINTS:
        return fpr, tpr
    smallest = max(float(fpr[fpr > 0].min()) if (fpr > 0).any() else 1e-5, 1e-6)
    grid = np.unique(np.concatenate([[0.0], np.geomspace(smallest, 1.0, _ROC_POINTS - 1)]))
    index = np.searchsorted(fpr, grid, side="right") - 1
    return fpr[index], tpr[index]


def _interval(resamples: np.ndarray, confidence_level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - confidence_level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(resamples, alpha, axis=0), np.nanquantile(resamples, 1 - alpha, axis=0)


def _risk(scores: np.ndarray, non: np.ndarray) -> np.ndarray:
    """Share of non-member scores below each score, ties 1/2."""
    ordered = np.sort(non)
    below = np.searchsorted(ordered, scores, side="left")
    tied = np.searchsorted(ordered, scores, side="right") - below
    return (below + 0.5 * tied) / max(len(ordered), 1)


@dataclasses.dataclass(frozen=True, eq=False)
class MembershipAttackResult(Result):
    """What a membership attack achieves, overall and per group.

    Attributes
    ----------
    overall : Series
        ``auc``, ``advantage``, ``tpr_at_<100 x fpr>_fpr`` for each FPR level, ``n_members``,
        ``n_nonmembers``.
    overall_ci : DataFrame or None
        Rows: the metrics; columns ``lower``, ``upper`` (percentile bootstrap).
    by_group : DataFrame or None
        Rows ``(feature, group)`` as the grouped table; the metrics, ``n_members``,
        ``n_nonmembers`` and ``small`` (fewer than ``min_group_size`` of either).
    ci : DataFrame or None
        Intervals of ``by_group``: columns ``(metric, "lower" | "upper")``.
    risk : ndarray of shape (n_members + n_nonmembers,)
        Per-example risk in [0, 1], members first: the share of non-member scores below the
        example's score (ties 1/2).
    risk_table : GroupedMetrics or None
        The members' ``mean:risk`` per group and intersection (the grouped table).
    roc : DataFrame
        Columns ``feature``, ``group``, ``fpr``, ``tpr``: the ROC curve overall
        (``feature == "overall"``) and per group of each single feature, at most 400 points each.
    metrics : tuple of str
    params : dict
    """

    overall: pd.Series
    overall_ci: pd.DataFrame | None
    by_group: pd.DataFrame | None
    ci: pd.DataFrame | None
    risk: np.ndarray = dataclasses.field(repr=False)
    risk_table: Any
    roc: pd.DataFrame = dataclasses.field(repr=False)
    metrics: tuple[str, ...]
    params: dict[str, Any]

    @property
    def auc(self) -> float:
        return float(self.overall["auc"])

    @property
    def advantage(self) -> float:
        return float(self.overall["advantage"])

    def tpr_at_fpr(self, fpr: float) -> float:
        """The overall TPR at ``fpr`` (one of ``params["fpr_levels"]``)."""
        key = tpr_key(fpr)
        if key not in self.overall:
            raise AssayInputError(f"'fpr' must be one of the evaluated levels {self.params['fpr_levels']}. "
                                  f"Got {fpr!r}.")
        return float(self.overall[key])

    def worst_group(self, metric: str = "advantage", *, include_small: bool = False) -> pd.DataFrame:
        """Per feature (and intersection), the group where ``metric`` is highest (most exposed)."""
        if self.by_group is None:
            raise AssayInputError("worst_group needs 'sensitive_features' in evaluate_attack.")
        if metric not in self.metrics:
            raise AssayInputError(f"'metric' must be one of {list(self.metrics)}. Got {metric!r}.")
        table = self.by_group if include_small else self.by_group[~self.by_group["small"]]
        rows = []
        for feature, part in table.groupby(level="feature", sort=False):
            values = part[metric].dropna()
            if len(values):
                label = values.idxmax()[1]
                rows.append({"feature": feature, "group": label, metric: float(values.max()),
                             "gap": float(values.max() - values.min())})
        return pd.DataFrame(rows, columns=["feature", "group", metric, "gap"]).set_index("feature")

    def to_frame(self) -> pd.DataFrame:
        overall = pd.DataFrame([self.overall], index=pd.MultiIndex.from_tuples([("overall", "overall")],
                                                                               names=["feature", "group"]))
        if self.by_group is None:
            return overall
        return pd.concat([overall, self.by_group.drop(columns="small")])


def _check_scores(scores: Any, name: str) -> np.ndarray:
    arr = as_array(scores, name=name, ndim=1, dtype=np.float64)
    if not len(arr):
        raise AssayInputError(f"'{name}' must hold at least one score. Got an empty array.")
    return arr


def _check_fpr_levels(fpr_levels: Any) -> tuple[float, ...]:
    try:
        levels = tuple(float(f) for f in fpr_levels)
    except (TypeError, ValueError):
        levels = ()
    if not levels or not all(0.0 < f < 1.0 for f in levels):
        raise AssayInputError(f"'fpr_levels' of {_OWNER} must be a non-empty sequence of numbers in (0, 1). "
                              f"Got {fpr_levels!r}.")
    return levels


def evaluate_attack(
    member_scores: Any,
    nonmember_scores: Any,
    sensitive_features: Any = None,
    *,
    fpr_levels: Sequence[float] = (0.001, 0.01),
    intersections: bool = True,
    min_group_size: int = 30,
    n_boot: int = 200,
    confidence_level: float = 0.95,
    random_state: Any = None,
) -> MembershipAttackResult:
    """AUC, membership advantage and TPR at low FPR of an attack, with intervals, overall and per group.

    Parameters
    ----------
    member_scores : array-like of shape (n_members,)
        Attack scores of training-set members (higher = more likely a member).
    nonmember_scores : array-like of shape (n_nonmembers,)
        Attack scores of non-members.
    sensitive_features : Series, DataFrame, dict or array of length n_members + n_nonmembers, optional
        The groups of the rows, members first then non-members (as ``np.concatenate``).
    fpr_levels : sequence of float in (0, 1)
        FPRs at which the TPR is reported (default 0.1% and 1%).
    intersections, min_group_size : as :func:`assay.metrics.evaluate_groups`
    n_boot : int >= 0
        Bootstrap resamples (members and non-members resampled separately); 0: no intervals.
    confidence_level : float in (0, 1)
    random_state : None, int or Generator

    Returns
    -------
    MembershipAttackResult
    """
    member = _check_scores(member_scores, "member_scores")
    non = _check_scores(nonmember_scores, "nonmember_scores")
    levels = _check_fpr_levels(fpr_levels)
    check_scalar(n_boot, "n_boot", owner=_OWNER, kind=(int, np.integer), low=0)
    check_scalar(min_group_size, "min_group_size", owner=_OWNER, kind=(int, np.integer), low=1)
    check_scalar(confidence_level, "confidence_level", owner=_OWNER, low=0, high=1, closed="neither")
    rng = check_random_state(random_state, name="random_state")
    names = _metric_names(levels)
    point, resamples, fpr, tpr = _scores_metrics(member, non, levels, n_boot, rng)
    overall = pd.Series({**dict(zip(names, point)), "n_members": len(member), "n_nonmembers": len(non)})
    overall_ci = None
    if n_boot:
        low, high = _interval(resamples, confidence_level)
        overall_ci = pd.DataFrame({"lower": low, "upper": high}, index=list(names))
    sample_fpr, sample_tpr = _roc_sample(fpr, tpr)
    roc_parts = [pd.DataFrame({"feature": "overall", "group": "overall", "fpr": sample_fpr, "tpr": sample_tpr})]
    risk = _risk(np.concatenate([member, non]), non)
    by_group = ci = risk_table = None
    if sensitive_features is not None:
        n_total = len(member) + len(non)
        try:
            groups = make_groups(sensitive_features, intersections, n_samples=n_total)
        except AssayInputError as exc:
            raise AssayInputError(f"'sensitive_features' of {_OWNER} must have one row per score, members first "
                                  f"({len(member)} + {len(non)} = {n_total} rows): {exc}") from None
        is_member = np.zeros(n_total, dtype=bool)
        is_member[:len(member)] = True
        pooled = np.concatenate([member, non])
        rows, index, lows, highs, undefined = [], [], [], [], []
        for grouping in groups:
            for code, label in enumerate(grouping.label_strings):
                in_group = grouping.codes == code
                g_mem, g_non = pooled[in_group & is_member], pooled[in_group & ~is_member]
                g_point, g_res, g_fpr, g_tpr = _scores_metrics(g_mem, g_non, levels, n_boot, rng)
                if not len(g_mem) or not len(g_non):
                    undefined.append(f"{grouping.name}={label}")
                rows.append({**dict(zip(names, g_point)), "n_members": len(g_mem), "n_nonmembers": len(g_non),
                             "small": min(len(g_mem), len(g_non)) < min_group_size})
                index.append((grouping.name, label))
                if n_boot:
                    g_low, g_high = _interval(g_res, confidence_level)
                    lows.append(g_low)
                    highs.append(g_high)
                if len(grouping.features) == 1 and len(g_mem) and len(g_non):
                    s_fpr, s_tpr = _roc_sample(g_fpr, g_tpr)
                    roc_parts.append(pd.DataFrame({"feature": grouping.name, "group": label,
                                                   "fpr": s_fpr, "tpr": s_tpr}))
        if undefined:
            warnings.warn(f"Attack metrics are undefined (NaN) for groups without members or without non-members: "
                          f"{', '.join(undefined[:10])}.", UndefinedMetricWarning, stacklevel=2)
        mi = pd.MultiIndex.from_tuples(index, names=["feature", "group"])
        by_group = pd.DataFrame(rows, index=mi)
        if n_boot:
            columns = pd.MultiIndex.from_product([names, ["lower", "upper"]])
            data = np.stack([np.array(lows), np.array(highs)], axis=-1).reshape(len(index), -1)
            ci = pd.DataFrame(data, index=mi, columns=columns)
        from ..metrics.grouped import evaluate_groups

        member_features = _rows(sensitive_features, is_member)
        risk_table = evaluate_groups(values={"risk": risk[:len(member)]}, metrics=["mean:risk"],
                                     sensitive_features=member_features, intersections=intersections,
                                     min_group_size=min_group_size, n_boot=n_boot,
                                     confidence_level=confidence_level, random_state=random_state)
    params = {"fpr_levels": list(levels), "n_boot": n_boot, "confidence_level": confidence_level,
              "random_state": random_state if isinstance(random_state, (int, np.integer, type(None))) else None,
              "intersections": bool(intersections), "min_group_size": min_group_size}
    return MembershipAttackResult(overall=overall, overall_ci=overall_ci, by_group=by_group, ci=ci, risk=risk,
                                  risk_table=risk_table, roc=pd.concat(roc_parts, ignore_index=True),
                                  metrics=names, params=params)


def _rows(sensitive_features: Any, mask: np.ndarray) -> Any:
    """The rows of ``sensitive_features`` where ``mask`` (pandas by position)."""
    if isinstance(sensitive_features, (pd.DataFrame, pd.Series)):
        return sensitive_features.iloc[np.flatnonzero(mask)].reset_index(drop=True)
    if isinstance(sensitive_features, dict):
        return {k: np.asarray(v)[mask] for k, v in sensitive_features.items()}
    return np.asarray(sensitive_features)[mask]


def attack_report(scores: Any, is_member: Any, sensitive_features: Any = None, **kwargs: Any
                  ) -> MembershipAttackResult:
    """:func:`evaluate_attack` from one score per row and a member mask (``sensitive_features`` in row order)."""
    arr = _check_scores(scores, "scores")
    mask = as_array(is_member, name="is_member", ndim=1)
    if len(mask) != len(arr):
        raise AssayInputError(f"'is_member' must have one entry per score ({len(arr)}). Got {len(mask)} entries.")
    if mask.dtype != bool:
        if not np.isin(mask, [0, 1]).all():
            raise AssayInputError(f"'is_member' must be booleans (or 0/1). Got {describe(is_member)}.")
        mask = mask.astype(bool)
    if mask.all() or not mask.any():
        raise AssayInputError("'is_member' must mark at least one member and one non-member. "
                              f"Got {int(mask.sum())} members of {len(mask)} rows.")
    order = np.concatenate([np.flatnonzero(mask), np.flatnonzero(~mask)])
    features = None if sensitive_features is None else _reorder(sensitive_features, order, len(arr))
    return evaluate_attack(arr[mask], arr[~mask], features, **kwargs)


def _reorder(sensitive_features: Any, order: np.ndarray, n: int) -> Any:
    if isinstance(sensitive_features, (pd.DataFrame, pd.Series)):
        if len(sensitive_features) != n:
            raise AssayInputError(f"'sensitive_features' must have one row per score ({n}). "
                                  f"Got {len(sensitive_features)} rows.")
        return sensitive_features.iloc[order].reset_index(drop=True)
    if isinstance(sensitive_features, dict):
        return {k: _reorder(np.asarray(v), order, n) for k, v in sensitive_features.items()}
    arr = np.asarray(sensitive_features)
    if len(arr) != n:
        raise AssayInputError(f"'sensitive_features' must have one row per score ({n}). Got {len(arr)} rows.")
    return arr[order]
