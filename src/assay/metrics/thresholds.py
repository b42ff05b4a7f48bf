"""Threshold sweeps: every label metric and fairness gap as a function of the decision threshold.

A score becomes a decision with a threshold ``t``: predict positive when ``score >= t``.
:func:`threshold_sweep` computes the confusion counts of every group (and of all rows) at every
threshold at once, then applies the formulas of :mod:`assay.metrics.classification` to them, so
that each value equals what :func:`~assay.metrics.evaluate_groups` gives for the labels
``score >= t``.

:func:`best_threshold` picks the threshold that optimises an objective, optionally under
constraints; :func:`select_threshold` picks it on validation data and reports the test metrics
at that threshold, once.

The code lives in three modules, each importing only the ones before it:
:mod:`~assay.metrics.threshold_results` (the results and :data:`GAPS`),
:mod:`~assay.metrics.threshold_counts` (:func:`threshold_sweep`, with how the counts are
computed: one histogram per group, cumulated over the sorted thresholds, ``O(n log T)``) and
this module (choosing a threshold); every name stays importable from here.

Fairness gaps per threshold and feature (over the groups of that feature or intersection, NaN
values skipped, small groups included):

* ``disparate_impact``: smallest / largest selection rate (1 is parity; NaN when every group's
  selection rate is 0, e.g. above every score);
* ``one_minus_di`` (alias ``"1 - DI"``): ``1 - disparate_impact`` (0 is parity);
* ``demographic_parity_difference``: largest - smallest selection rate;
* ``tpr_difference`` and ``fpr_difference``: largest - smallest TPR, FPR;
* ``equalized_odds_difference``: the larger of ``tpr_difference`` and ``fpr_difference``.
"""

from __future__ import annotations

import contextlib
import numbers
import operator
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import check_bool, describe
from .classification import METRICS
from .threshold_counts import MAX_THRESHOLDS  # noqa: F401 - re-exported
from .threshold_counts import DEFAULT_METRICS, _check_metrics, threshold_sweep
from .threshold_results import (
    _FEATURE_NEEDED,
    _NO_FEATURES,
    _UNKNOWN_NAME,
    GAP_ALIASES,
    GAPS,
    BestThreshold,
    ThresholdMetrics,
    ThresholdSelection,
    ThresholdSweep,
)

__all__ = [
    "GAPS",
    "BestThreshold",
    "ThresholdMetrics",
    "ThresholdSelection",
    "ThresholdSweep",
    "best_threshold",
    "select_threshold",
    "threshold_sweep",
]

_TIE_ATOL = 1e-12
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}

_BAD_CONSTRAINT = (
    "'constraint' must be None, a tuple (name, op, value) with op one of {ops} and a finite number "
    "value, or a list of such tuples. Got {received} instead."
)
_NO_DIRECTION = (
    "'objective' {objective!r} has no direction (higher is not better or worse); pass "
    "maximize=True or maximize=False."
)
_INFEASIBLE = (
    "'constraint' {constraint} is met at none of the {n} thresholds where '{objective}' is defined "
    "({n_defined}); loosen the constraint or sweep other thresholds."
)
_ALL_UNDEFINED = "'objective' {objective!r} is undefined (NaN) at every threshold of the sweep."


# ---------------------------------------------------------------------------------------------
# Choosing a threshold
# ---------------------------------------------------------------------------------------------


def _check_constraint(constraint: Any) -> tuple[tuple[str, str, float], ...] | None:
    """``None``, or the constraints as a tuple of ``(name, op, value)`` tuples."""
    if constraint is None:
        return None

    def valid(item: Any) -> bool:
        return (
            isinstance(item, (tuple, list)) and len(item) == 3 and isinstance(item[0], str)
            and isinstance(item[1], str) and item[1] in _OPS
            and isinstance(item[2], numbers.Real) and not isinstance(item[2], (bool, np.bool_))
            and bool(np.isfinite(item[2]))
        )

    if valid(constraint) and isinstance(constraint, tuple):
        items = [constraint]
    elif isinstance(constraint, (list, tuple)) and constraint and all(valid(c) for c in constraint):
        items = list(constraint)
    else:
        shown = repr(constraint) if isinstance(constraint, (tuple, list, str)) else describe(constraint)
        raise AssayInputError(_BAD_CONSTRAINT.format(ops=list(_OPS), received=shown))
    return tuple((str(name), str(op), float(value)) for name, op, value in items)


