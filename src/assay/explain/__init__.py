"""Explanations: local attributions with one call shape.

``Explainer(model).attribute(inputs, target=None, baselines=None, **method_kwargs)`` returns an
:class:`Attribution` for every method; gradient methods (:class:`Saliency`,
:class:`InputXGradient`, :class:`IntegratedGradients`, and :class:`NoiseTunnel` over them:
SmoothGrad / VarGrad) need a torch model; :class:`Occlusion` runs on any wrapped model.
"""

from ._base import Attribution, Explainer
from .gradient import InputXGradient, IntegratedGradients, Saliency
from .noise import NoiseTunnel
from .perturbation import Occlusion

__all__ = ["Attribution", "Explainer", "InputXGradient", "IntegratedGradients", "NoiseTunnel", "Occlusion", "Saliency"]
