"""Risk-aware wrappers for any PyTorch model: representation bias, aleatoric and epistemic uncertainty.

``wrapper(x)`` returns a :class:`RiskOutput` (``y_hat`` and up to three risks; units in
:mod:`assay.uncertainty.wrappers._base`: aleatoric/epistemic are variances, bias is -log density).
Wrappers compose (``MCDropout(MeanVariance(model))`` gives aleatoric and epistemic), train through
``wrapper.loss(x, y, base_loss)`` in any loop or :func:`fit_risk_model`, and predict in batches
through the adapter with :func:`predict_risk`. The per-group analyses are in :mod:`.analysis`.
"""

from ._base import RiskOutput, RiskWrapper, fit_risk_model, predict_risk
from .analysis import risk_by_decile, risk_by_group, risk_correlation
from .density import HistogramBias, RepresentationResampler, histogram_log_density
from .heads import MeanVariance, VAEEpistemic
from .sampling import DeepEnsemble, MCDropout

__all__ = ["DeepEnsemble", "HistogramBias", "MCDropout", "MeanVariance", "RepresentationResampler", "RiskOutput",
           "RiskWrapper", "VAEEpistemic", "fit_risk_model", "histogram_log_density", "predict_risk",
           "risk_by_decile", "risk_by_group", "risk_correlation"]
