"""What one feature alone reveals: the target (leakage) and the sensitive attributes (proxies).

Both checks score each feature by the ROC AUC of the feature alone, computed with
:func:`assay.metrics.scores.roc_auc_by_group` (exact, ties counting one half):

* **numeric** features: the larger of two AUCs. ``auc_monotone``: the raw value is the score,
  orientation-free, ``max(AUC, 1 - AUC)`` (a feature that is large for negatives predicts as
  well as one that is large for positives); missing values are placed below all values and,
  separately, above them, and the better placement is kept. ``auc_encoded``: the value cut
  into 20 quantile bins (missing values a bin of their own), then encoded out of fold as a
  categorical feature (below) -- this catches relations that are not monotone (a middle age
  group, a leak hidden in ``|x|``).
* **categorical** features (missing values are a category of their own): out-of-fold target
  encoding. Rows are split into ``cv`` folds stratified by the target (seeded); each row is
  encoded by the frequency of each class among the rows of its category in the *other* folds
  (the other folds' overall frequencies for a category they lack), and the AUC is computed on
  these out-of-fold encodings. A row never sees its own label, so a column of unique IDs
  encodes every row to the prior and scores about 0.5, while a category that truly determines
  the target still scores about 1.

For a target (or sensitive attribute) with ``k > 2`` classes the AUC is the one-vs-rest macro
average over classes (each class orientation-free for numeric features).

:func:`single_feature_predictiveness` needs a binary target. A feature whose AUC alone is at
least ``threshold`` (default 0.9) is flagged ``suspicious``: such a feature is often a leak
(recorded after the outcome, or derived from it) -- or simply a very strong predictor; a
person has to decide which.

:func:`proxy_features` also reports Cramér's V (bias-corrected, Bergsma 2013) between the
feature (numeric ones cut into 10 quantile bins, missing values a bin of their own) and the
attribute: a symmetric effect size that, thanks to the correction, does not reward
high-cardinality columns. Features are flagged ``strong`` proxies on the AUC (default 0.8).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..core.result import Result
from ..core.validation import SEED_NOT_GIVEN, check_random_state, check_scalar, renamed_seed
from ._common import (
    NUMERIC,
    categorical_auc,
    check_frame,
    column_kinds,
    contingency,
    cramers_v,
    joint_codes,
    numeric_auc,
    numeric_values,
    plain,
    quantile_bins,
    sensitive_frame,
    stratified_folds,
    target_codes,
)

DEFAULT_LEAKAGE_THRESHOLD = 0.9
"""Single-feature AUC at or above which a feature is flagged as a suspected leak."""

DEFAULT_PROXY_THRESHOLD = 0.8
"""Single-feature AUC for a sensitive attribute at or above which a feature is a strong proxy."""

N_BINS = 20
"""Quantile bins of numeric features for their out-of-fold encoding and Cramér's V."""


@dataclasses.dataclass(frozen=True, eq=False)
class PredictivenessResult(Result):
    """How well each feature alone predicts a binary target.

    Attributes
    ----------
    table : DataFrame
        Index ``feature``; columns ``kind`` ("numeric"/"categorical"), ``n_unique`` (distinct
        non-missing values), ``n_missing``, ``auc`` (the score flagged: ``auc_encoded`` for
        categorical features, the larger of the two for numeric ones), ``auc_monotone`` (raw
        value, orientation-free; NaN for categorical), ``auc_encoded`` (out-of-fold target
        encoding), ``direction`` (numeric features: "increasing" if larger values go with
        ``positive_label``, "decreasing" otherwise; categorical: "") and ``suspicious``
        (``auc >= threshold``). Rows sorted by decreasing AUC.
    threshold : float
    n_samples : int
    params : dict
        ``cv``, ``random_state``, ``labels`` (the two target labels), ``positive_label``.
    """

    table: pd.DataFrame
    threshold: float
    n_samples: int
    params: dict[str, Any]


    @property
    def suspicious_features(self) -> list[str]:
        """Features flagged ``suspicious``, by decreasing AUC."""
        return list(self.table.index[self.table["suspicious"].to_numpy(bool)])

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


