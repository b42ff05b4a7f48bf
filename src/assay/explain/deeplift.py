"""DeepLIFT with the rescale rule (Shrikumar et al. 2017), equal to Captum 0.9's ``DeepLift``.

Each input row runs through the model together with its baseline; at every elementwise
nonlinearity module (ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus) the backward pass uses the
multiplier ``(f(x) - f(b)) / (x - b)`` instead of the gradient (the gradient where ``|x - b| <
1e-10``). Nonlinearities called as functions (``torch.relu`` in ``forward``) are not seen and keep
their gradients, as in Captum; max-pooling and softmax modules are refused.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..core.errors import AssayInputError
from ._base import Attribution, Explainer, feature_names, resolve_baselines
from .gradient import _prepare

__all__ = ["DeepLift"]

EPS = 1e-10


def _nonlinear_types():
    from torch import nn

    return (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus)


def _refused_types():
    from torch import nn

    return (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.Softmax)


class DeepLift(Explainer):
    """DeepLIFT-rescale attributions ``(x - b) * m`` with the multipliers ``m`` of the rescale rule.

    ``delta`` is the summation-to-delta gap ``sum(values) - (F_t(x) - F_t(b))``: 0 up to rounding
    for networks of linear layers, convolutions and the supported nonlinearities.

    Parameters
    ----------
    model : torch classifier or its adapter; nonlinearities as modules (``nn.ReLU()``, ...),
        each instance used once per forward pass.
    batch_size : int, optional
        Rows per pass (each with its baseline: twice as many through the model); never changes the values.
    """

    _parameter_constraints: ClassVar[dict] = {"model": ["no_validation"]}

    def __init__(self, model: Any, *, batch_size: int | None = None) -> None:
        self.model = model
        self.batch_size = batch_size

    def _attribute(self, adapter, inputs, target, baselines):
        import torch

        adapter, tensor, targets = _prepare(adapter, inputs, target, "DeepLift")
        refused = [n for n, m in adapter.model.named_modules() if isinstance(m, _refused_types())]
        if refused:
            raise AssayInputError(f"'model' of DeepLift has max-pooling or softmax modules ({refused[:3]}), which the "
                                  "rescale rule here does not cover; use IntegratedGradients.")
        base, per_row = resolve_baselines(baselines, tensor)
        modules = [m for m in adapter.model.modules() if isinstance(m, _nonlinear_types())]

        def fn(batch, index):
            x = batch.detach()
            b = (base[index] if per_row else base).to(device=x.device, dtype=x.dtype).expand_as(x)
            saved: dict[int, tuple] = {}

            def forward_hook(module, args, out):
                saved[id(module)] = (args[0].detach(), out.detach())

            def backward_hook(module, grad_input, grad_output):
                inp, out = saved[id(module)]
                half = inp.shape[0] // 2
                d_in = (inp[:half] - inp[half:]).repeat(2, *(1,) * (inp.ndim - 1))
                d_out = (out[:half] - out[half:]).repeat(2, *(1,) * (out.ndim - 1))
                return (torch.where(d_in.abs() < EPS, grad_input[0], grad_output[0] * d_out / d_in),)

            handles = [m.register_forward_hook(forward_hook) for m in modules]
            handles += [m.register_full_backward_hook(backward_hook) for m in modules]
            try:
                xg = x.clone().requires_grad_(True)
                logits = adapter.forward_batch(torch.cat([xg, b]))
                t = torch.as_tensor(targets[index], device=x.device)
                chosen = logits.gather(1, t.repeat(2).view(-1, 1)).view(2, -1)
                (grad,) = torch.autograd.grad(chosen.sum(), xg)
            finally:
                for handle in handles:
                    handle.remove()
            values = (x - b) * grad
            delta = values.reshape(x.shape[0], -1).sum(1) - (chosen[0] - chosen[1]).detach()
            return torch.cat([values.reshape(x.shape[0], -1), delta.view(-1, 1)], 1)

        out = adapter.map_batches(fn, tensor, grad=True, batch_size=self.batch_size, desc="DeepLift",
                                  name="DeepLift attributions")
        return Attribution(values=out[:, :-1].reshape(tuple(tensor.shape)), delta=out[:, -1], method="DeepLift(rescale)",
                           target=targets, feature_names=feature_names(inputs))
