"""Data checks before any model: is the data fit for a valid, fair evaluation?

Pure computations on tables (pandas DataFrames or 2-D arrays; numeric and categorical columns,
missing values allowed), each returning a :class:`~assay.core.Result`:

* :func:`train_test_overlap` -- test rows that exactly or nearly equal a training row.
* :func:`single_feature_predictiveness` -- AUC of each feature alone for a binary target;
  flags suspected leakage.
* :func:`proxy_features` -- how well each feature alone predicts each sensitive attribute.
* :func:`label_balance` -- class balance and base rates per group and intersection.
* :func:`group_sizes` -- rows per group and intersection; flags groups too small to report.
* :func:`missingness_by_group` -- missing rates per group and a chi-square test of
  missingness vs group.
* :func:`distribution_shift` -- per-feature shift between a reference and a current sample
  (PSI, chi-square, Kolmogorov-Smirnov, Wasserstein); reusable for monitoring.
* :func:`run_data_checks` -- all of the above on a train / test pair, as a :class:`DataReport`
  whose :meth:`~DataReport.findings` grade them ("pass" / "warn" / "fail") against
  :data:`DEFAULT_THRESHOLDS`.
* :func:`datasheet_markdown` -- a Gebru et al. datasheet skeleton filled with those numbers.
* :func:`bin_by_quantiles` -- quantile groups of a numeric sensitive feature (age, income), with
  edges from a reference sample; an audit refuses such a feature unbinned
  (:func:`many_valued_numeric`, more than :data:`MAX_NUMERIC_GROUPS` values).

No plotting and no file I/O here; every stochastic step takes a ``random_state``.
"""

from .binning import MAX_NUMERIC_GROUPS, bin_by_quantiles, many_valued_numeric
from .datasheet import PROMPT, datasheet_markdown
from .groups import (
    GroupSizesResult,
    LabelBalanceResult,
    MissingnessResult,
    group_sizes,
    label_balance,
    missingness_by_group,
)
from .overlap import OverlapResult, train_test_overlap
from .predictiveness import PredictivenessResult, ProxyResult, proxy_features, single_feature_predictiveness
from .report import DEFAULT_THRESHOLDS, DataReport, Finding, run_data_checks
from .shift import ShiftResult, distribution_shift, population_stability_index

__all__ = [
    "DEFAULT_THRESHOLDS",
    "MAX_NUMERIC_GROUPS",
    "PROMPT",
    "DataReport",
    "Finding",
    "GroupSizesResult",
    "LabelBalanceResult",
    "MissingnessResult",
    "OverlapResult",
    "PredictivenessResult",
    "ProxyResult",
    "ShiftResult",
    "bin_by_quantiles",
    "datasheet_markdown",
    "distribution_shift",
    "group_sizes",
    "label_balance",
    "many_valued_numeric",
    "missingness_by_group",
    "population_stability_index",
    "proxy_features",
    "run_data_checks",
    "single_feature_predictiveness",
    "train_test_overlap",
]
