"""Metrics broken down by group and by intersections of groups.

Three layers, each built on the one before:

* :class:`GroupedStats` -- the mergeable statistics of a grouped table: for every finest cell
  (a combination of the values of all sensitive features, such as ``("F", "Black", "30-45")``)
  the confusion counts and the reliability-diagram sums. Its size is fixed by the number of
  cells, never by the number of rows. :meth:`GroupedStats.update` adds a batch (new cells are
  discovered on the fly), :meth:`GroupedStats.merge` adds another object's statistics. So the
  same statistics come from arrays, from an iterator of batches
  (:func:`evaluate_groups_batches`) or from a Dask DataFrame
  (:func:`assay.metrics.distributed.evaluate_groups_dask`), with identical numbers.
* :meth:`GroupedStats.compute` (= :meth:`GroupedMetrics.from_stats`) sums the cells into every
  grouping (each feature, each intersection, overall), applies the formulas of
  :mod:`assay.metrics.classification` and, with ``n_boot > 0``, adds percentile bootstrap
  intervals drawn from the counts (:mod:`assay.metrics.bootstrap`).
* :func:`evaluate_groups` is ``GroupedStats().update(...)`` then ``compute(...)``: one code path.

:func:`make_groups` gives the same groupings with a group code per row, for code that works
on rows. Small groups are flagged in the ``small`` column of ``by_group``, never hidden.

What "identical" means
----------------------
Row counts, and every statistic of unweighted data, are integers (confidence sums are held as
exact fixed-point integers, resolution ``2**-53``), so they do not depend on how the rows are
split into batches or partitions, nor on the order in which the parts are merged: arrays,
batches and Dask give bit-identical tables. Weighted sums are floating-point sums; they are
exact -- hence identical -- when every partial sum is representable (integer weights, or
dyadic weights such as 0.5 or 0.25, below ``2**53``), and otherwise agree to rounding
(relative differences of order ``1e-16`` times the number of parts).
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
import warnings
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result, to_jsonable
from ..core.validation import (
    check_consistent_length,
    check_option,
    check_random_state,
    check_scalar,
    describe,
)
from . import bootstrap as _bootstrap
from ._checks import (
    check_binary_labels,
    check_class_indices,
    check_labels_1d,
    check_prob,
    check_sample_weight,
)
from ._stats import CalibrationStats, ConfusionStats, MulticlassConfusionStats, sorted_classes
from .classification import AVERAGES, METRICS, multiclass_metric
from .scores import RankStats, ScoreStats, _same_table, _TableStack, _table_of_rows, row_losses

SEPARATOR = " x "
"""Joins feature names ("sex x race") and group labels ("Female x Black") of intersections."""

DEFAULT_METRICS = ("accuracy", "selection_rate", "tpr", "fpr")

_UNKNOWN_METRIC = "'metrics' must name metrics among {valid}. Got unknown name(s) {unknown} instead."
_EMPTY_METRICS = "'metrics' must name at least one metric among {valid}. Got {received} instead."
_NEEDS_INPUT = "'{name}' is required for the metric(s) {metrics}. Got None instead."
_DUPLICATE_FEATURES = "'sensitive_features' must have distinct column names. Got {columns}."
_UNKNOWN_FEATURE = "'feature' must be one of {valid} (or None for all). Got {received!r} instead."
_NOT_BOOL = "The '{name}' parameter of {owner} must be a bool. Got {received!r} instead."
_BAD_FEATURES = "'{name}' must be {expected}. Got {received} instead."
_LENGTH_MISMATCH = "Inputs must have the same number of rows. Got {lengths}."
_SINGLE_GROUP = (
    "'{name}' column '{column}' has a single group ({group!r}); at least two groups are needed "
    "to compare them."
)
_MISSING_GROUP = (
    "'{name}' column '{column}' has {count} missing value(s); give missing values a group of "
    "their own (e.g. fillna('missing')) or drop those rows."
)
_TOO_MANY_CELLS = (
    "'sensitive_features' has too many combinations of values to index ({size:.3g} possible "
    "cells); use fewer or coarser features."
)
_FEATURES_CHANGED = (
    "'{name}' must have the same features, in the same order, as the data already added "
    "{expected}. Got {received}."
)
_KIND_CHANGED = (
    "'{name}' must be given for every batch or for none: the data already added {before}, "
    "this batch {now}."
)
_MODE_CHANGED = (
    "'y_score' must have the same kind of columns in every batch: the data already added "
    "holds {held} calibration statistics, this batch gives {mode} (shape {shape})."
)
_NO_ROWS = "'{name}' holds no rows yet: call update() with a batch first."
_NOT_STATS = "'{name}' must be a GroupedStats. Got {received} instead."
_SETTING_MISMATCH = "'other' must have the same {what} as this GroupedStats ({left!r}). Got {right!r}."
_NO_RESAMPLES = (
    "{owner} needs bootstrap resamples: pass 'n_boot' > 0 to evaluate_groups (or compute). "
    "This table has n_boot=0."
)
_BAD_BATCH = (
    "'batches' must yield dicts with keys among {keys} or tuples (y_true, y_pred, y_score, "
    "sensitive_features[, sample_weight]). Got {received} as batch {index}."
)
_IN_BATCH = "In batch {index} of 'batches': {message}"
_NO_BATCHES = "'batches' must yield at least one batch. Got none."
_NOT_GROUPED = "'{name}' must be a GroupedMetrics (the result of evaluate_groups). Got {received} instead."
_TABLES_DIFFER = "'other' must have the same {what} as 'baseline'. {detail}"

_AGGREGATE_METHODS = ("between_groups", "to_overall")
_BATCH_KEYS = ("y_true", "y_pred", "y_score", "sensitive_features", "sample_weight")
_BOUNDS = ("lower", "upper")

_CHUNK = 1 << 16
"""Rows per pass of the counting loop (at most): temporaries stay small (memory) and in cache
(speed). Smaller batches use chunks of about a sixteenth of their rows (at least 8,192)."""
_MIN_CHUNK = 1 << 13
_DENSE_CELLS = 1 << 16
"""Cells are counted in the full space of value combinations when it is at most this large
(or at most the number of rows); beyond that, the combinations present are indexed first."""
_FIXED_SCALE = 2.0**53  # confidences in [0, 1] are summed as integers in units of 2**-53
_LIMB = 2.0**27  # ... split in two limbs so every partial sum stays exact in float64
_LOG_LOSS_BITS = 47  # per-row log loss in [0, 36.05] (p clipped at 2**-52): units of 2**-47
_BRIER_BITS = 51  # per-row Brier score in [0, 2]: units of 2**-51
_NEEDS_MULTICLASS = (
    "average={average!r} needs multiclass confusion matrices: build the GroupedStats with "
    "multiclass=True (evaluate_groups does so itself for average='ovr' or 'macro')."
)
_MULTICLASS_BINARY = (
    "'y_true' and 'y_pred' hold more than two classes {classes}: pass average='ovr' (pos_label "
    "against the rest) or average='macro' (mean over classes) for the label metrics."
)
_NEEDS_RANKS = (
    "{what} needs the per-cell score histograms: build the GroupedStats with keep_ranks=True "
    "(evaluate_groups does so itself when it needs them)."
)

FeatureSelection = str | Sequence[str] | None
"""Which features an aggregate covers: one name, several, or None for all."""


def _selected(features: tuple[str, ...], feature: FeatureSelection) -> list[str]:
    if feature is None:
        return list(features)
    return [feature] if isinstance(feature, str) else list(feature)


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


def _as_column(values: Any) -> np.ndarray | pd.Series:
    """A 1-D column: pandas Series are kept (categoricals stay categorical), the rest -> numpy."""
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, (pd.Index, pd.Categorical)):
        return pd.Series(values)
    if type(values).__module__.startswith("torch") and hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values).ravel()


def _feature_columns(
    sensitive_features: Any, n_samples: int | None, name: str = "sensitive_features"
) -> tuple[tuple[str, ...], list[np.ndarray | pd.Series]]:
    """Feature names and one column per feature, without copying or converting the rows.

    Accepts what :func:`assay.core.validation.check_sensitive_features` accepts: a Series, a
    DataFrame, a dict of name -> array, a 1-D array (one feature) or a 2-D array (one feature
    per column). Lengths are checked against ``n_samples``; values are read later.
    """
    sf = sensitive_features
    if isinstance(sf, pd.Series):
        names = [sf.name if sf.name is not None else "sensitive_feature"]
        columns: list[Any] = [sf]
    elif isinstance(sf, pd.DataFrame):
        names = list(sf.columns)
        columns = [sf.iloc[:, j] for j in range(sf.shape[1])]
    elif isinstance(sf, Mapping):
        if not sf:
            raise AssayInputError(_BAD_FEATURES.format(name=name, expected="a non-empty mapping", received="{}"))
        names = list(sf)
        columns = [_as_column(v) for v in sf.values()]
        lengths = [len(c) for c in columns]
        if len(set(lengths)) > 1:
            shown = ", ".join(f"{name}[{str(k)!r}]: {n}" for k, n in zip(names, lengths))
            raise AssayInputError(_LENGTH_MISMATCH.format(lengths=shown))
    else:
        try:
            arr = sf.detach().cpu().numpy() if type(sf).__module__.startswith("torch") else np.asarray(sf)
        except Exception:  # noqa: BLE001 - any failure here is a type error of the input
            arr = None
        if arr is None or arr.ndim not in (1, 2):
            raise AssayInputError(_BAD_FEATURES.format(
                name=name, expected="a Series, DataFrame, dict of arrays, or 1-D/2-D array",
                received=describe(sf),
            ))
        if arr.ndim == 1:
            names, columns = ["sensitive_feature"], [arr]
        else:
            names = [f"sensitive_feature_{i}" for i in range(arr.shape[1])]
            columns = [arr[:, i] for i in range(arr.shape[1])]
    features = tuple(str(c) for c in names)
    if not features:
        raise AssayInputError(_BAD_FEATURES.format(
            name=name, expected="at least one feature (column)", received=describe(sf)
        ))
    if len(set(features)) != len(features):
        raise AssayInputError(_DUPLICATE_FEATURES.format(columns=list(features)))
    n = len(columns[0])
    if n_samples is not None and n != n_samples:
        raise AssayInputError(
            _LENGTH_MISMATCH.format(lengths=f"{name}: {n}, expected {n_samples} (y_true)")
        )
    return features, columns


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
    if not isinstance(intersections, (bool, np.bool_)):
        raise AssayInputError(
            _NOT_BOOL.format(name="intersections", owner="make_groups", received=intersections)
        )
    features, cell_codes, cells = _cell_rows(sensitive_features, n_samples)
    groupings, identity = _groupings_of_cells(features, cells, bool(intersections))
    made = tuple(
        Grouping(name, names, labels, cell_map[cell_codes], cell_map)
        for name, names, labels, cell_map in groupings
    )
    cells_labels = tuple(cells) if len(features) > 1 else tuple(c[0] for c in cells)
    cell_grouping = Grouping(SEPARATOR.join(features), features, cells_labels, cell_codes, identity)
    return Groups(features, made, cell_grouping)


# ---------------------------------------------------------------------------------------------
# Mergeable statistics of a grouped table
# ---------------------------------------------------------------------------------------------


def _align_classes(sums: dict[str, np.ndarray], old: tuple[Any, ...], new: tuple[Any, ...]
                   ) -> dict[str, np.ndarray]:
    """Per-cell confusion matrices over classes ``old`` re-indexed to the classes ``new`` (a
    superset, sorted); other sums unchanged."""
    at = np.array([new.index(c) for c in old], dtype=np.int64)
    out = dict(sums)
    for key in ("class_rows", "class_weight", "class_weight_sq"):
        if key in sums:
            grown = np.zeros((sums[key].shape[0], len(new), len(new)), dtype=sums[key].dtype)
            grown[:, at[:, None], at[None, :]] = sums[key]
            out[key] = grown
    return out


def _equal_to(values: np.ndarray, label: Any) -> np.ndarray:
    out = np.asarray(values == label)
    return out if out.shape == values.shape else np.full(values.shape, bool(out))


def _to_fixed(conf: np.ndarray, bits: int = 53) -> tuple[np.ndarray, np.ndarray]:
    """Values below ``2**(53 - bits)`` as two integer-valued float limbs ``hi * 2**27 + lo``
    (units ``2**-bits``; confidences in [0, 1] with the default 53).

    Each limb is below 2**27, so bincount sums of up to 2**26 rows stay exact in float64.
    """
    q = np.rint(np.ldexp(conf, bits))
    hi = np.floor(q / _LIMB)
    return hi, q - hi * _LIMB


def _from_fixed(fixed: np.ndarray, bits: int = 53) -> np.ndarray:
    """Float sums from the integer limbs (last axis: hi, lo); one rounding, deterministic."""
    return (np.ldexp(fixed[..., 0].astype(np.float64), 27 - bits)
            + np.ldexp(fixed[..., 1].astype(np.float64), -bits))


class GroupedStats:
    """Mergeable statistics of a grouped table: sums per finest cell of the sensitive features.

    A *cell* is one combination of the values of every sensitive feature (``("F", "Black")``).
    For each cell the object holds fixed-size sums -- confusion counts when predicted labels
    are given; reliability-diagram sums per calibration bin and log-loss and Brier sums when
    scores are given; and row counts -- so its size grows with the number of cells, never with
    the number of rows. Every group of every feature and intersection is a union of cells, so
    the whole table (:meth:`compute`) follows from these sums.

    With ``keep_ranks=True`` it also holds, per cell, the sparse histogram of the scores by
    class (:class:`~assay.metrics.scores.RankStats`): what ROC AUC needs (exactly), and what
    the bootstrap of ``roc_auc``, ``log_loss`` and ``brier`` resamples. That part grows with
    the number of distinct scores (at most the number of rows; round the scores to bound it).

    * :meth:`update` adds a batch of rows (in place). Cells are discovered on the fly: a batch
      may lack some groups, a later batch may bring new ones.
    * :meth:`merge` (also ``a + b``) returns the statistics of both objects' rows, aligned on
      the union of their cells (kept in sorted order, so the result never depends on which
      part came first).

    Unweighted statistics are integers (see the module notes on what "identical" means), so
    any split of the rows into batches or partitions, merged in any order, gives exactly the
    statistics -- and the table -- of the concatenated rows. Objects pickle, so they travel
    between processes (:mod:`assay.metrics.distributed`).

    Parameters
    ----------
    pos_label : scalar, default 1
        The positive label.
    n_bins : int, default 15
        Equal-width calibration bins on [0, 1] (for ``ece``).
    keep_ranks : bool, default False
        Also hold the per-cell score histograms (needed by ``roc_auc``, and by bootstrap
        intervals of ``log_loss`` and ``brier``).
    multiclass : bool, default False
        Count a full confusion matrix per cell (any number of classes, discovered on the fly
        and kept sorted) instead of the binary counts of ``pos_label``: what label metrics
        with ``average="ovr"`` or ``"macro"`` need.

    Attributes
    ----------
    features : tuple of str or None
        The sensitive features (None before the first update).
    cells : tuple of tuple of str
        The cells seen so far, sorted; each is one value (as a string) per feature.
    has_labels, has_scores, weighted : bool or None
        Whether batches carry ``y_pred``, ``y_score``, ``sample_weight`` (fixed by the first
        update; every batch must agree).

    Examples
    --------
    >>> stats = GroupedStats()
    >>> for batch in batches:                                               # doctest: +SKIP
    ...     stats.update(batch.y, batch.pred, sensitive_features=batch[["sex", "race"]])
    >>> table = stats.compute(["accuracy", "tpr"], n_boot=200, random_state=0)  # doctest: +SKIP
    """

    def __init__(self, *, pos_label: Any = 1, n_bins: int = 15, keep_ranks: bool = False,
                 multiclass: bool = False) -> None:
        check_scalar(n_bins, "n_bins", owner="GroupedStats", kind=(int, np.integer), low=1)
        for name, value in (("keep_ranks", keep_ranks), ("multiclass", multiclass)):
            if not isinstance(value, (bool, np.bool_)):
                raise AssayInputError(_NOT_BOOL.format(name=name, owner="GroupedStats", received=value))
        self.multiclass = bool(multiclass)
        self.classes: tuple[Any, ...] = ()  # multiclass: the labels seen, sorted
        self.pos_label = _plain(pos_label)
        self.n_bins = int(n_bins)
        self.keep_ranks = bool(keep_ranks)
        self.n_score_columns: int | None = None  # columns of y_score (1 for a 1-D y_score)
        self._ranks = _TableStack()
        self.features: tuple[str, ...] | None = None
        self.cells: tuple[tuple[str, ...], ...] = ()
        self.has_labels: bool | None = None
        self.has_scores: bool | None = None
        self.weighted: bool | None = None
        self.mode: str | None = None
        self.labels_seen: tuple[Any, ...] = ()
        self._sums: dict[str, np.ndarray] = {}

    # -- reading ------------------------------------------------------------------------------

    @property
    def n_cells(self) -> int:
        """Number of cells seen."""
        return len(self.cells)

    @property
    def n(self) -> np.ndarray:
        """Unweighted rows per cell, int64 of shape (n_cells,)."""
        return self._sums["n"].copy() if self._sums else np.zeros(0, dtype=np.int64)

    @property
    def n_rows(self) -> int:
        """Total number of rows added."""
        return int(self._sums["n"].sum()) if self._sums else 0

    @property
    def confusion(self) -> ConfusionStats:
        """Confusion counts per cell (labels: the cells' tuples)."""
        self._require_rows("stats")
        if not self.has_labels:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics="['confusion']"))
        if self.multiclass:
            matrix = MulticlassConfusionStats(self.cells, classes=self.classes)
            matrix.matrix = self._sums["class_weight" if self.weighted else "class_rows"].astype(np.float64)
            matrix.n = self._sums["n"].copy()
            return matrix  # type: ignore[return-value]
        counts = self._sums["confusion_weight" if self.weighted else "confusion_rows"].astype(np.float64)
        stats = ConfusionStats(self.cells, pos_label=self.pos_label)
        stats.tn, stats.fp, stats.fn, stats.tp = (np.ascontiguousarray(counts[:, k]) for k in range(4))
        stats.n = self._sums["n"].copy()
        return stats

    @property
    def calibration(self) -> CalibrationStats:
        """Reliability-diagram sums per cell and bin (labels: the cells' tuples)."""
        self._require_rows("stats")
        if not self.has_scores:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics="['ece']"))
        rows = self._sums["bin_rows"]
        weight = self._sums["bin_weight"] if self.weighted else rows.astype(np.float64)
        stats = CalibrationStats(self.cells, n_bins=self.n_bins, pos_label=self.pos_label)
        stats.weight = weight.sum(axis=-1)
        stats.correct_sum = np.ascontiguousarray(weight[..., 1])
        stats.conf_sum = self._bin_conf().sum(axis=-1) if self.weighted else _from_fixed(
            self._sums["bin_conf_fixed"].sum(axis=-2)
        )
        stats.n = rows.sum(axis=-1)
        stats.mode = self.mode
        return stats

    @property
    def scores(self) -> ScoreStats:
        """Log-loss and Brier sums per cell (labels: the cells' tuples)."""
        self._require_rows("stats")
        if not self.has_scores:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics="['log_loss', 'brier']"))
        stats = ScoreStats(self.cells, pos_label=self.pos_label)
        if self.weighted:
            stats.weight = self._sums["score_weight"].copy()
            stats.log_loss_sum = self._sums["log_loss_sum"].copy()
            stats.brier_sum = self._sums["brier_sum"].copy()
        else:
            stats.weight = self._sums["n"].astype(np.float64)
            stats.log_loss_sum = _from_fixed(self._sums["log_loss_fixed"], _LOG_LOSS_BITS)
            stats.brier_sum = _from_fixed(self._sums["brier_fixed"], _BRIER_BITS)
        stats.n = self._sums["n"].copy()
        return stats

    @property
    def ranks(self) -> RankStats:
        """The score histograms per cell (labels: the cells' tuples); needs ``keep_ranks``."""
        self._require_rows("stats")
        if not self.has_scores:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics="['roc_auc']"))
        if not self.keep_ranks:
            raise AssayInputError(_NEEDS_RANKS.format(what="'roc_auc'"))
        width = self.n_score_columns
        n_classes = 2 if width == 1 else width
        return RankStats._from_table(self.cells, self.pos_label, n_classes, self._ranks.table())

    def _bin_conf(self) -> np.ndarray:
        """Confidence sums per cell, bin and outcome, float (C, n_bins, 2)."""
        if self.weighted:
            return self._sums["bin_conf"]
        return _from_fixed(self._sums["bin_conf_fixed"])

    def _require_rows(self, name: str) -> None:
        if self.features is None:
            raise AssayInputError(_NO_ROWS.format(name=name))

    # -- adding rows --------------------------------------------------------------------------

    def update(
        self,
        y_true: Any,
        y_pred: Any = None,
        *,
        y_score: Any = None,
        sensitive_features: Any,
        sample_weight: Any = None,
    ) -> GroupedStats:
        """Add a batch of rows (in place) and return ``self``.

        Parameters
        ----------
        y_true : array-like of shape (n,)
            True labels (binary; class indices ``0..k-1`` for top-label ``y_score``).
        y_pred : array-like of shape (n,), optional
            Predicted labels: collects confusion counts (label metrics). Binary, or any
            number of classes with ``multiclass=True``.
        y_score : array-like of shape (n,) or (n, k), optional
            Probabilities: collects reliability sums (``ece``); read as in
            :class:`~assay.metrics.CalibrationStats`.
        sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
            The same features, in the same order, in every batch. A batch may hold a single
            group of a feature (the check for two groups happens in :meth:`compute`).
        sample_weight : array-like of shape (n,), optional
            Non-negative row weights; given for every batch or for none.

        The whole batch is checked before anything is added: a batch that raises leaves the
        statistics unchanged.
        """
        y_true = check_labels_1d(y_true, name="y_true")
        if y_pred is not None:
            y_pred = check_labels_1d(y_pred, name="y_pred")
        if y_score is not None:
            y_score = check_prob(y_score, name="y_score")
        w = check_sample_weight(sample_weight)
        n = check_consistent_length(y_true=y_true, y_pred=y_pred, y_score=y_score, sample_weight=w)
        top_label = y_score is not None and y_score.ndim == 2 and y_score.shape[1] > 2
        mode = None if y_score is None else ("top_label" if top_label else "binary")
        self._check_kinds(y_pred is not None, y_score is not None, w is not None, mode,
                          getattr(y_score, "shape", None))
        width = None if y_score is None else (y_score.shape[1] if top_label else 1)
        if self.keep_ranks and None not in (width, self.n_score_columns) and width != self.n_score_columns:
            raise AssayInputError(_MODE_CHANGED.format(
                held=f"{self.n_score_columns}-class", mode=f"{width} classes", shape=y_score.shape
            ))
        seen = self.labels_seen
        classes, class_codes = self.classes, None
        if y_pred is not None and self.multiclass:
            both = pd.unique(np.concatenate([np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)]))
            classes = sorted_classes([*self.classes, *both])
            lookup = MulticlassConfusionStats(1, classes=classes)
            class_codes = (lookup.class_index(y_true, "y_true"), lookup.class_index(y_pred, "y_pred"))
        elif y_pred is not None:
            seen = tuple(check_binary_labels(y_true, y_pred, self.pos_label, seen=seen))
        if top_label:
            y_true = check_class_indices(y_true, y_score.shape[1], name="y_true", prob_name="y_score")
        elif y_score is not None and y_pred is None:
            seen = tuple(check_binary_labels(y_true, None, self.pos_label, seen=seen))
        features, columns = _feature_columns(sensitive_features, n)
        if self.features is not None and features != self.features:
            raise AssayInputError(_FEATURES_CHANGED.format(
                name="sensitive_features", expected=list(self.features), received=list(features)
            ))
        coded = [_encode_column(col, feature, "sensitive_features") for feature, col in zip(features, columns)]
        cells, sums, ranks = self._count(coded, n, y_true, y_pred, y_score, w, mode, class_codes, len(classes))
        if classes != self.classes:
            self._sums = _align_classes(self._sums, self.classes, classes)
            self.classes = classes
        self._add(features, cells, sums, [] if ranks is None else [ranks])
        self.has_labels, self.has_scores, self.weighted = y_pred is not None, y_score is not None, w is not None
        self.mode = self.mode or mode
        self.n_score_columns = self.n_score_columns or width
        self.labels_seen = seen
        return self

    def _check_kinds(self, has_labels: bool, has_scores: bool, weighted: bool, mode: str | None,
                     shape: Any = None) -> None:
        if self.features is None:
            return
        for name, before, now in (("y_pred", self.has_labels, has_labels),
                                  ("y_score", self.has_scores, has_scores),
                                  ("sample_weight", self.weighted, weighted)):
            if before != now:
                raise AssayInputError(_KIND_CHANGED.format(
                    name=name, before="had it" if before else "had None",
                    now="has it" if now else "has None",
                ))
        if mode is not None and self.mode is not None and mode != self.mode:
            raise AssayInputError(_MODE_CHANGED.format(held=self.mode, mode=mode, shape=shape))

    def _count(
        self,
        coded: list[_Coded],
        n: int,
        y_true: np.ndarray,
        y_pred: np.ndarray | None,
        y_score: np.ndarray | None,
        w: np.ndarray | None,
        mode: str | None,
        class_codes: tuple[np.ndarray, np.ndarray] | None = None,
        n_classes: int = 0,
    ) -> tuple[list[tuple[str, ...]], dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        """Sums of one batch per cell present in it: one pass over the rows, in chunks; and,
        with ``keep_ranks``, the batch's score histogram (groups: the cells present)."""
        n_bins = self.n_bins
        pairs = n_classes * n_classes if class_codes is not None else 4
        slots = (pairs if y_pred is not None else 0) + (2 * n_bins if y_score is not None else 0)
        index = _CellIndex(coded, n, max(slots, 1))
        size = index.n_slots
        acc: dict[str, np.ndarray] = {}
        if class_codes is not None:
            acc["class_rows"] = np.zeros(pairs * size, dtype=np.int64)
            if w is not None:
                acc["class_weight"] = np.zeros(pairs * size)
                acc["class_weight_sq"] = np.zeros(pairs * size)
        elif y_pred is not None:
            acc["confusion_rows"] = np.zeros(4 * size, dtype=np.int64)
            if w is not None:
                acc["confusion_weight"] = np.zeros(4 * size)
                acc["confusion_weight_sq"] = np.zeros(4 * size)
        if y_score is not None:
            bins = 2 * n_bins * size
            acc["bin_rows"] = np.zeros(bins, dtype=np.int64)
            if w is not None:
                acc["bin_weight"] = np.zeros(bins)
                acc["bin_weight_sq"] = np.zeros(bins)
                acc["bin_conf"] = np.zeros(bins)
            else:
                acc["conf_hi"] = np.zeros(bins, dtype=np.int64)
                acc["conf_lo"] = np.zeros(bins, dtype=np.int64)
            loss_keys = ("score_weight", "log_loss_sum", "brier_sum") if w is not None else (
                "ll_hi", "ll_lo", "br_hi", "br_lo")
            for key in loss_keys:
                acc[key] = np.zeros(size, dtype=np.float64 if w is not None else np.int64)
            inner_edges = np.arange(1, n_bins) / n_bins  # right-closed bins, as CalibrationStats
        if y_pred is None and y_score is None:
            acc["n"] = np.zeros(size, dtype=np.int64)
        pos = self.pos_label
        chunk = min(_CHUNK, max(_MIN_CHUNK, n // 16))
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            cell = index.slots(start, stop)
            ws = None if w is None else w[start:stop]
            ws_sq = None if w is None else ws * ws
            actual = _equal_to(y_true[start:stop], pos) if (y_pred is not None or mode == "binary") else None
            if class_codes is not None:
                key = cell * pairs
                key += class_codes[0][start:stop] * n_classes + class_codes[1][start:stop]
                acc["class_rows"] += np.bincount(key, minlength=pairs * size)
                if ws is not None:
                    acc["class_weight"] += np.bincount(key, weights=ws, minlength=pairs * size)
                    acc["class_weight_sq"] += np.bincount(key, weights=ws_sq, minlength=pairs * size)
            elif y_pred is not None:
                key = cell * 4
                outcome = actual.view(np.uint8) << 1
                outcome |= _equal_to(y_pred[start:stop], pos).view(np.uint8)
                key += outcome
                acc["confusion_rows"] += np.bincount(key, minlength=4 * size)
                if ws is not None:
                    acc["confusion_weight"] += np.bincount(key, weights=ws, minlength=4 * size)
                    acc["confusion_weight_sq"] += np.bincount(key, weights=ws_sq, minlength=4 * size)
            if y_score is not None:
                p = y_score[start:stop]
                if mode == "binary":
                    conf = p[:, 1] if p.ndim == 2 else p
                    correct = actual
                else:
                    predicted = np.argmax(p, axis=1)
                    conf = p[np.arange(len(p)), predicted]
                    correct = predicted == y_true[start:stop]
                key = cell * (2 * n_bins)
                key += 2 * np.searchsorted(inner_edges, conf, side="left")
                key += correct
                acc["bin_rows"] += np.bincount(key, minlength=bins)
                if ws is not None:
                    acc["bin_weight"] += np.bincount(key, weights=ws, minlength=bins)
                    acc["bin_weight_sq"] += np.bincount(key, weights=ws_sq, minlength=bins)
                    acc["bin_conf"] += np.bincount(key, weights=conf * ws, minlength=bins)
                else:
                    hi, lo = _to_fixed(conf)
                    acc["conf_hi"] += np.bincount(key, weights=hi, minlength=bins).astype(np.int64)
                    acc["conf_lo"] += np.bincount(key, weights=lo, minlength=bins).astype(np.int64)
                if mode == "binary":
                    row_ll, row_br = row_losses(actual, conf.reshape(-1, 1))
                else:
                    row_ll, row_br = row_losses(y_true[start:stop], p)
                if ws is not None:
                    acc["score_weight"] += np.bincount(cell, weights=ws, minlength=size)
                    acc["log_loss_sum"] += np.bincount(cell, weights=row_ll * ws, minlength=size)
                    acc["brier_sum"] += np.bincount(cell, weights=row_br * ws, minlength=size)
                else:
                    for name, values, bits in (("ll", row_ll, _LOG_LOSS_BITS), ("br", row_br, _BRIER_BITS)):
                        hi, lo = _to_fixed(values, bits)
                        acc[f"{name}_hi"] += np.bincount(cell, weights=hi, minlength=size).astype(np.int64)
                        acc[f"{name}_lo"] += np.bincount(cell, weights=lo, minlength=size).astype(np.int64)
            if y_pred is None and y_score is None:
                acc["n"] += np.bincount(cell, minlength=size)

        sums: dict[str, np.ndarray] = {}
        if class_codes is not None:
            for key in ("class_rows", "class_weight", "class_weight_sq"):
                if key in acc:
                    sums[key] = acc[key].reshape(size, n_classes, n_classes)
            rows = sums["class_rows"].sum(axis=(1, 2))
        elif y_pred is not None:
            sums["confusion_rows"] = acc["confusion_rows"].reshape(size, 4)
            rows = sums["confusion_rows"].sum(axis=1)
            if w is not None:
                sums["confusion_weight"] = acc["confusion_weight"].reshape(size, 4)
                sums["confusion_weight_sq"] = acc["confusion_weight_sq"].reshape(size, 4)
        if y_score is not None:
            shape = (size, n_bins, 2)
            sums["bin_rows"] = acc["bin_rows"].reshape(shape)
            if y_pred is None:
                rows = sums["bin_rows"].reshape(size, -1).sum(axis=1)
            if w is not None:
                sums["bin_weight"] = acc["bin_weight"].reshape(shape)
                sums["bin_weight_sq"] = acc["bin_weight_sq"].reshape(shape)
                sums["bin_conf"] = acc["bin_conf"].reshape(shape)
            else:
                sums["bin_conf_fixed"] = np.stack([acc["conf_hi"], acc["conf_lo"]], axis=-1).reshape(*shape, 2)
            if w is not None:
                for key in ("score_weight", "log_loss_sum", "brier_sum"):
                    sums[key] = acc[key]
            else:
                sums["log_loss_fixed"] = np.stack([acc["ll_hi"], acc["ll_lo"]], axis=-1)
                sums["brier_fixed"] = np.stack([acc["br_hi"], acc["br_lo"]], axis=-1)
        if y_pred is None and y_score is None:
            rows = acc["n"]
        present = np.flatnonzero(rows)
        out = {"n": rows[present]}
        out.update({key: value[present] for key, value in sums.items()})
        ranks = None
        if self.keep_ranks and y_score is not None:
            if mode == "binary":
                label = _equal_to(y_true, pos).astype(np.int64)
                score = (y_score[:, 1] if y_score.ndim == 2 else y_score).reshape(-1, 1)
            else:
                label, score = y_true, y_score
            ranks = _table_of_rows(index.slots(0, n), label, score, w)
            lookup = np.full(size, -1, dtype=np.int64)
            lookup[present] = np.arange(len(present))
            ranks["group"] = lookup[ranks["group"]]  # increasing on the cells present: still sorted
        return index.labels(present), out, ranks

    def _add(self, features: tuple[str, ...], cells: Sequence[tuple[str, ...]],
             sums: dict[str, np.ndarray], ranks: Sequence[dict[str, np.ndarray]] = ()) -> None:
        """Add per-cell sums (cells sorted and distinct) into ``self``, aligning the cells;
        ``ranks`` are canonical score histograms whose groups index ``cells``."""
        if self.features is None:
            self.features = features
            self.cells = tuple(cells)
            self._sums = {key: value.copy() for key, value in sums.items()}
            for part in ranks:
                self._ranks.push(part)
            return
        index = {cell: i for i, cell in enumerate(self.cells)}
        new = [cell for cell in cells if cell not in index]
        if new:
            union = tuple(sorted(set(self.cells).union(new)))
            where = {cell: i for i, cell in enumerate(union)}
            old = np.fromiter((where[c] for c in self.cells), dtype=np.int64, count=len(self.cells))
            for key, value in self._sums.items():
                grown = np.zeros((len(union), *value.shape[1:]), dtype=value.dtype)
                grown[old] = value
                self._sums[key] = grown
            self._ranks.remap(old)
            self.cells, index = union, where
        at = np.fromiter((index[c] for c in cells), dtype=np.int64, count=len(cells))
        for key, value in sums.items():
            self._sums[key][at] += value
        for part in ranks:
            self._ranks.push({**part, "group": at[part["group"]]})

    # -- combining ----------------------------------------------------------------------------

    def merge(self, other: GroupedStats) -> GroupedStats:
        """The statistics of both objects' rows, as a **new** object (both are left unchanged).

        Cells are aligned on their union (sorted); settings (``pos_label``, ``n_bins``), the
        features and the kinds of input (``y_pred``, ``y_score``, ``sample_weight``) must agree.
        An object with no rows yet merges as zero.
        """
        if not isinstance(other, GroupedStats):
            raise AssayInputError(_NOT_STATS.format(name="other", received=describe(other)))
        for what in ("pos_label", "n_bins", "keep_ranks", "multiclass"):
            left, right = getattr(self, what), getattr(other, what)
            if left != right:
                raise AssayInputError(_SETTING_MISMATCH.format(what=what, left=left, right=right))
        if other.features is None:
            return self.copy()
        if self.features is None:
            return other.copy()
        if other.features != self.features:
            raise AssayInputError(_FEATURES_CHANGED.format(
                name="other", expected=list(self.features), received=list(other.features)
            ))
        if (self.has_labels, self.has_scores, self.weighted) != (other.has_labels, other.has_scores, other.weighted):
            raise AssayInputError(_SETTING_MISMATCH.format(
                what="inputs (y_pred, y_score, sample_weight given)",
                left=(self.has_labels, self.has_scores, self.weighted),
                right=(other.has_labels, other.has_scores, other.weighted),
            ))
        if self.mode is not None and other.mode is not None and self.mode != other.mode:
            raise AssayInputError(_SETTING_MISMATCH.format(what="calibration mode", left=self.mode, right=other.mode))
        if self.keep_ranks and None not in (self.n_score_columns, other.n_score_columns) and (
                self.n_score_columns != other.n_score_columns):
            raise AssayInputError(_SETTING_MISMATCH.format(
                what="number of score columns", left=self.n_score_columns, right=other.n_score_columns))
        try:
            seen = check_binary_labels(np.asarray(list(other.labels_seen), dtype=object), None,
                                       self.pos_label, seen=self.labels_seen) if other.labels_seen else self.labels_seen
        except AssayInputError as exc:
            raise AssayInputError(f"'other' holds labels that do not fit this GroupedStats: {exc}") from None
        out = self.copy()
        other_sums = other._sums
        if self.multiclass and other.classes != self.classes:
            classes = sorted_classes([*self.classes, *other.classes])
            out._sums = _align_classes(out._sums, self.classes, classes)
            other_sums = _align_classes(other._sums, other.classes, classes)
            out.classes = classes
        out._add(other.features, other.cells, other_sums, other._ranks.parts)
        out.labels_seen = tuple(seen)
        out.n_score_columns = self.n_score_columns or other.n_score_columns
        return out

    __add__ = merge

    def copy(self) -> GroupedStats:
        """An independent copy."""
        out = GroupedStats(pos_label=self.pos_label, n_bins=self.n_bins, keep_ranks=self.keep_ranks,
                           multiclass=self.multiclass)
        for name in ("features", "cells", "has_labels", "has_scores", "weighted", "mode", "labels_seen",
                     "n_score_columns", "classes"):
            setattr(out, name, getattr(self, name))
        out._sums = {key: value.copy() for key, value in self._sums.items()}
        out._ranks = self._ranks.copy()
        return out

    def __eq__(self, other: object) -> bool:
        """Exact equality of settings, features, cells and every sum."""
        if not isinstance(other, GroupedStats):
            return NotImplemented
        same = all(getattr(self, a) == getattr(other, a) for a in (
            "pos_label", "n_bins", "features", "cells", "has_labels", "has_scores", "weighted", "mode",
            "keep_ranks", "n_score_columns", "multiclass", "classes",
        ))
        return same and self._sums.keys() == other._sums.keys() and all(
            np.array_equal(value, other._sums[key]) for key, value in self._sums.items()
        ) and (not self.keep_ranks or _same_table(self._ranks.table(), other._ranks.table()))

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        features = None if self.features is None else list(self.features)
        return (f"GroupedStats(features={features!r}, n_cells={self.n_cells}, n_rows={self.n_rows}, "
                f"labels={self.has_labels}, scores={self.has_scores}, weighted={self.weighted})")

    # -- the table ----------------------------------------------------------------------------

    def compute(
        self,
        metrics: str | Sequence[str] = DEFAULT_METRICS,
        *,
        intersections: bool = True,
        min_group_size: int = 30,
        n_boot: int = 0,
        ci_level: float = 0.95,
        random_state: Any = None,
        average: str = "binary",
    ) -> GroupedMetrics:
        """The grouped table of these statistics: see :meth:`GroupedMetrics.from_stats`."""
        return GroupedMetrics.from_stats(
            self, metrics, intersections=intersections, min_group_size=min_group_size,
            n_boot=n_boot, ci_level=ci_level, random_state=random_state, average=average,
        )

    def _resample_inputs(self) -> dict[str, Any]:
        """The per-cell arrays :func:`assay.metrics.bootstrap.metric_resamples` draws from."""
        out: dict[str, Any] = {"pos_label": self.pos_label}
        if self.has_labels and self.multiclass:
            k2 = len(self.classes) ** 2
            for key, name in (("class_rows", "confusion_rows"), ("class_weight", "confusion_weight"),
                              ("class_weight_sq", "confusion_weight_sq")):
                out[name] = self._sums[key].reshape(self.n_cells, k2) if key in self._sums else None
            out["classes"] = self.classes
        elif self.has_labels:
            out["confusion_rows"] = self._sums["confusion_rows"]
            out["confusion_weight"] = self._sums.get("confusion_weight")
            out["confusion_weight_sq"] = self._sums.get("confusion_weight_sq")
        if self.has_scores:
            out["bin_rows"] = self._sums["bin_rows"]
            out["bin_weight"] = self._sums.get("bin_weight")
            out["bin_weight_sq"] = self._sums.get("bin_weight_sq")
            out["bin_conf"] = self._bin_conf()
            if self.keep_ranks:
                out["ranks"] = self.ranks
                out["weighted"] = bool(self.weighted)
        return out


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class GroupedMetrics(Result):
    """Metrics overall and for every group and intersection of groups.

    Attributes
    ----------
    overall : Series
        Metric name -> value on all rows (with ``count``).
    by_group : DataFrame
        Rows: MultiIndex ``(feature, group)`` such as ``("sex x race", "Female x Black")``.
        Columns: the metrics, ``count`` (unweighted rows) and ``small`` (``count <
        min_group_size``; small groups are flagged, never hidden).
    metrics : tuple of str
        The metrics asked for, in order.
    higher_is_better : dict
        Metric -> True, False, or None (no direction: count, selection_rate, base_rate).
    min_group_size : int
        Groups with fewer rows are flagged ``small``.
    params : dict
        The settings used (intersections, n_bins, pos_label, weighted, features, n_boot,
        ci_level, random_state).
    ci : DataFrame or None
        Bootstrap percentile intervals (with ``n_boot > 0``): rows as ``by_group``, columns a
        MultiIndex ``(metric, "lower" | "upper")`` over the metrics but ``count`` (fixed:
        the bootstrap is stratified by cell, so group sizes never vary).
    overall_ci : DataFrame or None
        The same for the overall values: rows are metrics, columns ``lower`` and ``upper``.
    resamples : ndarray or None
        The metric values on every resample, shape ``(n_boot, 1 + len(by_group),
        len(ci_metrics))``: column 0 of the second axis is overall, then the rows of
        ``by_group`` in order. What :meth:`difference_ci` and friends read, and what a
        derived quantity (e.g. the larger of two gaps) needs for its own interval. Left out of
        :meth:`to_dict` (the record keeps ``n_boot`` and ``random_state``, which reproduce it).

    The aggregates (:meth:`difference`, :meth:`ratio`, :meth:`group_min`, :meth:`group_max`,
    :meth:`worst_group`) are computed on demand, per feature (each row of the result is one
    feature or intersection), skip NaN values, and always return a DataFrame. With bootstrap
    resamples, :meth:`difference_ci`, :meth:`ratio_ci`, :meth:`group_min_ci` and
    :meth:`group_max_ci` give their percentile intervals, from the same resamples.
    """

    overall: pd.Series
    by_group: pd.DataFrame
    metrics: tuple[str, ...]
    higher_is_better: dict[str, bool | None]
    min_group_size: int
    params: dict[str, Any]
    ci: pd.DataFrame | None = None
    overall_ci: pd.DataFrame | None = None
    resamples: np.ndarray | None = dataclasses.field(default=None, repr=False)

    kind: ClassVar[str] = "grouped_metrics"

    @property
    def features(self) -> tuple[str, ...]:
        """The features and intersections, in table order."""
        return tuple(dict.fromkeys(self.by_group.index.get_level_values("feature")))

    @property
    def ci_metrics(self) -> tuple[str, ...]:
        """The metrics with bootstrap intervals: every metric but ``count``."""
        return tuple(m for m in self.metrics if m != "count")

    def __repr__(self) -> str:
        n_boot = self.params.get("n_boot", 0)
        return (
            f"GroupedMetrics(metrics={list(self.metrics)!r}, features={list(self.features)!r}, "
            f"n_groups={len(self.by_group)}, n_small={int(self.by_group['small'].sum())}"
            + (f", n_boot={n_boot}" if n_boot else "") + ")"
        )

    # -- aggregates ---------------------------------------------------------------------------

    def _table(self, feature: FeatureSelection, include_small: bool, owner: str) -> pd.DataFrame:
        if not isinstance(include_small, (bool, np.bool_)):
            raise AssayInputError(
                _NOT_BOOL.format(name="include_small", owner=owner, received=include_small)
            )
        table = self.by_group
        if feature is not None:
            wanted = _selected(self.features, feature)
            unknown = [f for f in wanted if f not in self.features]
            if unknown or not wanted:
                raise AssayInputError(
                    _UNKNOWN_FEATURE.format(valid=list(self.features), received=feature)
                )
            table = table[table.index.get_level_values("feature").isin(wanted)]
        if not include_small:
            table = table[~table["small"].to_numpy(bool)]
        return table[list(self.metrics)].astype(np.float64)

    def _by_feature(self, table: pd.DataFrame) -> Any:
        return table.groupby(level="feature", sort=False)

    def _reindexed(self, frame: pd.DataFrame, feature: FeatureSelection) -> pd.DataFrame:
        order = _selected(self.features, feature)
        return frame.reindex(index=pd.Index(order, name="feature"), columns=list(self.metrics))

    def group_min(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """Smallest value over the groups of each feature (rows: features, columns: metrics)."""
        table = self._table(feature, include_small, "GroupedMetrics.group_min")
        return self._reindexed(self._by_feature(table).min(), feature)

    def group_max(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """Largest value over the groups of each feature (rows: features, columns: metrics)."""
        table = self._table(feature, include_small, "GroupedMetrics.group_max")
        return self._reindexed(self._by_feature(table).max(), feature)

    def difference(
        self,
        method: str = "between_groups",
        feature: FeatureSelection = None,
        *,
        include_small: bool = True,
    ) -> pd.DataFrame:
        """Largest gap per feature and metric.

        ``"between_groups"``: ``group_max - group_min``. ``"to_overall"``: the largest
        ``|group value - overall value|``. NaN values are skipped; all NaN gives NaN.
        Rows: features (and intersections); columns: metrics.
        """
        owner = "GroupedMetrics.difference"
        check_option(method, "method", owner=owner, options=_AGGREGATE_METHODS)
        table = self._table(feature, include_small, owner)
        if method == "between_groups":
            grouped = self._by_feature(table)
            # A gap needs two groups with a value: one defined group is NaN, not a gap of 0.
            result = (grouped.max() - grouped.min()).where(grouped.count() >= 2)
        else:
            gaps = (table - self.overall[list(self.metrics)].astype(np.float64)).abs()
            result = self._by_feature(gaps).max()
        return self._reindexed(result, feature)

    def ratio(
        self,
        method: str = "between_groups",
        feature: FeatureSelection = None,
        *,
        include_small: bool = True,
    ) -> pd.DataFrame:
        """Smallest ratio per feature and metric, at most 1.

        ``"between_groups"``: ``group_min / group_max``. ``"to_overall"``: the smallest of
        ``group / overall`` and ``overall / group`` over the groups. 0/0 is NaN; NaN values are
        skipped. Rows: features (and intersections); columns: metrics.
        """
        owner = "GroupedMetrics.ratio"
        check_option(method, "method", owner=owner, options=_AGGREGATE_METHODS)
        table = self._table(feature, include_small, owner)
        with np.errstate(divide="ignore", invalid="ignore"):
            if method == "between_groups":
                grouped = self._by_feature(table)
                result = (grouped.min() / grouped.max()).where(grouped.count() >= 2)
            else:
                ratios = table / self.overall[list(self.metrics)].astype(np.float64)
                ratios = ratios.where(~(ratios > 1), 1 / ratios)
                result = self._by_feature(ratios).min()
        return self._reindexed(result, feature)

    def worst_group(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """The worst group per feature and metric, by ``higher_is_better``.

        Metrics without a direction (``count``, ``selection_rate``, ``base_rate``) are left
        out. Rows: MultiIndex ``(feature, metric)``; columns ``group`` (None where every group
        is NaN), ``value``, ``count`` and ``small``.
        """
        table = self._table(feature, include_small, "GroupedMetrics.worst_group")
        ranked = [m for m in self.metrics if self.higher_is_better.get(m) is not None]
        rows, index = [], []
        for name in _selected(self.features, feature):
            part = table[table.index.get_level_values("feature") == name]
            for metric in ranked:
                values = part[metric]
                index.append((name, metric))
                if values.notna().any():
                    key = values.idxmin() if self.higher_is_better[metric] else values.idxmax()
                    row = self.by_group.loc[key]
                    rows.append((key[1], float(values[key]), int(row["count"]), bool(row["small"])))
                else:
                    rows.append((None, np.nan, 0, False))
        return pd.DataFrame(
            rows,
            index=pd.MultiIndex.from_tuples(index, names=["feature", "metric"]),
            columns=["group", "value", "count", "small"],
        )

    # -- presentation -------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Gender Shades layout: rows are metrics (and ``count``), columns are groups.

        The first column is ``("overall", "all")``; then one column per ``(feature, group)``.
        """
        rows = [m for m in self.metrics if m != "count"] + ["count"]
        columns = pd.MultiIndex.from_tuples(
            [("overall", "all"), *self.by_group.index], names=["feature", "group"]
        )
        data = np.column_stack(
            [self.overall[rows].to_numpy(np.float64), self.by_group[rows].to_numpy(np.float64).T]
        )
        return pd.DataFrame(data, index=pd.Index(rows, name="metric"), columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record; ``by_group`` (and ``ci``) rows are ``[feature, group]`` pairs, ``ci``
        columns ``[metric, bound]`` pairs. ``resamples`` is left out."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for field in dataclasses.fields(self):
            if field.name != "resamples":
                out[field.name] = to_jsonable(getattr(self, field.name))
        out["by_group"]["index"] = [[str(f), str(g)] for f, g in self.by_group.index]
        if self.ci is not None:
            out["ci"]["index"] = [[str(f), str(g)] for f, g in self.ci.index]
            out["ci"]["columns"] = [[str(m), str(b)] for m, b in self.ci.columns]
        return out

    # -- bootstrap intervals of the aggregates ------------------------------------------------

    def _resampled_blocks(self, feature: FeatureSelection, include_small: bool, owner: str
                          ) -> Iterator[tuple[str, np.ndarray]]:
        """Per feature: its groups' resampled values, shape (n_boot, n_groups, n_metrics)."""
        if self.resamples is None:
            raise AssayInputError(_NO_RESAMPLES.format(owner=owner))
        self._table(feature, include_small, owner)  # checks the arguments
        names = self.by_group.index.get_level_values("feature")
        keep = np.ones(len(self.by_group), dtype=bool)
        if not include_small:
            keep &= ~self.by_group["small"].to_numpy(bool)
        for name in _selected(self.features, feature):
            rows = np.flatnonzero(keep & (names == name))
            yield name, self.resamples[:, 1 + rows, :]

    def _aggregate_ci(self, feature: FeatureSelection, include_small: bool, owner: str,
                      reduce: Any) -> pd.DataFrame:
        names, lower, upper = [], [], []
        level = self.params.get("ci_level", 0.95)
        overall = self.resamples[:, :1, :] if self.resamples is not None else None
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN, as intended
            for name, block in self._resampled_blocks(feature, include_small, owner):
                if block.shape[1]:
                    values = reduce(block, overall)
                else:
                    values = np.full((block.shape[0], block.shape[2]), np.nan)
                low, high = _bootstrap.percentile_interval(values, level)
                names.append(name)
                lower.append(low)
                upper.append(high)
        return self._ci_frame(pd.Index(names, name="feature"), np.asarray(lower), np.asarray(upper))

    def _ci_frame(self, index: pd.Index, lower: np.ndarray, upper: np.ndarray) -> pd.DataFrame:
        metrics = list(self.ci_metrics)
        data = np.stack([lower.reshape(len(index), -1), upper.reshape(len(index), -1)], axis=-1)
        columns = _bounds_columns(metrics)
        return pd.DataFrame(data.reshape(len(index), 2 * len(metrics)), index=index, columns=columns)

    def group_min_ci(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """Bootstrap interval of :meth:`group_min` (rows: features; columns: (metric, bound))."""
        return self._aggregate_ci(feature, include_small, "GroupedMetrics.group_min_ci",
                                  lambda block, overall: np.nanmin(block, axis=1))

    def group_max_ci(self, feature: FeatureSelection = None, *, include_small: bool = True) -> pd.DataFrame:
        """Bootstrap interval of :meth:`group_max` (rows: features; columns: (metric, bound))."""
        return self._aggregate_ci(feature, include_small, "GroupedMetrics.group_max_ci",
                                  lambda block, overall: np.nanmax(block, axis=1))

    def difference_ci(
        self,
        method: str = "between_groups",
        feature: FeatureSelection = None,
        *,
        include_small: bool = True,
    ) -> pd.DataFrame:
        """Bootstrap percentile interval of :meth:`difference`, from the table's resamples.

        On each resample the difference is computed as :meth:`difference` does (same
        ``method``, same groups), then the ``ci_level`` interval is taken over resamples.
        Rows: features; columns: MultiIndex ``(metric, "lower" | "upper")``.
        """
        owner = "GroupedMetrics.difference_ci"
        check_option(method, "method", owner=owner, options=_AGGREGATE_METHODS)
        if method == "between_groups":
            def reduce(block: np.ndarray, overall: np.ndarray) -> np.ndarray:
                return np.nanmax(block, axis=1) - np.nanmin(block, axis=1)
        else:
            def reduce(block: np.ndarray, overall: np.ndarray) -> np.ndarray:
                return np.nanmax(np.abs(block - overall), axis=1)
        return self._aggregate_ci(feature, include_small, owner, reduce)

    def ratio_ci(
        self,
        method: str = "between_groups",
        feature: FeatureSelection = None,
        *,
        include_small: bool = True,
    ) -> pd.DataFrame:
        """Bootstrap percentile interval of :meth:`ratio`, from the table's resamples.

        Rows: features; columns: MultiIndex ``(metric, "lower" | "upper")``.
        """
        owner = "GroupedMetrics.ratio_ci"
        check_option(method, "method", owner=owner, options=_AGGREGATE_METHODS)
        if method == "between_groups":
            def reduce(block: np.ndarray, overall: np.ndarray) -> np.ndarray:
                return np.nanmin(block, axis=1) / np.nanmax(block, axis=1)
        else:
            def reduce(block: np.ndarray, overall: np.ndarray) -> np.ndarray:
                ratios = block / overall
                ratios = np.where(ratios > 1, 1 / ratios, ratios)
                return np.nanmin(ratios, axis=1)
        return self._aggregate_ci(feature, include_small, owner, reduce)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_stats(
        cls,
        stats: GroupedStats,
        metrics: str | Sequence[str] = DEFAULT_METRICS,
        *,
        intersections: bool = True,
        min_group_size: int = 30,
        n_boot: int = 0,
        ci_level: float = 0.95,
        random_state: Any = None,
        average: str = "binary",
    ) -> GroupedMetrics:
        """The grouped table of mergeable statistics: overall, each feature, each intersection.

        Cells are summed into every group (the statistics of ``sex`` are those of ``sex x
        race`` summed over race), then the metric formulas are applied. The same statistics
        always give the same table, however they were gathered.

        Parameters
        ----------
        stats : GroupedStats
        metrics, intersections, min_group_size
            As in :func:`evaluate_groups`.
        n_boot : int, default 0
            Bootstrap resamples for percentile intervals (0: none). Resampling is stratified
            by cell and drawn from the counts (see :mod:`assay.metrics.bootstrap`).
        ci_level : float in (0, 1), default 0.95
            Confidence level of the intervals.
        random_state : None, int or numpy Generator
            Seed of the resamples: the same int gives the same intervals (and JSON).
        average : {"binary", "ovr", "macro"}, default "binary"
            How label metrics of one class are read (see :func:`evaluate_groups`); ``"ovr"``
            and ``"macro"`` need ``GroupedStats(multiclass=True)``.
        """
        owner = "GroupedMetrics.from_stats"
        if not isinstance(stats, GroupedStats):
            raise AssayInputError(_NOT_STATS.format(name="stats", received=describe(stats)))
        names, label_metrics, score_metrics = _plan(metrics)
        _check_table_params(owner, intersections, min_group_size, n_boot, ci_level)
        stats._require_rows("stats")
        if label_metrics and not stats.has_labels:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics=label_metrics))
        if score_metrics and not stats.has_scores:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics=score_metrics))
        if not stats.keep_ranks:
            if "roc_auc" in names:
                raise AssayInputError(_NEEDS_RANKS.format(what="'roc_auc'"))
            resampled = [m for m in names if METRICS[m].statistics == "scores"]
            if n_boot and resampled:
                raise AssayInputError(_NEEDS_RANKS.format(what=f"The bootstrap of {resampled}"))
        check_option(average, "average", owner=owner, options=AVERAGES)
        if label_metrics and average != "binary" and not stats.multiclass:
            raise AssayInputError(_NEEDS_MULTICLASS.format(average=average))
        if label_metrics and stats.multiclass and average == "binary" and len(stats.classes) > 2:
            raise AssayInputError(_MULTICLASS_BINARY.format(classes=list(stats.classes)[:10]))
        if label_metrics and stats.multiclass and average != "macro" and stats.pos_label not in stats.classes:
            raise AssayInputError(
                f"'pos_label' must be one of the classes {list(stats.classes)[:10]}. Got {stats.pos_label!r} instead."
            )
        rng = check_random_state(random_state, name="random_state") if n_boot else None
        groupings, _ = _groupings_of_cells(stats.features, stats.cells, bool(intersections))

        n_cells = stats._sums["n"]
        kinds = {METRICS[m].statistics for m in names if m != "count"}
        cell_stats = {kind: getattr(stats, kind) for kind in kinds}  # the .confusion, .ranks, ... properties

        def compute(group_of: np.ndarray, labels: tuple[Hashable, ...]) -> dict[str, np.ndarray]:
            summed = {kind: cells.aggregate(group_of, labels) for kind, cells in cell_stats.items()}
            values = {
                m: (multiclass_metric(m, summed["confusion"], average, stats.pos_label)
                    if stats.multiclass and METRICS[m].statistics == "confusion"
                    else METRICS[m].function(summed[METRICS[m].statistics]))
                for m in names if m != "count"
            }
            sizes = np.zeros(len(labels), dtype=np.int64)
            np.add.at(sizes, group_of, n_cells)
            values["count"] = sizes
            return values

        columns = [m for m in names if m != "count"] + ["count"]
        overall_values = compute(np.zeros(stats.n_cells, dtype=np.int64), ("overall",))
        overall = pd.Series({m: float(overall_values[m][0]) for m in columns}, name="overall", dtype=np.float64)

        parts: dict[str, list[np.ndarray]] = {m: [] for m in columns}
        index: list[tuple[str, str]] = []
        for name, _, labels, cell_map in groupings:
            strings = tuple(SEPARATOR.join(lab) if isinstance(lab, tuple) else str(lab) for lab in labels)
            values = compute(cell_map, strings)
            for m in columns:
                parts[m].append(values[m])
            index += [(name, label) for label in strings]
        data = {m: np.concatenate(parts[m]) for m in columns}
        data["small"] = data["count"] < min_group_size
        by_group = pd.DataFrame(data, index=_table_index(index))

        ci = overall_ci = resamples = None
        if n_boot:
            ci_metrics = [m for m in names if m != "count"]
            membership = np.zeros((stats.n_cells, 1 + len(by_group)))
            membership[:, 0] = 1.0
            offset, cell_ids = 1, np.arange(stats.n_cells)
            for _, _, labels, cell_map in groupings:
                membership[cell_ids, offset + cell_map] = 1.0
                offset += len(labels)
            resamples = _bootstrap.metric_resamples(
                ci_metrics, membership, int(n_boot), rng, average=average, **stats._resample_inputs()
            )
            lower, upper = _bootstrap.percentile_interval(resamples, float(ci_level))
            bounds = _bounds_columns(ci_metrics)
            ci = pd.DataFrame(
                np.stack([lower[1:], upper[1:]], axis=-1).reshape(len(by_group), 2 * len(ci_metrics)),
                index=by_group.index.copy(), columns=bounds,
            )
            overall_ci = pd.DataFrame({"lower": lower[0], "upper": upper[0]},
                                      index=pd.Index(ci_metrics, name="metric"))

        return cls(
            overall=overall,
            by_group=by_group,
            metrics=names,
            higher_is_better={m: METRICS[m].higher_is_better for m in names},
            min_group_size=int(min_group_size),
            params={
                "intersections": bool(intersections),
                "n_bins": stats.n_bins,
                "pos_label": stats.pos_label,
                "weighted": bool(stats.weighted),
                "features": list(stats.features),
                "n_boot": int(n_boot),
                "ci_level": float(ci_level),
                "random_state": _seed_record(random_state),
                "average": average,
            },
            ci=ci,
            overall_ci=overall_ci,
            resamples=resamples,
        )


# ---------------------------------------------------------------------------------------------
# evaluate_groups and friends
# ---------------------------------------------------------------------------------------------


def _table_index(rows: Sequence[tuple[str, str]]) -> pd.MultiIndex:
    """The ``(feature, group)`` MultiIndex of ``rows`` (as ``from_tuples`` builds it, sorted
    levels, without hashing every label through pandas)."""
    levels = [sorted({row[k] for row in rows}) for k in range(2)]
    lookup = [{label: i for i, label in enumerate(level)} for level in levels]
    codes = [np.fromiter((lookup[k][row[k]] for row in rows), dtype=np.int64, count=len(rows)) for k in range(2)]
    return pd.MultiIndex(levels=levels, codes=codes, names=["feature", "group"], verify_integrity=False)


def _bounds_columns(metrics: Sequence[str]) -> pd.MultiIndex:
    """Columns ``(metric, "lower" | "upper")`` of the interval tables (= ``from_product``)."""
    order = sorted(metrics)
    position = {m: i for i, m in enumerate(order)}
    codes = [np.repeat([position[m] for m in metrics], 2).astype(np.int64), np.tile([0, 1], len(metrics))]
    return pd.MultiIndex(levels=[order, list(_BOUNDS)], codes=codes, names=["metric", "bound"],
                         verify_integrity=False)


def _check_metrics(metrics: Any) -> tuple[str, ...]:
    valid = list(METRICS)
    names = [metrics] if isinstance(metrics, str) else metrics
    try:
        names = list(names)
    except TypeError:
        raise AssayInputError(_EMPTY_METRICS.format(valid=valid, received=repr(metrics))) from None
    if not names:
        raise AssayInputError(_EMPTY_METRICS.format(valid=valid, received=repr(metrics)))
    unknown = [m for m in names if not isinstance(m, str) or m not in METRICS]
    if unknown:
        raise AssayInputError(_UNKNOWN_METRIC.format(valid=valid, unknown=unknown))
    return tuple(dict.fromkeys(names))


def _plan(metrics: Any) -> tuple[tuple[str, ...], list[str], list[str]]:
    """Checked metric names, and those that need ``y_pred`` and ``y_score``."""
    names = _check_metrics(metrics)
    label_metrics = [m for m in names if METRICS[m].needs == "labels" and m != "count"]
    score_metrics = [m for m in names if METRICS[m].needs == "scores"]
    return names, label_metrics, score_metrics


def _needs_ranks(names: Sequence[str], n_boot: Any) -> bool:
    """Whether the table needs the score histograms: ``roc_auc``, or bootstrap intervals of
    ``log_loss`` / ``brier`` (resampled from the histograms)."""
    return "roc_auc" in names or bool(n_boot) and any(METRICS[m].statistics == "scores" for m in names)


def _check_table_params(owner: str, intersections: Any, min_group_size: Any, n_boot: Any,
                        ci_level: Any) -> None:
    check_scalar(min_group_size, "min_group_size", owner=owner, kind=(int, np.integer), low=0)
    if not isinstance(intersections, (bool, np.bool_)):
        raise AssayInputError(_NOT_BOOL.format(name="intersections", owner=owner, received=intersections))
    check_scalar(n_boot, "n_boot", owner=owner, kind=(int, np.integer), low=0)
    check_scalar(ci_level, "ci_level", owner=owner, kind=numbers.Real, low=0, high=1, closed="neither")


def _seed_record(random_state: Any) -> Any:
    """The seed as it goes in ``params`` (JSON): an int, None, or the type of a Generator."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        return None if random_state is None else int(random_state)
    return type(random_state).__name__


def _check_unused(y_true: np.ndarray, y_pred: Any, y_score: Any) -> None:
    """Inputs given but not needed by the metrics are still checked (shape and length)."""
    y_pred = None if y_pred is None else check_labels_1d(y_pred, name="y_pred")
    y_score = None if y_score is None else check_prob(y_score, name="y_score")
    check_consistent_length(y_true=y_true, y_pred=y_pred, y_score=y_score)


def evaluate_groups(
    y_true: Any,
    y_pred: Any = None,
    *,
    y_score: Any = None,
    sensitive_features: Any,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    intersections: bool = True,
    min_group_size: int = 30,
    sample_weight: Any = None,
    n_bins: int = 15,
    pos_label: Any = 1,
    n_boot: int = 0,
    ci_level: float = 0.95,
    random_state: Any = None,
    average: str = "binary",
) -> GroupedMetrics:
    """Metrics overall, per group of each sensitive feature, and per intersection of features.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels. Binary for the label metrics and for binary calibration; class indices
        ``0..k-1`` when ``y_score`` has ``k >= 3`` columns.
    y_pred : array-like of shape (n,), optional
        Predicted labels; needed by the label metrics. With ``average="binary"`` (default)
        ``y_true`` and ``y_pred`` together may hold at most two labels; any number with
        ``average="ovr"`` or ``"macro"``.
    y_score : array-like of shape (n,) or (n, k), optional
        Probabilities; needed by ``ece``, ``roc_auc``, ``log_loss`` and ``brier``. (n,):
        probability of ``pos_label``; (n, 2): column 1 is that probability; (n, k >= 3): one
        column per class (ECE top-label, AUC one-vs-rest macro; see
        :mod:`assay.metrics.scores`). ``roc_auc`` -- and the bootstrap of ``log_loss`` and
        ``brier`` -- keep the exact per-cell score histograms, whose size grows with the
        number of distinct scores (round the scores to bound it).
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        One column per feature, each with at least two groups. Categorical columns are read
        through their codes (fastest); values are compared as strings.
    metrics : str or sequence of str, default ("accuracy", "selection_rate", "tpr", "fpr")
        Names from :data:`METRICS`.
    intersections : bool, default True
        Also report every combination of 2..k features.
    min_group_size : int, default 30
        Groups with fewer rows are flagged ``small`` (never hidden).
    sample_weight : array-like of shape (n,), optional
        Non-negative row weights; rates are weighted, ``count`` is not.
    n_bins : int, default 15
        Equal-width calibration bins on [0, 1] (for ``ece``).
    pos_label : scalar, default 1
        The positive label.
    n_boot : int, default 0
        Bootstrap resamples for percentile confidence intervals (0: no intervals). Resamples
        are stratified by finest cell and drawn from the counts, not the rows -- exactly the
        row bootstrap in distribution for unweighted label metrics; see
        :mod:`assay.metrics.bootstrap` for weighted data and ``ece``.
    ci_level : float in (0, 1), default 0.95
        Confidence level of the intervals.
    random_state : None, int or numpy Generator, default None
        Seed of the resamples; the same int gives identical intervals (and JSON).
    average : {"binary", "ovr", "macro"}, default "binary"
        How the label metrics read ``y_true`` and ``y_pred``:

        * ``"binary"``: two labels at most, ``pos_label`` positive (the default).
        * ``"ovr"``: any number of classes; ``accuracy``, ``error_rate`` and
          ``balanced_accuracy`` (mean recall over the classes present, as scikit-learn) are
          multiclass; every other label metric is that of ``pos_label`` against all other
          classes (one-vs-rest).
        * ``"macro"``: as ``"ovr"``, but each one-vs-rest metric is the unweighted mean over
          the classes (every label seen in ``y_true`` or ``y_pred``) where it is defined:
          scikit-learn's ``average="macro"`` with ``zero_division=np.nan``.

    Returns
    -------
    GroupedMetrics
        With ``ci``, ``overall_ci`` and ``resamples`` when ``n_boot > 0``.

    Notes
    -----
    This is ``GroupedStats(pos_label=..., n_bins=...).update(...).compute(...)``: one pass over
    the rows fills the statistics of the finest cells, every grouping sums them. The same
    table comes from batches (:func:`evaluate_groups_batches`) or a Dask DataFrame
    (:func:`assay.metrics.distributed.evaluate_groups_dask`).

    Undefined values (0/0, e.g. TPR of a group without positives) are NaN and raise an
    :class:`~assay.core.errors.UndefinedMetricWarning` naming the metric and the group(s).

    Examples
    --------
    >>> result = evaluate_groups(y_true, y_pred, sensitive_features=df[["sex", "race"]])  # doctest: +SKIP
    >>> result.by_group.loc[("sex x race", "Female x Black"), "tpr"]      # doctest: +SKIP
    >>> result.difference()                                                 # doctest: +SKIP
    """
    owner = "evaluate_groups"
    names, label_metrics, score_metrics = _plan(metrics)
    _check_table_params(owner, intersections, min_group_size, n_boot, ci_level)
    check_option(average, "average", owner=owner, options=AVERAGES)
    check_scalar(n_bins, "n_bins", owner=owner, kind=(int, np.integer), low=1)
    if n_boot:
        check_random_state(random_state, name="random_state")
    y_true = check_labels_1d(y_true, name="y_true")
    if y_pred is None and label_metrics:
        raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics=label_metrics))
    if y_score is None and score_metrics:
        raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics=score_metrics))
    _check_unused(y_true, None if label_metrics else y_pred, None if score_metrics else y_score)
    stats = GroupedStats(pos_label=pos_label, n_bins=n_bins, keep_ranks=_needs_ranks(names, n_boot),
                         multiclass=average != "binary" and bool(label_metrics)).update(
        y_true,
        y_pred if label_metrics else None,
        y_score=y_score if score_metrics else None,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
    )
    return stats.compute(names, intersections=intersections, min_group_size=min_group_size,
                         n_boot=n_boot, ci_level=ci_level, random_state=random_state, average=average)


def _batch_arguments(batch: Any, index: int) -> dict[str, Any]:
    if isinstance(batch, Mapping):
        unknown = [k for k in batch if k not in _BATCH_KEYS]
        if unknown or "y_true" not in batch or "sensitive_features" not in batch:
            raise AssayInputError(_BAD_BATCH.format(
                keys=list(_BATCH_KEYS), received=f"a dict with keys {list(batch)}", index=index
            ))
        return {key: batch.get(key) for key in _BATCH_KEYS}
    if isinstance(batch, (tuple, list)) and len(batch) in (4, 5):
        return dict(zip(_BATCH_KEYS, (*batch, None) if len(batch) == 4 else batch))
    raise AssayInputError(_BAD_BATCH.format(keys=list(_BATCH_KEYS), received=describe(batch), index=index))


def evaluate_groups_batches(
    batches: Iterable[Any],
    *,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    intersections: bool = True,
    min_group_size: int = 30,
    n_bins: int = 15,
    pos_label: Any = 1,
    n_boot: int = 0,
    ci_level: float = 0.95,
    random_state: Any = None,
    average: str = "binary",
) -> GroupedMetrics:
    """:func:`evaluate_groups` over an iterable of batches, in one pass and bounded memory.

    Parameters
    ----------
    batches : iterable
        Each batch is a dict with keys ``y_true``, ``sensitive_features`` and optionally
        ``y_pred``, ``y_score``, ``sample_weight``; or a tuple ``(y_true, y_pred, y_score,
        sensitive_features)`` or ``(..., sample_weight)`` (None for what is not given). Every
        batch gives the same features and the same kinds of input; a batch may lack some
        groups, and later batches may bring new ones. ``y_pred`` / ``y_score`` are read only
        when the metrics need them.
    metrics, intersections, min_group_size, n_bins, pos_label, n_boot, ci_level, random_state, average
        As in :func:`evaluate_groups`.

    Returns
    -------
    GroupedMetrics
        Identical to :func:`evaluate_groups` on the concatenated batches (see the module notes
        on weighted data).
    """
    owner = "evaluate_groups_batches"
    names, label_metrics, score_metrics = _plan(metrics)
    _check_table_params(owner, intersections, min_group_size, n_boot, ci_level)
    check_option(average, "average", owner=owner, options=AVERAGES)
    check_scalar(n_bins, "n_bins", owner=owner, kind=(int, np.integer), low=1)
    if n_boot:
        check_random_state(random_state, name="random_state")
    if isinstance(batches, (str, bytes, Mapping)) or not isinstance(batches, Iterable):
        raise AssayInputError(_BAD_FEATURES.format(
            name="batches", expected="an iterable of batches (dicts or tuples)", received=describe(batches)
        ))
    stats = GroupedStats(pos_label=pos_label, n_bins=n_bins, keep_ranks=_needs_ranks(names, n_boot),
                         multiclass=average != "binary" and bool(label_metrics))
    count = 0
    for index, batch in enumerate(batches):
        args = _batch_arguments(batch, index)
        try:
            y_true = check_labels_1d(args["y_true"], name="y_true")
            if args["y_pred"] is None and label_metrics:
                raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics=label_metrics))
            if args["y_score"] is None and score_metrics:
                raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics=score_metrics))
            stats.update(
                y_true,
                args["y_pred"] if label_metrics else None,
                y_score=args["y_score"] if score_metrics else None,
                sensitive_features=args["sensitive_features"],
                sample_weight=args["sample_weight"],
            )
        except AssayInputError as exc:
            raise AssayInputError(_IN_BATCH.format(index=index, message=exc)) from None
        count += 1
    if not count:
        raise AssayInputError(_NO_BATCHES)
    return stats.compute(names, intersections=intersections, min_group_size=min_group_size,
                         n_boot=n_boot, ci_level=ci_level, random_state=random_state, average=average)


# ---------------------------------------------------------------------------------------------
# Comparing two tables
# ---------------------------------------------------------------------------------------------

_CHANGE_COLUMNS = ("baseline", "other", "change", "relative_change")


def relative_change(baseline: GroupedMetrics, other: GroupedMetrics) -> pd.DataFrame:
    """How each metric of each group changed from a baseline model's table to another's.

    The layout of compressed-vs-dense studies (e.g. a dense model as ``baseline``, its pruned
    or quantized version as ``other``): for every group -- overall first, then the rows of
    ``by_group`` -- and every metric, the two values, the absolute change ``other -
    baseline`` and the relative change ``(other - baseline) / |baseline|`` (NaN where the
    baseline is 0 or NaN).

    Parameters
    ----------
    baseline, other : GroupedMetrics
        Tables of the same groups and metrics (typically the same data and sensitive
        features, two models).

    Returns
    -------
    DataFrame
        Rows: MultiIndex ``(feature, group)`` with ``("overall", "all")`` first. Columns:
        MultiIndex ``(metric, quantity)`` with quantity in ``baseline``, ``other``, ``change``,
        ``relative_change``, for each metric but ``count``; then ``("count", "baseline")`` and
        ``("count", "other")``.
    """
    for name, table in (("baseline", baseline), ("other", other)):
        if not isinstance(table, GroupedMetrics):
            raise AssayInputError(_NOT_GROUPED.format(name=name, received=describe(table)))
    if set(other.metrics) != set(baseline.metrics):
        raise AssayInputError(_TABLES_DIFFER.format(
            what="metrics", detail=f"Got {list(other.metrics)} instead of {list(baseline.metrics)}."
        ))
    if not other.by_group.index.equals(baseline.by_group.index):
        left, right = set(baseline.by_group.index), set(other.by_group.index)
        missing, extra = sorted(left - right), sorted(right - left)
        detail = (f"Missing groups {missing[:10]}; extra groups {extra[:10]}." if missing or extra
                  else "Got the same groups in a different order.")
        if missing or extra:
            raise AssayInputError(_TABLES_DIFFER.format(what="groups", detail=detail))
    metrics = [m for m in baseline.metrics if m != "count"]
    index = pd.MultiIndex.from_tuples([("overall", "all"), *baseline.by_group.index], names=["feature", "group"])

    def values(table: GroupedMetrics, column: str) -> np.ndarray:
        rows = table.by_group.loc[baseline.by_group.index, column].to_numpy(np.float64)
        return np.concatenate([[float(table.overall[column])], rows])

    data: dict[tuple[str, str], np.ndarray] = {}
    for metric in metrics:
        before, after = values(baseline, metric), values(other, metric)
        change = after - before
        relative = np.full(change.shape, np.nan)
        np.divide(change, np.abs(before), out=relative, where=np.abs(before) > 0)
        for quantity, column in zip(_CHANGE_COLUMNS, (before, after, change, relative)):
            data[(metric, quantity)] = column
    data[("count", "baseline")] = values(baseline, "count")
    data[("count", "other")] = values(other, "count")
    frame = pd.DataFrame(data, index=index)
    frame.columns = pd.MultiIndex.from_tuples(list(data), names=["metric", "quantity"])
    return frame
