"""Core: errors, validation, results, random state, model adapters and the component base.

The names below other than the errors are imported on first access (PEP 562), so that
``import assay`` stays cheap.
"""

from __future__ import annotations

from ._lazy import lazy_attributes
from .errors import AssayInputError, AssayWarning, NotFittedError, SmallGroupWarning, UndefinedMetricWarning

_LAZY = {
    "SEVERITIES": "findings",
    "Finding": "findings",
    "grade": "findings",
    "Result": "result",
    "to_jsonable": "result",
    "Component": "component",
    "clone": "component",
}

__all__ = [
    "AssayInputError",
    "AssayWarning",
    "Component",
    "Finding",
    "SEVERITIES",
    "NotFittedError",
    "Result",
    "SmallGroupWarning",
    "UndefinedMetricWarning",
    "clone",
    "grade",
    "to_jsonable",
]


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
