"""Regression metrics from mergeable statistics: the one home of their formulas.

Metric names of :func:`~assay.metrics.evaluate_groups` (``y_true`` and ``y_pred`` numbers of
shape (n,) or (n, d); residual ``r = y_pred - y_true``):

* ``mae`` -- mean absolute error ``sum(w |r|) / sum(w)``;
* ``mse`` -- mean squared error; ``rmse`` -- its square root;
* ``bias`` -- mean residual ``sum(w r) / sum(w)``: positive when the model over-predicts;
* ``r2`` -- coefficient of determination ``1 - sum(w r^2) / sum(w (y - ybar_w)^2)``;
* ``interval_coverage`` -- share of rows with ``lower <= y_true <= upper``, and
  ``interval_width`` -- mean ``upper - lower``, when ``y_interval`` is given ((n, 2), or
  (n, d, 2) for multi-output y).

Every one is **exact** from per-cell sums (no approximation, whatever the batches or
partitions): sums of ``w``, ``w r``, ``w |r|``, ``w r^2`` (and their squares, for the
bootstrap) merge by addition; the sum of squares about the mean that ``r2`` needs is kept as
weighted central moments ``(W, mean, M2, M3, M4)`` of ``y_true`` per cell, combined by the
shift identity ``sum w (y - m')^k = sum_j C(k, j) M_j (m - m')^(k - j)`` (Chan et al.; Pébay),
so ``r2`` is stable under large offsets in ``y`` (it equals scikit-learn's to ~1e-12 on targets
near 1e8). Medians (median absolute error) and quantiles are not mergeable and are not offered.

Multi-output y (n, d): every metric is the uniform average over the d outputs, as
scikit-learn's ``multioutput="uniform_average"`` (``rmse``: the average of each output's RMSE,
as ``root_mean_squared_error``; ``r2``: of each output's R^2).

Undefined values: a group of zero weight gives NaN; ``r2`` of a group whose ``y_true`` is
constant (zero total sum of squares) is NaN with an
:class:`~assay.core.errors.UndefinedMetricWarning`. (scikit-learn's ``r2_score`` returns 1.0
or 0.0 there by default -- ``force_finite=True`` -- and NaN / -inf with ``force_finite=False``;
assay follows the project's rule: undefined is NaN.)

Bootstrap intervals (stratified by cell, as every grouped interval): ``mae``, ``mse``,
``bias``, ``interval_width`` are means of per-row values, resampled as the ``mean:`` cell
statistic (:mod:`assay.metrics.values`: normal with the row bootstrap's mean and covariance
per cell); ``interval_coverage`` (one output) from counts, exactly; ``rmse`` from the drawn
``mse`` of each output. ``r2`` draws each cell's mean and sum of squares of ``y_true``
(normal, variances from its central moments M2 and M4, the two independent) and the residual
sum of squares (as ``mse``) independently: the positive correlation between residual and
total sums of squares is ignored, which widens the interval (conservative). With weights the
cells' moment variances treat the rows of a cell as equally weighted (an approximation).
With d > 1 outputs, each output's draws are independent of the others'.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import as_array, check_consistent_length
from ._stats import _as_labels, _SummedStats
from .classification import METRICS, MetricSpec, _divide, _warn_undefined
from .values import MOMENTS, _draw, value_sums

__all__ = ["REGRESSION_METRICS", "RegressionStats", "check_regression_inputs"]

ROW_VALUES = ("err", "abs_err", "sq_err", "covered", "width")
"""Per-row values (averaged over outputs) whose :data:`~assay.metrics.values.MOMENTS` are kept per cell."""
CENTRAL = ("w", "mean", "m2", "m3", "m4")
"""Central moments of ``y_true`` kept per cell and output."""

_W, _WX = MOMENTS.index("w"), MOMENTS.index("wx")
_CONSTANT_Y = "y_true is constant in the group (zero total sum of squares)"
_ZERO_WEIGHT = "no rows, or zero total weight"
_NO_INTERVAL = "'y_interval' is required for the metric(s) {metrics}. Got None instead."


def check_regression_inputs(y_true: Any, y_pred: Any, y_interval: Any = None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``y_true``, ``y_pred`` as finite float (n, d) arrays and ``y_interval`` as (n, d, 2).

    (n,) inputs become (n, 1). ``y_interval`` of shape (n, 2) goes with (n,) targets, (n, d, 2)
    with (n, d) ones; each row's lower bound must not exceed its upper bound.
    """
    y_true = as_array(y_true, name="y_true", ndim=(1, 2), dtype=np.float64)
    y_pred = as_array(y_pred, name="y_pred", ndim=(1, 2), dtype=np.float64)
    check_consistent_length(y_true=y_true, y_pred=y_pred)
    t2 = y_true.reshape(len(y_true), -1)
    p2 = y_pred.reshape(len(y_pred), -1)
    if t2.shape != p2.shape:
        raise AssayInputError(
            f"'y_pred' must have the shape of 'y_true' {y_true.shape} (one prediction per target). "
            f"Got shape {y_pred.shape} instead."
        )
    if t2.shape[1] == 0:
        raise AssayInputError(f"'y_true' must hold at least one output. Got shape {y_true.shape}.")
    interval = None
    if y_interval is not None:
        interval = as_array(y_interval, name="y_interval", ndim=(2, 3), dtype=np.float64)
        expected = (len(t2), 2) if y_true.ndim == 1 else (*t2.shape, 2)
        if interval.shape != expected:
            raise AssayInputError(
                f"'y_interval' must have shape {expected} (lower and upper bound per target). "
                f"Got shape {interval.shape} instead."
            )
        interval = interval.reshape(*t2.shape, 2)
        if (interval[..., 0] > interval[..., 1]).any():
            bad = int((interval[..., 0] > interval[..., 1]).any(axis=1).sum())
            raise AssayInputError(
                f"'y_interval' must have lower <= upper on every row. Got {bad} row(s) with lower > upper."
            )
    return t2, p2, interval


