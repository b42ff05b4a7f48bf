"""Image corruptions on ``(n, c, h, w)`` float tensors, vectorised in torch (no torchvision).

Every corruption keeps its output inside ``valid_range`` (default (0, 1)) and its input's type
(a numpy array comes back as numpy), dtype and device. Random draws come from a CPU
``torch.Generator`` seeded from ``random_state`` and are moved to the input's device, so a seed
gives the same output on every device. Spatial sizes are in pixels of a 32-pixel image and grow
with the short side ``s`` (``scale = max(1, s / 32)``), or are fractions of the side; pixels moved
in from outside the image (rotation, shear, translation, elastic) take the range's lower bound.

Severity tables (severities 1..5):

================  ==========================================  ================================
name              parameter                                   values
================  ==========================================  ================================
gaussian_noise    noise sd, fraction of the range width       .08 .12 .18 .26 .38
shot_noise        Poisson rate (photons at full range)        60 25 12 5 3
impulse_noise     fraction of values set to low/high          .03 .06 .09 .17 .27
gaussian_blur     kernel sd, pixels x scale                   .5 .75 1 1.5 2
motion_blur       streak length, pixels x scale (random angle)  1.5 2.5 3.5 4.5 6
contrast          factor towards the image mean               .4 .3 .2 .1 .05
brightness        added, fraction of the range width          .1 .2 .3 .4 .5
pixelate          kept fraction of the side (avg-pool)        .6 .5 .4 .3 .25
jpeg              JPEG quality (8x8 DCT per channel)          25 18 15 10 7
rotate            angle, degrees (random sign)                8 16 24 32 40
shear             horizontal shear factor (random sign)       .1 .2 .3 .4 .5
translate         shift, fraction of side (random direction)  .05 .1 .15 .2 .25
elastic           displacement amplitude, fraction of side    .03 .06 .09 .12 .15
occlusion         square patch side, fraction (mid-range fill) .1 .2 .3 .4 .5
crop              kept fraction of side, resized back         .9 .8 .7 .6 .5
grayscale         blend weight towards luminance              .2 .4 .6 .8 1
================  ==========================================  ================================

``grayscale`` is the identity on 1-channel images (they are grey already); on 3 channels it
uses the ITU-R 601 luma weights, on other channel counts the channel mean. ``jpeg`` quantises each
channel with the standard JPEG luminance table (no YCbCr conversion, no chroma subsampling).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import AssayInputError
from ..core.validation import describe
from .corruptions import Corruption, register_corruption, seed_of

__all__ = ["ImageCorruption"]


class ImageCorruption(Corruption):
    """Base of the image corruptions: validates ``X`` and ``valid_range``, seeds, clamps, converts back."""

    kind = "image"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"valid_range": [tuple, list]}
    #: True for corruptions that draw random numbers.
    random: ClassVar[bool] = True

    def __init__(self, *, valid_range: tuple[float, float] = (0.0, 1.0)):
        self.valid_range = valid_range

    def _corrupt(self, X: Any, parameter: Any, severity: int, random_state: Any) -> Any:
        owner = type(self).__name__
        low, high = _check_range(self.valid_range, owner)
        x, back = _as_images(X, owner, low, high)
        gen = torch.Generator(device="cpu").manual_seed(seed_of(random_state, owner))
        work = x.to(torch.float64 if x.dtype == torch.float64 else torch.float32)
        out = self._apply(work, parameter, gen, low, high).clamp_(low, high)
        return back(out)

    def _apply(self, x, parameter, gen, low: float, high: float):  # pragma: no cover - abstract
        raise NotImplementedError


def _check_range(valid_range: Any, owner: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in valid_range)
    except (TypeError, ValueError):
        low = high = float("nan")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise AssayInputError(f"The 'valid_range' parameter of {owner} must be a pair (low, high) of finite numbers "
                              f"with low < high. Got {valid_range!r} instead.")
    return low, high


def _as_images(X: Any, owner: str, low: float, high: float):
    """``X`` as a floating tensor (n, c, h, w) and a function turning a result back into X's type."""
    if isinstance(X, torch.Tensor):
        x, back = X.detach(), (lambda out: out.to(X.dtype))
    elif isinstance(X, np.ndarray):
        x, back = torch.from_numpy(np.ascontiguousarray(X)), (lambda out: out.numpy().astype(X.dtype, copy=False))
    else:
        raise AssayInputError(f"'X' of {owner} must be a torch tensor or numpy array of images (n, c, h, w). "
                              f"Got {describe(X)} instead.")
    if x.ndim != 4 or min(x.shape) == 0:
        raise AssayInputError(f"'X' of {owner} must hold images of shape (n, c, h, w) with no empty axis. "
                              f"Got shape {tuple(x.shape)} instead.")
    if not x.is_floating_point():
        raise AssayInputError(f"'X' of {owner} must hold floating-point pixels (got dtype {x.dtype}); convert "
                              "integer images to float and pass their range as 'valid_range'.")
    if not bool(torch.isfinite(x).all()):
        raise AssayInputError(f"'X' of {owner} holds NaN or infinite pixels.")
    lo, hi = float(x.min()), float(x.max())
    if lo < low or hi > high:
        raise AssayInputError(f"'X' of {owner} has pixels in [{lo:.4g}, {hi:.4g}], outside the declared "
                              f"'valid_range' [{low:g}, {high:g}]: rescale the images or pass their range.")
    return x, back


