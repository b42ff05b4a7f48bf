"""Calibration of the predicted probabilities, overall and per group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...metrics import evaluate_groups
from ..base import AuditContext, Check, Finding, grade, register_check


@register_check
class CalibrationCheck(Check):
    """Expected calibration error (equal-width bins) overall and for every group."""

    name = "calibration"
    title = "Calibration"
    section = "calibration"
    needs = frozenset({"model", "labels", "probabilities", "sensitive_features"})
    order = 30

    def __init__(self, *, n_bins: int = 15, min_group_size: int = 30):
        self.n_bins = n_bins
        self.min_group_size = min_group_size

    def run(self, context: AuditContext):
        proba = context.predict_proba()
        y_score = proba[:, 1] if proba.shape[1] == 2 else proba
        return evaluate_groups(context.y(), None, y_score=y_score, sensitive_features=context.sensitive_features(),
                               metrics=["ece"], n_bins=self.n_bins, min_group_size=self.min_group_size)

    def summarize(self, result) -> dict[str, Any]:
        table = result.by_group
        reported = table[~table["small"]]
        worst = reported["ece"].idxmax() if reported["ece"].notna().any() else None
        return {"overall_ece": float(result.overall["ece"]),
                "max_group_ece": None if worst is None else float(reported.loc[worst, "ece"]),
                "max_group": None if worst is None else " / ".join(str(p) for p in worst)}

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        out = [grade(self.name, "overall_ece", summary["overall_ece"], warn=thresholds["ece_warn"],
                     fail=thresholds["ece_fail"], higher_is_better=False, what="The expected calibration error")]
        if summary.get("max_group") is not None:
            out.append(grade(self.name, "max_group_ece", summary["max_group_ece"], warn=thresholds["ece_warn"],
                             fail=thresholds["ece_fail"], higher_is_better=False,
                             what=f"The largest ECE of any reported group ({summary['max_group']})",
                             evidence={"group": summary["max_group"]}))
        return out
