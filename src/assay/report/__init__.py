"""Renderers: the JSON record, the self-contained HTML report, and plots.

Computation modules never plot or write files; they return results, and this package turns
results into figures and documents.
"""

from .html import Section, render_html
from .io import SCHEMA_VERSION, write_report
from .plots import (
    figure_to_png,
    plot_disparity,
    plot_embedding_projection,
    plot_intersection_heatmap,
    plot_metric_by_group,
    plot_ood_roc,
    plot_ood_score_density,
    plot_projection,
    plot_reliability_diagram,
    plot_risk_coverage,
    plot_threshold_tradeoff,
)

__all__ = [
    "SCHEMA_VERSION",
    "Section",
    "figure_to_png",
    "plot_disparity",
    "plot_embedding_projection",
    "plot_intersection_heatmap",
    "plot_metric_by_group",
    "plot_ood_roc",
    "plot_ood_score_density",
    "plot_projection",
    "plot_reliability_diagram",
    "plot_risk_coverage",
    "plot_threshold_tradeoff",
    "render_html",
    "write_report",
]
