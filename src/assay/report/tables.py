"""Tables of a JSON record: rebuild the DataFrames that ``to_jsonable`` wrote."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def frame_from_record(value: Mapping[str, Any]) -> pd.DataFrame:
    """Rebuild a DataFrame from its ``to_jsonable`` form ``{"columns", "index", "data"}``.

    Index and column entries that are lists (tuples before JSON) become a MultiIndex.
    """
    index, columns = value["index"], value["columns"]
    if index and isinstance(index[0], list):
        index = pd.MultiIndex.from_tuples([tuple(i) for i in index])
    if columns and isinstance(columns[0], list):
        columns = pd.MultiIndex.from_tuples([tuple(c) for c in columns])
    return pd.DataFrame(value["data"], columns=columns, index=index)


def is_frame_record(value: Any) -> bool:
    """True for the ``to_jsonable`` form of a DataFrame."""
    return isinstance(value, Mapping) and set(value) == {"columns", "index", "data"}


def with_intervals(values: pd.DataFrame, ci: pd.DataFrame | None, *, digits: int = 3) -> pd.DataFrame:
    """``values`` as text, each number with its interval in the same cell: ``0.873 [0.868, 0.878]``.

    ``ci`` has columns ``(metric, "lower")`` and ``(metric, "upper")`` on the same index; a
    metric without them, or an undefined bound, shows the value alone; NaN values read "n/a".
    Whole-number columns (counts) stay integers; boolean columns stay as they are.
    """
    def number(v: Any) -> str:
        return "n/a" if pd.isna(v) else f"{float(v):.{digits}f}"

    out = pd.DataFrame(index=values.index)
    for column in values.columns:
        series = values[column]
        if series.dtype == bool or not pd.api.types.is_numeric_dtype(series):
            out[column] = series
            continue
        if pd.api.types.is_integer_dtype(series):
            out[column] = series.map(str)
            continue
        text = series.map(number)
        if ci is not None and (column, "lower") in ci.columns and (column, "upper") in ci.columns:
            lower = ci[(column, "lower")].reindex(values.index)
            upper = ci[(column, "upper")].reindex(values.index)
            bounded = series.notna() & lower.notna() & upper.notna()
            text = text.where(~bounded, text + " [" + lower.map(number) + ", " + upper.map(number) + "]")
        out[column] = text
    return out
