"""One call, every fairness measure, per feature and intersection, with intervals and verdicts.

:func:`fairness_report` computes the confusion counts of the finest cells (the intersection of
every sensitive feature) once, sums them into each feature and intersection, and evaluates the
measures of :mod:`assay.fairness.measures` on them; with ``n_boot`` the same code runs on
bootstrap resamples of the cell counts (drawn by :mod:`assay.metrics.bootstrap`) for
percentile intervals. The result is a
:class:`FairnessReport` whose table has one row per ``(feature, measure)``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import AssayInputError, outside_stacklevel
from ..core.result import Result
from ..core.validation import (NOT_GIVEN, SEED_NOT_GIVEN, align_pandas, check_bool, check_random_state, check_scalar, describe,
                               renamed_parameter, renamed_seed)
from ..core.errors import UndefinedMetricWarning
from ..metrics import GroupedStats
from ..metrics.bootstrap import absolute_interval, ratio_interval
from ..metrics.grouped import Grouping
from . import _core
from ._core import Rates

__all__ = ["FairnessReport", "fairness_report"]

_BAD_PRIVILEGED = (
    "'privileged_groups' must be None or a mapping of sensitive feature -> privileged group, "
    "with features among {valid}. Got {received} instead."
)
#: Columns of :attr:`FairnessReport.table`.
TABLE_COLUMNS = ("value", "ci_lower", "ci_upper", "reference", "fair_range", "passes", "flag",
                 "definition")

#: Columns of :attr:`FairnessReport.by_group` (``ece`` only with ``y_score``).
GROUP_METRICS = ("selection_rate", "base_rate", "tpr", "fpr", "fnr", "ppv", "error_rate")


@dataclasses.dataclass(frozen=True)
class _Measure:
    name: str
    rule: str | None  # how the thresholds define the fair range; None: no reference
    definition: str
    compute: Callable[[Rates, str], np.ndarray]
    #: For absolute gaps and ratios (statistics with a kink at parity): (point rates, resampled
    #: rates, method) -> the resampled signed statistic behind them (pair fixed by the point
    #: estimate), whose percentile interval ``to_interval`` maps to theirs, holding the estimate
    #: (a percentile interval of |d| near 0, or of a ratio near 1, can miss it).
    signed: Callable[[Rates, Rates, str], np.ndarray] | None = None
    to_interval: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] = absolute_interval


def _gap(metric: str, kind: str, name: str) -> Callable[[Rates, str], np.ndarray]:
    return lambda rates, method: _core.metric_gap(rates, metric, method, kind, measure=name)


def _signed(metric: str) -> Callable[[Rates, Rates, str], np.ndarray]:
    return lambda point, boot, method: _core.signed_metric_gap(point, boot, metric, method)


def _signed_ratio(metric: str) -> Callable[[Rates, Rates, str], np.ndarray]:
    return lambda point, boot, method: _core.signed_metric_ratio(point, boot, metric, method)


def _disparate_impact_score_interval(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``1 - min(DI, 1/DI) = 2|t| / (1 + |t|)`` for ``t = (u - p) / (u + p)``: increasing in |t|."""
    a, b = absolute_interval(lower, upper)
    return 2 * a / (1 + a), 2 * b / (1 + b)


