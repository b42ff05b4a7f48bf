"""Uncertainty: recalibration, conformal prediction and per-example uncertainty scores.

Each part lives in its own module; this package re-exports their public names.
"""

# recalibration (issue 13 item 3)
from .recalibration import (
    HistogramBinning,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    calibrator_state,
)

__all__ = [
    # recalibration
    "HistogramBinning",
    "IsotonicCalibration",
    "MatrixScaling",
    "PlattScaling",
    "TemperatureScaling",
    "VectorScaling",
    "calibrator_state",
]
