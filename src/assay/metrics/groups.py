"""Group encoding: the finest cell of every row, and every grouping as a union of cells.

:func:`make_groups` returns :class:`Groups` (each feature, each intersection, the finest cells)
with a group code per row. The encoders here (``_feature_columns``, ``_encode_column``,
``_CellIndex``) are what :class:`~assay.metrics.grouped_stats.GroupedStats` counts with.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import _MISSING_GROUP, _SINGLE_GROUP, SEPARATOR, check_bool, sensitive_feature_columns


_BAD_FEATURES = "'{name}' must be {expected}. Got {received} instead."
_TOO_MANY_CELLS = (
    "'sensitive_features' has too many combinations of values to index ({size:.3g} possible "
    "cells); use fewer or coarser features."
)

_DENSE_CELLS = 1 << 16
"""Cells are counted in the full space of value combinations when it is at most this large
(or at most the number of rows); beyond that, the combinations present are indexed first."""


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value



# ---------------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Grouping:
    """One way of splitting the rows into groups: a feature, or an intersection of features.

    Attributes
    ----------
    name : str
        ``"sex"``, or ``"sex x race"`` for an intersection.
    features : tuple of str
        The sensitive features it splits by.
    labels : tuple
        Group labels in sorted order: strings for one feature, tuples of strings for an
        intersection (only combinations that occur in the data).
    codes : ndarray of int64, shape (n_samples,)
        The group of each row, an index into ``labels``.
    cell_map : ndarray of int64, shape (n_cells,)
        The group of each finest cell (see :attr:`Groups.cells`): statistics of the finest
        cells summed with this map are the statistics of this grouping.
    """

    name: str
    features: tuple[str, ...]
    labels: tuple[Hashable, ...]
    codes: np.ndarray
    cell_map: np.ndarray

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.labels)

    @property
    def label_strings(self) -> tuple[str, ...]:
        """Labels as strings; intersections joined with ``" x "`` ("Female x Black")."""
        return tuple(SEPARATOR.join(lab) if isinstance(lab, tuple) else str(lab) for lab in self.labels)

    def __repr__(self) -> str:
        return f"Grouping(name={self.name!r}, n_groups={self.n_groups})"


@dataclasses.dataclass(frozen=True, eq=False)
class Groups:
    """The groupings of a set of sensitive features; iterate over it for each :class:`Grouping`.

    Attributes
    ----------
    features : tuple of str
        The sensitive features, in the given column order.
    groupings : tuple of Grouping
        Each feature alone, then (with intersections) every combination of 2..k features, in
        ``itertools.combinations`` order of the columns.
    cells : Grouping
        The finest partition: the intersection of all features (always computed, even without
        intersections). Every grouping is a union of cells.
    """

    features: tuple[str, ...]
    groupings: tuple[Grouping, ...]
    cells: Grouping

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the groupings."""
        return tuple(g.name for g in self.groupings)

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return len(self.cells.codes)

    def __iter__(self) -> Iterator[Grouping]:
        return iter(self.groupings)

    def __len__(self) -> int:
        return len(self.groupings)

    def __getitem__(self, name: str) -> Grouping:
        for grouping in self.groupings:
            if grouping.name == name:
                return grouping
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"Groups(features={list(self.features)!r}, groupings={list(self.names)!r})"


