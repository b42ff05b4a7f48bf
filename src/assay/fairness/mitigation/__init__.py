"""Fairness mitigations: estimators that close a gap, for groups and their intersections.

* :class:`Reweighing` (pre-processing, Kamiran & Calders 2012): per-row training weights
  ``P(group) P(label) / P(group, label)``.
* :class:`GroupResampler`, :class:`DisparateImpactRemover` (Feldman et al. 2015) and
  :class:`SensitiveFeatureRemover` (with the proxy scan) -- pre-processing.
* :class:`ExponentiatedGradient` (in-processing): Fairlearn's reductions, for intersections too;
  :class:`MinDiffLoss`: an MMD penalty for :func:`assay.models.fit_torch_classifier`
  (:class:`MinDiffClassifier`: the same as an estimator);
  :class:`AdversarialDebiasing` (Zhang et al. 2018), a plain PyTorch loop.
* :class:`GroupThresholds` (post-processing, Hardt, Price & Srebro 2016): group-specific
  thresholds on a model's scores with equal selection rates or true-positive rates;
  :class:`RejectOptionClassifier` (Kamiran, Karim & Zhang 2012): deprived groups labelled 1 and
  favoured groups 0 in a band around the threshold; :class:`CostSensitiveThreshold`: one threshold
  minimising a 2x2 cost matrix (Bayes-optimal or on validation scores).

:func:`compare_mitigations` fits them all on the same split and audits them on the same test rows.

Every mitigation takes ``sensitive_features=`` as a keyword; several columns mean their
intersection.
"""

from .adversarial import AdversarialDebiasing
from .compare import MitigationComparison, compare_mitigations
from .cost_sensitive import CostSensitiveThreshold
from .inprocessing import ExponentiatedGradient
from .mindiff import MinDiffClassifier, MinDiffLoss
from .postprocessing import GroupThresholds
from .preprocessing import DisparateImpactRemover, GroupResampler, Reweighing, SensitiveFeatureRemover
from .reject_option import RejectOptionClassifier

__all__ = ["AdversarialDebiasing", "CostSensitiveThreshold", "DisparateImpactRemover", "ExponentiatedGradient",
           "GroupResampler", "GroupThresholds", "MinDiffClassifier", "MinDiffLoss", "MitigationComparison",
           "RejectOptionClassifier", "Reweighing", "SensitiveFeatureRemover", "compare_mitigations"]
