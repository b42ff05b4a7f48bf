"""Privacy: what a model leaks about its training data, and private training.

* Membership inference (``membership``): :func:`loss_attack`, :func:`confidence_attack` (Yeom et al.),
  :class:`LiRA` (Carlini et al., offline / online), :class:`ShadowAttack` (Shokri et al.); every
  attack gives member scores, judged by one :func:`evaluate_attack` (AUC, membership advantage,
  TPR at 0.1% / 1% FPR with intervals, per-example risk; per group and intersection).
"""

from __future__ import annotations

from .evaluation import MembershipAttackResult, attack_report, evaluate_attack, tpr_key
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

__all__ = ["LiRA", "MembershipAttackResult", "ShadowAttack", "attack_report", "confidence_attack",
           "evaluate_attack", "example_loss", "lira_scores", "logit_confidence", "logit_loss", "loss_attack", "tpr_key"]
