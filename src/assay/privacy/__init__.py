"""Privacy: what a model or a data set leaks, and the tools that limit it."""

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
from .pii import PIIScanResult, mask_pii, scan_pii

__all__ = [
    # data privacy: mechanisms, anonymity, PII
    "GeneralizationResult", "KAnonymityResult", "LDiversityResult", "PIIScanResult", "TClosenessResult",
    "generalize", "k_anonymity", "l_diversity", "mask_pii", "scan_pii", "t_closeness",
]