def _combine(keys: np.ndarray, cardinalities: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mixed-radix code of each row of ``keys`` compacted to 0..m-1 in lexicographic order.

    Returns ``(codes, first)``: the compact code of each row and, for each code, one row that has it.
    """
    combined = np.zeros(len(keys), dtype=np.int64)
    for j, cardinality in enumerate(cardinalities):
        combined = combined * cardinality + keys[:, j]
    _, first, codes = np.unique(combined, return_index=True, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), first


# -- reading sensitive features ---------------------------------------------------------------


def _feature_columns(
    sensitive_features: Any, n_samples: int | None, name: str = "sensitive_features", reference: str = "y_true"
) -> tuple[tuple[str, ...], list[np.ndarray | pd.Series]]:
    """Feature names and one column per feature: :func:`assay.core.validation.sensitive_feature_columns`."""
    return sensitive_feature_columns(sensitive_features, n_samples, name=name, reference=reference)


@dataclasses.dataclass(frozen=True, eq=False)
class _Coded:
    """One sensitive feature of a batch as integers.

    ``table[raw[i]]`` is the index of row ``i``'s value in ``labels``, the sorted distinct
    values as strings (values are compared as strings, so ``1`` and ``"1"`` are one group).
    ``labels`` may hold values no row has (unused categories); cells only list what occurs.
    """

    raw: np.ndarray
    table: np.ndarray
    labels: tuple[str, ...]


def _sorted_strings(raw: np.ndarray, strings: Sequence[str], table_size: int | None = None,
                    at: np.ndarray | None = None) -> _Coded:
    labels, inverse = np.unique(np.asarray(list(strings), dtype=object), return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    if at is None:
        table = inverse
    else:  # raw values index a table with gaps (values that do not occur)
        table = np.full(table_size, -1, dtype=np.int64)
        table[at] = inverse
    return _Coded(raw, table, tuple(str(v) for v in labels))


def _encode_column(values: np.ndarray | pd.Series, column: str, name: str) -> _Coded:
    """Integer codes of one feature's rows; labels are the values as strings, sorted.

    Categoricals use their codes (no pass over the rows), small non-negative integers and
    booleans index a table directly, anything else is hashed once (``pd.factorize``); only
    the distinct values are converted to strings.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        raw = np.asarray(values.array.codes)  # a view: no copy of the rows
        _check_missing(raw, column, name)
        strings = pd.Series(values.cat.categories).astype(str).tolist()
        return _sorted_strings(raw, strings)
    arr = values.to_numpy() if isinstance(values, pd.Series) and isinstance(values.dtype, np.dtype) else values
    if isinstance(arr, np.ndarray) and arr.dtype.kind == "b":
        return _sorted_strings(arr.view(np.uint8), ["False", "True"])
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "iu" and arr.size and arr.dtype.itemsize <= 8:
        low, high = int(arr.min()), int(arr.max())
        if low >= 0 and high < max(_DENSE_CELLS, arr.size) and not (arr.dtype.kind == "u" and arr.dtype.itemsize == 8):
            present = np.flatnonzero(np.bincount(arr, minlength=high + 1))
            return _sorted_strings(arr, [str(v) for v in present.tolist()], high + 1, present)
    raw, uniques = pd.factorize(values if isinstance(values, pd.Series) else arr, use_na_sentinel=True)
    _check_missing(raw, column, name)
    strings = pd.Series(uniques).astype(str).tolist()
    return _sorted_strings(raw, strings)


def _check_missing(raw: np.ndarray, column: str, name: str) -> None:
    if raw.dtype.kind == "i" and raw.size and raw.min() < 0:  # min: no temporary the size of the rows
        missing = int(np.count_nonzero(raw < 0))
        if missing:
            raise AssayInputError(_MISSING_GROUP.format(name=name, column=column, count=missing))


class _CellIndex:
    """The finest cell -- the combination of every feature's value -- of each row of a batch.

    A combination is a mixed-radix key over the features' sorted labels, so keys sort as the
    tuples of labels do. When the space of keys is small, rows are counted directly by key
    (:attr:`dense`) and empty keys dropped afterwards; otherwise the keys that occur are
    indexed first (one hash of the rows).
    """

    def __init__(self, coded: list[_Coded], n_rows: int, slots: int) -> None:
        self.coded = coded
        self.cards = [len(c.labels) for c in coded]
        size, strides = 1, []
        for card in reversed(self.cards):
            strides.append(size)
            size *= card
        if size >= 2**62:
            raise AssayInputError(_TOO_MANY_CELLS.format(size=float(size)))
        self.strides = strides[::-1]
        self.size = size
        self._tables = [c.table * s for c, s in zip(coded, self.strides)]
        self.dense = size * slots <= max(_DENSE_CELLS, n_rows)
        if self.dense:
            self.n_slots = size
            self._keys: np.ndarray | None = None
        else:
            codes, keys = pd.factorize(self._key(0, n_rows), sort=True)
            self._codes = codes.astype(np.int64, copy=False)
            self._keys = np.asarray(keys, dtype=np.int64)
            self.n_slots = len(self._keys)

    def _key(self, start: int, stop: int) -> np.ndarray:
        key = self._tables[0][self.coded[0].raw[start:stop]]
        for table, coded in zip(self._tables[1:], self.coded[1:]):
            key += table[coded.raw[start:stop]]
        return key

    def slots(self, start: int, stop: int) -> np.ndarray:
        """The slot (cell index in ``[0, n_slots)``) of rows ``start:stop``, a fresh int64 array."""
        return self._key(start, stop) if self.dense else self._codes[start:stop].copy()

    def labels(self, slots: np.ndarray) -> list[tuple[str, ...]]:
        """The label tuple of each slot (sorted slots give sorted tuples)."""
        keys = slots if self._keys is None else self._keys[slots]
        parts = [
            np.asarray(c.labels, dtype=object)[(keys // stride) % card].tolist()
            for c, stride, card in zip(self.coded, self.strides, self.cards)
        ]
        return list(zip(*parts))


def _cell_rows(sensitive_features: Any, n_samples: int | None, name: str = "sensitive_features"
               ) -> tuple[tuple[str, ...], np.ndarray, list[tuple[str, ...]]]:
    """Features, the cell code of each row (0..C-1) and the cells' label tuples (sorted)."""
    features, columns = _feature_columns(sensitive_features, n_samples, name)
    coded = [_encode_column(col, feature, name) for feature, col in zip(features, columns)]
    n = len(columns[0])
    index = _CellIndex(coded, n, 1)
    if index.dense:
        keys = index.slots(0, n)
        present = np.flatnonzero(np.bincount(keys, minlength=index.size))
        lookup = np.full(index.size, -1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        return features, lookup[keys], index.labels(present)
    return features, index._codes, index.labels(np.arange(index.n_slots))


def _groupings_of_cells(
    features: tuple[str, ...],
    cells: Sequence[tuple[str, ...]],
    intersections: bool,
    name: str = "sensitive_features",
) -> tuple[list[tuple[str, tuple[str, ...], tuple[Hashable, ...], np.ndarray]], np.ndarray]:
    """Every grouping as ``(name, features, labels, cell_map)``, from the cells alone.

    Returns the groupings (each feature, then with ``intersections`` every combination of
    2..k features) and the identity map of the cells. Raises if a feature has a single group.
    """
    keys = np.empty((len(cells), len(features)), dtype=np.int64)
    uniques = []
    for j, feature in enumerate(features):
        values = sorted({cell[j] for cell in cells})
        if len(values) < 2:
            raise AssayInputError(_SINGLE_GROUP.format(name=name, column=feature, group=values[0]))
        lookup = {v: i for i, v in enumerate(values)}
        keys[:, j] = [lookup[cell[j]] for cell in cells]
        uniques.append(np.asarray(values, dtype=object))
    cards = [len(u) for u in uniques]

    def grouping(columns: tuple[int, ...]) -> tuple[str, tuple[str, ...], tuple[Hashable, ...], np.ndarray]:
        sub = keys[:, columns]
        cell_map, first = _combine(sub, [cards[j] for j in columns])
        group_keys = sub[first]
        if len(columns) == 1:
            labels: tuple[Hashable, ...] = tuple(str(v) for v in uniques[columns[0]][group_keys[:, 0]])
        else:
            labels = tuple(
                tuple(str(uniques[j][key[i]]) for i, j in enumerate(columns)) for key in group_keys
            )
        names = tuple(features[j] for j in columns)
        return SEPARATOR.join(names), names, labels, cell_map

    sizes = range(1, len(features) + 1) if intersections else range(1, 2)
    groupings = [grouping(c) for size in sizes for c in itertools.combinations(range(len(features)), size)]
    return groupings, np.arange(len(cells), dtype=np.int64)


def make_groups(
    sensitive_features: Any, intersections: bool = True, *, n_samples: int | None = None
) -> Groups:
    """Groupings of the rows by each sensitive feature and, optionally, their intersections.

    Parameters
    ----------
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        One column per feature (as :func:`assay.core.validation.check_sensitive_features`);
        values are compared as strings. Each feature needs at least two groups.
    intersections : bool, default True
        Also group by every combination of 2..k features (``"sex x race"``).
    n_samples : int, optional
        Expected number of rows (checked).

    Returns
    -------
    Groups
        Group labels are sorted (as strings; intersections lexicographically by feature).
        Intersections list only the combinations present in the data.
    """
    check_bool(intersections, "intersections", owner="make_groups")
    features, cell_codes, cells = _cell_rows(sensitive_features, n_samples)
    groupings, identity = _groupings_of_cells(features, cells, bool(intersections))
    made = tuple(
        Grouping(name, names, labels, cell_map[cell_codes], cell_map)
        for name, names, labels, cell_map in groupings
    )
    cells_labels = tuple(cells) if len(features) > 1 else tuple(c[0] for c in cells)
    cell_grouping = Grouping(SEPARATOR.join(features), features, cells_labels, cell_codes, identity)
    return Groups(features, made, cell_grouping)