def _uniform(gen, shape, like):
    return torch.rand(shape, generator=gen, dtype=like.dtype).to(like.device)


def _normal(gen, shape, like):
    return torch.randn(shape, generator=gen, dtype=like.dtype).to(like.device)


def _signs(gen, n, like):
    return torch.where(_uniform(gen, (n,), like) < 0.5, -1.0, 1.0).to(like.dtype)


def _scale(x) -> float:
    return max(1.0, min(x.shape[-2:]) / 32.0)


def _depthwise(x, kernel):
    """Convolve every (image, channel) with ``kernel`` ``(k, k)`` or per image ``(n, k, k)``; replicate padding."""
    n, c, h, w = x.shape
    if kernel.ndim == 2:
        kernel = kernel.expand(n, *kernel.shape)
    kh, kw = kernel.shape[-2:]
    padded = F.pad(x.reshape(1, n * c, h, w), (kw // 2, kw // 2, kh // 2, kh // 2), mode="replicate")
    weight = kernel.repeat_interleave(c, dim=0).unsqueeze(1)
    return F.conv2d(padded, weight, groups=n * c).reshape(n, c, h, w)


def _gaussian_kernel(sigma: float, like):
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=like.dtype, device=like.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    return k[:, None] * k[None, :]


def _sample(x, theta_or_grid, low: float, affine: bool = True):
    """Resample ``x`` at an affine map ``theta`` (n, 2, 3) or a grid (n, h, w, 2); outside -> ``low``."""
    grid = F.affine_grid(theta_or_grid, list(x.shape), align_corners=False) if affine else theta_or_grid
    return F.grid_sample(x - low, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + low


def _theta(a, b, c, d, tx, ty):
    return torch.stack([torch.stack([a, b, tx], dim=1), torch.stack([c, d, ty], dim=1)], dim=1)


def _dct_matrix(size: int, like):
    k = torch.arange(size, dtype=torch.float64)
    m = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * size)) * math.sqrt(2 / size)
    m[0] /= math.sqrt(2)
    return m.to(like.dtype).to(like.device)


_JPEG_LUMINANCE = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], dtype=torch.float64)


# ---------------------------------------------------------------------- noise
@register_corruption
class GaussianNoise(ImageCorruption):
    """Additive Gaussian noise; sd = .08 .12 .18 .26 .38 of the range width."""

    name, severities = "gaussian_noise", (0.08, 0.12, 0.18, 0.26, 0.38)

    def _apply(self, x, p, gen, low, high):
        return x + _normal(gen, x.shape, x) * (p * (high - low))


@register_corruption
class ShotNoise(ImageCorruption):
    """Poisson (photon) noise: ``Poisson(rate * v) / rate`` on values ``v`` mapped to [0, 1]; rate 60 25 12 5 3."""

    name, severities = "shot_noise", (60, 25, 12, 5, 3)

    def _apply(self, x, p, gen, low, high):
        unit = ((x - low) / (high - low)).cpu()
        counts = torch.poisson(unit * p, generator=gen).to(x.device)
        return low + counts / p * (high - low)


@register_corruption
class ImpulseNoise(ImageCorruption):
    """Salt-and-pepper noise: a fraction .03 .06 .09 .17 .27 of values set to low or high (even odds)."""

    name, severities = "impulse_noise", (0.03, 0.06, 0.09, 0.17, 0.27)

    def _apply(self, x, p, gen, low, high):
        hit, salt = _uniform(gen, x.shape, x) < p, _uniform(gen, x.shape, x) < 0.5
        return torch.where(hit, torch.where(salt, high, low).to(x.dtype), x)


