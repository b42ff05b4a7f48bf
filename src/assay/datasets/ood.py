"""Out-of-distribution (OOD) benchmark sets built offline from the bundled data.

* :func:`load_digits_ood` - scikit-learn's 8x8 digits without some classes (in-distribution
  train / val / test) and seven OOD image sets: the held-out digits, corrupted and rotated /
  flipped digits, uniform and Gaussian noise, and generated letters.
* :func:`load_adult_ood` - Adult without a subgroup (in-distribution train / test) and two OOD
  tables with Adult's columns and dtypes: German credit applicants mapped onto Adult's features,
  and the held-out Adult subgroup.

The code lives in three modules: :mod:`~assay.datasets.ood_images` (the image helpers:
corruption, rotation, letters, noise; and the seeded generators),
:mod:`~assay.datasets.ood_digits` and :mod:`~assay.datasets.ood_adult`; every name stays
importable from here.

Everything is built from data that ships with assay or scikit-learn, seeded and deterministic;
nothing here touches the network.
"""

from .ood_adult import ADULT_OOD_SETS, AdultOOD, load_adult_ood
from .ood_digits import DIGITS_OOD_SETS, DigitsOOD, load_digits_ood
from .ood_images import (  # noqa: F401 - the private helpers are re-exported for the tests
    DIGITS_CORRUPTION_SEVERITIES,
    DIGITS_OOD_LETTERS,
    _gaussian_parameters,
    _render_letters,
)

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
