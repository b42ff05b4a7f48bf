"""Counterfactual fairness tests: flipping only the sensitive attribute, and the cost of recourse per group.

- :func:`sensitive_flip_rate`: change only the sensitive column of every row to each other value
  (and, optionally, its known proxies, resampled from reference rows of that value) and count the
  decisions that change, overall and per group with intervals. A model that neither sees the
  attribute nor the proxies given scores 0.
- :func:`recourse_cost`: for the rows the model rejects, the distance to the nearest favourable
  counterfactual (:class:`~assay.explain.Counterfactuals`), per group with intervals: a group that
  must change more to be accepted is treated worse (Ustun et al. 2019).
"""

from __future__ import annotations

import dataclasses
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from ..core.adapters import uncached_logits, wrap
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import check_random_state, check_scalar, check_sensitive_features, describe
from .counterfactuals import Counterfactuals

__all__ = ["FlipResult", "RecourseResult", "recourse_cost", "sensitive_flip_rate"]


@dataclasses.dataclass(frozen=True, eq=False)
class FlipResult(Result):
    """Decisions that change when only the sensitive attribute (and proxies) change.

    ``rate`` with its Wilson interval ``lower``/``upper`` over ``n`` rows; ``flipped`` (n,) per row;
    ``by_group``: the grouped table's ``mean:flipped`` per group and intersection with bootstrap
    intervals (columns ``flip_rate``, ``flip_rate_lower``, ``flip_rate_upper``, ``count``, ``small``).
    """

    sensitive: str
    proxies: tuple
    rate: float
    lower: float
    upper: float
    n: int
    flipped: np.ndarray
    by_group: pd.DataFrame | None

    def to_frame(self) -> pd.DataFrame:
        overall = pd.DataFrame({"flip_rate": [self.rate], "flip_rate_lower": [self.lower],
                                "flip_rate_upper": [self.upper], "count": [self.n], "small": [False]},
                               index=pd.MultiIndex.from_tuples([("overall", "overall")]))
        return overall if self.by_group is None else pd.concat([overall, self.by_group])


@dataclasses.dataclass(frozen=True, eq=False)
class RecourseResult(Result):
    """Cost of recourse for the rejected rows, per group.

    ``cost`` (n_rejected,) distance to the nearest favourable counterfactual (NaN where none was
    found), ``found`` (n_rejected,), ``rejected`` (n,) bool mask of the rows searched;
    ``by_group``: per group and intersection ``mean_cost`` (over the rows with a counterfactual)
    with bootstrap ``mean_cost_lower``/``mean_cost_upper``, ``found_rate`` (with its interval),
    ``count`` (rejected rows), ``small`` (too few rejected rows, or too few with a counterfactual);
    ``gap``: per sensitive feature, the largest minus the smallest group mean cost (groups not small).
    """

    favorable: Any
    mean_cost: float
    found_rate: float
    cost: np.ndarray
    found: np.ndarray
    rejected: np.ndarray
    by_group: pd.DataFrame
    gap: dict
    counterfactuals: Any

    def to_frame(self) -> pd.DataFrame:
        return self.by_group


