"""Load a model to audit from a file or from the user's own Python code, safely by default.

:func:`load_model` takes what a user passes as ``--model`` and returns a :class:`LoadedModel`
whose ``.model`` :func:`assay.wrap` accepts. The forms, and whether they can run code:

===============================  =====================  ============================================
``--model``                      ``kind``               runs code?
===============================  =====================  ============================================
``module:function``,             ``"python"``           yes: the user's own code, named explicitly
``path/to/file.py:function``                            (importing the module runs it)
``model.pt`` / ``.pth``          ``"torchscript"``      no: ``torch.jit.load`` reads TorchScript
(TorchScript archive)                                   (no Python unpickling, no Python imports)
``model.pt`` / ``.pth``          ``"torch-state-dict"`` no: ``torch.load(weights_only=True)``, loaded
(``torch.save(state_dict)``)                            into the module ``model_factory`` builds
``model.safetensors``            ``"safetensors"``      no: tensors only, loaded into the module
                                                        ``model_factory`` builds
``model.pt`` holding a pickled   ``"torch-module"``     yes, so refused unless
``nn.Module`` (``torch.save(m)``)                       ``trust_model_file=True``
``model.pkl`` / ``.pickle`` /    ``"pickle"``           yes, so refused unless
``.joblib`` (optionally ``.gz``)                        ``trust_model_file=True``; read by joblib
===============================  =====================  ============================================

Security: unpickling (``pickle``, ``joblib``, ``torch.load(weights_only=False)``) runs whatever
code the file's author put in it. Those loaders are used only with ``trust_model_file=True``
(the ``--trust-model-file`` flag; :data:`TRUST_MODEL_FILE_HELP` is its help text). Without it,
a ``.pt`` file is read with ``torch.load(weights_only=True)``, whose restricted unpickler
rejects any class or function outside torch's allow-list *before* calling it, and a pickle
file is not opened at all.

``module:function`` convention: the attribute (a dotted path after the colon) is resolved in
the imported module, then

* a class is instantiated with no arguments;
* a model instance (a torch ``nn.Module``, an object with ``predict_proba`` or
  ``decision_function``) is used as it is;
* a function that can be called with no arguments is a *factory*: it is called and must return
  the model;
* a function with required parameters is the model itself, a scoring callable ``f(X)``
  (see :func:`assay.wrap`).

``model_factory`` (``--model-factory``) follows the same convention and must give a torch
``nn.Module``; it is needed, and allowed, only for weights-only files (state dicts, safetensors).

While user code is imported or called, and while a trusted pickle is read, the current
directory is put first on ``sys.path`` (and, for ``file.py:function``, the file's directory),
so modules next to the user's data are found even from the ``assay`` console script.

Every failure raises :class:`~assay.core.errors.AssayInputError` with a one-line message that
starts with the argument's name (``--model``, ``--model-factory``), e.g.
``--model: file 'model.pt' does not exist ...``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import pickle
import re
import sys
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._common import check_readable_file, input_error, on_sys_path, quoted, reason

__all__ = [
    "MODEL_KINDS",
    "SUPPORTED_MODEL_FORMS",
    "TRUST_MODEL_FILE_HELP",
    "LoadedModel",
    "load_model",
]

TRUST_FLAG = "--trust-model-file"

#: Help text for the ``--trust-model-file`` flag: what it allows and why it is off by default.
TRUST_MODEL_FILE_HELP = (
    "allow loading model files that hold pickled Python objects (.pkl, .pickle, .joblib, or a "
    ".pt file saved with torch.save(model)). Unpickling runs arbitrary code stored in the file, "
    "so without this flag such files are refused; pass it only for files you made yourself or "
    "whose author you trust. Not needed for TorchScript, state_dict or safetensors files."
)

#: The ``kind`` values of :class:`LoadedModel`.
MODEL_KINDS = ("python", "torchscript", "torch-state-dict", "torch-module", "safetensors", "pickle")

#: One-line list of the accepted ``--model`` forms, used in error messages and CLI help.
SUPPORTED_MODEL_FORMS = (
    "a TorchScript file or a torch.save'd state_dict (.pt, .pth), safetensors weights "
    "(.safetensors; state dicts and safetensors need --model-factory), a pickle/joblib file "
    f"(.pkl, .pickle, .joblib; needs {TRUST_FLAG}), or Python code as 'module:function' or "
    "'path/to/file.py:function'"
)

_TORCH_SUFFIXES = (".pt", ".pth")
_SAFETENSORS_SUFFIXES = (".safetensors",)
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".lzma", ".z", ".zst")
_STATE_DICT_KEYS = ("state_dict", "model_state_dict")
_MODEL_EXPECTED = (
    "a PyTorch nn.Module, a fitted scikit-learn classifier (with predict_proba or "
    "decision_function) or a callable returning scores"
)


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded by :func:`load_model`, and how.

    Attributes
    ----------
    model : object
        What :func:`assay.wrap` takes: a torch ``nn.Module`` (TorchScript modules included), a
        fitted scikit-learn classifier, or a scoring callable.
    kind : str
        One of :data:`MODEL_KINDS`: ``"python"``, ``"torchscript"``, ``"torch-state-dict"``,
        ``"torch-module"``, ``"safetensors"`` or ``"pickle"``.
    source : str
        The ``--model`` value as given (a path or ``module:function``).
    factory : str or None
        The ``--model-factory`` that built the module the weights were loaded into
        (``"torch-state-dict"`` and ``"safetensors"`` only).
    trusted : bool
        True if loading ran code stored in the file (only possible with
        ``trust_model_file=True``).
    """

    model: Any
    kind: str
    source: str
    factory: str | None = None
    trusted: bool = False

    def describe(self) -> str:
        """A short line for reports, e.g. ``"model.pt (torch-state-dict, factory m:build)"``."""
        extra = f", factory {self.factory}" if self.factory else ""
        return f"{self.source} ({self.kind}{extra}, {type(self.model).__name__})"


