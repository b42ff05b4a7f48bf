"""Privacy: what a model or a data set leaks, and the tools that limit it.

* Membership inference (``membership``): :func:`loss_attack`, :func:`confidence_attack` (Yeom et al.),
  :class:`LiRA` (Carlini et al., offline / online), :class:`ShadowAttack` (Shokri et al.); every
  attack gives member scores, judged by one :func:`evaluate_attack` (AUC, membership advantage,
  TPR at 0.1% / 1% FPR with intervals, per-example risk; per group and intersection).
* Attribute inference (``attribute``): :func:`attribute_inference`, AUC of recovering a sensitive
  feature with and without the model's outputs.
* Model theft (``theft``): :func:`extraction_attack` (copycat fidelity against queries and their
  cost), output-only defences (:func:`defend_outputs`) and :func:`defence_report`;
  :func:`model_inversion` (``inversion``, torch: a class representative by gradient ascent).
* Private training (``training``): :func:`train_private`, DP-SGD through Opacus with the spent
  epsilon read from its accountant (extra ``assay[privacy]``; Opacus is imported on call).
* Data privacy: k-anonymity, l-diversity, t-closeness and a generaliser (``anonymity``), the PII
  scan and masking (``pii``), and DP mechanisms for released statistics (``mechanisms``).
"""

from __future__ import annotations

from .attribute import AttributeInferenceResult, attribute_inference
from .evaluation import MembershipAttackResult, attack_report, evaluate_attack, tpr_key
from .inversion import model_inversion
from .membership import (
    LiRA,
    ShadowAttack,
    confidence_attack,
    example_loss,
    lira_scores,
    logit_confidence,
    logit_loss,
    loss_attack,
)
from .theft import (
    DEFENCES,
    ExtractionResult,
    defence_report,
    defend_outputs,
    defended,
    extraction_attack,
)
from .training import PrivateTraining, check_privacy_budget, epsilon_sweep, train_private

# data privacy: mechanisms, anonymity, PII
from .anonymity import (
    GeneralizationResult,
    KAnonymityResult,
    LDiversityResult,
    TClosenessResult,
    generalize,
    k_anonymity,
    l_diversity,
    t_closeness,
)
from .mechanisms import (
    PrivateGroupMetrics,
    RandomizedResponseEstimate,
    gaussian_mechanism,
    gaussian_sigma,
    laplace_mechanism,
    laplace_scale,
    private_group_metrics,
    randomized_response,
    randomized_response_estimate,
)
from .pii import PIIScanResult, mask_pii, scan_pii

__all__ = [
    "DEFENCES", "AttributeInferenceResult", "ExtractionResult", "LiRA", "MembershipAttackResult",
    "PrivateTraining", "ShadowAttack", "attack_report", "attribute_inference", "check_privacy_budget",
    "confidence_attack", "defence_report", "defend_outputs", "defended", "epsilon_sweep", "evaluate_attack",
    "example_loss", "extraction_attack", "lira_scores", "logit_confidence", "logit_loss", "loss_attack",
    "model_inversion", "tpr_key", "train_private",
    # data privacy: mechanisms, anonymity, PII
    "GeneralizationResult", "KAnonymityResult", "LDiversityResult", "PIIScanResult", "PrivateGroupMetrics",
    "RandomizedResponseEstimate", "TClosenessResult", "gaussian_mechanism", "gaussian_sigma", "generalize",
    "k_anonymity", "l_diversity", "laplace_mechanism", "laplace_scale", "mask_pii", "private_group_metrics",
    "randomized_response", "randomized_response_estimate", "scan_pii", "t_closeness",
]