@dataclasses.dataclass(frozen=True, eq=False)
class ProxyResult(Result):
    """How well each feature alone predicts each sensitive attribute.

    Attributes
    ----------
    table : DataFrame
        One row per (feature, sensitive attribute): columns ``sensitive_feature``, ``feature``,
        ``kind``, ``auc``, ``auc_monotone`` and ``auc_encoded`` (as in
        :class:`PredictivenessResult`; one-vs-rest macro averages for attributes with more than
        two groups), ``cramers_v`` (bias-corrected) and ``strong`` (``auc >= threshold``).
        Sorted by attribute (in the given order), then decreasing AUC.
    sensitive_in_X : tuple of str
        Sensitive attributes that are also columns of ``X`` (by name); they are left out of
        the features scanned.
    threshold : float
    n_samples : int
    params : dict
        ``cv``, ``random_state``, ``n_bins``, ``features`` (scanned), ``sensitive_features``.
    """

    table: pd.DataFrame
    sensitive_in_X: tuple[str, ...]
    threshold: float
    n_samples: int
    params: dict[str, Any]


    def top(self, sensitive_feature: str, n: int = 5) -> pd.DataFrame:
        """The ``n`` features that best predict ``sensitive_feature``."""
        part = self.table[self.table["sensitive_feature"] == sensitive_feature]
        return part.head(n).reset_index(drop=True)

    @property
    def strong_proxies(self) -> pd.DataFrame:
        """Rows flagged ``strong``."""
        return self.table[self.table["strong"].to_numpy(bool)].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _seed_param(seed: Any) -> Any:
    return seed if isinstance(seed, (int, type(None))) else str(seed)


def _prepare(X: pd.DataFrame, kinds: dict[str, str]) -> list[dict[str, Any]]:
    """Per feature, what scoring needs whatever the target: codes (categories, or quantile bins
    of numeric values, missing a code of its own), raw numeric values, and descriptive counts."""
    prepared = []
    for column, kind in kinds.items():
        item: dict[str, Any] = {"feature": column, "kind": kind, "values": None}
        if kind == NUMERIC:
            values = numeric_values(X[column])
            item["values"] = values
            item["codes"], item["n_codes"] = quantile_bins(values, N_BINS)
            item["n_unique"] = int(pd.unique(values[~np.isnan(values)]).size)
            item["n_missing"] = int(np.isnan(values).sum())
        else:
            (codes,), uniques, missing_code = joint_codes([X[column]], kind)
            item["codes"], item["n_codes"] = codes, missing_code + 1
            item["n_unique"] = len(uniques)
            item["n_missing"] = int((codes == missing_code).sum())
        prepared.append(item)
    return prepared


def _feature_scores(prepared: list[dict[str, Any]], t_codes: np.ndarray, k: int,
                    folds: np.ndarray, cv: int, with_cramers_v: bool) -> list[dict[str, Any]]:
    rows = []
    for item in prepared:
        row: dict[str, Any] = {
            "feature": item["feature"], "kind": item["kind"],
            "n_unique": item["n_unique"], "n_missing": item["n_missing"],
            "auc_monotone": np.nan, "direction": "",
        }
        if item["values"] is not None:
            row["auc_monotone"], direction = numeric_auc(item["values"], t_codes, k)
            row["direction"] = "increasing" if direction > 0 else "decreasing"
        codes, n_codes = item["codes"], item["n_codes"]
        row["auc_encoded"] = categorical_auc(codes, n_codes, t_codes, k, folds, cv)
        row["auc"] = float(np.nanmax([row["auc_monotone"], row["auc_encoded"]]))
        if with_cramers_v:
            row["cramers_v"] = cramers_v(contingency(codes, n_codes, t_codes, k))
        rows.append(row)
    return rows


def _check_common(owner: str, cv: Any, threshold: Any) -> None:
    check_scalar(cv, "cv", owner=owner, kind=(int, np.integer), low=2)
    check_scalar(threshold, "threshold", owner=owner, low=0.5, high=1.0)


