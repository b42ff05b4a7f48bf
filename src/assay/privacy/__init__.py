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

__all__ = ["GeneralizationResult", "KAnonymityResult", "LDiversityResult", "TClosenessResult", "generalize",
           "k_anonymity", "l_diversity", "t_closeness"]
