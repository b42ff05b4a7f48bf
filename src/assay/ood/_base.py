"""The base class of the out-of-distribution (OOD) detectors and the helpers they share.

Every detector follows the scikit-learn estimator convention::

    det = Energy(model)                   # or Energy() on precomputed logits
    det.fit(X_train)                      # in-distribution data (a no-op for stateless detectors)
    det.fit_threshold(X_val, tpr=0.95)    # accept 95% of in-distribution inputs
    det.score(X_test)                     # (n,) float64, higher = more out-of-distribution
    det.predict(X_test)                   # (n,) bool, True = out-of-distribution

``model=None`` means ``X`` already is the detector's representation (logits, features or raw
inputs, see ``uses``). With a model, the detector wraps it with :func:`assay.wrap`; pass an
adapter (``assay.wrap(model)``) to several detectors to share its output cache, and call
:func:`capture_layers` on them before their first use so that one forward pass per data split
captures the logits and every layer they read. Constructors have no side effects: a detector
registers its layers on the adapter only when it is fitted or scores.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
from scipy.special import logsumexp

from ..core.adapters import ModelAdapter, wrap
from ..core.component import Component, Interval
from ..core.errors import AssayInputError
from ..core.numeric import softmax
from ..core.validation import as_array, check_consistent_length, check_is_fitted, check_scalar, describe

__all__ = ["OODDetector", "capture_layers", "energy", "softmax"]


def _register_layers(adapter: Any, layers: list[str]) -> None:
    """Have a shared torch adapter capture ``layers`` on every pass (one pass per split)."""
    if getattr(adapter, "kind", None) == "torch" and layers:
        adapter.capture(layers)


def capture_layers(detectors: Any) -> None:
    """Register on each shared torch adapter the layers its detectors read.

    Call it once, before the first pass, on detectors built on one adapter
    (``[Energy(adapter), KNN(adapter)]``): then every split costs one forward pass for all of
    them, whichever detector runs first. Unknown layer names raise :class:`AssayInputError`.
    """
    for detector in detectors:
        if not isinstance(detector, OODDetector):
            raise AssayInputError(f"'detectors' must hold OOD detectors. Got {describe(detector)}.")
        if isinstance(detector.model, ModelAdapter) and detector._layers():
            _register_layers(detector.model, detector.model._resolve_layers(detector._layers()))


def energy(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``-T * logsumexp(logits / T)`` per row, float64 (Liu et al., 2020)."""
    return -temperature * logsumexp(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


class OODDetector(Component):
    """Base class: model handling, validation, thresholds.

    Subclasses set ``uses`` (``"logits"``, ``"features"``, ``"inputs"`` or ``"gradients"``: what
    ``X`` is with ``model=None``), ``reads`` (what the score depends on), ``needs_fit``, ``_fitted_attrs`` (the attributes ``fit`` sets) and implement ``_fit`` and
    ``_score`` on the representation returned by ``_represent``.

    Attributes
    ----------
    threshold_ : float
        Set by :meth:`fit_threshold`; :meth:`predict` flags ``score > threshold_``.
    tpr_ : float
        The target share of in-distribution inputs accepted, given to :meth:`fit_threshold`.
    """

    uses: ClassVar[str] = "logits"
    #: What the score depends on: "probabilities" (softmax-invariant, meaningful for any model),
    #: "logits" (needs a model that returns logits), "features" (a layer's embeddings),
    #: "inputs" (the raw inputs) or "gradients" (input gradients of a torch model).
    reads: ClassVar[str] = "logits"
    needs_fit: ClassVar[bool] = False
    _fitted_attrs: ClassVar[tuple[str, ...]] = ()
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"],
        "batch_size": [Interval(numbers.Integral, 1, None), None],
        "progress": ["boolean", None],
    }
    #: Every public entry point checks the parameters first (stateless detectors have no fit).
    _validated_methods = ("fit", "score", "fit_threshold", "score_logits", "fit_logits",
                          "score_features", "fit_features", "perturbed_logits")

    def __init__(self, model: Any = None, *, batch_size: int | None = None,
                 progress: bool | None = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.progress = progress

    # ------------------------------------------------------------------ public API
    def fit(self, X: Any, y: Any = None) -> OODDetector:
        """Learn what in-distribution data looks like.

        Parameters
        ----------
        X : in-distribution data (train or validation): model inputs with a model, else the
            detector's representation (logits ``(n, k)``, features ``(n, d)`` or raw inputs).
        y : array-like of shape (n,), optional
            Class labels, for class-conditional detectors; default the model's predicted
            classes. Ignored by the others.

        Returns
        -------
        self. Stateless detectors (``needs_fit = False``) do nothing here.
        """
        if not self.needs_fit:
            return self
        self._fit(X, y)
        return self

    def score(self, X: Any) -> np.ndarray:
        """OOD scores, shape ``(n,)``, float64: higher = more out-of-distribution."""
        self._check_fitted()
        scores = np.asarray(self._score(X), dtype=np.float64)
        return scores

    def fit_threshold(self, X: Any, *, tpr: float = 0.95) -> OODDetector:
        """Set ``threshold_`` so that a share ``tpr`` of the in-distribution inputs ``X`` is accepted.

        ``threshold_`` is the smallest score ``t`` of ``X`` with ``mean(score(X) <= t) >= tpr``
        (see :func:`assay.ood.thresholds.threshold_at_tpr`). Use held-out in-distribution data
        (not the data the detector was fitted on, for detectors that memorise it, e.g. KNN).
        """
        check_scalar(tpr, "tpr", owner=f"{type(self).__name__}.fit_threshold", kind=numbers.Real,
                     low=0.0, high=1.0, closed="neither")
        from .thresholds import threshold_at_tpr

        scores = self.score(X)
        self.threshold_ = float(threshold_at_tpr(scores, tpr=float(tpr)))
        self.tpr_ = float(tpr)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """``score(X) > threshold_``: shape ``(n,)``, bool, True = out-of-distribution."""
        check_is_fitted(self, ["threshold_"], fit="'fit_threshold'")
        return self.score(X) > self.threshold_

    # ------------------------------------------------------------------ internals
    @classmethod
    def _audit_params(cls, n_fit: int) -> dict[str, Any]:
        """Parameters the audit builds this detector with, given ``n_fit`` training rows."""
        return {}

    def _fit(self, X: Any, y: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if self.needs_fit:
            check_is_fitted(self, list(self._fitted_attrs) or None)

    def _layers(self) -> list[str]:
        """Layer names this detector reads from a torch model (none for logit detectors)."""
        return []

    def _adapter(self) -> ModelAdapter:
        if self.model is None:  # pragma: no cover - callers check first
            raise AssayInputError(f"{type(self).__name__} has no model.")
        cached = getattr(self, "_adapter_cache", None)
        if cached is None or cached[0] is not self.model:
            adapter = wrap(self.model, batch_size=self.batch_size, progress=self.progress)
            self._adapter_cache = (self.model, adapter)
        return self._adapter_cache[1]

    def _require_torch(self, what: str) -> ModelAdapter:
        adapter = self._adapter()
        if adapter.kind != "torch":
            raise AssayInputError(
                f"'model' of {type(self).__name__} must be a PyTorch nn.Module: the detector uses "
                f"{what}. Got {describe(self.model)} instead."
            )
        return adapter

    def _outputs(self, X: Any, layers: list[str]) -> dict[str, np.ndarray]:
        """Logits and the flattened outputs of ``layers`` from the model, in one cached pass."""
        adapter = self._require_torch("embeddings of named layers (forward hooks)")
        names = adapter._resolve_layers(layers) if layers else []
        _register_layers(adapter, names)
        out = adapter.outputs(X, names)
        result = {"logits": out["logits"]}
        for name in names:
            value = out[name]
            value = value.reshape(len(value), -1)
            if not np.issubdtype(value.dtype, np.floating):
                value = value.astype(np.float64)
            _check_finite_rows(value, f"X (the output of layer {name!r})")
            result[name] = value
        return result

    def _logits(self, X: Any) -> np.ndarray:
        """Logits ``(n, k)``, float64: the model's (one cached pass), or ``X`` itself."""
        if self.model is None:
            logits = as_array(X, name="X", ndim=2, dtype=np.float64)
            if logits.shape[1] < 2:
                raise AssayInputError(
                    f"'X' must hold logits of shape (n, k) with k >= 2 classes (model=None). Got "
                    f"shape {logits.shape} instead."
                )
            return logits
        adapter = self._adapter()
        return np.asarray(adapter.logits(X), dtype=np.float64)

    def _labels(self, y: Any, n: int, logits: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """``(classes, codes)``: the labels ``y`` (default: arg-max of ``logits``) as codes."""
        if y is None:
            if logits is None:
                raise AssayInputError(
                    f"'y' is needed by {type(self).__name__}.fit without a model (model=None): "
                    "pass the class labels of the fit data. Got None."
                )
            y = np.argmax(logits, axis=1)
        else:
            y = as_array(y, name="y", ndim=1)
            check_consistent_length(X=np.empty(n), y=y)
        classes, codes = np.unique(y, return_inverse=True)
        return classes, codes.reshape(-1)


def _check_finite_rows(arr: np.ndarray, name: str) -> None:
    """Like ``check_finite`` but without a full-size temporary for big float arrays."""
    if not np.issubdtype(arr.dtype, np.inexact):
        return
    # The sum is finite iff every value is finite (barring overflow, then checked exactly).
    total = np.add.reduce(arr, axis=None, dtype=np.float64) if arr.size else 0.0
    if np.isfinite(total):
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.unravel_index(np.argmax(bad), arr.shape)
        raise AssayInputError(
            f"'{name}' must contain only finite values. Got {int(bad.sum())} NaN or infinite "
            f"value(s) (first at index {tuple(int(i) for i in first)})."
        )


def check_features(X: Any, *, name: str = "X") -> np.ndarray:
    """A 2-D finite float array (float32 kept, other types to float64), at least one row."""
    arr = as_array(X, name=name, ndim=2, allow_nan=True)
    if not np.issubdtype(arr.dtype, np.floating) or arr.dtype.itemsize > 8:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise AssayInputError(
                f"'{name}' must be a numeric array. Got {describe(X)} instead."
            ) from None
    elif arr.dtype.itemsize < 4:
        arr = arr.astype(np.float32)
    _check_finite_rows(arr, name)
    return arr
