"""The moves a tabular input may make: one home for the constraints of tabular attacks and counterfactuals.

:class:`FeatureSpace` turns a DataFrame ``X`` and the user's constraints into arrays, so that
searches over many rows stay vectorised:

- ``immutable`` columns never change; boolean columns are kept;
- numeric columns (int and float) move inside a box per row: the column's range (the reference's
  observed min/max, or ``ranges=``), intersected with ``x +- eps * sd`` when ``eps`` is given and
  with ``[x, high]`` / ``[low, x]`` for ``monotone={"col": "increasing" | "decreasing"}``; integer
  columns stay integers; missing values stay missing;
- categorical columns (category, object, string) move to a category observed in the reference (or
  ``categories=``); a monotone categorical column moves only up or down its category order (an
  ordered ``CategoricalDtype``, or the order of ``categories=``).

Numeric columns are held as floats ``(n, n_numeric)``, categorical ones as codes into each
column's alphabet ``(n, n_categorical)``; :meth:`frame` turns them back into a DataFrame like ``X``
(same dtypes). Distances are in units of each numeric column's reference standard deviation
(1 for a constant column) plus 1 per changed categorical column.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .errors import AssayInputError
from .validation import describe

__all__ = ["FeatureSpace"]

_DIRECTIONS = ("increasing", "decreasing")


class FeatureSpace:
    """Allowed moves of every row of ``X`` as arrays (see the module docstring).

    Parameters
    ----------
    X : DataFrame, the rows to move.
    reference : DataFrame the standard deviations, ranges and categories are read from (the training
        frame); None: ``X`` itself.
    immutable : columns that never change.
    ranges : ``{column: (low, high)}`` overriding the reference's observed min and max.
    categories : ``{column: allowed values}`` (in order, for monotone categorical columns).
    monotone : ``{column: "increasing" | "decreasing"}``.
    eps : numeric budget in reference standard deviations (None: the range only).
    owner : the public class or function, named in error messages.
    """

    def __init__(self, X: pd.DataFrame, *, reference: pd.DataFrame | None = None, immutable: Any = (),
                 ranges: dict | None = None, categories: dict | None = None, monotone: dict | None = None,
                 eps: float | None = None, owner: str = "FeatureSpace") -> None:
        if not isinstance(X, pd.DataFrame) or len(X) == 0:
            raise AssayInputError(f"'X' of {owner} must be a non-empty DataFrame (the model's tabular input). "
                                  f"Got {describe(X)} instead.")
        reference = X if reference is None else reference
        immutable, monotone = list(immutable), dict(monotone or {})
        for name, given in (("immutable", immutable), ("ranges", list(ranges or {})),
                            ("categories", list(categories or {})), ("monotone", list(monotone))):
            missing = [c for c in given if c not in X.columns]
            if missing:
                raise AssayInputError(f"'{name}' of {owner} names columns that X does not have: {missing[:5]}. "
                                      f"X's columns are {list(map(str, X.columns))[:20]}.")
        bad = {c: d for c, d in monotone.items() if d not in _DIRECTIONS}
        if bad:
            raise AssayInputError(f"'monotone' of {owner} maps columns to 'increasing' or 'decreasing'. Got {bad}.")
        missing = [c for c in X.columns if c not in reference.columns]
        if missing:
            raise AssayInputError(f"'reference' of {owner} lacks columns of X: {missing[:5]}; pass the training "
                                  f"frame with the same columns.")
        self.X, self.owner = X, owner
        mutable = [c for c in X.columns if c not in immutable]
        is_num = [pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c]) for c in mutable]
        self.num_cols = [c for c, k in zip(mutable, is_num) if k]
        self.cat_cols = [c for c, k in zip(mutable, is_num) if not k and not pd.api.types.is_bool_dtype(X[c])]
        self._numeric_box(reference, ranges or {}, monotone, eps)
        self._alphabets(reference, categories or {}, monotone)

    # ------------------------------------------------------------------ building
    def _numeric_box(self, reference: pd.DataFrame, ranges: dict, monotone: dict, eps: float | None) -> None:
        X, cols = self.X, self.num_cols
        x0 = X[cols].to_numpy(dtype=np.float64) if cols else np.zeros((len(X), 0))
        ref = reference[cols].to_numpy(dtype=np.float64) if cols else np.zeros((0, 0))
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: frozen below
            sd = np.nanstd(ref, axis=0) if cols else np.zeros(0)
            low, high = (np.nanmin(ref, axis=0), np.nanmax(ref, axis=0)) if cols and len(ref) else (sd, sd)
        for j, c in enumerate(cols):
            if c in ranges:
                low[j], high[j] = ranges[c]
        self.scale = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        lo, hi = np.broadcast_to(low, x0.shape).copy(), np.broadcast_to(high, x0.shape).copy()
        if eps is not None:
            budget = eps * np.where(np.isfinite(sd), sd, 0.0)
            lo, hi = np.maximum(x0 - budget, lo), np.minimum(x0 + budget, hi)
        for j, c in enumerate(cols):
            if monotone.get(c) == "increasing":
                lo[:, j] = np.maximum(lo[:, j], x0[:, j])
            elif monotone.get(c) == "decreasing":
                hi[:, j] = np.minimum(hi[:, j], x0[:, j])
        self.integer = np.array([pd.api.types.is_integer_dtype(X[c]) for c in cols], dtype=bool)
        lo[:, self.integer], hi[:, self.integer] = np.ceil(lo[:, self.integer]), np.floor(hi[:, self.integer])
        frozen = ~np.isfinite(x0) | ~(lo <= hi) | (lo == hi)
        self.lo, self.hi = np.where(frozen, x0, lo), np.where(frozen, x0, hi)
        self.movable_num = ~frozen
        self.numeric0 = x0

    def _alphabets(self, reference: pd.DataFrame, categories: dict, monotone: dict) -> None:
        X = self.X
        self.alphabets, codes = [], []
        for c in self.cat_cols:
            allowed = categories.get(c)
            if allowed is not None:
                values = pd.Index(list(allowed)).unique()
            elif isinstance(X[c].dtype, pd.CategoricalDtype) and X[c].dtype.ordered:
                values = pd.Index(X[c].dtype.categories)
            else:
                if c in monotone:
                    raise AssayInputError(
                        f"'monotone' of {self.owner} names the categorical column {c!r}, whose categories have no "
                        f"order: pass them in order with categories={{{c!r}: [...]}} or use an ordered categorical.")
                values = pd.Index(reference[c].dropna().unique())
            if isinstance(X[c].dtype, pd.CategoricalDtype):
                values = values[values.isin(X[c].cat.categories)]
            self.alphabets.append(values)
            codes.append(values.get_indexer(X[c]))
        n = len(X)
        self.codes0 = np.stack(codes, axis=1) if codes else np.zeros((n, 0), dtype=np.int64)
        self.sizes = np.array([len(a) for a in self.alphabets], dtype=np.int64)
        # allowed codes per row and column: [code_lo, code_hi]
        self.code_lo = np.zeros_like(self.codes0)
        self.code_hi = np.broadcast_to(self.sizes - 1, self.codes0.shape).copy()
        for j, c in enumerate(self.cat_cols):
            if monotone.get(c) == "increasing":
                self.code_lo[:, j] = self.codes0[:, j]
            elif monotone.get(c) == "decreasing":
                self.code_hi[:, j] = self.codes0[:, j]
        self.movable_cat = (self.codes0 >= 0) & (self.code_hi > self.code_lo)

    # ------------------------------------------------------------------ moves
    def propose(self, numeric: np.ndarray, codes: np.ndarray, rows: np.ndarray, rng: np.random.Generator, *,
                p_numeric: float = 0.3, p_categorical: float = 0.5, radius: float | None = None,
                n_categorical: int = 1):
        """Redraw a random subset of movable numeric columns (at least one per row: half at a corner
        of the allowed box, half uniform in it; the box cut to ``x0 +- radius * sd`` when given) and,
        ``n_categorical`` times with probability ``p_categorical``, one more categorical column, for
        the rows ``rows``."""
        m = len(rows)
        numeric, codes = numeric.copy(), codes.copy()
        movable = self.movable_num[rows]
        if movable.shape[1]:
            pick = movable & (rng.random(movable.shape) < p_numeric)
            one = _random_true(movable, rng)
            pick[np.arange(m)[one >= 0], one[one >= 0]] = True
            lo, hi = self.lo[rows], self.hi[rows]
            if radius is not None:
                x0, reach = self.numeric0[rows], radius * self.scale
                lo, hi = np.maximum(lo, x0 - reach), np.minimum(hi, x0 + reach)
                lo[:, self.integer], hi[:, self.integer] = np.ceil(lo[:, self.integer]), np.floor(hi[:, self.integer])
                empty = lo > hi
                lo, hi = np.where(empty, x0, lo), np.where(empty, x0, hi)
            corner = np.where(rng.random(pick.shape) < 0.5, lo, hi)
            uniform = lo + rng.random(pick.shape) * (hi - lo)
            drawn = np.where(rng.random(pick.shape) < 0.5, corner, uniform)
            drawn[:, self.integer] = np.clip(np.round(drawn[:, self.integer]), lo[:, self.integer],
                                             hi[:, self.integer])
            numeric = np.where(pick, drawn, numeric)
        movable = self.movable_cat[rows].copy()
        for _ in range(n_categorical if movable.shape[1] else 0):
            column = _random_true(movable, rng)
            chosen = (column >= 0) & (rng.random(m) < p_categorical)
            r, j = np.flatnonzero(chosen), column[chosen]
            low, high = self.code_lo[rows[r], j], self.code_hi[rows[r], j]
            drawn = low + np.floor(rng.random(len(r)) * (high - low)).astype(np.int64)
            codes[r, j] = np.where(drawn >= codes[r, j], drawn + 1, drawn)  # uniform over the others
            movable[r, j] = False  # another column next round
        return numeric, codes

    def within_budget(self, numeric: np.ndarray, codes: np.ndarray, rows: np.ndarray, max_changes: int | None,
                      rng: np.random.Generator):
        """Revert random changed columns of rows over the L0 budget until ``max_changes`` remain."""
        if max_changes is None:
            return numeric, codes
        x0, c0 = self.numeric0[rows], self.codes0[rows]
        changed = np.concatenate([numeric != x0, codes != c0], axis=1)
        if not (changed.sum(axis=1) > max_changes).any():
            return numeric, codes
        priority = np.where(changed, rng.random(changed.shape), -1.0)
        rank = np.argsort(np.argsort(-priority, axis=1), axis=1)
        revert = changed & (rank >= max_changes)
        k = numeric.shape[1]
        return np.where(revert[:, :k], x0, numeric), np.where(revert[:, k:], c0, codes)

    # ------------------------------------------------------------------ measures and frames
    def changed(self, numeric: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Boolean (m, n_numeric + n_categorical): which columns differ from the original rows."""
        return np.concatenate([numeric != self.numeric0[rows], codes != self.codes0[rows]], axis=1)

    def distance(self, numeric: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """L1 distance (m,) to the original rows: numeric in reference sd units, 1 per changed category."""
        moved = np.abs(numeric - self.numeric0[rows]) / self.scale
        return np.nansum(moved, axis=1) + (codes != self.codes0[rows]).sum(axis=1)

    def frame(self, numeric: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        """Rows ``rows`` of X with the numeric values and category codes given, dtypes kept."""
        out = self.X.iloc[rows].copy()
        for j, c in enumerate(self.num_cols):
            out[c] = pd.Series(numeric[:, j], index=out.index).astype(self.X[c].dtype)
        for j, c in enumerate(self.cat_cols):
            moved = codes[:, j] != self.codes0[rows, j]
            if not moved.any():
                continue
            dtype = self.X[c].dtype
            if isinstance(dtype, pd.CategoricalDtype):  # codes to codes: no object round trip
                current = self.X[c].cat.codes.to_numpy()[rows]
                mapped = dtype.categories.get_indexer(self.alphabets[j])[codes[:, j]]
                out[c] = pd.Categorical.from_codes(np.where(moved, mapped, current), dtype=dtype)
            else:
                values = self.X[c].to_numpy(dtype=object)[rows]
                values[moved] = self.alphabets[j].to_numpy(dtype=object)[codes[moved, j]]
                out[c] = pd.Series(values, index=out.index).astype(dtype)
        return out


def _random_true(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, the index of one True column chosen uniformly at random (-1 where none)."""
    keys = np.where(mask, rng.random(mask.shape), -1.0)
    index = keys.argmax(axis=1)
    return np.where(mask.any(axis=1), index, -1)
