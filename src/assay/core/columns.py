"""Column names in error messages: the one helper behind every "column not found" error.

Used by the Python API (:class:`~assay.audit.Audit`) and the command line
(:func:`assay.io.tables.load_table`), so both name the missing column, list the columns there
are (the closest matches first) and suggest a correction ("Did you mean 'income'?").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from .errors import AssayInputError

__all__ = ["MAX_SHOWN_COLUMNS", "closest_columns", "columns_shown", "parse_columns", "unknown_column_error",
           "unknown_column_message"]

#: Columns listed in a message; more are counted ("... (12 more)").
MAX_SHOWN_COLUMNS = 30


def closest_columns(name: str, columns: Iterable[Any], *, n: int = 3) -> list[str]:
    """Up to ``n`` columns that ``name`` may have meant: a case/space-insensitive match first,
    then :func:`difflib.get_close_matches` (best first), then columns holding ``name`` as a word
    (``sex`` -> ``status_sex``)."""
    available = [str(c) for c in columns]
    key = str(name).lower().strip()
    exact = [c for c in available if c.lower().strip() == key and c != name]
    close = difflib.get_close_matches(str(name), available, n=n, cutoff=0.6)
    lowered = difflib.get_close_matches(key, [c.lower() for c in available], n=n, cutoff=0.6)
    close += [c for c in available if c.lower() in lowered]
    if len(key) >= 2:
        close += [c for c in available if key in re.split(r"[\W_]+", c.lower())]
    out: list[str] = []
    for c in exact + close:
        if c not in out and c != name:
            out.append(c)
    return out[:n]


def columns_shown(columns: Iterable[Any], *, first: Sequence[str] = (), limit: int = MAX_SHOWN_COLUMNS) -> str:
    """``"25 column(s): 'a', 'b', ..."``: every column, in order, up to ``limit``; beyond, the
    columns in ``first`` lead (so a close match is never hidden) and the rest are counted."""
    cols = [str(c) for c in columns]
    ordered = cols if len(cols) <= limit else [c for c in first if c in cols] + [c for c in cols if c not in first]
    shown = ", ".join(repr(c) for c in ordered[:limit])
    more = f", ... ({len(ordered) - limit} more)" if len(ordered) > limit else ""
    return f"{len(cols)} column(s): {shown}{more}"


def _hints(names: Sequence[str], available: list[str]) -> tuple[str, list[str]]:
    """(" Did you mean 'income'?" or "", the close matches, to be listed first)."""
    hints, first = [], []
    for name in names:
        close = closest_columns(name, available, n=3)
        first += close
        if close:
            hints.append(f"{close[0]!r} for {name!r}" if len(names) > 1 else " or ".join(repr(c) for c in close))
    return (f" Did you mean {', '.join(hints)}?" if hints else ""), first


def unknown_column_message(wanted: str | Sequence[str], columns: Iterable[Any], *, where: str) -> str:
    """``"column 'incme' is not in <where>, which has 3 column(s): ... Did you mean 'income'?"``."""
    names = [wanted] if isinstance(wanted, str) else [str(w) for w in wanted]
    available = [str(c) for c in columns]
    hint, first = _hints(names, available)
    what = f"column {names[0]!r} is" if len(names) == 1 else f"columns {names!r} are"
    return f"{what} not in {where}, which has {columns_shown(available, first=first)}.{hint}"


def unknown_column_error(arg: str, wanted: str | Sequence[str], columns: Iterable[Any], *,
                         where: str) -> AssayInputError:
    """The error of a Python argument naming a column that ``where`` lacks.

    ``"'target' 'incme' is not a column of data['test'], which has 3 column(s): ... Did you mean
    'income'?"`` for one name (a str ``wanted``), ``"'sensitive_features' names ['gender'], not
    columns of ..."`` for a list. ``arg`` is the argument as the user wrote it, quoted.
    """
    available = [str(c) for c in columns]
    names = [wanted] if isinstance(wanted, str) else [str(w) for w in wanted]
    hint, first = _hints(names, available)
    what = f"{arg} {wanted!r} is not a column" if isinstance(wanted, str) else f"{arg} names {names}, not columns"
    return AssayInputError(f"{what} of {where}, which has {columns_shown(available, first=first)}.{hint}")


def parse_columns(value: str | Sequence[str] | None, *, arg: str = "--sensitive",
                  columns: Collection[str] = ()) -> list[str]:
    """Column names from ``"sex,race"`` or ``["sex", "race"]``: stripped, de-duplicated, in order.

    A string is split on commas unless it is itself one of ``columns``. None gives ``[]``.
    Raises naming ``arg`` if the value is neither, or names no column.
    """
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = [value] if value in columns else value.split(",")
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items = list(value)
    else:
        raise AssayInputError(
            f"{arg}: expected comma-separated column names (e.g. 'sex,race') or a list of them. Got {value!r}."
        )
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise AssayInputError(f"{arg}: column names must be strings. Got {item!r} in {value!r}.")
        name = item if item in columns else item.strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise AssayInputError(
            f"{arg}: expected comma-separated column names (e.g. 'sex,race'). Got {value!r}, which names no column."
        )
    return names
