"""How the audit reads its inputs: each split's (X, y, sensitive features), validated once.

:func:`audit_inputs` turns ``Audit(data=...)`` into the ``splits`` of an
:class:`~assay.audit.base.AuditContext`, before any check runs:

* column names (``target``, ``sensitive_features``, ``features``) are looked up with
  :mod:`assay.core.columns` (closest matches, "did you mean"); ``"sex,race"`` is split on commas
  unless a column has that exact name;
* ``X`` of every split is cut to the columns the model takes: ``features`` if given, else the
  model's own ``feature_names_in_`` (scikit-learn), else every column but the target. A split
  that lacks one of them is refused, naming the split and the columns;
* a numeric sensitive feature with more than
  :data:`~assay.data_checks.binning.MAX_NUMERIC_GROUPS` values is refused (or binned by
  quantiles of the training split with ``bin_sensitive``);
* the labels of every labelled split must be the model's classes
  (:func:`~assay.core.validation.check_labels`).

Every problem raises :class:`~assay.core.errors.AssayInputError` naming the split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.batching import n_rows
from ..core.columns import columns_shown, parse_columns, unknown_column_error
from ..core.errors import AssayInputError
from ..core.validation import (
    as_array,
    check_consistent_length,
    check_labels,
    check_scalar,
    check_sensitive_features,
    describe,
)
from ..data_checks.binning import MAX_NUMERIC_GROUPS, bin_by_quantiles, many_valued_numeric
from .base import is_ood_split

__all__ = ["audit_inputs"]


def _split_parts(name: str, value: Any, target: str | None, sensitive: Sequence[str] | None):
    """(X, y, sensitive DataFrame or None, {numeric sensitive column with many values: count})
    from a DataFrame, a tuple or an assay Split."""
    label = f"data[{name!r}]"
    split_sensitive = None
    if hasattr(value, "X") and hasattr(value, "y"):  # assay.datasets.Split
        X, y, split_sensitive = value.X, value.y, getattr(value, "sensitive_features", None)
    elif isinstance(value, tuple) and len(value) in (2, 3):
        X, y = value[0], value[1]
        split_sensitive = value[2] if len(value) == 3 else None
    elif isinstance(value, pd.DataFrame):
        if target is not None and target not in value.columns:
            if is_ood_split(name):
                X, y = value, None
            else:
                raise unknown_column_error("'target'", target, value.columns, where=label)
        else:
            X = value.drop(columns=[target]) if target is not None else value
            y = value[target] if target is not None else None
        split_sensitive = value
    elif is_ood_split(name):
        X, y = value, None
    else:
        raise AssayInputError(
            f"{label} must be a DataFrame (with the 'target' column), a tuple (X, y[, sensitive_features]) "
            f"or an assay.datasets.Split. Got {describe(value)}.")
    for part, what in ((X, "X of "), (split_sensitive, "sensitive_features of ")):
        if isinstance(part, pd.DataFrame) and part.columns.duplicated().any():
            twice = sorted({str(c) for c in part.columns[part.columns.duplicated()]})
            raise AssayInputError(f"{what}{label} has duplicate column names {twice}; rename or drop them.")
    n = n_rows(X)
    if y is not None:
        check_consistent_length(**{f"{label} X": X, f"{label} y": y})
        if pd.isna(np.asarray(pd.Series(np.asarray(y, dtype=object)))).any():
            raise AssayInputError(f"{label} y (the target) has missing values; drop or fill them first.")
    frame = None
    if is_ood_split(name):
        # Groups are compared on in-distribution splits; an OOD set may hold one group only.
        return X, y, None, {}
    raw = None
    if isinstance(split_sensitive, pd.DataFrame):
        columns = list(sensitive) if sensitive is not None else (
            list(split_sensitive.columns) if not isinstance(value, pd.DataFrame) else [])
        missing = [c for c in columns if c not in split_sensitive.columns]
        if missing:
            raise unknown_column_error("'sensitive_features'", missing, split_sensitive.columns, where=label)
        if columns:
            raw = split_sensitive[columns]
            frame = check_sensitive_features(raw.reset_index(drop=True), n_samples=n,
                                             name=f"sensitive_features of {label}")
    elif split_sensitive is not None:
        frame = check_sensitive_features(split_sensitive, n_samples=n, name=f"sensitive_features of {label}")
        raw = _raw_frame(split_sensitive)
    elif sensitive is not None and not is_ood_split(name):
        raise AssayInputError(f"'sensitive_features' {list(sensitive)} were named, but {label} has no columns "
                              "to take them from: pass a DataFrame or a (X, y, sensitive_features) tuple.")
    return X, y, frame, ({} if raw is None else many_valued_numeric(raw))


def _raw_frame(value: Any) -> pd.DataFrame | None:
    """Sensitive features as given, in a DataFrame named as check_sensitive_features names them
    (their dtypes kept, to tell numbers from labels); None where that is not possible."""
    if isinstance(value, pd.Series):
        return value.to_frame(name=value.name if value.name is not None else "sensitive_feature")
    try:
        if isinstance(value, Mapping):
            return pd.DataFrame({str(k): np.asarray(v).ravel() for k, v in value.items()})
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - already validated by check_sensitive_features
        return None
    if arr.ndim == 1:
        return pd.DataFrame({"sensitive_feature": arr})
    return pd.DataFrame(arr, columns=[f"sensitive_feature_{i}" for i in range(arr.shape[1])])


def _columns_of(data: Mapping[str, Any]) -> set[str]:
    """Every column name in ``data`` (DataFrame splits, DataFrame X, sensitive DataFrames)."""
    names: set[str] = set()
    for value in data.values():
        parts = [value] if isinstance(value, pd.DataFrame) else (
            [value.X, getattr(value, "sensitive_features", None)] if hasattr(value, "X") and hasattr(value, "y")
            else list(value) if isinstance(value, tuple) else [])
        for part in parts:
            if isinstance(part, pd.DataFrame):
                names.update(str(c) for c in part.columns)
    return names


def _names(value: Any, arg: str, columns: set[str]) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and not value:
        return []
    return parse_columns(value, arg=arg, columns=columns)


def _model_columns(model: Any) -> tuple[list[str] | None, int | None]:
    """The column names the model was fitted on (``feature_names_in_``) and their number."""
    inner = getattr(model, "model", None)
    names = getattr(inner, "feature_names_in_", None)
    count = getattr(inner, "n_features_in_", None)
    names = None if names is None else [str(c) for c in np.asarray(names).tolist()]
    count = len(names) if names is not None else (int(count) if isinstance(count, (int, np.integer)) else None)
    return names, count


def _model_inputs(splits: dict, model: Any, features: list[str] | None, target: str | None) -> dict:
    """Cut every split's X to the columns the model takes; refuse a split that lacks one."""
    names, count = _model_columns(model)
    if features is not None:
        if target is not None and target in features:
            raise AssayInputError(f"'features' names the target {target!r}; it lists the model's input columns.")
        if names is not None:
            unexpected = [c for c in features if c not in names]
            lacking = [c for c in names if c not in features]
            if unexpected or lacking:
                raise AssayInputError(
                    "'features' does not match the columns the model was fitted on (its feature_names_in_): "
                    + "; ".join(([f"the model did not expect {unexpected}"] if unexpected else [])
                                + ([f"it lacks {lacking}"] if lacking else []))
                    + ". Leave 'features' out to use the model's own.")
        columns, source = features, "named by 'features'"
    else:
        columns, source = names, "the model was fitted on (its feature_names_in_)"
    out = {}
    for name, (X, y, frame) in splits.items():
        label = f"data[{name!r}]"
        if columns is not None and isinstance(X, pd.DataFrame):
            missing = [c for c in columns if c not in X.columns]
            if missing:
                raise AssayInputError(
                    f"{label} lacks column(s) {missing} {source}; it has {columns_shown(X.columns)}.")
            if list(X.columns) != columns:
                X = X[columns]
        elif features is not None:
            raise AssayInputError(f"'features' names columns, but X of {label} is {describe(X)}: pass DataFrames, "
                                  "or leave 'features' out.")
        elif count is not None and len(getattr(X, "shape", ())) == 2 and X.shape[1] != count:
            raise AssayInputError(f"X of {label} has {X.shape[1]} column(s); the model was fitted on {count} "
                                  "(its n_features_in_). Name the columns it takes with 'features'.")
        out[name] = (X, y, frame)
    return out


