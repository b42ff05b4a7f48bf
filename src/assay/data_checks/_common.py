"""Shared pieces of the data checks: input validation, column kinds, codes, folds, AUC, Cramér's V.

Every public check validates its inputs here (errors are :class:`AssayInputError` naming the
argument) and then trusts them. Nothing here loops over rows; loops over columns, classes and
folds are fine.

Column kinds
------------
A column is **numeric** when its dtype is a number (int, float, nullable Int64/Float64) or a
date/time (read as nanoseconds), **categorical** otherwise (``category``, strings, objects,
booleans). Missing values are NaN/None/NA/NaT: numeric columns keep them as NaN; categorical
columns give them a code of their own ("missing" is a category).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import as_array, check_consistent_length, check_sensitive_features, describe
from ..metrics.scores import roc_auc_by_group

NUMERIC = "numeric"
CATEGORICAL = "categorical"

_BAD_FRAME = "'{name}' must be a DataFrame or a 2-D array. Got {received} instead."
_NO_COLUMNS = "'{name}' must have at least one column. Got a DataFrame of shape {shape}."
_TOO_FEW_ROWS = "'{name}' must have at least {min_rows} row(s). Got {n} instead."
_DUPLICATE_COLUMNS = "'{name}' must have distinct column names. Got duplicate(s) {dups}."
_INFINITE = (
    "'{name}' column '{column}' must hold finite numbers or missing values (NaN). "
    "Got {count} infinite value(s)."
)
_COLUMNS_DIFFER = (
    "'{name}' must have the same columns as '{reference}'. {problem}"
)
_KIND_DIFFERS = (
    "'{name}' column '{column}' must be {kind} like in '{reference}' (dtype {ref_dtype}). "
    "Got dtype {dtype} instead."
)
_NOT_BINARY_TARGET = (
    "'{name}' must be a binary target with exactly two distinct labels (these checks are "
    "binary-only). Got {count} label(s) {labels}."
)
_MISSING_TARGET = "'{name}' must not contain missing values. Got {count} (first at position {index})."


# ---------------------------------------------------------------------------------------------
# Frames and columns
# ---------------------------------------------------------------------------------------------


def check_frame(X: Any, *, name: str, min_rows: int = 1) -> pd.DataFrame:
    """``X`` as a DataFrame with distinct string column names (a 2-D array gets "0", "1", ...).

    The index is kept (examples are reported with its labels); rows are aligned with other
    arguments by position. Numeric columns must not hold infinite values.
    """
    if isinstance(X, pd.Series):
        frame = X.to_frame()
    elif isinstance(X, pd.DataFrame):
        frame = X
    else:
        try:
            arr = as_array(X, name=name, ndim=2, allow_nan=True, min_samples=0)
        except AssayInputError:
            raise AssayInputError(
                _BAD_FRAME.format(name=name, received=describe(X))
            ) from None
        frame = pd.DataFrame(arr)
    if frame.shape[1] == 0:
        raise AssayInputError(_NO_COLUMNS.format(name=name, shape=frame.shape))
    if len(frame) < min_rows:
        raise AssayInputError(_TOO_FEW_ROWS.format(name=name, min_rows=min_rows, n=len(frame)))
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        dups = sorted({c for c in columns if columns.count(c) > 1})
        raise AssayInputError(_DUPLICATE_COLUMNS.format(name=name, dups=dups))
    if list(frame.columns) != columns:
        frame = frame.set_axis(columns, axis=1)
    for column in columns:
        if column_kind(frame[column]) == NUMERIC:
            values = numeric_values(frame[column])
            bad = np.isinf(values)
            if bad.any():
                raise AssayInputError(
                    _INFINITE.format(name=name, column=column, count=int(bad.sum()))
                )
    return frame


def column_kind(column: pd.Series) -> str:
    """``"numeric"`` or ``"categorical"`` (see the module docstring)."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    ):
        return NUMERIC
    return CATEGORICAL


def column_kinds(X: pd.DataFrame) -> dict[str, str]:
    """Column name -> kind, in column order."""
    return {c: column_kind(X[c]) for c in X.columns}


