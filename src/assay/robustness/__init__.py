"""Robustness per group: corruptions with severities, robustness curves (and attacks, smoothing).

Corruptions (``corruptions``): :class:`Corruption` objects called as ``corruption(X, severity,
random_state)``, registered by name in :data:`CORRUPTIONS`. Curves (``curves``):
:func:`robustness_curve` evaluates a model on every (corruption, severity) through the adapter
and the grouped table.
"""

from __future__ import annotations

__all__: list[str] = []

# --- corruptions and robustness curves (issue 16, items 1-2)
from .corruptions import (
    CORRUPTIONS,
    Corruption,
    get_corruption,
    image_corruptions,
    register_corruption,
    tabular_corruptions,
)
from .curves import RobustnessCurve, robustness_curve

__all__ += ["CORRUPTIONS", "Corruption", "RobustnessCurve", "get_corruption", "image_corruptions",
            "register_corruption", "robustness_curve", "tabular_corruptions"]
