"""The one call shape of local explanations: ``Explainer(model).attribute(inputs, target, baselines)``.

Every explainer is a :class:`~assay.core.component.Component` whose first parameter is the model
(anything :func:`assay.wrap` accepts, or an adapter) and whose ``batch_size`` is the one memory
knob (rows x steps or samples per forward pass; it never changes the result). ``attribute``
returns an :class:`Attribution`; keyword arguments of ``attribute`` override the explainer's
parameters for that call (``IntegratedGradients(model).attribute(X, n_steps=200)``).
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter, TorchAdapter, wrap
from ..core.component import Component, Interval
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import describe

__all__ = ["Attribution", "Explainer"]


@dataclasses.dataclass(frozen=True, eq=False)
class Attribution(Result):
    """Local attributions of ``n`` inputs.

    Attributes
    ----------
    values : ndarray, the inputs' shape ``(n, ...)``: one column per feature for tables.
    method : the explainer's name, e.g. ``"IntegratedGradients(gausslegendre, n_steps=50)"``.
    target : ndarray ``(n,)`` of int, the logit column explained for each row.
    delta : ndarray ``(n,)`` or None: convergence delta, sum of the row's attributions minus
        ``F(x) - F(baseline)`` of its target logit, where the method defines one.
    feature_names : column names for tabular inputs (a DataFrame's columns, else ``x0..``).
    """

    values: np.ndarray
    method: str
    target: np.ndarray
    delta: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per input and one column per feature (tabular inputs only)."""
        if self.values.ndim != 2:
            raise AssayInputError(
                f"to_frame() needs tabular attributions (n, features); these have shape {self.values.shape}: "
                "use '.values'.")
        names = self.feature_names or tuple(f"x{j}" for j in range(self.values.shape[1]))
        return pd.DataFrame(self.values, columns=list(names))


class Explainer(Component):
    """Base of local explainers: validates the call, then runs :meth:`_attribute`."""

    _parameter_constraints: ClassVar[dict] = {"batch_size": [None, Interval(numbers.Integral, 1, None)]}

    def attribute(self, inputs: Any, target: Any = None, baselines: Any = None, **method_kwargs: Any) -> Attribution:
        """Attributions of ``target`` (None: each row's predicted class) for ``inputs``.

        ``baselines``: None (zeros), a number, one input ``inputs.shape[1:]`` or one per row
        (``inputs.shape``). ``method_kwargs`` override this explainer's parameters for the call.
        """
        est = copy.copy(self).set_params(**method_kwargs) if method_kwargs else self
        est._validate_params()
        adapter = self.model if isinstance(self.model, ModelAdapter) else wrap(self.model)
        return est._attribute(adapter, inputs, target, baselines)

    def _attribute(self, adapter: ModelAdapter, inputs: Any, target: Any, baselines: Any) -> Attribution:
        raise NotImplementedError  # pragma: no cover


def feature_names(inputs: Any) -> tuple[str, ...] | None:
    if isinstance(inputs, pd.DataFrame):
        return tuple(str(c) for c in inputs.columns)
    return None


def torch_adapter(adapter: ModelAdapter, owner: str) -> TorchAdapter:
    """The adapter if it runs a torch model, else AssayInputError naming 'model'."""
    if not isinstance(adapter, TorchAdapter):
        raise AssayInputError(
            f"'model' of {owner} must be a torch model (nn.Module): {owner} takes gradients. Got "
            f"{type(adapter.model).__name__} (a {adapter.kind} model); use a perturbation method such as "
            "Occlusion for models without gradients.")
    if adapter.task != "classification":
        raise AssayInputError(f"'model' of {owner} must be a classifier (logits per class). Got a {adapter.task} model.")
    return adapter


def resolve_targets(target: Any, logits: np.ndarray) -> np.ndarray:
    """``target`` as an int array ``(n,)`` of logit columns; None: the predicted class."""
    n, k = logits.shape
    if target is None:
        return np.argmax(logits, axis=1)
    if hasattr(target, "detach"):
        target = target.detach().cpu().numpy()
    if isinstance(target, (numbers.Integral, np.integer)) and not isinstance(target, (bool, np.bool_)):
        targets = np.full(n, int(target))
    else:
        targets = np.asarray(target)
        if targets.shape != (n,) or targets.dtype.kind not in "iu":
            raise AssayInputError(f"'target' must be None, an int, or an integer array of shape ({n},). "
                                  f"Got {describe(target)} instead.")
    if targets.min() < 0 or targets.max() >= k:
        raise AssayInputError(f"'target' must hold class indices in [0, {k - 1}] (the model has {k} logits). "
                              f"Got values in [{int(targets.min())}, {int(targets.max())}].")
    return targets.astype(np.int64)


def resolve_baselines(baselines: Any, tensor: Any):
    """``(baseline tensor, per_row)``: zeros, a number, one input or one per row; else AssayInputError."""
    import torch

    shape = tuple(tensor.shape)
    if baselines is None:
        return torch.zeros((), dtype=tensor.dtype), False
    if isinstance(baselines, numbers.Real) and not isinstance(baselines, bool):
        return torch.tensor(float(baselines), dtype=tensor.dtype), False
    if isinstance(baselines, pd.DataFrame):
        baselines = baselines.to_numpy(dtype=np.float64)
    try:
        base = baselines.detach().cpu() if hasattr(baselines, "detach") else torch.as_tensor(np.asarray(baselines))
    except (TypeError, ValueError):
        base = None
    if base is None or not (base.is_floating_point() or base.dtype in (torch.int32, torch.int64)):
        raise AssayInputError(f"'baselines' must be None, a number, or a numeric array of shape {shape[1:]} or "
                              f"{shape}. Got {describe(baselines)} instead.")
    if tuple(base.shape) == shape:
        return base, True
    if tuple(base.shape) == shape[1:]:
        return base, False
    raise AssayInputError(f"'baselines' must have the shape of one input {shape[1:]} or of the inputs {shape}. "
                          f"Got shape {tuple(base.shape)}.")
