"""Is a gap real or noise? Tests and intervals for differences between groups.

* :func:`two_proportion_test` -- two proportions from their counts: difference, pooled z test
  (two-sided p-value) and a Newcombe (default) or Wald interval of the difference.
* :func:`gap_test` -- the same for a rate (selection rate, TPR, ...) of two groups of a
  sensitive feature, plus Pearson's chi-square test of equal rates across all its groups.
* :func:`disparate_impact_null` -- disparate impact (or the demographic parity ratio) with a
  bootstrap interval and a permutation null: what DI would look like if group membership did
  not matter. "DI 1.1 with CI [1.08, 1.12]" and "DI 1.1 with CI [0.9, 1.3]" read differently.

The tests count rows (they take no ``sample_weight``): a weighted proportion's variance depends
on the spread of the weights, which these count-based tests do not model.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..core.errors import AssayInputError
from ..core.result import Result
from ..core.validation import (NOT_GIVEN, SEED_NOT_GIVEN, check_option, check_random_state, check_scalar,
                               renamed_parameter, renamed_seed)
from ..metrics.intervals import wilson_interval
from . import _core
from ._core import Rates

__all__ = [
    "DisparateImpactNull",
    "GapTest",
    "TwoProportionTest",
    "disparate_impact_null",
    "gap_test",
    "two_proportion_test",
]

CI_METHODS = ("newcombe", "wald")

#: Rates that are proportions of rows: metric -> (numerator cells, denominator cells), cells
#: indexing ``[tn, fp, fn, tp]``. ``successes / trials`` equals ``METRICS[metric]`` (tested).
PROPORTIONS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "selection_rate": ((1, 3), (0, 1, 2, 3)),
    "base_rate": ((2, 3), (0, 1, 2, 3)),
    "accuracy": ((0, 3), (0, 1, 2, 3)),
    "error_rate": ((1, 2), (0, 1, 2, 3)),
    "tpr": ((3,), (2, 3)),
    "fnr": ((2,), (2, 3)),
    "tnr": ((0,), (0, 1)),
    "fpr": ((1,), (0, 1)),
    "ppv": ((3,), (1, 3)),
    "fdr": ((1,), (1, 3)),
    "npv": ((0,), (0, 2)),
}

_BAD_COUNT = "'{name}' must be a number in [0, {high}]. Got {received!r} instead."
_BAD_TRIALS = "'{name}' must be a positive number. Got {received!r} instead."
_BAD_GROUPS = (
    "'groups' must be None or two distinct groups of '{feature}' among {valid}. Got {received!r} instead."
)
_UNDEFINED_TEST = "The {test} is undefined ({reason}); its statistic and p-value are NaN."
_DROPPED_GROUPS = (
    "The chi-square test of '{metric}' leaves out group(s) {groups}: no rows in its denominator."
)
_NULL_UNDEFINED = "'{statistic}' is undefined ({reason}); the observed value and p-value are NaN."


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TwoProportionTest(Result):
    """Two proportions, their difference ``a - b``, a z test and an interval of the difference.

    Attributes
    ----------
    successes_a, n_a, successes_b, n_b : float
        The counts.
    proportion_a, proportion_b : float
        ``successes / n``.
    difference : float
        ``proportion_a - proportion_b``.
    z : float
        Pooled two-proportion z statistic ``difference / sqrt(p (1 - p) (1/n_a + 1/n_b))``,
        ``p`` the pooled proportion; NaN when ``p`` is 0 or 1.
    p_value : float
        Two-sided, ``2 * (1 - Phi(|z|))``; equals Pearson's chi-square test of the 2 x 2 table
        without continuity correction (``chi2 = z**2``).
    ci_lower, ci_upper : float
        Interval of the difference at ``confidence``.
    confidence : float
    ci_method : {"newcombe", "wald"}
    """

    successes_a: float
    n_a: float
    successes_b: float
    n_b: float
    proportion_a: float
    proportion_b: float
    difference: float
    z: float
    p_value: float
    ci_lower: float
    ci_upper: float
    confidence: float
    ci_method: str



@dataclasses.dataclass(frozen=True, eq=False)
class GapTest(Result):
    """A rate of two groups compared (z test, interval), and of all groups (chi-square).

    Attributes
    ----------
    metric, feature : str
        The rate and the sensitive feature (or intersection) tested.
    group_a, group_b : str
        The groups compared; ``difference = rate_a - rate_b``.
    rate_a, rate_b, n_a, n_b : float
        Rates and their denominators (rows).
    difference, z, p_value, ci_lower, ci_upper : float
        As :class:`TwoProportionTest`.
    confidence : float
    ci_method : str
    chi2, chi2_dof, chi2_p_value : float
        Pearson's chi-square test that every group (with a non-empty denominator) has the same
        rate: the ``groups x {success, failure}`` table, no continuity correction.
    by_group : DataFrame
        Per group: ``successes``, ``trials`` and ``rate``.
    """

    metric: str
    feature: str
    group_a: str
    group_b: str
    rate_a: float
    rate_b: float
    n_a: float
    n_b: float
    difference: float
    z: float
    p_value: float
    ci_lower: float
    ci_upper: float
    confidence: float
    ci_method: str
    chi2: float
    chi2_dof: int
    chi2_p_value: float
    by_group: pd.DataFrame



@dataclasses.dataclass(frozen=True, eq=False)
class DisparateImpactNull(Result):
    """Disparate impact with a bootstrap interval and a permutation null distribution.

    Attributes
    ----------
    statistic : {"disparate_impact", "demographic_parity_ratio"}
        ``SR(others) / SR(privileged)`` when a privileged group is given; otherwise
        ``min_g SR_g / max_g SR_g`` over all groups.
    feature : str
    privileged_group : str or None
    observed : float
    ci_lower, ci_upper : float
        Bootstrap percentile interval (rows resampled with replacement within each group).
    null_lower, null_median, null_upper : float
        Quantiles ``(1 - confidence) / 2``, 0.5 and ``(1 + confidence) / 2`` of the statistic
        when group labels are permuted (no association between group and outcome).
    p_value : float
        Permutation p-value ``(1 + #{null as or more extreme}) / (1 + n_resamples)``. Two-sided
        on ``|log DI|`` for disparate impact; one-sided (small ratios) for the parity ratio.
    alternative : {"two-sided", "less"}
    confidence : float
    n_resamples : int
    by_group : DataFrame
        Per group: ``count``, ``favorable`` and ``selection_rate``.
    """

    statistic: str
    feature: str
    privileged_group: str | None
    observed: float
    ci_lower: float
    ci_upper: float
    null_lower: float
    null_median: float
    null_upper: float
    p_value: float
    alternative: str
    confidence: float
    n_resamples: int
    by_group: pd.DataFrame



# ---------------------------------------------------------------------------------------------
# Two proportions
# ---------------------------------------------------------------------------------------------


def _two_proportion(x_a: float, n_a: float, x_b: float, n_b: float, confidence: float,
                    ci_method: str, *, warn: bool = True) -> dict[str, float]:
    p_a, p_b = x_a / n_a, x_b / n_b
    diff = p_a - p_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se0 > 0:
        z = diff / se0
        p_value = float(2 * sps.norm.sf(abs(z)))
    else:
        z = p_value = math.nan
        if warn:
            _core.warn_undefined(_UNDEFINED_TEST.format(
                test="two-proportion z test", reason=f"the pooled proportion is {pooled:g}"))
    zc = float(sps.norm.ppf((1 + confidence) / 2))
    if ci_method == "wald":
        se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
        lower, upper = diff - zc * se, diff + zc * se
    else:
        (l_a, l_b), (u_a, u_b) = wilson_interval([x_a, x_b], [n_a, n_b], confidence_level=confidence)
        lower = diff - math.sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2)
        upper = diff + math.sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2)
    return {"proportion_a": p_a, "proportion_b": p_b, "difference": diff, "z": z,
            "p_value": p_value, "ci_lower": lower, "ci_upper": upper}


def _check_count(value: Any, name: str, high: float | None) -> float:
    ok = isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_))
    ok = ok and math.isfinite(float(value))
    if high is None:
        if not ok or float(value) <= 0:
            raise AssayInputError(_BAD_TRIALS.format(name=name, received=value))
    elif not ok or not 0 <= float(value) <= high:
        raise AssayInputError(_BAD_COUNT.format(name=name, high=f"{high:g}", received=value))
    return float(value)


def two_proportion_test(
    successes_a: float,
    n_a: float,
    successes_b: float,
    n_b: float,
    *,
    confidence_level: float = 0.95,
    ci_method: str = "newcombe",
    confidence: Any = NOT_GIVEN,
) -> TwoProportionTest:
    """Compare two proportions ``successes_a / n_a`` and ``successes_b / n_b``.

    * z test: pooled standard error, two-sided p-value (identical to Pearson's chi-square on
      the 2 x 2 table without continuity correction; ``z**2 = chi2``).
    * interval of the difference ``p_a - p_b``: ``"newcombe"`` (default; Newcombe 1998, method
      10: hybrid of the two Wilson score intervals, good coverage even near 0 or 1 and with
      small groups) or ``"wald"`` (``d +- z sqrt(p_a q_a / n_a + p_b q_b / n_b)``, poor with
      small counts or extreme rates).

    Parameters
    ----------
    successes_a, successes_b : float
        Counts in ``[0, n]``.
    n_a, n_b : float
        Group sizes, positive.
    confidence_level : float, default 0.95
        ``confidence=`` is a deprecated alias.
    ci_method : {"newcombe", "wald"}

    Returns
    -------
    TwoProportionTest

    References: Newcombe, R. G. (1998), "Interval estimation for the difference between
    independent proportions: comparison of eleven methods", Statistics in Medicine 17, 873-890.
    """
    owner = "two_proportion_test"
    confidence = _core.check_confidence(renamed_parameter(confidence_level, confidence, name="confidence_level",
                                                          old="confidence", owner=owner, default=0.95), owner)
    check_option(ci_method, "ci_method", owner=owner, options=CI_METHODS)
    n_a = _check_count(n_a, "n_a", None)
    n_b = _check_count(n_b, "n_b", None)
    x_a = _check_count(successes_a, "successes_a", n_a)
    x_b = _check_count(successes_b, "successes_b", n_b)
    values = _two_proportion(x_a, n_a, x_b, n_b, confidence, ci_method)
    return TwoProportionTest(successes_a=x_a, n_a=n_a, successes_b=x_b, n_b=n_b, **values,
                             confidence=confidence, ci_method=ci_method)


def _chi_square(successes: np.ndarray, trials: np.ndarray) -> tuple[float, int, float]:
    """Pearson's chi-square of the ``groups x {success, failure}`` table (no correction)."""
    observed = np.column_stack([successes, trials - successes]).astype(np.float64)
    dof = len(observed) - 1
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    if dof < 1 or (expected == 0).any():
        return math.nan, max(dof, 0), math.nan
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    return chi2, dof, float(sps.chi2.sf(chi2, dof))


def gap_test(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    metric: str = "selection_rate",
    groups: tuple[Any, Any] | None = None,
    confidence_level: float = 0.95,
    ci_method: str = "newcombe",
    pos_label: Any = 1,
    confidence: Any = NOT_GIVEN,
) -> GapTest:
    """Test whether a rate differs between groups: two groups (z, interval) and all (chi-square).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Binary labels.
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        Several columns are read as their intersection.
    metric : str, default "selection_rate"
        A rate that is a proportion of rows: one of :data:`PROPORTIONS` (``selection_rate``,
        ``base_rate``, ``accuracy``, ``error_rate``, ``tpr``, ``fnr``, ``tnr``, ``fpr``,
        ``ppv``, ``fdr``, ``npv``). Its denominator (e.g. the positives, for ``tpr``) is ``n``.
    groups : (a, b), optional
        The two groups to compare (``difference = rate_a - rate_b``). By default the groups
        with the highest (a) and the lowest (b) rate, so the difference is the largest gap. Note
        that picking the extreme pair after looking makes its p-value optimistic when there are
        many groups; the chi-square test over all groups does not have that problem.
    confidence_level : float, default 0.95
        ``confidence=`` is a deprecated alias.
    ci_method : {"newcombe", "wald"}
    pos_label : scalar, default 1

    Returns
    -------
    GapTest
    """
    owner = "gap_test"
    metric = _core.check_metric(metric, tuple(PROPORTIONS))
    confidence = _core.check_confidence(renamed_parameter(confidence_level, confidence, name="confidence_level",
                                                          old="confidence", owner=owner, default=0.95), owner)
    check_option(ci_method, "ci_method", owner=owner, options=CI_METHODS)
    prepared = _core.prepare(y_true, y_pred, sensitive_features, None, pos_label)
    cells = prepared.groups.cells
    counts = _core.counts_of(prepared.cell_stats())
    numerator, denominator = PROPORTIONS[metric]
    successes = counts[:, list(numerator)].sum(axis=1)
    trials = counts[:, list(denominator)].sum(axis=1)
    labels = cells.label_strings
    rates = Rates(counts, labels, pos_label, name=cells.name).group(metric)
    by_group = pd.DataFrame({"successes": successes, "trials": trials, "rate": rates},
                            index=pd.Index(labels, name=cells.name))

    if groups is None:
        if np.isnan(rates).all():
            raise AssayInputError(f"'{metric}' is undefined for every group of '{cells.name}'.")
        a, b = int(np.nanargmax(rates)), int(np.nanargmin(rates))
        if a == b:  # all defined rates equal: compare the first two defined groups
            defined = np.flatnonzero(~np.isnan(rates))
            a, b = (int(defined[0]), int(defined[1])) if len(defined) > 1 else (a, b)
    else:
        try:
            if isinstance(groups, (str, bytes)):
                raise TypeError("a string is not a pair of groups")
            first, second = groups
            a = _core.privileged_index(cells, first)
            b = _core.privileged_index(cells, second)
        except (TypeError, ValueError, AssayInputError):
            a = b = -1
        if a < 0 or a == b:
            raise AssayInputError(_BAD_GROUPS.format(feature=cells.name, valid=list(labels),
                                                     received=groups)) from None
    if trials[a] == 0 or trials[b] == 0 or a == b:
        values = dict.fromkeys(("difference", "z", "p_value", "ci_lower", "ci_upper"), math.nan)
        _core.warn_undefined(_UNDEFINED_TEST.format(
            test=f"two-proportion test of '{metric}'",
            reason=f"groups {labels[a]!r} and {labels[b]!r} need rows in the denominator of '{metric}'"))
    else:
        values = _two_proportion(successes[a], trials[a], successes[b], trials[b], confidence, ci_method)
        del values["proportion_a"], values["proportion_b"]

    kept = trials > 0
    if not kept.all():
        names = ", ".join(repr(labels[i]) for i in np.flatnonzero(~kept))
        _core.warn_undefined(_DROPPED_GROUPS.format(metric=metric, groups=names))
    chi2, dof, chi2_p = _chi_square(successes[kept], trials[kept])
    if math.isnan(chi2):
        _core.warn_undefined(_UNDEFINED_TEST.format(
            test=f"chi-square test of '{metric}'",
            reason="fewer than two groups, or every row a success (or a failure)"))
    return GapTest(metric=metric, feature=cells.name, group_a=labels[a], group_b=labels[b],
                   rate_a=float(rates[a]), rate_b=float(rates[b]), n_a=float(trials[a]),
                   n_b=float(trials[b]), **{k: float(v) for k, v in values.items()},
                   confidence=confidence, ci_method=ci_method, chi2=chi2, chi2_dof=dof,
                   chi2_p_value=chi2_p, by_group=by_group)


# ---------------------------------------------------------------------------------------------
# Disparate impact: bootstrap interval and permutation null
# ---------------------------------------------------------------------------------------------


def _selection_counts(favorable: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``(..., G)`` favourable counts and sizes -> ``(..., G, 4)`` counts ``[tn, fp, 0, 0]``."""
    favorable = np.asarray(favorable, dtype=np.float64)
    counts = np.zeros(favorable.shape + (4,))
    counts[..., 1] = favorable
    counts[..., 0] = np.asarray(sizes, dtype=np.float64) - favorable
    return counts


def _statistic(counts: np.ndarray, labels: tuple[str, ...], pos_label: Any, privileged: bool,
               quiet: bool, name: str) -> np.ndarray:
    rates = Rates(counts, labels, pos_label, name=name, quiet=quiet)
    if privileged:
        return _core.signed_ratio(rates, "selection_rate", measure="disparate_impact")
    return _core.ratio(rates.group("selection_rate"), rates.overall("selection_rate"), "between_groups")


def disparate_impact_null(
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged_group: Any = None,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    random_state: Any = None,
    pos_label: Any = 1,
    seed: Any = SEED_NOT_GIVEN,
    confidence: Any = NOT_GIVEN,
) -> DisparateImpactNull:
    """Disparate impact with a bootstrap interval and a permutation null, to tell a gap from noise.

    * Statistic: with ``privileged_group``, AIF360's disparate impact ``SR(others) /
      SR(privileged)``; without, the demographic parity ratio ``min_g SR_g / max_g SR_g`` over
      all groups. ``SR`` is the share of ``y_pred == pos_label``.
    * Interval: percentile bootstrap, rows resampled with replacement within each group (the
      groups keep their sizes), drawn as binomial counts of favourable outcomes per group by
      :mod:`assay.metrics.bootstrap` -- the stratified row bootstrap exactly, without a loop.
    * Null: the group labels are permuted over the rows. Then the favourable outcomes fall into
      the groups as a multivariate hypergeometric draw (``K`` favourable rows among groups of
      sizes ``n_g``), drawn directly -- no loop over rows. The p-value is two-sided on
      ``|log DI|`` for disparate impact, one-sided (a ratio this small or smaller) for the
      parity ratio, and never 0: ``(1 + #extreme) / (1 + n_resamples)``.

    Pass the labels as ``y_pred`` for the disparate impact of the data alone.

    Parameters
    ----------
    y_pred : array-like of shape (n,)
        Binary decisions (or labels).
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        Several columns are read as their intersection.
    privileged_group : scalar or tuple, optional
        See :func:`~assay.fairness.disparate_impact`.
    n_resamples : int, default 1000
        Bootstrap resamples and permutations (each).
    confidence_level : float, default 0.95
        ``confidence=`` is a deprecated alias.
    random_state : None, int or numpy Generator
        ``seed=`` is a deprecated alias.
    pos_label : scalar, default 1

    Returns
    -------
    DisparateImpactNull
    """
    owner = "disparate_impact_null"
    random_state = renamed_seed(random_state, seed, owner=owner, default=None)
    check_scalar(n_resamples, "n_resamples", owner=owner, kind=(int, np.integer), low=1)
    confidence = _core.check_confidence(renamed_parameter(confidence_level, confidence, name="confidence_level",
                                                          old="confidence", owner=owner, default=0.95), owner)
    rng = check_random_state(random_state, name="random_state")
    prepared = _core.prepare(None, y_pred, sensitive_features, None, pos_label)
    cells = prepared.groups.cells
    favorable = prepared.predicted
    if privileged_group is None:
        codes, labels = cells.codes, cells.label_strings
        statistic, alternative, privileged = "demographic_parity_ratio", "less", None
    else:
        index = _core.privileged_index(cells, privileged_group)
        codes = (cells.codes != index).astype(np.int64)
        labels = _core.privileged_labels(cells.label_strings, index)
        statistic, alternative, privileged = "disparate_impact", "two-sided", labels[0]
    n_groups = len(labels)
    sizes = np.bincount(codes, minlength=n_groups)
    k = np.bincount(codes, weights=favorable, minlength=n_groups).round().astype(np.int64)
    is_di = privileged is not None

    observed = float(_statistic(_selection_counts(k, sizes), labels, pos_label, is_di, False, cells.name))

    # Bootstrap: rows resampled within each group (the groups keep their sizes).
    rows = _core.cell_rows(codes, np.zeros(len(codes), dtype=bool), favorable, n_groups)
    boot = _core.resample_counts(rows, None, int(n_resamples), rng)
    replicates = _statistic(boot, labels, pos_label, is_di, True, cells.name)
    ci_lower, ci_upper = _core.percentile_interval(replicates, confidence)

    # Permutation null: favourable rows spread over the groups at random.
    drawn = rng.multivariate_hypergeometric(sizes, int(k.sum()), size=int(n_resamples))
    null = _statistic(_selection_counts(drawn, sizes), labels, pos_label, is_di, True, cells.name)
    tail = (1 - confidence) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        if np.isnan(observed):
            p_value = math.nan
            _core.warn_undefined(_NULL_UNDEFINED.format(statistic=statistic,
                                                        reason="no favourable outcome in any group"))
        elif is_di:
            extreme = np.abs(np.log(null)) >= abs(math.log(observed)) - 1e-12 if observed > 0 else \
                np.abs(np.log(null)) == np.inf
            p_value = (1 + int(np.count_nonzero(extreme))) / (1 + int(n_resamples))
        else:
            p_value = (1 + int(np.count_nonzero(null <= observed + 1e-12))) / (1 + int(n_resamples))
    finite_null = null[~np.isnan(null)]
    if finite_null.size:
        null_lower, null_median, null_upper = (float(v) for v in np.quantile(finite_null, [tail, 0.5, 1 - tail]))
    else:
        null_lower = null_median = null_upper = math.nan

    rate = Rates(_selection_counts(k, sizes), labels, pos_label, name=cells.name).group("selection_rate")
    by_group = pd.DataFrame({"count": sizes, "favorable": k, "selection_rate": rate},
                            index=pd.Index(labels, name=cells.name))
    return DisparateImpactNull(
        statistic=statistic, feature=cells.name, privileged_group=privileged, observed=observed,
        ci_lower=float(ci_lower), ci_upper=float(ci_upper), null_lower=null_lower,
        null_median=null_median, null_upper=null_upper, p_value=float(p_value),
        alternative=alternative, confidence=confidence, n_resamples=int(n_resamples),
        by_group=by_group,
    )