def row_values(y_true: np.ndarray, y_pred: np.ndarray, interval: np.ndarray | None) -> np.ndarray:
    """The :data:`ROW_VALUES` of each row, (n, 5), averaged over outputs (zeros without intervals)."""
    r = y_pred - y_true
    out = np.zeros((len(r), len(ROW_VALUES)))
    out[:, 0] = r.mean(axis=1)
    out[:, 1] = np.abs(r).mean(axis=1)
    out[:, 2] = (r * r).mean(axis=1)
    if interval is not None:
        out[:, 3] = ((interval[..., 0] <= y_true) & (y_true <= interval[..., 1])).mean(axis=1)
        out[:, 4] = (interval[..., 1] - interval[..., 0]).mean(axis=1)
    return out


def central_sums(y: np.ndarray, cell: np.ndarray, w: np.ndarray | None, size: int) -> np.ndarray:
    """Weighted central moments of ``y`` (n, d) per cell, shape (size, d, 5): (W, mean, M2, M3, M4).

    Two passes (mean, then the centred powers) with the first-order correction of the mean, so
    the result does not depend on an offset of ``y``.
    """
    d = y.shape[1]
    weights = np.ones(len(y)) if w is None else w
    out = np.zeros((size, d, len(CENTRAL)))
    total = np.bincount(cell, weights=weights, minlength=size)
    out[:, :, 0] = total[:, None]
    safe = np.where(total > 0, total, 1.0)
    for j in range(d):
        mean = np.bincount(cell, weights=weights * y[:, j], minlength=size) / safe
        dev = y[:, j] - mean[cell]
        correction = np.bincount(cell, weights=weights * dev, minlength=size) / safe
        mean = mean + correction
        dev = dev - correction[cell]
        out[:, j, 1] = mean
        power = weights * dev
        for k in (2, 3, 4):
            power = power * dev
            out[:, j, k] = np.bincount(cell, weights=power, minlength=size)
    return out


def combine_central(parts: np.ndarray, group_of: np.ndarray, n_groups: int) -> np.ndarray:
    """Central moments (K, d, 5) of K parts summed into ``n_groups`` groups by ``group_of`` (K,).

    Each part's moments are shifted to its group's mean (binomial identity) and added: the
    merge of Chan et al. generalised to M3 and M4 (Pébay 2008), for any number of parts at once.
    """
    out = np.zeros((n_groups, *parts.shape[1:]))
    weight = parts[..., 0]
    np.add.at(out[..., 0], group_of, weight)
    weighted_mean = np.zeros(out.shape[:2])
    np.add.at(weighted_mean, group_of, weight * parts[..., 1])
    total = out[..., 0]
    mean = np.divide(weighted_mean, total, out=np.zeros_like(weighted_mean), where=total > 0)
    # the first-order correction makes the group mean exact to rounding of the deviations
    delta = np.where(weight > 0, parts[..., 1] - mean[group_of], 0.0)
    shift = np.zeros(out.shape[:2])
    np.add.at(shift, group_of, weight * delta)
    correction = np.divide(shift, total, out=np.zeros_like(shift), where=total > 0)
    mean = mean + correction
    out[..., 1] = mean
    delta = np.where(weight > 0, parts[..., 1] - mean[group_of], 0.0)
    m2, m3, m4 = parts[..., 2], parts[..., 3], parts[..., 4]
    np.add.at(out[..., 2], group_of, m2 + weight * delta**2)
    np.add.at(out[..., 3], group_of, m3 + 3 * delta * m2 + weight * delta**3)
    np.add.at(out[..., 4], group_of, m4 + 4 * delta * m3 + 6 * delta**2 * m2 + weight * delta**4)
    return out