def _criterion(sweep: ThresholdSweep, name: str, feature: str | None, argument: str) -> list[np.ndarray]:
    """The values of an overall metric, or of a gap for ``feature`` (or for every feature), per threshold."""
    if isinstance(name, str) and name in sweep.metrics:
        return [sweep.overall_table[name].to_numpy(np.float64)]
    if isinstance(name, str) and GAP_ALIASES.get(name, name) in GAPS:
        gap = GAP_ALIASES.get(name, name)
        if not sweep.features:
            raise AssayInputError(_NO_FEATURES.format(argument=argument, received=name))
        if feature is not None:
            return [sweep.gap(gap, sweep._check_feature(feature)).to_numpy()]
        return [sweep.gap(gap, f).to_numpy() for f in sweep.features]
    valid = list(sweep.metrics) + list(GAPS) + list(GAP_ALIASES)
    raise AssayInputError(_UNKNOWN_NAME.format(argument=argument, valid=valid, received=name))


def best_threshold(
    sweep: ThresholdSweep,
    objective: str = "balanced_accuracy",
    constraint: Any = None,
    *,
    feature: str | None = None,
    maximize: bool | None = None,
) -> BestThreshold:
    """The threshold of ``sweep`` that optimises ``objective``, subject to ``constraint``.

    Parameters
    ----------
    sweep : ThresholdSweep
    objective : str, default "balanced_accuracy"
        An overall metric of the sweep, or a gap of :data:`GAPS` (then ``feature`` is needed
        unless the sweep has a single feature).
    constraint : tuple or list of tuples, optional
        ``(name, op, value)`` with ``op`` one of ``">=", "<=", ">", "<"``, e.g.
        ``("disparate_impact", ">=", 0.8)`` or ``("tpr", ">=", 0.7)``. A metric name constrains
        the overall value; a gap name constrains the gap of ``feature``, or, with
        ``feature=None``, of **every** feature and intersection of the sweep. All constraints
        must hold; a NaN value fails its constraint.
    feature : str, optional
        The feature (or intersection) that gap objectives and constraints refer to.
    maximize : bool, optional
        Default: from the metric's ``higher_is_better`` (needed for metrics without a direction,
        such as ``selection_rate``).

    Returns
    -------
    BestThreshold

    Notes
    -----
    Thresholds where the objective is NaN are skipped. **Ties**: thresholds whose objective is
    within 1e-12 of the best are tied, and the **lowest** of them is chosen (the one that
    selects the most rows), so the choice is deterministic.

    Raises
    ------
    AssayInputError
        If no threshold meets the constraints, or the objective is NaN everywhere.
    """
    owner = "best_threshold"
    if not isinstance(sweep, ThresholdSweep):
        raise AssayInputError(f"'sweep' must be a ThresholdSweep. Got {describe(sweep)} instead.")
    if feature is not None:
        sweep._check_feature(feature)
    values_list = _criterion(sweep, objective, feature, "objective")
    if len(values_list) != 1:
        raise AssayInputError(_FEATURE_NEEDED.format(valid=list(sweep.features)))
    values = values_list[0]
    if maximize is None:
        direction = sweep.higher_is_better.get(GAP_ALIASES.get(objective, objective))
        if direction is None:
            raise AssayInputError(_NO_DIRECTION.format(objective=objective))
        maximize = bool(direction)
    else:
        check_bool(maximize, "maximize", owner=owner)
    constraints = _check_constraint(constraint)

    defined = ~np.isnan(values)
    if not defined.any():
        raise AssayInputError(_ALL_UNDEFINED.format(objective=objective))
    feasible = defined.copy()
    for name, op, bound in constraints or ():
        for series in _criterion(sweep, name, feature, "constraint"):
            with np.errstate(invalid="ignore"):
                feasible &= _OPS[op](series, bound) & ~np.isnan(series)
    if not feasible.any():
        shown = constraints[0] if len(constraints) == 1 else list(constraints)
        raise AssayInputError(_INFEASIBLE.format(constraint=shown, n=sweep.n_thresholds, objective=objective,
                                                 n_defined=int(defined.sum())))
    score = np.where(feasible, values if maximize else -values, -np.inf)
    best = score.max()
    j = int(np.flatnonzero(feasible & (score >= best - _TIE_ATOL))[0])
    at = sweep.at(float(sweep.thresholds[j]))
    return BestThreshold(
        threshold=at.threshold,
        objective=objective,
        value=float(values[j]),
        maximize=bool(maximize),
        constraint=constraints,
        feature=feature,
        n_feasible=int(feasible.sum()),
        at_threshold=at,
    )


