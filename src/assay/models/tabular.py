"""Reference scikit-learn models for tabular data: one preprocessor, two classifiers.

``make_tabular_preprocessor`` builds the one preprocessing step shared by every tabular model
of assay (the sklearn pipelines here, and the features fed to :class:`~assay.models.TabularMLP`):

* categorical columns -> ``SimpleImputer(strategy="constant", fill_value="missing")`` ->
  ``OneHotEncoder(handle_unknown="ignore")`` (categories unseen in training encode as all zeros);
* numeric columns -> ``SimpleImputer(strategy="median")`` -> ``StandardScaler``;
* the output is a dense ``float32`` numpy array, categorical columns first.

``train_sklearn_model`` fits that preprocessor followed by a logistic regression or a
histogram gradient-boosting classifier.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ..core.errors import AssayInputError
from ..core.validation import (SEED_NOT_GIVEN, check_consistent_length, check_option, check_scalar, describe,
                               renamed_seed)

__all__ = ["REGRESSOR_KINDS", "SKLEARN_KINDS", "make_tabular_preprocessor", "train_sklearn_model",
           "train_sklearn_regressor"]

#: The classifiers :func:`train_sklearn_model` can fit.
SKLEARN_KINDS = ("logistic", "gbm")

#: Boosting iterations of the "gbm" model: enough for Adult's accuracy to plateau, a few seconds.
GBM_MAX_ITER = 200


def _to_float32(X: Any) -> np.ndarray:
    """Cast to a float32 ndarray (module level so fitted pipelines pickle)."""
    return np.asarray(X, dtype=np.float32)


def _check_feature_names(value: Any, name: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) and not isinstance(
        value, (pd.Index, np.ndarray)
    ):
        raise AssayInputError(
            f"'{name}' must be a list or tuple of column names. Got {describe(value)} instead."
        )
    names = list(value)
    bad = [c for c in names if not isinstance(c, str)]
    if bad:
        raise AssayInputError(
            f"'{name}' must hold column names (str). Got {bad[0]!r} of type "
            f"{type(bad[0]).__name__} instead."
        )
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise AssayInputError(f"'{name}' must not repeat columns. Got {dupes} more than once.")
    return names


def _check_features(categorical_features: Any, numeric_features: Any) -> tuple[list[str], list[str]]:
    categorical = _check_feature_names(categorical_features, "categorical_features")
    numeric = _check_feature_names(numeric_features, "numeric_features")
    if not categorical and not numeric:
        raise AssayInputError(
            "'categorical_features' and 'numeric_features' must name at least one column between "
            "them. Got two empty lists."
        )
    both = sorted(set(categorical) & set(numeric))
    if both:
        raise AssayInputError(
            "A column cannot be both categorical and numeric. Got "
            f"{both} in both 'categorical_features' and 'numeric_features'."
        )
    return categorical, numeric


def make_tabular_preprocessor(
    categorical_features: Sequence[str], numeric_features: Sequence[str]
) -> ColumnTransformer:
    """An unfitted ``ColumnTransformer`` turning a DataFrame into a float32 feature matrix.

    Parameters
    ----------
    categorical_features : sequence of str
        Columns imputed with the constant ``"missing"`` and one-hot encoded
        (``handle_unknown="ignore"``). Works with pandas ``category`` columns holding NaN.
    numeric_features : sequence of str
        Columns imputed with their training median and standardised.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Unfitted; once fitted, ``transform(X)`` returns a dense ``float32`` ndarray with the
        one-hot columns first, then the numeric ones (``get_feature_names_out()`` names them).
        Other columns of ``X`` are dropped.
    """
    categorical, numeric = _check_features(categorical_features, numeric_features)
    categorical_pipe = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            (
                "onehot",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32),
            ),
        ]
    )
    numeric_pipe = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("float32", FunctionTransformer(_to_float32, feature_names_out="one-to-one")),
        ]
    )
    return ColumnTransformer(
        [("categorical", categorical_pipe, categorical), ("numeric", numeric_pipe, numeric)],
        remainder="drop",
        sparse_threshold=0.0,
    )


def _check_X_frame(X: Any, columns: Sequence[str], owner: str) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise AssayInputError(
            f"'X' passed to {owner} must be a pandas DataFrame (columns are selected by name). "
            f"Got {describe(X)} instead."
        )
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise AssayInputError(
            f"'X' lacks column(s) {missing} named in 'categorical_features'/'numeric_features'. "
            f"Its columns are {list(map(str, X.columns))}."
        )
    if len(X) == 0:
        raise AssayInputError("'X' must contain at least 1 row(s). Got 0 instead.")
    return X


def _check_y_classes(y: Any, n: int) -> np.ndarray:
    y_arr = np.asarray(y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y)
    if y_arr.ndim != 1:
        raise AssayInputError(
            f"'y' must be a 1-D array of labels. Got an array of shape {y_arr.shape} instead."
        )
    check_consistent_length(X=range(n), y=y_arr)
    missing = pd.isna(y_arr)
    if missing.any():
        raise AssayInputError(
            f"'y' must not contain missing labels. Got {int(missing.sum())} NaN/None value(s) "
            f"(first at index {int(np.argmax(missing))})."
        )
    classes = np.unique(y_arr)
    if classes.size < 2:
        raise AssayInputError(
            f"'y' must contain at least two classes to fit a classifier. Got only {classes.tolist()}."
        )
    return y_arr


def train_sklearn_model(
    X: pd.DataFrame,
    y: Any,
    *,
    categorical_features: Sequence[str],
    numeric_features: Sequence[str],
    kind: str = "logistic",
    random_state: int = 0,
    seed: Any = SEED_NOT_GIVEN,
) -> Pipeline:
    """Fit ``Pipeline([("preprocess", make_tabular_preprocessor(...)), ("classifier", ...)])``.

    Parameters
    ----------
    X : pandas.DataFrame
        Must contain every column of ``categorical_features`` and ``numeric_features``.
    y : array-like of shape (n,)
        Class labels (any labels sklearn accepts), at least two classes, no missing values.
    categorical_features, numeric_features : sequence of str
        See :func:`make_tabular_preprocessor`.
    kind : {"logistic", "gbm"}
        ``"logistic"``: ``LogisticRegression(max_iter=1000)``;
        ``"gbm"``: ``HistGradientBoostingClassifier(max_iter=200, random_state=random_state)`` (with
        sklearn's default early stopping on a seeded 10 % validation split for n > 10,000).
    random_state : int
        Random state of the classifier (GBM's validation split; unused by lbfgs). ``seed=`` is a deprecated alias.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted; steps ``"preprocess"`` and ``"classifier"``.
    """
    owner = "train_sklearn_model"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    check_option(kind, "kind", owner=owner, options=SKLEARN_KINDS)
    check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
    categorical, numeric = _check_features(categorical_features, numeric_features)
    X = _check_X_frame(X, categorical + numeric, owner)
    y_arr = _check_y_classes(y, len(X))
    if kind == "logistic":
        classifier = LogisticRegression(max_iter=1000, random_state=int(random_state))
    else:
        classifier = HistGradientBoostingClassifier(max_iter=GBM_MAX_ITER, random_state=int(random_state))
    model = Pipeline(
        [("preprocess", make_tabular_preprocessor(categorical, numeric)), ("classifier", classifier)]
    )
    model.fit(X, y_arr)
    return model


#: The regressors :func:`train_sklearn_regressor` can fit.
REGRESSOR_KINDS = ("ridge", "gbm")


def train_sklearn_regressor(
    X: pd.DataFrame,
    y: Any,
    *,
    numeric_features: Sequence[str],
    categorical_features: Sequence[str] = (),
    kind: str = "ridge",
    random_state: int = 0,
) -> Pipeline:
    """Fit ``Pipeline([("preprocess", make_tabular_preprocessor(...)), ("regressor", ...)])``.

    The reference regressor (e.g. of :func:`assay.datasets.load_diabetes_split`; under a second).

    Parameters
    ----------
    X : pandas.DataFrame
        Must contain every column of ``categorical_features`` and ``numeric_features``.
    y : array-like of shape (n,) or (n, d)
        Finite numeric targets.
    numeric_features, categorical_features : sequence of str
        See :func:`make_tabular_preprocessor`.
    kind : {"ridge", "gbm"}
        ``"ridge"``: ``Ridge(alpha=1.0)`` on standardised features (multi-output allowed);
        ``"gbm"``: ``HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05,
        random_state=random_state)`` (one output).
    random_state : int
        Random state of the regressor (unused by ridge).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted; steps ``"preprocess"`` and ``"regressor"``.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    from ..core.validation import as_array

    owner = "train_sklearn_regressor"
    check_option(kind, "kind", owner=owner, options=REGRESSOR_KINDS)
    check_scalar(random_state, "random_state", owner=owner, kind=numbers.Integral, low=0)
    categorical, numeric = _check_features(categorical_features, numeric_features)
    X = _check_X_frame(X, categorical + numeric, owner)
    y_arr = as_array(y, name="y", ndim=(1, 2), dtype=np.float64)
    check_consistent_length(X=range(len(X)), y=y_arr)
    if kind == "gbm" and y_arr.ndim == 2:
        raise AssayInputError(f"kind='gbm' fits one target; 'y' has shape {y_arr.shape}. Use kind='ridge'.")
    regressor = Ridge(alpha=1.0) if kind == "ridge" else HistGradientBoostingRegressor(
        max_iter=GBM_MAX_ITER, learning_rate=0.05, random_state=int(random_state))
    model = Pipeline([("preprocess", make_tabular_preprocessor(categorical, numeric)), ("regressor", regressor)])
    model.fit(X, y_arr)
    return model