def sensitive_flip_rate(model: Any, X: pd.DataFrame, sensitive: str, *, proxies: Any = (),
                        reference: pd.DataFrame | None = None, sensitive_features: Any = None, n_boot: int = 200,
                        random_state: Any = None) -> FlipResult:
    """Fraction of decisions that change when only ``sensitive`` (and ``proxies``) change.

    Parameters
    ----------
    model : any model :func:`assay.wrap` accepts that takes the DataFrame ``X``.
    X : DataFrame holding the column ``sensitive``.
    sensitive : the column whose value is swapped for each other value it takes (in ``X`` or ``reference``).
    proxies : columns that carry the attribute (the data checks' proxy findings): for each swapped
        value they are copied from a random ``reference`` row holding that value.
    reference : rows to resample proxies from (the training frame); None: ``X``.
    sensitive_features : groups for the breakdown (default: ``X[[sensitive]]``).
    n_boot, random_state : bootstrap of the group intervals and the proxies' resampling.
    """
    owner = "sensitive_flip_rate"
    if not isinstance(X, pd.DataFrame) or len(X) == 0:
        raise AssayInputError(f"'X' of {owner} must be a non-empty DataFrame. Got {describe(X)} instead.")
    proxies = list(proxies)
    for name, columns in (("sensitive", [sensitive]), ("proxies", proxies)):
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise AssayInputError(f"'{name}' of {owner} names columns that X does not have: {missing}. X's columns "
                                  f"are {list(map(str, X.columns))[:20]}.")
    check_scalar(n_boot, "n_boot", owner=owner, kind=Integral, low=0)
    reference = X if reference is None else reference
    rng = check_random_state(random_state)
    adapter = wrap(model)
    base = adapter.predict(X)
    values = pd.Index(pd.concat([X[sensitive], reference[sensitive]]).dropna().unique())
    current = X[sensitive].to_numpy(dtype=object)
    variants, owners = [], []
    for value in values:
        rows = np.flatnonzero(pd.isna(current) | (current != value))
        if not len(rows):
            continue
        swapped = X.iloc[rows].copy()
        swapped[sensitive] = pd.Series([value] * len(rows), index=swapped.index).astype(X[sensitive].dtype)
        if proxies:
            donors = np.flatnonzero(reference[sensitive].to_numpy(dtype=object) == value)
            if len(donors):
                picked = reference.iloc[rng.choice(donors, len(rows))]
                for column in proxies:
                    swapped[column] = pd.Series(picked[column].to_numpy(), index=swapped.index).astype(
                        X[column].dtype)
        variants.append(swapped)
        owners.append(rows)
    flipped = np.zeros(len(X), dtype=bool)
    if variants:
        owners_all = np.concatenate(owners)
        predicted = np.asarray(adapter.classes_)[uncached_logits(adapter, pd.concat(variants)).argmax(axis=1)]
        np.logical_or.at(flipped, owners_all, predicted != base[owners_all])
    from ..metrics.intervals import wilson_interval

    lower, upper = wilson_interval(np.array([flipped.sum()]), np.array([len(X)]))
    groups = X[[sensitive]] if sensitive_features is None else sensitive_features
    by_group = _group_means({"flipped": flipped.astype(np.int64)}, groups, len(X), n_boot, random_state,
                            {"flipped": "flip_rate"})
    return FlipResult(sensitive=str(sensitive), proxies=tuple(map(str, proxies)), rate=float(flipped.mean()),
                      lower=float(lower[0]), upper=float(upper[0]), n=len(X), flipped=flipped, by_group=by_group)


