"""Load the data to audit a model on: a CSV or Parquet file with a target and sensitive columns.

:func:`load_table` reads the file and splits it into ``X`` (the features), ``y`` (the target)
and ``sensitive_features`` (the attributes to compare groups by), checking what a user passes
as ``--data``, ``--target`` and ``--sensitive``. Every problem raises
:class:`~assay.core.errors.AssayInputError` with a one-line message that starts with the
argument's name, e.g. ``--target: column 'income' is not in 'test.csv'; ...``.

Dtypes follow :mod:`assay.datasets`: text columns become ``category`` (so a scikit-learn
pipeline trained on ``assay.datasets`` frames, e.g. with ``categorical_features="from_dtype"``,
takes ``X`` as it is), numeric and boolean columns stay as read, and each sensitive column is a
``category``. The target is kept as read (labels such as ``0``/``1`` or ``">50K"`` must match
the model's classes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from ..core.columns import columns_shown, parse_columns, unknown_column_message
from ._common import check_readable_file, input_error, quoted, reason

__all__ = ["DEFAULT_TABLE_ARG_NAMES", "LoadedTable", "load_table", "parse_columns", "read_table"]

#: Argument names used in error messages; pass ``arg_names`` to :func:`load_table` to change them.
DEFAULT_TABLE_ARG_NAMES: Mapping[str, str] = {
    "data": "--data",
    "target": "--target",
    "sensitive": "--sensitive",
    "features": "--features",
}

_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")
_SUPPORTED = (
    "a CSV file with a header row (.csv, .tsv, .txt, optionally compressed: .gz, .bz2, .zip, .xz, "
    ".zst) or a Parquet file (.parquet, .pq)"
)


class LoadedTable(NamedTuple):
    """What :func:`load_table` returns; unpacks as ``X, y, sensitive_features = ...``.

    Attributes
    ----------
    X : pandas.DataFrame
        Every column but the target (the sensitive columns too, unless ``drop_sensitive``);
        text columns as ``category``, the others as read. Index ``0..n-1``.
    y : pandas.Series or None
        The target column as read, named after it, same index; None for a table without it
        read with ``target_optional=True``.
    sensitive_features : pandas.DataFrame or None
        One ``category`` column per sensitive attribute, in the order asked for, same index;
        None if no sensitive columns were asked for.
    """

    X: pd.DataFrame
    y: pd.Series
    sensitive_features: pd.DataFrame | None


def read_table(path: str | os.PathLike, *, arg: str = "--data") -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame (index ``0..n-1``), as pandas reads it.

    Raises naming ``arg`` if the file is missing, unreadable, of an unsupported type, cannot be
    parsed, or has no columns or no rows.
    """
    p = Path(os.fspath(path)).expanduser()
    fmt = _table_format(p, arg)
    p = check_readable_file(p, arg=arg, expected=_SUPPORTED)
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(p)
        else:
            sep = "\t" if ".tsv" in [s.lower() for s in p.suffixes] else ","
            frame = pd.read_csv(p, sep=sep, low_memory=False)
    except pd.errors.EmptyDataError:
        raise input_error(
            arg, f"{quoted(p)} is empty; expected {_SUPPORTED} with a header row naming the columns "
            "and one row per example."
        ) from None
    except ImportError as exc:
        raise input_error(arg, f"reading {quoted(p)} needs pyarrow: {reason(exc)}.") from exc
    except OSError as exc:
        raise input_error(arg, f"cannot read {quoted(p)}: {reason(exc)}.") from exc
    except Exception as exc:  # noqa: BLE001 - ParserError, UnicodeDecodeError, ArrowInvalid, ...
        kind = "Parquet" if fmt == "parquet" else "CSV"
        raise input_error(arg, f"cannot parse {quoted(p)} as {kind}: {reason(exc)}.") from exc
    if frame.shape[1] == 0:
        raise input_error(arg, f"{quoted(p)} has no columns; expected {_SUPPORTED}.")
    if len(frame) == 0:
        raise input_error(
            arg, f"{quoted(p)} has a header ({columns_shown(frame.columns)}) but no data rows; "
            "expected at least one row."
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def load_table(
    path: str | os.PathLike,
    *,
    target: str,
    sensitive: str | Sequence[str] | None = None,
    drop_sensitive: bool = False,
    target_optional: bool = False,
    features: Sequence[str] | None = None,
    arg_names: Mapping[str, str] | None = None,
) -> LoadedTable:
    """Read ``path`` and split it into features, target and sensitive attributes.

    Parameters
    ----------
    path : str or path
        A CSV (``.csv``, ``.tsv``, ``.txt``, optionally compressed) or Parquet file with one
        column per feature, the target and the sensitive attributes.
    target : str
        The target column (``--target``).
    sensitive : str or sequence of str, optional
        The sensitive columns, as ``"sex,race"`` or ``["sex", "race"]`` (``--sensitive``).
        Each must exist, differ from the target, have no missing values and at least two groups.
    drop_sensitive : bool
        Drop the sensitive columns from ``X``. Default False: they stay, because a model may have
        been trained with them (``assay.datasets`` keep them in ``X`` too); drop them if the
        model was trained without them.
    target_optional : bool
        Accept a table without the target column (``y`` is then None): out-of-distribution
        inputs need no labels. Default False.
    features : sequence of str, optional
        The columns the model takes (``--features``, or a scikit-learn model's
        ``feature_names_in_``): the file must have each of them (else one line naming the file
        and the missing columns), and ``X`` is those columns, in that order.
    arg_names : mapping, optional
        Names used in error messages for the keys ``"data"``, ``"target"``, ``"sensitive"``
        (default: the CLI flags, :data:`DEFAULT_TABLE_ARG_NAMES`); ``"features"`` (default
        ``--features``) names the argument ``features`` came from.

    Returns
    -------
    LoadedTable
        ``(X, y, sensitive_features)``; see :class:`LoadedTable` for the dtypes.
    """
    names = {**DEFAULT_TABLE_ARG_NAMES, **(arg_names or {})}
    if not isinstance(target, str) or not target.strip():
        raise input_error(names["target"], f"expected the name of the target column. Got {target!r}.")
    target = target.strip()
    sensitive_columns = parse_columns(sensitive, arg=names["sensitive"])
    if target in sensitive_columns:
        raise input_error(
            names["sensitive"],
            f"{target!r} is the target column ({names['target']}); sensitive attributes must be "
            "other columns.",
        )

    frame = read_table(path, arg=names["data"])
    source = quoted(Path(os.fspath(path)))
    if target not in frame.columns and not target_optional:
        raise input_error(names["target"], _not_found([target], frame.columns, source))
    missing = [c for c in sensitive_columns if c not in frame.columns]
    if missing:
        raise input_error(names["sensitive"], _not_found(missing, frame.columns, source))
    feature_columns = None if features is None else parse_columns(
        features, arg=names["features"], columns=frame.columns)
    if feature_columns is not None:
        if target in feature_columns:
            raise input_error(names["features"], f"{target!r} is the target column ({names['target']}); "
                              "the features are the model's input columns.")
        missing = [c for c in feature_columns if c not in frame.columns]
        if missing:
            raise input_error(names["data"], f"{source} lacks the column(s) {missing} the model takes "
                              f"({names['features']}); it has {columns_shown(frame.columns)}.")

    y = frame.pop(target) if target in frame.columns else None
    n_missing = 0 if y is None else int(y.isna().sum())
    if n_missing:
        first = int(y.isna().to_numpy().argmax())
        raise input_error(
            names["target"],
            f"column {target!r} of {source} has {n_missing} missing value(s) (first at row {first}); "
            "expected a label in every row: drop or fill those rows.",
        )
    if frame.shape[1] == 0:
        raise input_error(
            names["data"],
            f"{source} has only the target column {target!r}; expected feature columns too.",
        )
    X = _categorize_text(frame)
    model_X = None if feature_columns is None else X[feature_columns]

    sensitive_features = None
    if sensitive_columns:
        sensitive_features = pd.DataFrame(
            {c: X[c] if isinstance(X[c].dtype, pd.CategoricalDtype) else X[c].astype("category")
             for c in sensitive_columns},
            index=X.index,
        )
        _check_groups(sensitive_features, names["sensitive"], source)
        if drop_sensitive:
            X = X.drop(columns=sensitive_columns)
            if X.shape[1] == 0:
                raise input_error(
                    names["sensitive"],
                    f"dropping the sensitive columns leaves no feature columns in {source}.",
                )
    if model_X is not None:
        X = model_X
    return LoadedTable(X, None if y is None else y.rename(target), sensitive_features)


# ---------------------------------------------------------------------- helpers
def _table_format(path: Path, arg: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in _CSV_SUFFIXES:
        return "csv"
    if last in _PARQUET_SUFFIXES:
        return "parquet"
    shown = f"extension {last!r}" if last else "no extension"
    raise input_error(arg, f"cannot read {quoted(path)} ({shown}); expected {_SUPPORTED}.")


def _not_found(wanted: list[str], columns: Sequence[Any], source: str) -> str:
    return unknown_column_message(wanted, columns, where=source)


def _check_groups(sensitive_features: pd.DataFrame, arg: str, source: str) -> None:
    """The checks every audit makes of its groups: no missing values, at least two groups."""
    for column in sensitive_features.columns:
        values = sensitive_features[column]
        n_missing = int(values.isna().sum())
        if n_missing:
            raise input_error(
                arg,
                f"column {column!r} of {source} has {n_missing} missing value(s); give them a group "
                "of their own (e.g. the value 'missing') or drop those rows.",
            )
        groups = values.unique()
        if len(groups) < 2:
            raise input_error(
                arg,
                f"column {column!r} of {source} has a single group ({groups[0]!r}); at least two "
                "groups are needed to compare them.",
            )


def _categorize_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text (object / string dtype) columns -> ``category``; other columns unchanged."""
    out = frame.copy()
    for column, dtype in frame.dtypes.items():
        if dtype == object or isinstance(dtype, pd.StringDtype):
            out[column] = frame[column].astype("category")
    return out
