"""Calibration of the predicted probabilities: overall reliability, and ECE per group."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...core.component import Interval
from ...core.result import Result
from ...metrics import (CalibrationStats, GroupedMetrics, binned_calibration_error, evaluate_groups,
                       wilson_interval)
from ..base import AuditContext, Check, Finding, grade, headline_row, rate, register_check


@dataclasses.dataclass(frozen=True)
class CalibrationResult(Result):
    """ECE, RMS and maximum calibration error overall; the reliability bins; ECE per group.

    ``reliability`` has one row per equal-width bin: ``confidence`` (mean predicted
    probability), ``accuracy`` (observed frequency), ``weight`` (rows) and ``accuracy_lower`` /
    ``accuracy_upper`` (95% Wilson interval of the accuracy; NaN for empty bins). Binary models are
    judged on P(positive class); multiclass models on the top-label confidence.
    """

    ece: float
    rms_calibration_error: float
    max_calibration_error: float
    reliability: pd.DataFrame
    by_group: GroupedMetrics | None


@register_check
class CalibrationCheck(Check):
    """Expected calibration error (equal-width bins) overall and for every group."""

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

    _parameter_constraints = {"n_bins": [Interval(int, 1, None)],
                              "min_group_size": [Interval(int, 0, None)]}
    #: Headline metrics the model card's YAML model-index lists.
    model_index = ("overall_ece", "rms_calibration_error", "max_calibration_error", "max_group_ece")

    def __init__(self, *, n_bins: int = 15, min_group_size: int = 30):
        self.n_bins = n_bins
        self.min_group_size = min_group_size

    def run(self, context: AuditContext):
        proba = context.predict_proba()
        y_true = context.y()
        if proba.shape[1] == 2:
            y_score = proba[:, 1]
            y_true = y_true == context.model.classes_[1]
        else:
            y_score = proba
            y_true = np.searchsorted(context.model.classes_, y_true)  # class indices, as the columns
        stats = CalibrationStats(1, n_bins=self.n_bins).update(y_true, y_score)
        errors = {norm: float(binned_calibration_error(stats, norm=norm)[0]) for norm in ("l1", "l2", "max")}
        accuracy, weight = stats.bin_accuracy()[0], stats.weight[0]
        lower, upper = wilson_interval(np.nan_to_num(accuracy * weight), weight)  # unweighted: weight = count
        reliability = pd.DataFrame({"confidence": stats.bin_confidence()[0], "accuracy": accuracy, "weight": weight,
                                    "accuracy_lower": lower, "accuracy_upper": upper},
                                   index=pd.RangeIndex(self.n_bins, name="bin"))
        sensitive = context.sensitive_features()
        by_group = None
        if sensitive is not None and sensitive.shape[1]:
            by_group = evaluate_groups(y_true, None, y_score=y_score, sensitive_features=sensitive, metrics=["ece"],
                                       n_bins=self.n_bins, min_group_size=self.min_group_size)
        return CalibrationResult(errors["l1"], errors["l2"], errors["max"], reliability, by_group)

    def summarize(self, result) -> dict[str, Any]:
        summary: dict[str, Any] = {"overall_ece": result.ece, "rms_calibration_error": result.rms_calibration_error,
                                   "max_calibration_error": result.max_calibration_error}
        if result.by_group is not None:
            table = result.by_group.by_group
            reported = table[~table["small"]]
            worst = reported["ece"].idxmax() if reported["ece"].notna().any() else None
            summary["max_group_ece"] = None if worst is None else float(reported.loc[worst, "ece"])
            summary["max_group"] = None if worst is None else " / ".join(str(p) for p in worst)
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = [headline_row(key, summary[key], direction="lower")
                for key in ("overall_ece", "rms_calibration_error", "max_calibration_error")]
        if summary.get("max_group") is not None:
            rows.append(headline_row("max_group_ece", summary["max_group_ece"], group=summary["max_group"],
                                     direction="lower"))
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        out = [grade(self.name, "overall_ece", summary["overall_ece"], warn=thresholds["ece_warn"],
                     fail=thresholds["ece_fail"], higher_is_better=False, what="The expected calibration error")]
        if summary.get("max_group") is not None:
            out.append(grade(self.name, "max_group_ece", summary["max_group_ece"], warn=thresholds["ece_warn"],
                             fail=thresholds["ece_fail"], higher_is_better=False,
                             what=f"The largest ECE of any reported group ({summary['max_group']})",
                             evidence={"group": summary["max_group"]}))
        return out

    @staticmethod
    def render(record):
        """Section: the reliability diagram, the calibration errors and ECE by group."""
        from ...report import Section, figure_to_png, frame_from_record, plot_reliability_diagram

        result = record["result"]
        bins = frame_from_record(result["reliability"])
        bounds = {}
        if "accuracy_lower" in bins:  # records written before the intervals have none
            bounds = {"bin_lower": bins["accuracy_lower"].to_numpy(float),
                      "bin_upper": bins["accuracy_upper"].to_numpy(float)}
        figure = figure_to_png(plot_reliability_diagram(
            bins["confidence"].to_numpy(float), bins["accuracy"].to_numpy(float), bins["weight"].to_numpy(float),
            title="Reliability diagram of the evaluation split", **bounds))
        errors = pd.Series({"ECE": result["ece"], "RMS calibration error": result["rms_calibration_error"],
                            "maximum calibration error": result["max_calibration_error"]}, name="value").to_frame()
        tables = [("Calibration errors", errors)]
        if result.get("by_group"):
            tables.append(("ECE by group", frame_from_record(result["by_group"]["by_group"])))
        return Section(record["title"], [
            f"Equal-width bins ({record['params']['n_bins']}); each point is a bin, its area the bin's share of "
            "rows, its bar a 95% Wilson interval of the bin's accuracy. Binary models: P(positive class); "
            "multiclass: the top-label confidence."],
            tables=tables, figures=[("Reliability diagram", figure)], anchor=record["name"])
