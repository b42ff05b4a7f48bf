"""k-anonymity, l-diversity and t-closeness of a table for chosen quasi-identifiers.

An *equivalence class* is the set of rows sharing every quasi-identifier value (missing values
count as a value). A table is k-anonymous when every class has at least k rows (Sweeney 2002);
l-diverse when every class holds at least l distinct sensitive values ("distinct") or its
sensitive values have entropy at least log(l) ("entropy"; Machanavajjhala et al. 2007); t-close
when the distribution of the sensitive value in every class is within Earth Mover's Distance t of
its distribution in the whole table (Li, Li & Venkatasubramanian 2007): the *ordered* distance for
numeric (and ordered categorical) columns, ground distance |i - j| / (m - 1) between the i-th and
j-th of the m distinct values, and the *equal* distance (half the L1 distance, total variation)
for categorical ones. Every measure is one vectorised group-by (:mod:`assay.privacy._classes`).

Results list the violating classes by their quasi-identifier values and size only (at most
``max_shown``, smallest or farthest first): never another column of their rows, never their
sensitive values. The generaliser that repairs a table is :func:`generalize`.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import check_option, check_scalar
from ._classes import (
    check_columns,
    check_k,
    check_table,
    class_codes,
    class_table,
    column_codes,
)
from ._generalize import GeneralizationResult, generalize

__all__ = ["GeneralizationResult", "KAnonymityResult", "LDiversityResult", "TClosenessResult", "generalize",
           "k_anonymity", "l_diversity", "t_closeness"]

def _max_shown(value: Any, owner: str) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    return check_scalar(value, "max_shown", owner=owner, kind=numbers.Integral, low=0)


# ---------------------------------------------------------------------------------------------
# k-anonymity
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KAnonymityResult(Result):
    """k-anonymity of a table for ``quasi_identifiers``.

    ``k`` is the size of the smallest equivalence class; ``target_k`` the k asked for. Classes
    smaller than ``target_k`` violate it: ``n_violating_classes`` of them hold
    ``n_violating_rows`` rows; ``n_unique_rows`` rows are alone in their class (re-identifiable
    from the quasi-identifiers alone). ``violating`` lists at most ``max_shown`` of them, smallest
    first (quasi-identifier values and ``size`` only); ``class_sizes`` counts classes and rows per
    size below ``target_k``.
    """

    quasi_identifiers: tuple
    k: int
    target_k: int
    n_rows: int
    n_classes: int
    n_violating_classes: int
    n_violating_rows: int
    n_unique_rows: int
    violating: pd.DataFrame
    class_sizes: pd.DataFrame

    @property
    def is_k_anonymous(self) -> bool:
        """Whether every class has at least ``target_k`` rows."""
        return self.k >= self.target_k

    def to_frame(self) -> pd.DataFrame:
        """The violating classes shown (quasi-identifier values and size)."""
        return self.violating.copy()


def k_anonymity(frame: pd.DataFrame, quasi_identifiers: Any, *, k: int = 5, max_shown: int = 50
                ) -> KAnonymityResult:
    """The k of ``frame`` for ``quasi_identifiers`` and the classes smaller than ``k``.

    Parameters
    ----------
    frame : DataFrame, shape (n, d)
    quasi_identifiers : column name or list of column names
        Columns an attacker could link to other data (age, ZIP code, sex, ...).
    k : int >= 1, default 5
        The target: classes with fewer rows are listed as violating.
    max_shown : int, default 50
        At most this many violating classes are listed (smallest first).
    """
    owner = "k_anonymity"
    frame = check_table(frame, owner=owner)
    qis = check_columns(frame, quasi_identifiers, arg="quasi_identifiers", owner=owner)
    k = check_k(k, "k", owner=owner)
    shown = _max_shown(max_shown, owner)
    codes, sizes = class_codes(frame, qis)
    small = np.flatnonzero(sizes < k)
    order = small[np.argsort(sizes[small], kind="stable")][:shown]
    violating = class_table(frame, qis, codes, order, size=sizes[order])
    counts = np.bincount(sizes[small], minlength=k)[1:k] if len(small) else np.zeros(k - 1, dtype=np.int64)
    present = np.flatnonzero(counts) + 1
    class_sizes = pd.DataFrame({"n_classes": counts[present - 1], "n_rows": counts[present - 1] * present},
                               index=pd.Index(present, name="size"))
    return KAnonymityResult(tuple(qis), int(sizes.min()), k, len(frame), len(sizes), len(small),
                            int(sizes[small].sum()), int((sizes == 1).sum()), violating, class_sizes)


# ---------------------------------------------------------------------------------------------
# l-diversity
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LDiversityResult(Result):
    """l-diversity of a table for ``quasi_identifiers`` and ``sensitive`` columns.

    ``l_distinct``: the fewest distinct sensitive values in a class (min over classes and
    sensitive columns); ``l_entropy``: exp of the smallest entropy of a class's sensitive values
    (the table is entropy l-diverse for every l <= it). ``per_column``: both per sensitive column
    with the classes and rows violating ``target_l`` (distinct or entropy). ``violating``: at most
    ``max_shown`` violating classes per sensitive column, least diverse first (quasi-identifier
    values, size, ``distinct``, ``entropy_l``; never the sensitive values).
    """

    quasi_identifiers: tuple
    sensitive: tuple
    l_distinct: int
    l_entropy: float
    target_l: float
    n_classes: int
    per_column: pd.DataFrame
    violating: pd.DataFrame

    @property
    def l(self) -> int:
        """Distinct l-diversity: the fewest distinct sensitive values in a class."""
        return self.l_distinct

    def to_frame(self) -> pd.DataFrame:
        """Per sensitive column: l (distinct and entropy) and the violating classes and rows."""
        return self.per_column.copy()


def _class_value_counts(class_codes_: np.ndarray, n_classes: int, column: pd.Series
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(class, value, count) of every pair present, and the number of distinct values."""
    values, m = column_codes(column)
    pairs, counts = np.unique(class_codes_ * m + values, return_counts=True)
    return pairs // m, pairs % m, counts, m