_GROUP_MEASURES = (
    _Measure("demographic_parity_difference", "difference",
             "max gap in selection rate P(yhat=1|g) (Fairlearn)",
             _gap("selection_rate", "difference", "demographic_parity_difference"), _signed("selection_rate")),
    _Measure("demographic_parity_ratio", "ratio",
             "min/max selection rate; < 0.8 fails the four-fifths rule (Fairlearn, EEOC)",
             _gap("selection_rate", "ratio", "demographic_parity_ratio"), _signed_ratio("selection_rate"),
             ratio_interval),
    _Measure("equalized_odds_difference", "difference",
             "max of the TPR gap and the FPR gap (Hardt et al. 2016; Fairlearn)",
             lambda r, m: _core.equalized_odds(r, m, "difference", "worst_case",
                                               measure="equalized_odds_difference"),
             _core.signed_equalized_odds),
    _Measure("equalized_odds_ratio", "ratio",
             "min of the TPR ratio and the FPR ratio (Fairlearn)",
             lambda r, m: _core.equalized_odds(r, m, "ratio", "worst_case",
                                               measure="equalized_odds_ratio"),
             _core.signed_equalized_odds_ratio, ratio_interval),
    _Measure("equal_opportunity_difference", "difference",
             "max gap in TPR P(yhat=1|y=1,g) (Hardt et al. 2016; Fairlearn)",
             _gap("tpr", "difference", "equal_opportunity_difference"), _signed("tpr")),
    _Measure("equal_opportunity_ratio", "ratio", "min/max TPR (Fairlearn)",
             _gap("tpr", "ratio", "equal_opportunity_ratio"), _signed_ratio("tpr"), ratio_interval),
    _Measure("predictive_parity_difference", "difference",
             "max gap in precision P(y=1|yhat=1,g) (Chouldechova 2017)",
             _gap("ppv", "difference", "predictive_parity_difference"), _signed("ppv")),
    _Measure("error_rate_difference", "difference",
             "max gap in error rate (FP+FN)/n (Berk et al. 2018)",
             _gap("error_rate", "difference", "error_rate_difference"), _signed("error_rate")),
    _Measure("false_negative_rate_difference", "difference", "max gap in FNR FN/(TP+FN)",
             _gap("fnr", "difference", "false_negative_rate_difference"), _signed("fnr")),
    _Measure("false_positive_rate_difference", "difference", "max gap in FPR FP/(TN+FP)",
             _gap("fpr", "difference", "false_positive_rate_difference"), _signed("fpr")),
    _Measure("treatment_equality_difference", None,
             "max gap in FN/FP, unbounded (Berk et al. 2018)",
             lambda r, m: _core.treatment_equality_gap(r, m, measure="treatment_equality_difference"),
             _core.signed_treatment_equality),
    _Measure("base_rate_difference", "difference",
             "labels alone: max gap in base rate P(y=1|g)",
             _gap("base_rate", "difference", "base_rate_difference"), _signed("base_rate")),
    _Measure("base_rate_ratio", "ratio",
             "labels alone: min/max base rate, the disparate impact of the data",
             _gap("base_rate", "ratio", "base_rate_ratio"), _signed_ratio("base_rate"), ratio_interval),
)

_PRIVILEGED_MEASURES = (
    _Measure("statistical_parity_difference", "signed",
             "SR(unpriv) - SR(priv) (AIF360)",
             lambda r, m: _core.signed_difference(r, "selection_rate")),
    _Measure("disparate_impact", "di", "SR(unpriv) / SR(priv) (AIF360; Feldman et al. 2015)",
             lambda r, m: _core.signed_ratio(r, "selection_rate", measure="disparate_impact")),
    _Measure("disparate_impact_score", "di_score", "1 - min(DI, 1/DI)",
             lambda r, m: _core.disparate_impact_score(
                 _core.signed_ratio(r, "selection_rate", measure="disparate_impact_score")),
             lambda point, boot, m: _core.signed_relative_difference(boot, "selection_rate"),
             _disparate_impact_score_interval),
    _Measure("average_odds_difference", "signed",
             "((FPR_u - FPR_p) + (TPR_u - TPR_p)) / 2 (AIF360)",
             lambda r, m: (_core.signed_difference(r, "fpr") + _core.signed_difference(r, "tpr")) / 2),
    _Measure("label_disparate_impact", "di", "labels alone: base rate(unpriv) / base rate(priv) (AIF360)",
             lambda r, m: _core.signed_ratio(r, "base_rate", measure="label_disparate_impact")),
)

_OVERALL_MEASURES = (
    _Measure("theil_index", None, "GE(1) of benefits b = yhat - y + 1 (Speicher et al. 2018; AIF360)",
             lambda r, m: _core.generalized_entropy(r.counts.sum(axis=-2), 1.0)),
    _Measure("generalized_entropy_index", None,
             "GE(2) of benefits b = yhat - y + 1 (Speicher et al. 2018; AIF360)",
             lambda r, m: _core.generalized_entropy(r.counts.sum(axis=-2), 2.0)),
)

#: Computed from CalibrationStats, not from confusion counts; its interval comes from
#: ``evaluate_groups(metrics=["ece"], n_boot=...).difference_ci``.
_CALIBRATION = _Measure("calibration_difference", None,
                        "max gap in ECE (L1, equal-width bins) (Pleiss et al. 2017)",
                        lambda rates, method: np.full(rates.lead, np.nan))