# ---------------------------------------------------------------------- blur
@register_corruption
class GaussianBlur(ImageCorruption):
    """Gaussian blur with sd .5 .75 1 1.5 2 pixels (x scale); deterministic."""

    name, severities, random = "gaussian_blur", (0.5, 0.75, 1.0, 1.5, 2.0), False

    def _apply(self, x, p, gen, low, high):
        return _depthwise(x, _gaussian_kernel(p * _scale(x), x))


@register_corruption
class MotionBlur(ImageCorruption):
    """A straight streak of length 1.5 2.5 3.5 4.5 6 pixels (x scale) at a random angle per image."""

    name, severities = "motion_blur", (1.5, 2.5, 3.5, 4.5, 6.0)

    def _apply(self, x, p, gen, low, high):
        length = p * _scale(x)
        radius = max(1, math.ceil(length / 2))
        angle = _uniform(gen, (x.shape[0],), x) * math.pi
        t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
        dy, dx = torch.meshgrid(t, t, indexing="ij")
        cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
        along = dx * cos + dy * sin
        across = (-dx * sin + dy * cos).abs()
        outside = (along.abs() - length / 2).clamp(min=0)  # distance past the segment's ends
        kernel = (1 - torch.sqrt(across ** 2 + outside ** 2)).clamp(min=0)
        return _depthwise(x, kernel / kernel.sum(dim=(1, 2), keepdim=True))


# ---------------------------------------------------------------------- photometric
@register_corruption
class Contrast(ImageCorruption):
    """Contrast reduced towards each image's mean by the factor .4 .3 .2 .1 .05; deterministic."""

    name, severities, random = "contrast", (0.4, 0.3, 0.2, 0.1, 0.05), False

    def _apply(self, x, p, gen, low, high):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * p + mean


@register_corruption
class Brightness(ImageCorruption):
    """Brightness raised by .1 .2 .3 .4 .5 of the range width (clipped at the top); deterministic."""

    name, severities, random = "brightness", (0.1, 0.2, 0.3, 0.4, 0.5), False

    def _apply(self, x, p, gen, low, high):
        return x + p * (high - low)


@register_corruption
class Pixelate(ImageCorruption):
    """Average-pooled to .6 .5 .4 .3 .25 of each side (at least 1 pixel), nearest-upsampled back."""

    name, severities, random = "pixelate", (0.6, 0.5, 0.4, 0.3, 0.25), False

    def _apply(self, x, p, gen, low, high):
        h, w = x.shape[-2:]
        small = F.adaptive_avg_pool2d(x, (max(1, int(h * p)), max(1, int(w * p))))
        return F.interpolate(small, size=(h, w), mode="nearest")


@register_corruption
class JPEG(ImageCorruption):
    """JPEG-like quantisation at quality 25 18 15 10 7: 8x8 blockwise DCT, standard table, per channel."""

    name, severities, random = "jpeg", (25, 18, 15, 10, 7), False

    def _apply(self, x, p, gen, low, high):
        n, c, h, w = x.shape
        scale = 5000.0 / p if p < 50 else 200.0 - 2 * p
        table = torch.clamp(torch.floor((_JPEG_LUMINANCE * scale + 50) / 100), min=1).to(x.dtype).to(x.device)
        v = (x - low) / (high - low) * 255 - 128
        ph, pw = -h % 8, -w % 8
        v = F.pad(v.reshape(n * c, 1, h, w), (0, pw, 0, ph), mode="replicate").reshape(n, c, h + ph, w + pw)
        blocks = v.reshape(n, c, (h + ph) // 8, 8, (w + pw) // 8, 8).transpose(3, 4)
        d = _dct_matrix(8, x)
        coef = d @ blocks @ d.T
        blocks = d.T @ (torch.round(coef / table) * table) @ d
        v = blocks.transpose(3, 4).reshape(n, c, h + ph, w + pw)[..., :h, :w]
        return low + (v + 128) / 255 * (high - low)


@register_corruption
class Grayscale(ImageCorruption):
    """Blend towards luminance with weight .2 .4 .6 .8 1; the identity on 1-channel images; deterministic."""

    name, severities, random = "grayscale", (0.2, 0.4, 0.6, 0.8, 1.0), False

    def _apply(self, x, p, gen, low, high):
        if x.shape[1] == 1:
            return x.clone()
        if x.shape[1] == 3:
            weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device)
            gray = (x * weights[None, :, None, None]).sum(dim=1, keepdim=True)
        else:
            gray = x.mean(dim=1, keepdim=True)
        return (1 - p) * x + p * gray


