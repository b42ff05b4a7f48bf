"""Calibration of the predicted probabilities: reliability overall and per group, ECE per group with
bootstrap intervals, and temperature scaling fitted on the validation split (ECE before and after)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...core.component import Interval
from ...core.result import Result
from ...metrics import (CalibrationStats, GroupedMetrics, binned_calibration_error, evaluate_groups, make_groups,
                        wilson_interval)
from ..base import AuditContext, Check, Finding, grade, headline_row, rate, register_check

#: The split temperature scaling is fitted on, when the audit has it (labelled) and evaluates another.
RECALIBRATION_SPLIT = "val"


@dataclasses.dataclass(frozen=True)
class Recalibration(Result):
    """Temperature scaling fitted on ``split``, judged on the evaluation split.

    ``table`` has one row per ``feature``, ``group`` (columns), the first "overall": ``count``,
    ``ece`` / ``ece_lower`` / ``ece_upper`` of the model and ``ece_recalibrated`` /
    ``ece_recalibrated_lower`` / ``ece_recalibrated_upper`` of the recalibrated one (bootstrap
    percentile intervals; NaN without resamples), ``small``.
    """

    split: str
    temperature: float
    nll: float
    nll_recalibrated: float
    ece: float
    ece_recalibrated: float
    table: pd.DataFrame
    by_group: GroupedMetrics | None = None


@dataclasses.dataclass(frozen=True)
class CalibrationResult(Result):
    """ECE, RMS and maximum calibration error overall; the reliability bins; ECE per group.

    ``reliability`` has one row per equal-width bin: ``confidence`` (mean predicted
    probability), ``accuracy`` (observed frequency), ``weight`` (rows) and ``accuracy_lower`` /
    ``accuracy_upper`` (95% Wilson interval of the accuracy; NaN for empty bins). Binary models are
    judged on P(positive class); multiclass models on the top-label confidence.
    ``reliability_by_group`` has the same columns and ``model`` ("model", and "recalibrated" with a
    recalibration), ``feature``, ``group``, ``bin``; ``by_group`` holds ECE per group and
    intersection with bootstrap intervals; ``recalibration`` temperature scaling (or None).
    """

    ece: float
    rms_calibration_error: float
    max_calibration_error: float
    reliability: pd.DataFrame
    by_group: GroupedMetrics | None
    reliability_by_group: pd.DataFrame | None = None
    recalibration: Recalibration | None = None


def _scored(proba: np.ndarray, y: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_score)`` as the ECE reads them: P(class 1) and y == class 1 for binary models,
    class indices and the probabilities otherwise."""
    if proba.shape[1] == 2:
        return np.asarray(y == classes[1]), proba[:, 1]
    return pd.Index(classes).get_indexer(y), proba


def _reliability(stats: CalibrationStats, index: pd.Index) -> pd.DataFrame:
    accuracy, weight = stats.bin_accuracy(), stats.weight
    lower, upper = wilson_interval(np.nan_to_num(accuracy * weight), weight)  # unweighted: weight = count
    return pd.DataFrame({"confidence": stats.bin_confidence().ravel(), "accuracy": accuracy.ravel(),
                         "weight": weight.ravel(), "accuracy_lower": np.ravel(lower),
                         "accuracy_upper": np.ravel(upper)}, index=index)


def _reliability_by_group(y_true, y_score, sensitive: pd.DataFrame, n_bins: int, model: str) -> pd.DataFrame:
    """Reliability bins of every group of each sensitive feature (no intersections)."""
    parts = []
    for grouping in make_groups(sensitive, intersections=False):
        stats = CalibrationStats(grouping.n_groups, n_bins=n_bins).update(y_true, y_score, grouping.codes)
        index = pd.MultiIndex.from_product([[model], [grouping.name], list(grouping.label_strings), range(n_bins)],
                                           names=["model", "feature", "group", "bin"])
        parts.append(_reliability(stats, index))
    return pd.concat(parts).reset_index()


