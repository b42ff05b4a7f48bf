"""assay: audit and harden machine-learning models beyond test-set accuracy."""

from .core.adapters import ModelAdapter, wrap
from .core.errors import AssayInputError, AssayWarning, NotFittedError, UndefinedMetricWarning
from .core.result import Result
from .metrics import evaluate_groups

__version__ = "0.1.0"

__all__ = [
    "AssayInputError",
    "AssayWarning",
    "ModelAdapter",
    "NotFittedError",
    "Result",
    "UndefinedMetricWarning",
    "__version__",
    "evaluate_groups",
    "wrap",
]
