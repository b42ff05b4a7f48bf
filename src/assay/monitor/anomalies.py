"""Anomalies in a (seasonal) metric series: generalized ESD, and residuals beyond k IQR.

* :func:`generalized_esd` -- Rosner's (1983) generalized extreme Studentized deviate test for up to
  ``max_anomalies`` outliers of a roughly normal series: ``R_i = max |x - mean| / sd`` after removing the
  i - 1 most extreme points, critical values
  ``lambda_i = (n - i) t_{p, n-i-1} / sqrt((n - i - 1 + t^2) (n - i + 1))`` with
  ``p = 1 - alpha / (2 (n - i + 1))``; the anomalies are the most extreme ``r`` points, ``r`` the largest
  ``i`` with ``R_i > lambda_i``.
* :func:`seasonal_residuals` -- a classical decomposition (centred moving-average trend over one
  ``period``, then the mean of each phase of the period as the seasonal part), a robust stand-in for STL
  without statsmodels; :func:`seasonal_anomalies` flags residuals beyond ``k`` IQR of the quartiles
  (Tukey's fences) or, with ``method="esd"``, runs the generalized ESD on the residuals.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import t as student_t

from ..core.errors import AssayInputError
from ..core.validation import as_array, check_option, check_scalar


def esd_critical_value(n: int, i: int, alpha: float = 0.05) -> float:
    """Rosner's ``lambda_i`` for a series of ``n`` points (see the module docstring)."""
    p = 1 - alpha / (2 * (n - i + 1))
    tq = student_t.ppf(p, n - i - 1)
    return float((n - i) * tq / np.sqrt((n - i - 1 + tq ** 2) * (n - i + 1)))


def generalized_esd(values, *, max_anomalies: int = 10, alpha: float = 0.05) -> list[int]:
    """Positions of the outliers of ``values`` (generalized ESD), most extreme first."""
    owner = "generalized_esd"
    x = as_array(values, name="values", ndim=1, dtype=np.float64)
    check_scalar(max_anomalies, "max_anomalies", owner=owner, kind=int, low=1)
    check_scalar(alpha, "alpha", owner=owner, low=0.0, high=1.0, closed="neither")
    n = len(x)
    if n < max_anomalies + 3:
        raise AssayInputError(f"'values' of {owner} must have at least max_anomalies + 3 = {max_anomalies + 3} "
                              f"points. Got {n}.")
    keep = np.ones(n, dtype=bool)
    removed, found = [], 0
    for i in range(1, max_anomalies + 1):  # at most max_anomalies passes over the series
        rest = x[keep]
        sd = rest.std(ddof=1)
        if sd == 0:
            break
        deviation = np.where(keep, np.abs(x - rest.mean()), -np.inf)
        j = int(np.argmax(deviation))
        statistic = deviation[j] / sd
        removed.append(j)
        keep[j] = False
        if statistic > esd_critical_value(n, i, alpha):
            found = i
    return removed[:found]


def seasonal_residuals(values, *, period: int) -> np.ndarray:
    """``x - trend - seasonal`` of a classical additive decomposition (edges: the trend is extended flat)."""
    x = as_array(values, name="values", ndim=1, dtype=np.float64)
    check_scalar(period, "period", owner="seasonal_residuals", kind=int, low=1)
    if len(x) < 2 * period:
        raise AssayInputError(f"'values' must span at least two periods ({2 * period} points). Got {len(x)}.")
    if period == 1:
        return x - x.mean()
    if period % 2:
        weights = np.full(period, 1.0 / period)
    else:  # a 2 x period moving average keeps an even period centred
        weights = np.r_[0.5, np.ones(period - 1), 0.5] / period
    half = len(weights) // 2
    trend = np.convolve(x, weights, mode="valid")
    trend = np.r_[np.full(half, trend[0]), trend, np.full(len(x) - len(trend) - half, trend[-1])]
    detrended = x - trend
    phase = np.arange(len(x)) % period
    seasonal = np.bincount(phase, weights=detrended) / np.bincount(phase)
    seasonal -= seasonal.mean()
    return detrended - seasonal[phase]


def seasonal_anomalies(values, *, period: int = 1, method: str = "iqr", k: float = 3.0, max_anomalies: int = 10,
                       alpha: float = 0.05) -> list[int]:
    """Positions of anomalous points of a metric series after removing its trend and season."""
    owner = "seasonal_anomalies"
    check_option(method, "method", owner=owner, options=("iqr", "esd"))
    check_scalar(k, "k", owner=owner, low=0.0, closed="neither")
    residuals = seasonal_residuals(values, period=period)
    if method == "esd":
        return sorted(generalized_esd(residuals, max_anomalies=max_anomalies, alpha=alpha))
    q1, q3 = np.percentile(residuals, [25, 75])
    spread = q3 - q1
    return [int(i) for i in np.flatnonzero((residuals < q1 - k * spread) | (residuals > q3 + k * spread))]
