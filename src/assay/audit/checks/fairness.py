"""Group fairness: every measure of assay.fairness per feature and intersection, with intervals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...core.component import Interval
from ...fairness import fairness_report
from ..base import AuditContext, Check, Finding, grade, headline_row, rate, register_check


@register_check
class FairnessCheck(Check):
    """Demographic parity, equalized odds, equal opportunity, ... with bootstrap intervals."""

    name = "fairness"
    title = "Group fairness"
    section = "fairness"
    needs = frozenset({"model", "labels", "sensitive_features", "task:classification"})
    order = 20
    thresholds = {
        "demographic_parity_ratio_warn": rate(0.8, "demographic parity ratio below which it warns (four-fifths rule)",
                                              higher_is_better=True),
        "demographic_parity_ratio_fail": rate(0.6, "demographic parity ratio below which it fails",
                                              higher_is_better=True),
        "equalized_odds_difference_warn": rate(0.1, "equalized odds difference above which it warns",
                                               higher_is_better=False),
        "equalized_odds_difference_fail": rate(0.2, "equalized odds difference above which it fails",
                                               higher_is_better=False),
    }

    _parameter_constraints = {"n_boot": [Interval(int, 0, None)], "intersections": ["boolean"],
                              "min_group_size": [Interval(int, 0, None)]}
    #: Headline metrics the model card's YAML model-index lists (with their interval bounds).
    model_index = ("demographic_parity_ratio", "equalized_odds_difference")
    advice = {
        "demographic_parity_ratio": "One group is selected far less often than another: check the base rates "
                                    "(DATASHEET.md) and whether the gap is justified; if not, mitigate (per-group "
                                    "thresholds, reweighing) and re-audit.",
        "equalized_odds_difference": "Error rates differ between groups, so the model fails some people more "
                                     "often: compare the per-group TPR/FPR above and mitigate (per-group thresholds, "
                                     "fairness-constrained training) before shipping.",
    }

    def __init__(self, *, n_boot: int = 200, intersections: bool = True, min_group_size: int = 30):
        self.n_boot = n_boot
        self.intersections = intersections
        self.min_group_size = min_group_size

    def run(self, context: AuditContext):
        proba = context.predict_proba()
        y_score = proba[:, 1] if proba.shape[1] == 2 else None
        # the table's fair range is the findings' warn level, so its flag and the finding agree
        # for the same number (a "pass" flag is a passing finding, a "fail" flag a warn or fail)
        return fairness_report(context.y(), context.predict(), sensitive_features=context.sensitive_features(),
                               y_score=y_score, intersections=self.intersections, n_boot=self.n_boot,
                               random_state=context.random_state, min_group_size=self.min_group_size,
                               **self._fair_range(context.thresholds))

    def _fair_range(self, thresholds: Mapping[str, float]) -> dict[str, float]:
        defaults = {k: spec.default for k, spec in self.thresholds.items()}
        return {"ratio_threshold": thresholds.get("demographic_parity_ratio_warn",
                                                  defaults["demographic_parity_ratio_warn"]),
                "difference_threshold": thresholds.get("equalized_odds_difference_warn",
                                                       defaults["equalized_odds_difference_warn"])}

    def summarize(self, result) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        for (feature, measure), row in result.table.iterrows():
            if measure in ("demographic_parity_ratio", "equalized_odds_difference") and feature != "overall":
                summary[f"{measure}[{feature}]"] = None if np.isnan(row["value"]) else float(row["value"])
                for bound in ("ci_lower", "ci_upper"):
                    value = row[bound]
                    summary[f"{measure}[{feature}].{bound}"] = None if np.isnan(value) else float(value)
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for key, value in summary.items():
            if key.endswith((".ci_lower", ".ci_upper")):
                continue
            measure, feature = key[:-1].split("[", 1)
            rows.append(headline_row(measure, value, feature=feature, lower=summary.get(f"{key}.ci_lower"),
                                     upper=summary.get(f"{key}.ci_upper"),
                                     direction="higher" if measure == "demographic_parity_ratio" else "lower"))
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        out = []
        for key, value in summary.items():
            if key.endswith((".ci_lower", ".ci_upper")):
                continue
            measure, feature = key[:-1].split("[", 1)
            evidence = {"ci": [summary.get(f"{key}.ci_lower"), summary.get(f"{key}.ci_upper")]}
            if measure == "demographic_parity_ratio":
                out.append(grade(self.name, key, value, warn=thresholds["demographic_parity_ratio_warn"],
                                 fail=thresholds["demographic_parity_ratio_fail"], higher_is_better=True,
                                 what=f"The demographic parity ratio of {feature}", evidence=evidence))
            else:
                out.append(grade(self.name, key, value, warn=thresholds["equalized_odds_difference_warn"],
                                 fail=thresholds["equalized_odds_difference_fail"], higher_is_better=False,
                                 what=f"The equalized odds difference of {feature}", evidence=evidence))
        return out

    @staticmethod
    def render(record):
        """Section: the measures table (value, interval, flag, definition) and a disparity plot."""
        from ...report import Section, figure_to_png, frame_from_record, plot_disparity

        table = frame_from_record(record["result"]["table"])
        by_group = frame_from_record(record["result"]["by_group"])
        text = ["Each measure with its bootstrap interval. 'uncertain': the interval straddles the fair range's "
                "edge, so the data cannot tell whether the gap is real."]
        if "selection_rate" not in by_group.columns:
            return Section(record["title"], text, tables=[("Fairness measures", table)], anchor=record["name"])
        figure = figure_to_png(plot_disparity(by_group, "selection_rate", higher_is_better=True))
        return Section(record["title"], text, anchor=record["name"], panels=[
            ("Fairness measures", table, "Selection rate: each group's gap to the best group", figure)])
