"""Robustness: adversarial attacks, attack reports per group, adversarial training, randomized smoothing."""

__all__: list[str] = []

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

__all__ += ["FGSM", "PGD", "Attack", "AttackReport", "AttackResult", "CarliniWagnerL2", "DeepFool", "HopSkipJump",
            "MomentumIterativeFGSM", "SquareAttack", "attack_report"]
from .smoothing import (
            Certification,
            CertifiedAccuracy,
            SmoothedClassifier,
            certified_accuracy,
)
from .training import adversarial_loss

__all__ += ["Certification", "CertifiedAccuracy", "SmoothedClassifier", "adversarial_loss", "certified_accuracy"]
