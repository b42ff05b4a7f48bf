"""The one base class of assay's components: estimators, detectors, checks, calibrators, ...

A component takes its parameters as keyword arguments of ``__init__`` and stores each one, as
given, under its own name (scikit-learn's convention); its constructor does nothing else.
From that the base derives ``get_params`` / ``set_params`` / ``__repr__`` and cloning
(:func:`clone`, and :func:`sklearn.base.clone`).

Constraints on the parameters are declared once per class in ``_parameter_constraints`` (merged
along the class hierarchy) and checked by :meth:`Component._validate_params`, which runs
at the start of every ``fit`` and ``run`` a subclass defines (and where a subclass calls it, e.g.
on first use of a stateless detector). A bad value raises :class:`AssayInputError` naming the
class and the parameter::

    class Binner(Component):
        _parameter_constraints = {"n_bins": [Interval(Integral, 1, None)], "strategy": [Options(str, {"uniform", "quantile"})]}

        def __init__(self, *, n_bins=10, strategy="uniform"):
            self.n_bins = n_bins
            self.strategy = strategy

    Binner(n_bins=0).fit(X)  # AssayInputError: The 'n_bins' parameter of Binner must be an int in [1, inf). Got 0 instead.

The vocabulary of a constraint list (the value must satisfy one of them): :class:`Interval`,
:class:`Options`, :class:`SequenceOf`, a type (``str``, ``bool``, ``dict``, ...; ``Integral``
and ``Real`` exclude bool), ``None``, and the strings ``"boolean"``, ``"random_state"``
(None, an int >= 0, a numpy Generator or RandomState), ``"callable"``, ``"array-like"`` and
``"no_validation"``.
"""

from __future__ import annotations

import copy
import functools
import inspect
import numbers
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np

from .errors import AssayInputError
from .validation import _PARAMETER, describe

__all__ = ["Component", "Interval", "Options", "SequenceOf", "clone", "validate_parameter"]


# ---------------------------------------------------------------------- constraints
class Interval:
    """A number of type ``kind`` (``int``/``Integral`` or ``float``/``Real``: numpy scalars
    included, never a bool) in ``[left, right]``.

    ``None`` bounds are infinite; ``closed`` is "both", "left", "right" or "neither". The text
    is :func:`~assay.core.validation.check_scalar`'s: "an int in [1, inf)".
    """

    def __init__(self, kind: type, left: float | None, right: float | None, *, closed: str = "both") -> None:
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither'; got {closed!r}")
        self.kind = {int: numbers.Integral, float: numbers.Real}.get(kind, kind)
        self.left = left
        self.right = right
        self.closed = closed

    def _integral(self) -> bool:
        return issubclass(self.kind, numbers.Integral)

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.kind):
            return False
        if value != value:  # NaN is in no interval
            return False
        if self.left is not None:
            if not (value >= self.left if self.closed in ("both", "left") else value > self.left):
                return False
        if self.right is not None:
            if not (value <= self.right if self.closed in ("both", "right") else value < self.right):
                return False
        return True

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") and self.left is not None else "("
        right = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        lo = "-inf" if self.left is None else f"{self.left:g}"
        hi = "inf" if self.right is None else f"{self.right:g}"
        return f"{'an int' if self._integral() else 'a float'} in {left}{lo}, {hi}{right}"


class Options:
    """One of the values ``options`` (of type ``kind``), listed in the given order."""

    def __init__(self, kind: type, options: Iterable[Any]) -> None:
        self.kind = kind
        self.options = tuple(options)

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.kind) and any(value == o for o in self.options)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


class SequenceOf:
    """A non-empty list or tuple whose items are all of type ``kind``."""

    def __init__(self, kind: type) -> None:
        self.kind = kind

    def is_satisfied_by(self, value: Any) -> bool:
        return (isinstance(value, (list, tuple)) and len(value) > 0
                and all(isinstance(v, self.kind) for v in value))

    def __str__(self) -> str:
        return f"a non-empty list of {self.kind.__name__}"


_TYPE_NAMES = {str: "a str", bool: "a bool", dict: "a dict", list: "a list", tuple: "a tuple",
               numbers.Integral: "an int", numbers.Real: "a float"}


def _satisfied(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, str):
        if constraint == "no_validation":
            return True
        if constraint == "boolean":
            return isinstance(value, (bool, np.bool_))
        if constraint == "random_state":
            return (value is None or isinstance(value, (np.random.Generator, np.random.RandomState))
                    or isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
                    and value >= 0)
        if constraint == "callable":
            return callable(value)
        if constraint == "array-like":
            return hasattr(value, "__len__") or hasattr(value, "__array__")
        raise ValueError(f"unknown parameter constraint {constraint!r}")
    if isinstance(constraint, type):
        if issubclass(constraint, numbers.Number) and constraint is not bool:
            return isinstance(value, constraint) and not isinstance(value, (bool, np.bool_))
        return isinstance(value, constraint)
    return constraint.is_satisfied_by(value)


