"""Every figure of :mod:`assay.report`, in one namespace (matplotlib, Agg backend).

The figures live by subject: :mod:`.plots_fairness` (per-group results and thresholds),
:mod:`.plots_calibration` and :mod:`.plots_ood`; :mod:`._plotting` holds what they share.
"""

from ._plotting import figure_to_png
from .plots_calibration import plot_reliability_diagram
from .plots_fairness import plot_disparity, plot_intersection_heatmap, plot_metric_by_group, plot_threshold_tradeoff
from .plots_ood import (plot_coverage_curve, plot_embedding_projection, plot_ood_roc, plot_ood_score_density,
                        plot_projection, plot_risk_coverage)

__all__ = ["figure_to_png", "plot_coverage_curve", "plot_disparity", "plot_embedding_projection",
           "plot_intersection_heatmap", "plot_metric_by_group", "plot_ood_roc", "plot_ood_score_density",
           "plot_projection", "plot_reliability_diagram", "plot_risk_coverage", "plot_threshold_tradeoff"]
