"""Who is in the data: group sizes, label balance and base rates per group, missing values per group.

* :func:`group_sizes` -- rows per group of each sensitive feature and per intersection
  (groupings from :func:`assay.metrics.make_groups`), flagging groups too small to report.
* :func:`label_balance` -- class counts and imbalance ratio, and the base rate (share of the
  positive label) overall, per group and per intersection. Base rates come from
  :func:`assay.metrics.evaluate_groups` with ``metrics=["base_rate"]``, the one home of that
  formula, with its ``small`` flag.
* :func:`missingness_by_group` -- for each feature with missing values, the missing rate
  overall and per group, and whether missingness depends on the group: Pearson's chi-square
  test of independence of the 2 x k table (missing or not) x group
  (``scipy.stats.chi2_contingency``, Yates' correction for 2 x 2 tables as scipy does) and
  Cramér's V (bias-corrected, Bergsma 2013) as the effect size. With many rows a tiny
  difference is significant, so ``depends_on_group`` needs both ``p_value < alpha`` and
  ``cramers_v >= min_effect``.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import as_array, check_bool, check_scalar
from ..metrics import evaluate_groups, make_groups
from ._common import check_frame, cramers_v, plain, sensitive_frame, target_codes

DEFAULT_MIN_GROUP_SIZE = 30
"""Groups with fewer rows are flagged as too small to report."""

DEFAULT_ALPHA = 0.01
"""Significance level of the tests."""

DEFAULT_MIN_EFFECT = 0.1
"""Cramér's V at or above which missingness is said to depend on the group (with p < alpha)."""

_BAD_POS_LABEL = "'pos_label' must be one of the labels of y {labels}. Got {received!r} instead."


# ---------------------------------------------------------------------------------------------
# Group sizes
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class GroupSizesResult(Result):
    """Rows per group of each sensitive feature and per intersection.

    Attributes
    ----------
    table : DataFrame
        Columns ``feature`` (a sensitive feature, or an intersection "sex x race"), ``group``
        ("Female", "Female x Black"), ``count``, ``fraction`` (of all rows) and ``small``
        (``count < min_group_size``). Groups in sorted order within each feature.
    coverage : DataFrame
        One row per feature/intersection: ``n_groups`` (present), ``n_possible`` (product of
        the features' group counts), ``n_empty`` (combinations with no row), ``n_small``,
        ``smallest`` (fewest rows).
    n_samples, min_group_size : int
    """

    table: pd.DataFrame
    coverage: pd.DataFrame
    n_samples: int
    min_group_size: int


    @property
    def small_groups(self) -> pd.DataFrame:
        """Rows of ``table`` flagged ``small``."""
        return self.table[self.table["small"].to_numpy(bool)].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def group_sizes(
    sensitive_features: Any,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    intersections: bool = True,
) -> GroupSizesResult:
    """Count rows per group and intersection; flag groups with fewer than ``min_group_size``.

    Parameters
    ----------
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        One column per feature, at least two groups each, no missing values.
    min_group_size : int, default 30
    intersections : bool, default True
        Also count every combination of 2..k features.

    Returns
    -------
    GroupSizesResult
    """
    owner = "group_sizes"
    check_scalar(min_group_size, "min_group_size", owner=owner, kind=(int, np.integer), low=0)
    intersections = check_bool(intersections, "intersections", owner=owner)
    groups = make_groups(sensitive_features, intersections)
    n = groups.n_samples
    cardinality = {f: groups[f].n_groups for f in groups.features}
    blocks, coverage = [], []
    for grouping in groups:
        counts = np.bincount(grouping.codes, minlength=grouping.n_groups)
        blocks.append(pd.DataFrame({
            "feature": grouping.name,
            "group": list(grouping.label_strings),
            "count": counts,
        }))
        possible = int(np.prod([cardinality[f] for f in grouping.features]))
        coverage.append({
            "feature": grouping.name,
            "n_groups": grouping.n_groups,
            "n_possible": possible,
            "n_empty": possible - grouping.n_groups,
            "n_small": int((counts < min_group_size).sum()),
            "smallest": int(counts.min()),
        })
    table = pd.concat(blocks, ignore_index=True)
    table["fraction"] = table["count"] / n
    table["small"] = table["count"].to_numpy() < min_group_size
    return GroupSizesResult(
        table=table,
        coverage=pd.DataFrame(coverage).set_index("feature"),
        n_samples=n,
        min_group_size=int(min_group_size),
    )