def _text(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, str):
        return {"boolean": "a bool", "random_state": "None, an int >= 0 or a numpy Generator",
                "callable": "a callable", "array-like": "an array-like"}.get(constraint, constraint)
    if isinstance(constraint, type):
        return _TYPE_NAMES.get(constraint, f"an instance of {constraint.__name__}")
    return str(constraint)


def validate_parameter(value: Any, name: str, constraints: Iterable[Any], *, owner: str) -> Any:
    """Raise :class:`AssayInputError` unless ``value`` satisfies one of ``constraints``."""
    constraints = list(constraints)
    if any(_satisfied(c, value) for c in constraints):
        return value
    texts = [_text(c) for c in constraints if c is not None]
    expected = " or ".join(texts + (["None"] if None in constraints else [])) or "valid"
    received = repr(value) if isinstance(value, (str, numbers.Number, bool, type(None))) else describe(value)
    raise AssayInputError(_PARAMETER.format(name=name, owner=owner, expected=expected, received=received))


# ---------------------------------------------------------------------- the base class
def _validating(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        self._validate_params()
        return method(self, *args, **kwargs)

    wrapper._validates_params = True  # type: ignore[attr-defined]
    return wrapper


class Component:
    """Base of every component: parameters as given in ``__init__``, generic params API.

    Subclasses store each ``__init__`` parameter under its own name and nothing else, declare
    ``_parameter_constraints`` (name -> list of constraints, see the module docstring), and
    put learned state in attributes ending with ``_``. The ``fit`` and ``run`` methods a
    subclass defines validate the parameters first.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    #: Methods that validate the parameters before they run (wrapped once per class).
    _validated_methods: ClassVar[tuple[str, ...]] = ("fit", "run")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls._validated_methods:
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "_validates_params", False):
                setattr(cls, name, _validating(method))

    # ---- parameters
    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The names of the ``__init__`` parameters (no ``*args``/``**kwargs``), in order."""
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        return [p.name for p in params
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    @classmethod
    def _all_parameter_constraints(cls) -> dict[str, list[Any]]:
        merged: dict[str, list[Any]] = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get("_parameter_constraints", {}))
        return merged

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The ``__init__`` parameters and their values (scikit-learn convention).

        With ``deep=True``, the parameters of component-valued parameters too, as
        ``<param>__<sub>``. Raises :class:`AssayInputError` if a parameter is not stored under its
        own name (a changed value would otherwise go unseen, e.g. by the audit's resume).
        """
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            try:
                value = vars(self)[name] if name in vars(self) else getattr(self, name)
            except AttributeError:
                raise AssayInputError(
                    f"{type(self).__name__} does not store its __init__ parameter {name!r} under its own "
                    f"name: set 'self.{name} = {name}' in __init__ (scikit-learn convention), so that "
                    "get_params, clone and the audit's records see it."
                ) from None
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params(deep=True).items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Component:
        """Set ``__init__`` parameters (``<param>__<sub>`` for nested components); returns self."""
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise AssayInputError(
                    f"{key!r} is not a parameter of {type(self).__name__}. Expected one of: "
                    f"{', '.join(valid) or '(none)'}."
                )
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def _validate_params(self) -> None:
        """Check every parameter against ``_parameter_constraints``; the class is the owner."""
        params = self.get_params()
        owner = type(self).__name__
        for name, constraints in self._all_parameter_constraints().items():
            if name in params:
                validate_parameter(params[name], name, constraints, owner=owner)

    # ---- display and copies
    def __repr__(self) -> str:
        signature = inspect.signature(type(self).__init__).parameters
        shown = []
        for name, value in self.get_params().items():
            default = signature[name].default if name in signature else inspect.Parameter.empty
            if _same(value, default):
                continue
            if isinstance(value, np.ndarray):
                text = describe(value)
            elif name == "model" and value is not None:
                text = type(value).__name__
            else:
                text = repr(value)
            shown.append(f"{name}={text}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_clone__(self) -> Component:
        return clone(self)


def _same(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray) or default is inspect.Parameter.empty:
        return False
    try:
        return bool(type(value) is type(default) and value == default)
    except Exception:  # noqa: BLE001 - comparisons of arbitrary objects
        return False


def clone(component: Any) -> Any:
    """An unfitted copy of ``component`` with the same parameters.

    Component-valued parameters (and lists/tuples of them) are cloned; other values are
    shallow-copied containers or shared objects (a model or adapter is shared, not copied:
    detectors that share an adapter keep sharing its cache).
    """
    if isinstance(component, (list, tuple)):
        return type(component)(clone(c) for c in component)
    if not hasattr(component, "get_params") or isinstance(component, type):
        raise AssayInputError(f"'component' must be an assay component (with get_params). "
                              f"Got {describe(component)} instead.")
    params = {name: _clone_value(value) for name, value in component.get_params(deep=False).items()}
    return type(component)(**params)


def _clone_value(value: Any) -> Any:
    if isinstance(value, Component):
        return clone(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, Component) for v in value):
        return type(value)(_clone_value(v) for v in value)
    if isinstance(value, (list, dict, set)):
        return copy.copy(value)
    return value
