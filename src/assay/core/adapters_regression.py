"""Adapters for regression models: ``assay.wrap(regressor)``.

A regressor's adapter has ``task == "regression"`` and one output method, ``predict(X)``: float64
of shape ``(n,)`` (one target; a model output of shape ``(n, 1)`` is read as one target) or
``(n, d)`` (d targets), computed in batches and cached per data fingerprint like every
adapter's outputs. ``logits`` and ``predict_proba`` (and ``classes_``, ``gradients``) raise
:class:`~assay.core.errors.AssayInputError`: a regressor has no classes. Every batch is checked
as classifiers' outputs are (rows, numeric dtype), then the whole output (finite, 1-D or 2-D).

Accepted models:

* a fitted scikit-learn regressor (``sklearn.base.is_regressor``, pipelines ending in one),
  found automatically;
* a PyTorch ``nn.Module`` with one output per target, with ``wrap(module, task="regression")``
  (a module cannot tell whether its outputs are logits or predictions);
* a callable ``f(X_batch) -> (n,) or (n, d)`` with ``wrap(f, task="regression")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .adapters import (
    _MODEL_OUTPUT,
    CallableAdapter,
    ModelAdapter,
    SklearnAdapter,
    TorchAdapter,
    _check_fitted,
)
from .batching import n_rows
from .errors import AssayInputError
from .validation import describe

TASKS = ("classification", "regression")
_IS_REGRESSOR = (
    "'{method}' needs a classifier, but the model ({model}) is a regressor (task='regression'): it "
    "has no classes or probabilities. Use predict(X) for its predictions."
)
_BAD_PREDICTION = (
    "The model output is {problem} for 'X' ({x}); a regressor must return a finite numeric array of "
    "shape (n,) or (n, d) with n = {n} rows."
)


def _is_sklearn_regressor(model: Any) -> bool:
    try:
        from sklearn.base import is_regressor
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return False
    try:
        return bool(is_regressor(model)) and hasattr(model, "predict")
    except (AttributeError, TypeError):  # objects without tags
        return False


class _Regressor:
    """What every regression adapter shares: the task, ``predict`` and the refusals."""

    task = "regression"
    native_output = "predictions"
    model: Any

    def _refuse(self, method: str) -> AssayInputError:
        return AssayInputError(_IS_REGRESSOR.format(method=method, model=type(self.model).__name__))

    @property
    def classes_(self) -> np.ndarray:
        raise self._refuse("classes_")

    def logits(self, X: Any) -> np.ndarray:
        raise self._refuse("logits")

    def predict_proba(self, X: Any) -> np.ndarray:
        raise self._refuse("predict_proba")

    def gradients(self, X: Any, target: Any = None) -> np.ndarray:
        raise self._refuse("gradients")

    def predict(self, X: Any, *, threshold: float | None = None) -> np.ndarray:
        """Predictions, float64 of shape ``(n,)`` or ``(n, d)`` (cached per data fingerprint)."""
        if threshold is not None:
            raise self._refuse("predict(threshold=...)")
        return self._cached_native(X)  # type: ignore[attr-defined]

    def _finish_output(self, raw: np.ndarray, X: Any, kind: str = "predictions") -> np.ndarray:
        """Check a regressor's whole output: (n,) or (n, d), numeric, finite; (n, 1) -> (n,)."""
        n = n_rows(X)
        raw = np.asarray(raw)
        if raw.ndim not in (1, 2) or raw.shape[0] != n or (raw.ndim == 2 and raw.shape[1] == 0):
            raise AssayInputError(_BAD_PREDICTION.format(problem=f"an array of shape {raw.shape}", x=describe(X), n=n))
        if raw.dtype.kind not in "biuf":
            raise AssayInputError(_BAD_PREDICTION.format(problem=f"an array of dtype {raw.dtype}", x=describe(X), n=n))
        raw = raw.astype(np.float64, copy=False)
        bad = ~np.isfinite(raw)
        if bad.any():
            rows = np.flatnonzero(bad.reshape(n, -1).any(axis=1))
            raise AssayInputError(_BAD_PREDICTION.format(
                problem=f"NaN or infinite predictions in {rows.size} row(s) (first at row {rows[0]})",
                x=describe(X), n=n))
        return raw[:, 0] if raw.ndim == 2 and raw.shape[1] == 1 else raw


class TorchRegressorAdapter(_Regressor, TorchAdapter):
    """A PyTorch module with one output per target (``wrap(module, task="regression")``).

    Batching, devices, eval mode, hooks (``embeddings``) and caching are those of
    :class:`~assay.core.adapters.TorchAdapter`; the outputs are predictions, not logits.
    """

    def forward_batch(self, batch):
        """The model's raw output for one prepared batch (gradients flow when enabled)."""
        return self._call_model(batch, batch)


class SklearnRegressorAdapter(_Regressor, SklearnAdapter):
    """A fitted scikit-learn regressor (or a pipeline ending in one): its ``predict``."""

    def __init__(self, model: Any, **kwargs: Any) -> None:
        _check_fitted(model)
        ModelAdapter.__init__(self, model, **kwargs)
        self.native_output = "predictions"
        self._method = model.predict


class CallableRegressorAdapter(_Regressor, CallableAdapter):
    """A callable ``f(X_batch) -> (n,) or (n, d)`` predictions (``wrap(f, task="regression")``)."""

    def __init__(self, model: Any, **kwargs: Any) -> None:
        ModelAdapter.__init__(self, model, **kwargs)
        self.output = "predictions"
        self.native_output = "predictions"

    def _native(self, X: Any) -> np.ndarray:
        out = self.map_batches(lambda batch, _index: self.model(batch), X, desc="model", name=_MODEL_OUTPUT)
        return self._finish_output(out, X)


def regression_adapter(model: Any, *, task: str | None, is_torch: bool, device: Any, output: str,
                       common: dict[str, Any]) -> ModelAdapter | None:
    """The regression adapter of ``model`` for :func:`~assay.core.adapters.wrap`, or None for a classifier."""
    sklearn_regressor = not is_torch and _is_sklearn_regressor(model)
    if task == "classification" and sklearn_regressor:
        raise AssayInputError(
            f"'task' is 'classification' but the model ({type(model).__name__}) is a scikit-learn regressor. "
            "Pass task='regression' or None."
        )
    if task != "regression" and not sklearn_regressor:
        return None
    if common.get("classes") is not None:
        raise AssayInputError(f"'classes' applies to classifiers only; the model ({type(model).__name__}) "
                              "is wrapped as a regressor.")
    if output != "auto":
        raise AssayInputError(f"'output' applies to classifiers only (logits or probabilities). Got {output!r} "
                              "for a regressor.")
    common = {k: v for k, v in common.items() if k != "classes"}
    if is_torch:
        return TorchRegressorAdapter(model, device=device, **common)
    if sklearn_regressor or (hasattr(model, "fit") and hasattr(model, "predict") and not callable(model)):
        return SklearnRegressorAdapter(model, **common)
    if callable(model):
        return CallableRegressorAdapter(model, **common)
    raise AssayInputError(
        f"'model' must be a scikit-learn regressor, a PyTorch nn.Module or a callable for task='regression'. "
        f"Got {describe(model)} instead."
    )
