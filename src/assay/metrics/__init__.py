"""Metrics: the one home of metric code, overall and broken down by group and intersection.

Layers, each built on the one before:

* :mod:`~assay.metrics._stats` -- mergeable sufficient statistics (:class:`ConfusionStats`,
  :class:`CalibrationStats`, ``MulticlassConfusionStats``): fixed-size per-group sums, filled
  with ``np.bincount``; :mod:`~assay.metrics.scores` -- :class:`ScoreStats` (log-loss and
  Brier sums) and :class:`RankStats` (exact sparse score histograms, for ROC AUC).
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

Metrics (names of :data:`METRICS`, usable in ``evaluate_groups(metrics=...)``):

* from predicted labels (``y_pred``): ``accuracy``, ``error_rate``, ``balanced_accuracy``,
  ``selection_rate``, ``tpr``, ``fpr``, ``fnr``, ``tnr``, ``ppv``, ``npv``, ``fdr``, ``f1``,
  ``base_rate``, ``count``. Binary by default (``pos_label`` against the other label);
  multiclass with ``average="ovr"`` (accuracy, error and balanced accuracy multiclass, the
  others ``pos_label`` one-vs-rest) or ``average="macro"`` (mean over classes of the
  one-vs-rest values, as scikit-learn with ``zero_division=np.nan``).
* from scores (``y_score``): ``ece`` and ``mce`` (expected and maximum calibration error,
  equal-width bins; binary or top-label), ``roc_auc`` (exact, ties
  1/2; multiclass one-vs-rest macro), ``log_loss`` and ``brier`` (multiclass: sum over
  classes), all binary or multiclass, as scikit-learn 1.9.

Calibration of probabilities on arrays (:mod:`~assay.metrics.calibration`):
:func:`expected_calibration_error` (``strategy="uniform"|"quantile"``,
``kind="top_label"|"classwise"``, ``norm="l1"`` ECE, ``"l2"`` RMS, ``"max"`` MCE),
:func:`adaptive_calibration_error` (ACE) and :func:`reliability_table` (reliability-diagram
data, empty bins marked). ``calibration_error`` is a deprecated alias of
``expected_calibration_error``; the formula on statistics is :func:`binned_calibration_error`.
Equal-mass bins depend on each group's own rows (not mergeable): per group, apply the functions
to the group's rows; the grouped table has the equal-width ``ece`` and ``mce``.

Undefined values are NaN with an :class:`~assay.core.errors.UndefinedMetricWarning` naming the
metric and the group(s).
"""

from ._stats import CalibrationStats, ConfusionStats
from .classification import (
    METRICS,
    MetricSpec,
    accuracy_score,
    balanced_accuracy_score,
    base_rate_score,
    binned_calibration_error,
    brier_score,
    error_rate_score,
    f1_score,
    fdr_score,
    fnr_score,
    fpr_score,
    log_loss_score,
    npv_score,
    ppv_score,
    precision_score,
    recall_score,
    roc_auc_score,
    selection_rate_score,
    tnr_score,
    tpr_score,
)
from .distributed import evaluate_groups_dask, grouped_stats_dask
from .scores import RankStats, ScoreStats
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
    "RankStats",
    "ScoreStats",
    "accuracy_score",
    "balanced_accuracy_score",
    "base_rate_score",
    "binned_calibration_error",
    "brier_score",
    "error_rate_score",
    "evaluate_groups",
    "evaluate_groups_batches",
    "evaluate_groups_dask",
    "f1_score",
    "fdr_score",
    "fnr_score",
    "fpr_score",
    "grouped_stats_dask",
    "log_loss_score",
    "make_groups",
    "npv_score",
    "ppv_score",
    "precision_score",
    "recall_score",
    "relative_change",
    "roc_auc_score",
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

# Intervals of proportions (assay.metrics.intervals)
from .intervals import wilson_interval  # noqa: E402

__all__ += ["wilson_interval"]

# Calibration metrics on arrays (assay.metrics.calibration)
from .calibration import (  # noqa: E402
    adaptive_calibration_error, calibration_error, expected_calibration_error, reliability_table,
)

__all__ += ["adaptive_calibration_error", "calibration_error", "expected_calibration_error", "reliability_table"]

# Regression metrics (assay.metrics.regression): also names of evaluate_groups(metrics=...)
from .regression import REGRESSION_METRICS, RegressionStats  # noqa: E402

__all__ += ["REGRESSION_METRICS", "RegressionStats"]
