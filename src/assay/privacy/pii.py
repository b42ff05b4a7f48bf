"""PII scan of a table's columns or of free text, and a masking helper; offline, our own patterns.

Kinds: emails, phone numbers, card numbers (Luhn and an issuer digit 2-6), IBANs (country length
and mod 97), IPv4 and IPv6 addresses, US SSN patterns, dates of birth (a date after "born", "DOB",
"date of birth"... in text; every date of a column whose header says birth), names (every value of
a column whose header says name) and secrets (API-key and token formats, private-key blocks,
``password=...`` assignments). Patterns and validators: :mod:`assay.privacy._pii_patterns`.

Each column is factorised first and only its distinct values are scanned (``.str.contains`` as a
prefilter, then the validated matches of the candidates), so a column of repeated values costs its
distinct values; counts are mapped back to rows through the codes. Text columns (object, string,
categorical) are scanned for every kind; integer columns for the digit kinds (a card number stored
as an int); float and bool columns are not scanned. A finding is never shown in full: results hold
counts, row positions (0-based) and masked examples (:func:`~assay.privacy._pii_patterns.mask_text`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import check_scalar, describe
from ._pii_patterns import (
    HEADER_VALUES,
    HEADERS,
    KINDS,
    PREFILTERS,
    TEXT_KINDS,
    mask_text,
    spans,
)

__all__ = ["KINDS", "PIIScanResult", "mask_pii", "scan_pii"]

_FINDING_COLUMNS = ["column", "kind", "n_rows", "n_matches", "share", "positions", "examples"]


@dataclasses.dataclass(frozen=True)
class PIIScanResult(Result):
    """Where PII was found.

    ``findings``: one row per column and kind found: ``n_rows`` (rows with at least one
    finding), ``n_matches``, ``share`` (of the rows), ``positions`` (row positions of up to
    ``max_examples`` rows, 0-based) and ``examples`` (those rows' findings, masked). ``not_scanned``:
    column -> why it was not scanned. ``kinds``: the kinds looked for.
    """

    n_rows: int
    columns: tuple
    kinds: tuple
    findings: pd.DataFrame
    not_scanned: dict

    @property
    def found(self) -> bool:
        """Whether any PII was found."""
        return len(self.findings) > 0

    @property
    def by_column(self) -> dict[str, list[str]]:
        """Column -> the kinds found in it."""
        return {str(c): list(rows["kind"]) for c, rows in self.findings.groupby("column", sort=False)}

    def to_frame(self) -> pd.DataFrame:
        """The findings per column and kind (counts, positions, masked examples)."""
        return self.findings.copy()


def _as_frame(data: Any, name: str, owner: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, pd.Series):
        frame = data.to_frame(name="text" if data.name is None else data.name)
    elif isinstance(data, str):
        frame = pd.DataFrame({"text": [data]})
    elif isinstance(data, (list, tuple, np.ndarray)) and np.ndim(data) == 1:
        bad = next((v for v in data if not (isinstance(v, str) or v is None or (isinstance(v, float) and math.isnan(v)))),
                   None)
        if bad is not None:
            raise AssayInputError(f"'{name}' of {owner} must be a DataFrame, a Series, a string or a list of "
                                  f"strings. Got a list holding {describe(bad)}.")
        frame = pd.DataFrame({"text": pd.Series(list(data), dtype=object)})
    else:
        raise AssayInputError(f"'{name}' of {owner} must be a DataFrame, a Series, a string or a list of strings. "
                              f"Got {describe(data)}.")
    if len(set(map(str, frame.columns))) != frame.shape[1]:
        raise AssayInputError(f"'{name}' of {owner} has duplicate column names: {list(frame.columns)!r}.")
    return frame


def _kinds(kinds: Any, owner: str) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    if isinstance(kinds, str):
        kinds = [kinds]
    unknown = [k for k in kinds if k not in KINDS] if isinstance(kinds, (list, tuple, set)) else [kinds]
    if unknown or not kinds:
        raise AssayInputError(f"'kinds' of {owner} must be a list of PII kinds among {list(KINDS)}. "
                              f"Got {kinds!r}.")
    return tuple(k for k in KINDS if k in kinds)


def _header_kind(column: Any, kinds: tuple[str, ...]) -> str | None:
    return next((kind for kind, header in HEADERS.items() if kind in kinds and header.search(str(column))), None)


def _column_plan(series: pd.Series, header_kind: str | None) -> str | None:
    """How a column is read: "text", "integer", "datetime", or None (not scanned)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime" if header_kind == "date_of_birth" else None
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return None
    return "text"


def _value_findings(uniques: pd.Series, header_kind: str | None, plan: str, kinds: tuple[str, ...]
                    ) -> dict[int, list[tuple[str, int, int]]]:
    """Findings ``(kind, start, end)`` of each distinct value (by its index) that has any."""
    out: dict[int, list[tuple[str, int, int]]] = {}
    if header_kind is not None:
        if plan == "datetime":
            return {i: [(header_kind, 0, len(v))] for i, v in enumerate(uniques)}
        hit = uniques.str.contains(HEADER_VALUES[header_kind])
        return {int(i): [(header_kind, 0, len(uniques.iloc[i]))] for i in np.flatnonzero(hit.to_numpy())}
    text_kinds = tuple(k for k in TEXT_KINDS if k in kinds)
    if plan == "integer":
        text_kinds = tuple(k for k in text_kinds if k in ("card", "phone"))
    candidate = np.zeros(len(uniques), dtype=bool)
    for kind in text_kinds:
        test = PREFILTERS[kind]
        candidate |= uniques.str.contains(test, regex=not isinstance(test, str)).to_numpy(dtype=bool)
    for i in np.flatnonzero(candidate):
        found = spans(uniques.iloc[i], text_kinds)
        if found:
            out[int(i)] = found
    return out


def _factorize(series: pd.Series, plan: str) -> tuple[np.ndarray, pd.Series]:
    codes, uniques = pd.factorize(series)
    if plan == "datetime":
        values = pd.Series(pd.DatetimeIndex(uniques).astype(str), dtype=object)
    else:
        values = pd.Series(np.asarray(uniques, dtype=object)).astype(str)
    return codes, values


def scan_pii(data: Any, *, kinds: Sequence[str] | None = None, columns: Sequence[Any] | None = None,
             max_examples: int = 3) -> PIIScanResult:
    """Find PII in a DataFrame's columns or in free text.

    Parameters
    ----------
    data : DataFrame, Series, str or list of str
        A table (each column scanned), or free text (one column, "text" or the Series' name).
    kinds : list of str, optional
        Kinds to look for (default all of :data:`KINDS`).
    columns : list, optional
        Only these columns of a DataFrame.
    max_examples : int, default 3
        Row positions and masked examples kept per column and kind.
    """
    owner = "scan_pii"
    frame = _as_frame(data, "data", owner)
    kinds = _kinds(kinds, owner)
    if isinstance(max_examples, numbers.Integral) and not isinstance(max_examples, bool):
        max_examples = int(max_examples)
    check_scalar(max_examples, "max_examples", owner=owner, kind=numbers.Integral, low=0)
    names = list(frame.columns) if columns is None else _columns(frame, columns, owner)
    rows, not_scanned = [], {}
    for column in names:
        series = frame[column]
        header_kind = _header_kind(column, kinds)
        plan = _column_plan(series, header_kind)
        if plan is None:
            not_scanned[str(column)] = f"{series.dtype} values hold none of the kinds looked for"
            continue
        codes, uniques = _factorize(series, plan)
        found = _value_findings(uniques, header_kind, plan, kinds)
        if not found:
            continue
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        for kind in KINDS:
            per_value = {i: [(a, b) for k, a, b in f if k == kind] for i, f in found.items()}
            per_value = {i: s for i, s in per_value.items() if s}
            if not per_value:
                continue
            hit = np.fromiter(per_value, dtype=np.int64)
            n_matches = np.fromiter((len(s) for s in per_value.values()), dtype=np.int64)
            positions = np.flatnonzero(np.isin(codes, hit))[:max_examples]
            examples = [", ".join(mask_text(uniques.iloc[codes[p]][a:b]) for a, b in per_value[int(codes[p])])
                        for p in positions]
            n_rows = int(counts[hit].sum())
            rows.append({"column": str(column), "kind": kind, "n_rows": n_rows,
                         "n_matches": int((counts[hit] * n_matches).sum()), "share": n_rows / len(frame),
                         "positions": [int(p) for p in positions], "examples": examples})
    findings = pd.DataFrame(rows, columns=_FINDING_COLUMNS)
    return PIIScanResult(len(frame), tuple(str(c) for c in names), kinds, findings, not_scanned)


def _columns(frame: pd.DataFrame, columns: Any, owner: str) -> list:
    from ._classes import check_columns

    return check_columns(frame, columns, arg="columns", owner=owner)


def _mask_value(text: str, found: list[tuple[str, int, int]]) -> str:
    out, last = [], 0
    for _, a, b in sorted(found, key=lambda f: f[1]):
        out += [text[last:a], mask_text(text[a:b])]
        last = b
    return "".join(out) + text[last:]


def mask_pii(data: Any, *, kinds: Sequence[str] | None = None) -> Any:
    """``data`` with every PII finding masked (letters and digits replaced by "*" but the last one
    or two, separators kept), in the type given: a DataFrame (a copy; masked columns become text),
    a Series, a list of strings or a string."""
    owner = "mask_pii"
    frame = _as_frame(data, "data", owner).copy()
    kinds = _kinds(kinds, owner)
    for column in frame.columns:
        series = frame[column]
        header_kind = _header_kind(column, kinds)
        plan = _column_plan(series, header_kind)
        if plan is None:
            continue
        codes, uniques = _factorize(series, plan)
        found = _value_findings(uniques, header_kind, plan, kinds)
        if not found:
            continue
        masked = uniques.to_numpy(dtype=object).copy()
        for i, f in found.items():
            masked[i] = _mask_value(masked[i], f)
        values = np.where(codes >= 0, masked[np.maximum(codes, 0)], None)
        if plan == "text" and not isinstance(series.dtype, pd.CategoricalDtype):
            values = np.where(codes >= 0, values, series.to_numpy(dtype=object))
        frame[column] = pd.Series(values, index=series.index, dtype=object)
    if isinstance(data, pd.DataFrame):
        return frame
    if isinstance(data, pd.Series):
        return frame.iloc[:, 0].rename(data.name)
    if isinstance(data, str):
        return frame.iloc[0, 0]
    return frame.iloc[:, 0].tolist()
