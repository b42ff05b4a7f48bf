"""Input validation: the one place where user input is checked and converted.

Every check raises :class:`~assay.core.errors.AssayInputError` with a message that names the
argument, says what was received and what is expected. Computation modules call these helpers
at their public boundary and then trust their inputs.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import AssayInputError, NotFittedError

_BAD_TYPE = "'{name}' must be {expected}. Got {received} instead."
_BAD_NDIM = "'{name}' must be a {expected} array. Got an array of shape {shape} instead."
_NOT_FINITE = (
    "'{name}' must contain only finite values. Got {count} NaN or infinite value(s) "
    "(first at index {index})."
)
_LENGTH_MISMATCH = (
    "Inputs must have the same number of rows. Got {lengths}."
)
_EMPTY = "'{name}' must contain at least {min_samples} row(s). Got {n} instead."
_NOT_PROBABILITY = (
    "'{name}' must hold probabilities in [0, 1]{rows}. Got {problem}."
)
_UNKNOWN_LABELS = (
    "'{name}' contains labels that are not among the model's classes {classes}: {unknown}."
)
_SINGLE_GROUP = (
    "'{name}' column '{column}' has a single group ({group!r}); at least two groups are needed "
    "to compare them."
)
_MISSING_GROUP = (
    "'{name}' column '{column}' has {count} missing value(s); give missing values a group of "
    "their own (e.g. fillna('missing')) or drop those rows."
)
_PARAMETER = "The '{name}' parameter of {owner} must be {expected}. Got {received} instead."
_NOT_FITTED = (
    "This {owner} instance is not fitted yet. Call {fit} first."
)


def describe(value: Any) -> str:
    """A short description of ``value`` for error messages: type, and shape/dtype for arrays."""
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, pd.DataFrame):
        return f"a DataFrame of shape {value.shape}"
    if isinstance(value, pd.Series):
        return f"a Series of length {len(value)} and dtype {value.dtype}"
    if type(value).__module__.startswith("torch") and hasattr(value, "shape"):
        return f"a torch tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (str, bytes, numbers.Number, bool)) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"an object of type {type(value).__name__}"


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.DataFrame)):
        return x.to_numpy()
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def as_array(
    x: Any,
    *,
    name: str,
    ndim: int | tuple[int, ...] | None = None,
    dtype: Any = None,
    allow_nan: bool = False,
    min_samples: int = 1,
) -> np.ndarray:
    """Convert ``x`` (list, numpy, pandas, torch) to a numpy array and check it.

    Parameters
    ----------
    x : array-like
    name : str
        The argument's name, used in error messages.
    ndim : int or tuple of int, optional
        Allowed number of dimensions.
    dtype : numpy dtype, optional
        Convert to this dtype (e.g. ``float``); an error if the conversion fails.
    allow_nan : bool
        If False, NaN or infinite values in a numeric array raise.
    min_samples : int
        Minimum number of rows.
    """
    if x is None:
        raise AssayInputError(_BAD_TYPE.format(name=name, expected="an array", received="None"))
    try:
        arr = _to_numpy(x)
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
    except (TypeError, ValueError) as exc:
        expected = f"an array convertible to {np.dtype(dtype).name}" if dtype else "an array"
        raise AssayInputError(
            _BAD_TYPE.format(name=name, expected=expected, received=describe(x)) + f" ({exc})"
        ) from None
    if arr.dtype == object and dtype is None:
        # Object arrays of numbers (e.g. from a list of mixed ints/floats) stay as they are;
        # callers that need numbers pass dtype.
        pass
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            expected = " or ".join(f"{d}-D" for d in allowed)
            raise AssayInputError(_BAD_NDIM.format(name=name, expected=expected, shape=arr.shape))
    n = arr.shape[0] if arr.ndim else 0
    if n < min_samples:
        raise AssayInputError(_EMPTY.format(name=name, min_samples=min_samples, n=n))
    if not allow_nan and np.issubdtype(arr.dtype, np.number):
        check_finite(arr, name=name)
    return arr


def check_finite(arr: np.ndarray, *, name: str) -> np.ndarray:
    """Raise if a numeric array holds NaN or infinite values."""
    if np.issubdtype(arr.dtype, np.inexact):
        bad = ~np.isfinite(arr)
        if bad.any():
            first = np.unravel_index(np.argmax(bad), arr.shape)
            index = first[0] if len(first) == 1 else tuple(int(i) for i in first)
            raise AssayInputError(
                _NOT_FINITE.format(name=name, count=int(bad.sum()), index=index)
            )
    return arr


def check_consistent_length(**arrays: Any) -> int:
    """Raise unless every non-None argument has the same number of rows; return that number."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        raise AssayInputError(_LENGTH_MISMATCH.format(lengths=shown))
    return next(iter(lengths.values())) if lengths else 0


