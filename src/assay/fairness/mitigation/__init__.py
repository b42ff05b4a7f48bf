"""Fairness mitigations: estimators that close a gap, for groups and their intersections.

* :class:`Reweighing` (pre-processing, Kamiran & Calders 2012): per-row training weights
  ``P(group) P(label) / P(group, label)``.
* :class:`GroupThresholds` (post-processing, Hardt, Price & Srebro 2016): group-specific
  thresholds on a model's scores with equal selection rates or true-positive rates.

Every mitigation takes ``sensitive_features=`` as a keyword; several columns mean their
intersection.
"""

from .postprocessing import GroupThresholds
from .preprocessing import Reweighing

__all__ = ["GroupThresholds", "Reweighing"]