def numeric_values(column: pd.Series) -> np.ndarray:
    """A numeric column as float64 with NaN for missing values (date/times as nanoseconds)."""
    dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        missing = column.isna().to_numpy()
        if isinstance(dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        values = column.to_numpy(dtype="datetime64[ns]" if column.dtype.kind == "M" else "timedelta64[ns]")
        out = values.view(np.int64).astype(np.float64)
        out[missing] = np.nan
        return out
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def object_values(column: pd.Series) -> np.ndarray:
    """A categorical column as an object array; missing values become ``None``."""
    values = column.astype(object).to_numpy()
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def joint_codes(columns: Sequence[pd.Series], kind: str) -> tuple[list[np.ndarray], np.ndarray, int]:
    """Integer codes of one feature across several frames, on a shared set of values.

    Returns ``(codes, uniques, missing_code)``: one int64 array per input (values
    ``0..len(uniques)-1``, missing values get ``missing_code = len(uniques)``), the distinct
    non-missing values in order of first appearance (not sorted: sorting millions of strings
    costs more than every check), and the missing code. Equal values get equal codes whatever the
    frame (numeric columns compare as float64, categorical ones by value).
    """
    if kind == NUMERIC:
        parts = [numeric_values(c) for c in columns]
        both = np.concatenate(parts) if len(parts) > 1 else parts[0]
        both = both + 0.0  # -0.0 and 0.0 are the same value
    else:
        parts = [object_values(c) for c in columns]
        both = np.concatenate(parts) if len(parts) > 1 else parts[0]
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    missing_code = len(uniques)
    codes[codes < 0] = missing_code
    out, start = [], 0
    for part in parts:
        out.append(codes[start:start + len(part)])
        start += len(part)
    return out, np.asarray(uniques, dtype=object), missing_code


def align_columns(
    X_reference: pd.DataFrame, X_current: pd.DataFrame, *, reference: str, name: str
) -> pd.DataFrame:
    """``X_current`` with the columns of ``X_reference`` in its order; kinds must agree."""
    ref_cols, cur_cols = list(X_reference.columns), list(X_current.columns)
    if set(ref_cols) != set(cur_cols):
        missing = [c for c in ref_cols if c not in cur_cols]
        extra = [c for c in cur_cols if c not in ref_cols]
        problem = []
        if missing:
            problem.append(f"Missing column(s) {missing}.")
        if extra:
            problem.append(f"Unexpected column(s) {extra}.")
        raise AssayInputError(
            _COLUMNS_DIFFER.format(name=name, reference=reference, problem=" ".join(problem))
        )
    aligned = X_current[ref_cols] if cur_cols != ref_cols else X_current
    for column in ref_cols:
        kind = column_kind(X_reference[column])
        if column_kind(aligned[column]) != kind:
            raise AssayInputError(
                _KIND_DIFFERS.format(
                    name=name, column=column, kind=kind, reference=reference,
                    ref_dtype=X_reference[column].dtype, dtype=aligned[column].dtype,
                )
            )
    return aligned


# ---------------------------------------------------------------------------------------------
# Targets and sensitive features
# ---------------------------------------------------------------------------------------------


def target_codes(y: Any, *, name: str, n_samples: int | None = None, against: str = "X",
                 binary: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, labels)``: ``y`` as int64 codes ``0..k-1`` of its sorted distinct labels.

    With ``binary`` (the default), ``y`` must hold exactly two labels.
    """
    arr = as_array(y, name=name, ndim=1, allow_nan=True)
    missing = pd.isna(arr)
    if missing.any():
        raise AssayInputError(
            _MISSING_TARGET.format(name=name, count=int(missing.sum()), index=int(np.argmax(missing)))
        )
    if n_samples is not None:
        check_consistent_length(**{against: np.empty(n_samples), name: arr})
    try:
        codes, labels = pd.factorize(arr, sort=True)
    except TypeError:
        codes, labels = pd.factorize(arr.astype(str), sort=True)
    labels = np.asarray(labels)
    if binary and len(labels) != 2 or len(labels) < 2:
        shown = [v.item() if isinstance(v, np.generic) else v for v in labels[:10]]
        raise AssayInputError(_NOT_BINARY_TARGET.format(name=name, count=len(labels), labels=shown))
    return codes.astype(np.int64), labels


def sensitive_frame(sensitive_features: Any, *, n_samples: int, against: str = "X",
                    name: str = "sensitive_features") -> pd.DataFrame:
    """Sensitive features as a DataFrame of strings (see ``check_sensitive_features``), with
    ``n_samples`` rows (the length of the argument named ``against``)."""
    frame = check_sensitive_features(sensitive_features, name=name)
    check_consistent_length(**{against: np.empty(n_samples), name: frame})
    return frame


def plain(value: Any) -> Any:
    """numpy scalars as Python scalars (for JSON-safe params)."""
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------------------------------
# Folds, encodings, AUC
# ---------------------------------------------------------------------------------------------


def stratified_folds(codes: np.ndarray, cv: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number (0..cv-1) of each row, stratified by ``codes``: rows of each class are put in
    random order and dealt to the folds in turn, so every fold gets the same share of each class
    (to one row)."""
    n = len(codes)
    order = np.lexsort((rng.permutation(n), codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    counts = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, counts)
    folds = np.empty(n, dtype=np.int64)
    folds[order] = rank % cv
    return folds


def oof_encoding(
    feature_codes: np.ndarray, n_codes: int, t_codes: np.ndarray, k: int, folds: np.ndarray, cv: int
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold target encoding, as tables indexed by (fold, category).

    The encoding of a row in fold ``f`` with category ``c`` is ``encoding[f, c]``: the class
    frequencies (k,) of category ``c`` among the rows of the *other* folds, or the other folds'
    overall class frequencies if they lack ``c``. Rows never see their own label, so a unique ID
    encodes to the prior. Also returns ``counts[f, c, j]``: rows of fold ``f``, category ``c``
    and class ``j``. One ``np.bincount``; no loop over rows or folds.
    """
    counts = np.bincount(
        (folds * n_codes + feature_codes) * k + t_codes, minlength=cv * n_codes * k
    ).reshape(cv, n_codes, k).astype(np.float64)
    other = counts.sum(axis=0, keepdims=True) - counts  # (cv, n_codes, k): rows of other folds
    totals = other.sum(axis=2, keepdims=True)
    class_totals = other.sum(axis=1, keepdims=True)  # (cv, 1, k)
    prior = class_totals / np.maximum(class_totals.sum(axis=2, keepdims=True), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        encoding = np.where(totals > 0, other / totals, prior)
    return encoding, counts


def oof_class_frequencies(
    feature_codes: np.ndarray, n_codes: int, t_codes: np.ndarray, k: int, folds: np.ndarray, cv: int
) -> np.ndarray:
    """Out-of-fold target encoding of each row, shape (n, k) (see :func:`oof_encoding`)."""
    encoding, _ = oof_encoding(feature_codes, n_codes, t_codes, k, folds, cv)
    return encoding[folds, feature_codes]


def _weighted_auc(classes: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    """AUC of rows aggregated by (score, class) with their counts as weights: the same value as
    on the original rows (``roc_auc_by_group`` weighs rows and splits ties), from far fewer rows."""
    keep = weights > 0
    return float(roc_auc_by_group(classes[keep], scores[keep], sample_weight=weights[keep])[0])


def _scaled_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values mapped monotonically into (0, 1] (the AUC is unchanged by such a map),
    and the index of each row's value."""
    uniques, inverse = np.unique(values, return_inverse=True)
    return np.arange(1, len(uniques) + 1) / len(uniques), inverse.reshape(-1)


def numeric_auc(values: np.ndarray, t_codes: np.ndarray, k: int) -> tuple[float, int]:
    """Orientation-free AUC of a raw numeric feature for the target classes.

    For each class (only class 1 when ``k == 2``), the AUC of the value for "this class vs the
    rest", turned into ``max(AUC, 1 - AUC)``; missing values are placed below all values and,
    separately, above them, and the larger AUC is kept. The result is the mean over classes
    (one-vs-rest macro). Also returns the direction for the binary case: +1 if larger values go
    with class 1, -1 otherwise.
    """
    missing = np.isnan(values)
    placements = [np.where(missing, -np.inf, values)]
    if missing.any():
        placements.append(np.where(missing, np.inf, values))
    ranked = []
    for placement in placements:
        score, inverse = _scaled_ranks(placement)
        counts = np.bincount(inverse * k + t_codes, minlength=len(score) * k).reshape(-1, k)
        ranked.append((score, counts))
    classes = [1] if k == 2 else list(range(k))
    per_class, direction = [], 1
    for c in classes:
        best, best_dir = -1.0, 1
        for score, counts in ranked:
            # Rows aggregated by (value, is class c): two weighted rows per distinct value.
            positives = counts[:, c].astype(np.float64)
            negatives = counts.sum(axis=1) - positives
            auc = _weighted_auc(
                np.r_[np.ones(len(score), np.int64), np.zeros(len(score), np.int64)],
                np.r_[score, score],
                np.r_[positives, negatives],
            )
            if auc >= best:
                best, best_dir = auc, 1
            if 1.0 - auc > best:
                best, best_dir = 1.0 - auc, -1
        per_class.append(best)
        direction = best_dir
    return float(np.mean(per_class)), direction


def categorical_auc(feature_codes: np.ndarray, n_codes: int, t_codes: np.ndarray, k: int,
                    folds: np.ndarray, cv: int) -> float:
    """AUC of the out-of-fold target encoding of a categorical feature (one-vs-rest macro for
    ``k > 2``). Not made orientation-free: an out-of-fold AUC below 0.5 means no signal.

    Rows sharing (fold, category, class) share their encoding, so the AUC is computed on those
    cells weighted by their counts -- the same value as on the rows.
    """
    encoding, counts = oof_encoding(feature_codes, n_codes, t_codes, k, folds, cv)
    cells = encoding.reshape(-1, k)  # (cv * n_codes, k)
    cell_counts = counts.reshape(-1, k)
    classes = np.repeat(np.arange(k)[None, :], len(cells), axis=0).ravel()  # class j of each (cell, j)
    scores = np.repeat(cells, k, axis=0)  # the cell's encoding, once per class
    if k == 2:
        scores = scores[:, 1]
    return _weighted_auc(classes, scores, cell_counts.ravel())


def quantile_bins(values: np.ndarray, n_bins: int, edges_from: np.ndarray | None = None
                  ) -> tuple[np.ndarray, int]:
    """Codes of ``values`` in up to ``n_bins`` quantile bins (edges from ``edges_from``, by default
    the values themselves; duplicate edges merged); missing values get the last code.

    Returns ``(codes, n_codes)`` where ``n_codes`` counts the missing code.
    """
    source = values if edges_from is None else edges_from
    finite = source[~np.isnan(source)]
    if finite.size:
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))
    else:
        edges = np.empty(0)
    codes = np.searchsorted(edges, values, side="right").astype(np.int64)
    n_value_codes = len(edges) + 1
    codes[np.isnan(values)] = n_value_codes
    return codes, n_value_codes + 1


# ---------------------------------------------------------------------------------------------
# Contingency tables
# ---------------------------------------------------------------------------------------------


def contingency(a_codes: np.ndarray, n_a: int, b_codes: np.ndarray, n_b: int) -> np.ndarray:
    """Counts (n_a, n_b) of the pairs of codes, rows and columns that are all zero removed."""
    table = np.bincount(a_codes * n_b + b_codes, minlength=n_a * n_b).reshape(n_a, n_b)
    return table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]


