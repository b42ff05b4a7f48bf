"""Multivariate two-sample tests: kernel MMD with a permutation test, and a domain classifier.

Both take two tables with the same columns (DataFrames or 2-D arrays): numeric columns are
standardised by the reference mean and standard deviation (missing values -> 0, the mean), and
categorical ones one-hot encoded on the categories of both (``mmd_test``) or given as category
codes to the classifier (``domain_classifier_test``). Large inputs are subsampled at random to
``max_samples`` rows per side (``random_state``), which the results report.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..core.result import Result
from ..core.validation import check_random_state, check_scalar
from ..data_checks._common import (
    NUMERIC,
    align_columns,
    check_frame,
    column_kinds,
    joint_codes,
    numeric_values,
)


@dataclasses.dataclass(frozen=True, eq=False)
class MMDResult(Result):
    """Kernel two-sample test. ``statistic``: biased MMD^2 with a Gaussian kernel of width
    ``bandwidth`` (median heuristic); ``p_value``: ``(1 + #{permuted >= observed}) / (1 + n_permutations)``;
    ``n_reference`` / ``n_current``: rows used (after subsampling)."""

    statistic: float
    p_value: float
    bandwidth: float
    n_permutations: int
    n_reference: int
    n_current: int


@dataclasses.dataclass(frozen=True, eq=False)
class DomainClassifierResult(Result):
    """Classifier two-sample test. ``auc``: AUROC of a gradient-boosted classifier telling current rows
    (positive) from reference rows, on a held-out 30%; ``p_value``: one-sided Mann-Whitney test of the
    held-out scores (AUC > 0.5); ``importance``: the drop in held-out AUC when each column is permuted
    (the features that drive the difference), largest first."""

    auc: float
    p_value: float
    importance: pd.Series
    n_reference: int
    n_current: int

    def to_frame(self) -> pd.DataFrame:
        return self.importance.rename("auc_drop").to_frame()


def _pair(reference: Any, current: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = check_frame(reference, name="reference", min_rows=2)
    cur = align_columns(ref, check_frame(current, name="current", min_rows=2), reference="reference", name="current")
    return ref, cur


def _subsample(n: int, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, max_samples, replace=False)) if n > max_samples else np.arange(n)


def _encode(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Standardised numeric columns and one-hot categorical ones, as float32 matrices."""
    parts_ref, parts_cur = [], []
    for column, kind in column_kinds(ref).items():
        if kind == NUMERIC:
            r, c = numeric_values(ref[column]), numeric_values(cur[column])
            mean, sd = np.nanmean(r) if np.isfinite(r).any() else 0.0, np.nanstd(r)
            sd = sd if sd > 0 else 1.0
            parts_ref.append(np.nan_to_num((r - mean) / sd)[:, None])
            parts_cur.append(np.nan_to_num((c - mean) / sd)[:, None])
        else:
            (rc, cc), _, missing = joint_codes([ref[column], cur[column]], kind)
            eye = np.eye(missing + 1)
            parts_ref.append(eye[rc])
            parts_cur.append(eye[cc])
    return np.hstack(parts_ref).astype(np.float32), np.hstack(parts_cur).astype(np.float32)


def mmd_test(reference: Any, current: Any, *, n_permutations: int = 200, max_samples: int = 2000,
             bandwidth: float | None = None, random_state: Any = None) -> MMDResult:
    """Maximum mean discrepancy between two tables with a permutation test.

    All permutations are scored at once: with ``a`` the +1/m, -1/n label weights and ``K`` the pooled
    kernel matrix, MMD^2 = ``a' K a``, so ``n_permutations`` permuted weight vectors cost one matrix
    product ``K A`` (memory ``(m + n)^2`` floats: ``max_samples`` bounds it).
    """
    owner = "mmd_test"
    check_scalar(n_permutations, "n_permutations", owner=owner, kind=int, low=1)
    check_scalar(max_samples, "max_samples", owner=owner, kind=int, low=2)
    if bandwidth is not None:
        check_scalar(bandwidth, "bandwidth", owner=owner, low=0.0, closed="neither")
    rng = check_random_state(random_state)
    ref, cur = _pair(reference, current)
    ref = ref.iloc[_subsample(len(ref), max_samples, rng)]
    cur = cur.iloc[_subsample(len(cur), max_samples, rng)]
    xr, xc = _encode(ref, cur)
    pooled = np.vstack([xr, xc])
    sq = np.einsum("ij,ij->i", pooled, pooled)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * pooled @ pooled.T, 0)
    if bandwidth is None:
        sample = d2[np.ix_(*(2 * [rng.choice(len(pooled), min(len(pooled), 1000), replace=False)]))]
        positive = sample[sample > 0]
        bandwidth = float(np.sqrt(np.median(positive) / 2)) if positive.size else 1.0
    kernel = np.exp(-d2 / (2 * bandwidth ** 2), dtype=np.float32)
    del d2
    m, n = len(xr), len(xc)
    a = np.concatenate([np.full(m, 1.0 / m), np.full(n, -1.0 / n)]).astype(np.float32)
    weights = np.column_stack([a, rng.permuted(np.tile(a, (n_permutations, 1)), axis=1).T])
    values = np.einsum("ij,ij->j", kernel @ weights, weights, dtype=np.float64)
    observed = values[0]
    p_value = (1 + np.sum(values[1:] >= observed - 1e-12 * abs(observed))) / (1 + n_permutations)
    return MMDResult(statistic=float(observed), p_value=float(p_value), bandwidth=float(bandwidth),
                     n_permutations=int(n_permutations), n_reference=m, n_current=n)


