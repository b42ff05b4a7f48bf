"""The mergeable statistics of a grouped table: :class:`GroupedStats` (sums per finest cell).

See :mod:`assay.metrics.grouped` for the notes on what "identical" means for tables gathered
from arrays, batches or Dask partitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import NOT_GIVEN, check_bool, check_consistent_length, check_scalar, describe
from ._checks import (
    check_binary_labels,
    check_class_indices,
    check_labels_1d,
    check_prob,
    check_sample_weight,
)
from ._stats import CalibrationStats, ConfusionStats, MulticlassConfusionStats, sorted_classes, uniform_bins
from ._stats import checked_top_label
from ._stats import top_label as predicted_and_confidence
from .groups import _CellIndex, _Coded, _encode_column, _feature_columns, _plain
from .values import MOMENTS, check_values, value_sums
from .regression import RegressionStats, cell_sums, check_regression_inputs, combine_central
from .scores import RankStats, ScoreStats, _same_table, _TableStack, _table_of_rows, row_losses

if TYPE_CHECKING:
    from .grouped_table import GroupedMetrics

DEFAULT_METRICS = ("accuracy", "selection_rate", "tpr", "fpr")
_NEEDS_INPUT = "'{name}' is required for the metric(s) {metrics}. Got None instead."
_NO_Y_TRUE = (
    "'y_true' is required (it may be left out only when 'values' is given, without y_pred or "
    "y_score). Got None instead."
)
_FEATURES_CHANGED = (
    "'{name}' must have the same features, in the same order, as the data already added "
    "{expected}. Got {received}."
)
_KIND_CHANGED = (
    "'{name}' must be given for every batch or for none: the data already added {before}, "
    "this batch {now}."
)
_MODE_CHANGED = (
    "'y_score' must have the same kind of columns in every batch: the data already added "
    "holds {held} calibration statistics, this batch gives {mode} (shape {shape})."
)
_NO_ROWS = "'{name}' holds no rows yet: call update() with a batch first."
_NOT_STATS = "'{name}' must be a GroupedStats. Got {received} instead."
_SETTING_MISMATCH = "'other' must have the same {what} as this GroupedStats ({left!r}). Got {right!r}."

_CHUNK = 1 << 16
"""Rows per pass of the counting loop (at most): temporaries stay small (memory) and in cache
(speed). Smaller batches use chunks of about a sixteenth of their rows (at least 8,192)."""
_MIN_CHUNK = 1 << 13
_FIXED_SCALE = 2.0**53  # confidences in [0, 1] are summed as integers in units of 2**-53
_LIMB = 2.0**27  # ... split in two limbs so every partial sum stays exact in float64
_LOG_LOSS_BITS = 47  # per-row log loss in [0, 36.05] (p clipped at 2**-52): units of 2**-47
_BRIER_BITS = 51  # per-row Brier score in [0, 2]: units of 2**-51
_NEEDS_RANKS = (
    "{what} needs the per-cell score histograms: build the GroupedStats with keep_ranks=True "
    "(evaluate_groups does so itself when it needs them)."
)
_NEEDS_LOSSES = (
    "['log_loss', 'brier'] need the per-cell loss sums: build the GroupedStats with keep_losses=True "
    "(the default; evaluate_groups does so itself when it needs them)."
)


# ---------------------------------------------------------------------------------------------
# Mergeable statistics of a grouped table
# ---------------------------------------------------------------------------------------------


def _align_classes(sums: dict[str, np.ndarray], old: tuple[Any, ...], new: tuple[Any, ...]
                   ) -> dict[str, np.ndarray]:
    """Per-cell confusion matrices over classes ``old`` re-indexed to the classes ``new`` (a
    superset, sorted); other sums unchanged."""
    at = np.array([new.index(c) for c in old], dtype=np.int64)
    out = dict(sums)
    for key in ("class_rows", "class_weight", "class_weight_sq"):
        if key in sums:
            grown = np.zeros((sums[key].shape[0], len(new), len(new)), dtype=sums[key].dtype)
            grown[:, at[:, None], at[None, :]] = sums[key]
            out[key] = grown
    return out


def _equal_to(values: np.ndarray, label: Any) -> np.ndarray:
    out = np.asarray(values == label)
    return out if out.shape == values.shape else np.full(values.shape, bool(out))


def _to_fixed(conf: np.ndarray, bits: int = 53) -> tuple[np.ndarray, np.ndarray]:
    """Values below ``2**(53 - bits)`` as two integer-valued float limbs ``hi * 2**27 + lo``
    (units ``2**-bits``; confidences in [0, 1] with the default 53).

    Each limb is below 2**27, so bincount sums of up to 2**26 rows stay exact in float64.
    """
    q = np.rint(np.ldexp(conf, bits))
    hi = np.floor(q / _LIMB)
    return hi, q - hi * _LIMB


def _from_fixed(fixed: np.ndarray, bits: int = 53) -> np.ndarray:
    """Float sums from the integer limbs (last axis: hi, lo); one rounding, deterministic."""
    return (np.ldexp(fixed[..., 0].astype(np.float64), 27 - bits)
            + np.ldexp(fixed[..., 1].astype(np.float64), -bits))


class GroupedStats:
    """Mergeable statistics of a grouped table: sums per finest cell of the sensitive features.

    A *cell* is one combination of the values of every sensitive feature (``("F", "Black")``).
    For each cell the object holds fixed-size sums -- confusion counts when predicted labels
    are given; reliability-diagram sums per calibration bin and log-loss and Brier sums when
    scores are given; and row counts -- so its size grows with the number of cells, never with
    the number of rows. Every group of every feature and intersection is a union of cells, so
    the whole table (:meth:`compute`) follows from these sums.

    With ``keep_ranks=True`` it also holds, per cell, the sparse histogram of the scores by
    class (:class:`~assay.metrics.scores.RankStats`): what ROC AUC needs (exactly), and what
    the bootstrap of ``roc_auc``, ``log_loss`` and ``brier`` resamples. That part grows with
    the number of distinct scores (at most the number of rows; round the scores to bound it).

    * :meth:`update` adds a batch of rows (in place). Cells are discovered on the fly: a batch
      may lack some groups, a later batch may bring new ones.
    * :meth:`merge` (also ``a + b``) returns the statistics of both objects' rows, aligned on
      the union of their cells (kept in sorted order, so the result never depends on which
      part came first).

    Unweighted statistics are integers (see the module notes on what "identical" means), so
    any split of the rows into batches or partitions, merged in any order, gives exactly the
    statistics -- and the table -- of the concatenated rows. Objects pickle, so they travel
    between processes (:mod:`assay.metrics.distributed`).

    Parameters
    ----------
    pos_label : scalar, default 1
        The positive label.
    n_bins : int, default 15
        Equal-width calibration bins on [0, 1] (for ``ece``).
    keep_ranks : bool, default False
        Also hold the per-cell score histograms (needed by ``roc_auc``, and by bootstrap
        intervals of ``log_loss`` and ``brier``).
    keep_losses : bool, default True
        Also sum the log loss and Brier score per cell when scores are given (for ``log_loss``
        and ``brier``). ``evaluate_groups`` turns it off when no metric needs them: calibration
        alone is then about twice as fast (the losses read every probability of every row).
    multiclass : bool, default False
        Count a full confusion matrix per cell (any number of classes, discovered on the fly
        and kept sorted) instead of the binary counts of ``pos_label``: what label metrics
        with ``average="ovr"`` or ``"macro"`` need.
    regression : bool, default False
        Read ``y_true`` and ``y_pred`` as numbers ((n,) or (n, d)) and keep the sums of the
        regression metrics (:class:`~assay.metrics.regression.RegressionStats`; optional
        ``y_interval`` for interval coverage and width) instead of confusion counts.

    Attributes
    ----------
    features : tuple of str or None
        The sensitive features (None before the first update).
    cells : tuple of tuple of str
        The cells seen so far, sorted; each is one value (as a string) per feature.
    has_labels, has_scores, weighted : bool or None
        Whether batches carry ``y_pred``, ``y_score``, ``sample_weight`` (fixed by the first
        update; every batch must agree).

    Examples
    --------
    >>> stats = GroupedStats()
    >>> for batch in batches:                                               # doctest: +SKIP
    ...     stats.update(batch.y, batch.pred, sensitive_features=batch[["sex", "race"]])
    >>> table = stats.compute(["accuracy", "tpr"], n_boot=200, random_state=0)  # doctest: +SKIP
    """

    def __init__(self, *, pos_label: Any = 1, n_bins: int = 15, keep_ranks: bool = False,
                 multiclass: bool = False, keep_losses: bool = True, regression: bool = False) -> None:
        check_scalar(n_bins, "n_bins", owner="GroupedStats", kind=(int, np.integer), low=1)
        check_bool(keep_ranks, "keep_ranks", owner="GroupedStats")
        check_bool(keep_losses, "keep_losses", owner="GroupedStats")
        self.keep_losses = bool(keep_losses)
        check_bool(multiclass, "multiclass", owner="GroupedStats")
        check_bool(regression, "regression", owner="GroupedStats")
        self.regression = bool(regression)
        self.n_outputs: int | None = None  # regression: outputs of y (fixed by the first update)
        self.has_interval: bool | None = None  # regression: whether y_interval is given
        self.multiclass = bool(multiclass)
        self.classes: tuple[Any, ...] = ()  # multiclass: the labels seen, sorted
        self.pos_label = _plain(pos_label)
        self.n_bins = int(n_bins)
        self.keep_ranks = bool(keep_ranks)
        self.n_score_columns: int | None = None  # columns of y_score (1 for a 1-D y_score)
        self._ranks = _TableStack()
        self.features: tuple[str, ...] | None = None
        self.cells: tuple[tuple[str, ...], ...] = ()
        self.has_labels: bool | None = None
        self.has_scores: bool | None = None
        self.weighted: bool | None = None
        self.mode: str | None = None
        self.labels_seen: tuple[Any, ...] = ()
        self.value_names: tuple[str, ...] | None = None  # keys of ``values`` (fixed by the first update)
        self.value_binary: dict[str, bool] = {}  # whether every value seen is 0 or 1
        self._sums: dict[str, np.ndarray] = {}

    # -- reading ------------------------------------------------------------------------------

    @property
    def n_cells(self) -> int:
        """Number of cells seen."""
        return len(self.cells)

    @property
    def n(self) -> np.ndarray:
        """Unweighted rows per cell, int64 of shape (n_cells,)."""
        return self._sums["n"].copy() if self._sums else np.zeros(0, dtype=np.int64)

    @property
    def n_rows(self) -> int:
        """Total number of rows added."""
        return int(self._sums["n"].sum()) if self._sums else 0

    @property
    def confusion(self) -> ConfusionStats:
        """Confusion counts per cell (labels: the cells' tuples)."""
        self._require_rows("stats")
        if not self.has_labels:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_pred", metrics="['confusion']"))
        if self.multiclass:
            matrix = MulticlassConfusionStats(self.cells, classes=self.classes)
            matrix.matrix = self._sums["class_weight" if self.weighted else "class_rows"].astype(np.float64)
            matrix.n = self._sums["n"].copy()
            return matrix  # type: ignore[return-value]
        counts = self._sums["confusion_weight" if self.weighted else "confusion_rows"].astype(np.float64)
        stats = ConfusionStats(self.cells, pos_label=self.pos_label)
        stats.tn, stats.fp, stats.fn, stats.tp = (np.ascontiguousarray(counts[:, k]) for k in range(4))
        stats.n = self._sums["n"].copy()
        return stats

    @property
    def calibration(self) -> CalibrationStats:
        """Reliability-diagram sums per cell and bin (labels: the cells' tuples)."""
        self._require_rows("stats")
        if not self.has_scores:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics="['ece']"))
        rows = self._sums["bin_rows"]
        weight = self._sums["bin_weight"] if self.weighted else rows.astype(np.float64)
        stats = CalibrationStats(self.cells, n_bins=self.n_bins, pos_label=self.pos_label)
        stats.weight = weight.sum(axis=-1)
        stats.correct_sum = np.ascontiguousarray(weight[..., 1])
        stats.conf_sum = self._bin_conf().sum(axis=-1) if self.weighted else _from_fixed(
            self._sums["bin_conf_fixed"].sum(axis=-2)
        )
        stats.n = rows.sum(axis=-1)
        stats.mode = self.mode
        return stats

    @property
    def scores(self) -> ScoreStats:
        """Log-loss and Brier sums per cell (labels: the cells' tuples)."""
        self._require_rows("stats")
        if not self.has_scores:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics="['log_loss', 'brier']"))
        if not self.keep_losses:
            raise AssayInputError(_NEEDS_LOSSES)
        stats = ScoreStats(self.cells, pos_label=self.pos_label)
        if self.weighted:
            stats.weight = self._sums["score_weight"].copy()
            stats.log_loss_sum = self._sums["log_loss_sum"].copy()
            stats.brier_sum = self._sums["brier_sum"].copy()
        else:
            stats.weight = self._sums["n"].astype(np.float64)
            stats.log_loss_sum = _from_fixed(self._sums["log_loss_fixed"], _LOG_LOSS_BITS)
            stats.brier_sum = _from_fixed(self._sums["brier_fixed"], _BRIER_BITS)
        stats.n = self._sums["n"].copy()
        return stats

    @property
    def ranks(self) -> RankStats:
        """The score histograms per cell (labels: the cells' tuples); needs ``keep_ranks``."""
        self._require_rows("stats")
        if not self.has_scores:
            raise AssayInputError(_NEEDS_INPUT.format(name="y_score", metrics="['roc_auc']"))
        if not self.keep_ranks:
            raise AssayInputError(_NEEDS_RANKS.format(what="'roc_auc'"))
        width = self.n_score_columns
        n_classes = 2 if width == 1 else width
        return RankStats._from_table(self.cells, self.pos_label, n_classes, self._ranks.table())

    @property
    def residuals(self) -> RegressionStats:
        """Regression sums per cell (labels: the cells' tuples); needs ``regression=True``."""
        self._require_rows("stats")
        if not self.regression:
            raise AssayInputError(
                "The regression metrics need a GroupedStats built with regression=True (evaluate_groups "
                "does so itself for regression metrics)."
            )
        out = RegressionStats(self.cells or 1, n_outputs=self.n_outputs or 1, has_interval=bool(self.has_interval))
        out.n = self._sums["n"].copy()
        out.values, out.sq, out.y = (self._sums[k].copy() for k in ("reg_values", "reg_sq", "reg_y"))
        return out

    def _bin_conf(self) -> np.ndarray:
        """Confidence sums per cell, bin and outcome, float (C, n_bins, 2)."""
        if self.weighted:
            return self._sums["bin_conf"]
        return _from_fixed(self._sums["bin_conf_fixed"])

    def _require_rows(self, name: str) -> None:
        if self.features is None:
            raise AssayInputError(_NO_ROWS.format(name=name))

    # -- adding rows --------------------------------------------------------------------------

    def update(
        self,
        y_true: Any = None,
        y_pred: Any = None,
        *,
        y_score: Any = None,
        sensitive_features: Any,
        sample_weight: Any = None,
        values: Mapping[str, Any] | None = None,
        y_interval: Any = None,
    ) -> GroupedStats:
        """Add a batch of rows (in place) and return ``self``.

        Parameters
        ----------
        y_true : array-like of shape (n,)
            True labels (binary; class indices ``0..k-1`` for top-label ``y_score``).
        y_pred : array-like of shape (n,), optional
            Predicted labels: collects confusion counts (label metrics). Binary, or any
            number of classes with ``multiclass=True``.
        y_score : array-like of shape (n,) or (n, k), optional
            Probabilities: collects reliability sums (``ece``); read as in
            :class:`~assay.metrics.CalibrationStats`.
        sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
            The same features, in the same order, in every batch. A batch may hold a single
            group of a feature (the check for two groups happens in :meth:`compute`).
        sample_weight : array-like of shape (n,), optional
            Non-negative row weights; given for every batch or for none.
        values : dict of str -> array-like of shape (n,), optional
            Per-example numbers (finite) whose per-cell moments are kept, for the
            ``"<statistic>:<name>"`` metrics (:mod:`assay.metrics.values`); the same keys in
            every batch. ``y_true`` may then be omitted (with no ``y_pred`` / ``y_score``).
        y_interval : array-like of shape (n, 2) or (n, d, 2), optional
            With ``regression=True``: each row's prediction interval (lower, upper), for
            ``interval_coverage`` and ``interval_width``; given for every batch or for none.

        With ``regression=True``, ``y_true`` and ``y_pred`` are numbers of shape (n,) or (n, d)
        (the same d in every batch) and ``y_score`` is not read.

        The whole batch is checked before anything is added: a batch that raises leaves the
        statistics unchanged.
        """
        if self.regression:
            return self._update_regression(y_true, y_pred, y_interval, sensitive_features, sample_weight, values)
        if y_interval is not None:
            raise AssayInputError("'y_interval' is read only for regression (GroupedStats(regression=True)); "
                                  "got an interval for classification data.")
        if y_true is None and (values is None or y_pred is not None or y_score is not None):
            raise AssayInputError(_NO_Y_TRUE)
        if y_true is not None:
            y_true = check_labels_1d(y_true, name="y_true")
        if y_pred is not None:
            y_pred = check_labels_1d(y_pred, name="y_pred")
        top = None if y_score is None else checked_top_label(y_score)  # one pass, or None: check_prob
        if y_score is not None:
            y_score = check_prob(y_score, name="y_score") if top is None else top[0]
        w = check_sample_weight(sample_weight)
        vals = None if values is None else check_values(values)
        first = None if vals is None else next(iter(vals.values()))
        n = check_consistent_length(y_true=y_true, y_pred=y_pred, y_score=y_score, sample_weight=w, values=first)
        names = None if vals is None else tuple(vals)
        if self.features is not None and names != self.value_names:
            raise AssayInputError(_KIND_CHANGED.format(
                name="values", before=f"had keys {self.value_names}", now=f"has keys {names}"
            ))
        top_label = y_score is not None and y_score.ndim == 2 and y_score.shape[1] > 2
        mode = None if y_score is None else ("top_label" if top_label else "binary")
        self._check_kinds(y_pred is not None, y_score is not None, w is not None, mode,
                          getattr(y_score, "shape", None))
        width = None if y_score is None else (y_score.shape[1] if top_label else 1)
        if self.keep_ranks and None not in (width, self.n_score_columns) and width != self.n_score_columns:
            raise AssayInputError(_MODE_CHANGED.format(
                held=f"{self.n_score_columns}-class", mode=f"{width} classes", shape=y_score.shape
            ))
        seen = self.labels_seen
        classes, class_codes = self.classes, None
        if y_pred is not None and self.multiclass:
            both = pd.unique(np.concatenate([np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)]))
            classes = sorted_classes([*self.classes, *both])
            lookup = MulticlassConfusionStats(1, classes=classes)
            class_codes = (lookup.class_index(y_true, "y_true"), lookup.class_index(y_pred, "y_pred"))
        elif y_pred is not None:
            seen = tuple(check_binary_labels(y_true, y_pred, self.pos_label, seen=seen))
        if top_label:
            y_true = check_class_indices(y_true, y_score.shape[1], name="y_true", prob_name="y_score")
        elif y_score is not None and y_pred is None:
            seen = tuple(check_binary_labels(y_true, None, self.pos_label, seen=seen))
        reference = "y_true" if y_true is not None else f"values[{names[0]!r}]"
        features, columns = _feature_columns(sensitive_features, n, reference=reference)
        if self.features is not None and features != self.features:
            raise AssayInputError(_FEATURES_CHANGED.format(
                name="sensitive_features", expected=list(self.features), received=list(features)
            ))
        coded = [_encode_column(col, feature, "sensitive_features") for feature, col in zip(features, columns)]
        cells, sums, ranks = self._count(coded, n, y_true, y_pred, y_score, w, mode, class_codes, len(classes),
                                         vals, None if top is None else top[1:])
        if classes != self.classes:
            self._sums = _align_classes(self._sums, self.classes, classes)
            self.classes = classes
        self._add(features, cells, sums, [] if ranks is None else [ranks])
        self.has_labels, self.has_scores, self.weighted = y_pred is not None, y_score is not None, w is not None
        self.mode = self.mode or mode
        self.n_score_columns = self.n_score_columns or width
        self.labels_seen = seen
        self.value_names = names
        for key, x in (vals or {}).items():
            self.value_binary[key] = self.value_binary.get(key, True) and bool(np.all((x == 0) | (x == 1)))
        return self

    def _update_regression(self, y_true: Any, y_pred: Any, y_interval: Any, sensitive_features: Any,
                           sample_weight: Any, values: Any) -> GroupedStats:
        """:meth:`update` for ``regression=True``."""
        if y_true is None or y_pred is None:
            name = "y_true" if y_true is None else "y_pred"
            raise AssayInputError(f"'{name}' is required for the regression metrics. Got None instead.")
        t, p, interval = check_regression_inputs(y_true, y_pred, y_interval)
        w = check_sample_weight(sample_weight)
        vals = None if values is None else check_values(values)
        first = None if vals is None else next(iter(vals.values()))
        n = check_consistent_length(y_true=t, y_pred=p, y_interval=interval, sample_weight=w, values=first)
        names = None if vals is None else tuple(vals)
        if self.features is not None:
            if names != self.value_names:
                raise AssayInputError(_KIND_CHANGED.format(
                    name="values", before=f"had keys {self.value_names}", now=f"has keys {names}"))
            if t.shape[1] != self.n_outputs:
                raise AssayInputError(
                    f"'y_true' must have the same number of outputs in every batch: the data already added "
                    f"has {self.n_outputs}, this batch {t.shape[1]}."
                )
            for name, before, now in (("y_interval", self.has_interval, interval is not None),
                                      ("sample_weight", self.weighted, w is not None)):
                if before != now:
                    raise AssayInputError(_KIND_CHANGED.format(
                        name=name, before="had it" if before else "had None", now="has it" if now else "has None"))
        features, columns = _feature_columns(sensitive_features, n, reference="y_true")
        if self.features is not None and features != self.features:
            raise AssayInputError(_FEATURES_CHANGED.format(
                name="sensitive_features", expected=list(self.features), received=list(features)
            ))
        coded = [_encode_column(col, feature, "sensitive_features") for feature, col in zip(features, columns)]
        self._add(features, *cell_sums(_CellIndex(coded, n, 1), t, p, interval, w, vals))
        self.has_labels, self.has_scores, self.weighted = False, False, w is not None
        self.n_outputs, self.has_interval, self.value_names = t.shape[1], interval is not None, names
        for key, x in (vals or {}).items():
            self.value_binary[key] = self.value_binary.get(key, True) and bool(np.all((x == 0) | (x == 1)))
        return self

    def _check_kinds(self, has_labels: bool, has_scores: bool, weighted: bool, mode: str | None,
                     shape: Any = None) -> None:
        if self.features is None:
            return
        for name, before, now in (("y_pred", self.has_labels, has_labels),
                                  ("y_score", self.has_scores, has_scores),
                                  ("sample_weight", self.weighted, weighted)):
            if before != now:
                raise AssayInputError(_KIND_CHANGED.format(
                    name=name, before="had it" if before else "had None",
                    now="has it" if now else "has None",
                ))
        if mode is not None and self.mode is not None and mode != self.mode:
            raise AssayInputError(_MODE_CHANGED.format(held=self.mode, mode=mode, shape=shape))

    def _count(
        self,
        coded: list[_Coded],
        n: int,
        y_true: np.ndarray,
        y_pred: np.ndarray | None,
        y_score: np.ndarray | None,
        w: np.ndarray | None,
        mode: str | None,
        class_codes: tuple[np.ndarray, np.ndarray] | None = None,
        n_classes: int = 0,
        value_columns: Mapping[str, np.ndarray] | None = None,
        top: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[list[tuple[str, ...]], dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        """Sums of one batch per cell present in it: one pass over the rows, in chunks; and,
        with ``keep_ranks``, the batch's score histogram (groups: the cells present)."""
        n_bins = self.n_bins
        pairs = n_classes * n_classes if class_codes is not None else 4
        slots = (pairs if y_pred is not None else 0) + (2 * n_bins if y_score is not None else 0)
        index = _CellIndex(coded, n, max(slots, 1))
        size = index.n_slots
        acc: dict[str, np.ndarray] = {}
        if class_codes is not None:
            acc["class_rows"] = np.zeros(pairs * size, dtype=np.int64)
            if w is not None:
                acc["class_weight"] = np.zeros(pairs * size)
                acc["class_weight_sq"] = np.zeros(pairs * size)
        elif y_pred is not None:
            acc["confusion_rows"] = np.zeros(4 * size, dtype=np.int64)
            if w is not None:
                acc["confusion_weight"] = np.zeros(4 * size)
                acc["confusion_weight_sq"] = np.zeros(4 * size)
        if y_score is not None:
            bins = 2 * n_bins * size
            acc["bin_rows"] = np.zeros(bins, dtype=np.int64)
            if w is not None:
                acc["bin_weight"] = np.zeros(bins)
                acc["bin_weight_sq"] = np.zeros(bins)
                acc["bin_conf"] = np.zeros(bins)
            else:
                acc["conf_hi"] = np.zeros(bins, dtype=np.int64)
                acc["conf_lo"] = np.zeros(bins, dtype=np.int64)
            loss_keys = ("score_weight", "log_loss_sum", "brier_sum") if w is not None else (
                "ll_hi", "ll_lo", "br_hi", "br_lo")
            for key in loss_keys if self.keep_losses else ():
                acc[key] = np.zeros(size, dtype=np.float64 if w is not None else np.int64)
        if y_pred is None and y_score is None:
            acc["n"] = np.zeros(size, dtype=np.int64)
        for key in value_columns or {}:
            acc[f"value:{key}"] = np.zeros((size, len(MOMENTS)))
        pos = self.pos_label
        chunk = min(_CHUNK, max(_MIN_CHUNK, n // 16))
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            cell = index.slots(start, stop)
            ws = None if w is None else w[start:stop]
            ws_sq = None if w is None else ws * ws
            actual = _equal_to(y_true[start:stop], pos) if (y_pred is not None or mode == "binary") else None
            if class_codes is not None:
                key = cell * pairs
                key += class_codes[0][start:stop] * n_classes + class_codes[1][start:stop]
                acc["class_rows"] += np.bincount(key, minlength=pairs * size)
                if ws is not None:
                    acc["class_weight"] += np.bincount(key, weights=ws, minlength=pairs * size)
                    acc["class_weight_sq"] += np.bincount(key, weights=ws_sq, minlength=pairs * size)
            elif y_pred is not None:
                key = cell * 4
                outcome = actual.view(np.uint8) << 1
                outcome |= _equal_to(y_pred[start:stop], pos).view(np.uint8)
                key += outcome
                acc["confusion_rows"] += np.bincount(key, minlength=4 * size)
                if ws is not None:
                    acc["confusion_weight"] += np.bincount(key, weights=ws, minlength=4 * size)
                    acc["confusion_weight_sq"] += np.bincount(key, weights=ws_sq, minlength=4 * size)
            if y_score is not None:
                p = y_score[start:stop]
                if mode == "binary":
                    conf = p[:, 1] if p.ndim == 2 else p
                    correct = actual
                else:
                    predicted, conf = (predicted_and_confidence(p) if top is None
                                       else (top[0][start:stop], top[1][start:stop]))
                    correct = predicted == y_true[start:stop]
                key = cell * (2 * n_bins)
                key += 2 * uniform_bins(conf, n_bins)
                key += correct
                acc["bin_rows"] += np.bincount(key, minlength=bins)
                if ws is not None:
                    acc["bin_weight"] += np.bincount(key, weights=ws, minlength=bins)
                    acc["bin_weight_sq"] += np.bincount(key, weights=ws_sq, minlength=bins)
                    acc["bin_conf"] += np.bincount(key, weights=conf * ws, minlength=bins)
                else:
                    hi, lo = _to_fixed(conf)
                    acc["conf_hi"] += np.bincount(key, weights=hi, minlength=bins).astype(np.int64)
                    acc["conf_lo"] += np.bincount(key, weights=lo, minlength=bins).astype(np.int64)
                if self.keep_losses:
                    row_ll, row_br = (row_losses(actual, conf.reshape(-1, 1)) if mode == "binary"
                                      else row_losses(y_true[start:stop], p))
                if self.keep_losses and ws is not None:
                    acc["score_weight"] += np.bincount(cell, weights=ws, minlength=size)
                    acc["log_loss_sum"] += np.bincount(cell, weights=row_ll * ws, minlength=size)
                    acc["brier_sum"] += np.bincount(cell, weights=row_br * ws, minlength=size)
                elif self.keep_losses:
                    for name, values, bits in (("ll", row_ll, _LOG_LOSS_BITS), ("br", row_br, _BRIER_BITS)):
                        hi, lo = _to_fixed(values, bits)
                        acc[f"{name}_hi"] += np.bincount(cell, weights=hi, minlength=size).astype(np.int64)
                        acc[f"{name}_lo"] += np.bincount(cell, weights=lo, minlength=size).astype(np.int64)
            if y_pred is None and y_score is None:
                acc["n"] += np.bincount(cell, minlength=size)
            for key, x in (value_columns or {}).items():
                acc[f"value:{key}"] += value_sums(x[start:stop], cell, ws, size)

        sums: dict[str, np.ndarray] = {}
        if class_codes is not None:
            for key in ("class_rows", "class_weight", "class_weight_sq"):
                if key in acc:
                    sums[key] = acc[key].reshape(size, n_classes, n_classes)
            rows = sums["class_rows"].sum(axis=(1, 2))
        elif y_pred is not None:
            sums["confusion_rows"] = acc["confusion_rows"].reshape(size, 4)
            rows = sums["confusion_rows"].sum(axis=1)
            if w is not None:
                sums["confusion_weight"] = acc["confusion_weight"].reshape(size, 4)
                sums["confusion_weight_sq"] = acc["confusion_weight_sq"].reshape(size, 4)
        if y_score is not None:
            shape = (size, n_bins, 2)
            sums["bin_rows"] = acc["bin_rows"].reshape(shape)
            if y_pred is None:
                rows = sums["bin_rows"].reshape(size, -1).sum(axis=1)
            if w is not None:
                sums["bin_weight"] = acc["bin_weight"].reshape(shape)
                sums["bin_weight_sq"] = acc["bin_weight_sq"].reshape(shape)
                sums["bin_conf"] = acc["bin_conf"].reshape(shape)
            else:
                sums["bin_conf_fixed"] = np.stack([acc["conf_hi"], acc["conf_lo"]], axis=-1).reshape(*shape, 2)
            if self.keep_losses and w is not None:
                for key in ("score_weight", "log_loss_sum", "brier_sum"):
                    sums[key] = acc[key]
            elif self.keep_losses:
                sums["log_loss_fixed"] = np.stack([acc["ll_hi"], acc["ll_lo"]], axis=-1)
                sums["brier_fixed"] = np.stack([acc["br_hi"], acc["br_lo"]], axis=-1)
        if y_pred is None and y_score is None:
            rows = acc["n"]
        for key in value_columns or {}:
            sums[f"value:{key}"] = acc[f"value:{key}"]
        present = np.flatnonzero(rows)
        out = {"n": rows[present]}
        out.update({key: value[present] for key, value in sums.items()})
        ranks = None
        if self.keep_ranks and y_score is not None:
            if mode == "binary":
                label = _equal_to(y_true, pos).astype(np.int64)
                score = (y_score[:, 1] if y_score.ndim == 2 else y_score).reshape(-1, 1)
            else:
                label, score = y_true, y_score
            ranks = _table_of_rows(index.slots(0, n), label, score, w)
            lookup = np.full(size, -1, dtype=np.int64)
            lookup[present] = np.arange(len(present))
            ranks["group"] = lookup[ranks["group"]]  # increasing on the cells present: still sorted
        return index.labels(present), out, ranks

    def _add(self, features: tuple[str, ...], cells: Sequence[tuple[str, ...]],
             sums: dict[str, np.ndarray], ranks: Sequence[dict[str, np.ndarray]] = ()) -> None:
        """Add per-cell sums (cells sorted and distinct) into ``self``, aligning the cells;
        ``ranks`` are canonical score histograms whose groups index ``cells``."""
        if self.features is None:
            self.features = features
            self.cells = tuple(cells)
            self._sums = {key: value.copy() for key, value in sums.items()}
            for part in ranks:
                self._ranks.push(part)
            return
        index = {cell: i for i, cell in enumerate(self.cells)}
        new = [cell for cell in cells if cell not in index]
        if new:
            union = tuple(sorted(set(self.cells).union(new)))
            where = {cell: i for i, cell in enumerate(union)}
            old = np.fromiter((where[c] for c in self.cells), dtype=np.int64, count=len(self.cells))
            for key, value in self._sums.items():
                grown = np.zeros((len(union), *value.shape[1:]), dtype=value.dtype)
                grown[old] = value
                self._sums[key] = grown
            self._ranks.remap(old)
            self.cells, index = union, where
        at = np.fromiter((index[c] for c in cells), dtype=np.int64, count=len(cells))
        for key, value in sums.items():
            if key == "reg_y":  # central moments: shifted to the merged mean, then added
                both = np.concatenate([self._sums[key][at], value])
                self._sums[key][at] = combine_central(both, np.tile(np.arange(len(at)), 2), len(at))
            else:
                self._sums[key][at] += value
        for part in ranks:
            self._ranks.push({**part, "group": at[part["group"]]})

    # -- combining ----------------------------------------------------------------------------

    def merge(self, other: GroupedStats) -> GroupedStats:
        """The statistics of both objects' rows, as a **new** object (both are left unchanged).

        Cells are aligned on their union (sorted); settings (``pos_label``, ``n_bins``), the
        features and the kinds of input (``y_pred``, ``y_score``, ``sample_weight``) must agree.
        An object with no rows yet merges as zero.
        """
        if not isinstance(other, GroupedStats):
            raise AssayInputError(_NOT_STATS.format(name="other", received=describe(other)))
        for what in ("pos_label", "n_bins", "keep_ranks", "multiclass", "keep_losses", "regression"):
            left, right = getattr(self, what), getattr(other, what)
            if left != right:
                raise AssayInputError(_SETTING_MISMATCH.format(what=what, left=left, right=right))
        if other.features is None:
            return self.copy()
        if self.features is None:
            return other.copy()
        if other.features != self.features:
            raise AssayInputError(_FEATURES_CHANGED.format(
                name="other", expected=list(self.features), received=list(other.features)
            ))
        if (self.has_labels, self.has_scores, self.weighted) != (other.has_labels, other.has_scores, other.weighted):
            raise AssayInputError(_SETTING_MISMATCH.format(
                what="inputs (y_pred, y_score, sample_weight given)",
                left=(self.has_labels, self.has_scores, self.weighted),
                right=(other.has_labels, other.has_scores, other.weighted),
            ))
        if self.regression and (self.n_outputs, self.has_interval) != (other.n_outputs, other.has_interval):
            raise AssayInputError(_SETTING_MISMATCH.format(
                what="regression inputs (outputs, y_interval given)", left=(self.n_outputs, self.has_interval),
                right=(other.n_outputs, other.has_interval)))
        if self.value_names != other.value_names:
            raise AssayInputError(_SETTING_MISMATCH.format(what="values (keys)", left=self.value_names,
                                                           right=other.value_names))
        if self.mode is not None and other.mode is not None and self.mode != other.mode:
            raise AssayInputError(_SETTING_MISMATCH.format(what="calibration mode", left=self.mode, right=other.mode))
        if self.keep_ranks and None not in (self.n_score_columns, other.n_score_columns) and (
                self.n_score_columns != other.n_score_columns):
            raise AssayInputError(_SETTING_MISMATCH.format(
                what="number of score columns", left=self.n_score_columns, right=other.n_score_columns))
        try:
            seen = check_binary_labels(np.asarray(list(other.labels_seen), dtype=object), None,
                                       self.pos_label, seen=self.labels_seen) if other.labels_seen else self.labels_seen
        except AssayInputError as exc:
            raise AssayInputError(f"'other' holds labels that do not fit this GroupedStats: {exc}") from None
        out = self.copy()
        other_sums = other._sums
        if self.multiclass and other.classes != self.classes:
            classes = sorted_classes([*self.classes, *other.classes])
            out._sums = _align_classes(out._sums, self.classes, classes)
            other_sums = _align_classes(other._sums, other.classes, classes)
            out.classes = classes
        out._add(other.features, other.cells, other_sums, other._ranks.parts)
        out.labels_seen = tuple(seen)
        out.n_score_columns = self.n_score_columns or other.n_score_columns
        out.value_binary = {k: v and other.value_binary.get(k, True) for k, v in self.value_binary.items()}
        return out

    __add__ = merge

    def copy(self) -> GroupedStats:
        """An independent copy."""
        out = GroupedStats(pos_label=self.pos_label, n_bins=self.n_bins, keep_ranks=self.keep_ranks,
                           multiclass=self.multiclass, keep_losses=self.keep_losses, regression=self.regression)
        for name in ("features", "cells", "has_labels", "has_scores", "weighted", "mode", "labels_seen",
                     "n_score_columns", "classes", "value_names", "n_outputs", "has_interval"):
            setattr(out, name, getattr(self, name))
        out._sums = {key: value.copy() for key, value in self._sums.items()}
        out.value_binary = dict(self.value_binary)
        out._ranks = self._ranks.copy()
        return out

    def __eq__(self, other: object) -> bool:
        """Exact equality of settings, features, cells and every sum."""
        if not isinstance(other, GroupedStats):
            return NotImplemented
        same = all(getattr(self, a) == getattr(other, a) for a in (
            "pos_label", "n_bins", "features", "cells", "has_labels", "has_scores", "weighted", "mode",
            "keep_ranks", "n_score_columns", "multiclass", "classes", "value_names", "keep_losses", "regression",
            "n_outputs", "has_interval",
        ))
        return same and self._sums.keys() == other._sums.keys() and all(
            np.array_equal(value, other._sums[key]) for key, value in self._sums.items()
        ) and (not self.keep_ranks or _same_table(self._ranks.table(), other._ranks.table()))

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        features = None if self.features is None else list(self.features)
        return (f"GroupedStats(features={features!r}, n_cells={self.n_cells}, n_rows={self.n_rows}, "
                f"labels={self.has_labels}, scores={self.has_scores}, weighted={self.weighted})")

    # -- the table ----------------------------------------------------------------------------

    def compute(
        self,
        metrics: str | Sequence[str] = DEFAULT_METRICS,
        *,
        intersections: bool = True,
        min_group_size: int = 30,
        n_boot: int = 0,
        confidence_level: float = 0.95,
        random_state: Any = None,
        average: str = "binary",
        _draws: dict | None = None,
        ci_level: Any = NOT_GIVEN,
    ) -> GroupedMetrics:
        """The grouped table of these statistics: see :meth:`GroupedMetrics.from_stats` (``ci_level``:
        deprecated alias of ``confidence_level``)."""
        from .grouped_table import GroupedMetrics

        return GroupedMetrics.from_stats(
            self, metrics, intersections=intersections, min_group_size=min_group_size,
            n_boot=n_boot, confidence_level=confidence_level, random_state=random_state, average=average,
            _draws=_draws, ci_level=ci_level,
        )

    def _resample_inputs(self) -> dict[str, Any]:
        """The per-cell arrays :func:`assay.metrics.bootstrap.metric_resamples` draws from."""
        out: dict[str, Any] = {"pos_label": self.pos_label}
        if self.has_labels and self.multiclass:
            k2 = len(self.classes) ** 2
            for key, name in (("class_rows", "confusion_rows"), ("class_weight", "confusion_weight"),
                              ("class_weight_sq", "confusion_weight_sq")):
                out[name] = self._sums[key].reshape(self.n_cells, k2) if key in self._sums else None
            out["classes"] = self.classes
        elif self.has_labels:
            out["confusion_rows"] = self._sums["confusion_rows"]
            out["confusion_weight"] = self._sums.get("confusion_weight")
            out["confusion_weight_sq"] = self._sums.get("confusion_weight_sq")
        if self.has_scores:
            out["bin_rows"] = self._sums["bin_rows"]
            out["bin_weight"] = self._sums.get("bin_weight")
            out["bin_weight_sq"] = self._sums.get("bin_weight_sq")
            out["bin_conf"] = self._bin_conf()
            if self.keep_ranks:
                out["ranks"] = self.ranks
                out["weighted"] = bool(self.weighted)
        return out

