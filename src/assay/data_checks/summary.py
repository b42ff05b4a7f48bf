"""A compact description of a data set's distribution, for model cards and OOD questions.

:func:`describe_data` summarises what a model was trained on, so that a later user can tell
when new inputs fall outside it: per column of a table, its kind, missing share and either
quantiles (numeric) or the most frequent values and their shares (categorical); for arrays and
tensors of any shape (images, embeddings), the input shape and the distribution of values and
of per-row means. The label's class shares come with it. No plotting, no I/O.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import check_scalar, describe
from ._common import NUMERIC, check_frame, column_kind, numeric_values, object_values

#: Quantiles reported for numeric columns and array values.
QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
_QUANTILE_NAMES = ("min", "p05", "p25", "median", "p75", "p95", "max")


@dataclasses.dataclass(frozen=True)
class DataSummary(Result):
    """Distribution of a data set.

    Attributes
    ----------
    n_rows : int
    layout : "table", "array" or "text"
    columns : DataFrame, one row per column (tables): ``kind``, ``missing_share``, ``mean``,
        ``std``, quantiles ``min .. max`` (numeric) and ``n_unique``, ``top_values`` (a
        "value (share)" string of the most frequent values; categorical).
    values : dict (arrays): ``shape`` of one row, ``mean``, ``std`` and quantiles of all values,
        and quantiles of the per-row mean; (text): quantiles ``chars_min .. chars_max`` and
        ``words_min .. words_max`` per row, ``vocabulary`` (distinct lower-cased words),
        ``empty_share`` and ``top_words`` ("word (share of all words)").
    labels : dict class -> share of rows, or empty without labels.
    """

    n_rows: int
    layout: str
    columns: pd.DataFrame | None
    values: dict[str, Any]
    labels: dict[str, float]


    def to_frame(self) -> pd.DataFrame:
        if self.columns is not None:
            return self.columns
        return pd.Series(self.values, name="value").to_frame()

    def lines(self, *, max_columns: int = 30) -> list[str]:
        """Short sentences of the summary (one per column), for a model card or a terminal."""
        out = [f"rows: {self.n_rows:,}"]
        if self.labels:
            out.append("label shares: " + ", ".join(f"{k}: {v:.3f}" for k, v in self.labels.items()))
        if self.layout == "text":
            v = self.values
            out.append(f"inputs: text; words per row median {v['words_median']:.4g}, 5-95% range "
                       f"[{v['words_p05']:.4g}, {v['words_p95']:.4g}], max {v['words_max']:.4g}; characters per "
                       f"row median {v['chars_median']:.4g}, max {v['chars_max']:.4g}; vocabulary "
                       f"{v['vocabulary']:,} words; most frequent: {v['top_words']}")
            return out
        if self.columns is None:
            v = self.values
            out.append(f"inputs: arrays of shape {tuple(v['shape'])}; values in [{v['min']:.4g}, {v['max']:.4g}], "
                       f"mean {v['mean']:.4g}, std {v['std']:.4g}; per-row mean from {v['row_mean_p05']:.4g} (p05) "
                       f"to {v['row_mean_p95']:.4g} (p95)")
            return out
        for name, row in self.columns.head(max_columns).iterrows():
            missing = f", {row['missing_share']:.1%} missing" if row["missing_share"] > 0 else ""
            if row["kind"] == NUMERIC:
                out.append(f"{name} (numeric): median {row['median']:.4g}, 5-95% range [{row['p05']:.4g}, "
                           f"{row['p95']:.4g}], min {row['min']:.4g}, max {row['max']:.4g}{missing}")
            else:
                out.append(f"{name} (categorical, {int(row['n_unique'])} values): {row['top_values']}{missing}")
        if len(self.columns) > max_columns:
            out.append(f"... and {len(self.columns) - max_columns} more columns")
        return out


def _is_text(X: Any) -> bool:
    """A 1-D sequence whose items are all strings (a list, tuple, Series or object array)."""
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and all(isinstance(t, str) for t in X)
    if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype.kind in "OU":
        return len(X) > 0 and all(isinstance(t, str) for t in X.tolist())
    if isinstance(X, pd.Series) and (X.dtype == object or pd.api.types.is_string_dtype(X.dtype)):
        return len(X) > 0 and all(isinstance(t, str) for t in X.tolist())
    return False


_WORD = r"\w+"


def _describe_text(texts: pd.Series, y: Any, top: int) -> DataSummary:
    """Characters and words per row (quantiles), vocabulary size and the most frequent words."""
    chars = texts.str.len().to_numpy(dtype=np.float64)
    words = texts.str.lower().str.findall(_WORD)
    n_words = words.str.len().to_numpy(dtype=np.float64)
    counts = words.explode().dropna().value_counts()
    shares = counts / max(1, int(counts.sum()))
    shown = ", ".join(f"{k} ({v:.1%})" for k, v in shares.head(top).items())
    values: dict[str, Any] = {"vocabulary": int(len(counts)), "empty_share": float(np.mean(n_words == 0)),
                              "top_words": shown}
    for what, data in (("chars", chars), ("words", n_words)):
        values.update({f"{what}_{q}": float(v) for q, v in zip(_QUANTILE_NAMES, np.quantile(data, QUANTILES))})
    return DataSummary(len(texts), "text", None, values, _label_shares(y, len(texts)))


def _label_shares(y: Any, n: int) -> dict[str, float]:
    if y is None:
        return {}
    values = pd.Series(np.asarray(y).reshape(-1))
    if len(values) != n:
        raise AssayInputError(f"'y' has {len(values)} rows but 'X' has {n}; they must match.")
    shares = values.value_counts(normalize=True, sort=False).sort_index()
    return {str(k): float(v) for k, v in shares.items()}


def _column_row(column: pd.Series, top: int) -> dict[str, Any]:
    kind = column_kind(column)
    row: dict[str, Any] = {"kind": kind, "missing_share": float(column.isna().mean()) if len(column) else np.nan}
    if kind == NUMERIC:
        values = numeric_values(column)
        values = values[~np.isnan(values)]
        row["n_unique"] = float(len(np.unique(values)))
        if len(values):
            row.update(mean=float(values.mean()), std=float(values.std()),
                       **dict(zip(_QUANTILE_NAMES, np.quantile(values, QUANTILES).tolist())))
        row["top_values"] = ""
    else:
        values = pd.Series(object_values(column)).dropna().astype(str)
        counts = values.value_counts(normalize=True)
        row["n_unique"] = float(len(counts))
        shown = ", ".join(f"{k} ({v:.1%})" for k, v in counts.head(top).items())
        row["top_values"] = shown + (f", ... {len(counts) - top} more" if len(counts) > top else "")
    return row


def describe_data(X: Any, y: Any = None, *, top_values: int = 5) -> DataSummary:
    """Summarise the distribution of ``X`` (and the class shares of ``y``).

    Parameters
    ----------
    X : DataFrame or 2-D array (a table), or an array / torch tensor of shape (n, ...) with more
        than two dimensions (images, sequences), summarised as values rather than columns; or a
        sequence of strings (text: characters and words per row, vocabulary, frequent words).
    y : array of shape (n,), optional
    top_values : int
        Most frequent values listed per categorical column.
    """
    check_scalar(top_values, "top_values", owner="describe_data", kind=(int, np.integer), low=1)
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # a torch tensor
        X = X.detach().cpu().numpy()
    if isinstance(X, np.ndarray) and X.ndim > 2:
        if X.shape[0] == 0:
            raise AssayInputError(f"'X' has no rows (shape {X.shape}); expected at least one.")
        if not np.issubdtype(X.dtype, np.number):
            raise AssayInputError(f"'X' must hold numbers; got an array of dtype {X.dtype}.")
        flat = X.reshape(X.shape[0], -1).astype(np.float64)
        if not np.isfinite(flat).all():
            raise AssayInputError("'X' holds NaN or infinite values; expected finite numbers.")
        row_means = flat.mean(axis=1)
        values: dict[str, Any] = {"shape": list(X.shape[1:]), "mean": float(flat.mean()), "std": float(flat.std())}
        values.update(zip(_QUANTILE_NAMES, np.quantile(flat, QUANTILES).tolist()))
        values.update({f"row_mean_{q}": float(v) for q, v in
                       zip(("p05", "median", "p95"), np.quantile(row_means, (0.05, 0.5, 0.95)))})
        return DataSummary(len(flat), "array", None, values, _label_shares(y, len(flat)))
    if _is_text(X):
        return _describe_text(pd.Series(list(X), dtype=object), y, top_values)
    if not isinstance(X, (pd.DataFrame, pd.Series, np.ndarray, list)):
        raise AssayInputError(f"'X' must be a DataFrame, an array, a torch tensor or a sequence of strings. "
                              f"Got {describe(X)}.")
    frame = check_frame(X, name="X")
    rows = {name: _column_row(frame[name], top_values) for name in frame.columns}
    order = ["kind", "missing_share", "mean", "std", *_QUANTILE_NAMES, "n_unique", "top_values"]
    columns = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=order)
    columns.index.name = "column"
    return DataSummary(len(frame), "table", columns, {}, _label_shares(y, len(frame)))
