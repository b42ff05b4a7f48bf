"""Grad-CAM on a named layer of a torch classifier, and its guided variant (Selvaraju et al. 2017).

Equal to Captum's ``LayerGradCam`` followed by ``LayerAttribution.interpolate`` and to
``GuidedGradCam`` on the same model and inputs. Upsampling is ``torch.nn.functional.interpolate``.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from ..core.component import Options
from ..core.errors import AssayInputError
from ._base import Attribution, Explainer, feature_names
from .gradient import _prepare

__all__ = ["GradCAM"]

INTERPOLATE_MODES = ("nearest", "bilinear", "bicubic", "area", "nearest-exact")


@contextlib.contextmanager
def guided_relus(model):
    """Guided backpropagation: every ``nn.ReLU`` passes back only positive gradients (Springenberg et al. 2015)."""
    import torch

    handles = [m.register_full_backward_hook(lambda _m, grad_in, _out: tuple(
        None if g is None else torch.relu(g) for g in grad_in))
        for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class GradCAM(Explainer):
    """Class activation map of ``layer``, upsampled to the input.

    ``cam = sum_c mean_hw(dF_t/dA_c) * A_c`` over the channels of the layer's output ``A (n, c,
    h, w)``, ReLU'd when ``relu`` (the paper; Captum's ``relu_attributions``), upsampled to the
    input's spatial size with ``interpolate_mode`` and repeated over the input's channels, so
    ``values`` has the input's shape. ``guided=True`` multiplies it by guided backpropagation
    (Guided Grad-CAM; the map is then always ReLU'd, as Captum's ``GuidedGradCam``).

    Parameters
    ----------
    model : torch classifier or its adapter.
    layer : str
        A module name of ``model`` (``dict(model.named_modules())``), e.g. ``"0"`` or ``"features.conv2"``.
    relu : bool, default True
    interpolate_mode : {"nearest", "bilinear", "bicubic", "area", "nearest-exact"}, default "nearest"
    guided : bool, default False
    batch_size : int, optional
        Rows per forward+backward pass (default: the adapter's); never changes the values.
    """

    _parameter_constraints: ClassVar[dict] = {"model": ["no_validation"], "layer": [str], "relu": ["boolean"],
                                              "interpolate_mode": [Options(str, INTERPOLATE_MODES)],
                                              "guided": ["boolean"]}

    def __init__(self, model: Any, *, layer: str = "", relu: bool = True, interpolate_mode: str = "nearest",
                 guided: bool = False, batch_size: int | None = None) -> None:
        self.model = model
        self.layer = layer
        self.relu = relu
        self.interpolate_mode = interpolate_mode
        self.guided = guided
        self.batch_size = batch_size

    def _attribute(self, adapter, inputs, target, baselines):
        import torch
        import torch.nn.functional as F

        if baselines is not None:
            raise AssayInputError(f"'baselines' is not used by GradCAM; pass None. Got {type(baselines).__name__}.")
        adapter, tensor, targets = _prepare(adapter, inputs, target, "GradCAM")
        (name,) = adapter._resolve_layers(self.layer)
        if tensor.ndim < 3:
            raise AssayInputError(f"'inputs' of GradCAM must have spatial dimensions (n, c, h, w) or (n, c, l). "
                                  f"Got shape {tuple(tensor.shape)}.")
        module = dict(adapter.model.named_modules())[name]
        relu = bool(self.relu or self.guided)

        def fn(batch, index):
            t = torch.as_tensor(targets[index], device=batch.device)
            captured = []
            handle = module.register_forward_hook(lambda _m, _i, out: captured.append(adapter._logits_of(out)))
            try:
                chosen = adapter.forward_batch(batch).gather(1, t.view(-1, 1)).sum()
            finally:
                handle.remove()
            act = captured[0]
            if act.ndim < 3:
                raise AssayInputError(f"'layer' {name!r} must output feature maps (n, c, h, w) or (n, c, l) for "
                                      f"GradCAM. Its output has shape {tuple(act.shape)}.")
            (grad,) = torch.autograd.grad(chosen, act)
            weights = grad.mean(dim=tuple(range(2, act.ndim)), keepdim=True)
            cam = (weights * act.detach()).sum(1, keepdim=True)
            if relu:
                cam = torch.relu(cam)
            cam = F.interpolate(cam, size=tuple(batch.shape[2:]), mode=self.interpolate_mode).expand_as(batch)
            if not self.guided:
                return cam
            with guided_relus(adapter.model):
                (guided,) = torch.autograd.grad(adapter.forward_batch(batch).gather(1, t.view(-1, 1)).sum(), batch)
            return cam * guided

        values = adapter.map_batches(fn, tensor, grad=True, batch_size=self.batch_size, desc="GradCAM",
                                     name="GradCAM attributions")
        kind = "GuidedGradCAM" if self.guided else "GradCAM"
        return Attribution(values=values, method=f"{kind}(layer={name!r}, relu={relu}, "
                           f"interpolate_mode={self.interpolate_mode!r})", target=targets,
                           feature_names=feature_names(inputs))
