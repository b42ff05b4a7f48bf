"""Explanations: local attributions with one call shape.

``Explainer(model).attribute(inputs, target=None, baselines=None, **method_kwargs)`` returns an
:class:`Attribution` for every method; gradient methods (:class:`Saliency`,
:class:`InputXGradient`, :class:`IntegratedGradients`, and :class:`NoiseTunnel` over them:
SmoothGrad / VarGrad) need a torch model; :class:`Occlusion` runs on any wrapped model.

Counterfactuals (any tabular model, black-box): :class:`Counterfactuals` (``generate(X, n=3)``),
and the counterfactual fairness tests :func:`sensitive_flip_rate` and :func:`recourse_cost`.
"""

from ._base import Attribution, Explainer
from .gradient import InputXGradient, IntegratedGradients, Saliency
from .noise import NoiseTunnel
from .perturbation import Occlusion

# counterfactuals and counterfactual fairness (issue 20, item 4)
from .counterfactuals import CounterfactualResult, Counterfactuals
from .recourse import FlipResult, RecourseResult, recourse_cost, sensitive_flip_rate

__all__ = ["Attribution", "Explainer", "InputXGradient", "IntegratedGradients", "NoiseTunnel", "Occlusion", "Saliency"]
__all__ += ["CounterfactualResult", "Counterfactuals", "FlipResult", "RecourseResult", "recourse_cost",
            "sensitive_flip_rate"]
