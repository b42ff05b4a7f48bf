"""Distribution shift per feature between a reference sample and a current one.

Written for train vs test, and general enough for monitoring (reference = training data,
current = this week's traffic). Every feature gets:

* **PSI** (population stability index) on a binned distribution:
  ``PSI = sum_i (p_cur_i - p_ref_i) * ln(p_cur_i / p_ref_i)`` where ``p`` are the shares of the
  bins. Categorical features: one bin per category seen in either sample. Numeric features:
  bins cut at the reference deciles (duplicate edges merged). Missing values are a bin of their
  own. Shares are floored at ``psi_epsilon`` (default 1e-4) before the formula, so a bin empty
  in one sample adds a large but finite term. Rule of thumb (Siddiqi, 2006): < 0.1 stable,
  0.1-0.2 moderate, >= 0.2 significant shift.
* **chi-square** test of homogeneity of the same bins (2 x bins table of counts,
  ``scipy.stats.chi2_contingency``; bins empty in both samples dropped).

Numeric features also get, on their non-missing values:

* the two-sample **Kolmogorov-Smirnov** statistic and p-value (``scipy.stats.ks_2samp``);
* the **Wasserstein** distance (``scipy.stats.wasserstein_distance``) divided by the reference
  standard deviation (NaN if that is 0): how far values moved, in reference standard deviations.

A feature is flagged ``drifted`` when ``psi >= psi_threshold`` (0.2) and the chi-square
p-value is below ``alpha`` (0.01), or -- numeric features -- when the KS p-value is below
``alpha`` and the KS statistic is at least ``ks_threshold`` (0.1). The p-value alone is not
enough: with tens of thousands of rows a negligible shift is significant; the effect sizes
(PSI, KS statistic) say whether it matters.

The statistics themselves live in :mod:`assay.monitor.stats` (one home, shared with
``assay.monitor.drift_report``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..core.result import Result
from ..core.validation import check_scalar
from ..monitor import stats as drift_stats
from ._common import (
    NUMERIC,
    align_columns,
    check_frame,
    column_kinds,
    joint_codes,
    numeric_values,
    quantile_bins,
)

DEFAULT_PSI_THRESHOLD = 0.2
DEFAULT_KS_THRESHOLD = 0.1
DEFAULT_ALPHA = 0.01
DEFAULT_PSI_EPSILON = drift_stats.DEFAULT_PSI_EPSILON
N_BINS = 10
"""Numeric features are binned at the reference deciles for PSI and the chi-square test."""

_COLUMNS = [
    "kind", "n_reference", "n_current", "missing_rate_reference", "missing_rate_current",
    "psi", "chi2_pvalue", "ks_statistic", "ks_pvalue", "wasserstein", "n_new_categories", "drifted",
]


@dataclasses.dataclass(frozen=True, eq=False)
class ShiftResult(Result):
    """Per-feature shift between a reference and a current sample.

    Attributes
    ----------
    table : DataFrame
        Index ``feature``; columns ``kind``, ``n_reference``, ``n_current``,
        ``missing_rate_reference``, ``missing_rate_current``, ``psi``, ``chi2_pvalue``,
        ``ks_statistic``, ``ks_pvalue`` and ``wasserstein`` (numeric only; NaN for
        categorical), ``n_new_categories`` (categories of the current sample absent from the
        reference; categorical only, else 0) and ``drifted``. In column order of the reference.
    params : dict
        ``psi_threshold``, ``ks_threshold``, ``alpha``, ``psi_epsilon``, ``n_bins``.
    """

    table: pd.DataFrame
    params: dict[str, Any]


    @property
    def drifted_features(self) -> list[str]:
        """Features flagged ``drifted``, by decreasing PSI."""
        drifted = self.table[self.table["drifted"].to_numpy(bool)]
        return list(drifted.sort_values("psi", ascending=False, kind="stable").index)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def population_stability_index(
    reference_counts: Any, current_counts: Any, *, epsilon: float = DEFAULT_PSI_EPSILON
) -> float:
    """PSI of two histograms over the same bins (counts), shares floored at ``epsilon``."""
    check_scalar(epsilon, "epsilon", owner="population_stability_index", low=0.0, closed="neither")
    return drift_stats.psi(reference_counts, current_counts, epsilon=epsilon)


def _chi2_pvalue(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    return drift_stats.chi2_test(ref_counts, cur_counts)[1]


def distribution_shift(
    X_reference: Any,
    X_current: Any,
    *,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
    ks_threshold: float = DEFAULT_KS_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    psi_epsilon: float = DEFAULT_PSI_EPSILON,
) -> ShiftResult:
    """Compare each feature's distribution in ``X_current`` with ``X_reference``.

    Parameters
    ----------
    X_reference, X_current : DataFrame or 2-D array
        Same columns (any order) of the same kinds; missing values allowed.
    psi_threshold : float, default 0.2
    ks_threshold : float in [0, 1], default 0.1
    alpha : float in (0, 1), default 0.01
    psi_epsilon : float, default 1e-4
        Floor of bin shares in the PSI.

    Returns
    -------
    ShiftResult
        See the module docstring for the statistics and the ``drifted`` rule.
    """
    owner = "distribution_shift"
    X_reference = check_frame(X_reference, name="X_reference")
    X_current = align_columns(
        X_reference, check_frame(X_current, name="X_current"), reference="X_reference", name="X_current"
    )
    check_scalar(psi_threshold, "psi_threshold", owner=owner, low=0.0)
    check_scalar(ks_threshold, "ks_threshold", owner=owner, low=0.0, high=1.0)
    check_scalar(alpha, "alpha", owner=owner, low=0.0, high=1.0, closed="neither")
    check_scalar(psi_epsilon, "psi_epsilon", owner=owner, low=0.0, high=1.0, closed="neither")
    n_ref, n_cur = len(X_reference), len(X_current)
    rows = {}
    for column, kind in column_kinds(X_reference).items():
        row: dict[str, Any] = {"kind": kind, "n_reference": n_ref, "n_current": n_cur,
                               "ks_statistic": np.nan, "ks_pvalue": np.nan, "wasserstein": np.nan,
                               "n_new_categories": 0}
        if kind == NUMERIC:
            ref = numeric_values(X_reference[column])
            cur = numeric_values(X_current[column])
            ref_codes, n_codes = quantile_bins(ref, N_BINS)
            cur_codes, _ = quantile_bins(cur, N_BINS, edges_from=ref)
            ref_missing, cur_missing = np.isnan(ref), np.isnan(cur)
            ref_ok, cur_ok = ref[~ref_missing], cur[~cur_missing]
            if ref_ok.size and cur_ok.size:
                row["ks_statistic"], row["ks_pvalue"] = drift_stats.ks_test(ref_ok, cur_ok)
                row["wasserstein"] = drift_stats.wasserstein(ref_ok, cur_ok)
        else:
            (ref_codes, cur_codes), uniques, missing_code = joint_codes(
                [X_reference[column], X_current[column]], kind
            )
            n_codes = missing_code + 1
            ref_missing, cur_missing = ref_codes == missing_code, cur_codes == missing_code
            seen = np.bincount(ref_codes, minlength=n_codes) > 0
            new = np.bincount(cur_codes, minlength=n_codes) > 0
            row["n_new_categories"] = int((new & ~seen)[:missing_code].sum())
        ref_counts = np.bincount(ref_codes, minlength=n_codes)
        cur_counts = np.bincount(cur_codes, minlength=n_codes)
        row["missing_rate_reference"] = float(ref_missing.mean())
        row["missing_rate_current"] = float(cur_missing.mean())
        row["psi"] = population_stability_index(ref_counts, cur_counts, epsilon=psi_epsilon)
        row["chi2_pvalue"] = _chi2_pvalue(ref_counts, cur_counts)
        drifted = row["psi"] >= psi_threshold and row["chi2_pvalue"] < alpha
        if kind == NUMERIC and not np.isnan(row["ks_pvalue"]):
            drifted = drifted or (row["ks_pvalue"] < alpha and row["ks_statistic"] >= ks_threshold)
        row["drifted"] = bool(drifted)
        rows[column] = row
    table = pd.DataFrame.from_dict(rows, orient="index")[_COLUMNS]
    table.index.name = "feature"
    return ShiftResult(
        table=table,
        params={
            "psi_threshold": float(psi_threshold),
            "ks_threshold": float(ks_threshold),
            "alpha": float(alpha),
            "psi_epsilon": float(psi_epsilon),
            "n_bins": N_BINS,
        },
    )
