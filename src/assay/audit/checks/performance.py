"""Performance per group and per intersection: the disaggregated table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...core.component import Interval
from ...core.result import Result
from ...metrics import METRICS, GroupedMetrics, evaluate_groups
from ...metrics._stats import MulticlassConfusionStats
from ...metrics.classification import multiclass_metric
from ...metrics.regression import REGRESSION_METRICS, RegressionStats
from ..base import AuditContext, Check, Finding, grade, headline_row, rate, register_check


@dataclasses.dataclass(frozen=True)
class OverallPerformance(Result):
    """Accuracy and balanced accuracy on the whole evaluation split (no sensitive features given)."""

    overall: pd.Series
    metrics: tuple[str, ...] = ("accuracy", "balanced_accuracy")
    by_group: None = None


def overall_performance(y_true: Any, y_pred: Any, classes: Any) -> OverallPerformance:
    """Accuracy and balanced accuracy of any number of classes (one confusion matrix)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    seen = pd.unique(np.concatenate([np.asarray(classes), y_true, y_pred]))
    stats = MulticlassConfusionStats(1, classes=sorted(seen, key=str)).update(y_true, y_pred)
    overall = {m: float(multiclass_metric(m, stats)[0]) for m in OverallPerformance.metrics}
    return OverallPerformance(pd.Series({**overall, "count": int(stats.n[0])}, dtype=object))


def overall_regression(y_true: Any, y_pred: Any, metrics: tuple[str, ...]) -> OverallPerformance:
    """Regression metrics on the whole evaluation split (one group)."""
    stats = RegressionStats(1, n_outputs=int(np.prod(np.shape(y_true)[1:], dtype=int))).update(
        y_true, y_pred, np.zeros(len(y_true), dtype=np.int64))
    overall = {m: float(METRICS[m].function(stats)[0]) for m in metrics}
    return OverallPerformance(pd.Series({**overall, "count": int(stats.n[0])}, dtype=object), metrics=metrics)


#: The metrics of a regressor (when ``metrics`` is left at its classification default).
REGRESSION_DEFAULT = ("rmse", "mae", "r2", "bias")


@dataclasses.dataclass(frozen=True)
class GroupPerformance(GroupedMetrics):
    """The by-group table of :func:`~assay.metrics.evaluate_groups` on the split named ``split``."""

    split: str | None = None


#: Directions of the regression metrics' headline rows.
_REGRESSION_DIRECTIONS = {m: None if spec.higher_is_better is None else "higher" if spec.higher_is_better else "lower"
                          for m, spec in REGRESSION_METRICS.items()}

def _bounds(interval: Any) -> dict[str, Any]:
    return {} if not interval else {"lower": interval[0], "upper": interval[1]}


#: How many small groups the finding names before "and N more".
_SHOWN_SMALL = 5


