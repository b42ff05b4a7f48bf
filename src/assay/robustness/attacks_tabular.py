"""A constraint-aware black-box attack on tabular models: :class:`TabularAttack`.

Any model :func:`assay.wrap` accepts that takes a DataFrame (scikit-learn pipelines with their
encoders included) is attacked through its scores only. The adversarial rows stay valid data:

- ``immutable`` columns (age, sex, ... whatever the user cannot change) are never changed;
- a numeric column moves at most ``eps`` of its reference standard deviation from the original
  value, inside its range (the reference's observed min/max, or ``ranges=``), and integer columns
  stay integers;
- a categorical column moves only to a category observed in the reference (or ``categories=``);
- at most ``max_changes`` columns change per row (an L0 budget; None: no limit);
- missing values stay missing, and boolean columns are kept.

The search is the score-based random search of the Square attack adapted to tables: each
iteration redraws a random subset of each unbroken row's mutable numeric columns (half at a
corner of the allowed box, half uniform inside it) and, with even odds, one categorical column,
and keeps the proposal when it lowers the margin loss ``Z_y - max_{j != y} Z_j``. Rows stop at
success; at most ``max_queries`` model evaluations per row. Every step is vectorised over rows (one
model call per iteration for all unbroken rows).

Norms in the :class:`AttackResult` are in units of each numeric column's reference standard
deviation (``linf``, ``l2`` over the numeric columns); ``n_changed`` counts changed columns per row.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import wrap
from ..core.component import Interval
from ..core.errors import AssayInputError
from ..core.validation import check_random_state, describe
from .attacks import Attack, AttackResult, _class_indices, _logits_uncached, _softmax
from .attacks_blackbox import _margin

__all__ = ["TabularAttack"]


class TabularAttack(Attack):
    """Constraint-aware random-search attack on a tabular model (DataFrame in, scores out).

    Parameters
    ----------
    model : any model :func:`assay.wrap` accepts that takes a DataFrame.
    eps : numeric budget per column, in units of that column's reference standard deviation.
    max_changes : at most this many columns changed per row (numeric and categorical); None: no limit.
    immutable : column names that are never changed (e.g. the sensitive features).
    reference : DataFrame the standard deviations, ranges and categories are read from (pass the
        training frame); None: ``X`` itself.
    ranges : optional ``{column: (low, high)}`` overriding the reference's observed min and max.
    categories : optional ``{column: allowed values}`` overriding the reference's observed categories.
    max_queries : model evaluations per row, the clean one included.
    random_state : seed of the search.
    """

    white_box = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "eps": [Interval(Real, 0, None)], "max_changes": [None, Interval(Integral, 1, None)],
        "immutable": [list, tuple], "reference": [None, pd.DataFrame], "ranges": [None, dict],
        "categories": [None, dict], "max_queries": [Interval(Integral, 2, None)], "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, eps: float = 0.3, max_changes: int | None = None,
                 immutable: Any = (), reference: pd.DataFrame | None = None, ranges: dict | None = None,
                 categories: dict | None = None, max_queries: int = 200, random_state: Any = None) -> None:
        self.model = model
        self.eps = eps
        self.max_changes = max_changes
        self.immutable = immutable
        self.reference = reference
        self.ranges = ranges
        self.categories = categories
        self.max_queries = max_queries
        self.random_state = random_state

    @classmethod
    def _all_parameter_constraints(cls) -> dict[str, list[Any]]:
        # Ranges come per column (``ranges=``, the reference), not from the base's one ``clip``.
        merged = super()._all_parameter_constraints()
        merged.pop("clip", None)
        return merged

    def generate(self, X: Any, y: Any = None, target: Any = None) -> AttackResult:
        """Attack every row of the DataFrame ``X``; ``adversarial`` is a DataFrame like ``X``.

        Parameters
        ----------
        X : DataFrame (n rows), the model's input.
        y : labels (n,), optional. Default: the model's predictions.
        target : a class label or labels (n,), optional: a targeted attack.
        """
        owner = type(self).__name__
        if not isinstance(X, pd.DataFrame) or len(X) == 0:
            raise AssayInputError(f"'X' of {owner} must be a non-empty DataFrame (the model's tabular input). "
                                  f"Got {describe(X)} instead; use SquareAttack or PGD for arrays and images.")
        adapter = wrap(self.model)
        space = _Space(X, self, owner)
        clean = adapter.logits(X)
        classes = np.asarray(adapter.classes_)
        labels_idx = clean.argmax(axis=1) if y is None else _class_indices(y, classes, "y", len(X))
        targeted = target is not None
        if targeted:
            shaped = np.full(len(X), target, dtype=object) if np.ndim(target) == 0 else target
            aim = _class_indices(shaped, classes, "target", len(X))
        else:
            aim = labels_idx
        numeric, codes, queries = self._search(adapter, space, clean, aim, targeted)
        adversarial = space.frame(numeric, codes, np.arange(len(X)))
        adv_logits = _logits_uncached(adapter, adversarial)
        adv_idx = adv_logits.argmax(axis=1)
        success = adv_idx == aim if targeted else adv_idx != labels_idx
        scaled = (numeric - space.numeric0) / space.scale
        n_changed = (numeric != space.numeric0).sum(axis=1) + (codes != space.codes0).sum(axis=1)
        return AttackResult(
            attack=repr(self), adversarial=adversarial, success=success,
            linf=np.abs(scaled).max(axis=1, initial=0.0), l2=np.sqrt((scaled ** 2).sum(axis=1)),
            original_pred=classes[clean.argmax(axis=1)], adversarial_pred=classes[adv_idx],
            original_confidence=_softmax(clean).max(axis=1), adversarial_confidence=_softmax(adv_logits).max(axis=1),
            labels=classes[labels_idx], target=classes[aim] if targeted else None, queries=queries,
            n_changed=n_changed.astype(np.int64))

    def _search(self, adapter, space: _Space, clean: np.ndarray, aim: np.ndarray, targeted: bool):
        rng = check_random_state(self.random_state)
        n = len(aim)
        numeric, codes = space.numeric0.copy(), space.codes0.copy()
        loss = _margin(clean, aim, targeted)
        queries = np.ones(n, dtype=np.int64)
        for _ in range(self.max_queries - 1):
            active = np.flatnonzero(loss >= 0)
            if len(active) == 0:
                break
            prop_num, prop_cat = space.propose(numeric[active], codes[active], active, rng)
            prop_num, prop_cat = space.within_budget(prop_num, prop_cat, active, self.max_changes, rng)
            new = _margin(_logits_uncached(adapter, space.frame(prop_num, prop_cat, active)), aim[active], targeted)
            queries[active] += 1
            better = new < loss[active]
            rows = active[better]
            numeric[rows], codes[rows], loss[rows] = prop_num[better], prop_cat[better], new[better]
        return numeric, codes, queries


class _Space:
    """The allowed moves of every row: numeric boxes and categorical alphabets, as arrays."""

    def __init__(self, X: pd.DataFrame, attack: TabularAttack, owner: str):
        reference = X if attack.reference is None else attack.reference
        immutable = list(attack.immutable)
        for name, given in (("immutable", immutable), ("ranges", list(attack.ranges or {})),
                            ("categories", list(attack.categories or {}))):
            missing = [c for c in given if c not in X.columns]
            if missing:
                raise AssayInputError(f"'{name}' of {owner} names columns that X does not have: {missing[:5]}. "
                                      f"X's columns are {list(map(str, X.columns))[:20]}.")
        missing = [c for c in X.columns if c not in reference.columns]
        if missing:
            raise AssayInputError(f"'reference' of {owner} lacks columns of X: {missing[:5]}; pass the training "
                                  f"frame with the same columns.")
        self.X = X
        mutable = [c for c in X.columns if c not in immutable]
        is_num = [pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c]) for c in mutable]
        self.num_cols = [c for c, k in zip(mutable, is_num) if k]
        self.cat_cols = [c for c, k in zip(mutable, is_num) if not k and not pd.api.types.is_bool_dtype(X[c])]
        self._numeric_box(X, reference, attack)
        self._alphabets(X, reference, attack)

    def _numeric_box(self, X: pd.DataFrame, reference: pd.DataFrame, attack: TabularAttack) -> None:
        n = len(X)
        cols = self.num_cols
        x0 = X[cols].to_numpy(dtype=np.float64) if cols else np.zeros((n, 0))
        ref = reference[cols].to_numpy(dtype=np.float64) if cols else np.zeros((0, 0))
        with np.errstate(invalid="ignore"):
            sd = np.nanstd(ref, axis=0) if cols else np.zeros(0)
            low, high = (np.nanmin(ref, axis=0), np.nanmax(ref, axis=0)) if cols and len(ref) else (sd, sd)
        for j, c in enumerate(cols):
            if c in (attack.ranges or {}):
                low[j], high[j] = attack.ranges[c]
        self.scale = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        budget = attack.eps * np.where(np.isfinite(sd), sd, 0.0)
        lo = np.maximum(x0 - budget, low)
        hi = np.minimum(x0 + budget, high)
        self.integer = np.array([pd.api.types.is_integer_dtype(X[c]) for c in cols], dtype=bool)
        lo[:, self.integer], hi[:, self.integer] = np.ceil(lo[:, self.integer]), np.floor(hi[:, self.integer])
        frozen = ~np.isfinite(x0) | ~(lo <= hi) | (lo == hi)
        self.lo, self.hi = np.where(frozen, x0, lo), np.where(frozen, x0, hi)
        self.movable_num = ~frozen
        self.numeric0 = x0

    def _alphabets(self, X: pd.DataFrame, reference: pd.DataFrame, attack: TabularAttack) -> None:
        self.alphabets, codes = [], []
        for c in self.cat_cols:
            allowed = (attack.categories or {}).get(c)
            values = pd.Index(reference[c].dropna().unique() if allowed is None else list(allowed)).unique()
            if isinstance(X[c].dtype, pd.CategoricalDtype):
                values = values[values.isin(X[c].cat.categories)]
            self.alphabets.append(values)
            codes.append(values.get_indexer(X[c]))
        self.codes0 = np.stack(codes, axis=1) if codes else np.zeros((len(X), 0), dtype=np.int64)
        sizes = np.array([len(a) for a in self.alphabets], dtype=np.int64)
        self.sizes = sizes
        self.movable_cat = (self.codes0 >= 0) & (sizes[None, :] > 1)

    def propose(self, numeric: np.ndarray, codes: np.ndarray, rows: np.ndarray, rng: np.random.Generator):
        """Redraw a random subset of movable numeric columns and, with even odds, one categorical column."""
        m = len(rows)
        numeric, codes = numeric.copy(), codes.copy()
        movable = self.movable_num[rows]
        if movable.shape[1]:
            pick = movable & (rng.random(movable.shape) < 0.3)
            one = _random_true(movable, rng)  # at least one column where any is movable
            pick[np.arange(m)[one >= 0], one[one >= 0]] = True
            lo, hi = self.lo[rows], self.hi[rows]
            corner = np.where(rng.random(pick.shape) < 0.5, lo, hi)
            uniform = lo + rng.random(pick.shape) * (hi - lo)
            drawn = np.where(rng.random(pick.shape) < 0.5, corner, uniform)
            drawn[:, self.integer] = np.clip(np.round(drawn[:, self.integer]), lo[:, self.integer],
                                             hi[:, self.integer])
            numeric = np.where(pick, drawn, numeric)
        movable = self.movable_cat[rows]
        if movable.shape[1]:
            column = _random_true(movable, rng)
            chosen = (column >= 0) & (rng.random(m) < 0.5)
            r, j = np.flatnonzero(chosen), column[chosen]
            shift = 1 + np.floor(rng.random(len(r)) * (self.sizes[j] - 1)).astype(np.int64)
            codes[r, j] = (codes[r, j] + shift) % self.sizes[j]
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

    def frame(self, numeric: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        """The rows ``rows`` of X with the numeric values and category codes given, dtypes kept."""
        out = self.X.iloc[rows].copy()
        for j, c in enumerate(self.num_cols):
            column = numeric[:, j]
            out[c] = pd.Series(column, index=out.index).astype(self.X[c].dtype)
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
