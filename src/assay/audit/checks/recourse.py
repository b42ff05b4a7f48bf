"""Counterfactual fairness and recourse for tabular binary models, per group.

Two questions (issue 20, item 5): does a decision change when only the person's sensitive
attribute changes (:func:`assay.explain.sensitive_flip_rate`, on at most ``max_flip_rows`` rows,
per sensitive feature that is a column of the model's input; ``proxies`` may add known proxy
columns), and how far must a rejected person move to be accepted
(:func:`assay.explain.recourse_cost` on at most ``max_rows`` rejected rows, with every sensitive
column and ``immutable`` held fixed): a group that must change more is treated worse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Interval
from ...core.result import Result
from ..base import AuditContext, Check, Finding, Threshold, finite_or_none, grade, headline_row, rate, register_check


@dataclasses.dataclass(frozen=True)
class RecourseCheckResult(Result):
    """``flips``: per sensitive column of X, :meth:`FlipResult.to_frame` (overall and per group);
    ``recourse``: :attr:`RecourseResult.by_group`; both with ``feature`` and ``group`` columns;
    ``gap``: per feature, the largest minus the
    smallest group mean cost with the groups; ``mean_cost``, ``found_rate``, ``n_rejected``."""

    flips: dict
    recourse: pd.DataFrame | None
    gap: dict
    mean_cost: float
    found_rate: float
    n_rejected: int
    n_flip_rows: int
    immutable: tuple


@register_check
class RecourseCheck(Check):
    """Decisions that flip with the sensitive attribute alone; the cost of recourse per group."""

    name = "recourse"
    title = "Counterfactual fairness and recourse by group"
    section = "fairness"
    needs = frozenset({"model", "tabular", "sensitive_features", "probabilities"})
    order = 27
    #: Not under "auto": the counterfactual search costs thousands of model evaluations; name it in ``checks``.
    auto = False
    thresholds: ClassVar[dict[str, Threshold]] = {
        "sensitive_flip_rate_warn": rate(0.01, "share of decisions that change when only the sensitive attribute "
                                         "(and the proxies given) changes, that warns", higher_is_better=False),
        "sensitive_flip_rate_fail": rate(0.05, "that share that fails", higher_is_better=False),
        "recourse_cost_ratio_warn": Threshold(1.25, "largest over smallest group mean distance to a favourable "
                                              "counterfactual (groups not small) that warns", low=1.0,
                                              higher_is_better=False),
        "recourse_cost_ratio_fail": Threshold(1.5, "that ratio that fails", low=1.0, higher_is_better=False),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "max_rows": [Interval(Integral, 1, None)], "max_flip_rows": [Interval(Integral, 1, None)],
        "n_boot": [Interval(Integral, 0, None)], "min_group_size": [Interval(Integral, 0, None)],
        "immutable": [list, tuple], "proxies": [None, dict], "n_candidates": [Interval(Integral, 1, None)],
    }
    model_index = ("sensitive_flip_rate", "recourse_cost_ratio")
    advice: ClassVar[dict[str, str]] = {
        "sensitive_flip_rate": "Decisions change with the sensitive attribute alone: the model uses it (or the "
                               "proxies given) directly. Remove it and its proxies from the inputs, or constrain the "
                               "model, and re-check the flip rate.",
        "recourse_cost_ratio": "Rejected members of this group must change their features more than others to be "
                               "accepted: check which features the counterfactuals change for them, and whether the "
                               "model's thresholds or features disadvantage the group.",
    }

    def __init__(self, *, max_rows: int = 300, max_flip_rows: int = 2000, n_boot: int = 200,
                 min_group_size: int = 30, immutable: Any = (), proxies: dict | None = None,
                 n_candidates: int = 30):
        self.max_rows = max_rows
        self.max_flip_rows = max_flip_rows
        self.n_boot = n_boot
        self.min_group_size = min_group_size
        self.immutable = immutable
        self.proxies = proxies
        self.n_candidates = n_candidates

    def applicable(self, context: AuditContext) -> str | None:
        reason = super().applicable(context)
        if reason is None and len(context.model.classes_) != 2:
            return "needs a binary classifier"
        return reason

    def run(self, context: AuditContext) -> RecourseCheckResult:
        from ...explain import Counterfactuals, recourse_cost, sensitive_flip_rate

        X, sensitive = context.X(), context.sensitive_features()
        rng = np.random.default_rng(context.random_state)
        flip_rows = np.sort(rng.choice(len(X), min(len(X), self.max_flip_rows), replace=False))
        in_x = [c for c in sensitive.columns if c in X.columns]
        flips = {}
        for column in in_x:
            result = sensitive_flip_rate(context.model, X.iloc[flip_rows], column,
                                         proxies=(self.proxies or {}).get(column, ()),
                                         reference=context.X("train") if "train" in context.splits else None,
                                         sensitive_features=sensitive.iloc[flip_rows], n_boot=self.n_boot,
                                         random_state=context.random_state)
            flips[column] = _tidy(result.to_frame())
        favorable = context.model.classes_[1]
        rejected = np.flatnonzero(context.predict_proba().argmax(axis=1) != 1)
        chosen = np.sort(rng.choice(rejected, min(len(rejected), self.max_rows), replace=False))
        fixed = tuple(dict.fromkeys([*in_x, *(c for c in self.immutable if c in X.columns)]))
        train = context.X("train") if "train" in context.splits and context.eval_split != "train" else None
        search = Counterfactuals(immutable=list(fixed), data=train if isinstance(train, pd.DataFrame) else None,
                                 n_candidates=self.n_candidates, random_state=context.random_state)
        recourse, gap, mean_cost, found_rate = None, {}, float("nan"), float("nan")
        if len(chosen):
            result = recourse_cost(context.model, X.iloc[chosen], sensitive_features=sensitive.iloc[chosen],
                                   favorable=favorable, counterfactuals=search, n_boot=self.n_boot,
                                   min_group_size=self.min_group_size, random_state=context.random_state)
            recourse, gap = _tidy(result.by_group), result.gap
            mean_cost, found_rate = result.mean_cost, result.found_rate
        return RecourseCheckResult(flips, recourse, gap, mean_cost, found_rate, int(len(chosen)), int(len(flip_rows)),
                                   fixed)

    def summarize(self, result) -> dict[str, Any]:
        summary: dict[str, Any] = {"n_rejected": result.n_rejected, "n_flip_rows": result.n_flip_rows,
                                   "immutable": list(result.immutable), "mean_cost": finite_or_none(result.mean_cost),
                                   "found_rate": finite_or_none(result.found_rate), "sensitive_flip_rate": {},
                                   "sensitive_flip_rate_ci": {}, "recourse_cost_ratio": {}, "recourse_gap": {}}
        for column, frame in result.flips.items():
            row = frame.set_index(["feature", "group"]).loc[("overall", "overall")]
            summary["sensitive_flip_rate"][column] = finite_or_none(row["flip_rate"])
            summary["sensitive_flip_rate_ci"][column] = [finite_or_none(row["flip_rate_lower"]),
                                                         finite_or_none(row["flip_rate_upper"])]
        for feature, info in result.gap.items():
            summary["recourse_cost_ratio"][feature] = finite_or_none(info["ratio"])
            summary["recourse_gap"][feature] = {"gap": finite_or_none(info["gap"]), "worst": info["worst"],
                                                "best": info["best"]}
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = [headline_row("sensitive_flip_rate", value, feature=column, group="overall",
                             lower=summary["sensitive_flip_rate_ci"][column][0],
                             upper=summary["sensitive_flip_rate_ci"][column][1], direction="lower")
                for column, value in summary["sensitive_flip_rate"].items()]
        if summary.get("mean_cost") is not None:
            rows.append(headline_row("recourse_cost", summary["mean_cost"], group="overall", direction="lower"))
        rows += [headline_row("recourse_cost_ratio", value, feature=feature,
                              group=summary["recourse_gap"][feature]["worst"], direction="lower")
                 for feature, value in summary["recourse_cost_ratio"].items()]
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        out = [grade(self.name, f"sensitive_flip_rate[{column}]", value, warn=thresholds["sensitive_flip_rate_warn"],
                     fail=thresholds["sensitive_flip_rate_fail"], higher_is_better=False,
                     what=f"The share of decisions that change when only {column} changes",
                     evidence={"interval": summary["sensitive_flip_rate_ci"][column]})
               for column, value in summary["sensitive_flip_rate"].items()]
        for feature, value in summary["recourse_cost_ratio"].items():
            info = summary["recourse_gap"][feature]
            out.append(grade(self.name, f"recourse_cost_ratio[{feature}]", value,
                             warn=thresholds["recourse_cost_ratio_warn"], fail=thresholds["recourse_cost_ratio_fail"],
                             higher_is_better=False,
                             what=f"How many times farther rejected members of {feature} = {info['worst']} must move "
                                  f"to be accepted than those of {info['best']}",
                             evidence=dict(info)))
        return out

    @staticmethod
    def render(record):
        """Section: flip rates and recourse cost by group (bars with intervals)."""
        from ...report import Section, figure_to_png, frame_from_record, plot_metric_by_group

        result, summary = record["result"], record["summary"]
        paragraphs = [f"Decisions are recomputed with only the sensitive attribute changed to each other value on "
                      f"{summary['n_flip_rows']} rows. For {summary['n_rejected']} rejected rows, the nearest "
                      f"favourable counterfactual is searched with {', '.join(summary['immutable']) or 'nothing'} "
                      f"held fixed (distance: L1, numeric columns in training standard deviations, 1 per changed "
                      f"category); {summary['found_rate'] or 0:.1%} found one, at a mean distance of "
                      f"{summary['mean_cost'] if summary['mean_cost'] is not None else float('nan'):.3f}."]
        panels, tables = [], []
        if result.get("recourse"):
            frame = frame_from_record(result["recourse"]).set_index(["feature", "group"])
            figure = figure_to_png(plot_metric_by_group(frame, "mean_cost", ci=frame,
                                                        title="Mean distance to a favourable counterfactual",
                                                        xlabel="distance (training sd units)"))
            panels.append(("Recourse cost and the share of rejected rows with a counterfactual, by group", frame,
                           "Recourse cost by group (95% bootstrap intervals)", figure))
        for column, flips in result["flips"].items():
            tables.append((f"Decisions that change when only {column} changes, overall and by group",
                           frame_from_record(flips)))
        return Section(record["title"], paragraphs, panels=panels, tables=tables, anchor=record["name"])

    @staticmethod
    def card(record) -> list[str]:
        from ...report import escape_markdown

        summary = record["summary"]
        lines = []
        for column, value in summary["sensitive_flip_rate"].items():
            lines += [f"Decisions that change when only {escape_markdown(column)} changes: {value:.4f}.", ""]
        if summary.get("mean_cost") is not None:
            lines.append(f"Recourse: {summary['found_rate']:.4f} of {summary['n_rejected']} rejected rows have a "
                         f"favourable counterfactual, at a mean distance of {summary['mean_cost']:.4f}.")
        for feature, value in summary["recourse_cost_ratio"].items():
            info = summary["recourse_gap"][feature]
            lines += ["", f"Recourse among {escape_markdown(feature)}: {escape_markdown(info['worst'])} must move "
                          f"{value:.2f}x as far as {escape_markdown(info['best'])}."]
        return lines


def _tidy(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """(feature, group) index as columns: records keep them apart."""
    return None if frame is None else frame.rename_axis(["feature", "group"]).reset_index()
