"""A conformance battery for assay's components (scikit-learn's ``check_estimator`` idea).

``check_component(obj)`` runs every sub-check that applies to ``obj`` (a detector, an audit
check, a calibrator, a mitigation, ...) and raises ``AssertionError`` naming the first one that
fails. The sub-checks:

* ``params_declared``: every ``__init__`` parameter has a constraint (``"no_validation"`` counts)
  and every constraint names a parameter;
* ``init_stores_params``: a component rebuilt from ``get_params()`` stores each value as given
  (the same object) and sets no learned (``*_``) attribute in ``__init__``;
* ``clone``: :func:`assay.core.component.clone` and ``sklearn.base.clone`` give a new object of
  the same class with the same parameters;
* ``params_roundtrip``: ``set_params(**get_params())`` returns self and changes nothing;
  ``set_params`` changes what ``get_params`` returns; an unknown name raises ``AssayInputError``;
* ``bad_params``: for each constrained parameter, a value outside its constraints makes the
  entry point (``fit``, else ``run``) raise ``AssayInputError`` naming the class and the parameter;
* ``fit_returns_self`` (components with ``fit``);
* ``not_fitted`` (components with ``fit`` whose ``needs_fit`` is not False): the output method
  raises :class:`~assay.core.errors.NotFittedError` before ``fit``;
* ``pickle``: equal parameters and equal outputs after a pickling roundtrip of a fitted component;
* ``deterministic`` (components with ``random_state``): two clones with the same seed give the
  same outputs.

The output method is the first of ``score``, ``predict_proba``, ``predict``, ``transform`` the
component has; ``X`` and ``y`` default to a small seeded problem (60 rows, 4 columns, 2 classes).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .core.component import Component, Interval, _satisfied, clone
from .core.errors import AssayInputError, NotFittedError

__all__ = ["CHECKS", "check_component", "default_data"]

_OUTPUT_METHODS = ("score", "predict_proba", "predict", "transform", "predict_sets", "predict_intervals")


def default_data(n: int = 60, d: int = 4, *, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small seeded problem: ``X`` (n, d) float64 with class-dependent means, ``y`` (n,) in {0, 1}."""
    rng = np.random.default_rng(random_state)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, d)) + y[:, None] * 1.5
    return X, y


# ---------------------------------------------------------------------- helpers
def _fail(check: str, obj: Any, message: str) -> AssertionError:
    return AssertionError(f"check_component[{check}] failed for {type(obj).__name__}: {message}")


def _output_method(obj: Any) -> str | None:
    return next((m for m in _OUTPUT_METHODS if callable(getattr(obj, m, None))), None)


def _needs_fit(obj: Any) -> bool:
    return callable(getattr(obj, "fit", None)) and getattr(obj, "needs_fit", True) is not False


def _outputs(obj: Any, X: Any, y: Any) -> Any:
    if callable(getattr(obj, "fit", None)):
        obj.fit(X, y)
    method = _output_method(obj)
    return None if method is None else getattr(obj, method)(X)


def _assert_same_outputs(check: str, obj: Any, a: Any, b: Any, what: str) -> None:
    try:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    except AssertionError:
        raise _fail(check, obj, f"{what} differ.") from None


def _bad_values(constraints: list[Any]) -> list[Any]:
    """Values that satisfy none of ``constraints``: a wrong type, and each interval's edges."""
    candidates: list[Any] = ["not-a-valid-value", -1, object()]
    for c in constraints:
        if isinstance(c, Interval):
            integral = c._integral()
            step = 1 if integral else 0.5
            if c.left is not None:
                candidates.append(c.left if c.closed in ("right", "neither") else c.left - step)
            if c.right is not None:
                candidates.append(c.right if c.closed in ("left", "neither") else c.right + step)
            if not integral:
                candidates.append(float("nan"))
    bad = []
    for value in candidates:
        if not any(_satisfied(c, value) for c in constraints):
            bad.append(value)
    return bad[:1] + [v for v in bad[1:] if isinstance(v, (int, float))]


