"""The base of every result assay returns: a small frozen dataclass.

A result is data, never a print: ``to_dict()`` gives a JSON-safe dict (the record the
reports are built from) and ``to_frame()`` a pandas DataFrame (for notebooks and papers).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .validation import SEPARATOR


def to_jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types.

    numpy scalars and arrays become Python numbers and lists; NaN and infinities become
    ``None`` (JSON has no NaN); DataFrames become ``{"columns", "index", "data"}``
    ("split" orientation); Series become dicts; nested results become their ``to_dict()``.
    """
    if isinstance(value, Result):
        return value.to_dict()
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        if not value.ndim:
            return to_jsonable(value.item())
        if value.dtype.kind in "biu":  # fast paths: whole arrays at once (records can be large)
            return value.tolist()
        if value.dtype.kind == "f":
            finite = np.isfinite(value)
            return value.tolist() if finite.all() else np.where(finite, value.astype(object), None).tolist()
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, pd.DataFrame):
        columns = [_column_jsonable(value.iloc[:, j]) for j in range(value.shape[1])]
        return {
            "columns": [to_jsonable(_label(c)) for c in value.columns],
            "index": [to_jsonable(_label(i)) for i in value.index],
            "data": [list(row) for row in zip(*columns)] if columns else [[] for _ in range(len(value))],
        }
    if isinstance(value, pd.Series):
        return {str(_label(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(_label(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if type(value).__module__.startswith("torch") and hasattr(value, "tolist"):
        return to_jsonable(np.asarray(value.detach().cpu()))
    return str(value)


def _column_jsonable(column: pd.Series) -> list:
    """One DataFrame column as a JSON-safe list, through the array fast paths where numeric."""
    if column.dtype.kind in "biuf":
        return to_jsonable(column.to_numpy())
    return [to_jsonable(v) for v in column.tolist()]


def _label(key: Any) -> Any:
    """Index labels: tuples (intersections) are joined with :data:`~assay.core.validation.SEPARATOR`."""
    if isinstance(key, tuple):
        return SEPARATOR.join(str(k) for k in key)
    return key


@dataclasses.dataclass(frozen=True)
class Result:
    """Base class of results.

    Subclasses are frozen dataclasses; they add fields and may override :meth:`to_frame`.
    Two results are equal when they are of the same class and their :meth:`to_dict` agree (so
    results holding DataFrames or arrays compare without pandas' ambiguous-truth error; NaN
    equals NaN). Subclasses keep this ``__eq__`` (the dataclass decorator does not replace it).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__eq__" not in cls.__dict__:
            cls.__eq__ = Result.__eq__  # set before @dataclass runs, which then keeps it

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: ``{"type": <class name>, <field>: <value>, ...}``."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for field in dataclasses.fields(self):
            out[field.name] = to_jsonable(getattr(self, field.name))
        return out

    def to_frame(self) -> pd.DataFrame:
        """A one-row DataFrame of the scalar fields; subclasses with tables override this."""
        row = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), (numbers.Number, str, bool, type(None)))
        }
        return pd.DataFrame([row])