def domain_classifier_test(reference: Any, current: Any, *, max_samples: int = 20000, n_repeats: int = 3,
                           random_state: Any = None) -> DomainClassifierResult:
    """Train a classifier to tell ``current`` rows from ``reference`` rows; AUC near 0.5 = no drift."""
    from scipy.stats import mannwhitneyu
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    owner = "domain_classifier_test"
    check_scalar(max_samples, "max_samples", owner=owner, kind=int, low=10)
    check_scalar(n_repeats, "n_repeats", owner=owner, kind=int, low=1)
    rng = check_random_state(random_state)
    ref, cur = _pair(reference, current)
    ref = ref.iloc[_subsample(len(ref), max_samples, rng)]
    cur = cur.iloc[_subsample(len(cur), max_samples, rng)]
    kinds = column_kinds(ref)
    columns, categorical = [], []
    for column, kind in kinds.items():
        if kind == NUMERIC:
            columns.append(np.concatenate([numeric_values(ref[column]), numeric_values(cur[column])]))
            categorical.append(False)
        else:
            (rc, cc), _, missing = joint_codes([ref[column], cur[column]], kind)
            codes = np.concatenate([rc, cc]).astype(np.float64)
            codes[codes == missing] = np.nan
            columns.append(codes)
            categorical.append(bool(missing < 255))  # more categories: ordered codes
    X = pd.DataFrame(np.column_stack(columns), columns=list(kinds))
    y = np.concatenate([np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)])
    seed = int(rng.integers(2 ** 31 - 1))
    X_fit, X_out, y_fit, y_out = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    model = HistGradientBoostingClassifier(categorical_features=np.array(categorical), max_iter=100,
                                           random_state=seed).fit(X_fit, y_fit)
    scores = model.predict_proba(X_out)[:, 1]
    auc = float(roc_auc_score(y_out, scores))
    p_value = float(mannwhitneyu(scores[y_out == 1], scores[y_out == 0], alternative="greater").pvalue)
    drop = permutation_importance(model, X_out, y_out, scoring="roc_auc", n_repeats=n_repeats, random_state=seed)
    importance = pd.Series(drop.importances_mean, index=list(kinds), name="auc_drop")
    importance.index.name = "column"
    return DomainClassifierResult(auc=auc, p_value=p_value,
                                  importance=importance.sort_values(ascending=False, kind="stable"),
                                  n_reference=len(ref), n_current=len(cur))