def _fair_range(rule: str | None, diff_t: float, ratio_t: float) -> tuple[float, float, float, str]:
    """(reference, low, high, text) of a rule."""
    if rule == "difference":
        return diff_t, -math.inf, diff_t, f"<= {diff_t:g}"
    if rule == "ratio":
        return ratio_t, ratio_t, math.inf, f">= {ratio_t:g}"
    if rule == "signed":
        return diff_t, -diff_t, diff_t, f"[{-diff_t:g}, {diff_t:g}]"
    if rule == "di":
        return ratio_t, ratio_t, 1 / ratio_t, f"[{ratio_t:g}, {1 / ratio_t:.4g}]"
    if rule == "di_score":
        return 1 - ratio_t, -math.inf, 1 - ratio_t, f"<= {1 - ratio_t:g}"
    return math.nan, math.nan, math.nan, ""


def _verdict(value: float, lower: float, upper: float, low: float, high: float,
             has_reference: bool) -> tuple[bool | None, str]:
    """``passes`` (the point estimate) and ``flag`` (pass / fail / uncertain from the interval)."""
    if not has_reference:
        return None, "n/a"
    if math.isnan(value):
        return None, "undefined"
    passes = bool(low <= value <= high)
    if math.isnan(lower) or math.isnan(upper):
        return passes, "pass" if passes else "fail"
    # A flag never contradicts the value's own verdict (an interval that misses its estimate
    # reads "uncertain"), so the table and a finding graded on the value agree.
    if low <= lower and upper <= high and passes:
        return passes, "pass"
    if (upper < low or lower > high) and not passes:
        return passes, "fail"
    return passes, "uncertain"


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class FairnessReport(Result):
    """Every fairness measure for every sensitive feature and intersection.

    Attributes
    ----------
    table : DataFrame
        Rows: MultiIndex ``(feature, measure)``; ``feature`` is a sensitive feature, an
        intersection (``"sex x race"``) or ``"overall"`` (indices over all individuals).
        Columns:

        * ``value`` -- the measure (as the function of the same name in
          :mod:`assay.fairness`);
        * ``ci_lower``, ``ci_upper`` -- bootstrap percentile interval (NaN without ``n_boot``);
        * ``reference`` -- the threshold (``difference_threshold`` or ``ratio_threshold``),
          ``fair_range`` the values read as fair (e.g. ``">= 0.8"``, ``"[0.8, 1.25]"``); NaN
          and ``""`` for measures without a convention;
        * ``passes`` -- the value lies in the fair range (None without a reference or value);
        * ``flag`` -- ``"pass"`` / ``"fail"`` when the whole interval (or, without one, the
          value) is inside / outside the fair range, ``"uncertain"`` when the interval
          straddles its edge, ``"undefined"`` for a NaN value, ``"n/a"`` without a reference;
        * ``definition`` -- one line: formula and source.
    by_group : DataFrame
        Rows: MultiIndex ``(feature, group)``. Columns: ``count`` (rows), ``small`` (``count <
        min_group_size``), the rates of :data:`GROUP_METRICS`, ``treatment_equality``
        (FN / FP) and, with ``y_score``, ``ece``.
    overall : Series
        The same quantities on all rows.
    params : dict
        The settings used.
    """

    table: pd.DataFrame
    by_group: pd.DataFrame
    overall: pd.Series
    params: dict[str, Any]


    def __repr__(self) -> str:
        flags = self.table["flag"].value_counts()
        shown = ", ".join(f"{k}={int(v)}" for k, v in flags.items())
        return f"FairnessReport(features={self.params['features']!r}, rows={len(self.table)}, {shown})"

    @property
    def failures(self) -> pd.DataFrame:
        """The rows flagged ``"fail"``."""
        return self.table[self.table["flag"] == "fail"]

    def to_frame(self) -> pd.DataFrame:
        """The table: rows ``(feature, measure)``, columns :data:`TABLE_COLUMNS`."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record; table rows indexed by ``[feature, measure]``, groups by ``[feature, group]``."""
        out = super().to_dict()
        out["table"]["index"] = [[str(f), str(m)] for f, m in self.table.index]
        out["by_group"]["index"] = [[str(f), str(g)] for f, g in self.by_group.index]
        return out


def _privileged_of(grouping: Grouping, privileged: Mapping[str, Any]) -> Any:
    """The privileged group of a grouping, if ``privileged_groups`` defines it."""
    if grouping.name in privileged:
        return privileged[grouping.name]
    if len(grouping.features) > 1 and all(f in privileged for f in grouping.features):
        return tuple(privileged[f] for f in grouping.features)
    return None