def recourse_cost(model: Any, X: pd.DataFrame, *, sensitive_features: Any, favorable: Any = None,
                  counterfactuals: Counterfactuals | None = None, n_boot: int = 200, min_group_size: int = 30,
                  random_state: Any = None) -> RecourseResult:
    """Distance to the nearest favourable counterfactual for every rejected row, per group.

    Parameters
    ----------
    model : a binary model :func:`assay.wrap` accepts that takes the DataFrame ``X``.
    X : DataFrame of applicants.
    sensitive_features : groups (one row per row of ``X``); they are not made immutable here: pass
        ``counterfactuals=Counterfactuals(immutable=[...])`` for that (the audit's check does).
    favorable : the favourable class (default: the model's second class, e.g. 1 or ">50K").
    counterfactuals : the search's parameters (a :class:`Counterfactuals`, its model is replaced).
    n_boot, min_group_size, random_state : group intervals, which groups are small, seeds.
    """
    owner = "recourse_cost"
    if not isinstance(X, pd.DataFrame) or len(X) == 0:
        raise AssayInputError(f"'X' of {owner} must be a non-empty DataFrame. Got {describe(X)} instead.")
    groups = check_sensitive_features(sensitive_features, n_samples=len(X))
    check_scalar(n_boot, "n_boot", owner=owner, kind=Integral, low=0)
    if counterfactuals is not None and not isinstance(counterfactuals, Counterfactuals):
        raise AssayInputError(f"'counterfactuals' of {owner} must be a Counterfactuals instance (its search "
                              f"parameters). Got {describe(counterfactuals)} instead.")
    adapter = wrap(model)
    predicted = adapter.predict(X)  # first: a callable's classes are known after a pass
    classes = np.asarray(adapter.classes_)
    if len(classes) != 2:
        raise AssayInputError(f"'model' of {owner} must be a binary classifier. Got one with {len(classes)} classes.")
    favorable = classes[1] if favorable is None else favorable
    if favorable not in classes.tolist():
        raise AssayInputError(f"'favorable' of {owner} must be one of the model's classes {classes.tolist()}. "
                              f"Got {favorable!r} instead.")
    rejected = predicted != favorable
    search = (counterfactuals or Counterfactuals()).set_params(model=model, desired=favorable)
    if random_state is not None and search.random_state is None:
        search = search.set_params(random_state=random_state)
    cost = np.full(int(rejected.sum()), np.nan)
    found = np.zeros(int(rejected.sum()), dtype=bool)
    result = None
    if rejected.any():
        result = search.generate(X.iloc[np.flatnonzero(rejected)], n=1)
        cost = result.rows["distance"].to_numpy(dtype=float)
        found = result.rows["found"].to_numpy() > 0
    sub = groups.iloc[np.flatnonzero(rejected)].reset_index(drop=True)
    by_group = _group_means({"found": found.astype(np.int64)}, sub, len(sub), n_boot, random_state,
                            {"found": "found_rate"}, min_group_size)
    if by_group is not None:  # mean cost over the rejected rows that found a counterfactual, with its own bootstrap
        costs = _group_means({"cost": cost[found]}, sub[found].reset_index(drop=True), int(found.sum()), n_boot,
                             random_state, {"cost": "mean_cost"}, min_group_size)
        columns = ["mean_cost", "mean_cost_lower", "mean_cost_upper"]
        joined = costs[columns] if costs is not None else pd.DataFrame(columns=columns)
        by_group = pd.concat([joined.reindex(by_group.index), by_group], axis=1)
        by_group["small"] = by_group["small"].astype(bool) | (
            costs["small"].reindex(by_group.index).fillna(True).astype(bool) if costs is not None else True)
    gap = {}
    if by_group is not None:
        shown = by_group[~by_group["small"].astype(bool)]
        for feature, rows in shown.groupby(level=0, sort=False):
            costs = rows["mean_cost"].dropna()
            if len(costs) >= 2:
                gap[str(feature)] = {"gap": float(costs.max() - costs.min()), "worst": str(costs.idxmax()[1]),
                                     "best": str(costs.idxmin()[1]), "ratio": float(costs.max() / costs.min())
                                     if costs.min() > 0 else float("inf")}
    with np.errstate(invalid="ignore"):
        mean_cost = float(np.nanmean(cost[found])) if found.any() else float("nan")
    return RecourseResult(favorable=favorable, mean_cost=mean_cost,
                          found_rate=float(found.mean()) if len(found) else float("nan"), cost=cost, found=found,
                          rejected=rejected, by_group=by_group, gap=gap, counterfactuals=result)


def _group_means(values: dict[str, np.ndarray], groups: Any, n: int, n_boot: int, random_state: Any,
                 names: dict[str, str], min_group_size: int = 30) -> pd.DataFrame | None:
    """``mean:<value>`` per group and intersection with bootstrap intervals, renamed."""
    from ..metrics import evaluate_groups

    if n == 0:
        return None
    table = evaluate_groups(values=values, metrics=[f"mean:{k}" for k in values], sensitive_features=groups,
                            n_boot=n_boot, random_state=random_state, min_group_size=min_group_size)
    out = pd.DataFrame(index=table.by_group.index)
    for key in values:
        name = names.get(key, key)
        out[name] = table.by_group[f"mean:{key}"]
        if table.ci is not None:
            out[f"{name}_lower"] = table.ci[(f"mean:{key}", "lower")]
            out[f"{name}_upper"] = table.ci[(f"mean:{key}", "upper")]
        else:
            out[f"{name}_lower"] = out[f"{name}_upper"] = np.nan
    out["count"] = table.by_group["count"]
    out["small"] = table.by_group["small"]
    return out
