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
