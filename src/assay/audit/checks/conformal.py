"""Conformal prediction sets calibrated on the validation split: coverage and set size by group."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Interval, Options
from ...core.errors import SmallGroupWarning
from ...core.result import Result
from ...uncertainty.conformal import ConformalClassifier, conformal_report
from ..base import AuditContext, Check, Finding, Threshold, finite_or_none, grade, headline_row, rate, register_check


@dataclasses.dataclass(frozen=True)
class ConformalCheckResult(Result):
    """Split-conformal sets fitted on "val", evaluated on the audited split.

    ``marginal`` and ``mondrian`` (None without sensitive features on "val") are
    :meth:`~assay.uncertainty.ConformalReport.to_frame` tables: one row per group ("overall"
    first) with ``coverage``, ``size`` (mean set size), their 95% bootstrap bounds, ``count`` and
    ``small``. ``fallback`` maps each Mondrian cell that used a coarser group's threshold to it.
    """

    alpha: float
    method: str
    threshold: float
    n_calibration: int
    marginal: pd.DataFrame
    mondrian: pd.DataFrame | None
    fallback: dict

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record; table rows are ``[feature, group]`` pairs (as the grouped table's)."""
        out = super().to_dict()
        for name in ("marginal", "mondrian"):
            frame = getattr(self, name)
            if frame is not None:
                out[name]["index"] = [[str(f), str(g)] for f, g in frame.index]
        return out


