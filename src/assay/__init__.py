"""assay: audit and harden machine-learning models beyond test-set accuracy.

``import assay`` is cheap: the subpackages (``assay.metrics``, ``assay.ood``, ``assay.datasets``,
...) and the top-level names below are imported on first access (PEP 562), as SciPy does.
"""

from __future__ import annotations

from .core._lazy import lazy_attributes
from .core.errors import AssayInputError, AssayWarning, NotFittedError, UndefinedMetricWarning

__version__ = "0.1.0"

#: Public subpackages and modules, imported on first attribute access.
_SUBMODULES = ("audit", "core", "data_checks", "datasets", "explain", "fairness", "io", "metrics", "models", "ood",
               "privacy",
               "report", "robustness", "testing", "uncertainty")
#: Top-level names imported on first access: name -> module.
_LAZY = {
    "ModelAdapter": "core.adapters",
    "wrap": "core.adapters",
    "Result": "core.result",
    "evaluate_groups": "metrics",
}

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


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY, _SUBMODULES)
