"""Image helpers of the digits OOD sets, and the seeded generators of every OOD loader.

Corruption (blur, noise, occlusion), rotation / flips, generated letters, Gaussian noise matched
to the digits' intensities, and rounding to the digits' 17 grey levels; used by
:func:`~assay.datasets.ood_digits.load_digits_ood`. Every name stays importable from
:mod:`assay.datasets.ood`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.validation import check_random_state

__all__ = ["DIGITS_CORRUPTION_SEVERITIES", "DIGITS_OOD_LETTERS"]


def _seeds(random_state: Any, n: int) -> list[np.random.Generator]:
    """``n`` independent generators derived from ``random_state`` (int, None or Generator)."""
    rng = check_random_state(random_state, name="random_state")
    return [np.random.default_rng(int(s)) for s in rng.integers(0, 2**31 - 1, size=n)]



#: Corruption severities of the "corrupted" set: (blur sigma in pixels, noise std, occlusion side
#: in pixels), all on the 8x8 grid with pixel values in [0, 1].
DIGITS_CORRUPTION_SEVERITIES = {
    1: (0.3, 0.03, 1),
    2: (0.5, 0.06, 2),
    3: (0.6, 0.10, 2),
    4: (0.8, 0.15, 3),
    5: (1.0, 0.20, 3),
}

_LEVELS = 16  # digits' pixels are counts 0..16 of a 4x4 block, divided by 16

# Strokes of capital letters as segments (x0, y0, x1, y1) in a unit box, y pointing down.
_LETTER_STROKES: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "A": ((0.0, 1.0, 0.5, 0.0), (0.5, 0.0, 1.0, 1.0), (0.22, 0.62, 0.78, 0.62)),
    "E": ((0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.5, 0.8, 0.5), (0.0, 1.0, 1.0, 1.0)),
    "F": ((0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.5, 0.8, 0.5)),
    "H": ((0.0, 0.0, 0.0, 1.0), (1.0, 0.0, 1.0, 1.0), (0.0, 0.5, 1.0, 0.5)),
    "K": ((0.0, 0.0, 0.0, 1.0), (1.0, 0.0, 0.0, 0.6), (0.3, 0.42, 1.0, 1.0)),
    "L": ((0.0, 0.0, 0.0, 1.0), (0.0, 1.0, 1.0, 1.0)),
    "M": (
        (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.5, 0.6), (0.5, 0.6, 1.0, 0.0), (1.0, 0.0, 1.0, 1.0),
    ),
    "N": ((0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 1.0), (1.0, 1.0, 1.0, 0.0)),
    "T": ((0.0, 0.0, 1.0, 0.0), (0.5, 0.0, 0.5, 1.0)),
    "V": ((0.0, 0.0, 0.5, 1.0), (0.5, 1.0, 1.0, 0.0)),
    "W": (
        (0.0, 0.0, 0.25, 1.0), (0.25, 1.0, 0.5, 0.4), (0.5, 0.4, 0.75, 1.0), (0.75, 1.0, 1.0, 0.0),
    ),
    "X": ((0.0, 0.0, 1.0, 1.0), (1.0, 0.0, 0.0, 1.0)),
    "Y": ((0.0, 0.0, 0.5, 0.5), (1.0, 0.0, 0.5, 0.5), (0.5, 0.5, 0.5, 1.0)),
    "Z": ((0.0, 0.0, 1.0, 0.0), (1.0, 0.0, 0.0, 1.0), (0.0, 1.0, 1.0, 1.0)),
}
#: The letters drawn by the "letters" OOD set of :func:`load_digits_ood`.
DIGITS_OOD_LETTERS = tuple(_LETTER_STROKES)


def _match_means(images: np.ndarray, targets: np.ndarray, n_iter: int = 10) -> np.ndarray:
    """Scale each image (values in [0, 1]) so its mean is ``targets[i]``; clip to [0, 1].

    Multiplicative, so background zeros stay zero; iterated because clipping saturated pixels
    lowers the mean again.
    """
    x = np.clip(images.astype(np.float64), 0.0, 1.0)
    targets = np.asarray(targets, dtype=np.float64)
    for _ in range(n_iter):
        means = x.mean(axis=(1, 2))
        scale = np.divide(targets, means, out=np.ones_like(means), where=means > 1e-12)
        x = np.clip(x * scale[:, None, None], 0.0, 1.0)
    return x


def _quantise(images: np.ndarray) -> np.ndarray:
    """Round to the digits' 17 levels ``j / 16``."""
    return np.round(np.clip(images, 0.0, 1.0) * _LEVELS) / _LEVELS


def _clipped_normal_moments(mu: float, sigma: float) -> tuple[float, float]:
    """Mean and std of ``clip(N(mu, sigma^2), 0, 1)``."""
    from scipy.stats import norm

    a, b = (0.0 - mu) / sigma, (1.0 - mu) / sigma
    mass = norm.cdf(b) - norm.cdf(a)
    pa, pb = norm.pdf(a), norm.pdf(b)
    upper = norm.sf(b)  # P(X > 1): those values become 1
    m1 = mu * mass + sigma * (pa - pb) + upper
    m2 = (mu**2 + sigma**2) * mass + 2 * mu * sigma * (pa - pb) + sigma**2 * (a * pa - b * pb)
    m2 += upper
    return m1, float(np.sqrt(max(m2 - m1**2, 0.0)))


def _gaussian_parameters(mean: float, std: float) -> tuple[float, float]:
    """(mu, sigma) such that ``clip(N(mu, sigma^2), 0, 1)`` has the given mean and std."""
    from scipy.optimize import least_squares

    def residual(p: np.ndarray) -> list[float]:
        m, s = _clipped_normal_moments(p[0], p[1])
        return [m - mean, s - std]

    fit = least_squares(residual, x0=[mean, std], bounds=([-2.0, 1e-3], [2.0, 5.0]))
    return float(fit.x[0]), float(fit.x[1])


