"""Feature visualization of torch models: what a class, a channel, a neuron or a direction responds to.

``FeatureVisualization(model, input_shape=(1, 8, 8)).visualize([0, 1, 2])`` optimises one input per
target from seeded noise (activation maximisation, Erhan et al. 2009; Olah et al. 2017, "Feature
Visualization", Distill) and returns a :class:`VisualizationResult`. The objective is

* ``"class"``: the target's logit (activation maximisation proper; raising one logit can raise others
  too, which :func:`class_entanglement` measures);
* ``"log_prob"``: the target's log-probability (its logit minus the log-sum-exp of all logits: raises it
  against the other classes, so the image is classified as the target with high probability);
* ``"channel"``: the mean over positions of channel ``target`` of ``layer``'s output ``(n, c, ...)``;
* ``"neuron"``: one entry of ``layer``'s output, ``target`` indexing its flattened per-example output;
* ``"direction"``: the dot product of ``layer``'s output with a unit vector ``target`` (of the flattened
  output's length, or of its channel count, then averaged over positions, as Lucid's ``direction``).

The layer is read with a forward hook on the named module (the names of
``dict(model.named_modules())``, resolved by the adapter as everywhere else); the model runs in eval mode
and its parameters' ``.grad`` are never touched. Each step maximises ``objective - l2 * mean((x - mid)^2)
- tv * TV(x) / (h * w)`` with Adam, where the model sees the image through random robustness transforms
(``jitter`` pixels of translation, a scale drawn from ``scales``, a rotation in ``[-rotation, rotation]``
degrees: one affine ``grid_sample`` in torch, no torchvision) drawn per image and step from the seed.

Parameterisation: the image is ``low + (high - low) * sigmoid(p)`` with ``clip=(low, high)`` (so it
stays in the declared valid range, the attacks' ``clip`` convention; ``clip=None``: ``x = p``,
unbounded), where ``p`` is either a pixel array or, with ``fourier=True``, the inverse real FFT of a
spectrum whose frequencies are scaled by ``1 / max(f, 1/max(h, w))`` (the decorrelated parameterisation
of Olah et al.: steepest ascent then moves all frequencies equally; channels are not mixed). ``blur`` >
0 makes the image the Gaussian blur (standard deviation ``blur`` pixels, reflected edges) of that, so no
detail finer than the blur can be made; the returned image is the one the model sees (before the random
transforms). Everything is seeded by ``random_state``: the starting noise and every transform draw are
made once, before the optimisation, so ``batch_size`` (images optimised together) never changes them.

Around it: :func:`class_entanglement` (how much optimising class A raises class B), :func:`naturalness`
(Spearman correlation per layer between a visualization's activations and the mean activations of real
examples of its class) and :func:`total_variation`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.adapters import ModelAdapter, uncached_logits, wrap
from ..core.component import Component, Interval, Options
from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_consistent_length, describe
from ._base import torch_adapter

__all__ = ["EntanglementResult", "FeatureVisualization", "NaturalnessResult", "VisualizationResult",
           "class_entanglement", "naturalness", "total_variation"]

OBJECTIVES = ("class", "log_prob", "channel", "neuron", "direction")
CLASS_OBJECTIVES = ("class", "log_prob")
_SPATIAL = "'{name}' of FeatureVisualization needs images: 'input_shape' (c, h, w). Got input_shape {shape}."


def total_variation(images: Any) -> np.ndarray:
    """Anisotropic total variation of each image: ``sum |x[.., i+1, j] - x[.., i, j]| + |x[.., i, j+1] - x[.., i, j]|``.

    ``images``: ``(n, c, h, w)`` or ``(n, h, w)``; returns ``(n,)`` (summed over channels), in pixel units.
    """
    arr = as_array(images, name="images", ndim=(3, 4), dtype=np.float64)
    dy = np.abs(np.diff(arr, axis=-2)).reshape(len(arr), -1).sum(1)
    dx = np.abs(np.diff(arr, axis=-1)).reshape(len(arr), -1).sum(1)
    return dy + dx


@dataclasses.dataclass(frozen=True, eq=False)
class VisualizationResult(Result):
    """Optimised inputs, one per target.

    Attributes
    ----------
    images : ndarray ``(n, *input_shape)``, in ``clip``.
    objective, layer : what was maximised (``layer`` None for the class objectives).
    target : ndarray ``(n,)`` of int (class, channel or neuron), or ``(n, d)`` directions.
    activation : ndarray ``(n,)``, the objective at the final image (no random transform).
    probabilities : ndarray ``(n, k)``, the model's class probabilities at the final image.
    logits, initial_logits : ndarray ``(n, k)``, the logits at the final and at the starting image.
    history : ndarray ``(n, steps)``, the objective at each step (under that step's transform).
    total_variation : ndarray ``(n,)`` (:func:`total_variation`; NaN for non-image inputs).
    """

    images: np.ndarray
    objective: str
    layer: str | None
    target: np.ndarray
    activation: np.ndarray
    probabilities: np.ndarray
    logits: np.ndarray
    initial_logits: np.ndarray
    history: np.ndarray
    total_variation: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per image: target, activation, predicted class and its probability, the target's
        probability (class objective), total variation."""
        frame = pd.DataFrame({
            "target": [t.tolist() for t in self.target] if self.target.ndim > 1 else self.target,
            "activation": self.activation, "predicted": self.probabilities.argmax(1),
            "predicted_probability": self.probabilities.max(1)})
        if self.objective in CLASS_OBJECTIVES:
            frame["target_probability"] = self.probabilities[np.arange(len(self.target)), self.target]
        frame["total_variation"] = self.total_variation
        return frame


class FeatureVisualization(Component):
    """Activation maximisation from seeded noise (see the module docstring).

    Parameters
    ----------
    model : a torch classifier or its adapter.
    input_shape : tuple of int, the shape of one input, e.g. ``(1, 8, 8)``.
    objective : {"class", "log_prob", "channel", "neuron", "direction"}, default "class".
    layer : str, a module name (needed by the layer objectives "channel", "neuron", "direction").
    steps : int >= 1, Adam steps. lr : float > 0, Adam's step size on the parameterisation.
    l2 : float >= 0, weight of the mean squared distance to the middle of ``clip`` (to 0 unbounded).
    tv : float >= 0, weight of the total variation per pixel (:func:`total_variation` / (h * w)).
    jitter : int >= 0, largest random translation in pixels. scales : tuple of float > 0, the random
        scale factors. rotation : float >= 0, largest random rotation in degrees.
    blur : float >= 0, standard deviation in pixels of the Gaussian blur of the image (0: none).
    fourier : bool, the decorrelated (Fourier) parameterisation.
    clip : (low, high) or None, the valid input range (default (0, 1), the attacks' convention).
    init_std : float >= 0, standard deviation of the starting noise of the parameterisation.
    random_state : int, seeds the noise and the transforms.
    batch_size : int, optional, images optimised together (default: the adapter's); never changes them.
    """

    _validated_methods: ClassVar[tuple[str, ...]] = ("visualize",)
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "model": ["no_validation"], "input_shape": [tuple, list], "objective": [Options(str, OBJECTIVES)],
        "layer": [None, str], "steps": [Interval(numbers.Integral, 1, None)],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")], "l2": [Interval(numbers.Real, 0, None)],
        "tv": [Interval(numbers.Real, 0, None)], "jitter": [Interval(numbers.Integral, 0, None)],
        "scales": [tuple, list], "rotation": [Interval(numbers.Real, 0, 180)],
        "blur": [Interval(numbers.Real, 0, None)], "fourier": ["boolean"], "clip": [None, tuple, list],
        "init_std": [Interval(numbers.Real, 0, None)], "random_state": [Interval(numbers.Integral, 0, None)],
        "batch_size": [None, Interval(numbers.Integral, 1, None)]}

    def __init__(self, model: Any = None, *, input_shape: Any = (), objective: str = "class", layer: str | None = None,
                 steps: int = 200, lr: float = 0.05, l2: float = 0.0, tv: float = 0.0, jitter: int = 0,
                 scales: Any = (1.0,), rotation: float = 0.0, blur: float = 0.0, fourier: bool = False,
                 clip: Any = (0.0, 1.0), init_std: float = 0.1, random_state: int = 0,
                 batch_size: int | None = None) -> None:
        self.model = model
        self.input_shape = input_shape
        self.objective = objective
        self.layer = layer
        self.steps = steps
        self.lr = lr
        self.l2 = l2
        self.tv = tv
        self.jitter = jitter
        self.scales = scales
        self.rotation = rotation
        self.blur = blur
        self.fourier = fourier
        self.clip = clip
        self.init_std = init_std
        self.random_state = random_state
        self.batch_size = batch_size

    # ---- checks
    def _checked(self):
        owner = type(self).__name__
        shape = tuple(self.input_shape)
        if not shape or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
                                for s in shape):
            raise AssayInputError(f"The 'input_shape' parameter of {owner} must be the shape of one input, a "
                                  f"non-empty tuple of ints >= 1 (e.g. (1, 8, 8)). Got {self.input_shape!r} instead.")
        scales = tuple(self.scales)
        if not scales or not all(isinstance(s, numbers.Real) and not isinstance(s, bool) and s > 0 for s in scales):
            raise AssayInputError(f"The 'scales' parameter of {owner} must be a non-empty tuple of floats > 0. "
                                  f"Got {self.scales!r} instead.")
        clip = self.clip
        if clip is not None:
            ok = (len(clip) == 2 and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in clip)
                  and np.isfinite(clip).all() and clip[0] < clip[1])
            if not ok:
                raise AssayInputError(f"The 'clip' parameter of {owner} must be None or (low, high) with finite low "
                                      f"< high. Got {clip!r} instead.")
            clip = (float(clip[0]), float(clip[1]))
        spatial = len(shape) == 3
        transforms = self.jitter > 0 or scales != (1.0,) or self.rotation > 0
        for name, used in (("tv", self.tv > 0), ("blur", self.blur > 0), ("fourier", self.fourier),
                           ("jitter/scales/rotation", transforms)):
            if used and not spatial:
                raise AssayInputError(_SPATIAL.format(name=name, shape=shape))
        if self.objective not in CLASS_OBJECTIVES and self.layer is None:
            raise AssayInputError(f"'layer' of {owner} must name a module for objective={self.objective!r}. "
                                  "Got None.")
        return shape, scales, clip, transforms

    def _targets(self, target: Any, adapter, shape):
        """``(targets as an array, the layer's per-example output shape or None, k logits)``."""
        import torch

        probe = torch.zeros((1, *shape), dtype=adapter._float_dtype, device=adapter.device)
        layer = None
        captured: dict[str, Any] = {}
        if self.objective not in CLASS_OBJECTIVES:
            (layer,) = adapter._resolve_layers(self.layer)
        with _hooked(adapter, layer, captured), adapter._eval_mode(), torch.no_grad():
            try:
                k = adapter.forward_batch(probe).shape[1]
            except AssayInputError as exc:
                raise AssayInputError(f"'input_shape' {shape} does not fit the model: {exc}") from None
        out_shape = tuple(captured["out"].shape[1:]) if layer is not None else None
        if self.objective == "direction":
            d = as_array(target, name="target", ndim=(1, 2), dtype=np.float64)
            d = d[None] if d.ndim == 1 else d
            size = int(np.prod(out_shape))
            if d.shape[1] not in (size, out_shape[0]):
                raise AssayInputError(f"'target' directions must have the length of {layer!r}'s flattened output "
                                      f"({size}) or of its channels ({out_shape[0]}). Got shape {d.shape}.")
            norms = np.linalg.norm(d, axis=1)
            if not (norms > 0).all():
                raise AssayInputError("'target' directions must be non-zero vectors.")
            return d / norms[:, None], out_shape, k
        if isinstance(target, (numbers.Integral, np.integer)) and not isinstance(target, (bool, np.bool_)):
            targets = np.array([int(target)])
        else:
            targets = np.asarray(target.detach().cpu() if hasattr(target, "detach") else target)
            if targets.ndim != 1 or targets.size == 0 or targets.dtype.kind not in "iu":
                raise AssayInputError(f"'target' must be an int or a non-empty 1-D array of ints. "
                                      f"Got {describe(target)} instead.")
        if self.objective in CLASS_OBJECTIVES:
            high, what = k, "class indices"
        elif self.objective == "channel":
            high, what = (out_shape[0] if out_shape else 1), f"channels of {layer!r} (output {out_shape})"
        else:
            high, what = int(np.prod(out_shape)), f"flat indices into {layer!r}'s output {out_shape}"
        if targets.min() < 0 or targets.max() >= high:
            raise AssayInputError(f"'target' must hold {what} in [0, {high - 1}]. Got values in "
                                  f"[{int(targets.min())}, {int(targets.max())}].")
        return targets.astype(np.int64), out_shape, k

    # ---- the optimisation
    def visualize(self, target: Any) -> VisualizationResult:
        """One optimised input per target (see the class docstring for what ``target`` is per objective)."""
        import torch

        adapter = torch_adapter(self.model if isinstance(self.model, ModelAdapter) else wrap(self.model),
                                type(self).__name__)
        shape, scales, clip, transforms = self._checked()
        targets, _out_shape, _k = self._targets(target, adapter, shape)
        layer = adapter._resolve_layers(self.layer)[0] if self.objective not in CLASS_OBJECTIVES else None
        n = len(targets)
        gen = torch.Generator().manual_seed(int(self.random_state))
        param_shape = _param_shape(shape, self.fourier)
        init = torch.randn((n, *param_shape), generator=gen, dtype=torch.float64) * float(self.init_std)
        draws = _draw_transforms(gen, self.steps, n, self.jitter, scales, self.rotation) if transforms else None
        batch = int(self.batch_size or adapter.batch_size)
        images, history, activation, start = [], [], [], []
        with adapter._eval_mode():
            for lo in range(0, n, batch):
                idx = slice(lo, min(n, lo + batch))
                out = self._optimise(adapter, init[idx], targets[idx], layer, shape, clip, draws, idx)
                for store, value in zip((images, history, activation, start), out):
                    store.append(value)
        images_arr = np.concatenate(images).astype(np.float32)
        start_arr = np.concatenate(start).astype(np.float32)
        logits = np.asarray(uncached_logits(adapter, images_arr), dtype=np.float64)
        return VisualizationResult(
            images=images_arr, objective=self.objective, layer=layer, target=targets,
            activation=np.concatenate(activation), probabilities=_softmax(logits), logits=logits,
            initial_logits=np.asarray(uncached_logits(adapter, start_arr), dtype=np.float64),
            history=np.concatenate(history), total_variation=(
                total_variation(images_arr) if len(shape) == 3 else np.full(n, np.nan)))

    def _optimise(self, adapter, init, targets, layer, shape, clip, draws, idx):
        import torch

        device, dtype = adapter.device, adapter._float_dtype
        raw = init.to(device=device, dtype=dtype).clone().requires_grad_(True)
        opt = torch.optim.Adam([raw], lr=float(self.lr))
        to_image = _image_function(shape, clip, self.fourier, float(self.blur), device, dtype)
        objective = _objective_function(self.objective, targets, device, dtype)
        mid = 0.0 if clip is None else (clip[0] + clip[1]) / 2
        pixels = shape[-1] * shape[-2] if len(shape) == 3 else 1
        history = np.empty((len(targets), self.steps))
        captured: dict[str, Any] = {}
        with _hooked(adapter, layer, captured), torch.enable_grad():
            for step in range(self.steps):
                image = to_image(raw)
                seen = image if draws is None else _transform(image, *(d[step, idx] for d in draws))
                logits = adapter.forward_batch(seen)
                value = objective(captured["out"] if layer is not None else logits)
                loss = -value.sum()
                if self.l2:
                    loss = loss + float(self.l2) * ((image - mid) ** 2).flatten(1).mean(1).sum()
                if self.tv:
                    loss = loss + float(self.tv) * _tv_torch(image).sum() / pixels
                (grad,) = torch.autograd.grad(loss, raw)
                raw.grad = grad
                opt.step()
                history[:, step] = value.detach().double().cpu().numpy()
            with torch.no_grad():
                image = to_image(raw)
                logits = adapter.forward_batch(image)
                final = objective(captured["out"] if layer is not None else logits).double().cpu().numpy()
                start = to_image(init.to(device=device, dtype=dtype))
        return (image.detach().double().cpu().numpy(), history, final,
                start.detach().double().cpu().numpy())

    def entanglement(self, classes: Any = None) -> EntanglementResult:
        """:func:`class_entanglement` of this visualizer's class objective for ``classes`` (default: all)."""
        import copy

        vis = copy.copy(self).set_params(objective="class", layer=None)
        vis._validate_params()
        if classes is None:
            adapter = torch_adapter(self.model if isinstance(self.model, ModelAdapter) else wrap(self.model),
                                    type(self).__name__)
            shape = vis._checked()[0]
            classes = np.arange(vis._targets(0, adapter, shape)[2])
        return class_entanglement(vis.visualize(classes))