# ---------------------------------------------------------------------------------------------
# Label balance
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class LabelBalanceResult(Result):
    """Class balance overall and the base rate per group.

    Attributes
    ----------
    class_counts : Series
        Label (as a string) -> rows.
    n_samples : int
    pos_label : label
        The label whose share is the base rate.
    base_rate : float
        Share of ``pos_label`` among all rows.
    imbalance_ratio : float
        Rows of the largest class / rows of the smallest.
    minority_label : label
    by_group : DataFrame or None
        Columns ``feature``, ``group``, ``count``, ``base_rate``, ``small`` for every group
        and intersection (None without sensitive features).
    gaps : DataFrame or None
        Index ``feature``; columns ``base_rate_min``, ``base_rate_max``, ``difference``
        (max - min) and ``ratio`` (min / max) over the groups of each feature that have at
        least ``min_group_size`` rows (NaN if fewer than one such group).
    min_group_size : int
    """

    class_counts: pd.Series
    n_samples: int
    pos_label: Any
    base_rate: float
    imbalance_ratio: float
    minority_label: Any
    by_group: pd.DataFrame | None
    gaps: pd.DataFrame | None
    min_group_size: int


    def to_frame(self) -> pd.DataFrame:
        """Base rate and count overall (first row) and per group."""
        overall = pd.DataFrame({
            "feature": ["overall"], "group": ["all"], "count": [self.n_samples],
            "base_rate": [self.base_rate], "small": [False],
        })
        if self.by_group is None:
            return overall
        return pd.concat([overall, self.by_group], ignore_index=True)


def _resolve_pos_label(labels: np.ndarray, pos_label: Any) -> Any:
    plain_labels = [plain(v) for v in labels]
    if pos_label is None:
        return 1 if any(_equal(1, v) for v in plain_labels) else plain_labels[-1]
    if not any(_equal(pos_label, v) for v in plain_labels):
        raise AssayInputError(_BAD_POS_LABEL.format(labels=plain_labels, received=pos_label))
    return pos_label


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def label_balance(
    y: Any,
    sensitive_features: Any = None,
    *,
    pos_label: Any = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    intersections: bool = True,
) -> LabelBalanceResult:
    """Class counts and imbalance ratio; base rate overall, per group and per intersection.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary target (exactly two labels, no missing values).
    sensitive_features : Series, DataFrame, dict of arrays, 1-D/2-D array, or None
        Groups for the base rates; None gives the overall balance only.
    pos_label : label, optional
        The label whose share is the base rate. Default: 1 if it is a label, else the larger
        of the two (in sorted order).
    min_group_size : int, default 30
        Groups with fewer rows are flagged ``small``.
    intersections : bool, default True

    Returns
    -------
    LabelBalanceResult
    """
    owner = "label_balance"
    codes, labels = target_codes(y, name="y")
    pos_label = _resolve_pos_label(labels, pos_label)
    check_scalar(min_group_size, "min_group_size", owner=owner, kind=(int, np.integer), low=0)
    intersections = check_bool(intersections, "intersections", owner=owner)
    counts = np.bincount(codes, minlength=len(labels))
    class_counts = pd.Series(counts, index=[str(plain(v)) for v in labels], name="count")
    y_arr = as_array(y, name="y", ndim=1)
    by_group = gaps = None
    if sensitive_features is not None:
        sf = sensitive_frame(sensitive_features, n_samples=len(codes), against="y")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no group is empty: base rates are always defined
            grouped = evaluate_groups(
                y_arr, y_arr, sensitive_features=sf, metrics=["base_rate"],
                intersections=intersections, min_group_size=int(min_group_size), pos_label=pos_label,
            )
        base_rate = float(grouped.overall["base_rate"])
        table = grouped.by_group.reset_index()
        by_group = pd.DataFrame({
            "feature": table["feature"].astype(str),
            "group": table["group"].astype(str),
            "count": table["count"].to_numpy(np.int64),
            "base_rate": table["base_rate"].to_numpy(np.float64),
            "small": table["small"].to_numpy(bool),
        })
        gaps = pd.DataFrame({
            "base_rate_min": grouped.group_min(include_small=False)["base_rate"],
            "base_rate_max": grouped.group_max(include_small=False)["base_rate"],
            "difference": grouped.difference(include_small=False)["base_rate"],
            "ratio": grouped.ratio(include_small=False)["base_rate"],
        })
        gaps.index.name = "feature"
    else:
        pos_code = [i for i, v in enumerate(labels) if _equal(pos_label, plain(v))][0]
        base_rate = float(counts[pos_code] / counts.sum())
    return LabelBalanceResult(
        class_counts=class_counts,
        n_samples=int(counts.sum()),
        pos_label=plain(pos_label),
        base_rate=base_rate,
        imbalance_ratio=float(counts.max() / counts.min()),
        minority_label=plain(labels[int(np.argmin(counts))]),
        by_group=by_group,
        gaps=gaps,
        min_group_size=int(min_group_size),
    )


