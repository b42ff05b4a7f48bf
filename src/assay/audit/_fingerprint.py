"""The model's fingerprint: a hash of what determines its predictions, equal across processes.

A run directory is resumed only by the same model; a pickle's bytes differ from process to
process (memo order, object ids, unordered sets), so the model is hashed by its content: a torch
module by its ``state_dict``; any other object (a scikit-learn estimator, a pipeline, a wrapper)
by its class and state, walked deterministically (parameters, fitted arrays, nested estimators,
Cython trees through their pickled state); a plain function, or an object whose state cannot be
walked, by its name and its predictions on a fixed probe (the audit passes the evaluation split,
whose outputs are cached for the checks).
"""

from __future__ import annotations

import functools
import numbers
import types
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xxhash
from numpy.lib.recfunctions import repack_fields

from ..core.batching import fingerprint

_MAX_DEPTH = 40


class _Unhashable(Exception):
    """The state holds something whose content cannot be walked (a lock, a generator, ...)."""


def _name(obj: Any) -> bytes:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}".encode()


@functools.lru_cache(maxsize=256)
def _dtype_token(dtype: np.dtype) -> bytes:
    """The dtype's full description (field names, offsets, byte order), computed once per dtype."""
    return repr(dtype.descr if dtype.names else dtype.str).encode()


def _feed(digest: Any, obj: Any, depth: int, seen: set[int]) -> None:
    if depth > _MAX_DEPTH:
        raise _Unhashable("too deep")
    update = digest.update
    if obj is None or isinstance(obj, (bool, np.bool_)):
        update(f"<{obj!r}>".encode())
    elif isinstance(obj, (str, bytes)):
        update(b"s" if isinstance(obj, str) else b"b")
        update(str(len(obj)).encode() + b":")
        update(obj.encode() if isinstance(obj, str) else obj)
    elif isinstance(obj, numbers.Number) and not isinstance(obj, np.ndarray):
        update(_name(obj) + b"=" + repr(obj.item() if hasattr(obj, "item") else obj).encode())
    elif isinstance(obj, np.ndarray):
        update(b"nd" + _dtype_token(obj.dtype) + repr(obj.shape).encode())
        if obj.dtype.names:  # structured (e.g. a tree's nodes): packed, so the padding bytes never count
            if any(obj.dtype[field].hasobject for field in obj.dtype.names):
                for field in obj.dtype.names:
                    update(field.encode())
                    _feed(digest, np.ascontiguousarray(obj[field]), depth + 1, seen)
            else:
                packed = repack_fields(np.ascontiguousarray(obj))
                update(_dtype_token(packed.dtype))
                update(fingerprint(packed.view(np.uint8).reshape(-1)).encode())
        elif obj.dtype.hasobject:
            for item in obj.ravel(order="C"):
                _feed(digest, item, depth + 1, seen)
        else:
            update(fingerprint(np.ascontiguousarray(obj)).encode())
    elif isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
        update(b"pd" + fingerprint(obj if not isinstance(obj, pd.Index) else obj.to_series()).encode())
    elif isinstance(obj, (list, tuple)):
        update(b"[" if isinstance(obj, list) else b"(")
        for item in obj:
            _feed(digest, item, depth + 1, seen)
        update(b"]")
    elif isinstance(obj, (set, frozenset)):
        update(b"{set")
        for token in sorted(_hash_of(item, depth + 1, seen) for item in obj):
            update(token.encode())
        update(b"}")
    elif isinstance(obj, Mapping) and all(isinstance(k, str) for k in obj):
        update(b"{str")  # the common case (an object's __dict__): keys in sorted order, values fed in place
        for key in sorted(obj):
            update(str(len(key)).encode() + b":" + key.encode())
            _feed(digest, obj[key], depth + 1, seen)
        update(b"}")
    elif isinstance(obj, Mapping):
        update(b"{")
        for token in sorted((_hash_of(k, depth + 1, seen), _hash_of(v, depth + 1, seen)) for k, v in obj.items()):
            update(token[0].encode() + b":" + token[1].encode())
        update(b"}")
    elif isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType, np.ufunc)):
        # inside a model's state a function is a setting (e.g. FunctionTransformer(func=np.log1p))
        update(b"fn" + f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj.__name__)}".encode())
    elif type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        update(b"tensor" + fingerprint(obj).encode())
    elif hasattr(obj, "state_dict") and type(obj).__module__ != "builtins" and _is_torch_module(obj):
        _feed_torch(digest, obj)
    else:
        if id(obj) in seen:
            raise _Unhashable("cycle")
        seen = seen | {id(obj)}
        update(b"obj" + _name(obj))
        state = _state(obj)
        _feed(digest, state, depth + 1, seen)


def _state(obj: Any) -> Any:
    """What pickling would save of ``obj`` (its ``__getstate__`` or ``__reduce__`` arguments)."""
    if isinstance(obj, (types.GeneratorType, types.MethodType)) or callable(getattr(obj, "__next__", None)):
        if isinstance(obj, types.MethodType):
            return (obj.__func__, obj.__self__)
        raise _Unhashable(type(obj).__name__)
    try:
        reduced = obj.__reduce_ex__(4)
    except Exception as exc:  # noqa: BLE001 - unpicklable: no content to walk
        raise _Unhashable(str(exc)) from None
    if isinstance(reduced, str):
        return reduced
    # (callable, args[, state[, listitems[, dictitems]]]); the callable is a class or copyreg helper
    parts = list(reduced[1:])
    for i, extra in enumerate(parts[2:4], start=2):
        parts[i] = None if extra is None else list(extra)
    return parts


def _hash_of(obj: Any, depth: int, seen: set[int]) -> str:
    digest = xxhash.xxh3_128()
    _feed(digest, obj, depth, seen)
    return digest.hexdigest()


def _is_torch_module(obj: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(obj, torch.nn.Module)


def _feed_torch(digest: Any, module: Any) -> None:
    digest.update(b"torch" + _name(module))
    for key, tensor in module.state_dict().items():
        digest.update(key.encode())
        digest.update(fingerprint(tensor).encode())


def model_fingerprint(adapter: Any, *, probe: Any = None) -> str:
    """XXH3-128 of what determines the predictions of ``adapter.model`` (see the module docstring)."""
    if adapter is None:
        return "no-model"
    calibrator = getattr(adapter, "calibrator", None)
    if calibrator is not None and hasattr(adapter, "base"):  # a calibrated model: the model and the calibrator
        digest = xxhash.xxh3_128(model_fingerprint(adapter.base, probe=probe).encode())
        _feed(digest, calibrator, 0, set())
        return digest.hexdigest()
    model = adapter.model
    digest = xxhash.xxh3_128(_name(model))
    if adapter.kind == "torch" and _is_torch_module(model):
        _feed_torch(digest, model)
        return digest.hexdigest()
    if not isinstance(model, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial)):
        try:
            _feed(digest, model, 0, set())
            return digest.hexdigest()
        except (_Unhashable, RecursionError):
            digest = xxhash.xxh3_128(_name(model))
    # a function's behaviour is not in its state (it reads globals): fingerprint what it predicts
    digest.update(f"{getattr(model, '__module__', '')}.{getattr(model, '__qualname__', '')}".encode())
    if probe is not None:
        outputs = adapter.predict(probe) if getattr(adapter, "task", None) == "regression" else \
            adapter.predict_proba(probe)
        digest.update(b"probe" + fingerprint(np.asarray(outputs, dtype=np.float64)).encode())
    return digest.hexdigest()