def check_probabilities(p: Any, *, name: str, atol: float = 1e-4) -> np.ndarray:
    """Check that ``p`` holds probabilities: values in [0, 1] and, if 2-D, rows summing to 1.

    Returns the probabilities as a float64 array of shape (n,) or (n, k).
    """
    arr = as_array(p, name=name, ndim=(1, 2), dtype=np.float64)
    low, high = float(arr.min()), float(arr.max())
    if low < -atol or high > 1 + atol:
        raise AssayInputError(
            _NOT_PROBABILITY.format(
                name=name, rows="", problem=f"values in [{low:.4g}, {high:.4g}]"
            )
        )
    if arr.ndim == 2:
        sums = np.einsum("ij->i", arr)  # a row sum several times faster than sum(axis=1) on narrow rows
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > atol:
            raise AssayInputError(
                _NOT_PROBABILITY.format(
                    name=name,
                    rows=" with rows summing to 1",
                    problem=f"row {worst} summing to {sums[worst]:.6g}",
                )
            )
    return np.clip(arr, 0.0, 1.0)


def check_labels(y: Any, *, name: str, classes: Sequence[Any] | np.ndarray | None,
                 where: str | None = None) -> np.ndarray:
    """Check that every label in ``y`` is one of the model's ``classes``; return ``y`` as 1-D.

    ``classes=None`` means a model whose classes are the indices ``0..k-1`` of its outputs (known
    only once it runs): labels must then be non-negative integers. ``where`` (e.g.
    ``"data['test']"``) is named after ``name`` in the message, which lists the labels found, the
    classes, and the mapping from one to the other when their counts match.
    """
    arr = as_array(y, name=name, ndim=1)
    if pd.isna(arr).any() if arr.dtype == object else (
        np.issubdtype(arr.dtype, np.inexact) and np.isnan(arr).any()
    ):
        raise AssayInputError(_NOT_FINITE.format(name=name, count=int(pd.isna(arr).sum()),
                                                 index=int(np.argmax(pd.isna(arr)))))
    found = _sorted_values(pd.unique(arr))
    label = f"'{name}'" + (f" of {where}" if where else "")
    if classes is None:
        numeric = np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.complexfloating)
        if numeric and bool(np.all(arr >= 0)) and bool(np.all(np.mod(arr, 1) == 0)):
            return arr
        mapping = ", ".join(f"{v!r}: {i}" for i, v in enumerate(found))
        raise AssayInputError(
            f"{label} holds labels {_shown(found)}, but the model's classes are the indices 0..k-1 of its "
            f"outputs: map the labels to them first, e.g. {{{mapping}}} if that is the order of the "
            "model's outputs, or pass 'classes' to wrap()."
        )
    classes = np.asarray(classes)
    known = set(classes.tolist())
    unknown = [v for v in found if v not in known]
    if unknown:
        message = _UNKNOWN_LABELS.format(name=name, classes=classes.tolist(), unknown=_shown(unknown))
        if where:
            message = message.replace(f"'{name}'", label, 1)
        message += f" Labels found: {_shown(found)}."
        if len(found) == len(classes) and not known.intersection(found):
            mapping = ", ".join(f"{v!r}: {c!r}" for v, c in zip(found, _sorted_values(classes.tolist())))
            message += (f" Recode them as the model's classes first, e.g. map {{{mapping}}} (in sorted "
                        "order; check that this is the right pairing).")
        else:
            message += " Recode them as the model's classes first."
        raise AssayInputError(message)
    return arr


def _sorted_values(values: Any) -> list[Any]:
    """Plain Python values, sorted (by their text where types differ)."""
    items = [v.item() if isinstance(v, np.generic) else v for v in values]
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda v: (type(v).__name__, str(v)))


def _shown(values: list[Any], limit: int = 10) -> str:
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"{values[:limit]}{more}"


def check_sensitive_features(
    sensitive_features: Any,
    *,
    n_samples: int | None = None,
    name: str = "sensitive_features",
) -> pd.DataFrame:
    """Convert sensitive features to a DataFrame with one column per feature, values as str.

    Accepts a Series, a DataFrame, a dict of name -> array, a 1-D array (one feature) or a
    2-D array (one feature per column). Each feature must have at least two groups and no
    missing values.
    """
    features, columns = sensitive_feature_columns(sensitive_features, n_samples, name=name)
    frame = pd.DataFrame({f: c.to_numpy() if isinstance(c, pd.Series) else c for f, c in zip(features, columns)})
    for column in frame.columns:
        values = frame[column]
        missing = int(values.isna().sum())
        if missing:
            raise AssayInputError(_MISSING_GROUP.format(name=name, column=column, count=missing))
        uniques = pd.unique(values)
        if len(uniques) < 2:
            raise AssayInputError(
                _SINGLE_GROUP.format(name=name, column=column,
                                     group=uniques[0] if len(uniques) else None)
            )
        frame[column] = values.astype(str)
    return frame


