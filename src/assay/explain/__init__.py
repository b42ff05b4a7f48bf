"""Explanations: local attributions with one call shape.

``Explainer(model).attribute(inputs, target=None, baselines=None, **method_kwargs)`` returns an
:class:`Attribution` for every method; gradient methods (:class:`Saliency`,
:class:`InputXGradient`, :class:`IntegratedGradients`, and :class:`NoiseTunnel` over them:
SmoothGrad / VarGrad) need a torch model; :class:`Occlusion` runs on any wrapped model.
"""

from ._base import Attribution, Explainer
from .gradient import InputXGradient, IntegratedGradients, Saliency
from .layer import GradCAM
from .noise import GradientShap, NoiseTunnel
from .perturbation import Occlusion
from .shapley import LIME, KernelSHAP

__all__ = ["LIME", "Attribution", "Explainer", "GradCAM", "GradientShap", "InputXGradient", "IntegratedGradients",
           "KernelSHAP", "NoiseTunnel", "Occlusion", "Saliency"]
