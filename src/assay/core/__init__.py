"""Core: errors, validation, results, random state, and model adapters."""

from .errors import AssayInputError, AssayWarning, NotFittedError, SmallGroupWarning, UndefinedMetricWarning
from .result import Result, to_jsonable

__all__ = [
    "AssayInputError",
    "AssayWarning",
    "NotFittedError",
    "Result",
    "SmallGroupWarning",
    "UndefinedMetricWarning",
    "to_jsonable",
]