# ---------------------------------------------------------------------- entry point
def load_model(
    spec: str | os.PathLike,
    *,
    trust_model_file: bool = False,
    model_factory: str | Callable[[], Any] | None = None,
    arg_name: str = "--model",
    factory_arg_name: str = "--model-factory",
) -> LoadedModel:
    """Load the model named by ``spec`` without running code from an untrusted file.

    Parameters
    ----------
    spec : str or path
        A model file (``.pt``, ``.pth``, ``.safetensors``, ``.pkl``, ``.pickle``, ``.joblib``)
        or Python code as ``module:function`` / ``module:attribute`` /
        ``path/to/file.py:function`` (see the module docstring for what is called).
    trust_model_file : bool
        Allow formats whose loading runs code stored in the file: pickle/joblib files and
        ``.pt`` files holding pickled objects (``torch.load(weights_only=False)``). Off by
        default; see :data:`TRUST_MODEL_FILE_HELP`.
    model_factory : str or callable, optional
        Builds the torch ``nn.Module`` that a weights-only file (a state dict in a ``.pt``
        file, or a ``.safetensors`` file) is loaded into, with ``load_state_dict(strict=True)``:
        ``"module:function"``, ``"path/to/file.py:function"`` or a callable / class taking no
        arguments. Required for those files, an error for any other form.
    arg_name, factory_arg_name : str
        Names of the arguments used in error messages (the CLI flags by default).

    Returns
    -------
    LoadedModel
        ``.model`` is ready for :func:`assay.wrap`; ``.kind`` says how it was loaded.

    Raises
    ------
    AssayInputError
        One-line message naming ``arg_name`` (or ``factory_arg_name``): a missing, unreadable
        or corrupt file, an unsupported form, a pickle refused for lack of trust, a state dict
        without a factory or not fitting the factory's module, a failing import, or an object
        that is not a model.
    """
    if not isinstance(spec, (str, os.PathLike)) or not os.fspath(spec):
        raise input_error(arg_name, f"expected {SUPPORTED_MODEL_FORMS}. Got {spec!r}.")
    text = os.fspath(spec)
    ctx = _Context(arg_name, factory_arg_name, model_factory, bool(trust_model_file), text)

    python_spec = None if Path(text).is_file() else _split_python_spec(text)
    if python_spec is not None:
        ctx.refuse_factory("Python code")
        obj = _resolve_python_spec(python_spec, text, arg_name)
        with on_sys_path(*_code_dirs(python_spec)):
            model = _model_from_object(obj, text, arg_name)
        return LoadedModel(model, "python", text)

    kind = _file_kind(Path(text), arg_name)
    path = check_readable_file(text, arg=arg_name, expected="an existing model file")
    if path.stat().st_size == 0:
        raise input_error(arg_name, f"{quoted(path)} is empty (0 bytes); expected a saved model.")
    if kind == "torch":
        return _load_torch_file(path, ctx)
    if kind == "safetensors":
        return _load_safetensors(path, ctx)
    return _load_pickle(path, ctx)