def l_diversity(frame: pd.DataFrame, quasi_identifiers: Any, sensitive: Any, *, l: float = 2,
                max_shown: int = 50) -> LDiversityResult:
    """Distinct and entropy l-diversity of ``sensitive`` in the classes of ``quasi_identifiers``.

    Parameters
    ----------
    frame : DataFrame
    quasi_identifiers, sensitive : column name or list of column names (disjoint)
        Missing sensitive values count as one value.
    l : float >= 1, default 2
        The target; classes with fewer distinct values, or entropy below log(l), violate it.
    max_shown : int, default 50
    """
    owner = "l_diversity"
    frame = check_table(frame, owner=owner)
    qis = check_columns(frame, quasi_identifiers, arg="quasi_identifiers", owner=owner)
    sens = _sensitive(frame, sensitive, qis, owner)
    target = check_scalar(l, "l", owner=owner, low=1)
    shown = _max_shown(max_shown, owner)
    codes, sizes = class_codes(frame, qis)
    n_classes = len(sizes)
    rows, tables = [], []
    for column in sens:
        cls, _, counts, _ = _class_value_counts(codes, n_classes, frame[column])
        distinct = np.bincount(cls, minlength=n_classes)
        p = counts / sizes[cls]
        entropy = -np.bincount(cls, weights=p * np.log(p), minlength=n_classes)
        entropy_l = np.exp(np.maximum(entropy, 0.0))
        bad = np.flatnonzero((distinct < target) | (entropy_l < target * (1 - 1e-12)))
        order = bad[np.lexsort((sizes[bad], entropy_l[bad], distinct[bad]))][:shown]
        rows.append({"sensitive": column, "l_distinct": int(distinct.min()), "l_entropy": float(entropy_l.min()),
                     "n_violating_classes": len(bad), "n_violating_rows": int(sizes[bad].sum())})
        table = class_table(frame, qis, codes, order, size=sizes[order], distinct=distinct[order],
                            entropy_l=entropy_l[order])
        table.insert(0, "sensitive", column)
        tables.append(table)
    per_column = pd.DataFrame(rows).set_index("sensitive")
    violating = pd.concat(tables, ignore_index=True)
    return LDiversityResult(tuple(qis), tuple(sens), int(per_column["l_distinct"].min()),
                            float(per_column["l_entropy"].min()), float(target), n_classes, per_column, violating)


