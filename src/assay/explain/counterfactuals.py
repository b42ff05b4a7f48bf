"""Counterfactuals for tabular models: the nearest valid changes that flip a decision.

``Counterfactuals(model, immutable=[...], monotone={...}, data=X_train).generate(X, n=3)`` works on
any model :func:`assay.wrap` accepts that takes a DataFrame (black-box: scores only). The moves
respect :class:`assay.core.feature_space.FeatureSpace`: immutable columns never change, numeric
columns stay in their range (and integer), monotone columns move one way only, categories stay
valid, at most ``max_changes`` columns change.

The search, vectorised over rows (one model call per step for all rows still searching):

1. *Growing spheres*: ``n_candidates`` random candidates per row at each radius of ``radii``
   (numeric columns within ``radius`` reference standard deviations; up to one categorical column
   changed with even odds below radius 1, two from 1, three from 4), until a row has ``n`` valid
   ones (predicted ``desired``). Rows left with none take the nearest reference rows the model
   predicts as desired, projected onto their allowed moves (the nearest-neighbour counterfactual).
2. *Sparsify*: on every valid candidate, each changed column in turn is reverted to the original
   value where the candidate stays valid; then the numeric change is bisected on the segment from
   the original (invalid) to the candidate (valid), ``refine_steps`` times: the result lies within
   ``2**-refine_steps`` of that segment's length beyond the decision boundary.
3. *Diverse selection* (DiCE's idea of proximity plus diversity, as a greedy choice): per row the
   nearest valid candidate first, then repeatedly the one maximising
   ``diversity_weight * (distance to the nearest chosen) - (distance to the original)``.

Distances are L1 over the columns: numeric in reference standard deviations, 1 per changed
categorical column (:meth:`FeatureSpace.distance`).
"""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import uncached_logits, wrap
from ..core.component import Component, Interval
from ..core.errors import AssayInputError
from ..core.feature_space import FeatureSpace
from ..core.result import Result
from ..core.validation import check_random_state, describe

__all__ = ["CounterfactualResult", "Counterfactuals"]


@dataclasses.dataclass(frozen=True, eq=False)
class CounterfactualResult(Result):
    """Counterfactuals of ``n_rows`` inputs.

    Attributes
    ----------
    counterfactuals : DataFrame, one line per counterfactual: ``row`` (the input's index label),
        ``rank`` (0 = nearest), ``valid`` (predicted the desired class), ``distance``,
        ``n_changed``, ``changed`` (the changed columns, comma-separated), then the features. A
        row with no valid counterfactual has one line with ``valid=False`` and its own values.
    rows : DataFrame, one line per input: ``row``, ``prediction``, ``desired``, ``needed`` (the
        prediction was not already desired), ``found`` (valid counterfactuals), ``distance`` (of
        the nearest, NaN if none), ``n_changed`` (of the nearest), ``diversity`` (mean pairwise
        distance of the row's counterfactuals, NaN with fewer than 2).
    validity : fraction of the rows that needed one with at least one valid counterfactual.
    proximity : mean distance of the nearest valid counterfactual (rows that found one).
    sparsity : mean number of changed columns of the valid counterfactuals.
    diversity : mean of the rows' diversity (rows with at least 2).
    """

    counterfactuals: pd.DataFrame
    rows: pd.DataFrame
    validity: float
    proximity: float
    sparsity: float
    diversity: float

    def to_frame(self) -> pd.DataFrame:
        return self.counterfactuals


