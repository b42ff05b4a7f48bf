"""How the audit reads its inputs: each split's (X, y, sensitive features), validated once.

:func:`audit_inputs` turns ``Audit(data=...)`` into the ``splits`` of an
:class:`~assay.audit.base.AuditContext`. Every problem raises
:class:`~assay.core.errors.AssayInputError` naming the split, before any check runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.batching import n_rows
from ..core.errors import AssayInputError
from ..core.validation import check_consistent_length, check_sensitive_features, describe
from .base import is_ood_split

__all__ = ["audit_inputs"]


def _split_parts(name: str, value: Any, target: str | None, sensitive: Sequence[str] | None):
    """(X, y, sensitive DataFrame or None) from a DataFrame, a tuple or an assay Split."""
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
                raise AssayInputError(
                    f"'target' {target!r} is not a column of {label}. Columns: {list(value.columns)[:10]}.")
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
    n = n_rows(X)
    if y is not None:
        check_consistent_length(**{f"{label} X": X, f"{label} y": y})
        if pd.isna(np.asarray(pd.Series(np.asarray(y, dtype=object)))).any():
            raise AssayInputError(f"{label} y (the target) has missing values; drop or fill them first.")
    frame = None
    if is_ood_split(name):
        # Groups are compared on in-distribution splits; an OOD set may hold one group only.
        return X, y, None
    if isinstance(split_sensitive, pd.DataFrame):
        columns = list(sensitive) if sensitive is not None else (
            list(split_sensitive.columns) if not isinstance(value, pd.DataFrame) else [])
        missing = [c for c in columns if c not in split_sensitive.columns]
        if missing:
            raise AssayInputError(f"'sensitive_features' names {missing}, not columns of {label}. "
                                  f"Columns: {list(split_sensitive.columns)[:10]}.")
        if columns:
            frame = check_sensitive_features(split_sensitive[columns].reset_index(drop=True), n_samples=n,
                                             name=f"sensitive_features of {label}")
    elif split_sensitive is not None:
        frame = check_sensitive_features(split_sensitive, n_samples=n, name=f"sensitive_features of {label}")
    elif sensitive is not None and not is_ood_split(name):
        raise AssayInputError(f"'sensitive_features' {list(sensitive)} were named, but {label} has no columns "
                              "to take them from: pass a DataFrame or a (X, y, sensitive_features) tuple.")
    return X, y, frame


def audit_inputs(data: Mapping[str, Any], *, target: str | None = None,
                 sensitive_features: Sequence[str] | str | None = None,
                 eval_split: str = "test") -> dict[str, tuple[Any, Any, pd.DataFrame | None]]:
    """Split name -> ``(X, y or None, sensitive DataFrame or None)``, every split validated.

    See :class:`~assay.audit.runner.Audit` for the accepted forms of ``data``.
    """
    if not isinstance(data, Mapping) or not data:
        raise AssayInputError(f"'data' must be a non-empty dict of split name -> data. Got {describe(data)}.")
    if eval_split not in data:
        raise AssayInputError(f"'eval_split' {eval_split!r} is not a key of 'data' {list(data)}.")
    sensitive = [sensitive_features] if isinstance(sensitive_features, str) else sensitive_features
    return {name: _split_parts(name, value, target, sensitive) for name, value in data.items()}