def chi2_statistic(table: np.ndarray) -> float:
    """Pearson's chi-square statistic of independence (no continuity correction)."""
    table = np.asarray(table, dtype=np.float64)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (table - expected) ** 2 / expected, 0.0)
    return float(terms.sum())


def cramers_v(table: np.ndarray, *, corrected: bool = True) -> float:
    """Cramér's V of a contingency table, by default with Bergsma's (2013) bias correction.

    ``V = sqrt(phi2 / min(r - 1, c - 1))`` with ``phi2 = chi2 / n``. The correction subtracts
    the expected ``phi2`` under independence, ``(r - 1)(c - 1) / (n - 1)``, and shrinks ``r``
    and ``c`` alike; without it a column of unique IDs looks perfectly associated with anything
    (V = 1), with it V is about 0. A table with one row or one column gives 0.
    """
    table = np.asarray(table, dtype=np.float64)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, c = table.shape
    n = table.sum()
    if r < 2 or c < 2 or n < 2:
        return 0.0
    phi2 = chi2_statistic(table) / n
    if not corrected:
        return float(np.sqrt(phi2 / min(r - 1, c - 1)))
    phi2 = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
    r_c = r - (r - 1) ** 2 / (n - 1)
    c_c = c - (c - 1) ** 2 / (n - 1)
    denominator = min(r_c - 1, c_c - 1)
    if denominator <= 0:
        return 0.0
    return float(min(1.0, np.sqrt(phi2 / denominator)))