def _enter(obj: Any, X: Any, y: Any) -> None:
    """Call the component's validating entry point: ``fit`` if it has one, else ``run``."""
    if callable(getattr(obj, "fit", None)):
        obj.fit(X, y)
    elif callable(getattr(obj, "run", None)):
        obj.run(None)
    else:
        obj._validate_params()


# ---------------------------------------------------------------------- the sub-checks
def check_params_declared(obj: Any, X: Any, y: Any) -> None:
    names = set(obj._get_param_names())
    declared = set(obj._all_parameter_constraints())
    if names - declared:
        raise _fail("params_declared", obj, f"parameters without a constraint in _parameter_constraints: "
                    f"{sorted(names - declared)} (use ['no_validation'] for free ones).")
    if declared - names:
        raise _fail("params_declared", obj, f"constraints for names that are not __init__ parameters: "
                    f"{sorted(declared - names)}.")


def check_init_stores_params(obj: Any, X: Any, y: Any) -> None:
    try:
        params = obj.get_params()
    except AssayInputError as exc:  # a parameter stored under another name
        raise _fail("init_stores_params", obj, str(exc)) from None
    fresh = type(obj)(**params)
    for name, value in params.items():
        if vars(fresh).get(name, getattr(fresh, name, None)) is not value:
            raise _fail("init_stores_params", obj, f"__init__ does not store {name!r} as given "
                        f"(got {getattr(fresh, name, None)!r} for {value!r}): keep it unchanged and "
                        "convert or validate it in fit/run.")
    learned = [k for k in vars(fresh) if k.endswith("_") and not k.startswith("__")]
    if learned:
        raise _fail("init_stores_params", obj, f"__init__ sets learned attributes {learned}.")


def check_clone(obj: Any, X: Any, y: Any) -> None:
    import sklearn.base

    for how, copy in (("assay.core.component.clone", clone(obj)), ("sklearn.base.clone", sklearn.base.clone(obj))):
        if copy is obj or type(copy) is not type(obj):
            raise _fail("clone", obj, f"{how} returned {copy!r}.")
        a, b = obj.get_params(), copy.get_params()
        if a.keys() != b.keys() or any(a[k] is not b[k] and not _equal(a[k], b[k]) for k in a):
            raise _fail("clone", obj, f"{how} changed the parameters: {a} -> {b}.")


def check_params_roundtrip(obj: Any, X: Any, y: Any) -> None:
    copy = clone(obj)
    params = copy.get_params()
    if copy.set_params(**params) is not copy:
        raise _fail("params_roundtrip", obj, "set_params does not return self.")
    after = copy.get_params()
    if any(after[k] is not params[k] for k in params):
        raise _fail("params_roundtrip", obj, f"set_params(**get_params()) changed them: {params} -> {after}.")
    marker = object()
    for name in params:
        probe = clone(obj)
        probe.set_params(**{name: marker})
        if probe.get_params()[name] is not marker:
            raise _fail("params_roundtrip", obj, f"set_params({name}=...) is not seen by get_params.")
    try:
        copy.set_params(no_such_parameter_xyz=1)
    except AssayInputError as exc:
        if "no_such_parameter_xyz" not in str(exc):
            raise _fail("params_roundtrip", obj, f"the error for an unknown parameter does not name it: {exc}") from None
    else:
        raise _fail("params_roundtrip", obj, "set_params accepted an unknown parameter.")


def check_bad_params(obj: Any, X: Any, y: Any) -> None:
    owner = type(obj).__name__
    for name, constraints in obj._all_parameter_constraints().items():
        if "no_validation" in constraints:
            continue
        for value in _bad_values(list(constraints)):
            probe = clone(obj).set_params(**{name: value})
            try:
                _enter(probe, X, y)
            except AssayInputError as exc:
                text = str(exc)
                if repr(name) not in text and name not in text or owner not in text:
                    raise _fail("bad_params", obj, f"the error for {name}={value!r} does not name "
                                f"{owner} and {name!r}: {text}") from None
            except Exception as exc:  # noqa: BLE001 - anything but our error is the failure reported
                raise _fail("bad_params", obj, f"{name}={value!r} raised {type(exc).__name__}, not "
                            f"AssayInputError: {exc}") from None
            else:
                raise _fail("bad_params", obj, f"{name}={value!r} was accepted.")


