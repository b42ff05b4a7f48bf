"""The cells of one or several sensitive features (several columns = their intersection)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import AssayInputError
from ...core.validation import check_sensitive_features, sensitive_feature_columns

_MISSING = (
    "'sensitive_features' is required by {owner}.{method}: pass a Series, a DataFrame (several "
    "columns mean their intersection), a dict of arrays or a 1-D array. Got None."
)
_UNSEEN = (
    "'sensitive_features' holds group(s) {groups} that {owner} did not see at fit (fitted groups: "
    "{fitted}). Fit on data containing every group, or drop these rows."
)


def group_codes(sensitive_features: Any, n_samples: int, *, owner: str, method: str = "fit"
                ) -> tuple[np.ndarray, pd.MultiIndex]:
    """Integer cell codes of shape (n_samples,) and the cells (a MultiIndex, one level per feature)."""
    if sensitive_features is None:
        raise AssayInputError(_MISSING.format(owner=owner, method=method))
    frame = check_sensitive_features(sensitive_features, n_samples=n_samples)
    # each column factorized on its own (sorted), then the occupied combinations: the cells sorted
    # as a MultiIndex sorts them, without building one over the rows
    parts = [pd.factorize(frame[c], sort=True) for c in frame.columns]
    combined = np.zeros(len(frame), dtype=np.int64)
    for column_codes, uniques in parts:
        combined = combined * len(uniques) + column_codes
    occupied, codes = np.unique(combined, return_inverse=True)
    levels = []
    for column_codes, uniques in reversed(parts):
        occupied, index = np.divmod(occupied, len(uniques))
        levels.append(np.asarray(uniques, dtype=object)[index])
    cells = pd.MultiIndex.from_arrays(levels[::-1], names=list(frame.columns))
    return codes.astype(np.int64).ravel(), cells


def codes_for(sensitive_features: Any, n_samples: int, fitted: pd.MultiIndex, *, owner: str,
              method: str = "predict") -> np.ndarray:
    """Codes of ``sensitive_features`` in the fitted cells; a cell unseen at fit is refused."""
    if sensitive_features is None:
        raise AssayInputError(_MISSING.format(owner=owner, method=method))
    features, columns = sensitive_feature_columns(sensitive_features, n_samples)
    frame = pd.DataFrame({f: np.asarray(c) for f, c in zip(features, columns)})
    if frame.isna().to_numpy().any():
        raise AssayInputError("'sensitive_features' must not hold missing values (NaN/None). Got some.")
    frame = frame.astype(str)
    if list(frame.columns) != list(fitted.names):
        raise AssayInputError(
            f"'sensitive_features' must have the columns seen at fit {list(fitted.names)}. "
            f"Got {list(frame.columns)} instead."
        )
    codes = fitted.get_indexer(pd.MultiIndex.from_frame(frame))
    if (codes < 0).any():
        unseen = pd.MultiIndex.from_frame(frame)[codes < 0].unique()
        shown = [tuple(u) if len(fitted.names) > 1 else u[0] for u in unseen[:10]]
        fitted_shown = [tuple(u) if len(fitted.names) > 1 else u[0] for u in fitted[:10]]
        raise AssayInputError(_UNSEEN.format(groups=shown, owner=owner, fitted=fitted_shown))
    return codes.astype(np.int64)
