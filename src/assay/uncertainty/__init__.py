"""Uncertainty: recalibration, conformal prediction, per-example uncertainty scores.

* :mod:`~assay.uncertainty.recalibration` -- calibrators that leave the model untouched
  (temperature, vector, matrix scaling, Platt, isotonic, histogram binning), pooled or per group.
* :mod:`~assay.uncertainty.conformal` -- split conformal prediction sets and intervals,
  marginal or group-conditional (Mondrian), and :func:`conformal_report`.
* :mod:`~assay.uncertainty.scores` -- per-example uncertainty scores (least confidence, margin,
  entropy) and uncertainty sampling (the ``k`` most uncertain rows) for active labelling.
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

# Per-example uncertainty scores (assay.uncertainty.scores)
from .scores import entropy, least_confidence, margin, uncertainty_sampling  # noqa: E402

__all__ += ["entropy", "least_confidence", "margin", "uncertainty_sampling"]

# Recalibration (assay.uncertainty.recalibration)
from .recalibration import (  # noqa: E402
    HistogramBinning,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    calibrator_state,
)

__all__ += ["HistogramBinning", "IsotonicCalibration", "MatrixScaling", "PlattScaling", "TemperatureScaling",
            "VectorScaling", "calibrator_state"]

# Risk-aware wrappers (assay.uncertainty.wrappers): bias, aleatoric and epistemic risk of torch models
from .wrappers import (  # noqa: E402
    DeepEnsemble,
    HistogramBias,
    MCDropout,
    MeanVariance,
    RepresentationResampler,
    RiskOutput,
    VAEEpistemic,
    fit_risk_model,
    predict_risk,
)

__all__ += ["DeepEnsemble", "HistogramBias", "MCDropout", "MeanVariance", "RepresentationResampler", "RiskOutput",
            "VAEEpistemic", "fit_risk_model", "predict_risk"]
