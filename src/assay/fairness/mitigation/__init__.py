"""Fairness mitigations: estimators that close a gap, for groups and their intersections.

* :class:`Reweighing` (pre-processing, Kamiran & Calders 2012): per-row training weights
  ``P(group) P(label) / P(group, label)``.

Every mitigation takes ``sensitive_features=`` as a keyword; several columns mean their
intersection.
"""

from .preprocessing import Reweighing

__all__ = ["Reweighing"]
