"""The digits OOD benchmark: :func:`load_digits_ood` and :class:`DigitsOOD`.

scikit-learn's 8x8 digits without some classes (in-distribution train / val / test) and the OOD
image sets of :data:`DIGITS_OOD_SETS`, built with the helpers of
:mod:`assay.datasets.ood_images`. Every name stays importable from :mod:`assay.datasets.ood`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import SEED_NOT_GIVEN, check_scalar, describe, renamed_seed
from ._loaders import Split, _check_split_sizes, _train_val_test_rows
from .ood_images import (
    DIGITS_CORRUPTION_SEVERITIES,
    DIGITS_OOD_LETTERS,
    _corrupt,
    _gaussian_parameters,
    _match_means,
    _quantise,
    _render_letters,
    _rotate_or_flip,
    _seeds,
)

if TYPE_CHECKING:  # pragma: no cover - typing only; torch is imported lazily
    import torch

__all__ = ["DIGITS_OOD_SETS", "DigitsOOD", "load_digits_ood"]

#: Names (keys of :attr:`DigitsOOD.ood`) of the OOD sets made by :func:`load_digits_ood`.
DIGITS_OOD_SETS = (
    "held_out_classes", "corrupted", "rotated", "uniform_noise", "gaussian_noise", "letters",
)


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