class RegressionStats(_SummedStats):
    """Per-group sums of a regression model's errors: the statistics of the regression metrics.

    States: ``n`` (rows, (G,)), ``values`` (the :data:`~assay.metrics.values.MOMENTS` of
    :data:`ROW_VALUES` per group, (G, 5, 7)), ``sq`` (the moments of each output's squared
    error, (G, d, 7)) and ``y`` (central moments of ``y_true`` per output, (G, d, 5), merged
    by :func:`combine_central`; every other state by addition).
    """

    _states = ("n", "values", "sq", "y")
    _config_names = ("n_outputs", "has_interval")

    def __init__(self, groups: int | Sequence[Hashable] = 1, *, n_outputs: int = 1,
                 has_interval: bool = False) -> None:
        self.labels = _as_labels(groups, "RegressionStats")
        self.n_outputs = int(n_outputs)
        self.has_interval = bool(has_interval)
        self._init_states()

    def _init_states(self) -> None:
        g, d = self.n_groups, self.n_outputs
        self.n = np.zeros(g, dtype=np.int64)
        self.values = np.zeros((g, len(ROW_VALUES), len(MOMENTS)))
        self.sq = np.zeros((g, d, len(MOMENTS)))
        self.y = np.zeros((g, d, len(CENTRAL)))

    @property
    def weight(self) -> np.ndarray:
        """Total weight per group, (G,)."""
        return self.values[:, 0, _W]

    def update(self, y_true: Any, y_pred: Any, group_codes: Any, sample_weight: Any = None, *,
               y_interval: Any = None) -> RegressionStats:
        """Add rows (in place): ``group_codes`` (n,) in ``[0, n_groups)``."""
        from ._checks import check_group_codes, check_sample_weight

        t, p, interval = check_regression_inputs(y_true, y_pred, y_interval)
        w = check_sample_weight(sample_weight)
        n = check_consistent_length(y_true=t, sample_weight=w)
        codes = check_group_codes(group_codes, self.n_groups, n)
        if t.shape[1] != self.n_outputs or (interval is not None) != self.has_interval:
            raise AssayInputError(
                f"'y_true' must have {self.n_outputs} output(s) and 'y_interval' be "
                f"{'given' if self.has_interval else 'None'} for this RegressionStats."
            )
        sums = regression_sums(t, p, interval, codes, w, self.n_groups)
        merged = self.merge(_from_sums(self.labels, self.n_outputs, self.has_interval, sums))
        self.n, self.values, self.sq, self.y = merged.n, merged.values, merged.sq, merged.y
        return self

    def merge(self, other: _SummedStats) -> RegressionStats:
        """Statistics of both objects' rows (a new object)."""
        self._check_compatible(other)
        out = self.copy()
        out.n = self.n + other.n
        out.values = self.values + other.values
        out.sq = self.sq + other.sq
        both = np.concatenate([self.y, other.y])
        out.y = combine_central(both, np.tile(np.arange(self.n_groups), 2), self.n_groups)
        return out  # type: ignore[return-value]

    __add__ = merge

    def aggregate(self, group_of: Any, labels: Sequence[Hashable]) -> RegressionStats:
        """Sum groups into coarser groups (``y`` by :func:`combine_central`)."""
        labels = list(labels)
        group_of = np.asarray(group_of)
        summed = _SummedStats.aggregate(self, group_of, labels)
        summed.y = combine_central(self.y, group_of, len(labels))
        return summed  # type: ignore[return-value]


def regression_sums(y_true: np.ndarray, y_pred: np.ndarray, interval: np.ndarray | None, cell: np.ndarray,
                    w: np.ndarray | None, size: int) -> dict[str, np.ndarray]:
    """Per-cell sums of checked (n, d) inputs: ``reg_values`` (size, 5, 7), ``reg_sq`` (size, d, 7),
    ``reg_y`` (size, d, 5), ``n`` (size,)."""
    rows = row_values(y_true, y_pred, interval)
    values = np.stack([value_sums(rows[:, k], cell, w, size) for k in range(len(ROW_VALUES))], axis=1)
    r = y_pred - y_true
    sq = np.stack([value_sums(r[:, j] ** 2, cell, w, size) for j in range(r.shape[1])], axis=1)
    return {"n": np.bincount(cell, minlength=size).astype(np.int64), "reg_values": values, "reg_sq": sq,
            "reg_y": central_sums(y_true, cell, w, size)}


