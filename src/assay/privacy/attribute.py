"""Attribute inference: does the model's output reveal a sensitive attribute beyond the other features?

:func:`attribute_inference` trains two attackers out of fold (``cv`` folds, stratified, seeded): one
on the other features alone (the baseline: what anyone holding the features already knows, the
joint version of the data checks' proxy AUC) and one on the features plus the model's outputs
(probabilities). The gain in ROC AUC is what the model itself leaks.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_scalar, describe
from .membership import _adapter

__all__ = ["AttributeInferenceResult", "attribute_inference"]

_OWNER = "attribute_inference"


@dataclasses.dataclass(frozen=True)
class AttributeInferenceResult(Result):
    """Per sensitive attribute: ``baseline_auc`` (features alone), ``attack_auc`` (features and
    model outputs), ``gain`` (their difference), ``n``, ``n_classes`` (``table``, one row each)."""

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table


def _design(X: Any, drop: list[str]) -> np.ndarray:
    """Numeric design matrix of ``X``: DataFrames one-hot encoded (missing values a category,
    numeric columns median-imputed), without the columns ``drop``; arrays as float."""
    if isinstance(X, pd.DataFrame):
        frame = X.drop(columns=[c for c in drop if c in X.columns])
        numeric = frame.select_dtypes("number")
        other = frame.drop(columns=numeric.columns)
        parts = [numeric.fillna(numeric.median()).to_numpy(dtype=np.float64)]
        if other.shape[1]:
            parts.append(pd.get_dummies(other.astype("object").fillna("missing").astype(str)).to_numpy(np.float64))
        return np.column_stack(parts) if parts else np.empty((len(frame), 0))
    arr = np.asarray(X, dtype=np.float64)
    return arr.reshape(len(arr), -1)


def _oof_auc(features: np.ndarray, target: np.ndarray, cv: int, random_state: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes, codes = np.unique(target, return_inverse=True)
    if features.shape[1] == 0:
        return 0.5
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    attacker = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        proba = cross_val_predict(attacker, features, codes, cv=folds, method="predict_proba")
    if len(classes) == 2:
        return float(roc_auc_score(codes, proba[:, 1]))
    return float(roc_auc_score(codes, proba, multi_class="ovr", average="macro"))


def attribute_inference(model: Any, X: Any, sensitive_features: Any, *, y_score: Any = None, cv: int = 5,
                        max_rows: int | None = 5000, random_state: int = 0) -> AttributeInferenceResult:
    """Out-of-fold AUC of recovering each sensitive attribute, with and without the model's outputs.

    Parameters
    ----------
    model : anything :func:`assay.wrap` accepts
    X : DataFrame or array of shape (n, d)
        The model's inputs. Columns named like a sensitive feature are dropped from the attackers'
        features (a model that sees the attribute leaks it trivially; the baseline would too).
    sensitive_features : DataFrame, Series or dict of columns, length n
    y_score : array of shape (n, k), optional
        The model's probabilities on ``X`` when already computed (``model`` is then not called).
    cv : int >= 2
        Folds of the out-of-fold predictions (stratified by the attribute).
    max_rows : int or None
        A seeded sample of at most this many rows (None: all).
    random_state : int

    Returns
    -------
    AttributeInferenceResult
        AUC one-vs-rest macro for attributes with more than two values; a class with fewer
        rows than ``cv`` is merged into "other".
    """
    check_scalar(cv, "cv", owner=_OWNER, kind=(int, np.integer), low=2)
    check_scalar(random_state, "random_state", owner=_OWNER, kind=(int, np.integer), low=0)
    if max_rows is not None:
        check_scalar(max_rows, "max_rows", owner=_OWNER, kind=(int, np.integer), low=10)
    if isinstance(sensitive_features, pd.Series):
        sensitive_features = sensitive_features.to_frame()
    if isinstance(sensitive_features, dict):
        sensitive_features = pd.DataFrame(sensitive_features)
    if not isinstance(sensitive_features, pd.DataFrame) or not sensitive_features.shape[1]:
        raise AssayInputError(f"'sensitive_features' of {_OWNER} must be a DataFrame, Series or dict of columns. "
                              f"Got {describe(sensitive_features)}.")
    n = len(X)
    if len(sensitive_features) != n:
        raise AssayInputError(f"'sensitive_features' must have one row per row of X ({n}). "
                              f"Got {len(sensitive_features)} rows.")
    rows = np.arange(n)
    if max_rows is not None and n > max_rows:
        rows = np.sort(np.random.default_rng(random_state).choice(n, max_rows, replace=False))
    X_rows = X.iloc[rows] if isinstance(X, (pd.DataFrame, pd.Series)) else as_array(X, name="X")[rows]
    if y_score is not None:
        outputs = as_array(y_score, name="y_score", dtype=np.float64)
        if len(outputs) != n:
            raise AssayInputError(f"'y_score' must have one row per row of X ({n}). Got {len(outputs)} rows.")
        outputs = outputs.reshape(n, -1)[rows]
    else:
        outputs = _adapter(model).predict_proba(X_rows)
    base = _design(X_rows, list(sensitive_features.columns))
    records = []
    for column in sensitive_features.columns:
        target = sensitive_features[column].iloc[rows].astype("object").fillna("missing").astype(str).to_numpy()
        values, counts = np.unique(target, return_counts=True)
        rare = values[counts < cv]
        target = np.where(np.isin(target, rare), "other", target)
        values = np.unique(target)
        if len(values) < 2 or np.unique(target, return_counts=True)[1].min() < cv:
            records.append({"feature": column, "baseline_auc": np.nan, "attack_auc": np.nan, "gain": np.nan,
                            "n": len(rows), "n_classes": len(values)})
            continue
        baseline = _oof_auc(base, target, cv, random_state)
        attack = _oof_auc(np.column_stack([base, outputs]), target, cv, random_state)
        records.append({"feature": column, "baseline_auc": baseline, "attack_auc": attack,
                        "gain": attack - baseline, "n": len(rows), "n_classes": len(values)})
    return AttributeInferenceResult(pd.DataFrame(records).set_index("feature"))
