"""SmoothGrad, SmoothGrad-squared and VarGrad over any gradient explainer (Captum's ``NoiseTunnel``)."""

from __future__ import annotations

import copy
import numbers
from typing import Any, ClassVar

import numpy as np

from ..core.adapters import ModelAdapter, wrap
from ..core.component import Interval, Options
from ..core.errors import AssayInputError
from ..core.validation import check_random_state, describe
from ._base import Attribution, Explainer, feature_names, resolve_targets

__all__ = ["NT_TYPES", "NoiseTunnel"]

NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


class NoiseTunnel(Explainer):
    """Average an explainer's attributions over ``nt_samples`` noisy copies of each input (Smilkov et al. 2017).

    Noise ``N(0, stdevs^2)`` (float32, as Captum draws it) is drawn once for all ``n x nt_samples``
    copies from a torch generator seeded by ``random_state``, in Captum's order (the copies of
    row ``i`` are rows ``i*nt_samples ...``): with ``torch.manual_seed(s)`` before Captum's
    ``NoiseTunnel`` and ``random_state=s`` here, the noise and the attributions are the same.
    ``nt_type``: "smoothgrad" (mean), "smoothgrad_sq" (mean of squares) or "vargrad" (variance).
    ``target=None`` is each row's predicted class on the clean input; ``delta`` is the mean of
    the inner explainer's deltas over the copies, where it has one.

    Parameters
    ----------
    explainer : an explainer, e.g. ``Saliency(model)`` or ``IntegratedGradients(model, n_steps=20)``.
    nt_type : {"smoothgrad", "smoothgrad_sq", "vargrad"}
    nt_samples : int >= 1, default 5
    stdevs : float >= 0, default 1.0 (in input units)
    random_state : None, int, or numpy Generator / RandomState
    batch_size : int, optional
        Overrides the inner explainer's ``batch_size`` (its rows are the noisy copies).
    """

    _parameter_constraints: ClassVar[dict] = {
        "explainer": ["no_validation"], "nt_type": [Options(str, NT_TYPES)],
        "nt_samples": [Interval(numbers.Integral, 1, None)], "stdevs": [Interval(numbers.Real, 0, None)],
        "random_state": ["random_state"]}

    def __init__(self, explainer: Any, *, nt_type: str = "smoothgrad", nt_samples: int = 5, stdevs: float = 1.0,
                 random_state: Any = None, batch_size: int | None = None) -> None:
        self.explainer = explainer
        self.nt_type = nt_type
        self.nt_samples = nt_samples
        self.stdevs = stdevs
        self.random_state = random_state
        self.batch_size = batch_size

    def attribute(self, inputs: Any, target: Any = None, baselines: Any = None, **method_kwargs: Any) -> Attribution:
        """As :meth:`Explainer.attribute`; keywords that are not this tunnel's go to the inner explainer."""
        import torch

        own = {k: v for k, v in method_kwargs.items() if k in self._get_param_names()}
        est = copy.copy(self).set_params(**own)
        est._validate_params()
        if not isinstance(est.explainer, Explainer) or isinstance(est.explainer, NoiseTunnel):
            raise AssayInputError(f"'explainer' of NoiseTunnel must be an assay explainer such as Saliency(model). "
                                  f"Got {describe(est.explainer)}.")
        inner = copy.copy(est.explainer).set_params(**{k: v for k, v in method_kwargs.items() if k not in own})
        if est.batch_size is not None:
            inner.set_params(batch_size=est.batch_size)
        inner._validate_params()
        adapter = inner.model if isinstance(inner.model, ModelAdapter) else wrap(inner.model)
        tensor = adapter._to_tensor(inputs)
        if not tensor.is_floating_point():
            raise AssayInputError(f"'inputs' must be floating point to add noise to them. Got dtype {tensor.dtype}.")
        targets = resolve_targets(target, adapter.logits(inputs))
        n, s = tensor.shape[0], int(est.nt_samples)
        seed = int(check_random_state(est.random_state, name="random_state").integers(2**63 - 1)) \
            if not isinstance(est.random_state, numbers.Integral) else int(est.random_state)
        generator = torch.Generator().manual_seed(seed)
        std = torch.tensor(float(est.stdevs)).repeat((n * s, *tensor.shape[1:]))
        noisy = tensor.repeat_interleave(s, dim=0) + torch.normal(0, std, generator=generator)
        if baselines is not None and tuple(np.shape(baselines)) == tuple(tensor.shape):
            baselines = torch.as_tensor(np.asarray(baselines)).repeat_interleave(s, dim=0)
        att = inner._attribute(adapter, noisy, np.repeat(targets, s), baselines)
        values = att.values.reshape(n, s, *tensor.shape[1:])
        mean = values.sum(1) / s
        if est.nt_type == "smoothgrad":
            out = mean
        else:
            sq = (values ** 2).sum(1) / s
            out = sq if est.nt_type == "smoothgrad_sq" else sq - mean ** 2
        delta = None if att.delta is None else att.delta.reshape(n, s).mean(1)
        return Attribution(values=out, method=f"NoiseTunnel({est.nt_type}, nt_samples={s}, stdevs={est.stdevs:g}) "
                           f"of {att.method}", target=targets, delta=delta, feature_names=feature_names(inputs))