# ---------------------------------------------------------------------- pieces of the optimisation
def _hooked(adapter, layer, captured):
    """A forward hook on ``layer`` storing its (differentiable) output in ``captured["out"]``; nothing for None."""
    import contextlib

    if layer is None:
        return contextlib.nullcontext()
    module = dict(adapter.model.named_modules())[layer]

    @contextlib.contextmanager
    def hooked():
        handle = module.register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", adapter._logits_of(out)))
        try:
            yield
        finally:
            handle.remove()

    return hooked()


def _param_shape(shape, fourier):
    if not fourier:
        return shape
    c, h, w = shape
    return (c, h, w // 2 + 1, 2)


def _image_function(shape, clip, fourier, blur, device, dtype):
    """``raw parameters -> image`` (differentiable): Fourier synthesis, squashing into ``clip``, blur."""
    import torch

    if fourier:
        _c, h, w = shape
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.rfftfreq(w)[None, :]
        scale = 1.0 / np.maximum(np.sqrt(fy ** 2 + fx ** 2), 1.0 / max(h, w))
        scale_t = torch.as_tensor(scale, device=device, dtype=dtype)
    if blur > 0:
        radius = max(1, int(math.ceil(3 * blur)))
        offsets = np.arange(-radius, radius + 1)
        kernel = np.exp(-offsets ** 2 / (2 * blur ** 2))
        kernel_t = torch.as_tensor(kernel / kernel.sum(), device=device, dtype=dtype)

    def to_image(raw):
        x = raw
        if fourier:
            spectrum = torch.complex(raw[..., 0], raw[..., 1]) * scale_t
            x = torch.fft.irfft2(spectrum, s=shape[1:], norm="ortho")
        if clip is not None:
            x = clip[0] + (clip[1] - clip[0]) * torch.sigmoid(x)
        if blur > 0:
            x = _blur(x, kernel_t)
        return x

    return to_image


def _blur(x, kernel):
    """Separable Gaussian blur of ``(n, c, h, w)`` with reflected edges (clamped to the image's size)."""
    import torch.nn.functional as F

    n, c, h, w = x.shape
    r = (len(kernel) - 1) // 2
    out = x
    for axis, size in ((2, h), (3, w)):
        pad = min(r, size - 1)
        k = kernel[r - pad: r + pad + 1]
        k = k / k.sum()
        if pad == 0:
            continue
        flat = out.transpose(axis, 3).reshape(-1, 1, out.shape[axis])
        flat = F.conv1d(F.pad(flat, (pad, pad), mode="reflect"), k.view(1, 1, -1))
        shape = list(out.transpose(axis, 3).shape)
        out = flat.reshape(shape).transpose(axis, 3)
    return out


def _draw_transforms(gen, steps, n, jitter, scales, rotation):
    """Per step and image: translation (pixels, y and x), scale, angle (radians), as tensors ``(steps, n)``."""
    import torch

    shift = torch.randint(-jitter, jitter + 1, (steps, n, 2), generator=gen) if jitter else torch.zeros(steps, n, 2)
    scale = torch.as_tensor(scales, dtype=torch.float64)[torch.randint(len(scales), (steps, n), generator=gen)]
    angle = (torch.rand((steps, n), generator=gen, dtype=torch.float64) * 2 - 1) * math.radians(rotation)
    return shift[..., 0].double(), shift[..., 1].double(), scale, angle


def _transform(image, dy, dx, scale, angle):
    """Translate by ``(dy, dx)`` pixels, zoom by ``scale`` and rotate by ``angle`` each image (reflected edges)."""
    import torch
    import torch.nn.functional as F

    n, _c, h, w = image.shape
    dtype, device = image.dtype, image.device
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, -2 * dx / w], 1), torch.stack([sin, cos, -2 * dy / h], 1)], 1)
    grid = F.affine_grid(theta.to(device=device, dtype=dtype), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _objective_function(objective, targets, device, dtype):
    import torch

    if objective in ("class", "log_prob"):
        t = torch.as_tensor(targets, device=device).view(-1, 1)
        if objective == "log_prob":
            return lambda logits: torch.log_softmax(logits, 1).gather(1, t).squeeze(1)
        return lambda logits: logits.gather(1, t).squeeze(1)
    if objective == "channel":
        t = torch.as_tensor(targets, device=device)

        def channel(out):
            chosen = out[torch.arange(len(t), device=device), t] if out.ndim > 1 else out
            return chosen.flatten(1).mean(1) if chosen.ndim > 1 else chosen
        return channel
    if objective == "neuron":
        t = torch.as_tensor(targets, device=device).view(-1, 1)
        return lambda out: out.flatten(1).gather(1, t).squeeze(1)
    d = torch.as_tensor(targets, device=device, dtype=dtype)

    def direction(out):
        flat = out.flatten(1)
        if d.shape[1] == flat.shape[1]:
            return (flat * d).sum(1)
        return (out * d.view(*d.shape, *([1] * (out.ndim - 2)))).sum(1).flatten(1).mean(1)
    return direction


def _tv_torch(x):
    return ((x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).sum(1)
            + (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).sum(1))


def _softmax(logits):
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


# ---------------------------------------------------------------------- class entanglement
@dataclasses.dataclass(frozen=True, eq=False)
class EntanglementResult(Result):
    """How much optimising class A (rows) raises class B (columns).

    ``probability``: mean probability of B at the images optimised for A (rows sum to 1).
    ``logit_gain``: mean rise of B's logit from the starting noise to the image optimised for A.
    ``off_diagonal``: mean off-diagonal probability (0: every visualization is unambiguous).
    """

    probability: pd.DataFrame
    logit_gain: pd.DataFrame
    off_diagonal: float

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per (optimised, class) with ``probability`` and ``logit_gain``."""
        prob = self.probability.stack().rename("probability")
        gain = self.logit_gain.stack().rename("logit_gain")
        return pd.concat([prob, gain], axis=1).rename_axis(["optimised", "class"]).reset_index()


def class_entanglement(result: VisualizationResult) -> EntanglementResult:
    """The entanglement matrices of a class-objective :class:`VisualizationResult` (images of one target
    are averaged)."""
    if not isinstance(result, VisualizationResult) or result.objective not in CLASS_OBJECTIVES:
        got = f"objective {result.objective!r}" if isinstance(result, VisualizationResult) else describe(result)
        raise AssayInputError(f"'result' must be a VisualizationResult of a class objective. Got {got}.")
    k = result.probabilities.shape[1]
    frame = pd.DataFrame(result.probabilities).assign(optimised=result.target)
    prob = frame.groupby("optimised").mean()
    gain = pd.DataFrame(result.logits - result.initial_logits).assign(optimised=result.target).groupby(
        "optimised").mean()
    prob.columns = gain.columns = pd.Index(range(k), name="class")
    rows = prob.to_numpy()
    mask = np.ones_like(rows, dtype=bool)
    mask[np.arange(len(prob)), prob.index.to_numpy()] = False
    return EntanglementResult(probability=prob, logit_gain=gain, off_diagonal=float(rows[mask].sum() / len(prob)
                                                                                   / max(k - 1, 1)))


# ---------------------------------------------------------------------- naturalness
@dataclasses.dataclass(frozen=True, eq=False)
class NaturalnessResult(Result):
    """Spearman correlation between each image's activations and its class's mean real activations.

    ``table``: one row per (image, layer): ``image``, ``target``, ``layer``, ``spearman``, and
    ``reference``: the median of the same correlation over the real examples of that class (what a
    natural input of the class scores; an image far below it is not "natural").
    """

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table


def _row_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``a (n, d)`` with ``b (d,)`` (average ranks for ties)."""
    from scipy.stats import rankdata

    ra = rankdata(a, axis=1)
    rb = rankdata(b)
    ra -= ra.mean(1, keepdims=True)
    rb = rb - rb.mean()
    denom = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, ra @ rb / np.where(denom > 0, denom, 1), np.nan)


