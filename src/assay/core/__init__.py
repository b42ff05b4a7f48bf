"""Core: errors, validation, results, random state, model adapters and the component base.

The names below other than the errors are imported on first access (PEP 562), so that
``import assay`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
