"""Out-of-distribution (OOD) benchmark sets built offline from the bundled data.

* :func:`load_digits_ood` - scikit-learn's 8x8 digits without some classes (in-distribution
  train / val / test) and seven OOD image sets: the held-out digits, corrupted and rotated /
  flipped digits, uniform and Gaussian noise, and generated letters.
* :func:`load_adult_ood` - Adult without a subgroup (in-distribution train / test) and two OOD
  tables with Adult's columns and dtypes: German credit applicants mapped onto Adult's features,
  and the held-out Adult subgroup.

Everything is built from data that ships with assay or scikit-learn, seeded and deterministic;
nothing here touches the network.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import SEED_NOT_GIVEN, check_random_state, check_scalar, describe, renamed_seed
from . import _loaders
from ._loaders import Split, _check_split_sizes, _train_val_test_rows

if TYPE_CHECKING:  # pragma: no cover - typing only; torch is imported lazily
    import torch

__all__ = [
    "ADULT_OOD_SETS",
    "DIGITS_CORRUPTION_SEVERITIES",
    "DIGITS_OOD_LETTERS",
    "DIGITS_OOD_SETS",
    "AdultOOD",
    "DigitsOOD",
    "load_adult_ood",
    "load_digits_ood",
]

#: Names (keys of :attr:`DigitsOOD.ood`) of the OOD sets made by :func:`load_digits_ood`.
DIGITS_OOD_SETS = (
    "held_out_classes", "corrupted", "rotated", "uniform_noise", "gaussian_noise", "letters",
)
#: Names (keys of :attr:`AdultOOD.ood`) of the OOD tables made by :func:`load_adult_ood`.
ADULT_OOD_SETS = ("german_credit", "held_out_subgroup")


def _seeds(random_state: Any, n: int) -> list[np.random.Generator]:
    """``n`` independent generators derived from ``random_state`` (int, None or Generator)."""
    rng = check_random_state(random_state, name="random_state")
    return [np.random.default_rng(int(s)) for s in rng.integers(0, 2**31 - 1, size=n)]


def _subset(split: Split, rows: np.ndarray) -> Split:
    """Rows of a tabular split, re-indexed ``0..n-1``."""
    sf = split.sensitive_features
    return Split(
        X=split.X.iloc[rows].reset_index(drop=True),
        y=split.y.iloc[rows].reset_index(drop=True),
        sensitive_features=None if sf is None else sf.iloc[rows].reset_index(drop=True),
    )


# ============================================================================================
# Digits
# ============================================================================================

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


@dataclass(frozen=True, repr=False)
class DigitsOOD:
    """In-distribution digits without some classes, and OOD image sets (:func:`load_digits_ood`).

    Attributes
    ----------
    train, val, test : Split
        In-distribution images: ``X`` float32 tensors of shape ``(n, 1, 8, 8)`` in [0, 1]
        (scaled like :func:`load_digits_split`), ``y`` int64 tensors of shape ``(n,)`` holding the
        *remapped* labels ``0..k-1``; ``sensitive_features`` None.
    ood : dict of str -> torch.Tensor
        The OOD sets, keys :data:`DIGITS_OOD_SETS`, each a float32 tensor ``(m, 1, 8, 8)`` with
        values in [0, 1] on the digits' 17 levels ``j / 16``.
    held_out_labels : torch.Tensor
        int64 ``(m,)``: the original digit of each image of ``ood["held_out_classes"]``.
    in_classes : tuple of int
        The original digits kept in distribution; ``in_classes[j]`` has label ``j``.
    held_out_classes : tuple of int
        The original digits removed from the in-distribution splits.
    label_mapping : dict of int -> int
        Original digit -> in-distribution label (``{d: j for j, d in enumerate(in_classes)}``).
    class_names : tuple of str
        Readable names of the labels ``0..k-1`` (the original digits as text).
    ood_descriptions : dict of str -> str
        What each OOD set is, key by key.
    description : str
        Source and processing of the whole benchmark.
    """

    train: Split
    val: Split
    test: Split
    ood: dict
    held_out_labels: torch.Tensor
    in_classes: tuple
    held_out_classes: tuple
    label_mapping: dict
    class_names: tuple
    ood_descriptions: dict
    description: str

    def __repr__(self) -> str:
        sets = ", ".join(f"{k}={len(v)}" for k, v in self.ood.items())
        return (
            f"DigitsOOD(train={len(self.train)}, val={len(self.val)}, test={len(self.test)}, "
            f"in_classes={self.in_classes}, ood={{{sets}}})"
        )


def _check_held_out_classes(value: Any, owner: str) -> tuple[int, ...]:
    expected = (
        "an int or a sequence of distinct ints in [0, 9], leaving at least two digits in "
        "distribution"
    )
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        values = [value]
    elif isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        values = list(value)
    else:
        values = None
    ok = values is not None and all(
        isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) and 0 <= v <= 9
        for v in values
    )
    ok = ok and 1 <= len(values) <= 8 and len(set(int(v) for v in values)) == len(values)
    if not ok:
        received = repr(value) if isinstance(value, (list, tuple, int, str)) else describe(value)
        raise AssayInputError(
            f"The 'held_out_classes' parameter of {owner} must be {expected}. "
            f"Got {received} instead."
        )
    return tuple(sorted(int(v) for v in values))


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


def load_digits_ood(
    held_out_classes: int | Sequence[int] = (8, 9),
    *,
    val_size: float = 0.2,
    test_size: float = 0.2,
    n_synthetic: int | None = None,
    corruption_severity: int = 3,
    random_state: int | None = 0,
    seed: Any = SEED_NOT_GIVEN,
) -> DigitsOOD:
    """8x8 digits without ``held_out_classes`` (in distribution) and six OOD image sets.

    Parameters
    ----------
    held_out_classes : int or sequence of int, default (8, 9)
        Digits removed from the in-distribution splits; their images form the
        ``"held_out_classes"`` OOD set. At least two digits must stay in distribution.
    val_size, test_size : float in (0, 1)
        Fractions of the in-distribution images (the digits kept) put in the validation and
        test splits (stratified, as in :func:`load_digits_split`); their sum must be below 1.
    n_synthetic : int >= 1 or None
        Number of images of the generated sets (``"uniform_noise"``, ``"gaussian_noise"``,
        ``"letters"``); None: as many as the in-distribution test split.
    corruption_severity : int in [1, 5], default 3
        Severity of the ``"corrupted"`` set, see :data:`DIGITS_CORRUPTION_SEVERITIES`.
    random_state : int, None or numpy Generator
        Seeds the split and every OOD set; the same int gives identical tensors. ``seed=`` is a deprecated alias.

    Returns
    -------
    DigitsOOD
        ``train`` / ``val`` / ``test``: :class:`Split` of float32 tensors ``(n, 1, 8, 8)``
        (pixel counts 0-16 divided by 16, exactly as :func:`load_digits_split`) and int64 label
        tensors ``(n,)`` remapped to ``0..k-1`` (``label_mapping``: original digit -> label;
        ``in_classes[j]`` is the digit of label ``j``). With the defaults: digits 0-7, 1,443
        images, split 865 / 289 / 289.

        ``ood``: float32 tensors ``(m, 1, 8, 8)``, values in [0, 1]:

        * ``"held_out_classes"`` - every real image of the held-out digits (original digit in
          ``held_out_labels``; 354 images for 8 and 9). Near-OOD: same writers, same style.
        * ``"corrupted"`` - the in-distribution test images, each blurred (Gaussian, sigma in
          pixels), with additive Gaussian noise and one square patch erased (0) or inked (1) at a
          random place; severity ``s`` sets (blur, noise std, patch side), from (0.3, 0.03, 1)
          at 1 to (1.0, 0.20, 3) at 5 (default 3: (0.6, 0.10, 2)). Covariate shift: at low
          severities most digits stay recognisable.
        * ``"rotated"`` - the in-distribution test images, half rotated by a uniform angle in
          [90, 270] degrees (bilinear), a quarter flipped left-right, a quarter upside down.
          Symmetric digits (0, 1, and e.g. 8 when not held out) stay digit-like under some of
          these: expect detectors to miss part of this set.
        * ``"uniform_noise"`` - each pixel 0 with probability ``1 - 2 m`` (digits are mostly
          background), else uniform on [0, 1], where ``m`` is the in-distribution mean pixel
          value (so the mean is ``m`` before the intensity matching below).
        * ``"gaussian_noise"`` - i.i.d. pixels ``clip(N(mu, sigma^2), 0, 1)``, with (mu, sigma)
          solved so that the *clipped* values have the mean and std of the in-distribution
          training pixels.
        * ``"letters"`` - generated capital letters (:data:`DIGITS_OOD_LETTERS`: A E F H K L
          M N T V W X Y Z), drawn like the digits were made: strokes (jittered end points,
          random size, slant, rotation, position and stroke width) rendered anti-aliased on a
          32 x 32 canvas and averaged over 4 x 4 blocks down to 8 x 8. Some (Z, L, T) resemble
          digits: a harder, near-OOD set.

        Intensity: so that brightness, range or quantisation cannot give an OOD set away, every
        generated or transformed image is rescaled (multiplied, then clipped to [0, 1], iterated)
        so that its mean pixel value equals that of a reference in-distribution image - the
        digit it was made from for ``"corrupted"`` and ``"rotated"``, a randomly drawn
        in-distribution training image for the three generated sets - and then rounded to the
        digits' 17 levels ``j / 16``. So every OOD set has values in [0, 1] on the same levels
        and the same distribution of per-image mean intensity as the digits (about 0.30).
        ``"held_out_classes"`` holds the real images, untouched.

    Notes
    -----
    Built from scikit-learn's copy of the UCI digits (CC BY 4.0), which ships with
    scikit-learn; never uses the network.
    """
    import torch
    from sklearn.datasets import load_digits

    owner = "load_digits_ood"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    held_out = _check_held_out_classes(held_out_classes, owner)
    val_size, test_size = _check_split_sizes(val_size, test_size, owner)
    if n_synthetic is not None:
        check_scalar(n_synthetic, "n_synthetic", owner=owner, kind=numbers.Integral, low=1)
    check_scalar(
        corruption_severity, "corruption_severity", owner=owner, kind=numbers.Integral,
        low=1, high=5,
    )
    rng_split, rng_corrupt, rng_rotate, rng_uniform, rng_gauss, rng_letters = _seeds(random_state, 6)

    bunch = load_digits()
    images = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(np.float32)
    images = images.reshape(-1, 8, 8)
    digits = np.asarray(bunch.target, dtype=np.int64)
    in_classes = tuple(d for d in range(10) if d not in held_out)
    mapping = {d: j for j, d in enumerate(in_classes)}
    lookup = np.full(10, -1, dtype=np.int64)
    lookup[list(in_classes)] = np.arange(len(in_classes))

    kept = np.flatnonzero(np.isin(digits, in_classes))
    removed = np.flatnonzero(np.isin(digits, held_out))
    rs_test, rs_val = (int(s) for s in rng_split.integers(0, 2**31 - 1, size=2))
    train_rows, val_rows, test_rows = _train_val_test_rows(
        kept, digits, val_size=val_size, test_size=test_size, random_states=(rs_test, rs_val))

    def split(rows: np.ndarray) -> Split:
        return Split(
            X=torch.from_numpy(np.ascontiguousarray(images[rows][:, None])),
            y=torch.from_numpy(lookup[digits[rows]]),
            sensitive_features=None,
        )

    train_images = images[train_rows].astype(np.float64)
    test_images = images[test_rows].astype(np.float64)
    train_means = train_images.mean(axis=(1, 2))
    pixel_mean, pixel_std = float(train_images.mean()), float(train_images.std())
    n_gen = len(test_rows) if n_synthetic is None else int(n_synthetic)

    def reference_means(rng: np.random.Generator) -> np.ndarray:
        return train_means[rng.integers(len(train_means), size=n_gen)]

    corrupted = _corrupt(test_images, int(corruption_severity), rng_corrupt)
    rotated, _ = _rotate_or_flip(test_images, rng_rotate)
    p_ink = min(2.0 * pixel_mean, 1.0)
    uniform = np.where(
        rng_uniform.random((n_gen, 8, 8)) < p_ink, rng_uniform.random((n_gen, 8, 8)), 0.0
    )
    mu, sigma = _gaussian_parameters(pixel_mean, pixel_std)
    gaussian = np.clip(rng_gauss.normal(mu, sigma, size=(n_gen, 8, 8)), 0.0, 1.0)
    letters = _render_letters(n_gen, rng_letters)

    source_means = test_images.mean(axis=(1, 2))
    made = {
        "held_out_classes": images[removed].astype(np.float64),
        "corrupted": _quantise(_match_means(corrupted, source_means)),
        "rotated": _quantise(_match_means(rotated, source_means)),
        "uniform_noise": _quantise(_match_means(uniform, reference_means(rng_uniform))),
        "gaussian_noise": _quantise(_match_means(gaussian, reference_means(rng_gauss))),
        "letters": _quantise(_match_means(letters, reference_means(rng_letters))),
    }
    ood = {
        name: torch.from_numpy(np.ascontiguousarray(made[name][:, None], dtype=np.float32))
        for name in DIGITS_OOD_SETS
    }
    severity = DIGITS_CORRUPTION_SEVERITIES[int(corruption_severity)]
    ood_descriptions = {
        "held_out_classes": f"Real images of the held-out digits {held_out} (near-OOD).",
        "corrupted": (
            f"In-distribution test digits, Gaussian blur sigma {severity[0]} px, additive "
            f"Gaussian noise std {severity[1]}, one {severity[2]}x{severity[2]} patch erased "
            f"or inked (severity {int(corruption_severity)} of 5)."
        ),
        "rotated": (
            "In-distribution test digits rotated by 90-270 degrees (half) or flipped left-right "
            "/ upside down (a quarter each)."
        ),
        "uniform_noise": (
            f"Pixels 0 with probability {1 - p_ink:.3f}, else uniform on [0, 1]."
        ),
        "gaussian_noise": (
            f"Pixels clip(N({mu:.3f}, {sigma:.3f}^2), 0, 1): clipped mean {pixel_mean:.3f} and "
            f"std {pixel_std:.3f}, those of the in-distribution training pixels."
        ),
        "letters": (
            "Generated capital letters " + " ".join(DIGITS_OOD_LETTERS) + ", drawn on a 32x32 "
            "canvas and averaged down to 8x8 (near-OOD)."
        ),
    }
    intensity = (
        " Every set but held_out_classes is intensity-matched: each image rescaled so its mean "
        "equals a reference in-distribution image's, then rounded to the levels j/16."
    )
    ood_descriptions = {
        k: v + (intensity if k != "held_out_classes" else "") for k, v in ood_descriptions.items()
    }
    description = (
        "OOD benchmark on scikit-learn's 8x8 digits (UCI Optical Recognition of Handwritten "
        "Digits, Alpaydin & Kaynak 1998, CC BY 4.0). In distribution: digits "
        f"{in_classes}, labels remapped to 0..{len(in_classes) - 1}, pixels divided by 16, "
        "stratified train / val / test. OOD sets: " + ", ".join(DIGITS_OOD_SETS) + "; see "
        "ood_descriptions. Generated offline, seeded."
    )
    return DigitsOOD(
        train=split(train_rows),
        val=split(val_rows),
        test=split(test_rows),
        ood=ood,
        held_out_labels=torch.from_numpy(digits[removed].copy()),
        in_classes=in_classes,
        held_out_classes=held_out,
        label_mapping=mapping,
        class_names=tuple(str(d) for d in in_classes),
        ood_descriptions=ood_descriptions,
        description=description,
    )


# ============================================================================================
# Adult
# ============================================================================================

_OPS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge, "in": None, "not in": None,
}

# German status_sex code -> (Adult sex, candidate Adult marital statuses).
_GERMAN_STATUS_SEX = {
    "A91": ("Male", ("Divorced", "Separated")),
    "A92": ("Female", ("Divorced", "Separated", "Married-civ-spouse")),
    "A93": ("Male", ("Never-married",)),
    "A94": ("Male", ("Married-civ-spouse", "Widowed")),
    "A95": ("Female", ("Never-married",)),
}
# German job -> candidate Adult occupations.
_GERMAN_JOB = {
    "unemployed/ unskilled - non-resident": ("Handlers-cleaners", "Other-service"),
    "unskilled - resident": ("Handlers-cleaners", "Other-service"),
    "skilled employee/ official": (
        "Adm-clerical", "Craft-repair", "Machine-op-inspct", "Protective-serv", "Sales",
        "Tech-support", "Transport-moving",
    ),
    "management/ self-employed/ highly qualified employee/ officer": (
        "Exec-managerial", "Prof-specialty",
    ),
}
# Countries of origin of most foreign workers in (West) Germany that are Adult categories.
_FOREIGN_WORKER_COUNTRIES = ("Greece", "Italy", "Portugal", "Yugoslavia")


@dataclass(frozen=True, repr=False)
class AdultOOD:
    """Adult without a subgroup, and OOD tables with Adult's columns (see :func:`load_adult_ood`).

    Attributes
    ----------
    train, test : Split
        In distribution: Adult's published train / test files without the held-out subgroup;
        ``X`` with Adult's 14 columns and dtypes, ``y`` the income label (1 = >50K),
        ``sensitive_features`` sex, race and age_group as in :func:`load_adult`; index 0..n-1.
    ood : dict of str -> pandas.DataFrame
        ``"german_credit"`` and ``"held_out_subgroup"``, each with exactly Adult's columns and
        dtypes (same categories), index 0..m-1.
    ood_labels : dict of str -> pandas.Series
        Income labels where they exist: ``"held_out_subgroup"`` only (German credit applicants
        have no income label).
    subgroup : str
        The held-out subgroup, e.g. ``"age >= 60"``.
    german_mapped : dict of str -> str
        Adult column -> how it was derived from the German credit attributes.
    german_filled : dict of str -> object
        Adult column without a German counterpart -> the constant it was filled with (the mode
        of a categorical, the median of a numeric column of ``train``).
    categorical_features, numeric_features : tuple of str
        Adult's categorical / numeric columns.
    description : str
    """

    train: Split
    test: Split
    ood: dict
    ood_labels: dict
    subgroup: str
    german_mapped: dict
    german_filled: dict
    categorical_features: tuple
    numeric_features: tuple
    description: str

    def __repr__(self) -> str:
        sets = ", ".join(f"{k}={len(v)}" for k, v in self.ood.items())
        return (
            f"AdultOOD(train={len(self.train)}, test={len(self.test)}, "
            f"subgroup={self.subgroup!r}, ood={{{sets}}})"
        )


def _check_subgroup(value: Any, X: pd.DataFrame, owner: str) -> tuple[str, str, Any]:
    expected = (
        "a (column, operator, value) triple with one of Adult's columns, an operator among "
        + ", ".join(repr(o) for o in _OPS)
        + " and a value of the column (a number for numeric columns, a category for "
        "categorical ones; a list of them for 'in' / 'not in'), e.g. ('age', '>=', 60)"
    )
    bad = AssayInputError(
        f"The 'held_out_subgroup' parameter of {owner} must be {expected}. "
        f"Got {value!r} instead."
    )
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise bad
    column, op, target = value
    if not isinstance(column, str) or column not in X.columns or op not in _OPS:
        raise bad
    many = op in ("in", "not in")
    targets = list(target) if many and isinstance(target, (list, tuple, set, frozenset)) else None
    if many and not targets:
        raise bad
    values = targets if many else [target]
    if column in _loaders._ADULT_NUMERIC:
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            raise bad
    else:
        categories = set(X[column].cat.categories)
        unknown = [v for v in values if v not in categories]
        if unknown:
            raise AssayInputError(
                f"The 'held_out_subgroup' parameter of {owner} names value(s) {unknown} that "
                f"are not categories of Adult's '{column}' column: "
                f"{sorted(map(str, categories))}."
            )
        if op not in ("==", "!=", "in", "not in"):
            raise bad
    return column, op, (tuple(values) if many else target)


def _subgroup_mask(X: pd.DataFrame, column: str, op: str, target: Any) -> np.ndarray:
    """Rows in the subgroup; a missing value (NaN) is never in it."""
    values = X[column]
    present = values.notna().to_numpy()
    if op in ("in", "not in"):
        inside = values.isin(list(target)).to_numpy()
        mask = inside if op == "in" else ~inside
    elif column in _loaders._ADULT_NUMERIC:
        mask = np.asarray(_OPS[op](values.to_numpy(), target))
    else:
        mask = np.asarray(_OPS[op](values.astype(object).to_numpy(), target))
    return mask & present


def _draw(
    rng: np.random.Generator, counts: pd.Series, candidates: Sequence[str], size: int
) -> np.ndarray:
    """``size`` draws among ``candidates`` with probabilities proportional to ``counts``."""
    weights = np.array([counts.get(c, 0) for c in candidates], dtype=np.float64) + 1e-9
    return np.asarray(candidates, dtype=object)[
        rng.choice(len(candidates), size=size, p=weights / weights.sum())
    ]


def _german_as_adult(
    train_X: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict[str, str], dict[str, Any]]:
    """The 1,000 German credit applicants as rows with Adult's columns and dtypes."""
    german, _, status_sex = _loaders._german_frame()
    n = len(german)
    codes = np.asarray(status_sex)
    columns: dict[str, np.ndarray] = {"age": german["age"].to_numpy(dtype=np.int64)}

    sex = np.empty(n, dtype=object)
    marital = np.empty(n, dtype=object)
    for code, (adult_sex, candidates) in _GERMAN_STATUS_SEX.items():
        rows = np.flatnonzero(codes == code)
        if rows.size == 0:
            continue
        same_sex = train_X.loc[train_X["sex"] == adult_sex, "marital_status"]
        sex[rows] = adult_sex
        marital[rows] = _draw(rng, same_sex.value_counts(), candidates, rows.size)
    columns["sex"], columns["marital_status"] = sex, marital

    relationship = np.empty(n, dtype=object)
    cells = pd.DataFrame({"sex": sex, "marital": marital})
    for (s, m), rows in cells.groupby(["sex", "marital"]).indices.items():
        same = train_X.loc[
            (train_X["sex"] == s) & (train_X["marital_status"] == m), "relationship"
        ].value_counts()
        relationship[rows] = _draw(rng, same, list(same.index), len(rows))
    columns["relationship"] = relationship

    occupation = np.empty(n, dtype=object)
    occupation_counts = train_X["occupation"].value_counts()
    jobs = german["job"].astype(str).to_numpy()
    for job, candidates in _GERMAN_JOB.items():
        rows = np.flatnonzero(jobs == job)
        if rows.size:
            occupation[rows] = _draw(rng, occupation_counts, candidates, rows.size)
    columns["occupation"] = occupation

    foreign = german["foreign_worker"].astype(str).to_numpy() == "yes"
    country = np.full(n, "Germany", dtype=object)
    country[foreign] = _draw(
        rng, train_X["native_country"].value_counts(), _FOREIGN_WORKER_COUNTRIES,
        int(foreign.sum()),
    )
    columns["native_country"] = country

    mapped = {
        "age": "German 'age' (years), unchanged.",
        "sex": "From German 'status_sex': codes A91/A93/A94 -> 'Male', A92/A95 -> 'Female'.",
        "marital_status": (
            "From German 'status_sex': A93 (male single) -> 'Never-married'; A91 (male "
            "divorced/separated) -> 'Divorced' or 'Separated'; A92 (female divorced/separated/"
            "married) -> 'Divorced', 'Separated' or 'Married-civ-spouse'; A94 (male married/"
            "widowed) -> 'Married-civ-spouse' or 'Widowed'; where several fit, drawn (seeded) "
            "with the frequencies of Adult's training rows of the same sex."
        ),
        "relationship": (
            "Derived from the mapped sex and marital_status: drawn (seeded) with the "
            "frequencies of Adult's training rows of the same sex and marital status (married "
            "men -> almost always 'Husband', married women -> 'Wife')."
        ),
        "occupation": (
            "From German 'job': unskilled (resident or not, including unemployed) -> "
            "'Handlers-cleaners' or 'Other-service'; 'skilled employee/ official' -> one of "
            + ", ".join(repr(o) for o in _GERMAN_JOB["skilled employee/ official"])
            + "; management/ self-employed/ highly qualified -> 'Exec-managerial' or "
            "'Prof-specialty'; drawn (seeded) with Adult's training frequencies."
        ),
        "native_country": (
            "From German 'foreign_worker': 'no' -> 'Germany'; 'yes' (963 of 1,000) -> one of "
            + ", ".join(repr(c) for c in _FOREIGN_WORKER_COUNTRIES)
            + " (origins of most foreign workers in West Germany that are Adult categories), "
            "drawn (seeded) with Adult's training frequencies. An assumption: the data do not "
            "record the country."
        ),
    }

    filled: dict[str, Any] = {}
    for column in ("workclass", "education", "race"):
        filled[column] = str(train_X[column].mode(dropna=True).iloc[0])
    education_num = train_X.loc[train_X["education"] == filled["education"], "education_num"]
    filled["education_num"] = int(education_num.mode().iloc[0])  # consistent with education
    for column in ("fnlwgt", "capital_gain", "capital_loss", "hours_per_week"):
        filled[column] = int(round(float(train_X[column].median())))
    for column, value in filled.items():
        columns[column] = np.full(n, value, dtype=np.int64 if isinstance(value, int) else object)

    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for column in _loaders._ADULT_COLUMNS:
        values = columns[column]
        if column in _loaders._ADULT_NUMERIC:
            frame[column] = np.asarray(values, dtype=np.int64)
        else:
            frame[column] = pd.Categorical(values, dtype=train_X[column].dtype)
    ordered_mapped = {c: mapped[c] for c in _loaders._ADULT_COLUMNS if c in mapped}
    ordered_filled = {c: filled[c] for c in _loaders._ADULT_COLUMNS if c in filled}
    return frame, ordered_mapped, ordered_filled


