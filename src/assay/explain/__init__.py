"""Explanations: local attributions with one call shape, their sanity checks, and global importance.

``Explainer(model).attribute(inputs, target=None, baselines=None, **method_kwargs)`` returns an
:class:`Attribution` for every method. Gradient methods need a torch model: :class:`Saliency`,
:class:`InputXGradient`, :class:`IntegratedGradients`, :class:`GradientShap`, :class:`DeepLift`,
:class:`GradCAM` (and guided), and :class:`NoiseTunnel` over them (SmoothGrad / VarGrad).
Perturbation methods run on any wrapped model: :class:`Occlusion`, :class:`KernelSHAP` (exact
Shapley values for <= 12 feature groups), :class:`LIME`, :class:`FeatureAblation`; images with
per-image :func:`superpixels` (``feature_groups="superpixels"``).
:mod:`assay.explain.evaluate`: sanity checks and faithfulness; :mod:`assay.explain.importance`:
permutation importance and per-group importance; :func:`surrogate_tree`: a global surrogate tree and
its fidelity on held-out rows.

Counterfactuals (any tabular model, black-box): :class:`Counterfactuals` (``generate(X, n=3)``),
and the counterfactual fairness tests :func:`sensitive_flip_rate` and :func:`recourse_cost`.
What layers encode: :class:`LinearProbe` (held-out accuracy per layer with a control task).
What a class or unit responds to: :class:`FeatureVisualization` (activation maximisation, with
:func:`class_entanglement` and :func:`naturalness`) and :class:`MMDCritic` (prototypes and criticisms).
"""

from ._base import Attribution, Explainer
from .deeplift import DeepLift
from .gradient import InputXGradient, IntegratedGradients, Saliency
from .layer import GradCAM
from .noise import GradientShap, NoiseTunnel
from .perturbation import Occlusion
from .segmentation import superpixels
from .shapley import LIME, FeatureAblation, KernelSHAP
from .surrogate import SurrogateTree, surrogate_tree

# counterfactuals and counterfactual fairness (issue 20, item 4)
from .counterfactuals import CounterfactualResult, Counterfactuals
from .recourse import FlipResult, RecourseResult, recourse_cost, sensitive_flip_rate

# what the layers encode (issue 20, item 1)
from .probes import LinearProbe, ProbeResult

__all__ = ["LIME", "Attribution", "DeepLift", "Explainer", "FeatureAblation", "GradCAM", "GradientShap",
           "InputXGradient", "IntegratedGradients", "KernelSHAP", "NoiseTunnel", "Occlusion", "Saliency"]
__all__ += ["CounterfactualResult", "Counterfactuals", "FlipResult", "RecourseResult", "recourse_cost",
            "sensitive_flip_rate"]
__all__ += ["LinearProbe", "ProbeResult"]

# feature visualization, prototypes and criticisms (issue 20, items 2 and 3)
from .prototypes import MMDCritic, PrototypeResult  # noqa: E402
from .visualization import (  # noqa: E402
    EntanglementResult,
    FeatureVisualization,
    NaturalnessResult,
    VisualizationResult,
    class_entanglement,
    naturalness,
    total_variation,
)

__all__ += ["EntanglementResult", "FeatureVisualization", "MMDCritic", "NaturalnessResult", "PrototypeResult",
            "VisualizationResult", "class_entanglement", "naturalness", "total_variation"]
__all__ += ["SurrogateTree", "superpixels", "surrogate_tree"]
