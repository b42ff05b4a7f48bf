"""Perturbation attributions of any wrapped model: Occlusion (Zeiler & Fergus 2014)."""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter, TorchAdapter, wrap
from ..core.errors import AssayInputError
from ..core.validation import describe
from ._base import Attribution, Explainer, feature_names, resolve_targets

__all__ = ["Occlusion"]


def _as_numpy(inputs: Any) -> np.ndarray:
    if isinstance(inputs, pd.DataFrame):
        non_numeric = [c for c, t in inputs.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
        if non_numeric:
            raise AssayInputError(f"'inputs' must be numeric to be occluded; columns {non_numeric[:5]} are not.")
        return inputs.to_numpy(dtype=np.float64)
    if hasattr(inputs, "detach"):
        return inputs.detach().cpu().numpy()
    arr = np.asarray(inputs)
    if arr.dtype.kind not in "biuf" or arr.ndim < 2 or arr.shape[0] == 0:
        raise AssayInputError(f"'inputs' must be a numeric array (n, ...) with at least one row and one feature. "
                              f"Got {describe(inputs)} instead.")
    return arr


def _per_dim(value: Any, name: str, shape: tuple[int, ...], default: int) -> tuple[int, ...]:
    if value is None:
        return (default,) * len(shape)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,) * len(shape)
    value = tuple(value) if isinstance(value, (tuple, list)) else None
    if value is None or len(value) != len(shape) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value):
        raise AssayInputError(f"'{name}' must be None, an int >= 1 or a tuple of {len(shape)} ints >= 1 (one per "
                              f"dimension of an input of shape {shape}). Got {value!r}.")
    return tuple(int(v) for v in value)


def _baseline_array(baselines: Any, arr: np.ndarray) -> np.ndarray:
    """Baselines broadcastable to ``arr[:, None]``'s rows: ``(n or 1, *input shape)``."""
    if baselines is None:
        return np.zeros((1, *arr.shape[1:]), dtype=arr.dtype)
    if isinstance(baselines, numbers.Real) and not isinstance(baselines, bool):
        return np.full((1, *arr.shape[1:]), float(baselines))
    base = _as_numpy(baselines) if not np.isscalar(baselines) and np.ndim(baselines) >= 2 else np.asarray(
        baselines.detach().cpu() if hasattr(baselines, "detach") else baselines)
    if base.dtype.kind not in "biuf":
        raise AssayInputError(f"'baselines' must be numeric. Got {describe(baselines)}.")
    if base.shape == arr.shape:
        return base
    if base.shape == arr.shape[1:]:
        return base[None]
    raise AssayInputError(f"'baselines' must have the shape of one input {arr.shape[1:]} or of the inputs "
                          f"{arr.shape}. Got shape {base.shape}.")


def _logits(adapter: ModelAdapter, X: Any) -> np.ndarray:
    """Target-ready logits; torch models in their own dtype (uncached), so batching never rounds them."""
    if isinstance(adapter, TorchAdapter):
        return adapter.map_batches(lambda batch, _index: adapter.forward_batch(batch), X, desc="Occlusion")
    return adapter.logits(X)


class Occlusion(Explainer):
    """Replace a sliding window of each input by the baseline; attribute the drop of the target logit.

    Each element's value is the mean, over the windows that cover it, of ``F_t(x) - F_t(x with the
    window set to the baseline)`` (Captum's ``Occlusion``). ``F_t`` is the adapter's target logit
    (log-probabilities for models that return probabilities). Works for any wrapped model.

    Parameters
    ----------
    model : anything :func:`assay.wrap` accepts, or an adapter.
    sliding_window_shapes : tuple of ints, one per input dimension (not the rows)
        Default one element: one feature at a time for tables. Images ``(c, h, w)``: e.g. ``(1, 3, 3)``.
    strides : int or tuple of ints, default 1
        Window starts ``0, stride, 2 stride, ...``; the last window is cut at the border.
    batch_size : int, optional
        Rows x windows per model call (default: the adapter's batch size; at least one window).
    """

    _parameter_constraints: ClassVar[dict] = {"model": ["no_validation"], "sliding_window_shapes": ["no_validation"],
                                              "strides": ["no_validation"]}

    def __init__(self, model: Any, *, sliding_window_shapes: Any = None, strides: Any = None,
                 batch_size: int | None = None) -> None:
        self.model = model
        self.sliding_window_shapes = sliding_window_shapes
        self.strides = strides
        self.batch_size = batch_size

    def attribute(self, inputs: Any, target: Any = None, baselines: Any = None, **method_kwargs: Any) -> Attribution:
        if not isinstance(self.model, ModelAdapter):  # an adapter of its own, so the occluded copies are not cached
            return Occlusion(wrap(self.model, cache=False), **{k: v for k, v in self.get_params().items()
                                                                 if k != "model"}).attribute(
                inputs, target, baselines, **method_kwargs)
        return super().attribute(inputs, target, baselines, **method_kwargs)

    def _attribute(self, adapter, inputs, target, baselines):
        arr = _as_numpy(inputs)
        n, shape = arr.shape[0], arr.shape[1:]
        window = _per_dim(self.sliding_window_shapes, "sliding_window_shapes", shape, 1)
        if any(w > d for w, d in zip(window, shape)):
            raise AssayInputError(f"'sliding_window_shapes' must fit in an input of shape {shape}. Got {window}.")
        strides = _per_dim(self.strides, "strides", shape, 1)
        base = _baseline_array(baselines, arr)
        logits = _logits(adapter, inputs)
        targets = resolve_targets(target, logits)
        rows = np.arange(n)
        f0 = logits[rows, targets]
        starts = [range(0, s * (math.ceil((d - w) / s) + 1), s) for d, w, s in zip(shape, window, strides)]
        windows = list(itertools.product(*starts))
        per_call = max(1, (adapter.batch_size if self.batch_size is None else int(self.batch_size)) // n)
        total = np.zeros(arr.shape, dtype=np.float64)
        weight = np.zeros(shape, dtype=np.float64)
        for first in range(0, len(windows), per_call):
            chunk = windows[first:first + per_call]
            masks = np.zeros((len(chunk), *shape), dtype=bool)
            for i, start in enumerate(chunk):
                masks[(i, *(slice(a, a + w) for a, w in zip(start, window)))] = True
            ablated = np.where(masks[None], base[:, None], arr[:, None]).astype(arr.dtype, copy=False)
            ablated = ablated.reshape(n * len(chunk), *shape)
            if isinstance(inputs, pd.DataFrame):  # the model sees the columns it was fitted on
                ablated = pd.DataFrame(ablated, columns=inputs.columns)
            out = _logits(adapter, ablated).reshape(n, len(chunk), -1)
            diff = f0[:, None] - out[rows, :, targets]
            total += np.tensordot(diff, masks, axes=(1, 0))
            weight += masks.sum(0)
        return Attribution(values=total / weight, target=targets, feature_names=feature_names(inputs),
                           method=f"Occlusion(sliding_window_shapes={window}, strides={strides})")