def single_feature_predictiveness(
    X: Any,
    y: Any,
    *,
    cv: int = 5,
    random_state: Any = 0,
    threshold: float = DEFAULT_LEAKAGE_THRESHOLD,
    seed: Any = SEED_NOT_GIVEN,
) -> PredictivenessResult:
    """AUC of each feature alone for a **binary** target; flags suspected leaks.

    Parameters
    ----------
    X : DataFrame or 2-D array
        Features (numeric and categorical; missing values allowed).
    y : array-like of shape (n,)
        Binary target: exactly two distinct labels, no missing values.
    cv : int, default 5
        Folds of the out-of-fold target encoding of categorical features.
    random_state : int, Generator or None, default 0
        Seeds the folds. ``seed=`` is a deprecated alias.
    threshold : float in [0.5, 1], default 0.9
        Features with ``auc >= threshold`` are flagged ``suspicious``.

    Returns
    -------
    PredictivenessResult
    """
    owner = "single_feature_predictiveness"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    X = check_frame(X, name="X", min_rows=2)
    t_codes, labels = target_codes(y, name="y", n_samples=len(X))
    _check_common(owner, cv, threshold)
    rng = check_random_state(random_state, name="random_state")
    folds = stratified_folds(t_codes, int(cv), rng)
    prepared = _prepare(X, column_kinds(X))
    rows = _feature_scores(prepared, t_codes, 2, folds, int(cv), with_cramers_v=False)
    table = pd.DataFrame(rows).set_index("feature")
    table = table[["kind", "n_unique", "n_missing", "auc", "auc_monotone", "auc_encoded", "direction"]]
    table["suspicious"] = table["auc"].to_numpy() >= threshold
    table = table.sort_values("auc", ascending=False, kind="stable")
    return PredictivenessResult(
        table=table,
        threshold=float(threshold),
        n_samples=len(X),
        params={
            "cv": int(cv),
            "random_state": _seed_param(random_state),
            "labels": [plain(v) for v in labels],
            "positive_label": plain(labels[1]),
        },
    )


def proxy_features(
    X: Any,
    sensitive_features: Any,
    *,
    cv: int = 5,
    random_state: Any = 0,
    threshold: float = DEFAULT_PROXY_THRESHOLD,
    seed: Any = SEED_NOT_GIVEN,
) -> ProxyResult:
    """How well each feature alone predicts each sensitive attribute; flags strong proxies.

    Parameters
    ----------
    X : DataFrame or 2-D array
        Features. Columns named like a sensitive attribute are left out (and listed in
        ``sensitive_in_X``).
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        One column per attribute, at least two groups each, no missing values.
    cv : int, default 5
        Folds of the out-of-fold encoding of categorical features (stratified by attribute).
    random_state : int, Generator or None, default 0
        Seeds the folds. ``seed=`` is a deprecated alias.
    threshold : float in [0.5, 1], default 0.8
        Pairs with ``auc >= threshold`` are flagged ``strong``.

    Returns
    -------
    ProxyResult
    """
    owner = "proxy_features"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    X = check_frame(X, name="X", min_rows=2)
    sf = sensitive_frame(sensitive_features, n_samples=len(X))
    _check_common(owner, cv, threshold)
    rng = check_random_state(random_state, name="random_state")
    in_X = tuple(c for c in sf.columns if c in X.columns)
    features = [c for c in X.columns if c not in sf.columns]
    kinds = {c: k for c, k in column_kinds(X).items() if c in features}
    prepared = _prepare(X, kinds)
    blocks = []
    for attribute in sf.columns:
        t_codes, groups = pd.factorize(sf[attribute].to_numpy(), sort=True)
        t_codes = t_codes.astype(np.int64)
        folds = stratified_folds(t_codes, int(cv), rng)
        rows = _feature_scores(prepared, t_codes, len(groups), folds, int(cv), with_cramers_v=True)
        block = pd.DataFrame(
            rows, columns=["feature", "kind", "auc", "auc_monotone", "auc_encoded", "cramers_v"]
        )
        block.insert(0, "sensitive_feature", attribute)
        blocks.append(block.sort_values("auc", ascending=False, kind="stable"))
    if blocks:
        table = pd.concat(blocks, ignore_index=True)
    else:
        table = pd.DataFrame(columns=[
            "sensitive_feature", "feature", "kind", "auc", "auc_monotone", "auc_encoded", "cramers_v",
        ])
    table["strong"] = table["auc"].to_numpy(np.float64) >= threshold
    return ProxyResult(
        table=table,
        sensitive_in_X=in_X,
        threshold=float(threshold),
        n_samples=len(X),
        params={
            "cv": int(cv),
            "random_state": _seed_param(random_state),
            "n_bins": N_BINS,
            "features": features,
            "sensitive_features": list(sf.columns),
        },
    )
