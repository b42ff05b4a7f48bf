"""Two-sample drift statistics: the one home of every drift number in assay.

The audit's train-vs-test shift check (``assay.data_checks.distribution_shift``) and the monitor's
``drift_report`` both call these functions. Two families:

* **From samples** (1-D float arrays without NaN): ``ks_test`` (two-sample Kolmogorov-Smirnov,
  ``scipy.stats.ks_2samp``), ``wasserstein`` (``scipy.stats.wasserstein_distance``),
  ``anderson_test`` (``scipy.stats.anderson_ksamp``, k = 2).
* **From counts on the same bins** (1-D arrays of non-negative counts): ``psi``,
  ``jensen_shannon`` (distance, base 2, in [0, 1]), ``total_variation``, ``chi2_test`` (2 x bins
  homogeneity, ``scipy.stats.chi2_contingency``), and the binned approximations
  ``ks_from_counts`` / ``wasserstein_from_counts`` used when the reference is a stored profile.

``adjust_pvalues`` corrects a family of p-values (Holm, Benjamini-Hochberg). Nothing here
validates user input: callers do (the functions are called once per column and group).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as _st

DEFAULT_PSI_EPSILON = 1e-4
CORRECTIONS = ("holm", "bh", "none")


def psi(reference_counts: Any, current_counts: Any, *, epsilon: float = DEFAULT_PSI_EPSILON) -> float:
    """Population stability index ``sum (q - p) ln(q / p)`` of two histograms (shares floored at ``epsilon``)."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    p = np.maximum(ref / ref.sum(), epsilon)
    q = np.maximum(cur / cur.sum(), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def _shares(reference_counts: Any, current_counts: Any) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    return ref / ref.sum(), cur / cur.sum()


def jensen_shannon(reference_counts: Any, current_counts: Any) -> float:
    """Jensen-Shannon distance (square root of the divergence, base 2; 0 = same shares, 1 = disjoint)."""
    p, q = _shares(reference_counts, current_counts)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(np.sqrt(max(0.0, (kl_p + kl_q) / 2)))


def total_variation(reference_counts: Any, current_counts: Any) -> float:
    """Total variation distance ``sum |p - q| / 2`` of the shares."""
    p, q = _shares(reference_counts, current_counts)
    return float(np.abs(p - q).sum() / 2)


def chi2_test(reference_counts: Any, current_counts: Any) -> tuple[float, float]:
    """``(statistic, p-value)`` of the chi-square test of homogeneity of the 2 x bins table
    (bins empty in both dropped; fewer than two bins left: ``(0, 1)``)."""
    table = np.stack([np.asarray(reference_counts, dtype=np.float64), np.asarray(current_counts, dtype=np.float64)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    statistic, pvalue = _st.chi2_contingency(table)[:2]
    return float(statistic), float(pvalue)


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """``(statistic, p-value)`` of the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``)."""
    result = _st.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def wasserstein(reference: np.ndarray, current: np.ndarray, *, scale: bool = True) -> float:
    """Wasserstein-1 distance; with ``scale`` divided by the reference standard deviation (0 if both
    samples are one same constant, NaN if only the reference is)."""
    distance = float(_st.wasserstein_distance(reference, current))
    if not scale:
        return distance
    sd = float(np.std(reference))
    return distance / sd if sd > 0 else (0.0 if distance == 0 else float("nan"))


KS_EXACT_MAX_N = 10_000
"""Up to this sample size ``ks_2samp``'s exact p-value is used (scipy's own ``method="auto"`` rule)."""


def ks_wasserstein(reference: np.ndarray, current: np.ndarray, *, scale: bool = True) -> tuple[float, float, float]:
    """``(KS statistic, KS p-value, Wasserstein)`` from one sort of each sample: the same numbers as
    :func:`ks_test` and :func:`wasserstein` (scipy's formulas: the empirical CDFs on the pooled values;
    the exact p-value up to :data:`KS_EXACT_MAX_N` rows, else Smirnov's ``kstwo.sf(D, round(nm / (n + m)))``),
    at about a third of their cost on large samples."""
    a, b = np.sort(reference), np.sort(current)
    pooled = np.sort(np.concatenate([a, b]), kind="stable")  # two sorted runs: a merge
    cdf_a = np.searchsorted(a, pooled, side="right") / a.size
    cdf_b = np.searchsorted(b, pooled, side="right") / b.size
    gaps = np.abs(cdf_a - cdf_b)
    statistic = float(gaps.max())
    distance = float(np.sum(gaps[:-1] * np.diff(pooled)))
    if max(a.size, b.size) <= KS_EXACT_MAX_N:
        pvalue = float(_st.ks_2samp(a, b).pvalue)
    else:
        m, n = sorted([float(a.size), float(b.size)], reverse=True)
        pvalue = float(np.clip(_st.kstwo.sf(statistic, np.round(m * n / (m + n))), 0, 1))
    if scale:
        sd = float(np.std(a))
        distance = distance / sd if sd > 0 else (0.0 if distance == 0 else float("nan"))
    return statistic, pvalue, distance


def anderson_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """``(statistic, p-value)`` of the k-sample Anderson-Darling test (k = 2, scipy's; the p-value is
    capped to [0.001, 0.25] by scipy's interpolation table)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _st.anderson_ksamp([reference, current])
    return float(result.statistic), float(result.pvalue)


def ks_from_counts(reference_counts: Any, current_counts: Any) -> tuple[float, float]:
    """KS statistic on binned data: the largest gap of the two cumulative shares at the bin edges (a
    lower bound of the exact statistic), with the asymptotic p-value of ``kstwo`` at the effective size
    ``n m / (n + m)``. Approximate: exact only when no value of either sample lies strictly inside a bin."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    n, m = ref.sum(), cur.sum()
    statistic = float(np.max(np.abs(np.cumsum(ref) / n - np.cumsum(cur) / m)))
    en = n * m / (n + m)
    return statistic, float(_st.kstwobign.sf(statistic * np.sqrt(en)))


def wasserstein_from_counts(edges: np.ndarray, reference_counts: Any, current_counts: Any, *,
                            low: float, high: float, sd: float | None = None) -> float:
    """Wasserstein-1 distance on binned data, each bin's mass at its midpoint (``edges`` are the
    interior edges; the outer bins end at ``low`` and ``high``): ``sum_i |F_i - G_i| (c_{i+1} - c_i)``.
    Approximate: exact when every value sits at its bin's midpoint; the error is at most about one
    bin width. Divided by ``sd`` when given (0 -> NaN unless the distance is 0)."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    grid = np.concatenate([[low], np.asarray(edges, dtype=np.float64), [high]])
    gaps = np.abs(np.cumsum(ref) / ref.sum() - np.cumsum(cur) / cur.sum())[:-1]
    centres = (grid[:-1] + grid[1:]) / 2
    distance = float(np.sum(gaps * np.diff(centres)))
    if sd is None:
        return distance
    return distance / sd if sd > 0 else (0.0 if distance == 0 else float("nan"))


def adjust_pvalues(pvalues: Any, method: str = "holm") -> np.ndarray:
    """P-values adjusted for multiple testing: ``"holm"`` (family-wise error, step-down),
    ``"bh"`` (Benjamini-Hochberg false discovery rate) or ``"none"``. NaN entries stay NaN and
    do not count in the family."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    values = p[ok]
    k = values.size
    if k == 0 or method == "none":
        out[ok] = values
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(np.minimum(1.0, (k - np.arange(k)) * ranked))
    elif method == "bh":
        adjusted = np.minimum.accumulate(k / np.arange(k, 0, -1) * ranked[::-1])[::-1]
        adjusted = np.minimum(1.0, adjusted)
    else:
        raise ValueError(f"unknown correction {method!r}")
    result = np.empty(k)
    result[order] = adjusted
    out[ok] = result
    return out