def _sensitive(frame: pd.DataFrame, sensitive: Any, qis: list, owner: str) -> list:
    sens = check_columns(frame, sensitive, arg="sensitive", owner=owner)
    both = [c for c in sens if c in qis]
    if both:
        raise AssayInputError(f"'sensitive' of {owner} names {both!r}, which 'quasi_identifiers' also names: a "
                              "sensitive column is what the classes must not reveal, so it cannot define them.")
    return sens


# ---------------------------------------------------------------------------------------------
# t-closeness
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TClosenessResult(Result):
    """t-closeness of a table: ``t`` is the largest Earth Mover's Distance between a class's
    distribution of a sensitive column and the whole table's (max over classes and columns).

    ``distance`` maps each sensitive column to "ordered" or "equal"; ``per_column`` gives t and the
    classes and rows farther than ``target_t`` per column; ``violating`` lists at most ``max_shown``
    of them per column, farthest first (quasi-identifier values, size, ``distance``).
    """

    quasi_identifiers: tuple
    sensitive: tuple
    t: float
    target_t: float
    distance: dict
    n_classes: int
    per_column: pd.DataFrame
    violating: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Per sensitive column: the distance used, t and the violating classes and rows."""
        return self.per_column.copy()


def _ordered_emd(cls: np.ndarray, val: np.ndarray, counts: np.ndarray, sizes: np.ndarray, q: np.ndarray
                 ) -> np.ndarray:
    """EMD with ground distance |i - j| / (m - 1) of every class: sum over i < m - 1 of
    |P_c(i) - Q(i)| / (m - 1), P_c and Q the cumulative distributions over the m ranks.

    P_c is constant between the ranks its class holds, and Q is non-decreasing, so the sum over a
    run of ranks at level a is a(t - lo) - (S(t) - S(lo)) + (S(hi + 1) - S(t)) - a(hi + 1 - t),
    S the prefix sums of Q and t the first rank with Q >= a: O(pairs log m), no class x value table.
    ``cls`` / ``val`` / ``counts``: the (class, rank) pairs present, sorted by class then rank.
    """
    n_classes, m = len(sizes), len(q)
    out = np.zeros(n_classes)
    if m < 2:
        return out
    Q = np.cumsum(q)[: m - 1]  # ranks 0 .. m - 2
    S = np.concatenate([[0.0], np.cumsum(Q)])

    def run_sum(level: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        t = np.clip(np.searchsorted(Q, level, side="left"), lo, hi + 1)
        return level * (t - lo) - (S[t] - S[lo]) + (S[hi + 1] - S[t]) - level * (hi + 1 - t)

    first = np.ones(len(cls), dtype=bool)
    first[1:] = cls[1:] != cls[:-1]
    last = np.ones(len(cls), dtype=bool)
    last[:-1] = cls[1:] != cls[:-1]
    group_start = np.flatnonzero(first)
    running = np.cumsum(counts)
    before = np.repeat(running[group_start] - counts[group_start], np.diff(np.append(group_start, len(cls))))
    level = (running - before) / sizes[cls]
    lo = val
    hi = np.where(last, m - 2, np.append(val[1:], 0) - 1)
    hi = np.minimum(hi, m - 2)
    keep = hi >= lo
    total = np.bincount(cls[keep], weights=run_sum(level[keep], lo[keep], hi[keep]), minlength=n_classes)
    total += S[val[first]] - S[0]  # ranks below the class's first value: P = 0, |0 - Q| = Q
    return total / (m - 1)


def _distance_kind(series: pd.Series, distance: str) -> str:
    """"ordered" for numeric and ordered categorical columns, "equal" otherwise (under "auto")."""
    if distance != "auto":
        return distance
    ordered = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    ordered = ordered or (isinstance(series.dtype, pd.CategoricalDtype) and series.dtype.ordered)
    return "ordered" if ordered else "equal"


def class_distances(codes: np.ndarray, sizes: np.ndarray, series: pd.Series, kind: str) -> np.ndarray:
    """EMD (in [0, 1]) between each class's distribution of ``series`` and the distribution of all
    rows given, shape (n_classes,). ``codes`` (n,) class of each row, ``sizes`` (n_classes,)."""
    column, n, n_classes = series.name, len(series), len(sizes)
    if kind == "ordered":
        if series.isna().any():
            raise AssayInputError(f"'sensitive' column {column!r} has {int(series.isna().sum())} missing "
                                  "value(s); the ordered distance needs every value placed: fill or drop them, "
                                  "or pass distance='equal'.")
        try:
            values = series.cat.codes.to_numpy() if isinstance(series.dtype, pd.CategoricalDtype) else (
                series.to_numpy())
            _, ranks = np.unique(values, return_inverse=True)
        except TypeError:
            raise AssayInputError(f"'sensitive' column {column!r} cannot be ordered (mixed types); pass "
                                  "distance='equal'.") from None
        m = int(ranks.max()) + 1
        pairs, counts = np.unique(codes * m + ranks.ravel(), return_counts=True)
        cls, val = pairs // m, pairs % m
        q = np.bincount(ranks.ravel(), minlength=m) / n
        dist = _ordered_emd(cls, val, counts, sizes, q)
    else:
        cls, val, counts, m = _class_value_counts(codes, n_classes, series)
        q = np.bincount(column_codes(series)[0], minlength=m) / n
        qv = q[val]
        # 0.5 * (sum over present values |p - q| + sum over absent values q)
        dist = 0.5 * (np.bincount(cls, weights=np.abs(counts / sizes[cls] - qv), minlength=n_classes)
                      + 1.0 - np.bincount(cls, weights=qv, minlength=n_classes))
    return np.clip(dist, 0.0, 1.0)


def t_closeness(frame: pd.DataFrame, quasi_identifiers: Any, sensitive: Any, *, t: float = 0.2,
                distance: str = "auto", max_shown: int = 50) -> TClosenessResult:
    """t-closeness of ``sensitive`` in the classes of ``quasi_identifiers``.

    Parameters
    ----------
    frame : DataFrame
    quasi_identifiers, sensitive : column name or list of column names (disjoint)
    t : float in [0, 1], default 0.2
        The target; classes farther than ``t`` from the table's distribution violate it.
    distance : {"auto", "ordered", "equal"}, default "auto"
        "ordered" for numeric and ordered categorical columns, "equal" for the others under "auto".
        An ordered column must have no missing values.
    max_shown : int, default 50
    """
    owner = "t_closeness"
    frame = check_table(frame, owner=owner)
    qis = check_columns(frame, quasi_identifiers, arg="quasi_identifiers", owner=owner)
    sens = _sensitive(frame, sensitive, qis, owner)
    target = check_scalar(t, "t", owner=owner, low=0, high=1)
    check_option(distance, "distance", owner=owner, options=("auto", "ordered", "equal"))
    shown = _max_shown(max_shown, owner)
    codes, sizes = class_codes(frame, qis)
    n_classes = len(sizes)
    kinds, rows, tables = {}, [], []
    for column in sens:
        series = frame[column]
        kind = _distance_kind(series, distance)
        dist = class_distances(codes, sizes, series, kind)
        kinds[column] = kind
        bad = np.flatnonzero(dist > target + 1e-12)
        order = bad[np.argsort(-dist[bad], kind="stable")][:shown]
        rows.append({"sensitive": column, "distance": kind, "t": float(dist.max()),
                     "n_violating_classes": len(bad), "n_violating_rows": int(sizes[bad].sum())})
        table = class_table(frame, qis, codes, order, size=sizes[order], distance=dist[order])
        table.insert(0, "sensitive", column)
        tables.append(table)
    per_column = pd.DataFrame(rows).set_index("sensitive")
    return TClosenessResult(tuple(qis), tuple(sens), float(per_column["t"].max()), float(target), kinds, n_classes,
                            per_column, pd.concat(tables, ignore_index=True))