def naturalness(model: Any, images: Any, X: Any, y: Any, *, layers: Any, target: Any = None) -> NaturalnessResult:
    """How close each image's activations are to those of real examples of its class, per layer.

    Parameters
    ----------
    model : torch model or adapter.
    images : a class-objective :class:`VisualizationResult` (its images and targets), or an array
        ``(m, ...)`` of inputs with ``target`` their classes ``(m,)``.
    X, y : real inputs ``(n, ...)`` and their classes ``(n,)``; every target class needs real examples.
    layers : module names; the activations are flattened per example (one pass for all layers).
    """
    if isinstance(images, VisualizationResult):
        if images.objective not in CLASS_OBJECTIVES:
            raise AssayInputError(f"'images' must be a VisualizationResult of a class objective. Got "
                                  f"{images.objective!r}.")
        target, images = images.target, images.images
    if target is None:
        raise AssayInputError("'target' must give each image's class when 'images' is an array. Got None.")
    if isinstance(layers, str) or not len(layers):
        raise AssayInputError(f"'layers' must be a non-empty list of module names. Got {layers!r}.")
    adapter = wrap(model) if not isinstance(model, ModelAdapter) else model
    y_arr = as_array(y, name="y", ndim=1)
    check_consistent_length(X=X, y=y_arr)
    t = as_array(target, name="target", ndim=1)
    check_consistent_length(images=images, target=t)
    missing = sorted(set(t.tolist()) - set(y_arr.tolist()))
    if missing:
        raise AssayInputError(f"'y' has no real example of the target class(es) {missing}.")
    layers = list(layers)
    real = adapter.embeddings(X, layers, flatten=True)
    seen = adapter.embeddings(images, layers, flatten=True)
    rows = []
    for layer in layers:
        for cls in pd.unique(t):
            members = real[layer][y_arr == cls].astype(np.float64)
            mean = members.mean(0)
            reference = float(np.nanmedian(_row_spearman(members, mean)))
            which = np.flatnonzero(t == cls)
            scores = _row_spearman(seen[layer][which].astype(np.float64), mean)
            rows += [{"image": int(i), "target": cls, "layer": layer, "spearman": float(s), "reference": reference}
                     for i, s in zip(which, scores)]
    table = pd.DataFrame(rows).sort_values(["image", "layer"], key=lambda c: c.map(
        {name: j for j, name in enumerate(layers)}) if c.name == "layer" else c, kind="stable").reset_index(drop=True)
    return NaturalnessResult(table=table)
