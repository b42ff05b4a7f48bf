"""Corruptions with severities 1-5: one call shape ``corruption(X, severity, random_state)``.

Every corruption is a :class:`Corruption` (a :class:`~assay.core.component.Component`) registered
by name in :data:`CORRUPTIONS`; :func:`get_corruption` builds one by name, :func:`register_corruption`
adds a class from outside. A corruption is seeded and deterministic for a seed, never changes its
input in place, and keeps its output inside the declared valid range (images) or the input's
dtypes and categories (tables). Image corruptions live in :mod:`.corruptions_image` (torch
tensors ``(n, c, h, w)``), tabular ones in :mod:`.corruptions_tabular` (pandas DataFrames); each
class documents its severity table in ``severities`` (one parameter per severity 1..5).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..core.component import Component
from ..core.errors import AssayInputError
from ..core.validation import describe

__all__ = ["CORRUPTIONS", "Corruption", "get_corruption", "image_corruptions", "register_corruption",
           "tabular_corruptions"]

#: Registered corruption classes by name ("gaussian_noise" exists for images and tables:
#: the image one is "gaussian_noise", the tabular one "tabular_gaussian_noise").
CORRUPTIONS: dict[str, type[Corruption]] = {}


class Corruption(Component):
    """Base class: ``corruption(X, severity, random_state=None) -> corrupted copy of X``.

    Subclasses set ``name``, ``kind`` ("image" or "tabular"), ``severities`` (the parameter of
    each severity 1..5, documented per class) and implement ``_apply(X, parameter, rng)``.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    #: The corruption's parameter at severities 1..5 (its meaning is in the class docstring).
    severities: ClassVar[tuple] = ()

    def __call__(self, X: Any, severity: int, random_state: Any = None) -> Any:
        self._validate_params()
        severity = check_severity(severity, owner=f"{type(self).__name__}")
        return self._corrupt(X, self.severities[severity - 1], severity, random_state)

    def _corrupt(self, X: Any, parameter: Any, severity: int, random_state: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


def check_severity(severity: Any, *, owner: str) -> int:
    """``severity`` as an int in 1..5, else :class:`AssayInputError` naming it."""
    if (isinstance(severity, (bool, np.bool_)) or not isinstance(severity, numbers.Integral)
            or not 1 <= int(severity) <= 5):
        raise AssayInputError(f"The 'severity' parameter of {owner} must be an int in [1, 5]. "
                              f"Got {severity!r} instead.")
    return int(severity)


def seed_of(random_state: Any, owner: str) -> int:
    """One 63-bit seed from ``random_state`` (None: fresh entropy; int >= 0; numpy Generator)."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**63 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)) \
            and random_state >= 0:
        return int(random_state)
    raise AssayInputError(f"The 'random_state' parameter of {owner} must be None, an int >= 0 or a numpy "
                          f"Generator. Got {describe(random_state)} instead.")


def register_corruption(cls: type[Corruption]) -> type[Corruption]:
    """Record a :class:`Corruption` subclass under its ``name`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Corruption)) or not cls.name:
        raise AssayInputError(f"'cls' of register_corruption must be a Corruption subclass with a 'name'. "
                              f"Got {describe(cls)} instead.")
    if len(cls.severities) != 5:
        raise AssayInputError(f"'{cls.__name__}.severities' must hold 5 parameters (severities 1..5); "
                              f"got {len(cls.severities)}.")
    CORRUPTIONS[cls.name] = cls
    return cls


def get_corruption(name: Any, **params: Any) -> Corruption:
    """A corruption by registered name (``params`` go to its constructor); a Corruption is returned as is."""
    if isinstance(name, Corruption):
        return name
    if not isinstance(name, str) or name not in CORRUPTIONS:
        raise AssayInputError(f"Unknown corruption {name!r} ('corruptions'): expected one of "
                              f"{', '.join(sorted(CORRUPTIONS))}.")
    return CORRUPTIONS[name](**params)


def image_corruptions() -> list[str]:
    """Names of the registered image corruptions, in registration order."""
    return [n for n, c in CORRUPTIONS.items() if c.kind == "image"]


def tabular_corruptions() -> list[str]:
    """Names of the registered tabular corruptions, in registration order."""
    return [n for n, c in CORRUPTIONS.items() if c.kind == "tabular"]


def resolve_corruptions(corruptions: Any, *, owner: str) -> list[Corruption]:
    """A list of Corruption objects from a name, a Corruption, or a sequence of them."""
    if isinstance(corruptions, (str, Corruption)):
        corruptions = [corruptions]
    if not isinstance(corruptions, Sequence) or isinstance(corruptions, str) or not len(corruptions):
        raise AssayInputError(f"'corruptions' of {owner} must be a corruption name, a Corruption or a non-empty "
                              f"list of them. Got {describe(corruptions)} instead.")
    out = [get_corruption(c) for c in corruptions]
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise AssayInputError(f"'corruptions' of {owner} names a corruption twice: {names}.")
    return out


from . import corruptions_image as _image  # noqa: F401  (registers the image corruptions)
from . import corruptions_tabular as _tabular  # noqa: F401  (registers the tabular corruptions)
