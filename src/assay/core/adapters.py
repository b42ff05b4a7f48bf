"""Model adapters: one way to get outputs from any model, in batches, computed once.

``assay.wrap(model)`` accepts

* a PyTorch ``nn.Module`` returning logits (``(n, k)``, or ``(n,)``/``(n, 1)`` for a binary
  model with one logit) — run in eval mode, without gradients, in batches, on the model's device;
* a fitted scikit-learn classifier (``predict_proba``, else ``decision_function``);
* any callable ``f(X_batch) -> scores`` (``output="logits"`` or ``"probabilities"``).
* regressors (scikit-learn regressors; torch modules and callables with ``task="regression"``):
  :mod:`assay.core.adapters_regression`, whose adapters have ``task == "regression"``.

Every adapter gives ``logits(X)``, ``predict_proba(X)`` and ``predict(X)``; torch adapters
also give ``embeddings(X, layer=...)`` (forward hooks on any named module) and
``gradients(X, target=...)``. Outputs are cached under a content fingerprint of ``X``, so an
audit that asks ten checks for the test split's logits runs one forward pass.

Conventions: ``logits`` always has shape ``(n, k)`` with ``k >= 2`` and
``softmax(logits) == predict_proba``. A binary model with one logit ``d`` gets the two logits
``(-d/2, d/2)``; a model that outputs probabilities ``p`` gets ``log p`` (logits up to a
per-row constant).
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .batching import fingerprint, iter_slices, n_rows, progress_bar
from .errors import AssayInputError, NotFittedError
from .numeric import binary_logit_to_two, softmax
from .validation import check_bool, check_option, check_scalar, describe

_OUTPUT_OPTIONS = ("auto", "logits", "probabilities")
_NO_TORCH_FEATURE = (
    "'{method}' needs a PyTorch model: it uses {what}. Got a {kind} model ({model})."
)
_MODEL_TYPE = (
    "'model' must be a PyTorch nn.Module, a fitted scikit-learn classifier (with predict_proba or "
    "decision_function) or a callable returning scores. Got {received} instead."
)
_BAD_OUTPUT = (
    "The model output is {problem} for 'X' ({x}); expected a finite numeric array of shape (n,) "
    "or (n, k) with n = {n} rows."
)


_MODEL_OUTPUT = "model output"


def _batch_output(part: Any, rows: int, X: Any, name: str) -> np.ndarray:
    """One batch's result as a numeric numpy array with ``rows`` rows, else AssayInputError."""
    received = part
    if hasattr(part, "detach"):
        part = part.detach().cpu().numpy()
    try:
        part = np.asarray(part)
    except Exception:  # noqa: BLE001 - anything that is not an array
        part = np.asarray(None, dtype=object)
    if part.dtype.kind not in "biuf":
        shown = describe(received)
        if not isinstance(received, np.ndarray) and received is not None:
            shown += f" (as an array: dtype {part.dtype})"
        raise AssayInputError(
            f"The {name} must be numeric, with one row per input row. Got {shown} for a batch of "
            f"{rows} rows of 'X' ({describe(X)})."
        )
    if part.ndim == 0 or part.shape[0] != rows:
        raise AssayInputError(
            f"The {name} must have one row per input row: {rows} for this batch of 'X' ({describe(X)}). "
            f"Got shape {part.shape}{' (one value for the whole batch)' if part.size == 1 and rows > 1 else ''}."
        )
    return part


def _as_two_dim(raw: np.ndarray) -> np.ndarray:
    return raw.reshape(-1, 1) if raw.ndim == 1 else raw


