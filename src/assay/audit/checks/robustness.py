"""Robustness to corruptions by group: accuracy vs severity on the audited split, per group.

Tabular corruptions for DataFrame inputs, image corruptions for image inputs ``(n, c, h, w)``; a
small default set (4 corruptions x severities 1, 3, 5 on at most ``max_rows`` rows) keeps the
audit fast. Adversarial robustness: for a torch model of images, PGD (L-inf, ``attack_eps``, 10
steps) on at most ``max_attack_rows`` of those rows, through :func:`assay.robustness.attack_report`
(robust accuracy and attack success overall and per group). For DataFrame inputs (any model), the
constraint-aware black-box :class:`assay.robustness.TabularAttack` (numeric columns within
``tabular_attack_eps`` of their training standard deviation, at most ``attack_max_changes`` columns
per row, categories kept valid) with the sensitive features and ``attack_immutable`` held fixed.
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

#: Default corruptions of the audit, per input kind.
DEFAULT_CORRUPTIONS = {"tabular": ("numeric_noise", "category_swap", "feature_dropout", "unit_error"),
                       "image": ("gaussian_noise", "gaussian_blur", "contrast", "rotate")}


@dataclasses.dataclass(frozen=True)
class RobustnessCheckResult(Result):
    """The corruption curves of the audited split (a sample of ``n_rows`` rows).

    ``table`` is :attr:`assay.robustness.RobustnessCurve.table` (tidy: corruption, severity,
    feature, group, metric, value, lower, upper, count, small; clean rows at severity 0),
    ``degradation`` and ``fastest`` as there. ``attacks``: the adversarial part (None when no
    attack applies): ``attack``, ``eps``, ``steps``, ``n_rows``, ``success_rate``,
    ``robust_accuracy``, ``clean_accuracy`` and ``table`` (:meth:`AttackReport.to_frame`: overall
    and per group, with intervals).
    """

    kind: str
    corruptions: tuple
    severities: tuple
    n_rows: int
    table: pd.DataFrame
    degradation: pd.DataFrame
    fastest: pd.DataFrame
    attacks: Any = None


@register_check
class RobustnessCheck(Check):
    """Accuracy under corruptions of growing severity, overall and per group; the group that breaks first."""

    name = "robustness"
    title = "Robustness to corruptions by group"
    section = "robustness"
    needs = frozenset({"model", "labels"})
    order = 45
    #: Not under "auto": it runs the model on every corrupted copy; name it in ``checks``.
    auto = False
    thresholds: ClassVar[dict[str, Threshold]] = {
        "robust_accuracy_drop_warn": rate(0.10, "drop of overall accuracy from the clean inputs to the highest "
                                          "severity of the worst corruption that warns", higher_is_better=False),
        "robust_accuracy_drop_fail": rate(0.25, "that drop that fails", higher_is_better=False),
        "group_robustness_gap_warn": rate(0.05, "how much more a group's accuracy drops (clean to the highest "
                                          "severity) than any other group's of the same feature, worst corruption, "
                                          "that warns", higher_is_better=False),
        "group_robustness_gap_fail": rate(0.15, "that gap that fails", higher_is_better=False),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "corruptions": [None, list, tuple],
        "severities": [list, tuple],
        "max_rows": [Interval(Integral, 1, None)],
        "n_boot": [Interval(Integral, 0, None)],
        "min_group_size": [Interval(Integral, 0, None)],
        "valid_range": [tuple, list],
        "attack_eps": [None, Interval(float, 0, None, closed="neither")],
        "max_attack_rows": [Interval(Integral, 1, None)],
        "tabular_attack_eps": [Interval(float, 0, None, closed="neither")],
        "attack_max_changes": [None, Interval(Integral, 1, None)],
        "attack_immutable": [list, tuple],
    }
    model_index = ("clean_accuracy", "robust_accuracy", "robust_accuracy_drop", "adversarial_robust_accuracy",
                   "group_robustness_gap")
    advice: ClassVar[dict[str, str]] = {
        "robust_accuracy_drop": "Accuracy collapses under input corruptions the model may meet in deployment: train "
                                "with these corruptions as augmentation, validate and clean inputs upstream "
                                "(units, missing values), and monitor the input distribution.",
        "group_robustness_gap": "This group's accuracy falls faster than the others' under corruption, so noisy or "
                                "degraded inputs hurt it most (a fairness problem): check its data quality and "
                                "representation, and augment its training data with the corruption.",
    }

    def __init__(self, *, corruptions: Any = None, severities: Any = (1, 3, 5), max_rows: int = 2000,
                 n_boot: int = 200, min_group_size: int = 30, valid_range: Any = (0.0, 1.0),
                 attack_eps: float | None = 0.1, max_attack_rows: int = 500, tabular_attack_eps: float = 0.3,
                 attack_max_changes: int | None = 3, attack_immutable: Any = ()):
        self.corruptions = corruptions
        self.severities = severities
        self.max_rows = max_rows
        self.n_boot = n_boot
        self.min_group_size = min_group_size
        self.valid_range = valid_range
        self.attack_eps = attack_eps
        self.max_attack_rows = max_attack_rows
        self.tabular_attack_eps = tabular_attack_eps
        self.attack_max_changes = attack_max_changes
        self.attack_immutable = attack_immutable

    def applicable(self, context: AuditContext) -> str | None:
        reason = super().applicable(context)
        if reason is None and not (isinstance(context.X(), pd.DataFrame) or getattr(context.X(), "ndim", 0) == 4):
            return "needs a DataFrame or images (n, c, h, w)"
        return reason

    def run(self, context: AuditContext) -> RobustnessCheckResult:
        from ...robustness import get_corruption, robustness_curve

        X, y, sensitive = context.X(), np.asarray(context.y()), context.sensitive_features()
        kind = "tabular" if isinstance(X, pd.DataFrame) else "image"
        if len(y) > self.max_rows:
            rows = np.sort(np.random.default_rng(context.random_state).choice(len(y), self.max_rows, replace=False))
            X = X.iloc[rows] if kind == "tabular" else X[rows]
            y = y[rows]
            sensitive = None if sensitive is None else sensitive.iloc[rows]
        if sensitive is not None and sensitive.shape[1] == 0:
            sensitive = None
        names = list(DEFAULT_CORRUPTIONS[kind] if self.corruptions is None else self.corruptions)
        if kind == "tabular":
            train = context.X("train") if "train" in context.splits and context.eval_split != "train" else None
            options = {"reference": train} if isinstance(train, pd.DataFrame) else {}
        else:
            options = {"valid_range": tuple(self.valid_range)}
        corruptions = [get_corruption(n, **options) if isinstance(n, str) else n for n in names]
        curve = robustness_curve(context.model, X, y, corruptions=corruptions, severities=list(self.severities),
                                 sensitive_features=sensitive, n_boot=self.n_boot, random_state=context.random_state,
                                 min_group_size=self.min_group_size)
        return RobustnessCheckResult(kind, tuple(c.name for c in corruptions), tuple(sorted(self.severities)), len(y),
                                     curve.table, curve.degradation, curve.fastest,
                                     self.run_attacks(context, X, y, sensitive))

    def run_attacks(self, context: AuditContext, X: Any, y: np.ndarray, sensitive: pd.DataFrame | None) -> Any:
        """Attack at most ``max_attack_rows`` of the rows: PGD (L-inf, ``attack_eps``, 10 steps of
        eps/4) for a torch model of images, :class:`TabularAttack` for DataFrame inputs; None when
        no attack applies (other inputs, or ``attack_eps=None``)."""
        from ...robustness import PGD, TabularAttack, attack_report

        tabular = isinstance(X, pd.DataFrame)
        images = getattr(context.model, "kind", None) == "torch" and getattr(X, "ndim", 0) == 4
        if self.attack_eps is None or not (tabular or images):
            return None
        n = min(len(y), self.max_attack_rows)
        X, y = (X.iloc[:n], y[:n]) if tabular else (X[:n], y[:n])  # the curves' sample is already random
        sensitive = None if sensitive is None else sensitive.iloc[:n]
        if tabular:
            train = context.X("train") if "train" in context.splits and context.eval_split != "train" else None
            fixed = [c for c in (*self.attack_immutable, *(() if sensitive is None else sensitive.columns))
                     if c in X.columns]
            eps, queries = float(self.tabular_attack_eps), 100
            attack = TabularAttack(eps=eps, max_changes=self.attack_max_changes, immutable=list(dict.fromkeys(fixed)),
                                   reference=train if isinstance(train, pd.DataFrame) else None,
                                   max_queries=queries, random_state=context.random_state)
            report = attack_report(context.model, X, y, attack, sensitive_features=sensitive, n_boot=self.n_boot,
                                   random_state=context.random_state)
            budget = "at most " + (f"{self.attack_max_changes} columns" if self.attack_max_changes else "every column")
            description = (f"TabularAttack (black-box; numeric moves <= {eps:g} training sd, {budget} changed, "
                           f"categories kept valid, fixed: {', '.join(map(str, fixed)) or 'none'}), {queries} queries, "
                           f"{n} rows")
            return {"attack": "TabularAttack", "norm": "inf (training sd units)", "eps": eps, "steps": queries,
                    "n_rows": int(n), "immutable": [str(c) for c in fixed], "description": description,
                    "success_rate": float(report.success_rate), "robust_accuracy": float(report.robust_accuracy),
                    "clean_accuracy": float(report.clean_accuracy), "table": report.to_frame()}
        labels = np.searchsorted(context.model.classes_, y)
        eps = float(self.attack_eps)
        attack = PGD(context.model.model, eps=eps, norm="inf", steps=10, step_size=eps / 4,
                     clip=tuple(self.valid_range))
        report = attack_report(context.model.model, X, labels, attack, sensitive_features=sensitive,
                               n_boot=self.n_boot, random_state=context.random_state)
        return {"attack": "PGD", "norm": "inf", "eps": eps, "steps": 10, "n_rows": int(n),
                "description": f"PGD L-inf eps={eps:g}, 10 steps, {n} rows",
                "success_rate": float(report.success_rate), "robust_accuracy": float(report.robust_accuracy),
                "clean_accuracy": float(report.clean_accuracy), "table": report.to_frame()}

    def summarize(self, result) -> dict[str, Any]:
        table = result.table[result.table["metric"] == "accuracy"]
        overall = table[table["feature"] == "overall"]
        clean = overall[overall["corruption"] == "clean"].iloc[0]
        top = overall[overall["severity"] == overall["severity"].max()].set_index("corruption")
        worst = top["value"].idxmin()
        summary: dict[str, Any] = {
            "n_rows": int(result.n_rows), "corruptions": list(result.corruptions),
            "severities": list(result.severities),
            "clean_accuracy": finite_or_none(clean["value"]), "clean_accuracy_ci": [finite_or_none(clean["lower"]),
                                                                            finite_or_none(clean["upper"])],
            "robust_accuracy": finite_or_none(top["value"].mean()),
            "accuracy_at_max": {c: finite_or_none(v) for c, v in top["value"].items()},
            "worst_corruption": str(worst), "worst_corruption_accuracy": finite_or_none(top.loc[worst, "value"]),
            "worst_corruption_ci": [finite_or_none(top.loc[worst, "lower"]), finite_or_none(top.loc[worst, "upper"])],
            "robust_accuracy_drop": finite_or_none(clean["value"] - top.loc[worst, "value"]),
            "group_robustness_gap": {}, "fastest_group": {},
        }
        fastest = result.fastest.dropna(subset=["gap"])
        for feature, rows in fastest.groupby("feature", sort=False):
            row = rows.loc[rows["gap"].idxmax()]
            summary["group_robustness_gap"][feature] = finite_or_none(row["gap"])
            summary["fastest_group"][feature] = {"group": str(row["group"]), "corruption": str(row["corruption"]),
                                                 "drop": finite_or_none(row["drop"]),
                                                 "slope": finite_or_none(row["slope"])}
        if result.attacks is not None:
            attacks = result.attacks
            summary.update(adversarial_robust_accuracy=finite_or_none(attacks["robust_accuracy"]),
                           attack_success_rate=finite_or_none(attacks["success_rate"]),
                           attack=attacks.get("description") or f"{attacks['attack']} L-{attacks['norm']} "
                                  f"eps={attacks['eps']:g}, {attacks['steps']} steps, {attacks['n_rows']} rows")
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = [headline_row("clean_accuracy", summary["clean_accuracy"], group="overall",
                             lower=summary["clean_accuracy_ci"][0], upper=summary["clean_accuracy_ci"][1],
                             direction="higher"),
                headline_row("robust_accuracy", summary["robust_accuracy"], group="overall", direction="higher"),
                headline_row("robust_accuracy_drop", summary["robust_accuracy_drop"], group="overall",
                             direction="lower")]
        if summary.get("adversarial_robust_accuracy") is not None:
            rows.append(headline_row("adversarial_robust_accuracy", summary["adversarial_robust_accuracy"],
                                     group="overall", direction="higher"))
        rows += [headline_row("group_robustness_gap", value, feature=feature,
                              group=summary["fastest_group"][feature]["group"], direction="lower")
                 for feature, value in summary["group_robustness_gap"].items()]
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        top = max(summary["severities"])
        out = [grade(self.name, "robust_accuracy_drop", summary["robust_accuracy_drop"],
                     warn=thresholds["robust_accuracy_drop_warn"], fail=thresholds["robust_accuracy_drop_fail"],
                     higher_is_better=False,
                     what=f"The drop of accuracy from clean inputs to {summary['worst_corruption']} at severity {top}",
                     evidence={"corruption": summary["worst_corruption"],
                               "clean_accuracy": summary["clean_accuracy"],
                               "corrupted_accuracy": summary["worst_corruption_accuracy"]})]
        for feature, value in summary["group_robustness_gap"].items():
            info = summary["fastest_group"][feature]
            out.append(grade(self.name, f"group_robustness_gap[{feature}]", value,
                             warn=thresholds["group_robustness_gap_warn"], fail=thresholds["group_robustness_gap_fail"],
                             higher_is_better=False,
                             what=f"How much more the accuracy of {feature} = {info['group']} drops under "
                                  f"{info['corruption']} (clean to severity {top}) than any other group's",
                             evidence={"group": info["group"], **info}))
        return out

    @staticmethod
    def render(record):
        """Section: accuracy vs severity per group (small multiples) beside the drop table."""
        from ...report import Section, figure_to_png, frame_from_record, plot_robustness_curves

        result, summary = record["result"], record["summary"]
        table = frame_from_record(result["table"])
        degradation = frame_from_record(result["degradation"])
        shown = degradation.set_index(["corruption", "feature", "group"])[["clean", "at_max", "drop", "slope"]]
        figure = figure_to_png(plot_robustness_curves(table))
        text = (f"Accuracy on {result['n_rows']} rows of the evaluation split under {len(result['corruptions'])} "
                f"{result['kind']} corruptions ({', '.join(result['corruptions'])}) at severities "
                f"{', '.join(str(s) for s in result['severities'])} (0 = clean), overall and per group, with 95% "
                f"bootstrap bands. Worst corruption: {summary['worst_corruption']} (accuracy "
                f"{summary['worst_corruption_accuracy']:.3f} at the highest severity, clean "
                f"{summary['clean_accuracy']:.3f}). 'drop' is clean minus highest severity; 'slope' the "
                "least-squares change per severity step; a group breaking first is the one whose drop exceeds "
                "every other group's.")
        tables, paragraphs = [], [text]
        if result.get("attacks"):
            attacks = result["attacks"]
            paragraphs.append(f"Adversarial: {summary['attack']}: robust accuracy {attacks['robust_accuracy']:.3f} "
                              f"(clean {attacks['clean_accuracy']:.3f}), attack success {attacks['success_rate']:.3f}.")
            tables.append((f"{attacks['attack']} (L-{attacks['norm']}, eps {attacks['eps']:g}): robust accuracy and "
                           "attack success overall and per group, 95% intervals", frame_from_record(attacks["table"])))
        return Section(record["title"], paragraphs,
                       panels=[("Accuracy clean, at the highest severity, its drop and slope, per group",
                                shown.reset_index(), "Accuracy vs corruption severity by group", figure)],
                       tables=tables, anchor=record["name"])

    @staticmethod
    def card(record) -> list[str]:
        """Model-card lines: clean vs corrupted accuracy, and the group that breaks first."""
        summary = record["summary"]
        lines = [(f"Robustness to input corruptions ({', '.join(summary['corruptions'])}; severities "
                 f"{', '.join(str(s) for s in summary['severities'])}, on {summary['n_rows']} rows): clean accuracy "
                 f"{summary['clean_accuracy']:.4f}, mean accuracy at the highest severity "
                 f"{summary['robust_accuracy']:.4f}, worst {summary['worst_corruption']} "
                 f"{summary['worst_corruption_accuracy']:.4f} (drop {summary['robust_accuracy_drop']:.4f}).")]
        from ...report import escape_markdown

        if summary.get("adversarial_robust_accuracy") is not None:
            lines += ["", (f"Adversarial robustness ({summary['attack']}): robust accuracy "
                          f"{summary['adversarial_robust_accuracy']:.4f}, attack success "
                          f"{summary['attack_success_rate']:.4f}.")]
        for feature, gap in summary["group_robustness_gap"].items():
            info = summary["fastest_group"][feature]
            lines += ["", (f"Breaks first among {escape_markdown(feature)}: {escape_markdown(info['group'])} under "
                          f"{info['corruption']} (drop {info['drop']:.4f}, {gap:.4f} more than any other group).")]
        return lines
