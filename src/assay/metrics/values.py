"""Any per-example quantity, per group: the cell statistics behind ``evaluate_groups(values=...)``.

A per-example quantity -- covered by a prediction set, set size, attack succeeded,
perturbation norm, refused as OOD, reconstruction error -- is a float per row. For each such
*value* the grouped table holds, per finest cell of the sensitive features, a fixed set of
declared sums (:data:`MOMENTS`): they merge by addition like every other statistic of
:class:`~assay.metrics.GroupedStats`, so values go through arrays, batches and Dask alike.

A :class:`CellStatistic` turns the summed moments of a group into a number. Built in
(column ``"<statistic>:<value>"``, e.g. ``"mean:covered"``):

* ``mean`` -- the (weighted) mean ``sum(w x) / sum(w)``;
* ``sum`` -- the (weighted) sum ``sum(w x)``.

Add one by subclassing :class:`CellStatistic` and passing it to
:func:`register_cell_statistic`.

Bootstrap (stratified by cell, as every grouped interval; see :mod:`assay.metrics.bootstrap`):

* values that are all 0 or 1 (a rate): the resampled number of ones of a cell is drawn from
  its counts (binomial) -- the row bootstrap exactly in distribution, unweighted; with weights
  the weight of the rows drawn is the gamma approximation of :mod:`assay.metrics.bootstrap`;
* other values: a cell's resampled ``(sum w, sum w x)`` is drawn from the normal distribution
  with the mean and covariance of the row bootstrap's (from the cell's moments): exact in mean
  and covariance, normal in shape (the central-limit approximation; narrow cells of skewed
  values are where it is weakest). Unweighted, ``sum w`` is the cell's row count, fixed.

Sums of float values agree to rounding across batches or partitions (exactly when every
partial sum is representable: 0/1 values, integers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import as_array, describe
from . import bootstrap as _bootstrap

__all__ = ["MOMENTS", "VALUE_STATISTICS", "CellStatistic", "Mean", "Sum", "register_cell_statistic"]

MOMENTS = ("rows", "ones", "w", "wx", "w2", "w2x", "w2x2")
"""The sums kept per cell and value: rows, rows with x == 1, and sums of w, w x, w^2, w^2 x,
w^2 x^2 (w = 1 unweighted)."""

_BAD_VALUES = "'values' must be {expected}. Got {received} instead."
_BAD_VALUE_METRIC = (
    "'metrics' entry {entry!r} must be '<statistic>:<value>' with a statistic among {stats} and a "
    "value among the keys of 'values' {values}."
)
_NOT_RESAMPLED = (
    "The bootstrap of {column!r} needs the sums {states}, which are not resampled for values "
    "other than 0/1 (resampled: 'w', 'wx'); pass n_boot=0."
)


class CellStatistic:
    """A number per group from the summed :data:`MOMENTS` of a value (the ``add_state`` idea:
    declared sums per cell, merged by addition, reduced to a number by :meth:`value`).

    Subclasses set ``name`` (the column prefix), ``states`` (the moments :meth:`value`
    reads), ``higher_is_better`` (None: no direction), and implement :meth:`value`.
    """

    name: ClassVar[str] = ""
    states: ClassVar[tuple[str, ...]] = ("w", "wx")
    higher_is_better: ClassVar[bool | None] = None

    def value(self, sums: Mapping[str, np.ndarray]) -> np.ndarray:
        """The statistic from summed moments (arrays of any one shape); NaN where undefined."""
        raise NotImplementedError


class Mean(CellStatistic):
    """Weighted mean ``sum(w x) / sum(w)``; NaN for a group of total weight 0."""

    name = "mean"

    def value(self, sums: Mapping[str, np.ndarray]) -> np.ndarray:
        w, wx = np.asarray(sums["w"], dtype=np.float64), np.asarray(sums["wx"], dtype=np.float64)
        out = np.full(np.broadcast(w, wx).shape, np.nan)
        np.divide(wx, w, out=out, where=w > 0)
        return out


class Sum(CellStatistic):
    """Weighted sum ``sum(w x)``."""

    name = "sum"
    states = ("wx",)

    def value(self, sums: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(sums["wx"], dtype=np.float64).copy()


VALUE_STATISTICS: dict[str, CellStatistic] = {"mean": Mean(), "sum": Sum()}
"""Statistic name -> :class:`CellStatistic`, for ``metrics=["<name>:<value>"]``."""


def register_cell_statistic(statistic: CellStatistic) -> CellStatistic:
    """Make ``statistic`` usable as ``"<statistic.name>:<value>"`` in ``evaluate_groups``."""
    if not isinstance(statistic, CellStatistic) or not statistic.name or ":" in statistic.name:
        raise AssayInputError(
            f"'statistic' must be a CellStatistic instance with a non-empty name without ':'. "
            f"Got {describe(statistic)} instead."
        )
    unknown = [s for s in statistic.states if s not in MOMENTS]
    if unknown:
        raise AssayInputError(f"'statistic.states' must be among {list(MOMENTS)}. Got {unknown}.")
    VALUE_STATISTICS[statistic.name] = statistic
    return statistic


def is_value_metric(name: Any) -> bool:
    """Whether a metric name has the ``"<statistic>:<value>"`` form."""
    return isinstance(name, str) and ":" in name


def parse_value_metric(entry: str, value_names: Sequence[str] | None = None) -> tuple[CellStatistic, str]:
    """``"mean:covered"`` -> (the Mean statistic, ``"covered"``); checked."""
    prefix, _, value = entry.partition(":")
    known = value_names is None or value in value_names
    if prefix not in VALUE_STATISTICS or not value or not known:
        raise AssayInputError(_BAD_VALUE_METRIC.format(
            entry=entry, stats=list(VALUE_STATISTICS),
            values=list(value_names) if value_names is not None else "given",
        ))
    return VALUE_STATISTICS[prefix], value


def check_values(values: Any, n_samples: int | None = None) -> dict[str, np.ndarray]:
    """``values`` as a dict of name -> finite float64 (n,) array, lengths checked."""
    if not isinstance(values, Mapping) or not values:
        raise AssayInputError(_BAD_VALUES.format(
            expected="a non-empty dict of name -> per-example numbers", received=describe(values)
        ))
    out: dict[str, np.ndarray] = {}
    for key, column in values.items():
        if not isinstance(key, str) or not key or ":" in key:
            raise AssayInputError(_BAD_VALUES.format(
                expected="keyed by non-empty strings without ':'", received=f"the key {key!r}"
            ))
        arr = as_array(column, name=f"values[{key!r}]", ndim=1, dtype=np.float64)
        if n_samples is not None and len(arr) != n_samples:
            raise AssayInputError(
                f"'values[{key!r}]' must have one number per row ({n_samples} rows). Got {len(arr)}."
            )
        out[key] = arr
    lengths = {len(a) for a in out.values()}
    if len(lengths) > 1:
        shown = ", ".join(f"values[{k!r}]: {len(a)}" for k, a in out.items())
        raise AssayInputError(f"Inputs must have the same number of rows. Got {shown}.")
    return out


def value_sums(x: np.ndarray, cell: np.ndarray, w: np.ndarray | None, size: int) -> np.ndarray:
    """The :data:`MOMENTS` of one value per cell, shape (size, 7), from rows' cell codes."""
    out = np.empty((size, len(MOMENTS)))
    out[:, 0] = np.bincount(cell, minlength=size)
    out[:, 1] = np.bincount(cell, weights=(x == 1).astype(np.float64), minlength=size)
    w = np.ones(len(x)) if w is None else w
    wx = w * x
    w2 = w * w
    w2x = w2 * x
    for j, terms in enumerate((w, wx, w2, w2x, w2x * x), start=2):
        out[:, j] = np.bincount(cell, weights=terms, minlength=size)
    return out