# ---------------------------------------------------------------------- geometric
@register_corruption
class Rotate(ImageCorruption):
    """Rotation by 8 16 24 32 40 degrees about the centre, clockwise or not at random."""

    name, severities = "rotate", (8, 16, 24, 32, 40)

    def _apply(self, x, p, gen, low, high):
        n, _, h, w = x.shape
        angle = _signs(gen, n, x) * math.radians(p)
        cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros(n, dtype=x.dtype, device=x.device)
        return _sample(x, _theta(cos, -sin * h / w, sin * w / h, cos, zero, zero), low)


@register_corruption
class Shear(ImageCorruption):
    """Horizontal shear ``x + k y`` with k = .1 .2 .3 .4 .5, random sign."""

    name, severities = "shear", (0.1, 0.2, 0.3, 0.4, 0.5)

    def _apply(self, x, p, gen, low, high):
        n, _, h, w = x.shape
        one, zero = torch.ones(n, dtype=x.dtype, device=x.device), torch.zeros(n, dtype=x.dtype, device=x.device)
        return _sample(x, _theta(one, _signs(gen, n, x) * p * h / w, zero, one, zero, zero), low)


@register_corruption
class Translate(ImageCorruption):
    """Shift by .05 .1 .15 .2 .25 of the side in a random direction."""

    name, severities = "translate", (0.05, 0.1, 0.15, 0.2, 0.25)

    def _apply(self, x, p, gen, low, high):
        n = x.shape[0]
        direction = _uniform(gen, (n,), x) * 2 * math.pi
        one, zero = torch.ones(n, dtype=x.dtype, device=x.device), torch.zeros(n, dtype=x.dtype, device=x.device)
        return _sample(x, _theta(one, zero, zero, one, 2 * p * torch.cos(direction), 2 * p * torch.sin(direction)), low)


@register_corruption
class Elastic(ImageCorruption):
    """Elastic warp: a smooth random displacement field (uniform on a 4x4 grid, bicubic-upsampled)
    of amplitude .03 .06 .09 .12 .15 of the side."""

    name, severities = "elastic", (0.03, 0.06, 0.09, 0.12, 0.15)

    def _apply(self, x, p, gen, low, high):
        n, _, h, w = x.shape
        coarse = (_uniform(gen, (n, 2, 4, 4), x) * 2 - 1) * (2 * p)
        field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
        eye = torch.eye(2, 3, dtype=x.dtype, device=x.device).expand(n, 2, 3)
        grid = F.affine_grid(eye, list(x.shape), align_corners=False)
        return _sample(x, grid + field, low, affine=False)


@register_corruption
class Occlusion(ImageCorruption):
    """A square patch of side .1 .2 .3 .4 .5 of the short side (at least 1 pixel) at a random place,
    filled with the middle of the range."""

    name, severities = "occlusion", (0.1, 0.2, 0.3, 0.4, 0.5)

    def _apply(self, x, p, gen, low, high):
        n, _, h, w = x.shape
        side = max(1, round(p * min(h, w)))
        top = torch.floor(_uniform(gen, (n,), x) * (h - side + 1)).long()[:, None, None]
        left = torch.floor(_uniform(gen, (n,), x) * (w - side + 1)).long()[:, None, None]
        rows = torch.arange(h, device=x.device)[None, :, None]
        cols = torch.arange(w, device=x.device)[None, None, :]
        mask = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
        return torch.where(mask[:, None], (low + high) / 2, x)


@register_corruption
class Crop(ImageCorruption):
    """A random crop keeping .9 .8 .7 .6 .5 of each side, resized (bilinear) back to the full size."""

    name, severities = "crop", (0.9, 0.8, 0.7, 0.6, 0.5)

    def _apply(self, x, p, gen, low, high):
        n = x.shape[0]
        tx, ty = ((_uniform(gen, (n,), x) * 2 - 1) * (1 - p) for _ in range(2))
        a, zero = torch.full((n,), p, dtype=x.dtype, device=x.device), torch.zeros(n, dtype=x.dtype, device=x.device)
        return _sample(x, _theta(a, zero, zero, a, tx, ty), low)