class Counterfactuals(Component):
    """Diverse, sparse, constraint-respecting counterfactuals for a tabular model (black-box search).

    Parameters
    ----------
    model : any model :func:`assay.wrap` accepts that takes a DataFrame.
    immutable : columns that may not change (e.g. sex, race, age).
    monotone : ``{column: "increasing" | "decreasing"}`` (education cannot decrease).
    data : the training frame: standard deviations, ranges and categories come from it (None: ``X``).
    ranges, categories : overrides of the ranges and categories read from ``data`` (see
        :class:`~assay.core.feature_space.FeatureSpace`).
    desired : the class to reach: a class label for every row, or ``"opposite"`` (binary models: the
        class not predicted).
    max_changes : at most this many changed columns per counterfactual (None: no limit).
    radii : search radii in reference standard deviations, tried in order.
    n_candidates : random candidates per row and radius.
    refine_steps : bisection steps of the numeric change towards the decision boundary.
    diversity_weight : weight of diversity against proximity in the selection.
    random_state : seed of the search.
    """

    _validated_methods: ClassVar[tuple[str, ...]] = ("fit", "run", "generate")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"], "immutable": [list, tuple], "monotone": [None, dict],
        "data": [None, pd.DataFrame], "ranges": [None, dict], "categories": [None, dict],
        "desired": ["no_validation"], "max_changes": [None, Interval(Integral, 1, None)],
        "radii": [list, tuple], "n_candidates": [Interval(Integral, 1, None)],
        "refine_steps": [Interval(Integral, 0, None)], "diversity_weight": [Interval(Real, 0, None)],
        "random_state": ["random_state"]}

    def __init__(self, model: Any = None, *, immutable: Any = (), monotone: dict | None = None,
                 data: pd.DataFrame | None = None, ranges: dict | None = None, categories: dict | None = None,
                 desired: Any = "opposite", max_changes: int | None = None,
                 radii: Any = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
                 n_candidates: int = 50, refine_steps: int = 5, diversity_weight: float = 0.5,
                 random_state: Any = None) -> None:
        self.model = model
        self.immutable = immutable
        self.monotone = monotone
        self.data = data
        self.ranges = ranges
        self.categories = categories
        self.desired = desired
        self.max_changes = max_changes
        self.radii = radii
        self.n_candidates = n_candidates
        self.refine_steps = refine_steps
        self.diversity_weight = diversity_weight
        self.random_state = random_state

    def generate(self, X: Any, n: int = 3) -> CounterfactualResult:
        """Up to ``n`` valid counterfactuals for every row of the DataFrame ``X``."""
        owner = type(self).__name__
        if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
            raise AssayInputError(f"'n' of {owner}.generate must be an int >= 1. Got {n!r} instead.")
        radii = np.asarray(self.radii, dtype=float) if len(self.radii) else np.zeros(0)
        if not len(radii) or not np.isfinite(radii).all() or (radii <= 0).any():
            raise AssayInputError(f"'radii' of {owner} must be positive numbers (standard deviations). "
                                  f"Got {self.radii!r} instead.")
        space = FeatureSpace(X, reference=self.data, immutable=self.immutable, ranges=self.ranges,
                             categories=self.categories, monotone=self.monotone, owner=owner)
        adapter = wrap(self.model)
        prediction = adapter.logits(X).argmax(axis=1)  # first: a callable's classes are known after a pass
        classes = np.asarray(adapter.classes_)
        desired = self._desired(classes, prediction, len(X), owner)
        rng = check_random_state(self.random_state)
        needed = np.flatnonzero(desired != prediction)
        pool = self._search(adapter, space, needed, desired, n, radii, rng)
        pool = _nearest(space, pool, 4 * n)  # sparsify only what selection could pick
        pool = self._sparsify(adapter, space, pool, desired)
        chosen = _select(space, pool, n, float(self.diversity_weight))
        return _result(space, X, classes, prediction, desired, chosen, n)

    # ------------------------------------------------------------------ steps
    def _desired(self, classes: np.ndarray, prediction: np.ndarray, n: int, owner: str) -> np.ndarray:
        if isinstance(self.desired, str) and self.desired == "opposite":
            if len(classes) != 2:
                raise AssayInputError(f"'desired' of {owner} is 'opposite', which needs a binary model; this one has "
                                      f"{len(classes)} classes: pass the class to reach, e.g. desired={classes[0]!r}.")
            return 1 - prediction
        wanted = np.asarray(self.desired, dtype=object)
        wanted = np.full(n, self.desired, dtype=object) if wanted.ndim == 0 else wanted
        index = pd.Index(classes.tolist()).get_indexer(pd.Index(wanted.tolist())) if len(wanted) == n else None
        if index is None or (index < 0).any():
            raise AssayInputError(f"'desired' of {owner} must be 'opposite', one of the model's classes "
                                  f"{classes.tolist()[:20]} or one per row of X. Got {describe(self.desired)}.")
        return index.astype(np.int64)

    def _search(self, adapter, space: FeatureSpace, needed: np.ndarray, desired: np.ndarray, n: int,
                radii: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Valid candidates (row, numeric, codes) found at growing radii."""
        k = int(self.n_candidates)
        found = np.zeros(len(desired), dtype=np.int64)
        rows_l, num_l, cat_l = [], [], []
        for radius in radii:
            active = needed[found[needed] < n]
            if not len(active):
                break
            rows = np.repeat(active, k)
            numeric, codes = space.propose(space.numeric0[rows], space.codes0[rows], rows, rng, p_numeric=0.5,
                                           radius=float(radius), n_categorical=1 + int(radius >= 1) + int(radius >= 4))
            numeric, codes = space.within_budget(numeric, codes, rows, self.max_changes, rng)
            valid = _predict(adapter, space, numeric, codes, rows) == desired[rows]
            valid &= space.changed(numeric, codes, rows).any(axis=1)
            rows_l.append(rows[valid]), num_l.append(numeric[valid]), cat_l.append(codes[valid])
            found += np.bincount(rows[valid], minlength=len(found))
        stuck = needed[found[needed] == 0]
        if len(stuck):
            rows, numeric, codes = self._from_reference(adapter, space, stuck, desired, rng)
            rows_l.append(rows), num_l.append(numeric), cat_l.append(codes)
        d_num, d_cat = space.numeric0.shape[1], space.codes0.shape[1]
        return {"rows": np.concatenate(rows_l) if rows_l else np.zeros(0, dtype=np.int64),
                "numeric": np.concatenate(num_l) if num_l else np.zeros((0, d_num)),
                "codes": np.concatenate(cat_l) if cat_l else np.zeros((0, d_cat), dtype=np.int64)}

    def _from_reference(self, adapter, space: FeatureSpace, stuck: np.ndarray, desired: np.ndarray,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Valid candidates for rows the random search left without any: the reference rows the
        model predicts as desired, projected onto the row's allowed moves (immutable columns kept,
        ranges and monotone directions clipped, categories outside the allowed codes kept at the
        original), all predicted in one pass per block, the ``n_candidates`` nearest valid ones kept
        per row. Sparsifying then pulls them back towards the original. Memory and model calls:
        blocks of about 4 million (row, reference row, column) cells."""
        reference = space.X if self.data is None else self.data
        ref_class = uncached_logits(adapter, reference).argmax(axis=1)
        ref_num = reference[space.num_cols].to_numpy(dtype=np.float64) if space.num_cols else \
            np.zeros((len(reference), 0))
        ref_codes = np.stack([a.get_indexer(reference[c]) for a, c in zip(space.alphabets, space.cat_cols)], axis=1) \
            if space.cat_cols else np.zeros((len(reference), 0), dtype=np.int64)
        k = int(self.n_candidates)
        width = max(1, ref_num.shape[1] + ref_codes.shape[1])
        rows_l, num_l, cat_l = [], [], []
        for target in np.unique(desired[stuck]):
            mine, pool = stuck[desired[stuck] == target], np.flatnonzero(ref_class == target)
            if not len(pool):
                continue
            for block in np.array_split(mine, len(mine) * len(pool) * width // 4_000_000 + 1):
                if not len(block):
                    continue
                # every (row, reference row) pair projected onto the row's allowed moves: (b, r, d)
                numeric = np.clip(ref_num[pool][None], space.lo[block][:, None], space.hi[block][:, None])
                keep = space.movable_num[block][:, None] & np.isfinite(numeric)
                numeric = np.where(keep, numeric, space.numeric0[block][:, None])
                numeric[..., space.integer] = np.round(numeric[..., space.integer])
                codes = np.broadcast_to(ref_codes[pool][None], (len(block), *ref_codes[pool].shape))
                allowed = (space.movable_cat[block][:, None] & (codes >= space.code_lo[block][:, None])
                           & (codes <= space.code_hi[block][:, None]))
                codes = np.where(allowed, codes, space.codes0[block][:, None])
                rows = np.repeat(block, len(pool))
                numeric, codes = numeric.reshape(len(rows), -1), codes.reshape(len(rows), -1)
                numeric, codes = space.within_budget(numeric, codes, rows, self.max_changes, rng)
                valid = _predict(adapter, space, numeric, codes, rows) == desired[rows]
                valid &= space.changed(numeric, codes, rows).any(axis=1)
                kept = _nearest(space, {"rows": rows[valid], "numeric": numeric[valid], "codes": codes[valid]}, k)
                rows_l.append(kept["rows"]), num_l.append(kept["numeric"]), cat_l.append(kept["codes"])
        if not rows_l:
            return (np.zeros(0, dtype=np.int64), np.zeros((0, space.numeric0.shape[1])),
                    np.zeros((0, space.codes0.shape[1]), dtype=np.int64))
        return np.concatenate(rows_l), np.concatenate(num_l), np.concatenate(cat_l)

    def _sparsify(self, adapter, space: FeatureSpace, pool: dict[str, np.ndarray], desired: np.ndarray):
        rows, numeric, codes = pool["rows"], pool["numeric"].copy(), pool["codes"].copy()
        if not len(rows):
            return pool
        x0, c0 = space.numeric0[rows], space.codes0[rows]
        d_num = numeric.shape[1]
        # revert whole columns, the ones contributing most distance first
        contribution = np.concatenate([np.abs(numeric - x0) / space.scale, (codes != c0).astype(float)], axis=1)
        for j in np.argsort(-np.nansum(contribution, axis=0)):
            trying = np.flatnonzero(contribution[:, j] > 0)
            if not len(trying):
                continue
            num_t, cat_t = numeric[trying].copy(), codes[trying].copy()
            if j < d_num:
                num_t[:, j] = x0[trying, j]
            else:
                cat_t[:, j - d_num] = c0[trying, j - d_num]
            keep = _predict(adapter, space, num_t, cat_t, rows[trying]) == desired[rows[trying]]
            numeric[trying[keep]], codes[trying[keep]] = num_t[keep], cat_t[keep]
            contribution[trying[keep], j] = 0
        # bisect the numeric change on the segment from the original (invalid) to the candidate (valid)
        change = numeric - x0
        low, high = np.zeros(len(rows)), np.ones(len(rows))
        if (change != 0).any():
            for _ in range(int(self.refine_steps)):
                middle = (low + high) / 2
                trial = _towards(x0, change, middle, space.integer)
                keep = _predict(adapter, space, trial, codes, rows) == desired[rows]
                high = np.where(keep, middle, high)
                low = np.where(keep, low, middle)
            numeric = _towards(x0, change, high, space.integer)
        return {"rows": rows, "numeric": numeric, "codes": codes}


def _towards(x0: np.ndarray, change: np.ndarray, fraction: np.ndarray, integer: np.ndarray) -> np.ndarray:
    """``x0 + fraction * change`` per row, integer columns rounded away from ``x0`` (never past the candidate)."""
    point = x0 + fraction[:, None] * change
    point[:, integer] = np.where(change[:, integer] > 0, np.ceil(point[:, integer]), np.floor(point[:, integer]))
    return point


def _predict(adapter, space: FeatureSpace, numeric: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Class indices of candidate rows, without filling the adapter's cache."""
    return uncached_logits(adapter, space.frame(numeric, codes, rows)).argmax(axis=1)


def _nearest(space: FeatureSpace, pool: dict[str, np.ndarray], keep: int) -> dict[str, np.ndarray]:
    """The ``keep`` nearest candidates of each row."""
    rows = pool["rows"]
    if not len(rows):
        return pool
    order = np.lexsort((space.distance(pool["numeric"], pool["codes"], rows), rows))
    ranked = rows[order]
    start = np.searchsorted(ranked, ranked, side="left")
    chosen = order[np.arange(len(ranked)) - start < keep]
    return {key: value[chosen] for key, value in pool.items()}


def _select(space: FeatureSpace, pool: dict[str, np.ndarray], n: int, weight: float) -> dict[str, np.ndarray]:
    """Per row, up to ``n`` candidates: the nearest, then greedily the most diverse near ones."""
    rows, numeric, codes = pool["rows"], pool["numeric"], pool["codes"]
    if not len(rows):
        return pool
    distance = space.distance(numeric, codes, rows)
    # deduplicate identical candidates of a row, then pad each row's candidates into (m, P) slots
    key = pd.DataFrame(np.column_stack([rows, numeric, codes])).duplicated().to_numpy()
    rows, numeric, codes, distance = rows[~key], numeric[~key], codes[~key], distance[~key]
    order = np.lexsort((distance, rows))
    rows, numeric, codes, distance = rows[order], numeric[order], codes[order], distance[order]
    owners, start, counts = np.unique(rows, return_index=True, return_counts=True)
    slot = np.arange(len(rows)) - np.repeat(start, counts)
    width = int(counts.max())
    m = len(owners)
    owner_of = np.repeat(np.arange(m), counts)
    cand = np.full((m, width), -1, dtype=np.int64)
    cand[owner_of, slot] = np.arange(len(rows))
    present = cand >= 0
    dist = np.where(present, distance[np.maximum(cand, 0)], np.inf)
    scaled_num = numeric / space.scale
    picked = np.full((m, n), -1, dtype=np.int64)
    nearest_to_chosen = np.full((m, width), np.inf)
    available = present.copy()
    for step in range(n):
        if step == 0:
            score = -dist
        else:
            score = weight * nearest_to_chosen - dist
        score = np.where(available, score, -np.inf)
        best = score.argmax(axis=1)
        ok = np.isfinite(score[np.arange(m), best])
        chosen = cand[np.arange(m), best]
        picked[ok, step] = chosen[ok]
        available[np.arange(m)[ok], best[ok]] = False
        if step + 1 < n:  # L1 distance of every candidate to the one just chosen
            safe = np.maximum(cand, 0)
            gap = np.nansum(np.abs(scaled_num[safe] - scaled_num[np.maximum(chosen, 0)][:, None, :]), axis=2)
            gap += (codes[safe] != codes[np.maximum(chosen, 0)][:, None, :]).sum(axis=2)
            nearest_to_chosen = np.where(ok[:, None], np.minimum(nearest_to_chosen, gap), nearest_to_chosen)
    index = picked[picked >= 0]
    rank = np.tile(np.arange(n), (m, 1))[picked >= 0]
    return {"rows": rows[index], "numeric": numeric[index], "codes": codes[index], "rank": rank}


def _result(space: FeatureSpace, X: pd.DataFrame, classes: np.ndarray, prediction: np.ndarray,
            desired: np.ndarray, chosen: dict[str, np.ndarray], n: int) -> CounterfactualResult:
    rows, numeric, codes = chosen["rows"], chosen["numeric"], chosen["codes"]
    rank = chosen.get("rank", np.zeros(0, dtype=np.int64))
    order = np.lexsort((rank, rows))
    rows, numeric, codes, rank = rows[order], numeric[order], codes[order], rank[order]
    distance = space.distance(numeric, codes, rows)
    changed = space.changed(numeric, codes, rows)
    names = np.array([str(c) for c in (*space.num_cols, *space.cat_cols)], dtype=object)
    found = np.bincount(rows, minlength=len(X))
    needed = desired != prediction
    missing = np.flatnonzero(needed & (found == 0))
    frame = space.frame(numeric, codes, rows)
    lines = pd.DataFrame({"row": X.index[rows], "rank": rank, "valid": True, "distance": distance,
                          "n_changed": changed.sum(axis=1),
                          "changed": [", ".join(names[mask]) for mask in changed]})
    lines = pd.concat([lines.reset_index(drop=True), frame.reset_index(drop=True)], axis=1)
    if len(missing):
        empty = pd.DataFrame({"row": X.index[missing], "rank": 0, "valid": False, "distance": np.nan,
                              "n_changed": 0, "changed": ""})
        lines = pd.concat([lines, pd.concat([empty, X.iloc[missing].reset_index(drop=True)], axis=1)],
                          ignore_index=True)
    nearest = pd.Series(distance).groupby(rows).min()
    first = pd.Series(changed.sum(axis=1)).groupby(rows).first()  # rank 0 is the nearest
    diversity = _diversity(space, rows, numeric, codes)
    per_row = pd.DataFrame({"row": X.index, "prediction": classes[prediction], "desired": classes[desired],
                            "needed": needed, "found": found,
                            "distance": nearest.reindex(range(len(X))).to_numpy(),
                            "n_changed": first.reindex(range(len(X))).to_numpy(),
                            "diversity": diversity.reindex(range(len(X))).to_numpy()})
    with np.errstate(invalid="ignore"):
        validity = float((found[needed] > 0).mean()) if needed.any() else float("nan")
    return CounterfactualResult(
        counterfactuals=lines, rows=per_row, validity=validity,
        proximity=float(np.nanmean(per_row["distance"])) if len(nearest) else float("nan"),
        sparsity=float(changed.sum(axis=1).mean()) if len(rows) else float("nan"),
        diversity=float(np.nanmean(per_row["diversity"])) if diversity.notna().any() else float("nan"))


def _diversity(space: FeatureSpace, rows: np.ndarray, numeric: np.ndarray, codes: np.ndarray) -> pd.Series:
    """Mean pairwise L1 distance of each row's counterfactuals (rows with at least 2)."""
    if not len(rows):
        return pd.Series(dtype=float)
    a, b = _same_row_pairs(rows)
    gap = np.nansum(np.abs(numeric[a] - numeric[b]) / space.scale, axis=1) + (codes[a] != codes[b]).sum(axis=1)
    return pd.Series(gap).groupby(rows[a]).mean()


def _same_row_pairs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of entries of the same row, for sorted ``rows`` (no n^2 table)."""
    _, start, counts = np.unique(rows, return_index=True, return_counts=True)
    firsts, seconds = [], []
    for size in np.unique(counts[counts > 1]):  # a few distinct group sizes (<= n)
        i, j = np.triu_indices(int(size), k=1)
        base = start[counts == size]
        firsts.append((base[:, None] + i).ravel())
        seconds.append((base[:, None] + j).ravel())
    if not firsts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)