# ---------------------------------------------------------------------------------------------
# Missing values per group
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class MissingnessResult(Result):
    """Missing values per feature, overall and per group, and whether they depend on the group.

    Attributes
    ----------
    overall : DataFrame
        Index ``feature`` (every feature); columns ``n_missing`` and ``missing_rate``.
    summary : DataFrame
        One row per (feature with missing values, sensitive feature): columns ``feature``,
        ``sensitive_feature``, ``missing_rate``, ``group_rate_min``, ``group_rate_max``,
        ``chi2``, ``dof``, ``p_value``, ``cramers_v`` and ``depends_on_group``
        (``p_value < alpha`` and ``cramers_v >= min_effect``). Empty without sensitive
        features or missing values.
    by_group : DataFrame
        Columns ``feature``, ``sensitive_feature``, ``group``, ``count``, ``n_missing``,
        ``missing_rate``.
    n_samples : int
    params : dict
        ``alpha``, ``min_effect``, ``sensitive_features``.
    """

    overall: pd.DataFrame
    summary: pd.DataFrame
    by_group: pd.DataFrame
    n_samples: int
    params: dict[str, Any]


    @property
    def features_with_missing(self) -> list[str]:
        """Features with at least one missing value."""
        return list(self.overall.index[self.overall["n_missing"].to_numpy() > 0])

    def to_frame(self) -> pd.DataFrame:
        return self.summary.copy()


_SUMMARY_COLUMNS = [
    "feature", "sensitive_feature", "missing_rate", "group_rate_min", "group_rate_max",
    "chi2", "dof", "p_value", "cramers_v", "depends_on_group",
]
_BY_GROUP_COLUMNS = ["feature", "sensitive_feature", "group", "count", "n_missing", "missing_rate"]


def missingness_by_group(
    X: Any,
    sensitive_features: Any = None,
    *,
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
) -> MissingnessResult:
    """Missing rate of each feature overall and per group; chi-square test of missing vs group.

    Parameters
    ----------
    X : DataFrame or 2-D array
        Features; NaN, None, NA and NaT count as missing.
    sensitive_features : Series, DataFrame, dict of arrays, 1-D/2-D array, or None
        Groups (each sensitive feature separately); None gives the overall rates only.
    alpha : float in (0, 1), default 0.01
    min_effect : float in [0, 1], default 0.1

    Returns
    -------
    MissingnessResult
    """
    owner = "missingness_by_group"
    X = check_frame(X, name="X")
    check_scalar(alpha, "alpha", owner=owner, low=0.0, high=1.0, closed="neither")
    check_scalar(min_effect, "min_effect", owner=owner, low=0.0, high=1.0)
    missing = X.isna().to_numpy()
    n = len(X)
    n_missing = missing.sum(axis=0)
    overall = pd.DataFrame(
        {"n_missing": n_missing.astype(np.int64), "missing_rate": n_missing / n},
        index=pd.Index(list(X.columns), name="feature"),
    )
    summary_rows, group_blocks = [], []
    sensitive_names: list[str] = []
    if sensitive_features is not None:
        sf = sensitive_frame(sensitive_features, n_samples=n)
        sensitive_names = list(sf.columns)
        with_missing = np.flatnonzero(n_missing > 0)
        for attribute in sf.columns:
            codes, groups = pd.factorize(sf[attribute].to_numpy(), sort=True)
            k = len(groups)
            sizes = np.bincount(codes, minlength=k)
            for col in with_missing:
                feature = X.columns[col]
                m = np.bincount(codes[missing[:, col]], minlength=k)
                rates = m / sizes
                table = np.stack([m, sizes - m])
                if m.sum() == n:  # everything missing: nothing to test
                    chi2, p_value, dof = 0.0, 1.0, k - 1
                else:
                    chi2, p_value, dof, _ = chi2_contingency(table)
                v = cramers_v(table)
                summary_rows.append({
                    "feature": feature, "sensitive_feature": attribute,
                    "missing_rate": float(n_missing[col] / n),
                    "group_rate_min": float(rates.min()), "group_rate_max": float(rates.max()),
                    "chi2": float(chi2), "dof": int(dof), "p_value": float(p_value), "cramers_v": v,
                    "depends_on_group": bool(p_value < alpha and v >= min_effect),
                })
                group_blocks.append(pd.DataFrame({
                    "feature": feature, "sensitive_feature": attribute, "group": list(groups.astype(str)),
                    "count": sizes, "n_missing": m, "missing_rate": rates,
                }))
    summary = pd.DataFrame(summary_rows, columns=_SUMMARY_COLUMNS)
    by_group = (
        pd.concat(group_blocks, ignore_index=True) if group_blocks
        else pd.DataFrame(columns=_BY_GROUP_COLUMNS)
    )
    return MissingnessResult(
        overall=overall,
        summary=summary,
        by_group=by_group,
        n_samples=n,
        params={"alpha": float(alpha), "min_effect": float(min_effect),
                "sensitive_features": sensitive_names},
    )
