"""Tabular corruptions on pandas DataFrames, respecting dtypes and categories.

A copy of ``X`` comes back with the same columns, index and dtypes (except ``missing_values``,
which turns integer columns into float64 as pandas does for any column holding NaN). Numeric
columns are the int and float ones (bool excluded); categorical columns are ``category``,
``object`` and ``string`` ones. ``columns=`` restricts a corruption to some columns. Statistics
that a corruption needs (a column's spread, median, mode, category frequencies) are read from
``reference`` -- pass the training frame -- or, when it is None, from ``X`` itself.

For one seed the corrupted cells of a higher severity include those of a lower one (one uniform
draw per cell compared with the severity's fraction), so severity 5 moves the input further than
severity 1. Severity tables (severities 1..5):

===============  ===================================================================  =================
name             parameter                                                            values
===============  ===================================================================  =================
numeric_noise    Gaussian noise sd, in units of each numeric column's sd (ints        .1 .2 .3 .5 .8
                 rounded, kept in the dtype's range)
missing_values   fraction of each column's cells set missing (NaN)                    .05 .1 .2 .3 .5
category_swap    fraction of each categorical column's rows moved to another          .05 .1 .2 .3 .5
                 category ("random": uniform over the others; "frequency": the
                 neighbour in the reference's frequency ranking)
feature_dropout  fraction of the columns (at least one) set to the reference's        .1 .2 .3 .5 .7
                 median (numeric; ints rounded) or mode (categorical)
unit_error       fraction of each numeric column's rows multiplied by 10 or by 0.1    .05 .1 .2 .35 .5
                 (even odds; ints rounded)
===============  ===================================================================  =================
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.component import Options
from ..core.errors import AssayInputError
from ..core.validation import describe
from .corruptions import Corruption, register_corruption, seed_of

__all__ = ["TabularCorruption"]


class TabularCorruption(Corruption):
    """Base of the tabular corruptions: validates ``X``, chooses columns, seeds, returns a copy."""

    kind = "tabular"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "columns": [None, list, tuple], "reference": [None, pd.DataFrame]}
    #: Which columns the corruption acts on: "numeric", "categorical" or "all".
    acts_on: ClassVar[str] = "all"

    def __init__(self, *, columns: Any = None, reference: pd.DataFrame | None = None):
        self.columns = columns
        self.reference = reference

    def _corrupt(self, X: Any, parameter: Any, severity: int, random_state: Any) -> pd.DataFrame:
        owner = type(self).__name__
        if not isinstance(X, pd.DataFrame) or len(X) == 0:
            raise AssayInputError(f"'X' of {owner} must be a non-empty pandas DataFrame. Got {describe(X)} instead.")
        reference = X if self.reference is None else self.reference
        names = list(X.columns) if self.columns is None else list(self.columns)
        missing = [c for c in names if c not in X.columns or c not in reference.columns]
        if missing:
            raise AssayInputError(f"'columns' of {owner} names columns that X (or 'reference') lacks: {missing}.")
        chosen = [c for c in names if self.acts_on == "all" or _kind(X[c]) == self.acts_on]
        rng = np.random.default_rng(seed_of(random_state, owner))
        out = X.copy()
        self._apply(out, chosen, reference, parameter, rng)
        return out

    def _apply(self, out: pd.DataFrame, columns: list, reference: pd.DataFrame, p: Any, rng) -> None:
        raise NotImplementedError  # pragma: no cover - abstract


def _kind(column: pd.Series) -> str | None:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) \
            or pd.api.types.is_string_dtype(dtype):
        return "categorical"
    return None


def _as_dtype(values: np.ndarray, like: pd.Series) -> Any:
    """Float ``values`` back into ``like``'s dtype: integers rounded and kept in the dtype's range."""
    dtype = like.dtype
    if isinstance(dtype, np.dtype):  # plain numpy columns: no Series round trip
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            values = np.clip(np.round(values), info.min, info.max)
        return values.astype(dtype, copy=False)
    if pd.api.types.is_integer_dtype(dtype):
        info = np.iinfo(np.dtype(getattr(dtype, "numpy_dtype", dtype)))
        values = np.clip(np.round(values), info.min, info.max)
    return pd.Series(values, index=like.index).astype(dtype)


def _numeric(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _mode(column: pd.Series) -> Any:
    counts = column.value_counts(dropna=True)
    return counts.index[0] if len(counts) else np.nan


@register_corruption
class NumericNoise(TabularCorruption):
    """Gaussian noise scaled to each numeric column's sd (of ``reference``): .1 .2 .3 .5 .8 sd."""

    name, severities, acts_on = "numeric_noise", (0.1, 0.2, 0.3, 0.5, 0.8), "numeric"

    def _apply(self, out, columns, reference, p, rng):
        for c in columns:
            spread = float(np.nanstd(_numeric(reference[c]))) if len(reference) else 0.0
            noise = rng.standard_normal(len(out))
            out[c] = _as_dtype(_numeric(out[c]) + p * spread * noise, out[c])