class GradientShap(Explainer):
    """Expected gradients (Lundberg & Lee 2017): Captum's ``GradientShap``, seeded.

    For each of ``n_samples`` copies of each row: Gaussian noise ``N(0, stdevs^2)`` is added to
    the input (float32 from a torch generator, as :class:`NoiseTunnel`), a background row ``b``
    is drawn from ``baselines`` and a point ``a x + (1 - a) b`` with ``a ~ U(0, 1)`` (numpy
    ``RandomState``: first the background indices, then the ``a``, as Captum draws them with
    ``np.random``); the value is the mean over the copies of ``(x - b) * grad F_t(point)``, and
    ``delta`` the mean of ``sum(values) - (F_t(x) - F_t(b))``. With ``torch.manual_seed(s)``
    and ``np.random.seed(s)`` before Captum and ``random_state=s`` here, the values are equal.

    Parameters
    ----------
    model : torch classifier or its adapter.
    n_samples : int >= 1, default 5
    stdevs : float >= 0, default 0.0
    random_state : None or int
    batch_size : int, optional
        Copies per forward+backward pass; never changes the values.
    """

    _parameter_constraints: ClassVar[dict] = {"model": ["no_validation"],
                                              "n_samples": [Interval(numbers.Integral, 1, None)],
                                              "stdevs": [Interval(numbers.Real, 0, None)],
                                              "random_state": [None, Interval(numbers.Integral, 0, 2**32 - 1)]}

    def __init__(self, model: Any, *, n_samples: int = 5, stdevs: float = 0.0, random_state: int | None = None,
                 batch_size: int | None = None) -> None:
        self.model = model
        self.n_samples = n_samples
        self.stdevs = stdevs
        self.random_state = random_state
        self.batch_size = batch_size

    def _attribute(self, adapter, inputs, target, baselines):
        import torch

        from .gradient import _prepare, _target_gradient

        adapter, tensor, targets = _prepare(adapter, inputs, target, "GradientShap")
        if baselines is None:
            base = torch.zeros((1, *tensor.shape[1:]), dtype=tensor.dtype)
        elif isinstance(baselines, numbers.Real) and not isinstance(baselines, bool):
            base = torch.full((1, *tensor.shape[1:]), float(baselines), dtype=tensor.dtype)
        else:
            raw = baselines.to_numpy(dtype=np.float64) if hasattr(baselines, "to_numpy") else baselines
            base = raw.detach().cpu() if hasattr(raw, "detach") else torch.as_tensor(np.asarray(raw, dtype=float))
            if tuple(base.shape) == tuple(tensor.shape[1:]):
                base = base[None]
            if tuple(base.shape[1:]) != tuple(tensor.shape[1:]) or base.shape[0] == 0:
                raise AssayInputError(f"'baselines' of GradientShap must be background rows of shape (B, "
                                      f"{', '.join(map(str, tensor.shape[1:]))}) or one input. Got shape "
                                      f"{tuple(base.shape)}.")
        n, s = tensor.shape[0], int(self.n_samples)
        seed = int(np.random.SeedSequence().generate_state(1)[0]) if self.random_state is None else int(
            self.random_state)
        rng = np.random.RandomState(seed)
        index = rng.choice(base.shape[0], n * s)
        alphas = torch.tensor(rng.uniform(0.0, 1.0, n * s))
        std = torch.tensor(float(self.stdevs)).repeat((n * s, *tensor.shape[1:]))
        noisy = tensor.repeat_interleave(s, dim=0) + torch.normal(0, std, generator=torch.Generator().manual_seed(seed))
        drawn = base[torch.as_tensor(index)].to(noisy.dtype)
        t_all = np.repeat(targets, s)
        stacked = torch.stack([noisy, drawn, alphas.view(-1, *(1,) * (tensor.ndim - 1)).expand_as(noisy).to(
            noisy.dtype)], 1)

        def fn(batch, idx):
            x, b, a = batch[:, 0].detach(), batch[:, 1].detach(), batch[:, 2].detach()
            t = torch.as_tensor(t_all[idx], device=x.device)
            grad = _target_gradient(adapter, a * x + (1 - a) * b, t)
            values = (x - b) * grad
            with torch.no_grad():
                ends = adapter.forward_batch(torch.cat([x, b])).gather(1, t.repeat(2).view(-1, 1)).view(2, -1)
            delta = values.reshape(x.shape[0], -1).sum(1) - (ends[0] - ends[1])
            return torch.cat([values.reshape(x.shape[0], -1), delta.view(-1, 1)], 1)

        out = adapter.map_batches(fn, stacked, grad=True, batch_size=self.batch_size, desc="GradientShap",
                                  name="GradientShap attributions")
        values = out[:, :-1].reshape(n, s, -1).sum(1) / s
        return Attribution(values=values.reshape(tuple(tensor.shape)), delta=out[:, -1].reshape(n, s).mean(1),
                           target=targets, feature_names=feature_names(inputs),
                           method=f"GradientShap(n_samples={s}, stdevs={float(self.stdevs):g}, "
                                  f"{base.shape[0]} background rows)")