def _continuous_sensitive(splits: dict, many: dict[str, dict[str, int]], bin_sensitive: int | None,
                          eval_split: str) -> dict:
    """Refuse (or, with ``bin_sensitive``, bin by quantiles) numeric sensitive features with many
    values; ``many`` holds, per split, those columns and their number of values."""
    flagged: dict[str, tuple[str, int]] = {}
    for name, columns in many.items():
        for column, n in columns.items():
            flagged.setdefault(column, (name, n))
    if not flagged:
        return splits
    if bin_sensitive is None:
        column, (name, n) = next(iter(flagged.items()))
        raise AssayInputError(
            f"'sensitive_features' column {column!r} of data[{name!r}] is numeric with {n} distinct values "
            f"(more than {MAX_NUMERIC_GROUPS}): one group per value gives groups of a few rows and "
            f"meaningless comparisons. Bin it first, e.g. pd.cut(df[{column!r}], bins=[...]) or "
            f"pd.qcut(df[{column!r}], 4), or pass bin_sensitive=4 to group it by quartiles of the training split.")
    reference_split = "train" if "train" in splits and splits["train"][2] is not None else eval_split
    out = dict(splits)
    for column in flagged:
        reference = splits[reference_split][2]
        reference = None if reference is None or column not in reference else reference[column]
        for name, (X, y, frame) in out.items():
            if frame is not None and column in frame:
                frame = frame.assign(**{column: bin_by_quantiles(frame[column], bin_sensitive,
                                                                 reference=reference).to_numpy()})
                out[name] = (X, y, frame)
    return out


