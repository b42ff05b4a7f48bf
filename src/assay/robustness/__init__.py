"""Robustness per group: corruptions with severities, robustness curves, adversarial attacks,
attack reports per group, adversarial training and randomized smoothing.

Corruptions (``corruptions``): :class:`Corruption` objects called as ``corruption(X, severity,
random_state)``, registered by name in :data:`CORRUPTIONS`. Curves (``curves``):
:func:`robustness_curve` evaluates a model on every (corruption, severity) through the adapter
and the grouped table. Attacks (``attacks``, ``attacks_blackbox``, ``attacks_tabular``): one call,
``Attack(model, ...).generate(X, y=None, target=None) -> AttackResult``; :func:`attack_report`
breaks an attack's results down by group. ``smoothing``: certified L2 radii; ``training``:
:func:`adversarial_loss` (PGD-AT, TRADES).
"""

from __future__ import annotations

__all__: list[str] = []

# --- corruptions and robustness curves (issue 16, items 1-2)
from .corruptions import (
    CORRUPTIONS,
    Corruption,
    get_corruption,
    image_corruptions,
    register_corruption,
    tabular_corruptions,
)
from .curves import RobustnessCurve, robustness_curve

__all__ += ["CORRUPTIONS", "Corruption", "RobustnessCurve", "get_corruption", "image_corruptions",
            "register_corruption", "robustness_curve", "tabular_corruptions"]

# ---- attacks (issue 16 items 3, 4)
from .attack_report import AttackReport, attack_report
from .attacks import (
    FGSM,
    PGD,
    Attack,
    AttackResult,
    CarliniWagnerL2,
    DeepFool,
    MomentumIterativeFGSM,
)
from .attacks_blackbox import HopSkipJump, SquareAttack
from .attacks_tabular import TabularAttack

__all__ += ["FGSM", "PGD", "Attack", "AttackReport", "AttackResult", "CarliniWagnerL2", "DeepFool", "HopSkipJump",
            "MomentumIterativeFGSM", "SquareAttack", "TabularAttack", "attack_report"]

from .smoothing import (
    Certification,
    CertifiedAccuracy,
    SmoothedClassifier,
    certified_accuracy,
)
from .training import adversarial_loss

__all__ += ["Certification", "CertifiedAccuracy", "SmoothedClassifier", "adversarial_loss", "certified_accuracy"]
