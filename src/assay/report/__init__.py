"""Renderers: the JSON record, the self-contained HTML report, Markdown, and plots.

Computation modules never plot or write files; they return results, and this package turns
results into figures and documents. It imports nothing from :mod:`assay.audit` (the audit's
documents are assembled in :mod:`assay.audit.documents`), and the plots load matplotlib only
when first used (``from assay.report import plot_...``).
"""

from __future__ import annotations

import importlib
from typing import Any

from .html import Section, render_html
from .io import SCHEMA_VERSION, html_to_pdf, write_report
from .markdown import escape_markdown, markdown_block, markdown_table
from .tables import frame_from_record

_PLOTS = {
    "PALETTE": "_plotting",
    "figure_to_png": "_plotting",
    "small_group_patch": "_plotting",
    "plot_disparity": "plots_fairness",
    "plot_intersection_heatmap": "plots_fairness",
    "plot_metric_by_group": "plots_fairness",
    "plot_threshold_tradeoff": "plots_fairness",
    "plot_reliability_by_group": "plots_calibration",
    "plot_reliability_diagram": "plots_calibration",
    "plot_conformal_coverage": "plots_conformal",
    "plot_coverage_curve": "plots_ood",
    "plot_embedding_projection": "plots_ood",
    "plot_ood_roc": "plots_ood",
    "plot_ood_score_density": "plots_ood",
    "plot_projection": "plots_ood",
    "plot_risk_coverage": "plots_ood",
    "plot_robustness_curves": "plots_robustness",
    "plot_adversarial_examples": "plots_robustness_attacks",
    "plot_certified_accuracy": "plots_robustness_attacks",
    "plot_perturbation_heatmap": "plots_robustness_attacks",
    "plot_example_grid": "plots_risk",
    "plot_regression_bands": "plots_risk",
    "plot_risk_deciles": "plots_risk",
    "plot_control_chart": "plots_monitor",
    "plot_distribution_comparison": "plots_monitor",
    "plot_drift_over_time": "plots_monitor",
    "plot_attribution_overlay": "plots_explain",
    "plot_attribution_summary": "plots_explain",
    "plot_deletion_insertion": "plots_explain",
    "plot_group_importance": "plots_explain",
    "plot_importance": "plots_explain",
    "plot_randomization": "plots_explain",
    "plot_mitigation_pareto": "plots_mitigation",
    "plot_membership_roc": "plots_privacy",
    "plot_entanglement": "plots_visualization",
    "plot_feature_visualizations": "plots_visualization",
    "plot_prototypes": "plots_visualization",
}

__all__ = ["SCHEMA_VERSION", "Section", "escape_markdown", "frame_from_record", "html_to_pdf", "markdown_block",
           "markdown_table", "render_html", "write_report", *sorted(_PLOTS)]


def __getattr__(name: str) -> Any:
    if name in _PLOTS:
        value = getattr(importlib.import_module(f".{_PLOTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PLOTS))