@contextlib.contextmanager
def _renamed_arguments(split: str) -> Iterator[None]:
    """Re-raise input errors of :func:`threshold_sweep` with :func:`select_threshold`'s argument
    names (``y_true`` -> ``y_val``, ``y_score`` -> ``score_val``, ...)."""
    try:
        yield
    except AssayInputError as exc:
        message = str(exc)
        for inner, outer in (("y_true", "y"), ("y_score", "score"), ("sample_weight", "sample_weight"),
                             ("sensitive_features", "sensitive_features")):
            message = re.sub(rf"\b{inner}\b", f"{outer}_{split}", message)
        raise type(exc)(message) from None


def select_threshold(
    y_val: Any,
    score_val: Any,
    y_test: Any,
    score_test: Any,
    *,
    objective: str = "balanced_accuracy",
    constraint: Any = None,
    sensitive_features_val: Any = None,
    sensitive_features_test: Any = None,
    feature: str | None = None,
    maximize: bool | None = None,
    thresholds: Any = None,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    sample_weight_val: Any = None,
    sample_weight_test: Any = None,
    pos_label: Any = 1,
    intersections: bool = True,
    min_group_size: int = 30,
    scores_are_probabilities: bool = False,
) -> ThresholdSelection:
    """Choose a threshold on validation data; report the test metrics at it, once.

    The threshold is :func:`best_threshold` of the validation sweep (``objective``,
    ``constraint``, ``feature``, ``maximize`` as there; ``thresholds`` are taken from the
    validation scores). The test data are evaluated at that single threshold and never used to
    choose it: the test numbers are the ones to report.

    The remaining parameters are those of :func:`threshold_sweep`, for each split
    (``*_val`` and ``*_test``). ``metrics`` is extended with the objective when it is a metric.

    Returns
    -------
    ThresholdSelection
    """
    names = list(_check_metrics(metrics))
    if isinstance(objective, str) and objective in METRICS and METRICS[objective].needs == "labels" and (
        objective not in names
    ):
        names.append(objective)
    common = {"metrics": names, "pos_label": pos_label, "intersections": intersections,
              "min_group_size": min_group_size, "scores_are_probabilities": scores_are_probabilities}
    with _renamed_arguments("val"):
        validation_sweep = threshold_sweep(y_val, score_val, sensitive_features=sensitive_features_val,
                                           thresholds=thresholds, sample_weight=sample_weight_val, **common)
        chosen = best_threshold(validation_sweep, objective, constraint, feature=feature, maximize=maximize)
    with _renamed_arguments("test"):
        test_sweep = threshold_sweep(y_test, score_test, sensitive_features=sensitive_features_test,
                                     thresholds=[chosen.threshold], sample_weight=sample_weight_test, **common)
    return ThresholdSelection(
        threshold=chosen.threshold,
        objective=objective,
        constraint=chosen.constraint,
        validation=chosen,
        test=test_sweep.at(chosen.threshold),
    )
