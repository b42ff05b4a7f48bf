"""Equivalence classes of a table: rows that share every quasi-identifier value.

One vectorised group-by shared by k-anonymity, l-diversity, t-closeness and the generaliser:
each quasi-identifier is factorised (``pd.factorize``, missing values a value of their own), the
codes are combined in mixed radix and factorised once more, so class codes are numbered in order
of first appearance and class sizes are one ``np.bincount``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.columns import unknown_column_error
from ..core.errors import AssayInputError
from ..core.validation import check_scalar, describe

_RADIX_LIMIT = 1 << 62


def check_table(frame: Any, *, owner: str, name: str = "frame") -> pd.DataFrame:
    """``frame`` as a DataFrame with at least one row (a Series becomes one column)."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not isinstance(frame, pd.DataFrame):
        raise AssayInputError(f"'{name}' of {owner} must be a pandas DataFrame. Got {describe(frame)}.")
    if len(frame) == 0:
        raise AssayInputError(f"'{name}' of {owner} must have at least one row. Got a DataFrame of shape "
                              f"{frame.shape}.")
    return frame


def check_columns(frame: pd.DataFrame, columns: Any, *, arg: str, owner: str, single: bool = False) -> list:
    """``columns`` (a name or a list of names) as a list of columns of ``frame``; refuses unknown
    names, duplicates and an empty list, naming ``arg``."""
    if isinstance(columns, (str, numbers.Integral)):
        columns = [columns]
    elif single:
        raise AssayInputError(f"'{arg}' of {owner} must be one column name. Got {describe(columns)}.")
    if not isinstance(columns, (list, tuple, pd.Index)) or len(columns) == 0:
        raise AssayInputError(f"'{arg}' of {owner} must be a non-empty list of column names of 'frame'. "
                              f"Got {describe(columns)}.")
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise unknown_column_error(f"'{arg}'", missing[0] if len(missing) == 1 else missing, frame.columns,
                                   where="'frame'")
    if len(set(map(str, columns))) != len(columns):
        raise AssayInputError(f"'{arg}' of {owner} names a column twice: {columns!r}.")
    return columns


def check_k(value: Any, name: str, *, owner: str) -> int:
    """A target class size: an int >= 1."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    return check_scalar(value, name, owner=owner, kind=numbers.Integral, low=1)


def column_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes 0..m-1 of a column (missing values one code of their own) and m."""
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
    except TypeError as exc:  # unhashable cells (lists, dicts)
        raise AssayInputError(f"column {column.name!r} of 'frame' holds values that cannot be compared as "
                              f"categories ({exc}); convert them to strings or numbers first.") from None
    return codes.astype(np.int64, copy=False), max(len(uniques), 1)


def combine_codes(parts: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """Class code of each row (0..C-1, numbered by first appearance) from per-column codes."""
    codes, card = parts[0]
    for nxt, nxt_card in parts[1:]:
        if card * nxt_card >= _RADIX_LIMIT:
            codes, uniques = pd.factorize(codes)
            card = len(uniques)
        codes = codes * nxt_card + nxt
        card = card * nxt_card
    codes, uniques = pd.factorize(codes)
    return codes.astype(np.int64, copy=False), len(uniques)


def class_codes(frame: pd.DataFrame, columns: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, sizes)``: the equivalence class of each row and the size of each class."""
    codes, n_classes = combine_codes([column_codes(frame[c]) for c in columns])
    return codes, np.bincount(codes, minlength=n_classes)


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Row of the first member of each class (codes numbered by first appearance)."""
    running = np.maximum.accumulate(codes)
    first = np.empty(len(codes), dtype=bool)
    first[0] = True
    first[1:] = codes[1:] > running[:-1]
    return np.flatnonzero(first)


def class_table(frame: pd.DataFrame, columns: Sequence[Any], codes: np.ndarray, classes: np.ndarray,
                **values: np.ndarray) -> pd.DataFrame:
    """One row per class in ``classes``: its quasi-identifier values (from its first member) and
    ``values`` (arrays indexed by class). Only the quasi-identifier values are shown, never other
    columns of the class's rows."""
    rows = first_rows(codes)[classes]
    table = frame.iloc[rows][list(columns)].reset_index(drop=True)
    for key, value in values.items():
        table[key] = value
    return table
