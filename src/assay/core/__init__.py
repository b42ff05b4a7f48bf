"""Core: errors, validation, results, random state, and model adapters."""

from .errors import AssayInputError, AssayWarning, NotFittedError, SmallGroupWarning, UndefinedMetricWarning
from .findings import SEVERITIES, Finding, grade
from .result import Result, to_jsonable

__all__ = [
    "AssayInputError",
    "AssayWarning",
    "Finding",
    "SEVERITIES",
    "NotFittedError",
    "Result",
    "SmallGroupWarning",
    "UndefinedMetricWarning",
    "grade",
    "to_jsonable",
]
