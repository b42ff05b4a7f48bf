"""Sensitive features that are numbers with many values (age, income): detect them, bin them.

Comparing groups needs a few groups of reasonable size; a continuous attribute such as ``age``
makes one group per value (dozens of groups of a few rows, a demographic parity ratio of 0).
:func:`many_valued_numeric` finds such columns; :func:`bin_by_quantiles` turns one into a few
quantile groups, with edges taken from a reference sample so every split is binned alike.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import describe

__all__ = ["MAX_NUMERIC_GROUPS", "bin_by_quantiles", "many_valued_numeric"]

#: A numeric sensitive feature with more distinct values than this is continuous (refused unbinned).
MAX_NUMERIC_GROUPS = 20


def _numbers(values: Any) -> np.ndarray | None:
    """``values`` as float64 if every one is a number (numbers written as text count), else None."""
    series = pd.Series(np.asarray(values).ravel() if not isinstance(values, pd.Series) else values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_bool_dtype(series):
        return None
    out = pd.to_numeric(series, errors="coerce")
    if out.isna().any():
        return None
    return out.to_numpy(np.float64)


def many_valued_numeric(frame: pd.DataFrame, *, max_groups: int = MAX_NUMERIC_GROUPS) -> dict[str, int]:
    """Numeric columns of ``frame`` (numbers, or categories that are numbers; not booleans, not
    text) with more than ``max_groups`` distinct values: column -> number of distinct values."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        dtype = values.dtype.categories.dtype if isinstance(values.dtype, pd.CategoricalDtype) else values.dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            n = int(values.nunique())
            if n > max_groups:
                out[str(column)] = n
    return out


def _edge(x: float) -> str:
    return f"{x:.4g}"


def bin_by_quantiles(values: Any, n_bins: int, *, reference: Any = None) -> pd.Series:
    """Quantile groups of a numeric feature, as text labels ``"[30, 45)"``; shape ``(n,)``.

    Parameters
    ----------
    values : array-like of numbers, shape (n,)
    n_bins : int >= 2
        Number of groups (fewer where quantiles coincide).
    reference : array-like of numbers, optional
        The sample the edges are quantiles of (e.g. the training split), so that every split
        gets the same groups; default ``values``.

    The outer groups are open (``"(-inf, 30)"``, ``"[60, inf)"``), so values beyond the
    reference's range still get a group.
    """
    if not isinstance(n_bins, numbers.Integral) or isinstance(n_bins, bool) or n_bins < 2:
        raise AssayInputError(f"'n_bins' must be an int >= 2. Got {n_bins!r} instead.")
    x = _numbers(values)
    if x is None:
        raise AssayInputError(f"'values' must be numbers without missing values. Got {describe(values)}.")
    ref = x if reference is None else _numbers(reference)
    if ref is None:
        raise AssayInputError(f"'reference' must be numbers without missing values. Got {describe(reference)}.")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, int(n_bins) + 1)[1:-1]))
    bounds = ["-inf", *(_edge(e) for e in edges), "inf"]
    labels = np.array([("(" if i == 0 else "[") + f"{bounds[i]}, {bounds[i + 1]})"
                       for i in range(len(bounds) - 1)], dtype=object)
    codes = np.searchsorted(edges, x, side="right")
    index = values.index if isinstance(values, pd.Series) else None
    return pd.Series(labels[codes], index=index, name=getattr(values, "name", None))
