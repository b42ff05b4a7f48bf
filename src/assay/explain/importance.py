"""Global importance: permutation importance, mean |attribution|, and attributions per sensitive group.

* :func:`permutation_importance`: the drop of a score when a column (or a group of columns) is
  shuffled, with repeats and t-intervals; the same permutations as scikit-learn's
  ``permutation_importance`` for the same int ``random_state``, so equal values.
* :func:`mean_abs_attribution`: mean ``|attribution|`` per feature with a normal interval.
* :func:`group_attributions`: mean ``|attribution|`` per feature, per sensitive group and
  intersection, with bootstrap intervals (:func:`assay.metrics.evaluate_groups`), and the
  features whose importance differs most between groups (gap, its interval, Welch's t-test).
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter, wrap
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import (
    check_consistent_length,
    check_option,
    check_scalar,
    describe,
)
from ._base import Attribution
from .shapley import scores

__all__ = ["GroupAttributions", "PermutationImportance", "group_attributions", "mean_abs_attribution",
           "permutation_importance"]

SCORINGS = ("accuracy", "neg_log_loss", "roc_auc")


def _score(scoring: Any, y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Score of each of ``proba``'s leading copies: ``proba (r, n, k)`` -> ``(r,)``; higher is better."""
    if callable(scoring):
        return np.array([float(scoring(y, p)) for p in proba])
    index = np.searchsorted(classes, y) if np.isin(y, classes).all() else None
    if index is None:
        raise AssayInputError(f"'y' holds labels the model does not know; its classes are {list(classes)[:10]}.")
    if scoring == "accuracy":
        return (proba.argmax(2) == index[None]).mean(1)
    if scoring == "neg_log_loss":
        p = np.clip(proba[:, np.arange(len(y)), index], 1e-15, 1)
        return np.log(p).mean(1)
    if proba.shape[2] != 2:
        raise AssayInputError(f"scoring='roc_auc' needs a binary model; this one has {proba.shape[2]} classes.")
    from scipy.stats import rankdata

    pos = index == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        raise AssayInputError("scoring='roc_auc' needs both classes in 'y'.")
    ranks = rankdata(proba[:, :, 1], axis=1)
    return (ranks[:, pos].sum(1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclasses.dataclass(frozen=True, eq=False)
class PermutationImportance(Result):
    """Permutation importance of ``d`` features (or feature groups) over ``r`` repeats.

    ``importances (d, r)``: baseline score minus the score with the feature shuffled;
    ``importances_mean``, ``importances_std`` (ddof=0, as scikit-learn), ``lower``/``upper``:
    t-interval of the mean over the repeats at ``confidence_level``.
    """

    feature_names: tuple[str, ...]
    importances: np.ndarray
    importances_mean: np.ndarray
    importances_std: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    baseline_score: float
    scoring: str
    confidence_level: float

    def to_frame(self) -> pd.DataFrame:
        """One row per feature, most important first: mean, std, lower, upper."""
        frame = pd.DataFrame({"feature": list(self.feature_names), "importance": self.importances_mean,
                              "std": self.importances_std, "lower": self.lower, "upper": self.upper})
        return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _permutations(random_state: Any, n: int, n_repeats: int) -> np.ndarray:
    """scikit-learn's: one seed drawn from ``random_state``; repeat ``r`` composes the first ``r`` shuffles."""
    if isinstance(random_state, np.random.RandomState):
        state = random_state
    elif random_state is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        state = np.random.RandomState(random_state)
    else:
        raise AssayInputError(f"'random_state' of permutation_importance must be None, an int or a numpy RandomState "
                              f"(scikit-learn's permutations). Got {describe(random_state)}.")
    shuffler = np.random.RandomState(state.randint(np.iinfo(np.int32).max + 1))
    index, current, out = np.arange(n), np.arange(n), np.empty((n_repeats, n), dtype=np.int64)
    for r in range(n_repeats):  # scikit-learn shuffles the already shuffled column again
        shuffler.shuffle(index)
        current = current[index]
        out[r] = current
    return out


def permutation_importance(model: Any, X: Any, y: Any, *, scoring: Any = "accuracy", n_repeats: int = 5,
                           feature_groups: dict | None = None, random_state: Any = None,
                           confidence_level: float = 0.95, batch_size: int | None = None) -> PermutationImportance:
    """Drop of ``scoring`` when each column (or group of columns, shuffled together) is permuted.

    Parameters
    ----------
    model : anything :func:`assay.wrap` accepts (classifiers), or an adapter.
    X : DataFrame or 2-D array (n, d); y : labels (n,)
    scoring : "accuracy", "neg_log_loss", "roc_auc" (binary) or callable ``(y, proba (n, k)) -> float``
    n_repeats : int >= 1, default 5
    feature_groups : dict name -> list of columns (DataFrame) or column indices (array), optional
    random_state : None, int or numpy RandomState (the permutations are scikit-learn's for an int)
    confidence_level : float in (0, 1)
    batch_size : int, optional
        Rows per model call (at least one shuffled copy of ``X``); never changes the values.
    """
    from scipy.stats import t as student

    check_scalar(n_repeats, "n_repeats", owner="permutation_importance", kind=numbers.Integral, low=1)
    check_scalar(confidence_level, "confidence_level", owner="permutation_importance", low=0, high=1,
                 closed="neither")
    if not callable(scoring):
        check_option(scoring, "scoring", owner="permutation_importance", options=SCORINGS)
    adapter = model if isinstance(model, ModelAdapter) else wrap(model, cache=False)
    frame = isinstance(X, pd.DataFrame)
    if not frame:
        X = np.asarray(X)
        if X.ndim != 2 or len(X) == 0:
            raise AssayInputError(f"'X' must be a DataFrame or a 2-D array with rows. Got {describe(X)}.")
    y = np.asarray(y)
    check_consistent_length(X=X, y=y)
    columns = [str(c) for c in X.columns] if frame else [f"x{j}" for j in range(X.shape[1])]
    if feature_groups is None:
        groups = {c: [j] for j, c in enumerate(columns)}
    else:
        if not isinstance(feature_groups, dict) or not feature_groups:
            raise AssayInputError(f"'feature_groups' must be a non-empty dict name -> columns. "
                                  f"Got {describe(feature_groups)}.")
        groups = {}
        for name, members in feature_groups.items():
            members = [members] if isinstance(members, (str, numbers.Integral)) else list(members)
            idx = [columns.index(str(c)) if str(c) in columns else (int(c) if not frame and isinstance(
                c, numbers.Integral) and 0 <= c < len(columns) else None) for c in members]
            if None in idx or not idx:
                raise AssayInputError(f"'feature_groups' entry {name!r} names columns {members!r} that are not in "
                                      f"'X' ({columns[:8]}...).")
            groups[str(name)] = idx
    n = len(y)
    perms = _permutations(random_state, n, int(n_repeats))
    proba = scores(adapter, X, "probabilities")
    classes = adapter.classes_
    baseline = float(_score(scoring, y, proba[None], classes)[0])
    size = adapter.batch_size if batch_size is None else int(check_scalar(
        batch_size, "batch_size", owner="permutation_importance", kind=numbers.Integral, low=1))
    per_call = max(1, size // n)
    result = np.empty((len(groups), int(n_repeats)))
    for g, idx in enumerate(groups.values()):
        columns_g = [_codes(X.iloc[:, j].to_numpy() if frame else X[:, j]) for j in idx]
        for a in range(0, int(n_repeats), per_call):
            chunk = perms[a:a + per_call]
            # a row whose shuffled values equal its own is the unshuffled row: its probabilities are the
            # baseline's, so only the changed rows go through the model (the same values, fewer evaluations)
            changed = np.zeros(chunk.shape, dtype=bool)
            for codes in columns_g:
                changed |= codes[chunk] != codes[None]
            repeat, row = np.nonzero(changed)
            p = np.repeat(proba[None], len(chunk), axis=0)
            if len(row):
                source = chunk[repeat, row]
                if frame:
                    Xp = X.iloc[row].reset_index(drop=True)
                    for j in idx:
                        Xp.isetitem(j, X.iloc[:, j].array.take(source))
                else:
                    Xp = X[row]
                    Xp[:, idx] = X[source][:, idx]
                p[repeat, row] = scores(adapter, Xp, "probabilities")
            result[g, a:a + len(chunk)] = baseline - _score(scoring, y, p, classes)
    mean, std = result.mean(1), result.std(1)
    r = result.shape[1]
    half = student.ppf(0.5 + confidence_level / 2, r - 1) * result.std(1, ddof=1) / np.sqrt(r) if r > 1 else \
        np.full(len(groups), np.nan)
    return PermutationImportance(tuple(groups), result, mean, std, mean - half, mean + half, baseline,
                                 scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "callable"),
                                 float(confidence_level))


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of a column's values: equal values (missing ones, None / NaN / NA, together) equal codes."""
    return pd.factorize(values, use_na_sentinel=False)[0]


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise ``a == b`` (broadcast) with missing values equal to each other."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    codes = _codes(np.concatenate([a.ravel(), b.ravel()]))
    return (codes[:a.size] == codes[a.size:]).reshape(a.shape)


def _tabular(attribution: Any, owner: str) -> tuple[np.ndarray, list[str]]:
    if isinstance(attribution, Attribution):
        values, names = attribution.values, attribution.feature_names
    elif isinstance(attribution, pd.DataFrame):
        values, names = attribution.to_numpy(dtype=np.float64), [str(c) for c in attribution.columns]
    else:
        values, names = np.asarray(attribution), None
    if values.ndim != 2 or values.dtype.kind not in "biuf" or len(values) == 0:
        raise AssayInputError(f"'attribution' of {owner} must be tabular attributions (n, features): an Attribution, "
                              f"a DataFrame or a 2-D array. Got {describe(attribution)}.")
    names = list(names) if names else [f"x{j}" for j in range(values.shape[1])]
    return values.astype(np.float64), names


def mean_abs_attribution(attribution: Any, *, confidence_level: float = 0.95) -> pd.DataFrame:
    """Mean ``|attribution|`` per feature, most important first, with a normal interval (mean +- z * sem)."""
    from scipy.stats import norm

    check_scalar(confidence_level, "confidence_level", owner="mean_abs_attribution", low=0, high=1, closed="neither")
    values, names = _tabular(attribution, "mean_abs_attribution")
    a = np.abs(values)
    mean = a.mean(0)
    sem = a.std(0, ddof=1) / np.sqrt(len(a)) if len(a) > 1 else np.full(a.shape[1], np.nan)
    z = norm.ppf(0.5 + confidence_level / 2)
    frame = pd.DataFrame({"feature": names, "mean_abs": mean, "lower": mean - z * sem, "upper": mean + z * sem})
    return frame.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)


@dataclasses.dataclass(frozen=True, eq=False)
class GroupAttributions(Result):
    """Mean ``|attribution|`` of each feature per sensitive group (and intersection).

    ``table``: a :class:`~assay.metrics.GroupedMetrics` whose metrics are the feature names
    (overall, per group, bootstrap intervals). ``differences``: one row per (sensitive feature,
    feature): ``high_group``/``low_group`` (largest / smallest mean), ``gap``, its interval
    ``gap_lower``/``gap_upper`` (bootstrap, from the same resamples; NaN without ``n_boot``),
    ``p_value`` (Welch's t-test of the two groups' |attributions|), and ``rank_high``/``rank_low``
    (the feature's rank by mean |attribution| in each group, 1 = most important); sorted by gap.
    """

    table: Any
    differences: pd.DataFrame
    absolute: bool


def group_attributions(attribution: Any, sensitive_features: Any, *, absolute: bool = True, n_boot: int = 200,
                       confidence_level: float = 0.95, intersections: bool = True, min_group_size: int = 30,
                       random_state: Any = None) -> GroupAttributions:
    """Per-group importance: the mean (|)attribution(|) of each feature by group, with intervals and a test.

    ``sensitive_features``: as :func:`assay.metrics.evaluate_groups` (one row per explained row).
    """
    from scipy.stats import ttest_ind

    from ..core.validation import check_sensitive_features
    from ..metrics import evaluate_groups

    values, names = _tabular(attribution, "group_attributions")
    used = np.abs(values) if absolute else values
    keys = {f"v{j}": name for j, name in enumerate(names)}
    table = evaluate_groups(sensitive_features=sensitive_features, values={k: used[:, j] for j, k in enumerate(keys)},
                            metrics=[f"mean:{k}" for k in keys], intersections=intersections, n_boot=n_boot,
                            confidence_level=confidence_level, min_group_size=min_group_size,
                            random_state=random_state)
    table = table.rename_metrics({f"mean:{k}": name for k, name in keys.items()})
    sensitive = check_sensitive_features(sensitive_features, n_samples=len(values))
    gaps = table.difference()
    gap_ci = table.difference_ci() if n_boot else None
    rows = []
    for feature in table.features:
        part = table.by_group.xs(feature, level="feature")
        if len(part) < 2:
            continue
        ranks = part[names].rank(axis=1, ascending=False, method="min")
        codes = _group_codes(sensitive, feature)
        for name in names:
            hi, lo = part[name].idxmax(), part[name].idxmin()
            col = used[:, names.index(name)]
            a, b = col[codes == str(hi)], col[codes == str(lo)]
            p = float(ttest_ind(a, b, equal_var=False).pvalue) if len(a) > 1 and len(b) > 1 and (
                a.std() > 0 or b.std() > 0) else np.nan
            rows.append({"sensitive_feature": feature, "feature": name, "high_group": str(hi), "low_group": str(lo),
                         "high": float(part.loc[hi, name]), "low": float(part.loc[lo, name]),
                         "gap": float(gaps.loc[feature, name]),
                         "gap_lower": float(gap_ci.loc[feature, (name, "lower")]) if gap_ci is not None else np.nan,
                         "gap_upper": float(gap_ci.loc[feature, (name, "upper")]) if gap_ci is not None else np.nan,
                         "p_value": p, "rank_high": int(ranks.loc[hi, name]), "rank_low": int(ranks.loc[lo, name])})
    differences = pd.DataFrame(rows).sort_values("gap", ascending=False, kind="stable").reset_index(drop=True)
    return GroupAttributions(table, differences, bool(absolute))


def _group_codes(sensitive: pd.DataFrame, feature: str) -> np.ndarray:
    """Each row's group label in ``feature`` (a column, or an intersection ``"a x b"``), as the table writes it."""
    if feature in sensitive.columns:
        return sensitive[feature].astype(str).to_numpy()
    parts = feature.split(" x ")
    out = sensitive[parts[0]].astype(str).to_numpy().astype(object)
    for part in parts[1:]:
        out = out + " x " + sensitive[part].astype(str).to_numpy()
    return out.astype(str)