def _ece_table(by_group: GroupedMetrics | None, ece: float, count: int, suffix: str) -> pd.DataFrame:
    """(feature, group) -> ECE with its interval, the overall row first."""
    rows = {("overall", "overall"): {"count": count, f"ece{suffix}": ece}}
    overall_ci = getattr(by_group, "overall_ci", None)
    if overall_ci is not None:
        rows[("overall", "overall")].update({f"ece{suffix}_lower": overall_ci.loc["ece", "lower"],
                                             f"ece{suffix}_upper": overall_ci.loc["ece", "upper"]})
    frame = pd.DataFrame.from_dict(rows, orient="index").assign(small=False)
    if by_group is not None:
        table = by_group.by_group[["count", "ece", "small"]].rename(columns={"ece": f"ece{suffix}"})
        if by_group.ci is not None:
            table[f"ece{suffix}_lower"] = by_group.ci[("ece", "lower")]
            table[f"ece{suffix}_upper"] = by_group.ci[("ece", "upper")]
        frame = pd.concat([frame, table])
    frame.index = pd.MultiIndex.from_tuples([tuple(i) for i in frame.index], names=["feature", "group"])
    return frame


@register_check
class CalibrationCheck(Check):
    """Expected calibration error (equal-width bins) overall and for every group, with bootstrap
    intervals; with a labelled "val" split, temperature scaling fitted there and the ECE after it."""

    name = "calibration"
    title = "Calibration"
    section = "calibration"
    needs = frozenset({"model", "labels", "probabilities"})
    order = 30
    thresholds = {
        "ece_warn": rate(0.05, "expected calibration error that warns (whole split and any reported group)",
                         higher_is_better=False),
        "ece_fail": rate(0.1, "expected calibration error that fails", higher_is_better=False),
    }

    _parameter_constraints = {"n_bins": [Interval(int, 1, None)], "min_group_size": [Interval(int, 0, None)],
                              "n_boot": [Interval(int, 0, None)], "recalibrate": ["boolean"]}
    #: Headline metrics the model card's YAML model-index lists (leading first, worst group last).
    advice = {
        "overall_ece": "The predicted probabilities are not to be read as probabilities: recalibrate "
                       "(assay.uncertainty.TemperatureScaling on a validation split) before using them for decisions.",
        "max_group_ece": "The probabilities are honest for some groups and not for this one: recalibrate per group "
                         "(per_group=True) or collect more data for it.",
    }
    model_index = ("overall_ece", "rms_calibration_error", "max_calibration_error", "recalibrated_ece",
                   "temperature", "recalibrated_max_group_ece", "max_group_ece")

    def __init__(self, *, n_bins: int = 15, min_group_size: int = 30, n_boot: int = 200, recalibrate: bool = True):
        self.n_bins = n_bins
        self.min_group_size = min_group_size
        self.n_boot = n_boot
        self.recalibrate = recalibrate

    def _by_group(self, y_true, y_score, sensitive, context) -> GroupedMetrics:
        return evaluate_groups(y_true, None, y_score=y_score, sensitive_features=sensitive, metrics=["ece"],
                               n_bins=self.n_bins, min_group_size=self.min_group_size, n_boot=self.n_boot,
                               random_state=context.random_state)

    def run(self, context: AuditContext):
        classes = context.model.classes_
        y_true, y_score = _scored(context.predict_proba(), context.y(), classes)
        stats = CalibrationStats(1, n_bins=self.n_bins).update(y_true, y_score)
        errors = {norm: float(binned_calibration_error(stats, norm=norm)[0]) for norm in ("l1", "l2", "max")}
        reliability = _reliability(stats, pd.RangeIndex(self.n_bins, name="bin"))
        sensitive = context.sensitive_features()
        grouped = sensitive is not None and sensitive.shape[1] > 0
        by_group = self._by_group(y_true, y_score, sensitive, context) if grouped else None
        by_group_bins = [_reliability_by_group(y_true, y_score, sensitive, self.n_bins, "model")] if grouped else []
        recalibration = None
        if self.recalibrate and context.need(f"split:{RECALIBRATION_SPLIT}") is None \
                and context.need(f"labels:{RECALIBRATION_SPLIT}") is None:
            recalibration = self._recalibrate(context, errors["l1"], y_true, by_group, sensitive if grouped else None)
            if grouped:
                calibrated = recalibration.pop("y_score")
                by_group_bins.append(_reliability_by_group(y_true, calibrated, sensitive, self.n_bins,
                                                           "recalibrated"))
            recalibration = Recalibration(**{k: v for k, v in recalibration.items() if k != "y_score"})
        return CalibrationResult(errors["l1"], errors["l2"], errors["max"], reliability, by_group,
                                 pd.concat(by_group_bins) if by_group_bins else None, recalibration)

    def _recalibrate(self, context, ece, y_true, by_group, sensitive) -> dict[str, Any]:
        """Temperature scaling fitted on the validation split, applied to the evaluation split."""
        from ...uncertainty.recalibration import TemperatureScaling

        split, classes = RECALIBRATION_SPLIT, context.model.classes_
        model = context.model
        indices = pd.Index(classes).get_indexer(context.y(split))
        scaler = TemperatureScaling().fit(model.logits(context.X(split)), indices)
        logits = model.logits(context.X())
        calibrated = scaler.predict_proba(logits)
        y_eval = pd.Index(classes).get_indexer(context.y())
        rows = np.arange(len(y_eval))
        nll = float(-np.mean(np.log(np.clip(model.predict_proba(context.X())[rows, y_eval], 1e-300, None))))
        nll_after = float(-np.mean(np.log(np.clip(calibrated[rows, y_eval], 1e-300, None))))
        _, score_after = _scored(calibrated, context.y(), classes)
        stats = CalibrationStats(1, n_bins=self.n_bins).update(y_true, score_after)
        ece_after = float(binned_calibration_error(stats)[0])
        after = self._by_group(y_true, score_after, sensitive, context) if sensitive is not None else None
        table = _ece_table(by_group, ece, len(y_true), "").join(
            _ece_table(after, ece_after, len(y_true), "_recalibrated").drop(columns=["count", "small"]))
        order = ["count", "small", "ece", "ece_lower", "ece_upper", "ece_recalibrated", "ece_recalibrated_lower",
                 "ece_recalibrated_upper"]
        table = table[[c for c in order if c in table.columns]].reset_index()
        return {"split": split, "temperature": scaler.temperature_, "nll": nll, "nll_recalibrated": nll_after,
                "ece": ece, "ece_recalibrated": ece_after, "table": table, "by_group": after,
                "y_score": score_after}

    # ---- headline numbers
    def summarize(self, result) -> dict[str, Any]:
        summary: dict[str, Any] = {"overall_ece": result.ece, "rms_calibration_error": result.rms_calibration_error,
                                   "max_calibration_error": result.max_calibration_error}
        if result.by_group is not None:
            _bounds(summary, "overall_ece", result.by_group.overall_ci, None)
            worst = _worst(result.by_group)
            summary["max_group_ece"] = None if worst is None else float(result.by_group.by_group.loc[worst, "ece"])
            summary["max_group"] = None if worst is None else " / ".join(str(p) for p in worst)
            if worst is not None:
                _bounds(summary, "max_group_ece", result.by_group.ci, worst)
        recal = getattr(result, "recalibration", None)
        if recal is not None:
            summary.update({"temperature": recal.temperature, "recalibrated_ece": recal.ece_recalibrated,
                            "recalibration_split": recal.split, "nll": recal.nll,
                            "recalibrated_nll": recal.nll_recalibrated})
            if recal.by_group is not None:
                _bounds(summary, "recalibrated_ece", recal.by_group.overall_ci, None)
                worst = _worst(recal.by_group)
                if worst is not None:
                    summary["recalibrated_max_group_ece"] = float(recal.by_group.by_group.loc[worst, "ece"])
                    summary["recalibrated_max_group"] = " / ".join(str(p) for p in worst)
                    _bounds(summary, "recalibrated_max_group_ece", recal.by_group.ci, worst)
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        def row(key, **kwargs):
            return headline_row(key, summary[key], lower=summary.get(f"{key}.ci_lower"),
                                upper=summary.get(f"{key}.ci_upper"), direction="lower", **kwargs)

        rows = [row("overall_ece", group="overall"), row("rms_calibration_error"), row("max_calibration_error")]
        if summary.get("max_group") is not None:
            rows.append(row("max_group_ece", group=summary["max_group"]))
        if "temperature" in summary:
            rows += [headline_row("temperature", summary["temperature"]), row("recalibrated_ece", group="overall"),
                     headline_row("nll", summary["nll"], direction="lower"),
                     headline_row("recalibrated_nll", summary["recalibrated_nll"], direction="lower")]
            if summary.get("recalibrated_max_group") is not None:
                rows.append(row("recalibrated_max_group_ece", group=summary["recalibrated_max_group"]))
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        warn, fail = thresholds["ece_warn"], thresholds["ece_fail"]
        out = [grade(self.name, "overall_ece", summary["overall_ece"], warn=warn, fail=fail, higher_is_better=False,
                     what="The expected calibration error")]
        if summary.get("max_group") is not None:
            out.append(grade(self.name, "max_group_ece", summary["max_group_ece"], warn=warn, fail=fail,
                             higher_is_better=False,
                             what=f"The largest ECE of any reported group ({summary['max_group']})",
                             evidence={"group": summary["max_group"]}))
        if "temperature" in summary:
            out.append(self._recommendation(summary, warn))
        return out

    def _recommendation(self, summary: Mapping[str, Any], warn: float) -> Finding:
        """Recalibration is recommended where temperature scaling brings a failing ECE (overall or the
        worst group's) to the warn threshold or below; ECEs it leaves above are named."""
        pairs = [("overall_ece", "recalibrated_ece", "the ECE")]
        if summary.get("max_group") is not None and summary.get("recalibrated_max_group") is not None:
            pairs.append(("max_group_ece", "recalibrated_max_group_ece",
                          (f"the largest group ECE ({summary['max_group']} before, "
                           f"{summary['recalibrated_max_group']} after)")))

        def above(key):
            return summary.get(key) is not None and summary[key] > warn

        fixed = [what for before, after, what in pairs if above(before) and not above(after)]
        left = [what for _, after, what in pairs if above(after)]
        t, split = summary["temperature"], summary.get("recalibration_split", RECALIBRATION_SPLIT)
        change = "; ".join(f"{what} from {summary[before]:.3f} to {summary[after]:.3f}"
                           for before, after, what in pairs)
        told = f"Temperature scaling fitted on the {split!r} split (T = {t:.3g}) changes {change}"
        if fixed:
            message = (f"Recalibrate: {told}, bringing {' and '.join(fixed)} to the warn threshold {warn:g} or "
                       "below. Wrap the model with it: assay.wrap(model, calibrator=assay.uncertainty."
                       "TemperatureScaling().fit(val_logits, y_val)).")
        else:
            message = f"{told}; the warn threshold is {warn:g}."
        if left:
            message += (f" Still above it after temperature scaling: {' and '.join(left)}; one temperature per "
                        "group (TemperatureScaling(per_group=True)) or a richer calibrator may be needed.")
        after = summary["recalibrated_ece"]
        return Finding(self.name, "pass", message, "recalibrated_ece", None if after is None else float(after),
                       float(warn), {"temperature": t, "split": split, "recommended": bool(fixed)})

    # ---- documents
    @staticmethod
    def render(record):
        """Section: reliability diagrams (overall, per group), calibration errors, ECE by group, and
        the before/after table of temperature scaling."""
        from ...report import (Section, figure_to_png, frame_from_record, plot_reliability_by_group,
                               plot_reliability_diagram)

        result = record["result"]
        bins = frame_from_record(result["reliability"])
        bounds = {}
        if "accuracy_lower" in bins:  # records written before the intervals have none
            bounds = {"bin_lower": bins["accuracy_lower"].to_numpy(float),
                      "bin_upper": bins["accuracy_upper"].to_numpy(float)}
        figures = [("Reliability diagram", figure_to_png(plot_reliability_diagram(
            bins["confidence"].to_numpy(float), bins["accuracy"].to_numpy(float), bins["weight"].to_numpy(float),
            title="Reliability diagram of the evaluation split", **bounds)))]
        errors = pd.Series({"ECE": result["ece"], "RMS calibration error": result["rms_calibration_error"],
                            "maximum calibration error": result["max_calibration_error"]}, name="value").to_frame()
        tables = [("Calibration errors", errors)]
        if result.get("by_group"):
            table = frame_from_record(result["by_group"]["by_group"])
            if result["by_group"].get("ci"):
                ci = frame_from_record(result["by_group"]["ci"])
                table["ece_lower"], table["ece_upper"] = ci.iloc[:, 0].to_numpy(), ci.iloc[:, 1].to_numpy()
            tables.append(("ECE by group" + (f" (95% bootstrap intervals, {record['params'].get('n_boot')} "
                                             "resamples)" if "ece_lower" in table else ""), table))
        paragraphs = [(f"Equal-width bins ({record['params']['n_bins']}); each point is a bin, its area the bin's "
                       "share of rows, its bar a 95% Wilson interval of the bin's accuracy. Binary models: "
                       "P(positive class); multiclass: the top-label confidence.")]
        recal = result.get("recalibration")
        if recal:
            paragraphs.append(f"Temperature scaling fitted on the {recal['split']!r} split: T = "
                              f"{recal['temperature']:.4g}; ECE {recal['ece']:.4f} -> {recal['ece_recalibrated']:.4f}, "
                              f"NLL {recal['nll']:.4f} -> {recal['nll_recalibrated']:.4f} on the evaluation split.")
            tables.append(("ECE before and after temperature scaling",
                           frame_from_record(recal["table"]).set_index(["feature", "group"])))
        # each table beside the plot it illustrates: the errors beside the diagram, the per-group
        # table (after temperature scaling when there is one, else ECE by group) beside the small multiples
        panels = [(*tables.pop(0), *figures.pop(0))]
        if result.get("reliability_by_group"):
            by_group = ("Reliability diagrams by group" + (" (before and after temperature scaling)" if recal else ""),
                        figure_to_png(plot_reliability_by_group(frame_from_record(result["reliability_by_group"]))))
            if tables:
                panels.append((*tables.pop(), *by_group))
            else:
                figures.append(by_group)
        return Section(record["title"], paragraphs, tables=tables, figures=figures, anchor=record["name"],
                       panels=panels)

    @staticmethod
    def card(record) -> dict[str, list[str]]:
        """Model card: ECE with its interval, and temperature scaling's before/after table."""
        from ...report import frame_from_record, markdown_table

        summary = record["summary"]
        line = f"Expected calibration error (equal-width bins): {summary['overall_ece']:.4f}"
        if summary.get("overall_ece.ci_lower") is not None:
            line += f" (95% bootstrap interval {summary['overall_ece.ci_lower']:.4f} - " \
                    f"{summary['overall_ece.ci_upper']:.4f})"
        lines = [line + "."]
        recal = record["result"].get("recalibration")
        if recal:
            lines += ["", (f"Temperature scaling fitted on the {recal['split']!r} split "
                           f"(T = {recal['temperature']:.4g}), ECE before and after on the evaluation split:"), "",
                      markdown_table(frame_from_record(recal["table"]).set_index(["feature", "group"]))]
        return {"Quantitative analyses": lines}


def _worst(grouped: GroupedMetrics) -> tuple | None:
    table = grouped.by_group
    reported = table[~table["small"].to_numpy(bool)]
    return reported["ece"].idxmax() if reported["ece"].notna().any() else None


def _bounds(summary: dict[str, Any], key: str, ci: pd.DataFrame | None, row: tuple | None) -> None:
    """``key.ci_lower`` / ``key.ci_upper`` from a table's (or the overall) interval of ``ece``."""
    if ci is None:
        return
    if row is None:
        lower, upper = ci.loc["ece", "lower"], ci.loc["ece", "upper"]
    else:
        lower, upper = ci.loc[row, ("ece", "lower")], ci.loc[row, ("ece", "upper")]
    summary[f"{key}.ci_lower"], summary[f"{key}.ci_upper"] = float(lower), float(upper)
