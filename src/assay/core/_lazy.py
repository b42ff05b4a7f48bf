"""PEP 562 lazy attributes for a package's ``__init__`` (as SciPy does): one home for both
``assay`` and ``assay.core``, so ``import assay`` stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any


def lazy_attributes(namespace: MutableMapping[str, Any], lazy: Mapping[str, str],
                    submodules: Sequence[str] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package whose ``globals()`` is ``namespace``.

    ``lazy`` maps a name to the submodule (relative to the package) that defines it; the name is
    imported on first access and kept in ``namespace``. ``submodules`` are imported on access.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in lazy:
            value = getattr(importlib.import_module(f"{package}.{lazy[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())) | set(submodules))

    return __getattr__, __dir__