@register_check
class ConformalCheck(Check):
    """Coverage of split-conformal prediction sets per group; Mondrian calibration where it helps.

    Without sensitive features, coverage is reported per true class ("true_class"), marginal only.
    """

    name = "conformal"
    title = "Conformal prediction sets by group"
    section = "calibration"
    needs = frozenset({"model", "labels", "probabilities", "split:val"})
    order = 35
    thresholds: ClassVar[dict[str, Threshold]] = {
        "undercoverage_warn": rate(0.02, "coverage shortfall below 1 - alpha of a reported group (one whose "
                                   "95% interval lies below 1 - alpha) that warns", higher_is_better=False),
        "undercoverage_fail": rate(0.05, "coverage shortfall below 1 - alpha that fails", higher_is_better=False),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "method": [Options(str, ("lac", "aps", "raps"))],
        "n_boot": [Interval(Integral, 0, None)],
        "min_group_size": [Interval(Integral, 0, None)],
    }
    #: Headline metrics the model card's YAML model-index lists.
    model_index = ("coverage", "mean_set_size", "mondrian_coverage", "overall_undercoverage", "max_undercoverage")
    advice = {
        "overall_undercoverage": "The sets cover less often than promised on this split: the calibration split is "
                                 "not exchangeable with it (a shift, or a calibration split used in training or "
                                 "model selection) or too small; calibrate on a larger held-out split drawn like "
                                 "the deployment data.",
        "max_undercoverage": "The prediction sets promise 1 - alpha coverage but hold it less often for this group: "
                             "calibrate per group (Mondrian: ConformalClassifier.fit(..., sensitive_features=...)) so "
                             "every group gets the guarantee; for a true class (no groups given), per class.",
    }

    def __init__(self, *, alpha: float = 0.1, method: str = "lac", n_boot: int = 200, min_group_size: int = 100):
        self.alpha = alpha
        self.method = method
        self.n_boot = n_boot
        self.min_group_size = min_group_size

    def run(self, context: AuditContext) -> ConformalCheckResult:
        classes = context.model.classes_
        p_val, y_val = context.predict_proba("val"), np.searchsorted(classes, context.y("val"))
        proba, y = context.predict_proba(), np.searchsorted(classes, context.y())
        sensitive, sensitive_val = context.sensitive_features(), context.sensitive_features("val")
        if sensitive is None or not sensitive.shape[1]:
            # no groups given: coverage per true class (class-conditional coverage), reported only; Mondrian
            # needs groups known at prediction time, which a true class is not
            sensitive = pd.DataFrame({"true_class": pd.Categorical(np.asarray(classes)[y].astype(str))})
            sensitive_val = None
        options = {"alpha": self.alpha, "n_boot": self.n_boot, "min_group_size": self.min_group_size,
                   "random_state": context.random_state}
        marginal = ConformalClassifier(method=self.method, alpha=self.alpha).fit(p_val, y_val)
        marginal_frame = conformal_report(marginal.predict_sets(proba), y, sensitive, **options).to_frame()
        mondrian_frame, fallback = None, {}
        if sensitive_val is not None and sensitive_val.shape[1]:
            with warnings.catch_warnings():  # recorded in the result (fallback) instead
                warnings.simplefilter("ignore", SmallGroupWarning)
                mondrian = ConformalClassifier(method=self.method, alpha=self.alpha).fit(
                    p_val, y_val, sensitive_features=sensitive_val[list(sensitive.columns)])
                sets = mondrian.predict_sets(proba, sensitive_features=sensitive)
            mondrian_frame = conformal_report(sets, y, sensitive, **options).to_frame()
            fallback = dict(mondrian.fallback_)
        return ConformalCheckResult(float(self.alpha), self.method, float(marginal.threshold_),
                                    int(marginal.n_calibration_), marginal_frame, mondrian_frame, fallback)

    def summarize(self, result) -> dict[str, Any]:
        target = 1 - result.alpha
        marginal, mondrian = result.marginal, result.mondrian
        summary: dict[str, Any] = {"target_coverage": target}
        for prefix, frame in (("", marginal), ("mondrian_", mondrian)):
            if frame is None:
                continue
            overall = frame.loc[("overall", "overall")]
            summary[f"{prefix}coverage"] = finite_or_none(overall["coverage"])
            summary[f"{prefix}coverage_ci"] = [finite_or_none(overall["coverage_lower"]),
                                               finite_or_none(overall["coverage_upper"])]
            summary[f"{prefix}mean_set_size"] = finite_or_none(overall["size"])
            summary[f"{prefix}mean_set_size_ci"] = [finite_or_none(overall["size_lower"]),
                                                    finite_or_none(overall["size_upper"])]
        low, high = summary["coverage_ci"]
        clear = summary["coverage"] is not None and summary["coverage"] < target and (high is None or high < target)
        summary["overall_undercoverage"] = target - summary["coverage"] if clear else 0.0
        groups = marginal.drop(index="overall", level=0)
        reported = groups[~groups["small"].astype(bool)]
        summary["max_undercoverage"], summary["worst_group"], summary["undercovered"] = {}, {}, []
        for feature, rows in reported.groupby(level=0, sort=False):
            upper = rows["coverage_upper"].fillna(-np.inf)  # no interval (n_boot=0): the point estimate alone
            clear = rows[(rows["coverage"] < target) & (upper < target)]  # interval wholly below 1 - alpha
            worst = (clear if len(clear) else rows)["coverage"].idxmin()
            summary["max_undercoverage"][feature] = (target - float(rows.loc[worst, "coverage"])) if len(clear) else 0.0
            summary["worst_group"][feature] = str(worst[1]) if len(clear) else None
        for key, row in reported[reported["coverage"] < target].iterrows():
            entry = {"feature": key[0], "group": str(key[1]), "count": int(row["count"]),
                     "coverage": finite_or_none(row["coverage"]), "lower": finite_or_none(row["coverage_lower"]),
                     "upper": finite_or_none(row["coverage_upper"]), "shortfall": target - float(row["coverage"])}
            if mondrian is not None and key in mondrian.index:
                entry.update(mondrian_coverage=finite_or_none(mondrian.loc[key, "coverage"]),
                             mondrian_lower=finite_or_none(mondrian.loc[key, "coverage_lower"]),
                             mondrian_upper=finite_or_none(mondrian.loc[key, "coverage_upper"]))
            summary["undercovered"].append(entry)
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for prefix in ("", "mondrian_"):
            if f"{prefix}coverage" in summary:
                rows.append(headline_row(f"{prefix}coverage", summary[f"{prefix}coverage"], group="overall",
                                         lower=summary[f"{prefix}coverage_ci"][0],
                                         upper=summary[f"{prefix}coverage_ci"][1], direction="higher"))
                rows.append(headline_row(f"{prefix}mean_set_size", summary[f"{prefix}mean_set_size"],
                                         group="overall", lower=summary[f"{prefix}mean_set_size_ci"][0],
                                         upper=summary[f"{prefix}mean_set_size_ci"][1], direction="lower"))
        if "overall_undercoverage" in summary:
            rows.append(headline_row("overall_undercoverage", summary["overall_undercoverage"], group="overall",
                                     direction="lower"))
        rows += [headline_row("max_undercoverage", value, feature=feature, group=summary["worst_group"][feature],
                              direction="lower") for feature, value in summary["max_undercoverage"].items()]
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        target = summary["target_coverage"]
        by_group = {(e["feature"], e["group"]): e for e in summary["undercovered"]}
        out = []
        if "overall_undercoverage" in summary:  # records written before it existed lack it
            out.append(grade(self.name, "overall_undercoverage", summary["overall_undercoverage"],
                             warn=thresholds["undercoverage_warn"], fail=thresholds["undercoverage_fail"],
                             higher_is_better=False,
                             what=f"The shortfall of the marginal coverage {summary['coverage']:.3f} below 1 - alpha "
                                  f"= {target:g} (counted only when its 95% interval lies wholly below)",
                             evidence={"coverage": summary["coverage"], "coverage_ci": summary["coverage_ci"]}))
        for feature, value in summary["max_undercoverage"].items():
            group = summary["worst_group"][feature]
            entry = by_group.get((feature, group), {})
            finding = grade(self.name, f"max_undercoverage[{feature}]", value, warn=thresholds["undercoverage_warn"],
                            fail=thresholds["undercoverage_fail"], higher_is_better=False,
                            what=f"The largest coverage shortfall below 1 - alpha = {target:g} of a group of "
                                 f"{feature} ({group if group is not None else 'none has a 95% interval wholly below'})",
                            evidence={"group": group, **entry})
            fixed = entry.get("mondrian_coverage")
            if finding.severity != "pass" and fixed is not None:
                if fixed >= target - thresholds["undercoverage_warn"]:
                    advice = (f" Mondrian (group-conditional) calibration brings {group} to coverage {fixed:.3f}: "
                              "calibrate the sets per group (ConformalClassifier(...).fit(..., sensitive_features=...)).")
                else:
                    advice = (f" Mondrian calibration gives {group} coverage {fixed:.3f}, still short: "
                              "the group needs more calibration rows.")
                finding = dataclasses.replace(finding, message=finding.message + advice)
            out.append(finding)
        return out

    @staticmethod
    def render(record):
        """Section: coverage by group (marginal and Mondrian) with intervals, and the tables."""
        from ...report import Section, figure_to_png, frame_from_record, plot_conformal_coverage

        result = record["result"]
        target = 1 - result["alpha"]
        tables = {"marginal": frame_from_record(result["marginal"])}
        if result.get("mondrian"):
            tables["Mondrian (per group)"] = frame_from_record(result["mondrian"])
        figure = figure_to_png(plot_conformal_coverage(tables, target=target))
        shown = [(f"{name.capitalize()} conformal sets: coverage and mean set size by group", frame)
                 for name, frame in tables.items()]
        if result.get("fallback"):
            shown.append(("Mondrian cells too small for their own threshold, and the group used",
                          pd.Series(result["fallback"], name="threshold of").rename_axis("cell").to_frame()))
        return Section(record["title"], [(
            f"{result['method'].upper()} prediction sets at alpha = {result['alpha']:g}, calibrated on the "
            f"validation split ({result['n_calibration']} rows), evaluated on this split. Marginal: one threshold "
            "for everyone (coverage 1 - alpha on average only); Mondrian: one threshold per cell of the sensitive "
            "features, so every group and intersection is covered. Bars: 95% bootstrap intervals.")],
            panels=[(*shown[0], "Coverage by group (marginal and Mondrian), with 95% bootstrap intervals", figure)],
            tables=shown[1:], anchor=record["name"])

    @staticmethod
    def card(record) -> list[str]:
        """Model-card lines: coverage and set size, marginal and Mondrian, and the under-covered groups."""
        from ...report import markdown_table

        result, summary = record["result"], record["summary"]

        def span(key: str) -> str:
            low, high = summary.get(f"{key}_ci") or [None, None]
            return f"{summary[key]:.4f}" + (f" [{low:.4f}, {high:.4f}]" if low is not None and high is not None else "")

        lines = [(f"Conformal prediction sets ({result['method'].upper()}, alpha = {result['alpha']:g}, calibrated on "
                  f"the validation split): coverage {span('coverage')}, mean set size {span('mean_set_size')}.")]
        if "mondrian_coverage" in summary:
            lines.append("")
            lines.append(f"Calibrated per group (Mondrian): coverage {span('mondrian_coverage')}, mean set size "
                         f"{span('mondrian_mean_set_size')}.")
        if summary["undercovered"]:
            frame = pd.DataFrame(summary["undercovered"]).set_index(["feature", "group"])
            lines += ["", "Groups the marginal sets under-cover (coverage below 1 - alpha):", "", markdown_table(frame)]
        else:
            lines += ["", "No reported group is covered below 1 - alpha."]
        return lines