def _model_labels(splits: dict, model: Any, target: str | None) -> None:
    """Every labelled split's labels must be the model's classes (a regressor's: finite numbers)."""
    if getattr(model, "task", "classification") == "regression":
        for name, (_, y, _) in splits.items():
            if y is not None:
                column = target if target is not None else getattr(y, "name", None)
                as_array(y, name=f"{column if column is not None else 'y'} (data[{name!r}], the regression target)",
                         ndim=(1, 2), dtype=np.float64)
        return
    try:
        classes = model.classes_
    except AssayInputError:
        classes = None  # outputs' column indices 0..k-1, known once the model runs
    for name, (_, y, _) in splits.items():
        if y is not None:
            column = target if target is not None else getattr(y, "name", None)
            check_labels(y, name=str(column) if column is not None else "y", classes=classes,
                         where=f"data[{name!r}]")


def audit_inputs(data: Mapping[str, Any], *, target: str | None = None,
                 sensitive_features: Sequence[str] | str | None = None, eval_split: str = "test",
                 model: Any = None, features: Sequence[str] | str | None = None,
                 bin_sensitive: int | None = None) -> dict[str, tuple[Any, Any, pd.DataFrame | None]]:
    """Split name -> ``(X, y or None, sensitive DataFrame or None)``, every split validated.

    ``model`` is the wrapped model (a :class:`~assay.core.adapters.ModelAdapter`) or None. See
    :class:`~assay.audit.runner.Audit` for the accepted forms of ``data`` and the other arguments.
    """
    if not isinstance(data, Mapping) or not data:
        raise AssayInputError(f"'data' must be a non-empty dict of split name -> data. Got {describe(data)}.")
    if eval_split not in data:
        raise AssayInputError(f"'eval_split' {eval_split!r} is not a key of 'data' {list(data)}.")
    if target is not None and not isinstance(target, str):
        raise AssayInputError(f"'target' must be the name of the label column (a str) or None. Got {describe(target)}.")
    columns = _columns_of(data)
    sensitive = _names(sensitive_features, "'sensitive_features'", columns)
    feature_names = _names(features, "'features'", columns)
    if bin_sensitive is not None:
        check_scalar(bin_sensitive, "bin_sensitive", owner="Audit", kind=(int, np.integer), low=2)
    parts = {name: _split_parts(name, value, target, sensitive) for name, value in data.items()}
    splits = {name: part[:3] for name, part in parts.items()}
    splits = _continuous_sensitive(splits, {name: part[3] for name, part in parts.items()}, bin_sensitive,
                                   eval_split)
    if model is not None or feature_names is not None:
        splits = _model_inputs(splits, model, feature_names, target)
    if model is not None:
        _model_labels(splits, model, target)
    return splits
