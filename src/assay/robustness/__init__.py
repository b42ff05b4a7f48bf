"""Robustness: adversarial attacks, attack reports per group, adversarial training, randomized smoothing."""

__all__: list[str] = []

# ---- attacks (issue 16 items 3, 4)
from .attacks import (  # noqa: E402
    FGSM,
    PGD,
    Attack,
    AttackResult,
    CarliniWagnerL2,
    DeepFool,
    MomentumIterativeFGSM,
)

__all__ += ["Attack", "AttackResult", "CarliniWagnerL2", "DeepFool", "FGSM", "MomentumIterativeFGSM", "PGD"]
from .attack_report import AttackReport, attack_report  # noqa: E402
from .attacks_blackbox import SquareAttack  # noqa: E402

__all__ += ["AttackReport", "SquareAttack", "attack_report"]
