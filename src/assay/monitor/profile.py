"""A reference profile: mergeable per-column summaries of a table, per finest cell of the sensitive features.

``Profile.fit(reference)`` reads a table once and keeps, for every column and every *cell* (one
combination of the sensitive features' values, as in ``GroupedStats``):

* numeric columns: counts in fixed bins (interior ``edges`` at the reference quantiles of the first
  frame or batch seen, or given), the missing count, and the moments ``n, sum, sum of squares``
  with the minimum and maximum;
* categorical columns: counts per category (values as strings) and the missing count.

Counts are integers, so profiles of batches or Dask partitions merged with :meth:`Profile.merge`
(cells and categories on their sorted union) equal the profile of the whole table exactly; moments
are float sums, equal to rounding. A profile is saved as JSON (``to_json`` / ``from_json``) with a
schema name and version that are checked on load. Drift tests read the binned counts: chi-square,
PSI, Jensen-Shannon and the category tests are the same from a profile as from the data; KS and
Wasserstein are binned approximations (see :mod:`assay.monitor.stats`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import check_scalar, describe
from ..data_checks._common import (
    NUMERIC,
    check_frame,
    column_kinds,
    numeric_values,
    object_values,
)

SCHEMA = "assay.monitor.profile"
SCHEMA_VERSION = 1
DEFAULT_N_BINS = 50
OVERALL = ("overall",)


def _assay_version() -> str:
    from .. import __version__

    return __version__


def sensitive_names(sensitive_features: Any, columns: Sequence[str], *, name: str = "sensitive_features") -> list[str]:
    """Sensitive features given as column names (a name, a comma-free list) of the table, checked."""
    if sensitive_features is None or (isinstance(sensitive_features, (list, tuple)) and not sensitive_features):
        return []
    names = [sensitive_features] if isinstance(sensitive_features, str) else list(sensitive_features)
    bad = [c for c in names if not isinstance(c, str) or c not in columns]
    if bad or len(set(names)) != len(names):
        raise AssayInputError(f"'{name}' must name distinct columns of the table ({list(columns)}). "
                              f"Got {sensitive_features!r} instead.")
    return names


def _cell_codes(frame: pd.DataFrame, sensitive: list[str], name: str) -> tuple[np.ndarray, list[tuple]]:
    if not sensitive:
        return np.zeros(len(frame), dtype=np.int64), [OVERALL]
    groups = frame[sensitive].astype(object)
    if groups.isna().to_numpy().any():
        column = next(c for c in sensitive if groups[c].isna().any())
        raise AssayInputError(f"'{name}' column {column!r} (a sensitive feature) must not have missing values.")
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(groups.astype(str)), sort=True)
    return codes.astype(np.int64), [tuple(u) for u in uniques]


class Profile:
    """Mergeable summaries of a table (see the module docstring). Build with :meth:`fit`."""

    def __init__(self, *, columns: dict[str, dict[str, Any]], sensitive_features: list[str], cells: list[tuple],
                 n_rows: np.ndarray, assay_version: str | None = None):
        self.columns = columns
        self.sensitive_features = list(sensitive_features)
        self.cells = [tuple(c) for c in cells]
        self.n_rows = np.asarray(n_rows, dtype=np.int64)
        self.assay_version = assay_version or _assay_version()

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def fit(cls, reference: Any, *, sensitive_features: Any = None, n_bins: int = DEFAULT_N_BINS,
            edges: dict[str, Any] | None = None, name: str = "reference", model: Any = None,
            features: Any = None) -> Profile:
        """Profile of one table (DataFrame or 2-D array).

        ``sensitive_features``: column name(s) of the table; they split rows into cells and are not
        profiled. ``edges``: interior bin edges per numeric column (another profile's ``edges()``,
        so batches share bins); by default the ``n_bins`` quantiles of this table. ``model``: also
        profile the model's outputs (``assay.monitor.outputs.with_model_outputs``; ``features`` are
        the columns it takes).
        """
        check_scalar(n_bins, "n_bins", owner="Profile.fit", kind=int, low=1)
        frame = check_frame(reference, name=name)
        if model is not None:
            from .outputs import with_model_outputs

            frame = with_model_outputs(frame, model, features=features, name=name)
        sensitive = sensitive_names(sensitive_features, list(frame.columns))
        codes, cells = _cell_codes(frame, sensitive, name)
        n_cells = len(cells)
        columns: dict[str, dict[str, Any]] = {}
        for column, kind in column_kinds(frame.drop(columns=sensitive)).items():
            if kind == NUMERIC:
                values = numeric_values(frame[column])
                missing = np.isnan(values)
                if edges is not None and column in edges:
                    cut = np.asarray(edges[column], dtype=np.float64)
                else:
                    finite = values[~missing]
                    cut = (np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))
                           if finite.size else np.empty(0))
                bins = np.searchsorted(cut, values, side="right")
                n_value_bins = len(cut) + 1
                ok = ~missing
                counts = np.bincount(codes[ok] * n_value_bins + bins[ok],
                                     minlength=n_cells * n_value_bins).reshape(n_cells, n_value_bins)
                x = values[ok]
                moments = np.stack([np.bincount(codes[ok], minlength=n_cells).astype(np.float64),
                                    np.bincount(codes[ok], weights=x, minlength=n_cells),
                                    np.bincount(codes[ok], weights=x * x, minlength=n_cells)], axis=1)
                low = np.full(n_cells, np.inf)
                high = np.full(n_cells, -np.inf)
                if x.size:
                    np.minimum.at(low, codes[ok], x)
                    np.maximum.at(high, codes[ok], x)
                columns[column] = {"kind": NUMERIC, "edges": cut, "counts": counts,
                                   "missing": np.bincount(codes[missing], minlength=n_cells),
                                   "moments": moments, "min": low, "max": high}
            else:
                values = object_values(frame[column])
                missing = pd.isna(values)
                cat_codes, uniques = pd.factorize(pd.Series(values[~missing]).astype(str), sort=True)
                k = len(uniques)
                counts = np.bincount(codes[~missing] * k + cat_codes, minlength=n_cells * k).reshape(n_cells, k)
                columns[column] = {"kind": "categorical", "categories": [str(u) for u in uniques],
                                   "counts": counts, "missing": np.bincount(codes[missing], minlength=n_cells)}
        return cls(columns=columns, sensitive_features=sensitive, cells=cells,
                   n_rows=np.bincount(codes, minlength=n_cells))

    @classmethod
    def fit_batches(cls, batches: Iterable[Any], *, sensitive_features: Any = None, n_bins: int = DEFAULT_N_BINS,
                    edges: dict[str, Any] | None = None) -> Profile:
        """Profile of an iterable of tables; bin edges from ``edges`` or the first batch."""
        profile = None
        for i, batch in enumerate(batches):
            part = cls.fit(batch, sensitive_features=sensitive_features, n_bins=n_bins,
                           edges=edges if profile is None else profile.edges(), name=f"batches[{i}]")
            profile = part if profile is None else profile.merge(part)
        if profile is None:
            raise AssayInputError("'batches' must yield at least one table. Got an empty iterable.")
        return profile

    @classmethod
    def fit_dask(cls, ddf: Any, *, sensitive_features: Any = None, n_bins: int = DEFAULT_N_BINS,
                 edges: dict[str, Any] | None = None) -> Profile:
        """Profile of a Dask DataFrame: one profile per partition (edges from ``edges`` or the first
        partition), merged pairwise on the current scheduler."""
        from ..metrics.distributed import _import_dask

        dask, _ = _import_dask("Profile.fit_dask")
        if not hasattr(ddf, "to_delayed"):
            raise AssayInputError(f"'ddf' must be a Dask DataFrame. Got {describe(ddf)} instead.")
        parts = ddf.to_delayed()
        if edges is None:
            edges = cls.fit(parts[0].compute(), sensitive_features=sensitive_features, n_bins=n_bins).edges()
        fit = dask.delayed(lambda p: cls.fit(p, sensitive_features=sensitive_features, edges=edges, name="ddf"))
        merge = dask.delayed(lambda a, b: a.merge(b))
        level = [fit(p) for p in parts]
        while len(level) > 1:
            level = [merge(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                     for i in range(0, len(level), 2)]
        return level[0].compute()

    def edges(self) -> dict[str, np.ndarray]:
        """Interior bin edges of each numeric column (pass to ``fit(edges=...)`` to bin alike)."""
        return {c: s["edges"] for c, s in self.columns.items() if s["kind"] == NUMERIC}

    # -- merging -------------------------------------------------------------------------------
    def merge(self, other: Profile) -> Profile:
        """The profile of both tables: cells and categories on their sorted union; counts add."""
        if not isinstance(other, Profile):
            raise AssayInputError(f"'other' must be a Profile. Got {describe(other)} instead.")
        if other.sensitive_features != self.sensitive_features or list(other.columns) != list(self.columns):
            raise AssayInputError("'other' must profile the same columns and sensitive features. Got columns "
                                  f"{list(other.columns)} / {other.sensitive_features} instead of "
                                  f"{list(self.columns)} / {self.sensitive_features}.")
        cells = sorted(set(self.cells) | set(other.cells))
        index = {c: i for i, c in enumerate(cells)}
        a_rows = np.array([index[c] for c in self.cells])
        b_rows = np.array([index[c] for c in other.cells])

        def spread(array, rows, fill=0):
            out = np.full((len(cells),) + array.shape[1:], fill, dtype=array.dtype)
            out[rows] = array
            return out

        columns = {}
        for column, a in self.columns.items():
            b = other.columns[column]
            if a["kind"] != b["kind"]:
                raise AssayInputError(f"'other' column {column!r} must be {a['kind']}. Got {b['kind']}.")
            merged = {"kind": a["kind"], "missing": spread(a["missing"], a_rows) + spread(b["missing"], b_rows)}
            if a["kind"] == NUMERIC:
                if len(a["edges"]) != len(b["edges"]) or not np.array_equal(a["edges"], b["edges"]):
                    raise AssayInputError(f"'other' column {column!r} must use the same bin edges; fit batches "
                                          "with edges=profile.edges().")
                merged.update(edges=a["edges"], counts=spread(a["counts"], a_rows) + spread(b["counts"], b_rows),
                              moments=spread(a["moments"], a_rows) + spread(b["moments"], b_rows),
                              min=np.minimum(spread(a["min"], a_rows, np.inf), spread(b["min"], b_rows, np.inf)),
                              max=np.maximum(spread(a["max"], a_rows, -np.inf), spread(b["max"], b_rows, -np.inf)))
            else:
                categories = sorted(set(a["categories"]) | set(b["categories"]))
                pos = {c: i for i, c in enumerate(categories)}
                counts = np.zeros((len(cells), len(categories)), dtype=np.int64)
                for part, rows in ((a, a_rows), (b, b_rows)):
                    cols = np.array([pos[c] for c in part["categories"]], dtype=np.int64)
                    if len(cols):
                        counts[np.ix_(rows, cols)] += part["counts"]
                merged.update(categories=categories, counts=counts)
            columns[column] = merged
        return Profile(columns=columns, sensitive_features=self.sensitive_features, cells=cells,
                       n_rows=spread(self.n_rows, a_rows) + spread(other.n_rows, b_rows),
                       assay_version=self.assay_version)

    # -- reading -------------------------------------------------------------------------------
    def cell_mask(self, feature: str | None = None, group: str | None = None) -> np.ndarray:
        """Cells of one group (``feature`` = a sensitive feature or "overall"; with several features,
        the intersection "a x b" and its group "v x w")."""
        if feature in (None, "overall"):
            return np.ones(len(self.cells), dtype=bool)
        if feature in self.sensitive_features:
            j = self.sensitive_features.index(feature)
            return np.array([c[j] == group for c in self.cells])
        return np.array([" x ".join(c) == group for c in self.cells])

    def scopes(self) -> list[tuple[str, str]]:
        """``(feature, group)`` pairs: overall, each sensitive feature's groups, and the full
        intersection's cells when there are several features."""
        out = [("overall", "overall")]
        for j, feature in enumerate(self.sensitive_features):
            out += [(feature, g) for g in sorted({c[j] for c in self.cells})]
        if len(self.sensitive_features) > 1:
            out += [(" x ".join(self.sensitive_features), " x ".join(c)) for c in self.cells]
        return out

    def counts(self, column: str, mask: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """``(counts per bin or category, missing count)`` summed over the cells in ``mask``."""
        summary = self.columns[column]
        mask = np.ones(len(self.cells), dtype=bool) if mask is None else mask
        return summary["counts"][mask].sum(axis=0), int(summary["missing"][mask].sum())

    def moments(self, column: str, mask: np.ndarray | None = None) -> dict[str, float]:
        """``n``, ``mean``, ``sd`` (population), ``min``, ``max`` of a numeric column over the cells in ``mask``."""
        s = self.columns[column]
        mask = np.ones(len(self.cells), dtype=bool) if mask is None else mask
        n, total, squares = s["moments"][mask].sum(axis=0)
        mean = total / n if n else np.nan
        var = max(0.0, squares / n - mean * mean) if n else np.nan
        return {"n": float(n), "mean": float(mean), "sd": float(np.sqrt(var)),
                "min": float(s["min"][mask].min()) if mask.any() else np.nan,
                "max": float(s["max"][mask].max()) if mask.any() else np.nan}

    # -- storage -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def plain(value):
            if isinstance(value, np.ndarray):
                if value.dtype.kind == "f":
                    return [None if not np.isfinite(v) else float(v) for v in value.ravel()] if value.ndim == 1 \
                        else [plain(row) for row in value]
                return value.tolist()
            return value

        return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "assay_version": self.assay_version,
                "sensitive_features": self.sensitive_features, "cells": [list(c) for c in self.cells],
                "n_rows": self.n_rows.tolist(),
                "columns": {c: {k: plain(v) for k, v in s.items()} for c, s in self.columns.items()}}

    def to_json(self, path: str | Path | None = None) -> str:
        """The profile as JSON text (written to ``path`` when given)."""
        text = json.dumps(self.to_dict())
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, record: Any, *, name: str = "profile") -> Profile:
        if not isinstance(record, dict) or record.get("schema") != SCHEMA:
            got = record.get("schema") if isinstance(record, dict) else describe(record)
            raise AssayInputError(f"'{name}' must be an assay monitor profile (schema {SCHEMA!r}). Got {got!r}.")
        if record.get("schema_version") != SCHEMA_VERSION or record.get("assay_version") != _assay_version():
            raise AssayInputError(
                f"'{name}' was written by assay {record.get('assay_version')!r} with profile schema version "
                f"{record.get('schema_version')!r}; this is assay {_assay_version()} (schema version "
                f"{SCHEMA_VERSION}). Fit the profile again with this version.")
        try:
            columns = {}
            for column, s in record["columns"].items():
                out = {"kind": s["kind"], "counts": np.asarray(s["counts"], dtype=np.int64).reshape(
                    len(record["cells"]), -1), "missing": np.asarray(s["missing"], dtype=np.int64)}
                if s["kind"] == NUMERIC:
                    out.update(edges=np.asarray(s["edges"], dtype=np.float64),
                               moments=np.asarray(s["moments"], dtype=np.float64).reshape(-1, 3),
                               min=np.array([np.inf if v is None else v for v in s["min"]], dtype=np.float64),
                               max=np.array([-np.inf if v is None else v for v in s["max"]], dtype=np.float64))
                else:
                    out["categories"] = [str(c) for c in s["categories"]]
                columns[column] = out
            return cls(columns=columns, sensitive_features=record["sensitive_features"],
                       cells=[tuple(c) for c in record["cells"]], n_rows=record["n_rows"],
                       assay_version=record["assay_version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AssayInputError(f"'{name}' does not have the layout of a profile ({type(exc).__name__}: {exc}).") \
                from None

    @classmethod
    def from_json(cls, source: str | Path, *, name: str = "profile") -> Profile:
        """A profile from JSON text or a path to a JSON file; schema and version are checked."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            path = Path(source)
            if not path.is_file():
                raise AssayInputError(f"'{name}' must be a profile JSON file or text. Got {text[:80]!r}.")
            text = path.read_text(encoding="utf-8")
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AssayInputError(f"'{name}' is not valid JSON ({exc}).") from None
        return cls.from_dict(record, name=name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (f"Profile({len(self.columns)} columns, {int(self.n_rows.sum())} rows, "
                f"sensitive_features={self.sensitive_features})")