def _segment_distances(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Distances (n, s, p) from ``points`` (p, 2) to ``segments`` (n, s, 4) = (x0, y0, x1, y1)."""
    start = segments[..., None, 0:2]  # (n, s, 1, 2)
    direction = segments[..., None, 2:4] - start
    length2 = np.maximum((direction**2).sum(-1), 1e-12)  # (n, s, 1)
    rel = points[None, None] - start  # (n, s, p, 2)
    t = np.clip((rel * direction).sum(-1) / length2, 0.0, 1.0)
    nearest = start + t[..., None] * direction
    return np.sqrt(((points[None, None] - nearest) ** 2).sum(-1))


def _render_letters(n: int, rng: np.random.Generator, canvas: int = 32) -> np.ndarray:
    """``n`` random letters, (n, 8, 8) in [0, 1]: strokes drawn anti-aliased on a ``canvas`` grid
    (32 x 32, like the digits' original bitmaps), then averaged over blocks down to 8 x 8."""
    letters = list(_LETTER_STROKES.values())
    n_strokes = max(len(s) for s in letters)
    table = np.zeros((len(letters), n_strokes, 4))
    valid = np.zeros((len(letters), n_strokes), dtype=bool)
    for i, strokes in enumerate(letters):
        table[i, : len(strokes)] = strokes
        valid[i, : len(strokes)] = True
    which = rng.integers(len(letters), size=n)
    segments = table[which] + rng.normal(0.0, 0.025, size=(n, n_strokes, 4))  # hand jitter
    # Affine map from the unit box (centred) to the canvas: size, slant, rotation, offset.
    height = rng.uniform(0.70, 0.88, size=n) * canvas
    width = rng.uniform(0.50, 0.85, size=n) * canvas
    shear = rng.uniform(-0.25, 0.25, size=n)
    angle = np.deg2rad(rng.uniform(-12.0, 12.0, size=n))
    centre = canvas / 2 + rng.uniform(-1.5, 1.5, size=(n, 2))
    u = (segments[..., [0, 2]] - 0.5) * width[:, None, None]
    v = (segments[..., [1, 3]] - 0.5) * height[:, None, None]
    u = u + shear[:, None, None] * v
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    x = cos * u - sin * v + centre[:, 0, None, None]
    y = sin * u + cos * v + centre[:, 1, None, None]
    segments = np.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], axis=-1)
    # Pixel-centre distances to the nearest stroke -> soft (anti-aliased) ink coverage.
    grid = np.arange(canvas) + 0.5
    points = np.stack(np.meshgrid(grid, grid, indexing="xy"), axis=-1).reshape(-1, 2)
    dist = _segment_distances(points, segments)  # (n, s, p)
    dist = np.where(valid[which][..., None], dist, np.inf).min(axis=1)  # (n, p)
    half_width = rng.uniform(1.4, 2.4, size=(n, 1))
    ink = np.clip(half_width + 0.5 - dist, 0.0, 1.0).reshape(n, canvas, canvas)
    block = canvas // 8
    return ink.reshape(n, 8, block, 8, block).mean(axis=(2, 4))


def _corrupt(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur, then additive Gaussian noise, then one square occlusion patch per image."""
    from scipy.ndimage import gaussian_filter

    blur, noise, side = DIGITS_CORRUPTION_SEVERITIES[severity]
    n = len(images)
    x = gaussian_filter(images.astype(np.float64), sigma=(0.0, blur, blur), mode="constant")
    x = np.clip(x + rng.normal(0.0, noise, size=x.shape), 0.0, 1.0)
    top = rng.integers(0, 8 - side + 1, size=n)
    left = rng.integers(0, 8 - side + 1, size=n)
    fill = rng.integers(0, 2, size=n).astype(np.float64)  # 0: erased patch, 1: ink blot
    idx = np.arange(8)
    rows = (idx[None] >= top[:, None]) & (idx[None] < (top + side)[:, None])
    cols = (idx[None] >= left[:, None]) & (idx[None] < (left + side)[:, None])
    patch = rows[:, :, None] & cols[:, None, :]
    return np.where(patch, fill[:, None, None], x)


def _rotate_or_flip(images: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per image: rotate by an angle in [90, 270] degrees (half of them) or flip left-right /
    upside down (a quarter each). Returns the images and the transform codes (0 rotate,
    1 left-right, 2 upside down)."""
    from scipy.ndimage import map_coordinates

    n = len(images)
    kind = rng.choice(3, size=n, p=[0.5, 0.25, 0.25])
    angle = np.deg2rad(rng.uniform(90.0, 270.0, size=n))
    # Bilinear rotation about the image centre, all images at once: output pixel (r, c) reads
    # the input at the inverse-rotated position.
    r, c = np.meshgrid(np.arange(8) - 3.5, np.arange(8) - 3.5, indexing="ij")
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    src_r = cos * r[None] - sin * c[None] + 3.5
    src_c = sin * r[None] + cos * c[None] + 3.5
    src_n = np.broadcast_to(np.arange(n)[:, None, None], src_r.shape)
    rotated = map_coordinates(
        images.astype(np.float64), [src_n, src_r, src_c], order=1, mode="constant", cval=0.0
    )
    out = np.where(kind[:, None, None] == 0, rotated, images)
    out = np.where(kind[:, None, None] == 1, images[:, :, ::-1], out)
    out = np.where(kind[:, None, None] == 2, images[:, ::-1, :], out)
    return out, kind
