"""Exceptions and warnings raised by assay.

Every error caused by what a user passed in is an :class:`AssayInputError` (a ``ValueError``)
whose message names the argument, says what was received and what was expected.
"""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def outside_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that attributes a warning to the first caller
    outside the assay package (call it from the function that warns)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


class AssayInputError(ValueError):
    """Bad input to an assay function or object: wrong shape, type, value or state.

    The message names the argument, what was received and what is expected.
    """


class NotFittedError(AssayInputError, AttributeError):
    """An estimator (ours or the user's) was used before it was fitted."""


class AssayWarning(UserWarning):
    """Base class of assay's warnings."""


class UndefinedMetricWarning(AssayWarning):
    """A metric is undefined for some group (e.g. TPR of a group with no positives); its value is NaN."""


class SmallGroupWarning(AssayWarning):
    """A group is smaller than the size needed to report its metrics reliably."""