def fairness_report(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    y_score: Any = None,
    sample_weight: Any = None,
    privileged_groups: Mapping[str, Any] | None = None,
    intersections: bool = True,
    method: str = "between_groups",
    n_boot: int = 0,
    confidence_level: float = 0.95,
    random_state: Any = None,
    pos_label: Any = 1,
    n_bins: int = 15,
    difference_threshold: float = 0.1,
    ratio_threshold: float = 0.8,
    min_group_size: int = 30,
    seed: Any = SEED_NOT_GIVEN,
    confidence: Any = NOT_GIVEN,
) -> FairnessReport:
    """Every fairness measure of :mod:`assay.fairness`, per feature and intersection.

    Per feature and intersection: demographic parity, equalized odds and equal opportunity
    (difference and ratio), predictive parity, error-rate / FNR / FPR gaps, treatment equality,
    the base-rate gap and ratio of the labels alone, and with ``y_score`` the gap in calibration
    error. Per feature with a privileged group: AIF360's statistical parity difference,
    disparate impact, ``1 - min(DI, 1/DI)``, average odds difference and the disparate impact of
    the labels. Over all rows (feature ``"overall"``): Theil and generalized entropy (alpha=2)
    indices.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Binary labels.
    sensitive_features : Series, DataFrame, dict of arrays, or 1-D/2-D array
        One column per feature, each with at least two groups.
    y_score : array-like of shape (n,) or (n, k), optional
        Probabilities in [0, 1], for the calibration gap.
    sample_weight : array-like of shape (n,), optional
        Non-negative row weights.
    privileged_groups : mapping, optional
        Feature (or intersection name) -> privileged group, e.g. ``{"sex": "Male", "race":
        "White"}``; an intersection whose features all have one gets the tuple
        (``("Male", "White")``).
    intersections : bool, default True
        Also report every combination of 2..k features.
    method : {"between_groups", "to_overall"}
        For the Fairlearn-style differences and ratios.
    n_boot : int, default 0
        Bootstrap resamples for the intervals (0: none). The resampler of
        :mod:`assay.metrics.bootstrap`: rows resampled within each finest cell (the cells keep
        their sizes), drawn as multinomial counts of the four confusion cells, so the cost does
        not grow with ``n`` (with weights, a resampled cell weighs its count times the mean
        weight of its rows). The same draws as ``evaluate_groups(..., n_boot=n_boot,
        random_state=random_state)``, so single-metric intervals equal its ``difference_ci`` /
        ``ratio_ci``. Absolute gaps, ratios (min/max) and the disparate impact score take
        their interval from the signed statistic of the pair fixed by the point estimate
        (``d``, or ``t = (a - b) / (a + b)`` for ratios, see
        :func:`assay.metrics.bootstrap.ratio_interval`), so every interval holds its estimate.
    confidence_level : float, default 0.95
        ``confidence=`` is a deprecated alias.
    random_state : None, int or numpy Generator
        Random state of the bootstrap. ``seed=`` is a deprecated alias.
    pos_label : scalar, default 1
    n_bins : int, default 15
        Calibration bins.
    difference_threshold : float, default 0.1
        Differences at most this (and signed differences within +-) read as fair (AIF360's
        convention of [-0.1, 0.1] for statistical parity).
    ratio_threshold : float, default 0.8
        Ratios at least this read as fair (the four-fifths rule); disparate impact fair in
        ``[ratio_threshold, 1 / ratio_threshold]``.
    min_group_size : int, default 30
        Groups with fewer rows are flagged ``small`` in ``by_group``.

    Returns
    -------
    FairnessReport
    """
    owner = "fairness_report"
    random_state = renamed_seed(random_state, seed, owner=owner, default=None)
    method = _core.check_method(method, owner)
    check_scalar(n_boot, "n_boot", owner=owner, kind=(int, np.integer), low=0)
    confidence = _core.check_confidence(renamed_parameter(confidence_level, confidence, name="confidence_level",
                                                          old="confidence", owner=owner, default=0.95), owner)
    check_scalar(n_bins, "n_bins", owner=owner, kind=(int, np.integer), low=1)
    check_scalar(difference_threshold, "difference_threshold", owner=owner, kind=numbers.Real,
                 low=0, closed="neither")
    check_scalar(ratio_threshold, "ratio_threshold", owner=owner, kind=numbers.Real, low=0,
                 high=1, closed="right")
    check_scalar(min_group_size, "min_group_size", owner=owner, kind=(int, np.integer), low=0)
    check_bool(intersections, "intersections", owner=owner)
    rng = check_random_state(random_state, name="random_state")

    aligned = align_pandas(y_true=y_true, y_pred=y_pred, y_score=y_score, sensitive_features=sensitive_features,
                           sample_weight=sample_weight)
    y_true, y_pred, y_score = aligned["y_true"], aligned["y_pred"], aligned["y_score"]
    sensitive_features, sample_weight = aligned["sensitive_features"], aligned["sample_weight"]
    prepared = _core.prepare(y_true, y_pred, sensitive_features, sample_weight, pos_label,
                             intersections=bool(intersections), align=False)
    groups = prepared.groups
    if privileged_groups is None:
        privileged: Mapping[str, Any] = {}
    elif isinstance(privileged_groups, Mapping) and all(
            k in groups.features or k in groups.names for k in privileged_groups):
        privileged = privileged_groups
    else:
        raise AssayInputError(_BAD_PRIVILEGED.format(valid=list(groups.features),
                                                     received=describe(privileged_groups)
                                                     if not isinstance(privileged_groups, Mapping)
                                                     else list(privileged_groups)))
    # Resolve every privileged group before computing anything (errors first).
    chosen = {}
    for grouping in groups:
        label = _privileged_of(grouping, privileged)
        if label is not None:
            chosen[grouping.name] = _core.privileged_index(
                grouping, label, name=f"privileged_groups' entry for '{grouping.name}")
    # One grouped table: the registry rates of every group and intersection, their bootstrap
    # resamples, and the cell statistics and cell draws behind them (for the quantities that are
    # not per-group rates: FN/FP, privileged-vs-rest, entropy indices).
    metric_names = [*GROUP_METRICS, *(["ece"] if y_score is not None else [])]
    draws: dict[str, np.ndarray] = {}
    stats = GroupedStats(pos_label=pos_label, n_bins=int(n_bins))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMetricWarning)
        stats.update(prepared.y_true, prepared.y_pred, y_score=y_score, sensitive_features=sensitive_features,
                     sample_weight=prepared.w)
        grouped = stats.compute(metric_names, intersections=bool(intersections), min_group_size=int(min_group_size),
                                n_boot=int(n_boot), confidence_level=confidence, random_state=rng, _draws=draws)
    for warning in caught:  # per-group warnings point at the user's call; all rows are quiet, as before
        if "group(s) 'overall'" not in str(warning.message):
            warnings.warn(warning.message, warning.category, stacklevel=outside_stacklevel())
    cells = groups.cells
    if tuple(stats.cells) != tuple(c if isinstance(c, tuple) else (c,) for c in cells.labels):
        raise AssertionError("cells of the grouped table and of the groupings differ")  # pragma: no cover
    cell_stats = stats.confusion
    cell_counts = _core.counts_of(cell_stats)
    boot = draws.get("confusion")
    point = grouped.by_group[metric_names].to_numpy(np.float64)
    ci_names = list(grouped.ci_metrics)
    feature_of = grouped.by_group.index.get_level_values("feature")
    ece_ci = grouped.difference_ci(method) if y_score is not None and n_boot else None

    rows: list[dict[str, Any]] = []
    index: list[tuple[str, str]] = []

    def add(feature: str, measure: _Measure, value: float, replicates: np.ndarray | None,
            definition: str | None = None, interval: tuple[float, float] | None = None,
            signed: bool = False) -> None:
        lower, upper = interval if interval is not None else (math.nan, math.nan)
        if replicates is not None:
            low_arr, up_arr = _core.percentile_interval(replicates, confidence)
            if signed:  # replicates of the signed statistic behind |d| or a ratio
                low_arr, up_arr = measure.to_interval(low_arr, up_arr)
            lower, upper = float(low_arr), float(up_arr)
        reference, low, high, text = _fair_range(measure.rule, float(difference_threshold),
                                                 float(ratio_threshold))
        passes, flag = _verdict(value, lower, upper, low, high, measure.rule is not None)
        rows.append({"value": value, "ci_lower": lower, "ci_upper": upper, "reference": reference,
                     "fair_range": text, "passes": passes, "flag": flag,
                     "definition": definition or measure.definition})
        index.append((feature, measure.name))

    group_blocks, group_index = [], []
    for grouping in groups:
        labels = grouping.label_strings
        at = np.flatnonzero(feature_of == grouping.name)
        counts = _core.aggregate_counts(cell_counts, grouping.cell_map, grouping.n_groups)
        rates = _core.TableRates(counts, labels, pos_label, name=grouping.name,
                                 group={m: point[at, j] for j, m in enumerate(metric_names)},
                                 overall={m: np.float64(grouped.overall[m]) for m in metric_names})
        boot_rates = None
        if boot is not None:
            boot_rates = _core.TableRates(
                _core.aggregate_counts(boot, grouping.cell_map, grouping.n_groups), labels, pos_label,
                name=grouping.name, quiet=True,
                group={m: grouped.resamples[:, 1 + at, j] for j, m in enumerate(ci_names)},
                overall={m: grouped.resamples[:, 0, j] for j, m in enumerate(ci_names)})
        for measure in _GROUP_MEASURES:
            value = float(measure.compute(rates, method))
            replicates = None
            if boot_rates is not None:
                replicates = (measure.signed(rates, boot_rates, method) if measure.signed is not None
                              else measure.compute(boot_rates, method))
            add(grouping.name, measure, value, replicates, signed=measure.signed is not None)
        if y_score is not None:
            per_group = rates.group("ece")
            _core.warn_if_too_few(per_group, "calibration_difference", grouping.name, "ece")
            value = float(_core.difference(per_group, rates.overall("ece"), method))
            interval = None
            if ece_ci is not None:
                interval = (float(ece_ci.loc[grouping.name, ("ece", "lower")]),
                            float(ece_ci.loc[grouping.name, ("ece", "upper")]))
            add(grouping.name, _CALIBRATION, value, None, interval=interval)
        if grouping.name in chosen:
            where = chosen[grouping.name]
            two = Rates(_core.two_groups(counts, where), _core.privileged_labels(labels, where),
                        pos_label, name=grouping.name)
            two_boot = None
            if boot is not None:
                two_boot = Rates(_core.two_groups(boot_rates.counts, where),
                                 _core.privileged_labels(labels, where), pos_label,
                                 name=grouping.name, quiet=True)
            for measure in _PRIVILEGED_MEASURES:
                value = float(measure.compute(two, method))
                definition = f"{measure.definition}; privileged: {labels[where]}"
                replicates = None
                if two_boot is not None:
                    replicates = (measure.signed(two, two_boot, method) if measure.signed is not None
                                  else measure.compute(two_boot, method))
                add(grouping.name, measure, value, replicates, definition, signed=measure.signed is not None)

        block = pd.DataFrame({"count": grouped.by_group["count"].to_numpy()[at].astype(np.int64),
                              "small": grouped.by_group["small"].to_numpy()[at].astype(bool),
                              **{m: rates.group(m) for m in GROUP_METRICS},
                              "treatment_equality": rates.treatment_equality()[0],
                              **({"ece": rates.group("ece")} if y_score is not None else {})})
        group_blocks.append(block)
        group_index += [(grouping.name, label) for label in labels]

    overall_rates = Rates(cell_counts, cells.label_strings, pos_label, name="overall")
    overall_boot = None if boot is None else Rates(boot, cells.label_strings, pos_label,
                                                   name="overall", quiet=True)
    for measure in _OVERALL_MEASURES:
        value = float(measure.compute(overall_rates, method))
        add("overall", measure, value,
            None if overall_boot is None else measure.compute(overall_boot, method))

    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS),
                         index=pd.MultiIndex.from_tuples(index, names=["feature", "measure"]))
    by_group = pd.concat(group_blocks, ignore_index=True)
    by_group.index = pd.MultiIndex.from_tuples(group_index, names=["feature", "group"])
    overall = pd.Series({"count": float(cell_stats.n.sum()),
                         **{m: float(grouped.overall[m]) for m in GROUP_METRICS},
                         "treatment_equality": float(overall_rates.treatment_equality_overall()),
                         **({"ece": float(grouped.overall["ece"])} if y_score is not None else {})},
                        name="overall", dtype=np.float64)
    return FairnessReport(
        table=table,
        by_group=by_group,
        overall=overall,
        params={
            "features": list(groups.features),
            "intersections": bool(intersections),
            "method": method,
            "n_boot": int(n_boot),
            "confidence_level": confidence,
            "random_state": (random_state if isinstance(random_state, (int, np.integer)) or random_state is None
                             else str(random_state)),
            "pos_label": pos_label.item() if isinstance(pos_label, np.generic) else pos_label,
            "weighted": prepared.w is not None,
            "privileged_groups": {str(k): v if isinstance(v, (str, int, float, tuple)) else str(v)
                                  for k, v in privileged.items()},
            "difference_threshold": float(difference_threshold),
            "ratio_threshold": float(ratio_threshold),
            "n_bins": int(n_bins),
            "min_group_size": int(min_group_size),
        },
    )
