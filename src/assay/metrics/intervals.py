"""Confidence intervals of proportions, vectorised (one home for the Wilson score interval)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats as sps

from ..core.errors import AssayInputError
from ..core.validation import NOT_GIVEN, check_scalar, renamed_parameter


def wilson_interval(successes: Any, n: Any, *, confidence_level: float = 0.95,
                    confidence: Any = NOT_GIVEN) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion ``successes / n`` (Wilson, 1927).

    Parameters
    ----------
    successes, n : array-like of the same shape (or scalars)
        Counts, ``0 <= successes <= n``; where ``n == 0`` the interval is NaN.
    confidence_level : float in (0, 1), default 0.95
        ``confidence=`` is a deprecated alias.

    Returns
    -------
    (lower, upper) : float arrays of the broadcast shape, within [0, 1].

    ``center = (p + z^2 / 2n) / (1 + z^2 / n)``, ``half = z sqrt(p (1 - p) / n + z^2 / 4n^2) /
    (1 + z^2 / n)``: good coverage near 0 and 1 and with few trials, unlike the Wald interval.
    """
    confidence = renamed_parameter(confidence_level, confidence, name="confidence_level", old="confidence",
                                   owner="wilson_interval", default=0.95)
    check_scalar(confidence, "confidence_level", owner="wilson_interval", low=0.0, high=1.0, closed="neither")
    k, m = np.broadcast_arrays(np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64))
    if not (np.isfinite(k).all() and np.isfinite(m).all()) or (k < 0).any() or (k > m + 1e-9 * np.maximum(m, 1)).any():
        raise AssayInputError("'successes' and 'n' must be finite counts with 0 <= successes <= n.")
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.clip(k / m, 0.0, 1.0)
        denominator = 1 + z * z / m
        center = (p + z * z / (2 * m)) / denominator
        half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / denominator
    empty = m <= 0
    lower = np.where(empty, np.nan, np.clip(center - half, 0.0, 1.0))
    upper = np.where(empty, np.nan, np.clip(center + half, 0.0, 1.0))
    return lower, upper