def check_scalar(
    value: Any,
    name: str,
    *,
    owner: str,
    kind: type | tuple[type, ...] = numbers.Real,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> Any:
    """Check a scalar hyper-parameter: its type and the interval it lies in.

    ``closed`` is "both", "left", "right" or "neither". The message follows scikit-learn's:
    "The 'n_bins' parameter of CalibrationCheck must be an int in [1, inf). Got 0 instead."
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    integral = all(issubclass(k, numbers.Integral) for k in kinds)
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    expected = f"{'an int' if integral else 'a float'} in {left}{lo}, {hi}{right}"
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if ok:
        if low is not None:
            ok = value >= low if left == "[" else value > low
        if ok and high is not None:
            ok = value <= high if right == "]" else value < high
    if not ok:
        raise AssayInputError(
            _PARAMETER.format(name=name, owner=owner, expected=expected, received=repr(value))
        )
    return value


def check_option(value: Any, name: str, *, owner: str, options: Sequence[Any]) -> Any:
    """Check that ``value`` is one of ``options``."""
    if value not in options:
        expected = "one of " + ", ".join(repr(o) for o in options)
        raise AssayInputError(
            _PARAMETER.format(name=name, owner=owner, expected=expected, received=repr(value))
        )
    return value


def check_bool(value: Any, name: str, *, owner: str, allow_none: bool = False) -> bool | None:
    """Check a flag: a bool (numpy's included), or None where ``allow_none``; returns it as bool."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        expected = "None, True or False" if allow_none else "a bool"
        raise AssayInputError(_PARAMETER.format(name=name, owner=owner, expected=expected, received=repr(value)))
    return bool(value)


def check_random_state(seed: Any, *, name: str = "seed") -> np.random.Generator:
    """Turn ``seed`` (None, int, or numpy Generator) into a numpy Generator."""
    if seed is None or isinstance(seed, (numbers.Integral, np.integer)) and not isinstance(seed, bool):
        if seed is not None and seed < 0:
            raise AssayInputError(
                _BAD_TYPE.format(name=name, expected="a non-negative int", received=repr(seed))
            )
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise AssayInputError(
        _BAD_TYPE.format(name=name, expected="None, an int or a numpy Generator", received=describe(seed))
    )


#: Default of a deprecated keyword alias (``seed=``, ``ci_level=``): tells "not given" from any value.
NOT_GIVEN: Any = type("_NotGiven", (), {"__repr__": lambda self: "<not given>"})()
SEED_NOT_GIVEN = NOT_GIVEN


def renamed_parameter(value: Any, old_value: Any, *, name: str, old: str, owner: str,
                      default: Any = NOT_GIVEN) -> Any:
    """The ``name`` parameter of a function whose old keyword ``old`` is a deprecated alias.

    Declare ``<name>=<default>, <old>=NOT_GIVEN`` and call this first: a given ``old`` warns with
    a ``FutureWarning`` (attributed to the caller) and is used. With ``default`` (the default of
    ``name``), an ``old`` given beside a ``name`` other than its default is refused.
    """
    if old_value is NOT_GIVEN:
        return value
    if default is not NOT_GIVEN and value is not default and not (
            isinstance(value, (numbers.Number, type(None))) and value == default):
        raise AssayInputError(
            f"The '{old}' parameter of {owner} is a deprecated alias of '{name}'; got both "
            f"({name}={value!r}, {old}={old_value!r}). Pass only '{name}'."
        )
    import warnings

    from .errors import outside_stacklevel

    warnings.warn(f"The '{old}' parameter of {owner} is deprecated and will be removed; use "
                  f"'{name}' (same meaning).", FutureWarning, stacklevel=outside_stacklevel())
    return old_value


def renamed_seed(random_state: Any, seed: Any, *, owner: str, default: Any = NOT_GIVEN) -> Any:
    """:func:`renamed_parameter` for ``random_state`` and its old name ``seed``."""
    return renamed_parameter(random_state, seed, name="random_state", old="seed", owner=owner, default=default)


def check_is_fitted(estimator: Any, attributes: Sequence[str] | None = None, *,
                    fit: str = "'fit'") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has its learned (``*_``) attributes."""
    if attributes is None:
        fitted = any(
            k.endswith("_") and not k.startswith("__") for k in vars(estimator)
        )
    else:
        fitted = all(hasattr(estimator, a) for a in attributes)
    if not fitted:
        raise NotFittedError(_NOT_FITTED.format(owner=type(estimator).__name__, fit=fit))


# ---------------------------------------------------------------------------------------------
# Sensitive features and pandas alignment (the one parser; the one alignment rule)
# ---------------------------------------------------------------------------------------------

_DUPLICATE_FEATURES = (
    "'{name}' must have distinct column names. Got {duplicated} more than once in {columns}."
)
_INDEX_MISMATCH = (
    "{names} are pandas objects with different indexes: rows are paired by index when every "
    "array input is pandas, so their index sets must be equal. {detail} Pass numpy arrays (or "
    "reset_index(drop=True)) to pair rows by position."
)


def _feature_column(values: Any) -> np.ndarray | pd.Series:
    """A 1-D column: pandas Series are kept (categoricals stay categorical), the rest -> numpy."""
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, (pd.Index, pd.Categorical)):
        return pd.Series(values)
    if type(values).__module__.startswith("torch") and hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values).ravel()


def sensitive_feature_columns(
    sensitive_features: Any, n_samples: int | None = None, *, name: str = "sensitive_features",
    reference: str = "y_true",
) -> tuple[tuple[str, ...], list[np.ndarray | pd.Series]]:
    """Feature names and one column per feature, without copying or converting the rows.

    The one parser of ``sensitive_features`` (:func:`check_sensitive_features` and the grouped
    tables read through it): a Series, a DataFrame, a dict of name -> array, a 1-D array (one
    feature) or a 2-D array (one feature per column). Names must be distinct; lengths are
    checked against ``n_samples`` (the rows of ``reference``); values are read later.
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
            raise AssayInputError(_BAD_TYPE.format(name=name, expected="a non-empty mapping", received="{}"))
        names = list(sf)
        columns = [_feature_column(v) for v in sf.values()]
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
            raise AssayInputError(_BAD_TYPE.format(
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
        raise AssayInputError(_BAD_TYPE.format(
            name=name, expected="at least one feature (column)", received=describe(sf)
        ))
    if len(set(features)) != len(features):
        duplicated = sorted({f for f in features if features.count(f) > 1})
        raise AssayInputError(_DUPLICATE_FEATURES.format(name=name, duplicated=duplicated, columns=list(features)))
    n = len(columns[0])
    if n_samples is not None and n != n_samples:
        raise AssayInputError(
            _LENGTH_MISMATCH.format(lengths=f"{name}: {n}, expected {n_samples} ({reference})")
        )
    return features, columns


def align_pandas(**inputs: Any) -> dict[str, Any]:
    """The one rule for pandas inputs whose indexes differ: align by index, or refuse.

    When every non-None input is a pandas Series or DataFrame (a dict of Series counts as
    its Series), and their indexes are not all equal, each is reordered to the index of the
    first; if the index *sets* differ (or an index has duplicates), :class:`AssayInputError`
    names the arguments. When any input is not pandas (numpy, lists, torch), rows are paired
    by position, as scikit-learn does. Returns the inputs (reordered where needed).
    """
    given = {k: v for k, v in inputs.items() if v is not None}
    frames: dict[str, list[Any]] = {}
    for key, value in given.items():
        if isinstance(value, (pd.Series, pd.DataFrame)):
            frames[key] = [value]
        elif isinstance(value, Mapping) and value and all(isinstance(v, pd.Series) for v in value.values()):
            frames[key] = list(value.values())
        else:
            return dict(inputs)
    if len(frames) < 2:
        return dict(inputs)
    first_key = next(iter(frames))
    target = frames[first_key][0].index
    if all(part.index.equals(target) for parts in frames.values() for part in parts):
        return dict(inputs)
    for key, parts in frames.items():
        for part in parts:
            index = part.index
            if not index.is_unique or not target.is_unique or len(index) != len(target) or \
                    not index.isin(target).all():
                names = ", ".join(f"'{k}'" for k in frames)
                missing = [str(x) for x in target.difference(index)[:5]] if target.is_unique and index.is_unique else []
                detail = (f"'{key}' has {len(index)} rows ({'unique' if index.is_unique else 'duplicated'} index), "
                          f"'{first_key}' {len(target)}" + (f"; labels of '{first_key}' missing from '{key}': "
                                                            f"{missing}" if missing else "") + ".")
                raise AssayInputError(_INDEX_MISMATCH.format(names=names, detail=detail))
    out = dict(inputs)
    for key, value in given.items():
        if isinstance(value, (pd.Series, pd.DataFrame)):
            out[key] = value.reindex(target)
        elif isinstance(value, Mapping):
            out[key] = {k: v.reindex(target) for k, v in value.items()}
    return out


SEPARATOR = " x "
"""Joins the feature names ("sex x race") and group labels ("Female x Black") of an intersection."""
