"""Explanations: local attributions with one call shape.

``Explainer(model).attribute(inputs, target=None, baselines=None, **method_kwargs)`` returns an
:class:`Attribution` for every method; gradient methods (:class:`Saliency`,
:class:`InputXGradient`, :class:`IntegratedGradients`) need a torch model.
"""

from ._base import Attribution, Explainer
from .gradient import InputXGradient, IntegratedGradients, Saliency

__all__ = ["Attribution", "Explainer", "InputXGradient", "IntegratedGradients", "Saliency"]
