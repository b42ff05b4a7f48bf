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
    # data privacy: mechanisms, anonymity, PII
    "GeneralizationResult", "KAnonymityResult", "LDiversityResult", "PIIScanResult", "PrivateGroupMetrics",
    "RandomizedResponseEstimate", "TClosenessResult", "gaussian_mechanism", "gaussian_sigma", "generalize",
    "k_anonymity", "l_diversity", "laplace_mechanism", "laplace_scale", "mask_pii", "private_group_metrics",
    "randomized_response", "randomized_response_estimate", "scan_pii", "t_closeness",
]
