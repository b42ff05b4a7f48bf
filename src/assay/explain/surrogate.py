"""A global surrogate: a shallow decision tree fitted on the model's predictions, with its fidelity.

``surrogate_tree(model, X, max_depth=3)`` reads the model's predictions on ``X`` through the
adapter (one cached pass), fits a scikit-learn ``DecisionTreeClassifier`` (classifiers: the
predicted labels) or ``DecisionTreeRegressor`` (regressors) on a training part of the rows and
measures on the held-out rest how faithfully the tree reproduces the model: the agreement rate
(Wilson interval) or R^2 (bootstrap interval). The rules are the tree as text; a tree that
agrees 70% of the time explains 70% of the model.
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
from ..core.validation import check_random_state, check_scalar, describe

__all__ = ["SurrogateTree", "surrogate_tree"]


def _encoder(X: pd.DataFrame) -> tuple[list[str], dict[str, list[Any]]]:
    """Numeric columns kept; others one-hot as ``"col=value"`` (values as seen in ``X``, sorted by text)."""
    categories = {}
    for col in X.columns:
        if not (pd.api.types.is_numeric_dtype(X[col]) or pd.api.types.is_bool_dtype(X[col])):
            values = pd.unique(X[col].dropna())
            categories[str(col)] = sorted(values, key=str)
    return [str(c) for c in X.columns], categories


def _encode(X: Any, columns: list[str] | None, categories: dict[str, list[Any]]) -> tuple[np.ndarray, list[str]]:
    if columns is None:
        arr = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=np.float64)
        return arr, [f"x{j}" for j in range(arr.shape[1])]
    parts, names = [], []
    for col, raw in zip(columns, X.columns):
        if col in categories:
            values = X[raw].to_numpy()
            for v in categories[col]:
                parts.append(np.asarray(values == v, dtype=np.float64))
                names.append(f"{col}={v}")
        else:
            parts.append(X[raw].to_numpy(dtype=np.float64, na_value=np.nan))
            names.append(col)
    return np.column_stack(parts), names


@dataclasses.dataclass(frozen=True, eq=False)
class SurrogateTree(Result):
    """A decision tree that imitates a model, and how well it does on held-out rows.

    Attributes
    ----------
    tree : the fitted scikit-learn ``DecisionTreeClassifier`` / ``DecisionTreeRegressor`` (on the
        encoded features ``feature_names``: numeric columns as they are, others one-hot ``"col=value"``)
    fidelity : agreement rate of the tree's and the model's labels (classifiers) or R^2 of the tree's
        against the model's predictions (regressors), on the ``n_test`` held-out rows
    lower, upper : its interval at ``confidence_level`` (Wilson; regressors: percentile bootstrap)
    train_fidelity : the same on the rows the tree was fitted on
    metric : "agreement" or "r2"
    rules : the tree as text (``sklearn.tree.export_text``)
    """

    tree: Any
    feature_names: tuple[str, ...]
    fidelity: float
    lower: float
    upper: float
    train_fidelity: float
    metric: str
    n_train: int
    n_test: int
    confidence_level: float
    rules: str
    columns: tuple[str, ...] | None = None
    categories: dict | None = None

    def predict(self, X: Any) -> np.ndarray:
        """The tree's predictions for ``X`` (the columns ``surrogate_tree`` saw)."""
        if self.columns is not None:
            if not isinstance(X, pd.DataFrame) or [str(c) for c in X.columns] != list(self.columns):
                raise AssayInputError(f"'X' must be a DataFrame with the columns {list(self.columns)[:8]}. "
                                      f"Got {describe(X)}.")
        Z, _ = _encode(X, None if self.columns is None else list(self.columns), self.categories or {})
        return self.tree.predict(Z)