@dataclass(frozen=True)
class _Context:
    arg: str
    factory_arg: str
    factory: Any
    trust: bool
    source: str

    def refuse_factory(self, what: str) -> None:
        if self.factory is not None:
            raise input_error(
                self.factory_arg,
                f"not used: {quoted(self.source)} is {what}, which builds its own model; a model "
                "factory is needed only for weights-only files (state_dict .pt, .safetensors). "
                "Drop it.",
            )

    def factory_label(self) -> str:
        if isinstance(self.factory, (str, os.PathLike)):
            return os.fspath(self.factory)
        return getattr(self.factory, "__qualname__", None) or type(self.factory).__name__


# ---------------------------------------------------------------------- forms
def _file_kind(path: Path, arg: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    last = suffixes[-1] if suffixes else ""
    if last in _TORCH_SUFFIXES:
        return "torch"
    if last in _SAFETENSORS_SUFFIXES:
        return "safetensors"
    if last in _PICKLE_SUFFIXES or (
        last in _COMPRESSION_SUFFIXES and len(suffixes) > 1 and suffixes[-2] in _PICKLE_SUFFIXES
    ):
        return "pickle"
    if last == ".onnx":
        raise input_error(
            arg,
            f"cannot load {quoted(path)}: ONNX models are not supported (export the model with "
            "torch.jit.script/trace instead, or wrap an onnxruntime session in a Python function "
            f"and pass it as 'module:function'). Supported: {SUPPORTED_MODEL_FORMS}.",
        )
    shown = f"extension {last!r}" if last else "no extension"
    raise input_error(
        arg, f"cannot load {quoted(path)} ({shown}); expected {SUPPORTED_MODEL_FORMS}."
    )


def _split_python_spec(text: str) -> tuple[str, str, bool] | None:
    """``"pkg.mod:obj.attr"`` -> ``("pkg.mod", "obj.attr", False)``; ``"f.py:g"`` -> ``(.., True)``.

    None if ``text`` is not of that form (e.g. a file path, including ``C:\\...`` paths).
    """
    module, colon, attr = text.rpartition(":")
    if not colon or not module or not attr:
        return None
    if not all(part.isidentifier() for part in attr.split(".")):
        return None
    if module.lower().endswith(".py"):
        return module, attr, True
    if all(part.isidentifier() for part in module.split(".")):
        return module, attr, False
    return None


def _code_dirs(python_spec: tuple[str, str, bool]) -> list[Path]:
    module, _, is_file = python_spec
    dirs = [Path.cwd()]
    if is_file:
        dirs.insert(0, Path(module).expanduser().resolve().parent)
    return dirs


def _resolve_python_spec(python_spec: tuple[str, str, bool], text: str, arg: str) -> Any:
    """Import the module (this runs the user's code) and return the named attribute."""
    module_name, attr, is_file = python_spec
    with on_sys_path(*_code_dirs(python_spec)):
        module = _import_file(module_name, arg) if is_file else _import_module(module_name, arg)
    obj: Any = module
    walked = []
    for part in attr.split("."):
        walked.append(part)
        if not hasattr(obj, part):
            names = _candidates(module) if obj is module else []
            more = ", ..." if len(names) > 10 else ""
            shown = f"; it defines {', '.join(names[:10])}{more}" if names else ""
            raise input_error(
                arg,
                f"{quoted(text)}: {module_name!r} has no attribute {'.'.join(walked)!r}{shown}.",
            )
        obj = getattr(obj, part)
    return obj


def _candidates(module: Any) -> list[str]:
    """Public classes and functions defined in ``module``, and model instances in it."""
    names = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        try:
            defined_here = getattr(value, "__module__", None) == module.__name__
            builder = (inspect.isclass(value) or inspect.isfunction(value)) and defined_here
            if builder or _is_model_instance(value):
                names.append(name)
        except Exception:  # noqa: BLE001 - odd objects in user modules are just not listed
            continue
    return sorted(names)


def _import_module(name: str, arg: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise input_error(
                arg,
                f"cannot import module {name!r}: no module named {exc.name!r} in the current "
                "directory or on the Python path; expected 'module:function' with an importable "
                "module, or 'path/to/file.py:function'.",
            ) from exc
        raise input_error(arg, f"importing module {name!r} failed: {reason(exc)}.") from exc
    except Exception as exc:  # noqa: BLE001 - any failure of the user's module is reported
        raise input_error(arg, f"importing module {name!r} failed: {reason(exc)}.") from exc


def _import_file(filename: str, arg: str) -> Any:
    path = check_readable_file(filename, arg=arg, expected="a Python file ('path/to/file.py:function')")
    resolved = path.resolve()
    stem = re.sub(r"\W", "_", resolved.stem)
    digest = hashlib.sha1(os.fsencode(resolved)).hexdigest()[:8]
    # A unique name, so that a user's "io.py" or "model.py" never shadows another module.
    module_name = f"_assay_user_code_{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:  # pragma: no cover - only for odd suffixes
        raise input_error(arg, f"cannot import {quoted(path)} as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # classes defined there stay picklable / dataclass-able
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001
        sys.modules.pop(module_name, None)
        raise input_error(arg, f"importing {quoted(path)} failed: {reason(exc)}.") from exc
    return module


def _is_model_instance(obj: Any) -> bool:
    if isinstance(obj, type):
        return False
    if _is_torch_module(obj):
        return True
    return hasattr(obj, "predict_proba") or hasattr(obj, "decision_function")


def _is_torch_module(obj: Any) -> bool:
    import torch

    return isinstance(obj, torch.nn.Module)


def _callable_without_args(obj: Any) -> bool:
    try:
        inspect.signature(obj).bind()
    except TypeError:
        return False
    except ValueError:  # no signature (some builtins): not a factory we can reason about
        return False
    return True


def _call_factory(obj: Any, label: str, arg: str) -> Any:
    try:
        return obj()
    except Exception as exc:  # noqa: BLE001 - the user's code failed
        raise input_error(
            arg, f"calling {quoted(label)} with no arguments failed: {reason(exc)}."
        ) from exc


def _model_from_object(obj: Any, label: str, arg: str) -> Any:
    """Apply the ``module:function`` convention (see the module docstring) and check the result."""
    if inspect.isclass(obj):
        model = _call_factory(obj, label, arg)
    elif _is_model_instance(obj):
        model = obj
    elif callable(obj):
        if not _callable_without_args(obj):
            return obj  # a scoring callable f(X): the model itself
        model = _call_factory(obj, label, arg)
    else:
        raise input_error(
            arg,
            f"{quoted(label)} is {_a(obj)}, not a model, a class or a function; expected "
            f"{_MODEL_EXPECTED}, or a class / function taking no arguments that returns one.",
        )
    what = f"{quoted(label)} is" if model is obj else f"{quoted(label)} returned"
    return _check_model(model, what, arg)


def _a(obj: Any) -> str:
    if obj is None:
        return "None"
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _check_model(model: Any, what: str, arg: str) -> Any:
    """Raise unless ``model`` is something :func:`assay.wrap` accepts (fitted, for sklearn)."""
    if _is_torch_module(model):
        return model
    if inspect.isclass(model) or model is None:
        got = "None" if model is None else f"the class {model.__name__} (not an instance)"
        raise input_error(arg, f"{what} {got}; expected {_MODEL_EXPECTED}.")
    from ..core.adapters_regression import _is_sklearn_regressor

    scores = hasattr(model, "predict_proba") or hasattr(model, "decision_function")
    if hasattr(model, "fit") and (scores or _is_sklearn_regressor(model)):
        _check_fitted(model, what, arg)
        return model
    if callable(model):
        return model
    hint = " (a transformer? assay audits classifiers and scikit-learn regressors)" if hasattr(model, "predict") else ""
    raise input_error(arg, f"{what} {_a(model)}{hint}; expected {_MODEL_EXPECTED}.")


def _check_fitted(model: Any, what: str, arg: str) -> None:
    try:
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise input_error(
            arg, f"{what} an unfitted {type(model).__name__}; fit it before saving or returning it."
        ) from None
    except TypeError:
        pass  # not a scikit-learn estimator in the strict sense


# ---------------------------------------------------------------------- torch files
def _is_torchscript_archive(path: Path) -> bool:
    """TorchScript archives (``torch.jit.save``) hold ``<name>/code/`` and ``constants.pkl``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
#: torch.save's legacy (non-zip) format starts with a pickled magic number, protocol 2.
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"


def _is_raw_pickle(path: Path) -> bool:
    """A plain pickle (``pickle.dump``, protocol 2-5), neither a torch.save zip nor its legacy format."""
    with open(path, "rb") as handle:
        head = handle.read(len(_LEGACY_TORCH_MAGIC))
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5
            and not head.startswith(_LEGACY_TORCH_MAGIC) and not zipfile.is_zipfile(path))


def _load_torch_file(path: Path, ctx: _Context) -> LoadedModel:
    import torch

    if _is_torchscript_archive(path):
        ctx.refuse_factory("a TorchScript module")
        try:
            with warnings.catch_warnings():
                # torch 2.13 deprecates TorchScript in favour of torch.export; loading works.
                warnings.filterwarnings(
                    "ignore", message=".*torch.jit.* is deprecated", category=DeprecationWarning
                )
                module = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:  # noqa: BLE001 - any failure means a corrupt archive
            raise input_error(
                ctx.arg,
                f"cannot load {quoted(path)} as TorchScript (corrupt file?): {_torch_reason(exc)}.",
            ) from exc
        return LoadedModel(module, "torchscript", ctx.source)

    if _is_raw_pickle(path):
        if not ctx.trust:
            # Not opened further: even reading its first object could run its code.
            raise input_error(
                ctx.arg,
                f"{quoted(path)} is not a torch.save file: it holds pickled Python objects (a plain "
                "pickle renamed .pt?); unpickling them would run code stored in the file, so it was "
                f"refused. Pass {TRUST_FLAG} (trust_model_file=True in Python) only if you trust the "
                "file's author, or save the model as TorchScript (torch.jit.script(model).save(path)) "
                "or as a state_dict (torch.save(model.state_dict(), path)) with --model-factory.",
            )
        return _load_pickle(path, ctx)

    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        found = _GLOBAL.search(str(exc))
        if found is None:
            raise input_error(
                ctx.arg, f"cannot load {quoted(path)} with torch.load (corrupt or not a PyTorch file?): "
                f"{_torch_reason(exc)}.",
            ) from exc
        if not ctx.trust:
            raise input_error(
                ctx.arg,
                f"{quoted(path)} holds pickled Python objects (e.g. {found.group(1)}), not only "
                "tensors; unpickling them would run code stored in the file, so it was refused. "
                f"Pass {TRUST_FLAG} (trust_model_file=True in Python) only if you trust the file's "
                "author, or save the model as "
                "TorchScript (torch.jit.script(model).save(path)) or as a state_dict "
                "(torch.save(model.state_dict(), path)) with --model-factory.",
            ) from None
        return _load_trusted_torch(path, ctx)
    except Exception as exc:  # noqa: BLE001 - RuntimeError (bad zip), EOFError, ...
        raise input_error(
            ctx.arg, f"cannot load {quoted(path)} with torch.load (corrupt or not a PyTorch file?): "
            f"{_torch_reason(exc)}.",
        ) from exc
    return _from_torch_object(obj, path, ctx, trusted=False)


def _unpickle_hint(exc: Exception) -> str:
    if isinstance(exc, (AttributeError, ImportError)):
        return (" (the classes the file refers to must be importable here: defined in a module, "
                "not in the script that saved the file)")
    return ""


def _load_trusted_torch(path: Path, ctx: _Context) -> LoadedModel:
    import torch

    try:
        with on_sys_path(Path.cwd()):
            obj = torch.load(path, weights_only=False, map_location="cpu")
    except Exception as exc:  # noqa: BLE001
        hint = _unpickle_hint(exc)
        raise input_error(
            ctx.arg, f"loading {quoted(path)} with {TRUST_FLAG} (torch.load, weights_only=False) "
            f"failed: {_torch_reason(exc)}{hint}.",
        ) from exc
    return _from_torch_object(obj, path, ctx, trusted=True)


def _from_torch_object(obj: Any, path: Path, ctx: _Context, *, trusted: bool) -> LoadedModel:
    state = _as_state_dict(obj)
    if state is not None:
        module = _build_factory_module(ctx, path, f"a state_dict ({len(state)} tensors)")
        _load_state(module, state, path, ctx)
        return LoadedModel(module, "torch-state-dict", ctx.source, ctx.factory_label(), trusted)
    if _is_torch_module(obj):
        ctx.refuse_factory("a pickled nn.Module")
        return LoadedModel(obj, "torch-module", ctx.source, None, trusted)
    if isinstance(obj, Mapping) and not obj:
        raise input_error(
            ctx.arg, f"{quoted(path)} holds an empty dict; expected a state_dict or a model."
        )
    if trusted:
        ctx.refuse_factory(f"{_a(obj)}")
        model = _check_model(obj, f"{quoted(path)} holds", ctx.arg)
        return LoadedModel(model, "torch-module", ctx.source, None, trusted)
    keys = f" with keys {list(obj)[:5]}" if isinstance(obj, Mapping) else ""
    raise input_error(
        ctx.arg,
        f"{quoted(path)} holds {_a(obj)}{keys}; expected a TorchScript module or a state_dict "
        "(a dict of parameter name -> tensor, optionally under 'state_dict' or 'model_state_dict').",
    )


def _as_state_dict(obj: Any) -> Mapping[str, Any] | None:
    import torch

    def is_tensor_map(m: Any) -> bool:
        return (
            isinstance(m, Mapping) and len(m) > 0
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in m.items())
        )

    if is_tensor_map(obj):
        return obj
    if isinstance(obj, Mapping):
        for key in _STATE_DICT_KEYS:
            if is_tensor_map(obj.get(key)):
                return obj[key]
    return None


def _torch_reason(exc: BaseException) -> str:
    """torch's message cut to its cause (its general advice runs over many lines)."""
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:  # keep the unpickler's own reason, not torch's advice on weights_only
        text = text.split(marker, 1)[1].split("Check the documentation", 1)[0]
    else:
        text = text.split(" This is an internal miniz error", 1)[0]
    return reason(exc, text=text)


# ---------------------------------------------------------------------- safetensors
def _load_safetensors(path: Path, ctx: _Context) -> LoadedModel:
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise input_error(
            ctx.arg, f"loading {quoted(path)} needs the 'safetensors' package: pip install safetensors."
        ) from None
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - SafetensorError, OSError, ...
        raise input_error(
            ctx.arg, f"cannot load {quoted(path)} as safetensors (corrupt file?): {reason(exc)}."
        ) from exc
    if not state:
        raise input_error(ctx.arg, f"{quoted(path)} holds no tensors; expected the model's weights.")
    module = _build_factory_module(ctx, path, f"safetensors weights ({len(state)} tensors)")
    _load_state(module, state, path, ctx)
    return LoadedModel(module, "safetensors", ctx.source, ctx.factory_label())


# ---------------------------------------------------------------------- factories
def _build_factory_module(ctx: _Context, path: Path, what: str) -> Any:
    """Build the ``nn.Module`` that weights are loaded into, from ``model_factory``."""
    factory = ctx.factory
    if factory is None:
        raise input_error(
            ctx.arg,
            f"{quoted(path)} holds {what}: weights without the model's code. Pass "
            f"{ctx.factory_arg} as 'module:function' (or 'path/to/file.py:function') naming a "
            "function or class that builds the nn.Module to load them into, or save the model as "
            "TorchScript (torch.jit.script(model).save(path)).",
        )
    label = ctx.factory_label()
    if isinstance(factory, (str, os.PathLike)):
        python_spec = _split_python_spec(os.fspath(factory))
        if python_spec is None:
            raise input_error(
                ctx.factory_arg,
                f"expected 'module:function' or 'path/to/file.py:function' naming what builds the "
                f"nn.Module. Got {label!r}.",
            )
        obj = _resolve_python_spec(python_spec, label, ctx.factory_arg)
        dirs = _code_dirs(python_spec)
    elif callable(factory):
        obj, dirs = factory, [Path.cwd()]
    else:
        raise input_error(
            ctx.factory_arg, f"expected 'module:function' or a callable. Got {_a(factory)}."
        )
    if _is_torch_module(obj):
        module = obj
    elif inspect.isclass(obj) or (callable(obj) and _callable_without_args(obj)):
        with on_sys_path(*dirs):
            module = _call_factory(obj, label, ctx.factory_arg)
    else:
        raise input_error(
            ctx.factory_arg,
            f"{quoted(label)} is {_a(obj)} that cannot be called with no arguments; expected a "
            "function or class taking no arguments that builds the nn.Module.",
        )
    if not _is_torch_module(module):
        raise input_error(
            ctx.factory_arg,
            f"{quoted(label)} returned {_a(module)}; expected a torch nn.Module to load the weights "
            f"of {quoted(path)} into.",
        )
    return module


def _load_state(module: Any, state: Mapping[str, Any], path: Path, ctx: _Context) -> None:
    """``module.load_state_dict(state, strict=True)`` with a one-line account of any mismatch."""
    expected = module.state_dict()
    if not set(state) & set(expected) and all(k.startswith("module.") for k in state):
        # Saved from a DataParallel / DistributedDataParallel wrapper.
        stripped = {k[len("module."):]: v for k, v in state.items()}
        if set(stripped) == set(expected):
            state = stripped
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} in the file vs {tuple(v.shape)} in the module"
        for k, v in expected.items()
        if k in state and hasattr(v, "shape") and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected),
                         ("shape mismatches", mismatched)):
        if items:
            more = ", ..." if len(items) > 5 else ""
            problems.append(f"{label} ({len(items)}): {', '.join(items[:5])}{more}")
    if problems:
        raise input_error(
            ctx.arg,
            f"the weights in {quoted(path)} do not fit the {type(module).__name__} built by "
            f"{ctx.factory_arg} {ctx.factory_label()!r}: {'; '.join(problems)}.",
        )
    try:
        module.load_state_dict(state, strict=True)
    except Exception as exc:  # noqa: BLE001 - e.g. dtype conversions that fail
        raise input_error(
            ctx.arg, f"loading the weights in {quoted(path)} into the {type(module).__name__} built by "
            f"{ctx.factory_arg} {ctx.factory_label()!r} failed: {reason(exc)}.",
        ) from exc


