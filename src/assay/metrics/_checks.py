"""Input checks shared by the metric functions and the grouped tables.

Built on :mod:`assay.core.validation`; every failure is an :class:`AssayInputError` that names
the argument, says what was received and what was expected. Functions here are private: the
public functions of :mod:`assay.metrics` call them at their boundary, then trust their inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import as_array, check_probabilities, describe

_MISSING_LABELS = (
    "'{name}' must not contain missing values. Got {count} missing value(s) (first at index {index})."
)
_NOT_BINARY = (
    "'{name}' must hold at most two distinct labels: label metrics are binary-only with "
    "average='binary' (for multiclass labels pass average='ovr' or 'macro' to evaluate_groups). "
    "Got {count} labels {labels}."
)
_SCORES_HINT = " Scores or probabilities go in 'y_score', predicted labels in 'y_pred'."
_POS_LABEL_ABSENT = (
    "'pos_label' must be one of the labels found in y_true and y_pred {labels}. Got {pos_label!r} instead."
)
_BAD_WEIGHTS = "'sample_weight' must hold non-negative finite numbers. Got {problem}."
_BAD_CLASS_INDEX = (
    "'{name}' must hold class indices 0..{last} (the columns of '{prob_name}', which has {k} "
    "columns). Got {problem}."
)
_BAD_PROB_SHAPE = (
    "'{name}' must have shape (n,) for binary, or (n, k) with k >= 2 columns. Got shape {shape}."
)
_BAD_CODES = "'group_codes' must hold integers in [0, {n_groups}). Got {problem}."


_EMPTY_METRICS = "'metrics' must name at least one metric among {valid}. Got {received} instead."


def metric_names(metrics: Any, valid: list[str]) -> list[Any]:
    """``metrics`` (one name or an iterable of names) as a non-empty list; the names themselves are
    the caller's to check against ``valid`` (which the error lists)."""
    names = [metrics] if isinstance(metrics, str) else metrics
    try:
        names = list(names)
    except TypeError:
        raise AssayInputError(_EMPTY_METRICS.format(valid=valid, received=repr(metrics))) from None
    if not names:
        raise AssayInputError(_EMPTY_METRICS.format(valid=valid, received=repr(metrics)))
    return names


def check_labels_1d(y: Any, *, name: str) -> np.ndarray:
    """``y`` as a 1-D array of labels with no NaN/None; the argument is named in errors."""
    arr = as_array(y, name=name, ndim=1)
    if arr.dtype == object:
        missing = pd.isna(arr)
        if missing.any():
            raise AssayInputError(
                _MISSING_LABELS.format(name=name, count=int(missing.sum()), index=int(np.argmax(missing)))
            )
    return arr


def check_binary_labels(
    y_true: np.ndarray | None, y_pred: np.ndarray | None, pos_label: Any, *, seen: Any = ()
) -> list[Any]:
    """Raise unless ``y_true`` and ``y_pred`` together hold at most two labels, one being ``pos_label``.

    A single label (all rows positive, or all negative) is allowed. ``seen`` holds labels found
    earlier (in previous batches), so that batches are checked together: three labels spread
    over two batches raise as they would in one array. Returns the labels found, ``seen``
    included (at most two).
    """
    found: list[Any] = list(seen)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y is None:
            continue
        uniques = _distinct(y)
        if len(uniques) > 2:
            message = _NOT_BINARY.format(name=name, count=len(uniques), labels=_show(uniques))
            if name == "y_pred" and y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
                message += _SCORES_HINT
            raise AssayInputError(message)
        found += [v for v in uniques if not any(_same(v, known) for known in found)]
        if len(found) > 2:
            raise AssayInputError(
                _NOT_BINARY.format(name="y_true' and 'y_pred", count=len(found), labels=_show(found))
            )
    if len(found) == 2 and not any(_same(pos_label, v) for v in found):
        raise AssayInputError(_POS_LABEL_ABSENT.format(labels=_show(found), pos_label=pos_label))
    return found