def check_fit_returns_self(obj: Any, X: Any, y: Any) -> None:
    copy = clone(obj)
    if copy.fit(X, y) is not copy:
        raise _fail("fit_returns_self", obj, "fit does not return self.")


def check_not_fitted(obj: Any, X: Any, y: Any) -> None:
    method = _output_method(obj)
    if method is None:
        return
    try:
        getattr(clone(obj), method)(X)
    except NotFittedError:
        return
    except Exception as exc:  # noqa: BLE001
        raise _fail("not_fitted", obj, f"{method} before fit raised {type(exc).__name__}, not "
                    f"NotFittedError: {exc}") from None
    raise _fail("not_fitted", obj, f"{method} before fit did not raise NotFittedError.")


def check_pickle(obj: Any, X: Any, y: Any) -> None:
    copy = clone(obj)
    before = _outputs(copy, X, y) if _output_method(copy) or callable(getattr(copy, "fit", None)) else None
    try:
        restored = pickle.loads(pickle.dumps(copy))
    except Exception as exc:  # noqa: BLE001
        raise _fail("pickle", obj, f"pickling failed: {type(exc).__name__}: {exc}") from None
    a, b = copy.get_params(), restored.get_params()
    if a.keys() != b.keys() or any(not _equal(a[k], b[k]) and not hasattr(a[k], "get_params") for k in a):
        raise _fail("pickle", obj, f"the parameters changed: {a} -> {b}.")
    method = _output_method(restored)
    if method is not None and before is not None:
        _assert_same_outputs("pickle", obj, before, getattr(restored, method)(X), "outputs after unpickling")


def check_deterministic(obj: Any, X: Any, y: Any) -> None:
    if _output_method(obj) is None:
        return
    first = _outputs(clone(obj).set_params(random_state=0), X, y)
    second = _outputs(clone(obj).set_params(random_state=0), X, y)
    _assert_same_outputs("deterministic", obj, first, second, "outputs of two fits with random_state=0")


def _equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


#: Sub-checks by name, in the order they run, and whether each applies to a component.
CHECKS: dict[str, tuple[Callable[[Any, Any, Any], None], Callable[[Any], bool]]] = {
    "params_declared": (check_params_declared, lambda obj: True),
    "init_stores_params": (check_init_stores_params, lambda obj: True),
    "clone": (check_clone, lambda obj: True),
    "params_roundtrip": (check_params_roundtrip, lambda obj: True),
    "bad_params": (check_bad_params, lambda obj: True),
    "fit_returns_self": (check_fit_returns_self, lambda obj: callable(getattr(obj, "fit", None))),
    "not_fitted": (check_not_fitted, _needs_fit),
    "pickle": (check_pickle, lambda obj: True),
    "deterministic": (check_deterministic, lambda obj: "random_state" in obj._get_param_names()),
}


def check_component(obj: Any, *, X: Any = None, y: Any = None, skip: Iterable[str] = ()) -> list[str]:
    """Run the conformance battery on ``obj``; return the names of the sub-checks run.

    Parameters
    ----------
    obj : Component
        An unfitted instance, built with the parameters it needs to run on ``X`` (e.g.
        ``ViM(weight=W, bias=b)``).
    X, y : optional
        Data for ``fit`` and the output method (default :func:`default_data`).
    skip : names of sub-checks not to run (see :data:`CHECKS`).

    Raises
    ------
    AssertionError naming the sub-check and the component.
    """
    if not isinstance(obj, Component):
        raise AssayInputError(f"'obj' must be an assay Component instance. Got {type(obj).__name__}.")
    unknown = set(skip) - set(CHECKS)
    if unknown:
        raise AssayInputError(f"'skip' names unknown sub-checks {sorted(unknown)}. Expected some of: {list(CHECKS)}.")
    if X is None:
        X, y = default_data() if y is None else (default_data()[0], y)
    ran = []
    for name, (check, applies) in CHECKS.items():
        if name in skip or not applies(obj):
            continue
        check(obj, X, y)
        ran.append(name)
    return ran