def cell_sums(index: Any, y_true: np.ndarray, y_pred: np.ndarray, interval: np.ndarray | None,
              w: np.ndarray | None, values: dict[str, np.ndarray] | None) -> tuple[list[tuple[str, ...]], dict]:
    """The cells present in a batch (``index``: its :class:`~assay.metrics.groups._CellIndex`) and
    their sums, regression and ``value:<name>`` moments, as :class:`~assay.metrics.GroupedStats` keeps them."""
    n = len(y_true)
    size = index.n_slots
    cell = index.slots(0, n)
    sums = regression_sums(y_true, y_pred, interval, cell, w, size)
    for key, x in (values or {}).items():
        sums[f"value:{key}"] = value_sums(x, cell, w, size)
    present = np.flatnonzero(sums["n"])
    return index.labels(present), {key: value[present] for key, value in sums.items()}


def _from_sums(labels: Sequence[Hashable], n_outputs: int, has_interval: bool, sums: dict[str, np.ndarray]
               ) -> RegressionStats:
    out = RegressionStats(list(labels), n_outputs=n_outputs, has_interval=has_interval)
    out.n, out.values, out.sq, out.y = sums["n"], sums["reg_values"], sums["reg_sq"], sums["reg_y"]
    return out


# ---------------------------------------------------------------------------------------------
# Formulas (one value per group)
# ---------------------------------------------------------------------------------------------


def _mean_of(stats: RegressionStats, k: int, metric: str) -> np.ndarray:
    return _divide(stats.values[:, k, _WX], stats.values[:, k, _W], stats.labels, metric, _ZERO_WEIGHT)


def mae(stats: RegressionStats) -> np.ndarray:
    """Mean absolute error (uniform average over outputs)."""
    return _mean_of(stats, 1, "mae")


def mse(stats: RegressionStats) -> np.ndarray:
    """Mean squared error (uniform average over outputs)."""
    return _mean_of(stats, 2, "mse")


def bias(stats: RegressionStats) -> np.ndarray:
    """Mean residual ``y_pred - y_true`` (positive: over-prediction)."""
    return _mean_of(stats, 0, "bias")


def rmse(stats: RegressionStats) -> np.ndarray:
    """Root mean squared error; with d outputs the mean of each output's RMSE."""
    per_output = _output_ratio(stats.sq[:, :, _WX], stats.sq[:, :, _W], stats.labels, "rmse", _ZERO_WEIGHT)
    return np.sqrt(per_output).mean(axis=1)


def _output_ratio(num: np.ndarray, den: np.ndarray, labels: tuple[Hashable, ...], metric: str,
                  reason: str) -> np.ndarray:
    """``num / den`` of (G, d) arrays; NaN where ``den == 0`` with one warning naming the groups."""
    out = np.full(den.shape, np.nan)
    defined = den > 0
    np.divide(num, den, out=out, where=defined)
    if not defined.all():
        _warn_undefined(metric, labels, ~defined.all(axis=1), reason)
    return out


def r2(stats: RegressionStats) -> np.ndarray:
    """Coefficient of determination (uniform average of each output's R^2); NaN for constant y."""
    weightless = stats.weight <= 0
    tot = np.where(weightless[:, None], 0.0, stats.y[:, :, 2])
    res = stats.sq[:, :, _WX]
    out = np.full(tot.shape, np.nan)
    defined = tot > 0
    np.divide(res, tot, out=out, where=defined)
    undefined = ~defined.all(axis=1)
    if (undefined & ~weightless).any():
        _warn_undefined("r2", stats.labels, undefined & ~weightless, _CONSTANT_Y)
    if weightless.any():
        _warn_undefined("r2", stats.labels, weightless, _ZERO_WEIGHT)
    return (1.0 - out).mean(axis=1)


def interval_coverage(stats: RegressionStats) -> np.ndarray:
    """Share of rows whose interval holds ``y_true`` (weighted; mean over outputs)."""
    return _mean_of(stats, 3, "interval_coverage")


def interval_width(stats: RegressionStats) -> np.ndarray:
    """Mean interval width ``upper - lower`` (weighted; mean over outputs)."""
    return _mean_of(stats, 4, "interval_width")


