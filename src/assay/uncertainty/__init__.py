"""Uncertainty: calibration of probabilities, conformal prediction, per-example uncertainty scores.

* :mod:`~assay.uncertainty.scores` -- per-example uncertainty scores (least confidence, margin,
  entropy) and uncertainty sampling (the ``k`` most uncertain rows) for active labelling.
"""

# Per-example uncertainty scores (assay.uncertainty.scores)
from .scores import entropy, least_confidence, margin, uncertainty_sampling

__all__ = ["entropy", "least_confidence", "margin", "uncertainty_sampling"]