def point_values(statistic: CellStatistic, sums: np.ndarray) -> np.ndarray:
    """``statistic`` of groups whose moments are the rows of ``sums`` (G, 7)."""
    return statistic.value({m: sums[..., j] for j, m in enumerate(MOMENTS)})


def value_resamples(
    columns: Sequence[tuple[str, CellStatistic, str]],
    moments: Mapping[str, np.ndarray],
    binary: Mapping[str, bool],
    membership: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    weighted: bool,
) -> np.ndarray:
    """Value statistics on bootstrap resamples, shape ``(n_boot, G, len(columns))``.

    ``columns``: (column, statistic, value name); ``moments``: value name -> (C, 7) cell sums;
    ``binary``: whether a value is all 0/1; ``membership``: (C, G) cell -> group indicator.
    One draw per value (in ``columns`` order of first use), shared by its statistics.
    """
    out = np.empty((n_boot, membership.shape[1], len(columns)))
    drawn: dict[str, dict[str, np.ndarray]] = {}
    for j, (column, statistic, name) in enumerate(columns):
        if name not in drawn:
            drawn[name] = _draw(moments[name], binary[name], membership, n_boot, rng, weighted)
        missing = [s for s in statistic.states if s not in drawn[name]]
        if missing:
            raise AssayInputError(_NOT_RESAMPLED.format(column=column, states=missing))
        with np.errstate(all="ignore"):
            out[:, :, j] = statistic.value(drawn[name])
    return out


def _draw(sums: np.ndarray, binary: bool, membership: np.ndarray, n_boot: int, rng: np.random.Generator,
          weighted: bool) -> dict[str, np.ndarray]:
    """Resampled group sums ``{"w", "wx"}`` (and, for 0/1 values, every moment), each (n_boot, G)."""
    m = {name: sums[:, j] for j, name in enumerate(MOMENTS)}
    rows = m["rows"]
    if binary:
        counts = np.stack([rows - m["ones"], m["ones"]], axis=1).astype(np.int64)
        weight = np.stack([m["w"] - m["wx"], m["wx"]], axis=1) if weighted else None
        weight_sq = np.stack([m["w2"] - m["w2x"], m["w2x"]], axis=1) if weighted else None
        cells = _bootstrap.confusion_resamples(counts, weight, n_boot, rng, weight_sq)  # (B, C, 2)
        return {"w": cells.sum(axis=-1) @ membership, "wx": cells[..., 1] @ membership}
    n = np.maximum(rows, 1.0)
    mean_w, mean_wx = m["w"] / n, m["wx"] / n
    var_w = np.maximum(m["w2"] / n - mean_w**2, 0.0)
    var_wx = np.maximum(m["w2x2"] / n - mean_wx**2, 0.0)
    cov = m["w2x"] / n - mean_w * mean_wx
    z1 = rng.standard_normal((n_boot, len(rows)))
    z2 = rng.standard_normal((n_boot, len(rows)))
    sd_w = np.sqrt(rows * var_w)
    if weighted:
        w = rows * mean_w + sd_w * z1
    else:
        w = np.broadcast_to(m["w"], z1.shape).astype(np.float64)
    # wx given w: the conditional normal (Cholesky of the 2x2 covariance per cell)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(sd_w > 0, rows * cov / np.where(sd_w > 0, sd_w, 1.0), 0.0)
    rest = np.sqrt(np.maximum(rows * var_wx - beta**2, 0.0))
    wx = rows * mean_wx + (beta * z1 if weighted else 0.0) + rest * z2
    return {"w": w @ membership, "wx": wx @ membership}