@register_check
class GroupPerformanceCheck(Check):
    """Accuracy, selection rate, TPR, FPR, PPV (and ECE) per group and intersection; without
    sensitive features, accuracy and balanced accuracy overall. On a regressor: RMSE, MAE, R^2
    and bias (:data:`REGRESSION_DEFAULT`, or the regression metrics named in ``metrics``), the
    worst group's MAE and the MAE gap per feature."""

    name = "group_performance"
    title = "Performance by group"
    section = "performance"
    needs = frozenset({"model", "labels"})
    order = 10
    thresholds = {
        "accuracy_gap_warn": rate(0.05, "largest accuracy difference between groups that warns",
                                  higher_is_better=False),
        "accuracy_gap_fail": rate(0.1, "largest accuracy difference between groups that fails",
                                  higher_is_better=False),
    }

    _parameter_constraints = {"metrics": ["no_validation"],  # names or callables: evaluate_groups checks them
                              "intersections": ["boolean"],
                              "min_group_size": [Interval(int, 0, None)], "n_boot": [Interval(int, 0, None)]}
    #: Headline metrics the model card's YAML model-index lists.
    model_index = ("accuracy", "balanced_accuracy", "tpr", "fpr", "ppv", "rmse", "mae", "r2", "worst_group_mae",
                   "mae_gap", "accuracy_gap")

    def __init__(self, *, metrics=("accuracy", "balanced_accuracy", "selection_rate", "tpr", "fpr", "ppv"),
                 intersections: bool = True, min_group_size: int = 30, n_boot: int = 200):
        self.metrics = metrics
        self.intersections = intersections
        self.min_group_size = min_group_size
        self.n_boot = n_boot

    def _metrics(self, context: AuditContext) -> list[str]:
        if getattr(context.model, "task", "classification") != "regression":
            return list(self.metrics)
        named = [m for m in self.metrics if m in REGRESSION_METRICS]
        return named or list(REGRESSION_DEFAULT)

    def run(self, context: AuditContext):
        sensitive = context.sensitive_features()
        metrics = self._metrics(context)
        regression = getattr(context.model, "task", "classification") == "regression"
        if sensitive is None or not sensitive.shape[1]:
            if regression:
                return overall_regression(context.y(), context.predict(), tuple(metrics))
            return overall_performance(context.y(), context.predict(), context.model.classes_)
        grouped = evaluate_groups(context.y(), context.predict(), sensitive_features=sensitive,
                                  metrics=metrics, intersections=self.intersections,
                                  min_group_size=self.min_group_size, n_boot=self.n_boot,
                                  random_state=context.random_state)
        return GroupPerformance(**{f.name: getattr(grouped, f.name) for f in dataclasses.fields(grouped)},
                                split=context.eval_split)

    def summarize(self, result) -> dict[str, Any]:
        summary: dict[str, Any] = {f"overall_{m}": float(result.overall[m]) for m in result.metrics}
        if result.by_group is None:
            return summary
        if "accuracy" in result.metrics:
            gaps = result.difference()["accuracy"]
            summary["accuracy_gap"] = {str(k): float(v) for k, v in gaps.items()}
        regression = [m for m in result.metrics if m in REGRESSION_METRICS]
        if regression and result.overall_ci is not None:  # the regression rows carry their intervals
            summary["intervals"] = {m: [float(result.overall_ci.loc[m, "lower"]), float(result.overall_ci.loc[m, "upper"])]
                                    for m in regression}
        if "mae" in result.metrics:
            summary["mae_gap"] = {str(k): float(v) for k, v in result.difference()["mae"].items()}
            worst = result.worst_group().xs("mae", level="metric")
            summary["worst_group_mae"] = {str(f): {"group": row["group"], "value": float(row["value"])}
                                          for f, row in worst.iterrows()}
            if result.ci is not None:
                gap_ci = result.difference_ci()["mae"]
                summary["mae_gap_intervals"] = {str(f): [float(gap_ci.loc[f, "lower"]), float(gap_ci.loc[f, "upper"])]
                                                for f in gap_ci.index}
                for f, worst_row in summary["worst_group_mae"].items():
                    if worst_row["group"] is not None:
                        bounds = result.ci.loc[(f, worst_row["group"]), "mae"]
                        worst_row.update(lower=float(bounds["lower"]), upper=float(bounds["upper"]))
        summary["n_groups"] = int(len(result.by_group))
        small = result.by_group[result.by_group["small"].to_numpy(bool)]
        summary["n_small_groups"] = int(len(small))
        if len(small):  # the smallest first, up to a handful
            shown = small["count"].astype(int).sort_values(kind="stable").iloc[:_SHOWN_SMALL]
            summary["small_groups"] = [{"feature": str(f), "group": str(g), "count": int(c)}
                                       for (f, g), c in shown.items()]
        summary["split"] = getattr(result, "split", None)
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = [headline_row(key[len("overall_"):], value, group="overall",
                             direction="lower" if key == "overall_fpr" else "higher" if key in (
                                 "overall_accuracy", "overall_balanced_accuracy", "overall_tpr", "overall_ppv")
                             else _REGRESSION_DIRECTIONS.get(key[len("overall_"):]),
                             **_bounds(summary.get("intervals", {}).get(key[len("overall_"):])))
                for key, value in summary.items() if key.startswith("overall_")]
        rows += [headline_row("accuracy_gap", gap, feature=feature, direction="lower")
                 for feature, gap in summary.get("accuracy_gap", {}).items()]
        rows += [headline_row("worst_group_mae", worst["value"], feature=feature, group=worst["group"],
                              lower=worst.get("lower"), upper=worst.get("upper"), direction="lower")
                 for feature, worst in summary.get("worst_group_mae", {}).items()]
        rows += [headline_row("mae_gap", gap, feature=feature, direction="lower",
                              **_bounds(summary.get("mae_gap_intervals", {}).get(feature)))
                 for feature, gap in summary.get("mae_gap", {}).items()]
        rows += [headline_row(key, summary[key]) for key in ("n_groups", "n_small_groups") if key in summary]
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        out = []
        for feature, gap in summary.get("accuracy_gap", {}).items():
            out.append(grade(self.name, f"accuracy_gap[{feature}]", gap, warn=thresholds["accuracy_gap_warn"],
                             fail=thresholds["accuracy_gap_fail"], higher_is_better=False,
                             what=f"The largest accuracy difference between groups of {feature}"))
        n_small = summary.get("n_small_groups")
        if n_small:
            split = summary.get("split")
            shown = summary.get("small_groups") or []
            named = ", ".join(f"{g['feature']} = {g['group']} ({g['count']} rows)" for g in shown)
            if named and n_small > len(shown):
                named += f" and {n_small - len(shown)} more"
            where = f" of the evaluation split {split!r}" if split else ""
            out.append(Finding(self.name, "warn", f"{n_small} group(s){where} have fewer than {self.min_group_size} "
                               f"rows{': ' + named if named else ''}; their metrics are noisy.", "n_small_groups",
                               float(n_small), float(self.min_group_size),
                               {"split": split, "small_groups": list(shown)}))
        return out

    @staticmethod
    def render(record):
        """The report section: overall numbers, the by-group table, a plot per headline metric."""
        from ...report import Section, figure_to_png, frame_from_record, plot_metric_by_group

        result = record["result"]
        overall = result["overall"]
        if not result.get("by_group"):
            return Section(record["title"], ["No sensitive features were given: the whole evaluation split only."],
                           tables=[("Overall", pd.Series(overall, name="value").to_frame())], anchor=record["name"])
        by_group = frame_from_record(result["by_group"])
        ci = frame_from_record(result["ci"]) if result.get("ci") else None
        figures = [(f"{metric} by group" + (" with 95% bootstrap intervals" if ci is not None else ""),
                    figure_to_png(plot_metric_by_group(by_group, metric, overall=overall[metric],
                                                       ci=None if ci is None else ci[metric])))
                   for metric in ("selection_rate", "tpr", "fpr", "mae", "rmse") if metric in by_group.columns]
        tables = [("Overall", pd.Series(overall, name="value").to_frame()), ("By group", by_group)]
        if ci is not None:
            tables.append((f"Bootstrap intervals by group ({record['params']['n_boot']} resamples, stratified by "
                           "group)", ci))
        return Section(record["title"], [f"Groups with fewer than {record['params']['min_group_size']} rows are "
                                         "flagged 'small'; their numbers are noisy."],
                       tables=tables, figures=figures, anchor=record["name"])

    @staticmethod
    def card(record) -> dict[str, list[str]]:
        """Model card: the features evaluated ("Factors") and the by-group table."""
        from ...report import escape_markdown, frame_from_record, markdown_table
        from ...report.tables import with_intervals

        if not record["result"].get("by_group"):
            overall = pd.Series(record["result"]["overall"], name="value").to_frame().rename_axis("metric")
            return {"Quantitative analyses": [
                "On the whole evaluation split (no sensitive features were given, so no per-group analysis):", "",
                markdown_table(overall)]}
        by_group = frame_from_record(record["result"]["by_group"])
        ci = frame_from_record(record["result"]["ci"]) if record["result"].get("ci") else None
        features = list(dict.fromkeys(by_group.index.get_level_values(0)))
        shown = with_intervals(by_group, ci, digits=4).rename_axis(["feature", "group"])
        intervals = (f"with {record['params']['n_boot']}-resample bootstrap intervals, " if ci is not None else "")
        part = {"Factors": [f"Evaluated per group of: {', '.join(escape_markdown(f) for f in features)} "
                            "(each alone and their intersections)."],
                "Quantitative analyses": [
                    f"Per group and intersection ({intervals}values rounded to 4 decimals; exact values in "
                    "report.json):", "", markdown_table(shown)]}
        summary = record.get("summary") or {}
        if summary.get("n_small_groups"):
            small = summary.get("small_groups") or []
            named = "; ".join(f"{escape_markdown(g['feature'])} = {escape_markdown(g['group'])} "
                              f"({int(g['count'])} rows)" for g in small)
            more = summary["n_small_groups"] - len(small)
            part["Caveats and recommendations"] = [
                f"- {int(summary['n_small_groups'])} group(s) of the evaluation split have fewer than "
                f"{int(record['params']['min_group_size'])} rows" + (f": {named}" if named else "")
                + (f" and {more} more" if more > 0 else "") + ". Their numbers are noisy (see the intervals); "
                "do not draw conclusions about them without more data."]
        return part
