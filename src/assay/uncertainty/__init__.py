"""Uncertainty: calibration of probabilities, conformal prediction, per-example uncertainty scores.

* :mod:`~assay.uncertainty.conformal` -- split conformal prediction sets and intervals,
  marginal or group-conditional (Mondrian), and :func:`conformal_report`.
"""

from .conformal import (
    ConformalClassifier,
    ConformalRegressor,
    ConformalReport,
    conformal_report,
    conformal_threshold,
    min_calibration_size,
)

__all__ = [
    "ConformalClassifier",
    "ConformalRegressor",
    "ConformalReport",
    "conformal_report",
    "conformal_threshold",
    "min_calibration_size",
]