def surrogate_tree(model: Any, X: Any, *, max_depth: int | None = 3, min_samples_leaf: int = 1,
                   test_size: float = 0.25, confidence_level: float = 0.95, n_boot: int = 200,
                   random_state: Any = None) -> SurrogateTree:
    """Fit a decision tree on the model's predictions for ``X`` and measure its fidelity on held-out rows.

    Parameters
    ----------
    model : anything :func:`assay.wrap` accepts (classifier or regressor), or an adapter.
    X : DataFrame or 2-D array ``(n, d)``, n >= 4. Non-numeric DataFrame columns are one-hot
        encoded for the tree (``"col=value"``).
    max_depth : int >= 1 or None (unlimited), default 3
    min_samples_leaf : int >= 1
    test_size : float in (0, 1), share of the rows held out to measure fidelity
    confidence_level : float in (0, 1)
    n_boot : int >= 1, bootstrap resamples of the held-out rows (regressors' R^2 interval)
    random_state : None, int or numpy Generator (the split, the tree's tie-breaks, the bootstrap)
    """
    from sklearn.metrics import r2_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, export_text

    from ..metrics import wilson_interval

    owner = "surrogate_tree"
    if max_depth is not None:
        check_scalar(max_depth, "max_depth", owner=owner, kind=numbers.Integral, low=1)
    check_scalar(min_samples_leaf, "min_samples_leaf", owner=owner, kind=numbers.Integral, low=1)
    check_scalar(test_size, "test_size", owner=owner, low=0, high=1, closed="neither")
    check_scalar(confidence_level, "confidence_level", owner=owner, low=0, high=1, closed="neither")
    check_scalar(n_boot, "n_boot", owner=owner, kind=numbers.Integral, low=1)
    rng = check_random_state(random_state, name="random_state")
    frame = isinstance(X, pd.DataFrame)
    if not frame:
        arr = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X)
        if arr.ndim != 2 or arr.dtype.kind not in "biuf":
            raise AssayInputError(f"'X' of surrogate_tree must be a DataFrame or a numeric 2-D array (n, d). "
                                  f"Got {describe(X)}.")
    n = len(X)
    n_test = int(round(n * float(test_size)))
    if n < 4 or n_test < 1 or n - n_test < 2:
        raise AssayInputError(f"'X' must have enough rows for a training and a held-out part (test_size="
                              f"{test_size}); got {n} rows.")
    adapter = model if isinstance(model, ModelAdapter) else wrap(model)
    target = np.asarray(adapter.predict(X))  # one cached pass
    classify = adapter.task == "classification"
    columns, categories = _encoder(X) if frame else (None, {})
    Z, names = _encode(X, columns, categories)
    order = rng.permutation(n)
    test, train = order[:n_test], order[n_test:]
    seed = int(rng.integers(2 ** 31 - 1))
    Tree = DecisionTreeClassifier if classify else DecisionTreeRegressor
    tree = Tree(max_depth=max_depth, min_samples_leaf=int(min_samples_leaf), random_state=seed).fit(
        Z[train], target[train])
    guess = tree.predict(Z)
    if classify:
        hits = guess[test] == target[test]
        fidelity, train_fidelity = float(hits.mean()), float((guess[train] == target[train]).mean())
        lo, hi = wilson_interval(hits.sum(), len(hits), confidence_level=confidence_level)
        lower, upper, metric = float(lo), float(hi), "agreement"
    else:
        y, g = target[test].astype(np.float64), guess[test]
        fidelity, train_fidelity = float(r2_score(y, g)), float(r2_score(target[train], guess[train]))
        boot = rng.integers(n_test, size=(int(n_boot), n_test))
        stats = np.array([r2_score(y[b], g[b]) if np.ptp(y[b]) > 0 else np.nan for b in boot])
        alpha = (1 - float(confidence_level)) / 2
        lower, upper = (float(v) for v in np.nanquantile(stats, [alpha, 1 - alpha]))
        metric = "r2"
    rules = export_text(tree, feature_names=names, show_weights=False, decimals=3)
    return SurrogateTree(tree=tree, feature_names=tuple(names), fidelity=fidelity, lower=lower, upper=upper,
                         train_fidelity=train_fidelity, metric=metric, n_train=len(train), n_test=n_test,
                         confidence_level=float(confidence_level), rules=rules,
                         columns=None if columns is None else tuple(columns), categories=categories or None)