@register_corruption
class MissingValues(TabularCorruption):
    """Cells set missing: .05 .1 .2 .3 .5 of each column (integer columns become float64)."""

    name, severities = "missing_values", (0.05, 0.1, 0.2, 0.3, 0.5)

    def _apply(self, out, columns, reference, p, rng):
        for c in columns:
            out[c] = out[c].mask(rng.random(len(out)) < p)


@register_corruption
class CategorySwap(TabularCorruption):
    """Rows of each categorical column moved to another category: .05 .1 .2 .3 .5 of them.

    ``strategy="random"``: a category drawn uniformly from the others; ``"frequency"``: the most
    similar in frequency, i.e. the neighbour in the reference's ranking by count (rank r -> r + 1,
    the rarest -> the one above it). Missing values stay missing; one-category columns are unchanged.
    """

    name, severities, acts_on = "category_swap", (0.05, 0.1, 0.2, 0.3, 0.5), "categorical"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"strategy": [Options(str, ("random", "frequency"))]}

    def __init__(self, *, strategy: str = "random", columns: Any = None, reference: pd.DataFrame | None = None):
        self.strategy = strategy
        super().__init__(columns=columns, reference=reference)

    def _apply(self, out, columns, reference, p, rng):
        for c in columns:
            column = out[c]
            categorical = isinstance(column.dtype, pd.CategoricalDtype)
            if categorical:  # codes as they are: no hashing of values
                categories = list(column.cat.categories)
                codes = column.cat.codes.to_numpy().astype(np.int64)
            else:
                counts = reference[c].value_counts(dropna=True)
                categories = list(pd.unique(pd.concat([counts.index.to_series(), column.dropna()])))
            k = len(categories)
            draw, other = rng.random(len(out)), rng.random(len(out))
            if k < 2:
                continue
            if not categorical:
                codes = pd.Categorical(column, categories=categories).codes.astype(np.int64)
            swap = (draw < p) & (codes >= 0)
            if self.strategy == "random":
                new = (codes + 1 + np.floor(other * (k - 1)).astype(np.int64)) % k
            else:
                counts = reference[c].value_counts(dropna=True).reindex(categories, fill_value=0)
                order = np.argsort(-counts.to_numpy(), kind="stable")
                rank = np.empty(k, dtype=np.int64)
                rank[order] = np.arange(k)
                neighbour = np.where(rank + 1 < k, rank + 1, rank - 1)
                new = order[neighbour[np.maximum(codes, 0)]]
            codes = np.where(swap, new, codes)
            if isinstance(column.dtype, pd.CategoricalDtype):
                out[c] = pd.Categorical.from_codes(codes, dtype=column.dtype)
            else:
                values = np.asarray(categories, dtype=object)[np.maximum(codes, 0)]
                out[c] = pd.Series(np.where(codes >= 0, values, column.to_numpy()), index=out.index).astype(
                    column.dtype)


@register_corruption
class FeatureDropout(TabularCorruption):
    """Whole columns replaced by the reference's median (numeric) or mode (categorical).

    A fraction .1 .2 .3 .5 .7 of the chosen columns (at least one), taken in one random order per
    seed, so a higher severity drops a superset. Pass the training frame as ``reference`` to
    impute what a deployed pipeline would (default: ``X`` itself).
    """

    name, severities = "feature_dropout", (0.1, 0.2, 0.3, 0.5, 0.7)

    def _apply(self, out, columns, reference, p, rng):
        order = rng.permutation(len(columns))
        for i in order[:max(1, round(p * len(columns)))] if columns else []:
            c = columns[i]
            if _kind(out[c]) == "numeric":
                out[c] = _as_dtype(np.full(len(out), np.nanmedian(_numeric(reference[c]))), out[c])
            elif isinstance(out[c].dtype, pd.CategoricalDtype):
                code = out[c].cat.categories.get_indexer([_mode(reference[c])])[0]
                out[c] = pd.Categorical.from_codes(np.full(len(out), code), dtype=out[c].dtype)
            else:
                out[c] = pd.Series(np.full(len(out), _mode(reference[c]), dtype=object), index=out.index).astype(
                    out[c].dtype)


@register_corruption
class UnitError(TabularCorruption):
    """Rows of each numeric column in another unit: .05 .1 .2 .35 .5 of them multiplied by 10 or 0.1."""

    name, severities, acts_on = "unit_error", (0.05, 0.1, 0.2, 0.35, 0.5), "numeric"

    def _apply(self, out, columns, reference, p, rng):
        for c in columns:
            hit, up = rng.random(len(out)) < p, rng.random(len(out)) < 0.5
            factor = np.where(hit, np.where(up, 10.0, 0.1), 1.0)
            out[c] = _as_dtype(_numeric(out[c]) * factor, out[c])
