"""Metrics: the one home of metric code, overall and broken down by group and intersection.

Layers, each built on the one before:

* :mod:`~assay.metrics._stats` -- mergeable sufficient statistics (:class:`ConfusionStats`,
  :class:`CalibrationStats`): fixed-size per-group sums, filled with ``np.bincount``.
* :mod:`~assay.metrics.classification` -- the formulas, as functions of those statistics, the
  registry :data:`METRICS`, and plain array functions (``accuracy_score(y_true, y_pred)``).
* :mod:`~assay.metrics.grouped` -- :func:`make_groups`, the mergeable :class:`GroupedStats`
  (per finest cell of the sensitive features: ``update(batch)``, ``merge(other)``) and
  :func:`evaluate_groups` / :func:`evaluate_groups_batches`, which return a
  :class:`GroupedMetrics` table (overall, by group, by intersection, optional bootstrap
  intervals); :func:`relative_change` compares two tables (dense vs compressed).
* :mod:`~assay.metrics.bootstrap` -- percentile intervals resampled from the counts.
* :mod:`~assay.metrics.distributed` -- the same table from a Dask DataFrame
  (:func:`evaluate_groups_dask`; needs the ``dask`` extra, imported only when called).

Label metrics are binary-only for now; calibration (``ece``) also handles multiclass
(top-label).
"""

from ._stats import CalibrationStats, ConfusionStats
from .classification import (
    METRICS,
    MetricSpec,
    accuracy_score,
    balanced_accuracy_score,
    base_rate_score,
    calibration_error,
    error_rate_score,
    expected_calibration_error,
    f1_score,
    fdr_score,
    fnr_score,
    fpr_score,
    npv_score,
    ppv_score,
    precision_score,
    recall_score,
    selection_rate_score,
    tnr_score,
    tpr_score,
)
from .distributed import evaluate_groups_dask, grouped_stats_dask
from .grouped import (
    GroupedMetrics,
    GroupedStats,
    Grouping,
    Groups,
    evaluate_groups,
    evaluate_groups_batches,
    make_groups,
    relative_change,
)

__all__ = [
    "METRICS",
    "CalibrationStats",
    "ConfusionStats",
    "GroupedMetrics",
    "GroupedStats",
    "Grouping",
    "Groups",
    "MetricSpec",
    "accuracy_score",
    "balanced_accuracy_score",
    "base_rate_score",
    "calibration_error",
    "error_rate_score",
    "evaluate_groups",
    "evaluate_groups_batches",
    "evaluate_groups_dask",
    "expected_calibration_error",
    "f1_score",
    "fdr_score",
    "fnr_score",
    "fpr_score",
    "grouped_stats_dask",
    "make_groups",
    "npv_score",
    "ppv_score",
    "precision_score",
    "recall_score",
    "relative_change",
    "selection_rate_score",
    "tnr_score",
    "tpr_score",
]

# Threshold sweeps (assay.metrics.thresholds)
from .thresholds import (  # noqa: E402
    BestThreshold, ThresholdMetrics, ThresholdSelection, ThresholdSweep, best_threshold, select_threshold,
    threshold_sweep,
)

__all__ += ["BestThreshold", "ThresholdMetrics", "ThresholdSelection", "ThresholdSweep", "best_threshold",
            "select_threshold", "threshold_sweep"]
