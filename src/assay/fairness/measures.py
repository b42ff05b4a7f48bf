"""Group- and individual-fairness measures as plain functions returning floats.

Two vocabularies, because users arrive with both:

* **Fairlearn's** (max over groups, no privileged group): ``*_difference`` is the largest gap
  of a per-group metric, ``*_ratio`` the smallest ratio; ``method="between_groups"`` compares
  groups with each other, ``"to_overall"`` each group with all rows.
* **AIF360's** (a privileged group against everyone else, signed): ``unprivileged -
  privileged`` for differences, ``unprivileged / privileged`` for ratios.

Conventions shared by every function here
-----------------------------------------
* Binary labels: ``== pos_label`` is the positive (favourable) outcome, the one other label
  negative. Rates are weighted by ``sample_weight`` where given.
* ``sensitive_features`` with several columns (a DataFrame, a dict, a 2-D array) is read as
  their **intersection**, as Fairlearn does: ``sex`` and ``race`` give groups such as
  ``"Female x Black"``. Use :func:`~assay.fairness.fairness_report` for each feature and every
  intersection at once.
* Per-group values come from the formulas of :mod:`assay.metrics` (the one home of TPR, FPR,
  ...). A value that is 0/0 -- e.g. the TPR of a group without positives -- is NaN with an
  :class:`~assay.core.errors.UndefinedMetricWarning` naming the metric and the group, never 0
  (Fairlearn's rate functions return 0 there). Gaps skip such groups; a gap needs two groups
  with a value, otherwise it is NaN (with a warning).
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError
from ..core.validation import align_pandas, as_array, check_bool, check_consistent_length, check_option, check_scalar
from ..metrics import (
    CalibrationStats,
    GroupedMetrics,
    binned_calibration_error,
    evaluate_groups,
    make_groups,
)
from ..metrics._checks import (
    check_binary_labels,
    check_class_indices,
    check_labels_1d,
    check_prob,
    check_sample_weight,
)
from . import _core
from ._core import AGGS, Rates

_TOO_FEW_ROWS = "'X' must have at least 2 rows when include_self=False. Got {n} instead."

__all__ = [
    "average_odds_difference",
    "calibration_by_group",
    "calibration_difference",
    "consistency_score",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "disparate_impact",
    "disparate_impact_score",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "error_rate_difference",
    "false_negative_rate_difference",
    "false_positive_rate_difference",
    "generalized_entropy_index",
    "label_base_rates",
    "label_disparate_impact",
    "metric_difference",
    "metric_ratio",
    "predictive_parity_difference",
    "predictive_parity_ratio",
    "privileged_difference",
    "privileged_ratio",
    "statistical_parity_difference",
    "theil_index",
    "treatment_equality",
    "treatment_equality_difference",
]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _rates(y_true: Any, y_pred: Any, sensitive_features: Any, sample_weight: Any,
           pos_label: Any) -> Rates:
    """Rates over the groups of the intersection of every sensitive feature."""
    prepared = _core.prepare(y_true, y_pred, sensitive_features, sample_weight, pos_label)
    stats = prepared.cell_stats()
    cells = prepared.groups.cells
    return Rates(_core.counts_of(stats), cells.label_strings, pos_label, name=cells.name)


def _privileged_rates(y_true: Any, y_pred: Any, sensitive_features: Any, privileged_group: Any,
                      sample_weight: Any, pos_label: Any) -> Rates:
    """Two groups: ``privileged_group`` (first) and every other row."""
    prepared = _core.prepare(y_true, y_pred, sensitive_features, sample_weight, pos_label)
    cells = prepared.groups.cells
    index = _core.privileged_index(cells, privileged_group)
    counts = _core.two_groups(_core.counts_of(prepared.cell_stats()), index)
    return Rates(counts, _core.privileged_labels(cells.label_strings, index), pos_label,
                 name=cells.name)


def _gap(metric: str, kind: str, measure: str, y_true: Any, y_pred: Any, sensitive_features: Any,
         method: str, sample_weight: Any, pos_label: Any) -> float:
    _core.check_method(method, measure)
    rates = _rates(y_true, y_pred, sensitive_features, sample_weight, pos_label)
    return float(_core.metric_gap(rates, metric, method, kind, measure=measure))


# ---------------------------------------------------------------------------------------------
# Fairlearn vocabulary: max over groups
# ---------------------------------------------------------------------------------------------


def _derived(name: str, metric: str, kind: str, doc: str) -> Any:
    """A measure that is :func:`metric_difference` or :func:`metric_ratio` with a fixed
    ``metric`` (Fairlearn's ``make_derived_metric``): the one factory of the thin wrappers."""

    def measure(
        y_true: Any,
        y_pred: Any,
        *,
        sensitive_features: Any,
        method: str = "between_groups",
        sample_weight: Any = None,
        pos_label: Any = 1,
    ) -> float:
        return _gap(metric, kind, name, y_true, y_pred, sensitive_features, method, sample_weight, pos_label)

    measure.__name__ = measure.__qualname__ = name
    measure.__doc__ = inspect.cleandoc(doc)
    measure.__module__ = __name__
    return measure



def metric_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    metric: str,
    method: str = "between_groups",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Largest gap of a per-group metric (any label metric of :data:`assay.metrics.METRICS`).

    ``between_groups``: ``max_g m_g - min_g m_g``; ``to_overall``: ``max_g |m_g - m_all|``.
    Range [0, 1] for rates; 0 is parity. The measures below are this function with a fixed
    ``metric`` (as Fairlearn's ``make_derived_metric``).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Binary labels.
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        Several columns are read as their intersection.
    metric : str
        e.g. ``"selection_rate"``, ``"tpr"``, ``"fpr"``, ``"ppv"``, ``"error_rate"``.
    method : {"between_groups", "to_overall"}
    sample_weight : array-like of shape (n,), optional
    pos_label : scalar, default 1

    Returns
    -------
    float
        NaN (with a warning) where fewer than two groups have a defined value.
    """
    _core.check_metric(metric)
    return _gap(metric, "difference", "metric_difference", y_true, y_pred, sensitive_features,
                method, sample_weight, pos_label)


def metric_ratio(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    metric: str,
    method: str = "between_groups",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Smallest ratio of a per-group metric, in [0, 1]; 1 is parity.

    ``between_groups``: ``min_g m_g / max_g m_g``; ``to_overall``: ``min_g min(m_g / m_all,
    m_all / m_g)``. 0/0 is NaN. Parameters as :func:`metric_difference`.
    """
    _core.check_metric(metric)
    return _gap(metric, "ratio", "metric_ratio", y_true, y_pred, sensitive_features,
                method, sample_weight, pos_label)


demographic_parity_difference = _derived("demographic_parity_difference", "selection_rate", "difference", """
    Demographic (statistical) parity difference: the largest gap in selection rate.

    ``SR_g = P(y_pred = pos | group g)``; ``between_groups``: ``max_g SR_g - min_g SR_g``,
    ``to_overall``: ``max_g |SR_g - SR_all|``. Range [0, 1], ideal 0. ``y_true`` is not used
    (kept for a uniform signature). Same as Fairlearn's ``demographic_parity_difference``.
    Reference: Calders & Verwer (2010); Fairlearn.
    """)


demographic_parity_ratio = _derived("demographic_parity_ratio", "selection_rate", "ratio", """
    Demographic parity ratio: the smallest ratio of selection rates.

    ``between_groups``: ``min_g SR_g / max_g SR_g``; ``to_overall``: ``min_g min(SR_g / SR_all,
    SR_all / SR_g)``. Range [0, 1], ideal 1. The **four-fifths rule** (US EEOC Uniform
    Guidelines, 1978) flags a ratio below 0.8. Same as Fairlearn's ``demographic_parity_ratio``.
    """)


def equalized_odds_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: str = "between_groups",
    sample_weight: Any = None,
    pos_label: Any = 1,
    agg: str = "worst_case",
) -> float:
    """Equalized odds difference: the larger of the TPR gap and the FPR gap.

    ``agg="worst_case"``: ``max(D(TPR), D(FPR))`` with ``D`` the difference of
    :func:`metric_difference`; ``agg="mean"``: ``(D(TPR) + D(FPR)) / 2``. Range [0, 1], ideal 0.
    Same as Fairlearn's ``equalized_odds_difference``. Reference: Hardt, Price & Srebro (2016),
    "Equality of Opportunity in Supervised Learning".
    """
    owner = "equalized_odds_difference"
    _core.check_method(method, owner)
    check_option(agg, "agg", owner=owner, options=AGGS)
    rates = _rates(y_true, y_pred, sensitive_features, sample_weight, pos_label)
    return float(_core.equalized_odds(rates, method, "difference", agg, measure=owner))


def equalized_odds_ratio(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: str = "between_groups",
    sample_weight: Any = None,
    pos_label: Any = 1,
    agg: str = "worst_case",
) -> float:
    """Equalized odds ratio: the smaller of the TPR ratio and the FPR ratio.

    ``agg="worst_case"``: ``min(R(TPR), R(FPR))`` with ``R`` the ratio of :func:`metric_ratio`;
    ``agg="mean"``: their mean. Range [0, 1], ideal 1. Same as Fairlearn's
    ``equalized_odds_ratio``. Reference: Hardt, Price & Srebro (2016).
    """
    owner = "equalized_odds_ratio"
    _core.check_method(method, owner)
    check_option(agg, "agg", owner=owner, options=AGGS)
    rates = _rates(y_true, y_pred, sensitive_features, sample_weight, pos_label)
    return float(_core.equalized_odds(rates, method, "ratio", agg, measure=owner))


equal_opportunity_difference = _derived("equal_opportunity_difference", "tpr", "difference", """
    Equal opportunity difference: the largest gap in true positive rate.

    ``TPR_g = P(y_pred = pos | y_true = pos, group g)``; gap as :func:`metric_difference`.
    Range [0, 1], ideal 0. Same as Fairlearn's ``equal_opportunity_difference``. (AIF360's
    ``equal_opportunity_difference`` is signed, ``TPR_unpriv - TPR_priv``:
    ``privileged_difference(..., metric="tpr")``.) Reference: Hardt, Price & Srebro (2016).
    """)


equal_opportunity_ratio = _derived("equal_opportunity_ratio", "tpr", "ratio", """
    Equal opportunity ratio: the smallest ratio of true positive rates. Range [0, 1], ideal 1.

    Same as Fairlearn's ``equal_opportunity_ratio``.
    """)


predictive_parity_difference = _derived("predictive_parity_difference", "ppv", "difference", """
    Predictive parity difference: the largest gap in precision (PPV).

    ``PPV_g = P(y_true = pos | y_pred = pos, group g)``. Range [0, 1], ideal 0. A group with
    no predicted positives has no PPV (NaN, skipped). Reference: Chouldechova (2017), "Fair
    prediction with disparate impact".
    """)


predictive_parity_ratio = _derived("predictive_parity_ratio", "ppv", "ratio", """
    Predictive parity ratio: the smallest ratio of precisions (PPV). Range [0, 1], ideal 1.
    """)


error_rate_difference = _derived("error_rate_difference", "error_rate", "difference", """
    Error rate difference: the largest gap in ``(FP + FN) / n`` (overall accuracy equality).

    Range [0, 1], ideal 0. Same as Fairlearn's ``zero_one_loss_difference``. Reference: Berk
    et al. (2018), "Fairness in Criminal Justice Risk Assessments" (overall accuracy equality).
    """)


false_negative_rate_difference = _derived("false_negative_rate_difference", "fnr", "difference", """
    Largest gap in false negative rate ``FN / (TP + FN)``. Range [0, 1], ideal 0.

    Equal to :func:`equal_opportunity_difference` (FNR = 1 - TPR). Same as Fairlearn's
    ``false_negative_rate_difference``.
    """)


false_positive_rate_difference = _derived("false_positive_rate_difference", "fpr", "difference", """
    Largest gap in false positive rate ``FP / (TN + FP)`` (predictive equality).

    Range [0, 1], ideal 0. Same as Fairlearn's ``false_positive_rate_difference``. Reference:
    Corbett-Davies et al. (2017), "Algorithmic decision making and the cost of fairness".
    """)


def treatment_equality(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> pd.Series:
    """Treatment equality per group: the ratio of false negatives to false positives, ``FN / FP``.

    Range [0, inf); treatment equality holds when every group has the same ratio. NaN (with a
    warning) for a group without false positives. Reference: Berk et al. (2018), "Fairness in
    Criminal Justice Risk Assessments: The State of the Art".

    Returns
    -------
    Series
        Indexed by group (name: the feature), plus an ``"overall"`` entry last.
    """
    rates = _rates(y_true, y_pred, sensitive_features, sample_weight, pos_label)
    per_group, overall = rates.treatment_equality()
    index = pd.Index([*rates.labels, "overall"], name=rates.name)
    return pd.Series(np.append(per_group, overall), index=index, name="treatment_equality")


def treatment_equality_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: str = "between_groups",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Largest gap in the FN / FP ratio (:func:`treatment_equality`) over the groups.

    ``between_groups``: max - min; ``to_overall``: ``max_g |FN_g/FP_g - FN/FP|``. Range
    [0, inf), ideal 0; unlike the rate gaps it is not bounded by 1.
    """
    owner = "treatment_equality_difference"
    _core.check_method(method, owner)
    rates = _rates(y_true, y_pred, sensitive_features, sample_weight, pos_label)
    return float(_core.treatment_equality_gap(rates, method, measure=owner))


# ---------------------------------------------------------------------------------------------
# AIF360 vocabulary: privileged group vs. everyone else
# ---------------------------------------------------------------------------------------------


def privileged_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged_group: Any,
    metric: str,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """``metric(unprivileged) - metric(privileged)``, AIF360's signed difference.

    The unprivileged rows are all rows outside ``privileged_group``. Range [-1, 1] for rates,
    ideal 0. ``metric="tpr"`` is AIF360's ``equal_opportunity_difference``.

    Parameters
    ----------
    privileged_group : scalar or tuple
        A group of ``sensitive_features`` (compared as strings; for several columns, a tuple
        with one value per column or the joined label ``"Male x White"``).
    metric : str
        A label metric of :data:`assay.metrics.METRICS`.
    """
    _core.check_metric(metric)
    rates = _privileged_rates(y_true, y_pred, sensitive_features, privileged_group,
                              sample_weight, pos_label)
    return float(_core.signed_difference(rates, metric))


def privileged_ratio(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged_group: Any,
    metric: str,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """``metric(unprivileged) / metric(privileged)``, AIF360's ratio. Ideal 1.

    ``inf`` where the privileged value is 0 and the other is not; NaN (with a warning) for 0/0.
    Parameters as :func:`privileged_difference`.
    """
    _core.check_metric(metric)
    rates = _privileged_rates(y_true, y_pred, sensitive_features, privileged_group,
                              sample_weight, pos_label)
    return float(_core.signed_ratio(rates, metric, measure="privileged_ratio"))


def statistical_parity_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged_group: Any,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Statistical parity difference: ``P(y_pred = fav | unpriv) - P(y_pred = fav | priv)``.

    Range [-1, 1], ideal 0; negative when the unprivileged rows are selected less. AIF360's
    ``statistical_parity_difference`` (its "fair" range is [-0.1, 0.1]). ``y_true`` is not
    used. Unprivileged = every row outside ``privileged_group``.
    """
    rates = _privileged_rates(y_true, y_pred, sensitive_features, privileged_group,
                              sample_weight, pos_label)
    return float(_core.signed_difference(rates, "selection_rate"))


def disparate_impact(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged_group: Any,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Disparate impact: ``P(y_pred = fav | unpriv) / P(y_pred = fav | priv)``.

    Range [0, inf), ideal 1; below 0.8 fails the four-fifths rule, and AIF360 reads
    [0.8, 1.25] as fair. ``inf`` if the privileged rows are never selected but others are; NaN
    (with a warning) if nobody is selected. AIF360's ``disparate_impact_ratio``. Reference:
    Feldman et al. (2015), "Certifying and Removing Disparate Impact".
    """
    rates = _privileged_rates(y_true, y_pred, sensitive_features, privileged_group,
                              sample_weight, pos_label)
    return float(_core.signed_ratio(rates, "selection_rate", measure="disparate_impact"))


def disparate_impact_score(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged_group: Any,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """``1 - min(DI, 1/DI)``: disparate impact folded onto [0, 1], whichever side is favoured.

    0 at parity (DI = 1), 1 at total disparity (DI = 0 or inf); DI = 0.8 and DI = 1.25 both
    give 0.2 (the four-fifths rule, read on both sides, is a score <= 0.2). A loss: AIF360's
    ``make_scorer(disparate_impact_ratio, is_ratio=True)`` scores ``min(DI, 1/DI)``, and this
    is 1 minus that.
    """
    di = disparate_impact(y_true, y_pred, sensitive_features=sensitive_features,
                          privileged_group=privileged_group, sample_weight=sample_weight,
                          pos_label=pos_label)
    return float(_core.disparate_impact_score(np.float64(di)))


def average_odds_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged_group: Any,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Average odds difference: ``((FPR_u - FPR_p) + (TPR_u - TPR_p)) / 2``.

    ``u``: unprivileged rows, ``p``: privileged. Range [-1, 1], ideal 0. AIF360's
    ``average_odds_difference``.
    """
    rates = _privileged_rates(y_true, y_pred, sensitive_features, privileged_group,
                              sample_weight, pos_label)
    return float((_core.signed_difference(rates, "fpr") + _core.signed_difference(rates, "tpr")) / 2)


# ---------------------------------------------------------------------------------------------
# Inequality indices (individual and group fairness)
# ---------------------------------------------------------------------------------------------


def generalized_entropy_index(
    y_true: Any,
    y_pred: Any,
    *,
    alpha: float = 2,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Generalized entropy index of the benefits ``b_i = y_pred_i - y_true_i + 1``.

    With ``mu`` the (weighted) mean benefit:

    * ``alpha != 0, 1``: ``1 / (n alpha (alpha - 1)) * sum_i [(b_i / mu)^alpha - 1]``
    * ``alpha = 1`` (Theil index): ``1/n sum_i (b_i / mu) ln(b_i / mu)`` (``0 ln 0 = 0``)
    * ``alpha = 0`` (mean log deviation): ``-1/n sum_i ln(b_i / mu)``, ``inf`` as soon as one
      benefit is 0 (a false negative).

    ``b`` is 0 for a false negative, 1 for a correct prediction, 2 for a false positive, so the
    index is a function of the confusion counts. Range [0, inf), ideal 0 (every individual
    gets the same benefit). Weighted sums replace ``1/n sum_i`` with ``sample_weight``.

    Reference: Speicher et al. (2018), "A Unified Approach to Quantifying Algorithmic
    Unfairness"; AIF360's ``generalized_entropy_index`` / ``generalized_entropy_error``. For
    ``alpha = 0`` AIF360's code also divides by ``mu``; assay follows the paper.
    """
    check_scalar(alpha, "alpha", owner="generalized_entropy_index", kind=numbers.Real)
    return _entropy(y_true, y_pred, float(alpha), sample_weight, pos_label, "generalized_entropy_index")


def theil_index(y_true: Any, y_pred: Any, *, sample_weight: Any = None, pos_label: Any = 1) -> float:
    """Theil index: :func:`generalized_entropy_index` with ``alpha = 1``. Range [0, ln n], ideal 0."""
    return _entropy(y_true, y_pred, 1.0, sample_weight, pos_label, "theil_index")


def _entropy(y_true: Any, y_pred: Any, alpha: float, sample_weight: Any, pos_label: Any,
             measure: str) -> float:
    y_true = check_labels_1d(y_true, name="y_true")
    y_pred = check_labels_1d(y_pred, name="y_pred")
    w = check_sample_weight(sample_weight, allow_all_zero=False)
    check_consistent_length(y_true=y_true, y_pred=y_pred, sample_weight=w)
    check_binary_labels(y_true, y_pred, pos_label)
    benefit = 1 + np.asarray(y_pred == pos_label, dtype=np.int64) - np.asarray(y_true == pos_label, dtype=np.int64)
    weights = np.ones(len(benefit)) if w is None else w
    by_benefit = np.bincount(benefit, weights=weights, minlength=3)
    # [tn, fp, fn, tp] with the same benefit profile: b = 0 -> fn, 1 -> tp, 2 -> fp
    counts = np.array([0.0, by_benefit[2], by_benefit[0], by_benefit[1]])
    value = float(_core.generalized_entropy(counts, alpha))
    if np.isnan(value):
        _core.warn_undefined(_core._UNDEFINED_MEASURE.format(
            measure=measure, where="these rows", reason="zero total weight or every benefit 0"))
    return value


def consistency_score(
    X: Any,
    y_pred: Any,
    *,
    n_neighbors: int = 5,
    include_self: bool = True,
    pos_label: Any = 1,
) -> float:
    """k-NN consistency (Zemel et al., 2013): similar individuals get similar predictions.

    ``1 - 1/n sum_i |yhat_i - mean_{j in kNN(x_i)} yhat_j|`` with ``yhat = (y_pred ==
    pos_label)`` and ``kNN`` the ``n_neighbors`` nearest rows of ``X`` (Euclidean, scikit-learn's
    ``NearestNeighbors``). Range [0, 1], ideal 1.

    ``include_self=True`` (AIF360's convention) counts each row among its own neighbours, as a
    query of the fitted rows does; ``False`` excludes it (the neighbours are the
    ``n_neighbors`` other rows). Rows at equal distance are broken by the search order.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Numeric features (encode categories first), finite.
    y_pred : array-like of shape (n,)
        Binary predicted labels.
    n_neighbors : int, default 5
    include_self : bool, default True
    pos_label : scalar, default 1

    Reference: Zemel, Wu, Swersky, Pitassi & Dwork (2013), "Learning Fair Representations";
    AIF360's ``consistency_score``.
    """
    from sklearn.neighbors import NearestNeighbors

    owner = "consistency_score"
    X_arr = as_array(X, name="X", ndim=2, dtype=np.float64)
    y_pred = check_labels_1d(y_pred, name="y_pred")
    n = check_consistent_length(X=X_arr, y_pred=y_pred)
    check_binary_labels(None, y_pred, pos_label)
    check_bool(include_self, "include_self", owner=owner)
    if not include_self and n < 2:
        raise AssayInputError(_TOO_FEW_ROWS.format(n=n))
    high = n if include_self else n - 1
    check_scalar(n_neighbors, "n_neighbors", owner=owner, kind=(int, np.integer), low=1, high=high)
    yhat = np.asarray(y_pred == pos_label, dtype=np.float64)
    search = NearestNeighbors(n_neighbors=int(n_neighbors)).fit(X_arr)
    indices = search.kneighbors(X_arr if include_self else None, return_distance=False)
    return float(1 - np.abs(yhat - yhat[indices].mean(axis=1)).mean())


# ---------------------------------------------------------------------------------------------
# Calibration within groups
# ---------------------------------------------------------------------------------------------


def calibration_by_group(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any,
    n_bins: int = 15,
    norm: str = "l1",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> pd.Series:
    """Calibration error of each group (and overall), with the formula of :mod:`assay.metrics`.

    ``norm="l1"`` is the ECE ``sum_b (w_b / W) |acc_b - conf_b|`` over ``n_bins`` equal-width
    bins; ``"l2"`` the RMS and ``"max"`` the maximum calibration error (see
    :func:`assay.metrics.expected_calibration_error`). Range [0, 1], ideal 0. Calibration within groups
    (Kleinberg, Mullainathan & Raghavan, 2017; Pleiss et al., 2017) asks each group to be
    calibrated on its own.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels (class indices ``0..k-1`` for ``y_score`` of shape (n, k >= 3)).
    y_score : array-like of shape (n,) or (n, k)
        Probabilities in [0, 1]: of ``pos_label`` for (n,); see :class:`CalibrationStats`.

    Returns
    -------
    Series
        Indexed by group (name: the feature), plus an ``"overall"`` entry last.
    """
    stats, name = _calibration_stats(y_true, y_score, sensitive_features, n_bins, sample_weight, pos_label)
    per_group = binned_calibration_error(stats, norm=norm)
    overall = binned_calibration_error(stats.total(), norm=norm)
    index = pd.Index([*stats.labels, "overall"], name=name)
    return pd.Series(np.append(per_group, overall), index=index, name=f"calibration_error_{norm}")


def calibration_difference(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any,
    method: str = "between_groups",
    n_bins: int = 15,
    norm: str = "l1",
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Largest gap in calibration error (:func:`calibration_by_group`) over the groups.

    ``between_groups``: max - min; ``to_overall``: ``max_g |ECE_g - ECE_all|``. Range [0, 1],
    ideal 0. Note a gap of 0 does not mean calibrated groups: every group may be equally
    miscalibrated; read it with the per-group values.
    """
    _core.check_method(method, "calibration_difference")
    series = calibration_by_group(y_true, y_score, sensitive_features=sensitive_features,
                                  n_bins=n_bins, norm=norm, sample_weight=sample_weight,
                                  pos_label=pos_label)
    values = series.to_numpy()[:-1]
    _core.warn_if_too_few(values, "calibration_difference", str(series.index.name), "calibration_error")
    return float(_core.difference(values, series.to_numpy()[-1], method))


def _calibration_stats(y_true: Any, y_score: Any, sensitive_features: Any, n_bins: int,
                       sample_weight: Any, pos_label: Any) -> tuple[CalibrationStats, str]:
    aligned = align_pandas(y_true=y_true, y_score=y_score, sensitive_features=sensitive_features,
                           sample_weight=sample_weight)
    y_true, y_score = aligned["y_true"], aligned["y_score"]
    sensitive_features, sample_weight = aligned["sensitive_features"], aligned["sample_weight"]
    y_true = check_labels_1d(y_true, name="y_true")
    p = check_prob(y_score, name="y_score")
    w = check_sample_weight(sample_weight, allow_all_zero=False)
    n = check_consistent_length(y_true=y_true, y_score=p, sample_weight=w)
    if p.ndim == 1 or p.shape[1] == 2:
        check_binary_labels(y_true, None, pos_label)
    check_scalar(n_bins, "n_bins", owner="calibration_by_group", kind=(int, np.integer), low=1)
    cells = make_groups(sensitive_features, False, n_samples=n).cells
    stats = CalibrationStats(cells.label_strings, n_bins=int(n_bins), pos_label=pos_label)
    if p.ndim == 2 and p.shape[1] > 2:
        y_true = check_class_indices(y_true, p.shape[1], name="y_true", prob_name="y_score")
    stats.update(y_true, p, cells.codes, w)
    return stats, cells.name


# ---------------------------------------------------------------------------------------------
# On the data alone
# ---------------------------------------------------------------------------------------------


def label_base_rates(
    y_true: Any,
    *,
    sensitive_features: Any,
    sample_weight: Any = None,
    pos_label: Any = 1,
    intersections: bool = True,
    min_group_size: int = 30,
) -> GroupedMetrics:
    """Base rate ``P(y_true = pos | group)`` of the labels, per group and intersection.

    Before any model: differences here are in the data (or in how it was labelled), and a model
    trained on it will tend to reproduce them. The result is a :class:`GroupedMetrics` with the
    metrics ``base_rate`` and ``count``; its ``ratio()`` is the disparate impact of the labels
    across groups (min / max) and ``difference()`` the largest gap.
    """
    y_true = check_labels_1d(y_true, name="y_true")
    return evaluate_groups(y_true, y_true, sensitive_features=sensitive_features,
                           metrics=("base_rate", "count"), intersections=intersections,
                           min_group_size=min_group_size, sample_weight=sample_weight,
                           pos_label=pos_label)


def label_disparate_impact(
    y_true: Any,
    *,
    sensitive_features: Any,
    privileged_group: Any,
    sample_weight: Any = None,
    pos_label: Any = 1,
) -> float:
    """Disparate impact of the labels: ``P(y_true = fav | unpriv) / P(y_true = fav | priv)``.

    AIF360's ``BinaryLabelDatasetMetric.disparate_impact`` (the data before a model). Range
    [0, inf), ideal 1. As :func:`disparate_impact` with the labels as the decisions.
    """
    rates = _privileged_rates(y_true, None, sensitive_features, privileged_group,
                              sample_weight, pos_label)
    return float(_core.signed_ratio(rates, "base_rate", measure="label_disparate_impact"))