class ModelAdapter:
    """Base class: batching, caching and output conventions shared by every model kind.

    Subclasses implement ``_native(X) -> (n, k)`` (one forward pass over all of ``X``) and set
    ``native_output`` to ``"logits"`` or ``"probabilities"``.

    Attributes
    ----------
    model : the wrapped model.
    forward_passes_ : collections.Counter
        Number of full forward passes per data fingerprint (an audit asserts one per split);
        with ``cache=False`` nothing is hashed and passes are not counted.
    """

    #: Rows per batch when ``batch_size=None``: small for torch (activation memory), large for
    #: vectorised scikit-learn/callable models (per-call overhead dominates: a pipeline's
    #: ColumnTransformer costs ~10 ms per call whatever the rows, so 16,281 Adult rows in two
    #: batches of 8,192 cost 1.3x one call).
    default_batch_size: ClassVar[int] = 65536
    #: "classification" (logits, probabilities, labels) or "regression" (``core/adapters_regression.py``).
    task: ClassVar[str] = "classification"

    def __init__(self, model: Any, *, classes: Sequence[Any] | None = None, batch_size: int | None = None,
                 progress: bool | None = None, cache: bool = True) -> None:
        if batch_size is None:
            batch_size = self.default_batch_size
        check_scalar(batch_size, "batch_size", owner="wrap", kind=numbers.Integral, low=1)
        check_bool(progress, "progress", owner="wrap", allow_none=True)
        self.model = model
        self.batch_size = int(batch_size)
        self.progress = progress
        self.cache = bool(cache)
        self._classes = None if classes is None else np.asarray(classes)
        if self._classes is not None and (self._classes.ndim != 1 or len(self._classes) < 2):
            raise AssayInputError(
                f"'classes' must be a 1-D sequence of at least 2 labels. Got {describe(classes)} instead."
            )
        self._cache: dict[tuple, Any] = {}
        self.forward_passes_: Counter[str] = Counter()
        self.native_output = "logits"

    # ------------------------------------------------------------------ public API
    @property
    def classes_(self) -> np.ndarray:
        """The class labels, in the order of the logits' columns."""
        if self._classes is None:
            raise AssayInputError(
                "The classes of this model are not known yet: pass 'classes' to wrap(), or compute "
                "outputs on some data first."
            )
        return self._classes

    @property
    def n_classes_(self) -> int:
        return len(self.classes_)

    def logits(self, X: Any) -> np.ndarray:
        """Logits, shape ``(n, k)`` with ``k >= 2``; ``softmax(logits) == predict_proba(X)``."""
        native = self._cached_native(X)
        if self.native_output == "logits":
            return native
        with np.errstate(divide="ignore"):
            return np.log(np.clip(native, np.finfo(np.float64).tiny, None))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, k)``, float64, rows summing to 1."""
        native = self._cached_native(X)
        if self.native_output == "probabilities":
            return native.astype(np.float64, copy=False)
        return softmax(native)

    def predict(self, X: Any, *, threshold: float | None = None) -> np.ndarray:
        """Predicted labels, shape ``(n,)``, taken from ``classes_``.

        With ``threshold`` (binary models only) the positive class ``classes_[1]`` is predicted
        where its probability is ``>= threshold``; otherwise the arg-max class.
        """
        if threshold is None:
            winners = np.argmax(self._cached_native(X), axis=1)
            return self.classes_[winners]
        check_scalar(threshold, "threshold", owner=f"{type(self).__name__}.predict", low=0, high=1)
        proba = self.predict_proba(X)
        if proba.shape[1] != 2:
            raise AssayInputError(
                f"'threshold' applies to binary models only; this model has {proba.shape[1]} classes."
            )
        return self.classes_[(proba[:, 1] >= threshold).astype(int)]

    def embeddings(self, X: Any, layer: str | Sequence[str], *, flatten: bool = False):
        """Outputs of named modules (torch models only). See :class:`TorchAdapter`."""
        raise AssayInputError(_NO_TORCH_FEATURE.format(
            method="embeddings", what="forward hooks on named modules", kind=self.kind,
            model=type(self.model).__name__))

    def gradients(self, X: Any, target: Any = None):
        """Input gradients of a class logit (torch models only). See :class:`TorchAdapter`."""
        raise AssayInputError(_NO_TORCH_FEATURE.format(
            method="gradients", what="autograd", kind=self.kind, model=type(self.model).__name__))

    def clear_cache(self) -> None:
        """Forget cached outputs (call it after changing the model in place)."""
        self._cache.clear()

    def map_batches(self, fn, X: Any, *, grad: bool = False, batch_size: int | None = None,
                    desc: str | None = None, cache_key: Any = None, name: str = "output of 'fn'") -> np.ndarray:
        """``fn(batch, index)`` on each batch of ``X``, written into one ``(n, ...)`` array.

        ``batch`` is ``X[index]`` (rows ``index``, a slice); torch adapters move it to the model's
        device and dtype, put the model in eval mode (restored afterwards) and run ``fn`` under
        ``torch.no_grad`` (``grad=False``) or with gradients enabled and ``batch`` a leaf that
        requires them (``grad=True``, floating inputs only). ``fn`` returns an array or tensor
        with one row per batch row; the output is allocated after the first batch, with its
        dtype. With ``cache_key``, the result is cached per ``X`` (and model state).
        """
        if not callable(fn):
            raise AssayInputError(f"'fn' must be a callable fn(batch, index). Got {describe(fn)} instead.")
        size = self.batch_size if batch_size is None else int(
            check_scalar(batch_size, "batch_size", owner="map_batches", kind=numbers.Integral, low=1))

        def compute(_fp):
            n, take, call = self._batches(X, grad)
            slices = list(iter_slices(n, size))
            out = None
            with self._batch_mode(), progress_bar(n, desc=desc or f"{type(self.model).__name__} batches",
                                                  progress=self.progress, n_batches=len(slices)) as bar:
                for index in slices:
                    part = _batch_output(call(fn, take(index), index), index.stop - index.start, X, name)
                    if out is None:  # allocated after the first batch: no list of parts, no 2x peak
                        out = np.empty((n, *part.shape[1:]), dtype=part.dtype)
                    out[index] = part
                    bar.update(index.stop - index.start)
            return out

        return compute(None) if cache_key is None else self._cached(X, ("map", cache_key), compute)

    def _batches(self, X: Any, grad: bool):
        """``(n, take(index) -> batch, call(fn, batch, index) -> result)`` for :meth:`map_batches`."""
        if grad:
            raise AssayInputError(_NO_TORCH_FEATURE.format(
                method="map_batches(grad=True)", what="autograd", kind=self.kind, model=type(self.model).__name__))
        if X is None or not hasattr(X, "__len__"):
            raise AssayInputError(f"'X' must be an array or DataFrame. Got {describe(X)} instead.")
        n = n_rows(X)
        if n == 0:
            raise AssayInputError(f"'X' must have at least one row. Got {describe(X)}.")
        framed = isinstance(X, (pd.DataFrame, pd.Series))
        return n, (lambda index: X.iloc[index] if framed else X[index]), (lambda fn, batch, index: fn(batch, index))

    def _batch_mode(self):
        return contextlib.nullcontext()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.model).__name__}, batch_size={self.batch_size})"

    # ------------------------------------------------------------------ internals
    def _state_token(self) -> Any:
        """Changes when the model's parameters change (where that can be seen cheaply)."""
        return None

    def _key(self, data_fingerprint: str, what: Any) -> tuple:
        return (self._state_token(), data_fingerprint, what)

    def _cached(self, X: Any, what: Any, compute):
        if not self.cache:  # no content hash either: it costs as much as a small model's pass
            return compute(None)
        fp = fingerprint(X)
        key = self._key(fp, what)
        if key not in self._cache:
            self._cache[key] = compute(fp)
        return self._cache[key]

    def _cached_native(self, X: Any) -> np.ndarray:
        def compute(fp):
            out = self._native(X)
            if fp is not None:  # passes are counted per data fingerprint when the cache keys them
                self.forward_passes_[fp] += 1
            return out

        return self._cached(X, "native", compute)

    def _native(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _finish_output(self, raw: np.ndarray, X: Any, kind: str) -> np.ndarray:
        """Validate a model's raw output and bring it to ``(n, k>=2)``; set classes if unknown."""
        n = n_rows(X)
        if raw.ndim not in (1, 2) or raw.shape[0] != n:
            raise AssayInputError(_BAD_OUTPUT.format(
                problem=f"an array of shape {raw.shape}", x=describe(X), n=n))
        if not np.issubdtype(raw.dtype, np.number):
            raise AssayInputError(_BAD_OUTPUT.format(
                problem=f"an array of dtype {raw.dtype}", x=describe(X), n=n))
        bad = ~np.isfinite(raw)
        if bad.any():
            rows = np.flatnonzero(bad.reshape(n, -1).any(axis=1))
            raise AssayInputError(_BAD_OUTPUT.format(
                problem=f"NaN or infinite scores in {rows.size} row(s) (first at row {rows[0]})",
                x=describe(X), n=n))
        raw = _as_two_dim(raw)
        if kind == "probabilities":
            if raw.shape[1] == 1:
                p = raw[:, 0].astype(np.float64)
                raw = np.column_stack([1.0 - p, p])
            low, high = float(raw.min()), float(raw.max())
            sums = raw.sum(axis=1)
            if low < -1e-6 or high > 1 + 1e-6 or np.abs(sums - 1).max() > 1e-4:
                raise AssayInputError(
                    "The model's scores were declared (or detected) as probabilities but are not: "
                    f"values in [{low:.4g}, {high:.4g}], row sums in [{sums.min():.4g}, {sums.max():.4g}]. "
                    "Pass output='logits' to wrap() if the model returns unnormalised scores."
                )
        elif raw.shape[1] == 1:
            raw = binary_logit_to_two(raw[:, 0])
        if self._classes is None:
            self._classes = np.arange(raw.shape[1])
        elif len(self._classes) != raw.shape[1]:
            raise AssayInputError(
                f"'classes' has {len(self._classes)} labels but the model returned scores for "
                f"{raw.shape[1]} classes."
            )
        return raw


# ---------------------------------------------------------------------- torch
def _INTEGER_DTYPES():  # noqa: N802 - a constant that needs torch imported
    import torch

    return (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool)


class TorchAdapter(ModelAdapter):
    """Adapter for a PyTorch ``nn.Module`` that returns logits.

    Inputs: numpy arrays, torch tensors, or numeric DataFrames; floating inputs are cast to the
    model's parameter dtype, integer inputs (token ids) are kept. The model runs in eval mode
    (restored afterwards) under ``torch.no_grad``, in batches of ``batch_size`` on ``device``
    (default: the model's own device). Outputs that are not a tensor are read from ``.logits``
    (Hugging Face) or the first element of a tuple.
    """

    kind = "torch"
    default_batch_size = 256

    def __init__(self, model: Any, *, device: Any = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        import torch

        if device is None:
            first = next(iter(model.parameters()), None)
            device = first.device if first is not None else torch.device("cpu")
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError):
            raise AssayInputError(
                f"'device' must be a torch device or its name (e.g. 'cpu', 'cuda:0'). Got {device!r} instead."
            ) from None
        first = next(iter(model.parameters()), None)
        self._float_dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
        self.capture_layers: list[str] = []

    def capture(self, layers: str | Sequence[str]) -> TorchAdapter:
        """Capture ``layers`` on every forward pass from now on, whatever asked for the pass.

        Checks that will read a layer's output later (OOD detectors, probes, explainers)
        declare it here before the first pass, so that ``predict_proba`` now and
        ``embeddings(layer)`` later share one pass per split. Unknown names raise
        :class:`AssayInputError` at once.
        """
        for name in self._resolve_layers(layers):
            if name not in self.capture_layers:
                self.capture_layers.append(name)
        return self

    # ---- conversion and batching
    def _to_tensor(self, X: Any):
        import torch

        if isinstance(X, pd.DataFrame):
            non_numeric = [c for c, t in X.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
            if non_numeric:
                raise AssayInputError(
                    f"'X' is a DataFrame with non-numeric columns {non_numeric[:5]}; a torch model needs "
                    "numeric input: encode it first (e.g. assay.models.make_tabular_preprocessor)."
                )
            X = X.to_numpy(dtype=np.float32)
        if isinstance(X, torch.Tensor):
            tensor = X.detach()
        else:
            try:
                arr = np.asarray(X)
                with warnings.catch_warnings():
                    # Read-only arrays (pandas copy-on-write) are only read here, never written.
                    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
                    tensor = torch.from_numpy(arr) if arr.dtype != object else None
            except (TypeError, ValueError):
                tensor = None
            if tensor is None:
                raise AssayInputError(
                    f"'X' must be a numpy array, torch tensor or numeric DataFrame. Got {describe(X)} instead."
                )
        if tensor.ndim == 0 or tensor.shape[0] == 0:
            raise AssayInputError(f"'X' must have at least one row. Got {describe(X)}.")
        return tensor

    def _prepare_batch(self, tensor, index: slice):
        batch = tensor[index]
        if batch.is_floating_point():
            return batch.to(device=self.device, dtype=self._float_dtype)
        return batch.to(device=self.device)

    @staticmethod
    def _logits_of(output):
        import torch

        if isinstance(output, torch.Tensor):
            return output
        if hasattr(output, "logits"):
            return output.logits
        if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
            return output[0]
        raise AssayInputError(
            f"The model returned {describe(output)}; expected a tensor of logits (or an object with "
            "'.logits', or a tuple whose first element is the logits)."
        )

    @contextlib.contextmanager
    def _eval_mode(self):
        modes = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        try:
            yield
        finally:
            for module, training in modes:
                module.training = training

    def _call_model(self, batch, X: Any):
        try:
            out = self._logits_of(self.model(batch))
        except (RuntimeError, TypeError, ValueError, IndexError) as exc:
            if isinstance(exc, AssayInputError):
                raise
            raise AssayInputError(
                f"The model could not be run on 'X' ({describe(X)}); batches have shape "
                f"{tuple(batch.shape)} and dtype {batch.dtype}. The model said: {exc}"
            ) from exc
        rows = batch.shape[0]
        if out.ndim not in (1, 2) or out.shape[0] != rows:
            raise AssayInputError(
                f"The {_MODEL_OUTPUT} must have shape (n,) or (n, k) with one row per input row: {rows} "
                f"for this batch of 'X' ({describe(X)}). Got shape {tuple(out.shape)}"
                f"{' (one value for the whole batch)' if out.numel() == 1 and rows > 1 else ''}."
            )
        if out.dtype.is_complex or not (out.is_floating_point() or out.dtype in _INTEGER_DTYPES()):
            raise AssayInputError(
                f"The {_MODEL_OUTPUT} must be a real numeric tensor. Got dtype {out.dtype} for 'X' ({describe(X)})."
            )
        return out

    def forward_batch(self, batch):
        """The model's logits for one prepared batch (a tensor on the device): ``(m, k >= 2)``.

        For use inside :meth:`map_batches`: gradients flow when enabled; a one-logit binary
        model's output is expanded to two logits as everywhere else; the output's shape and
        dtype are checked.
        """
        return binary_logit_to_two(self._call_model(batch, batch))

    def _batches(self, X: Any, grad: bool):
        import torch

        tensor = self._to_tensor(X)
        if grad and not tensor.is_floating_point():
            raise AssayInputError(
                f"'X' must be floating point to take gradients with respect to it. Got {describe(X)}."
            )

        def call(fn, batch, index):
            if grad:
                with torch.enable_grad():
                    return fn(batch.clone().requires_grad_(True), index)
            with torch.no_grad():
                return fn(batch, index)

        return tensor.shape[0], (lambda index: self._prepare_batch(tensor, index)), call

    def _batch_mode(self):
        return self._eval_mode()

    def _state_token(self) -> Any:
        # Every in-place update of a parameter or buffer (optimizer.step, load_state_dict)
        # bumps its version counter, so a changed model never reads stale outputs.
        return sum(t._version for t in self.model.parameters()) + sum(
            t._version for t in self.model.buffers()
        )

    def _resolve_layers(self, layer: str | Sequence[str]) -> list[str]:
        names = [layer] if isinstance(layer, str) else list(layer)
        if not names or not all(isinstance(n, str) for n in names):
            raise AssayInputError(
                f"'layer' must be a module name or a list of module names. Got {layer!r} instead."
            )
        modules = dict(self.model.named_modules())
        unknown = [n for n in names if n not in modules or n == ""]
        if unknown:
            available = [n for n in modules if n]
            shown = ", ".join(available[:20]) + (", ..." if len(available) > 20 else "")
            raise AssayInputError(
                f"'layer' names {unknown[0]!r}, which is not a module of {type(self.model).__name__}. "
                f"Expected one of: {shown}."
            )
        return names

    # ---- one pass over the data: logits and any hooked layers
    def _forward(self, X: Any, layers: Sequence[str] = ()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        import torch

        tensor = self._to_tensor(X)
        n = tensor.shape[0]
        modules = dict(self.model.named_modules())
        captured: dict[str, Any] = {}
        handles = []

        def make_hook(name):
            def hook(_module, _inputs, output):
                captured[name] = self._logits_of(output).detach()
            return hook

        logits_out: np.ndarray | None = None
        layer_out: dict[str, np.ndarray] = {}
        slices = list(iter_slices(n, self.batch_size))
        try:
            for name in layers:
                handles.append(modules[name].register_forward_hook(make_hook(name)))
            with self._eval_mode(), torch.no_grad(), progress_bar(
                n, desc=f"{type(self.model).__name__} forward", progress=self.progress,
                n_batches=len(slices)) as bar:
                for index in slices:
                    batch = self._prepare_batch(tensor, index)
                    logits = self._call_model(batch, X).detach().float().cpu().numpy()
                    # Preallocate on the first batch: no list of parts and no 2x peak at concat.
                    if logits_out is None:
                        logits_out = np.empty((n, *logits.shape[1:]), dtype=logits.dtype)
                    logits_out[index] = logits
                    for name in layers:
                        value = captured.pop(name).float().cpu().numpy()
                        if name not in layer_out:
                            layer_out[name] = np.empty((n, *value.shape[1:]), dtype=value.dtype)
                        layer_out[name][index] = value
                    bar.update(index.stop - index.start)
        finally:
            for handle in handles:
                handle.remove()
        return logits_out, layer_out

    def _native(self, X: Any) -> np.ndarray:
        logits, _ = self._forward(X)
        return self._finish_output(logits, X, "logits")

    def _cached_native(self, X: Any) -> np.ndarray:
        if self.capture_layers and self.cache:
            return self.outputs(X)["logits"]
        return super()._cached_native(X)

    def outputs(self, X: Any, layers: Sequence[str] = ()) -> dict[str, np.ndarray]:
        """Logits and the outputs of ``layers`` for ``X``, in one forward pass, cached.

        Returns a dict ``{"logits": (n, k), <layer>: (n, ...)}``. Ask for every layer a set of
        checks needs at once: this runs at most one pass for all of them.
        """
        names = self._resolve_layers(layers) if layers else []
        fp = fingerprint(X) if self.cache else None
        wanted = names + [n for n in self.capture_layers if n not in names]
        missing = [n for n in wanted if not self.cache or self._key(fp, ("layer", n)) not in self._cache]
        need_logits = not self.cache or self._key(fp, "native") not in self._cache
        if missing or need_logits:
            logits, captured = self._forward(X, missing)
            if fp is not None:
                self.forward_passes_[fp] += 1
            native = self._finish_output(logits, X, "logits")
            if not self.cache:
                return {"logits": native, **captured}
            self._cache[self._key(fp, "native")] = native
            for name, value in captured.items():
                self._cache[self._key(fp, ("layer", name))] = value
        result = {"logits": self._cache[self._key(fp, "native")]}
        for name in names:
            result[name] = self._cache[self._key(fp, ("layer", name))]
        return result

    def embeddings(self, X: Any, layer: str | Sequence[str], *, flatten: bool = False):
        """Output of the named module(s) for ``X``, captured by forward hooks.

        ``layer`` is a name from ``dict(model.named_modules())`` (e.g. ``"penultimate"``,
        ``"encoder.layer.5"``) or a list of names (one pass for all). Returns an array of shape
        ``(n, ...)`` as the module produced it (``(n, d)`` with ``flatten=True``), or a dict of
        them for a list. Tuple outputs give their first element.
        """
        outputs = self.outputs(X, [layer] if isinstance(layer, str) else layer)
        names = self._resolve_layers(layer)
        arrays = {n: outputs[n].reshape(len(outputs[n]), -1) if flatten else outputs[n] for n in names}
        return arrays[names[0]] if isinstance(layer, str) else arrays

    def gradients(self, X: Any, target: Any = None) -> np.ndarray:
        """Gradient of each example's ``target`` logit with respect to its input.

        Parameters
        ----------
        X : floating array or tensor, shape ``(n, ...)``
        target : None, int, or array of shape ``(n,)``
            Column index of the logit (see the module docstring for one-logit binary models);
            None uses each example's predicted class.

        Returns
        -------
        ndarray, same shape as ``X``, float32. The model's parameters' ``.grad`` are untouched.
        """
        import torch

        tensor = self._to_tensor(X)
        if not tensor.is_floating_point():
            raise AssayInputError(
                f"'X' must be floating point to take gradients with respect to it. Got {describe(X)}."
            )
        n = tensor.shape[0]
        if target is None:
            targets = np.argmax(self._cached_native(X), axis=1)
        elif isinstance(target, (numbers.Integral, np.integer)) and not isinstance(target, bool):
            targets = np.full(n, int(target))
        else:
            targets = np.asarray(target.detach().cpu() if hasattr(target, "detach") else target)
            if targets.shape != (n,) or not np.issubdtype(targets.dtype, np.integer):
                raise AssayInputError(
                    f"'target' must be None, an int, or an integer array of shape ({n},). "
                    f"Got {describe(target)} instead."
                )

        def chosen_logit_gradient(batch, index):
            logits = self.forward_batch(batch)
            k = logits.shape[1]
            t = torch.as_tensor(targets[index], device=logits.device)
            if (t < 0).any() or (t >= k).any():
                raise AssayInputError(
                    f"'target' must hold class indices in [0, {k - 1}]. Got values in "
                    f"[{int(targets.min())}, {int(targets.max())}]."
                )
            (grad,) = torch.autograd.grad(logits.gather(1, t.view(-1, 1)).sum(), batch)
            return grad.float()

        return self.map_batches(chosen_logit_gradient, X, grad=True, cache_key=("gradients", fingerprint(targets)),
                                desc=f"{type(self.model).__name__} gradients")


# ---------------------------------------------------------------------- scikit-learn
class SklearnAdapter(ModelAdapter):
    """Adapter for a fitted scikit-learn classifier (or pipeline ending in one).

    Uses ``predict_proba`` where the estimator has it (``native_output="probabilities"``),
    else ``decision_function`` (logits, not calibrated probabilities). DataFrames are passed
    as they are (pipelines need their column names) and sliced into batches.
    """

    kind = "sklearn"

    def __init__(self, model: Any, **kwargs: Any) -> None:
        _check_fitted(model)
        if kwargs.get("classes") is None and getattr(model, "classes_", None) is not None:
            kwargs["classes"] = model.classes_
        super().__init__(model, **kwargs)
        if hasattr(model, "predict_proba"):
            self.native_output = "probabilities"
            self._method = model.predict_proba
        elif hasattr(model, "decision_function"):
            self.native_output = "logits"
            self._method = model.decision_function
        else:
            raise AssayInputError(_MODEL_TYPE.format(received=describe(model)))

    def _check_X(self, X: Any) -> None:
        if X is None or not hasattr(X, "__len__"):
            raise AssayInputError(f"'X' must be an array or DataFrame. Got {describe(X)} instead.")
        expected = getattr(self.model, "n_features_in_", None)
        names = getattr(self.model, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and names is not None:
            missing = [c for c in names if c not in X.columns]
            if missing:
                raise AssayInputError(
                    f"'X' lacks columns the model was fitted on: {missing[:10]}. Got columns "
                    f"{list(X.columns)[:10]}{'...' if X.shape[1] > 10 else ''}."
                )
            return
        shape = getattr(X, "shape", None)
        if expected is not None and shape is not None and (len(shape) != 2 or shape[1] != expected):
            raise AssayInputError(
                f"'X' must have shape (n, {expected}) for this model (fitted on {expected} features). "
                f"Got shape {tuple(shape)} instead."
            )

    def _native(self, X: Any) -> np.ndarray:
        self._check_X(X)

        def predict(batch, _index):
            try:
                return self._method(batch)
            except (ValueError, TypeError, KeyError) as exc:
                raise AssayInputError(
                    f"The model could not be run on 'X' ({describe(X)}). The model said: {exc}"
                ) from exc

        out = self.map_batches(predict, X, desc=f"{type(self.model).__name__} predict", name=_MODEL_OUTPUT)
        return self._finish_output(out, X, self.native_output)


def _check_fitted(model: Any) -> None:
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except SklearnNotFittedError:
        raise NotFittedError(
            f"'model' ({type(model).__name__}) is not fitted yet. Call its 'fit' before wrapping it."
        ) from None
    except (TypeError, AttributeError):
        pass  # duck-typed, not a scikit-learn estimator (no tags): its methods decide


# ---------------------------------------------------------------------- callable
class CallableAdapter(ModelAdapter):
    """Adapter for any callable ``f(X_batch) -> scores`` of shape ``(n,)`` or ``(n, k)``.

    ``output`` says what the scores are: ``"logits"``, ``"probabilities"`` (a 1-D output is
    then the positive class's probability) or ``"auto"``: probabilities if the first call's
    scores all lie in [0, 1] (and, for ``k >= 2``, rows sum to 1), else logits. The decision is
    made once and kept in ``native_output``; later outputs that contradict it raise.
    """

    kind = "callable"

    def __init__(self, model: Any, *, output: str = "auto", **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        check_option(output, "output", owner="wrap", options=_OUTPUT_OPTIONS)
        self.output = output
        self.native_output = None if output == "auto" else output

    def _native(self, X: Any) -> np.ndarray:
        out = self.map_batches(lambda batch, _index: self.model(batch), X, desc="model", name=_MODEL_OUTPUT)
        out = out.astype(np.result_type(out.dtype, np.float32), copy=False)
        if self.native_output is None:
            two = _as_two_dim(out)
            finite = np.isfinite(two).all()
            in_unit = finite and two.min() >= 0 and two.max() <= 1
            sums_one = two.shape[1] == 1 or (finite and np.abs(two.sum(axis=1) - 1).max() <= 1e-4)
            self.native_output = "probabilities" if in_unit and sums_one else "logits"
        return self._finish_output(out, X, self.native_output)


# ---------------------------------------------------------------------- entry point
def _is_torch_module(model: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(model, torch.nn.Module)


def _is_sklearn_classifier(model: Any) -> bool:
    return hasattr(model, "fit") and (hasattr(model, "predict_proba") or hasattr(model, "decision_function"))


def wrap(
    model: Any,
    *,
    classes: Sequence[Any] | None = None,
    batch_size: int | None = None,
    device: Any = None,
    output: str = "auto",
    progress: bool | None = None,
    cache: bool = True,
    task: str | None = None,
    calibrator: Any = None,
) -> ModelAdapter:
    """Wrap any model in a :class:`ModelAdapter`.

    Parameters
    ----------
    model : torch ``nn.Module`` (returns logits), fitted scikit-learn classifier or regressor,
        or callable returning scores. An adapter is returned unchanged.
    classes : sequence, optional
        Class labels in the order of the model's output columns. Default: the estimator's
        ``classes_`` (scikit-learn) or ``0..k-1``.
    batch_size : int, optional
        Rows per forward pass; the results do not depend on it. Default 256 for torch models,
        65,536 for scikit-learn models and callables.
    device : torch device, optional
        Torch models only; default the model's own device.
    output : {"auto", "logits", "probabilities"}
        Callables only: what the callable returns.
    progress : bool or None
        Progress bar: None shows it for long work on a terminal.
    cache : bool
        Cache outputs per data fingerprint (default). Disable for streaming data.
    task : {None, "classification", "regression"}
        None: a scikit-learn regressor is wrapped as one, anything else as a classifier;
        "regression" is needed for torch modules and callables that predict numbers
        (:mod:`assay.core.adapters_regression`). ``adapter.task`` says which.
    calibrator : fitted calibrator, optional
        E.g. a fitted :class:`assay.uncertainty.TemperatureScaling`: every output of the adapter
        (``predict_proba``, ``logits``, ``predict``) is then the calibrated model's (a
        :class:`CalibratedAdapter`). Classifiers only.
    """
    from .adapters_regression import TASKS, regression_adapter

    check_option(task, "task", owner="wrap", options=(None, *TASKS))
    if calibrator is not None:
        base = wrap(model, classes=classes, batch_size=batch_size, device=device, output=output, progress=progress,
                    cache=cache, task=task)
        if base.task == "regression":
            raise AssayInputError("'calibrator' recalibrates class probabilities; 'model' is a regressor.")
        return CalibratedAdapter(base, calibrator)
    if isinstance(model, ModelAdapter):
        if task is not None and model.task != task:
            raise AssayInputError(f"'task' is {task!r} but 'model' is an adapter of a {model.task} model.")
        return model
    if isinstance(model, type):
        raise AssayInputError(_MODEL_TYPE.format(received=f"the class {model.__name__} (not an instance)"))
    common = dict(classes=classes, batch_size=batch_size, progress=progress, cache=cache)
    is_torch = _is_torch_module(model)
    if device is not None and not is_torch:
        raise AssayInputError(f"'device' applies to PyTorch models only; got a {type(model).__name__}.")
    regressor = regression_adapter(model, task=task, is_torch=is_torch, device=device, output=output, common=common)
    if regressor is not None:
        return regressor
    if is_torch:
        return TorchAdapter(model, device=device, **common)
    if _is_sklearn_classifier(model):
        return SklearnAdapter(model, **common)
    if callable(model) and not isinstance(model, type):
        return CallableAdapter(model, output=output, **common)
    raise AssayInputError(_MODEL_TYPE.format(received=describe(model)))


# ---------------------------------------------------------------------- calibrated
class CalibratedAdapter(ModelAdapter):
    """A model adapter followed by a fitted calibrator: ``calibrator.predict_proba(base outputs)``.

    ``predict_proba``, ``logits`` (``log p``) and ``predict`` (arg-max) are the calibrated
    model's; the calibrator reads the base model's logits, or its probabilities when it was fitted
    with ``scores="probabilities"``. Outputs are cached per data fingerprint and the calibrator's
    fitted state (:func:`assay.uncertainty.calibrator_state`), so refitting it invalidates them;
    the base model's forward passes are counted (and cached) once. Embeddings, gradients and
    :meth:`map_batches` are the base model's. Per-group calibrators need the sensitive features
    of every row, which a model's inputs do not carry: they are refused.
    """

    def __init__(self, base: ModelAdapter, calibrator: Any) -> None:
        if not callable(getattr(calibrator, "predict_proba", None)):
            raise AssayInputError(f"'calibrator' must be a fitted calibrator with predict_proba(y_score) (e.g. "
                                  f"assay.uncertainty.TemperatureScaling). Got {describe(calibrator)} instead.")
        from .validation import check_is_fitted

        check_is_fitted(calibrator)
        if getattr(calibrator, "per_group", False):
            raise AssayInputError("'calibrator' was fitted with per_group=True: it needs each row's sensitive "
                                  "features, which wrap() cannot pass; call its predict_proba(y_score, "
                                  "sensitive_features) directly, or fit it with per_group=False.")
        super().__init__(base.model, batch_size=base.batch_size, progress=base.progress, cache=base.cache)
        self.base = base
        self.calibrator = calibrator
        self.native_output = "probabilities"
        self.forward_passes_ = base.forward_passes_  # the same counter: passes are the base model's

    @property
    def kind(self) -> str:
        return self.base.kind

    @property
    def classes_(self) -> np.ndarray:
        return self.base.classes_

    def __getattr__(self, name: str) -> Any:
        base = self.__dict__.get("base")
        if base is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(base, name)  # torch specifics: outputs, capture, capture_layers, forward_batch, ...

    def _state_token(self) -> Any:
        from ..uncertainty.recalibration import calibrator_state

        return (self.base._state_token(), calibrator_state(self.calibrator))

    def _cached_native(self, X: Any) -> np.ndarray:
        return self._cached(X, "native", lambda _fp: self._native(X))

    def _native(self, X: Any) -> np.ndarray:
        scores = self.base.predict_proba(X) if getattr(self.calibrator, "scores", "logits") == "probabilities" \
            else self.base.logits(X)
        expected = getattr(self.calibrator, "n_classes_", scores.shape[1])
        if expected != scores.shape[1]:
            raise AssayInputError(f"'calibrator' was fitted on {expected} classes but the model has "
                                  f"{scores.shape[1]}.")
        out = np.asarray(self.calibrator.predict_proba(scores), dtype=np.float64)
        if out.shape != scores.shape:
            raise AssayInputError(f"'calibrator'.predict_proba must return shape {scores.shape}. Got {out.shape}.")
        return out

    def embeddings(self, X: Any, layer: str | Sequence[str], *, flatten: bool = False):
        return self.base.embeddings(X, layer, flatten=flatten)

    def gradients(self, X: Any, target: Any = None):
        return self.base.gradients(X, target)

    def map_batches(self, fn, X: Any, **kwargs: Any) -> np.ndarray:
        return self.base.map_batches(fn, X, **kwargs)

    def clear_cache(self) -> None:
        self._cache.clear()
        self.base.clear_cache()

    def __repr__(self) -> str:
        return f"CalibratedAdapter({self.base!r}, {self.calibrator!r})"


def uncached_logits(adapter: ModelAdapter, X: Any) -> np.ndarray:
    """``adapter.logits(X)`` without filling its cache: for inputs seen once (attack queries,
    counterfactual candidates, swapped attributes), which would otherwise pile up in the cache."""
    cache = adapter.cache
    adapter.cache = False
    try:
        return adapter.logits(X)
    finally:
        adapter.cache = cache