def _reg_spec(function: Any, higher_is_better: bool | None, description: str) -> MetricSpec:
    return MetricSpec(function.__name__, function, higher_is_better, "regression", description,  # type: ignore[arg-type]
                      "residuals")  # type: ignore[arg-type]


REGRESSION_METRICS: dict[str, MetricSpec] = {
    spec.name: spec for spec in (
        _reg_spec(mae, False, "Mean absolute error."),
        _reg_spec(mse, False, "Mean squared error."),
        _reg_spec(rmse, False, "Root mean squared error."),
        _reg_spec(bias, None, "Mean residual y_pred - y_true (positive: over-prediction)."),
        _reg_spec(r2, True, "Coefficient of determination R^2."),
        _reg_spec(interval_coverage, True, "Share of rows inside their prediction interval."),
        _reg_spec(interval_width, False, "Mean prediction-interval width."),
    )
}
"""The regression metrics (also in :data:`assay.metrics.METRICS`, with ``needs="regression"``)."""
INTERVAL_METRICS = ("interval_coverage", "interval_width")
METRICS.update(REGRESSION_METRICS)


# ---------------------------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------------------------


def regression_resamples(metrics: Sequence[str], cells: RegressionStats, membership: np.ndarray, n_boot: int,
                         rng: np.random.Generator, weighted: bool) -> np.ndarray:
    """Regression metrics on bootstrap resamples, shape ``(n_boot, G, len(metrics))``
    (``membership``: (C, G) cell -> group indicator); see the module notes."""
    out = np.empty((n_boot, membership.shape[1], len(metrics)))
    drawn: dict[str, dict[str, np.ndarray]] = {}
    columns = {"bias": 0, "mae": 1, "mse": 2, "interval_coverage": 3, "interval_width": 4}
    per_output: list[np.ndarray] | None = None
    with np.errstate(all="ignore"):
        for j, metric in enumerate(metrics):
            if metric in columns:
                k = columns[metric]
                if metric not in drawn:
                    binary = metric == "interval_coverage" and cells.n_outputs == 1
                    drawn[metric] = _draw(cells.values[:, k, :], binary, membership, n_boot, rng, weighted)
                out[:, :, j] = drawn[metric]["wx"] / drawn[metric]["w"]
                continue
            if per_output is None:
                per_output = [_draw(cells.sq[:, o, :], False, membership, n_boot, rng, weighted)
                              for o in range(cells.n_outputs)]
                mses = np.stack([d["wx"] / d["w"] for d in per_output], axis=-1)  # (B, G, d)
            if metric == "rmse":
                out[:, :, j] = np.sqrt(np.maximum(mses, 0.0)).mean(axis=-1)
            elif metric == "r2":
                var = _variance_draws(cells, membership, n_boot, rng)
                out[:, :, j] = (1.0 - mses / var).mean(axis=-1)
            else:  # pragma: no cover - guarded by the registry
                raise AssayInputError(f"No bootstrap for the metric {metric!r}.")
    return out


def _variance_draws(cells: RegressionStats, membership: np.ndarray, n_boot: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """Resampled weighted variance of ``y_true`` per group and output, (n_boot, G, d)."""
    weight = cells.y[:, :, 0]
    rows = np.maximum(cells.n, 1)[:, None].astype(np.float64)
    safe = np.where(weight > 0, weight, 1.0)
    m2, m4 = cells.y[:, :, 2] / safe, cells.y[:, :, 4] / safe
    centre = (weight * cells.y[:, :, 1]).sum(axis=0) / np.maximum(weight.sum(axis=0), 1e-300)
    mean = cells.y[:, :, 1] - centre  # offset-free
    sd_mean = np.sqrt(np.maximum(m2, 0.0) / rows)
    sd_m2 = np.sqrt(np.maximum(m4 - m2**2, 0.0) / rows) * weight
    shape = (n_boot, *weight.shape)
    mean_draw = mean + sd_mean * rng.standard_normal(shape)
    m2_draw = np.maximum(cells.y[:, :, 2] + sd_m2 * rng.standard_normal(shape), 0.0)
    group_w = np.einsum("cd,cg->gd", weight, membership)
    first = np.einsum("bcd,cg->bgd", weight * mean_draw, membership)
    second = np.einsum("bcd,cg->bgd", weight * mean_draw**2 + m2_draw, membership)
    group_mean = first / group_w
    return (second - group_w * group_mean**2) / group_w


def needs_interval(names: Sequence[str], has_interval: bool) -> None:
    """Refuse interval metrics without ``y_interval``."""
    missing = [m for m in names if m in INTERVAL_METRICS]
    if missing and not has_interval:
        raise AssayInputError(_NO_INTERVAL.format(metrics=missing))
