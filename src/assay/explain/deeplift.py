"""DeepLIFT with the rescale rule (Shrikumar et al. 2017), equal to Captum 0.9's ``DeepLift``.

Each input row runs through the model together with its baseline; at every elementwise
nonlinearity module (ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus) the backward pass uses the
multiplier ``(f(x) - f(b)) / (x - b)`` instead of the gradient (the gradient where ``|x - b| <
1e-10``). Nonlinearities called as functions (``torch.relu`` in ``forward``) are not seen and keep
their gradients, as in Captum.

Max-pooling modules (``nn.MaxPool1d/2d/3d``) use Captum's rule: with ``o``, ``o_b`` the pooled
outputs of the input and the baseline and ``g`` the incoming multiplier, ``g * (max(o, o_b) -
o_b)`` is routed back to the input's arg-max positions and ``g * (o - max(o, o_b))`` to the
baseline's, and their sum over the window divided by ``x - b`` is the multiplier (the gradient
where ``|x - b| < 1e-10``). Summation to delta holds through the pooling.

Where Captum 0.9 differs (``maxpool="gradient"`` reproduces Captum on the digits CNN):

* two hooked modules in a row (``ReLU -> MaxPool2d`` in the digits CNN, or ``MaxPool -> ReLU``):
  Captum hooks both on the same tensor, and the first module's hook reads the gradient before the
  second one's rule rewrites it, so the second rule is lost. On the digits CNN the ReLU rescales
  the plain max-pool gradient (arg-max routing of ``g``): Captum's values equal
  ``maxpool="gradient"`` here, and its summation-to-delta gap is ~1e-2, not 0.
* where ``|x - b| < 1e-10`` at a pooling input, Captum's maxpool takes ``grad_input[0]``, which
  for its tensor hook is the first row of the batch, not the row's own gradient.

Elsewhere (a pooling layer between unhooked modules, inputs that differ from the baselines) the
two are equal.

Softmax modules are refused: Captum's softmax rule subtracts the mean multiplier over the whole
batch (every row, inputs and baselines together: ``grad - grad.sum() / grad.numel()``), so a
row's attributions change with the other rows in its batch (and with ``internal_batch_size``);
assay's ``batch_size`` never changes values. Explain the logits (the layer before the softmax).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..core.component import Options
from ..core.errors import AssayInputError
from ._base import Attribution, Explainer, feature_names, resolve_baselines
from .gradient import _prepare

__all__ = ["DeepLift"]

EPS = 1e-10


def _nonlinear_types():
    from torch import nn

    return (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus)


def _pool_types():
    from torch import nn

    return (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)


def _refused_types():
    from torch import nn

    return (nn.Softmax, nn.Softmax2d, nn.LogSoftmax)


def _maxpool_multiplier(module, inp, out, grad_input, grad_output):
    """Captum 0.9's ``maxpool`` rule on the stacked (inputs, baselines) batch."""
    import torch
    import torch.nn.functional as F

    dims = {torch.nn.MaxPool1d: 1, torch.nn.MaxPool2d: 2, torch.nn.MaxPool3d: 3}[type(module)]
    pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1]
    unpool = (F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)[dims - 1]
    with torch.no_grad():
        x_in, b_in = inp.chunk(2)
        o, o_b = out.chunk(2)
        d_in = torch.cat(2 * [x_in - b_in])
        cross = torch.max(o, o_b)
        d_out = torch.cat([cross - o_b, o - cross])
        _, indices = pool(inp, module.kernel_size, module.stride, module.padding, module.dilation,
                          module.ceil_mode, True)
        routed = unpool(grad_output * d_out, indices, module.kernel_size, module.stride, module.padding,
                        list(inp.shape))
        a, b = routed.chunk(2)
        summed = torch.cat(2 * [a + b])
        return torch.where(d_in.abs() < EPS, grad_input, summed / d_in)


class DeepLift(Explainer):
    """DeepLIFT-rescale attributions ``(x - b) * m`` with the multipliers ``m`` of the rescale rule.

    ``delta`` is the summation-to-delta gap ``sum(values) - (F_t(x) - F_t(b))``: 0 up to rounding
    for networks of linear layers, convolutions and the supported nonlinearities.

    Parameters
    ----------
    model : torch classifier or its adapter; nonlinearities as modules (``nn.ReLU()``, ...),
        each instance used once per forward pass.
    maxpool : {"rescale", "gradient"}, default "rescale"
        Max-pooling modules: Captum's DeepLIFT rule (summation to delta holds), or their plain
        gradient (what Captum 0.9 ends up computing for a pooling right after a ReLU module).
    batch_size : int, optional
        Rows per pass (each with its baseline: twice as many through the model); never changes the values.
    """

    _parameter_constraints: ClassVar[dict] = {"model": ["no_validation"],
                                              "maxpool": [Options(str, {"rescale", "gradient"})]}

    def __init__(self, model: Any, *, maxpool: str = "rescale", batch_size: int | None = None) -> None:
        self.model = model
        self.maxpool = maxpool
        self.batch_size = batch_size

    def _attribute(self, adapter, inputs, target, baselines):
        import torch

        adapter, tensor, targets = _prepare(adapter, inputs, target, "DeepLift")
        refused = [n for n, m in adapter.model.named_modules() if isinstance(m, _refused_types())]
        if refused:
            raise AssayInputError(f"'model' of DeepLift has softmax modules ({refused[:3]}): Captum's DeepLift rule "
                                  "for them mixes the rows of a batch, and assay's does not exist. Explain the logits "
                                  "(the model without its softmax) or use IntegratedGradients.")
        base, per_row = resolve_baselines(baselines, tensor)
        hooked = _nonlinear_types() + (_pool_types() if self.maxpool == "rescale" else ())
        modules = [m for m in adapter.model.modules() if isinstance(m, hooked)]

        def fn(batch, index):
            x = batch.detach()
            b = (base[index] if per_row else base).to(device=x.device, dtype=x.dtype).expand_as(x)
            saved: dict[int, tuple] = {}

            def forward_hook(module, args, out):
                saved[id(module)] = (args[0].detach(), out.detach())

            def backward_hook(module, grad_input, grad_output):
                inp, out = saved[id(module)]
                if isinstance(module, _pool_types()):
                    return (_maxpool_multiplier(module, inp, out, grad_input[0], grad_output[0]),)
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
        method = "DeepLift(rescale)" if self.maxpool == "rescale" else "DeepLift(rescale, maxpool=gradient)"
        return Attribution(values=out[:, :-1].reshape(tuple(tensor.shape)), delta=out[:, -1], method=method,
                           target=targets, feature_names=feature_names(inputs))