# ---------------------------------------------------------------------- pickle / joblib
def _load_pickle(path: Path, ctx: _Context) -> LoadedModel:
    if not ctx.trust:
        # The file is not opened: even reading its first object could run its code.
        raise input_error(
            ctx.arg,
            f"refusing to load {quoted(path)}: unpickling a pickle/joblib file runs arbitrary code "
            f"stored in it. Pass {TRUST_FLAG} only if you made the file yourself or trust its "
            "author, or save the model in a format that holds no code (TorchScript, or a torch "
            "state_dict / safetensors with --model-factory).",
        )
    ctx.refuse_factory("a pickled model")
    try:
        with on_sys_path(Path.cwd()):
            try:
                import joblib
            except ImportError:  # pragma: no cover - joblib comes with scikit-learn
                with open(path, "rb") as handle:
                    obj = pickle.load(handle)  # noqa: S301 - explicitly trusted by the user
            else:
                obj = joblib.load(path)  # reads plain pickles and (compressed) joblib files
    except Exception as exc:  # noqa: BLE001
        hint = _unpickle_hint(exc)
        raise input_error(
            ctx.arg, f"cannot unpickle {quoted(path)} (corrupt file?): {reason(exc)}{hint}."
        ) from exc
    model = _check_model(obj, f"{quoted(path)} holds", ctx.arg)
    return LoadedModel(model, "pickle", ctx.source, None, True)