def load_adult_ood(
    *,
    held_out_subgroup: tuple[str, str, Any] | list = ("age", ">=", 60),
    random_state: int | None = 0,
    seed: Any = SEED_NOT_GIVEN,
) -> AdultOOD:
    """Adult without a subgroup (in distribution) and two OOD tables with Adult's columns.

    Parameters
    ----------
    held_out_subgroup : (column, operator, value), default ("age", ">=", 60)
        The subgroup removed from Adult's train and test files: rows where ``X[column] <op>
        value``. ``operator`` is one of ``==, !=, <, <=, >, >=, in, not in`` (``in`` / ``not
        in`` take a list); categorical columns take categories of that column and only
        ``==, !=, in, not in``, e.g. ``("workclass", "in", ["Self-emp-inc",
        "Self-emp-not-inc"])``. Rows with a missing value in ``column`` are kept in
        distribution.
    random_state : int, None or numpy Generator
        Seeds the German credit mapping where a German value fits several Adult categories.
        ``seed=`` is a deprecated alias.

    Returns
    -------
    AdultOOD
        ``train`` / ``test``: Adult's published train / test files (:func:`load_adult`) without
        the subgroup (with the default, 29,917 / 14,870 rows).

        ``ood["held_out_subgroup"]``: the removed rows, those of the train file first, then
        those of the test file (4,055 rows with the default), with their income labels in
        ``ood_labels["held_out_subgroup"]``. A model trained on ``train`` never saw anyone like
        them: covariate (subpopulation) shift with real labels.

        ``ood["german_credit"]``: the 1,000 applicants of UCI Statlog German Credit mapped onto
        Adult's columns: age, sex, marital_status, relationship, occupation and native_country
        derived from German attributes (``german_mapped`` says how), the other 8 columns -
        workclass, fnlwgt, education, education_num, race, capital_gain, capital_loss,
        hours_per_week - have no German counterpart and are filled with the mode / median of
        ``train`` (``german_filled`` gives the values; education_num is the one that goes with
        the filled education). This is an approximation: a different population (German bank
        customers, 1970s-90s) expressed in Adult's vocabulary, with constant columns where
        nothing is known - a dataset shift, not a faithful translation. No missing values.

        Both OOD frames have exactly Adult's 14 columns and dtypes (same categories), so any
        pipeline fitted on ``train.X`` (e.g. :func:`assay.models.train_sklearn_model`) can
        predict on them.

    Notes
    -----
    Read from the package data (UCI Adult and Statlog German Credit, CC BY 4.0); never uses
    the network.
    """
    from ._loaders import load_adult

    owner = "load_adult_ood"
    random_state = renamed_seed(random_state, seed, owner=owner, default=0)
    (rng,) = _seeds(random_state, 1)
    adult = load_adult()
    column, op, target = _check_subgroup(held_out_subgroup, adult.train.X, owner)
    shown = list(target) if isinstance(target, tuple) else target
    subgroup = f"{column} {op} {shown!r}"
    in_train = _subgroup_mask(adult.train.X, column, op, target)
    in_test = _subgroup_mask(adult.test.X, column, op, target)
    for part, mask in (("train", in_train), ("test", in_test)):
        if not mask.any() or mask.all():
            raise AssayInputError(
                f"The 'held_out_subgroup' parameter of {owner} must select some but not all "
                f"rows of Adult's {part} file. Got {held_out_subgroup!r}, which selects "
                f"{int(mask.sum())} of {len(mask)}."
            )
    train = _subset(adult.train, np.flatnonzero(~in_train))
    test = _subset(adult.test, np.flatnonzero(~in_test))
    if train.y.nunique() < 2:
        raise AssayInputError(
            f"The 'held_out_subgroup' parameter of {owner} leaves a single income class in the "
            f"training split. Got {held_out_subgroup!r}."
        )
    held_X = pd.concat(
        [adult.train.X.iloc[np.flatnonzero(in_train)], adult.test.X.iloc[np.flatnonzero(in_test)]],
        ignore_index=True,
    )
    held_y = pd.concat(
        [adult.train.y.iloc[np.flatnonzero(in_train)], adult.test.y.iloc[np.flatnonzero(in_test)]],
        ignore_index=True,
    )
    german, mapped, filled = _german_as_adult(train.X, rng)
    description = (
        "OOD benchmark on UCI Adult (Becker & Kohavi 1996, CC BY 4.0). In distribution: "
        f"Adult's published train / test files without the subgroup {subgroup}. OOD: "
        "'held_out_subgroup' - the removed rows (train file first, then test file), with "
        "income labels; 'german_credit' - the 1,000 applicants of UCI Statlog German Credit "
        "(Hofmann 1994, CC BY 4.0) mapped onto Adult's columns (approximate: 6 columns derived, "
        "8 filled with the training mode/median; see german_mapped / german_filled)."
    )
    return AdultOOD(
        train=train,
        test=test,
        ood={"german_credit": german, "held_out_subgroup": held_X},
        ood_labels={"held_out_subgroup": held_y},
        subgroup=subgroup,
        german_mapped=mapped,
        german_filled=filled,
        categorical_features=_loaders._ADULT_CATEGORICAL,
        numeric_features=_loaders._ADULT_NUMERIC,
        description=description,
    )
