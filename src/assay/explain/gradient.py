"""Gradient attributions of torch classifiers: Saliency, InputXGradient, IntegratedGradients.

All three equal Captum's (``captum.attr``) on the same model and inputs; the rows go through the
adapter's batch loop (:meth:`~assay.core.adapters.ModelAdapter.map_batches` with ``grad=True``),
so the model runs in eval mode on its device and dtype.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np

from ..core.adapters import ModelAdapter
from ..core.component import Interval, Options
from ..core.errors import AssayInputError
from ._base import (
    Attribution,
    Explainer,
    feature_names,
    resolve_baselines,
    resolve_targets,
    torch_adapter,
)

__all__ = ["InputXGradient", "IntegratedGradients", "Saliency"]

#: Integration rules of :class:`IntegratedGradients` (Captum's names).
IG_METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


def _prepare(adapter: ModelAdapter, inputs: Any, target: Any, owner: str):
    """``(torch adapter, input tensor, targets (n,))`` with every argument checked."""
    torch_adapter(adapter, owner)
    tensor = adapter._to_tensor(inputs)
    if not tensor.is_floating_point():
        raise AssayInputError(f"'inputs' must be floating point to take gradients with respect to them. "
                              f"Got dtype {tensor.dtype}.")
    if target is None:
        return adapter, tensor, resolve_targets(None, adapter.logits(inputs))
    k = adapter.logits(tensor[:1]).shape[1]  # given targets are only checked against the number of logits
    return adapter, tensor, resolve_targets(target, np.empty((tensor.shape[0], k)))


def _target_gradient(adapter, points, t):
    """Gradient of logit ``t[i]`` at ``points[i]`` with respect to ``points`` (same shape)."""
    import torch

    points = points.detach().requires_grad_(True)
    logits = adapter.forward_batch(points)
    (grad,) = torch.autograd.grad(logits.gather(1, t.view(-1, 1)).sum(), points)
    return grad


class _SimpleGradient(Explainer):
    _parameter_constraints: ClassVar[dict] = {"model": ["no_validation"]}

    def _attribute(self, adapter, inputs, target, baselines):
        import torch

        owner = type(self).__name__
        if baselines is not None:
            raise AssayInputError(f"'baselines' is not used by {owner}; pass None. Got {type(baselines).__name__}.")
        adapter, tensor, targets = _prepare(adapter, inputs, target, owner)

        def fn(batch, index):
            t = torch.as_tensor(targets[index], device=batch.device)
            return self._combine(batch.detach(), _target_gradient(adapter, batch, t))

        values = adapter.map_batches(fn, tensor, grad=True, batch_size=self.batch_size, desc=owner,
                                     name=f"{owner} attributions")
        return Attribution(values=values, method=self._method_name(), target=targets,
                           feature_names=feature_names(inputs))

    def _method_name(self) -> str:
        return type(self).__name__


class Saliency(_SimpleGradient):
    """Gradient of the target logit with respect to the input, ``|grad|`` by default (Simonyan et al. 2014).

    Parameters
    ----------
    model : torch classifier (``nn.Module`` returning logits) or its adapter.
    abs : bool, default True
        Absolute value of the gradient (Captum's default); False keeps its sign.
    batch_size : int, optional
        Rows per forward pass (default: the adapter's).
    """

    _parameter_constraints: ClassVar[dict] = {"abs": ["boolean"]}

    def __init__(self, model: Any, *, abs: bool = True, batch_size: int | None = None) -> None:
        self.model = model
        self.abs = abs
        self.batch_size = batch_size

    def _combine(self, x, grad):
        return grad.abs() if self.abs else grad

    def _method_name(self) -> str:
        return f"Saliency(abs={bool(self.abs)})"


class InputXGradient(_SimpleGradient):
    """The input times the gradient of the target logit (Shrikumar et al. 2016).

    Parameters
    ----------
    model : torch classifier or its adapter.
    batch_size : int, optional
        Rows per forward pass (default: the adapter's).
    """

    def __init__(self, model: Any, *, batch_size: int | None = None) -> None:
        self.model = model
        self.batch_size = batch_size

    def _combine(self, x, grad):
        return x * grad


def _steps(method: str, n_steps: int) -> tuple[list[float], list[float]]:
    """``(weights, alphas)`` of the path integral over [0, 1] (Captum's nodes and rounding).

    The trapezoid rule weighs its ``n`` equally spaced nodes ``1/(n-1)`` (halved at the ends), so
    its weights sum to 1; Captum 0.9 uses ``1/n`` (summing to ``1 - 1/n``: its trapezoid values
    are ours times ``(n-1)/n``, and not complete even on a linear model).
    """
    import torch

    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return (0.5 * weights).tolist(), (0.5 * (1 + nodes)).tolist()
    n = n_steps
    if method == "riemann_trapezoid":
        if n < 2:
            raise AssayInputError(f"'n_steps' must be at least 2 for method='riemann_trapezoid'. Got {n}.")
        weights = [1 / (n - 1)] * n
        weights[0] /= 2
        weights[-1] /= 2
        return weights, torch.linspace(0, 1, n).tolist()
    lo, hi = {"riemann_left": (0, 1 - 1 / n), "riemann_right": (1 / n, 1),
              "riemann_middle": (1 / (2 * n), 1 - 1 / (2 * n))}[method]
    return [1 / n] * n, torch.linspace(lo, hi, n).tolist()


class IntegratedGradients(Explainer):
    """Integrated gradients (Sundararajan et al. 2017) along the straight path from the baseline.

    ``values = (x - baseline) * sum_s w_s grad F_t(baseline + a_s (x - baseline))``, with the
    nodes ``a_s`` and weights ``w_s`` of ``method``; ``delta`` is the completeness gap
    ``sum(values) - (F_t(x) - F_t(baseline))`` per row, which shrinks as ``n_steps`` grows.

    Parameters
    ----------
    model : torch classifier or its adapter.
    n_steps : int >= 1, default 50
        Points on the path (>= 2 for the trapezoid rule).
    method : {"gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"}
    batch_size : int, optional
        Path points per forward pass (rows x steps; default: the adapter's batch size);
        at least one row per pass.
    """

    _parameter_constraints: ClassVar[dict] = {"model": ["no_validation"], "n_steps": [Interval(numbers.Integral, 1, None)], "method": [Options(str, IG_METHODS)]}

    def __init__(self, model: Any, *, n_steps: int = 50, method: str = "gausslegendre",
                 batch_size: int | None = None) -> None:
        self.model = model
        self.n_steps = n_steps
        self.method = method
        self.batch_size = batch_size

    def _attribute(self, adapter, inputs, target, baselines):
        import torch

        weights, alphas = _steps(self.method, int(self.n_steps))
        adapter, tensor, targets = _prepare(adapter, inputs, target, "IntegratedGradients")
        base, per_row = resolve_baselines(baselines, tensor)
        s = len(alphas)
        rows = max(1, (adapter.batch_size if self.batch_size is None else int(self.batch_size)) // s)

        def fn(batch, index):
            x = batch.detach()
            b = (base[index] if per_row else base).to(device=x.device, dtype=x.dtype).expand_as(x)
            view = (s,) + (1,) * x.ndim
            a = torch.tensor(alphas, dtype=x.dtype, device=x.device).view(view)
            w = torch.tensor(weights, dtype=x.dtype, device=x.device).view(view)
            diff = x - b
            path = (b.unsqueeze(0) + a * diff.unsqueeze(0)).reshape(s * x.shape[0], *x.shape[1:])
            t = torch.as_tensor(targets[index], device=x.device)
            grads = _target_gradient(adapter, path, t.repeat(s)).reshape(s, *x.shape)
            values = (grads * w).sum(0) * diff
            with torch.no_grad():
                ends = adapter.forward_batch(torch.cat([x, b])).gather(1, t.repeat(2).view(-1, 1)).view(2, -1)
            delta = values.reshape(x.shape[0], -1).sum(1) - (ends[0] - ends[1])
            return torch.cat([values.reshape(x.shape[0], -1), delta.view(-1, 1)], 1)

        out = adapter.map_batches(fn, tensor, grad=True, batch_size=rows, desc="IntegratedGradients",
                                  name="IntegratedGradients attributions")
        return Attribution(values=out[:, :-1].reshape(tuple(tensor.shape)), delta=out[:, -1],
                           method=f"IntegratedGradients({self.method}, n_steps={int(self.n_steps)})",
                           target=targets, feature_names=feature_names(inputs))
