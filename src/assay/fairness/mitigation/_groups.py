"""The cells of one or several sensitive features (several columns = their intersection)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import AssayInputError
from ...core.validation import _MISSING_GROUP, _SINGLE_GROUP, sensitive_feature_columns

_MISSING = (
    "'sensitive_features' is required by {owner}.{method}: pass a Series, a DataFrame (several "
    "columns mean their intersection), a dict of arrays or a 1-D array. Got None."
)
_UNSEEN = (
    "'sensitive_features' holds group(s) {groups} that {owner} did not see at fit (fitted groups: "
    "{fitted}). Fit on data containing every group, or drop these rows."
)
_MISSING_AT_PREDICT = "'sensitive_features' must not hold missing values (NaN/None). Got some."


def _factor(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes (n,) int64, -1 where missing; the groups as sorted str) of one column.

    The rows are factorized as they are and only the (few) distinct values are turned into str
    (as ``check_sensitive_features`` does: ``Series.astype(str)``), then merged and sorted: the
    same groups as converting every row, without a string per row.
    """
    codes, uniques = pd.factorize(column)
    names = pd.Series(np.asarray(uniques, dtype=object) if not isinstance(uniques, pd.Categorical)
                      else uniques).astype(str).to_numpy(dtype=object)
    merged, groups = pd.factorize(names, sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    out = np.where(codes >= 0, merged[np.maximum(codes, 0)] if len(merged) else 0, -1)
    return out.astype(np.int64), np.asarray(groups, dtype=object)


def _occupied(combined: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(occupied combination codes sorted, each row's rank among them): ``np.unique`` with
    ``return_inverse``, by counting when the combinations are few (no sort of the rows)."""
    if size <= max(4 * len(combined), 1 << 16):
        present = np.bincount(combined, minlength=size) > 0
        rank = np.cumsum(present) - 1
        return np.flatnonzero(present), rank[combined]
    occupied, inverse = np.unique(combined, return_inverse=True)
    return occupied, inverse.ravel()


def group_codes(sensitive_features: Any, n_samples: int, *, owner: str, method: str = "fit"
                ) -> tuple[np.ndarray, pd.MultiIndex]:
    """Integer cell codes of shape (n_samples,) and the cells (a MultiIndex, one level per feature).

    The groups are the str values of each column (as :func:`check_sensitive_features` makes
    them: no missing values, at least two groups per column); the cells are the occupied
    combinations, sorted as a MultiIndex sorts them. ``O(n)`` after one hash of each column.
    """
    if sensitive_features is None:
        raise AssayInputError(_MISSING.format(owner=owner, method=method))
    features, columns = sensitive_feature_columns(sensitive_features, n_samples)
    parts = []
    for feature, column in zip(features, columns):
        codes, groups = _factor(column)
        missing = int((codes < 0).sum())
        if missing:
            raise AssayInputError(_MISSING_GROUP.format(name="sensitive_features", column=feature, count=missing))
        if len(groups) < 2:
            raise AssayInputError(_SINGLE_GROUP.format(name="sensitive_features", column=feature,
                                                       group=groups[0] if len(groups) else None))
        parts.append((codes, groups))
    if len(parts) == 1:  # one feature: its groups are the cells
        codes, groups = parts[0]
        return codes, pd.MultiIndex.from_arrays([groups], names=list(features))
    combined = np.zeros(n_samples, dtype=np.int64)
    for column_codes, groups in parts:
        combined = combined * len(groups) + column_codes
    occupied, codes = _occupied(combined, int(np.prod([len(g) for _, g in parts], dtype=np.float64)))
    levels = []
    for column_codes, groups in reversed(parts):
        occupied, index = np.divmod(occupied, len(groups))
        levels.append(groups[index])
    cells = pd.MultiIndex.from_arrays(levels[::-1], names=list(features))
    return codes.astype(np.int64).ravel(), cells


def codes_for(sensitive_features: Any, n_samples: int, fitted: pd.MultiIndex, *, owner: str,
              method: str = "predict") -> np.ndarray:
    """Codes of ``sensitive_features`` in the fitted cells; a cell unseen at fit is refused.

    Each column is factorized as it is; only its distinct values (and their occupied
    combinations) are looked up among the fitted cells.
    """
    if sensitive_features is None:
        raise AssayInputError(_MISSING.format(owner=owner, method=method))
    features, columns = sensitive_feature_columns(sensitive_features, n_samples)
    if list(features) != list(fitted.names):
        raise AssayInputError(
            f"'sensitive_features' must have the columns seen at fit {list(fitted.names)}. "
            f"Got {list(features)} instead."
        )
    parts = [_factor(c) for c in columns]
    if any((codes < 0).any() for codes, _ in parts):
        raise AssayInputError(_MISSING_AT_PREDICT)
    if len(parts) == 1:
        inverse, groups = parts[0]
        seen = pd.MultiIndex.from_arrays([groups], names=list(features))
        return _lookup(seen, inverse, fitted, owner)
    combined = np.zeros(n_samples, dtype=np.int64)
    for column_codes, groups in parts:
        combined = combined * max(len(groups), 1) + column_codes
    occupied, inverse = _occupied(combined, int(np.prod([max(len(g), 1) for _, g in parts], dtype=np.float64)))
    levels = []
    for column_codes, groups in reversed(parts):
        occupied, index = np.divmod(occupied, max(len(groups), 1))
        levels.append(groups[index])
    seen = pd.MultiIndex.from_arrays(levels[::-1], names=list(features))
    return _lookup(seen, inverse, fitted, owner)


def _lookup(seen: pd.MultiIndex, inverse: np.ndarray, fitted: pd.MultiIndex, owner: str) -> np.ndarray:
    """The fitted codes of the rows, whose distinct cells are ``seen`` (rows: ``inverse``)."""
    lookup = fitted.get_indexer(seen)
    if (lookup < 0).any():
        unseen = seen[lookup < 0]
        shown = [tuple(u) if len(fitted.names) > 1 else u[0] for u in unseen[:10]]
        fitted_shown = [tuple(u) if len(fitted.names) > 1 else u[0] for u in fitted[:10]]
        raise AssayInputError(_UNSEEN.format(groups=shown, owner=owner, fitted=fitted_shown))
    return lookup[inverse].astype(np.int64)