def _distinct(y: np.ndarray) -> list[Any]:
    """The distinct values of ``y``; integers and booleans spanning at most two values take
    two reductions (min and max) instead of a hash table."""
    if y.dtype.kind in "iub" and y.size:
        low, high = _plain(y.min()), _plain(y.max())
        if high == low:
            return [low]
        if y.dtype.kind == "b" or high - low == 1:
            return [low, high]
    return [_plain(v) for v in pd.unique(y)]


def _show(values: list[Any]) -> list[Any]:
    return sorted(values[:10], key=str)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def check_sample_weight(sample_weight: Any, *, allow_all_zero: bool = True) -> np.ndarray | None:
    """``sample_weight`` as a float64 (n,) array of non-negative finite numbers, or None.

    ``allow_all_zero=False`` (whole-data entry points, as scikit-learn and Fairlearn) refuses
    weights that are all 0; a batch of a stream may hold only zeros.
    """
    if sample_weight is None:
        return None
    w = as_array(sample_weight, name="sample_weight", ndim=1, dtype=np.float64)
    if (w < 0).any():
        first = int(np.argmax(w < 0))
        problem = f"{int((w < 0).sum())} negative value(s) (first at index {first}: {w[first]:g})"
        raise AssayInputError(_BAD_WEIGHTS.format(problem=problem))
    if not allow_all_zero and not w.any():
        raise AssayInputError(
            f"'sample_weight' must have a positive total: every metric would be 0/0. Got {len(w)} zero weight(s)."
        )
    return w


def check_prob(y_prob: Any, *, name: str) -> np.ndarray:
    """Probabilities as float64 of shape (n,) or (n, k>=2): values in [0, 1], rows summing to 1."""
    p = check_probabilities(y_prob, name=name)
    if p.ndim == 2 and p.shape[1] < 2:
        raise AssayInputError(_BAD_PROB_SHAPE.format(name=name, shape=p.shape))
    return p


def check_class_indices(y_true: np.ndarray, k: int, *, name: str, prob_name: str) -> np.ndarray:
    """Labels of a k-class problem as int64 indices 0..k-1 (the columns of the probabilities)."""
    arr = np.asarray(y_true)
    problem = None
    if arr.dtype.kind in "iub":
        idx = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        idx = arr.astype(np.int64)
        if not np.array_equal(idx, arr):
            problem = "non-integer values"
    else:
        try:
            as_float = arr.astype(np.float64)
        except (TypeError, ValueError):
            problem = f"{describe(arr)} (labels that are not class indices)"
        else:
            idx = as_float.astype(np.int64)
            if not np.array_equal(idx, as_float):
                problem = "non-integer values"
    if problem is None:
        bad = (idx < 0) | (idx >= k)
        if bad.any():
            first = int(np.argmax(bad))
            problem = (
                f"{int(bad.sum())} value(s) outside that range "
                f"(first at index {first}: {_plain(arr[first])!r})"
            )
    if problem is not None:
        raise AssayInputError(
            _BAD_CLASS_INDEX.format(name=name, last=k - 1, prob_name=prob_name, k=k, problem=problem)
        )
    return idx


def check_group_codes(group_codes: Any, n_groups: int, n_samples: int) -> np.ndarray:
    """Integer group codes in [0, n_groups); None means one group (all rows in group 0)."""
    if group_codes is None:
        if n_groups != 1:
            raise AssayInputError(
                f"'group_codes' must be given when there are {n_groups} groups. Got None instead."
            )
        return np.zeros(n_samples, dtype=np.int64)
    codes = as_array(group_codes, name="group_codes", ndim=1)
    if codes.dtype.kind not in "iu":
        raise AssayInputError(_BAD_CODES.format(n_groups=n_groups, problem=describe(codes)))
    if codes.size and (codes.min() < 0 or codes.max() >= n_groups):
        raise AssayInputError(
            _BAD_CODES.format(n_groups=n_groups, problem=f"values in [{codes.min()}, {codes.max()}]")
        )
    return codes.astype(np.int64, copy=False)
