"""Out-of-distribution detection: how well the model's inputs can be told from foreign ones.

Runs the detectors of :mod:`assay.ood` that fit the model on the evaluation split
(in-distribution) against every OOD split ("ood" or "ood:<name>"): AUROC, FPR at 95% TPR and
the rest with bootstrap intervals; the threshold that keeps 95% of in-distribution inputs and
what it does on each OOD set; accuracy when the model abstains on the inputs the detector
flags (selective prediction); and, with sensitive features, the share of each group's
in-distribution inputs the threshold refuses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...core.component import Interval, Options, SequenceOf
from ...core.result import Result
from ...metrics import GroupedMetrics
from ...ood import OODEvaluation
from ...ood.study import DETECTORS, audit_detectors, has_layer  # noqa: F401 - DETECTORS: the names it builds
from ..base import AuditContext, Check, Finding, grade, headline_row, rate, register_check

@dataclasses.dataclass(frozen=True)
class OODCheckResult(Result):
    """What the OOD check measured.

    Attributes
    ----------
    evaluation : OODEvaluation
        Every detector on every OOD set (in-distribution: the evaluation split).
    primary_detector : str
        The detector with the highest mean AUROC over the OOD sets; the threshold, selective
        prediction and per-group rejection below use it.
    threshold : DataFrame
        One row per detector: ``threshold`` (score above which an input is refused), ``fitted_on``,
        ``target_tpr``, ``achieved_tpr`` (share of held-out in-distribution inputs accepted) and
        ``fpr[<set>]`` (share of each OOD set accepted) at that threshold.
    selective : DataFrame or None
        Accuracy against coverage when the model abstains on the inputs the primary detector
        scores most OOD (columns ``coverage``, ``accuracy``; at most 101 points); None without labels.
    aurc : float or None
        Area under the risk-coverage curve of that abstention (lower is better).
    rejection_by_group : GroupedMetrics or None
        ``selection_rate`` = share of each group's held-out in-distribution inputs refused.
    scores : dict
        ``{"in": [...], <ood set>: [...]}``: up to 2,000 scores each of the primary detector.
    skipped : dict
        Detector -> why it did not run.
    projection : dict or None
        ``points`` (DataFrame ``x``, ``y``, ``set``: up to 1,000 in-distribution rows and 300 per
        OOD set), ``axis_labels`` and ``source``: the features of the feature detectors (or the
        encoded inputs of the input detectors) on the first two principal components of the
        in-distribution sample. None when no detector reads features or inputs.
    """

    evaluation: OODEvaluation
    primary_detector: str
    threshold: pd.DataFrame
    selective: pd.DataFrame | None
    aurc: float | None
    rejection_by_group: GroupedMetrics | None
    scores: dict[str, list[float]]
    skipped: dict[str, str]
    projection: dict[str, Any] | None = None


def _refusals(record: Mapping[str, Any]) -> pd.DataFrame:
    """The refusal rate per group from a ``rejection_by_group`` record, indexed by (feature, group):
    count, refused (and its interval when bootstrapped), small."""
    from ...report import frame_from_record

    by_group = frame_from_record(record["by_group"])
    out = pd.DataFrame({"count": by_group["count"].astype(int), "refused": by_group["selection_rate"].astype(float)})
    if record.get("ci"):
        ci = frame_from_record(record["ci"])
        for bound in ("lower", "upper"):
            out[f"refused_{bound}"] = ci[("selection_rate", bound)].reindex(by_group.index).astype(float)
    out["small"] = by_group["small"].map({True: "yes", False: ""})
    return out.rename_axis(["feature", "group"])


def _with_intervals(table: pd.DataFrame) -> pd.DataFrame:
    """The evaluation table as text, one row per (detector, OOD set): ``value [lower, upper]``."""
    metrics = [c for c in table.columns if f"{c}_lower" in table.columns and f"{c}_upper" in table.columns]
    out = table.set_index(["detector", "ood_set"])[["n_in", "n_out"]].copy()
    for metric in metrics:
        value, low, high = (table[c].to_numpy(dtype=float) for c in (metric, f"{metric}_lower", f"{metric}_upper"))
        # no-break spaces: an interval never wraps inside its cell
        out[metric] = [f"{v:.3f}\u00a0[{lo:.3f},\u00a0{hi:.3f}]" if np.isfinite(lo) else f"{v:.3f}"
                       for v, lo, hi in zip(value, low, high)]
    return out


@register_check
class OODCheck(Check):
    """Detectors x OOD splits with bootstrap CIs; threshold at a TPR; abstention; refusals per group.

    Parameters
    ----------
    detectors : "auto" or list of detector class names (keys of :data:`DETECTORS`)
        "auto": MaxSoftmax and Entropy always; MaxLogit, Energy and GEN when the model returns
        logits; Mahalanobis and KNN on ``layer`` for torch models with a "train" split (fitted
        on it); Isolation Forest and a Gaussian mixture on the encoded inputs for tabular data
        (DataFrames or 2-D numeric arrays)
        with a "train" split.
    layer : str, default "penultimate"
        The torch layer the feature detectors read.
    tpr : float in (0, 1), default 0.95
        Share of in-distribution inputs the threshold keeps. It is fitted on the "val" split
        when there is one, else on a random half of the evaluation split (and every
        thresholded number is measured on the other half).
    n_boot : int, default 200
        Bootstrap resamples of the detection metrics.
    max_fit_rows : int, default 20000
        Rows of the training split the feature and input detectors are fitted on (a seeded
        subsample above it).
    min_group_size : int, default 30
    """

    name = "ood"
    title = "Out-of-distribution detection"
    section = "ood"
    needs = frozenset({"model", "ood", "task:classification"})
    order = 40
    thresholds = {
        "ood_auroc_warn": rate(0.8, "AUROC of the primary detector against an OOD set below which it warns",
                               higher_is_better=True),
        "ood_rejection_ratio_warn": rate(0.5, "lowest / highest share of a group's inputs refused below which it "
                                         "warns (0.5: one group refused twice as often)", higher_is_better=True),
    }

    _parameter_constraints = {"detectors": [Options(str, ("auto",)), SequenceOf(str)], "layer": [str],
                              "tpr": [Interval(float, 0, 1, closed="neither")], "n_boot": [Interval(int, 0, None)],
                              "max_fit_rows": [Interval(int, 10, None)], "min_group_size": [Interval(int, 0, None)]}
    #: Headline metrics ("*" ends a prefix) the model card's YAML model-index lists.
    model_index = ("auroc", "fpr_at_*", "aurc")
    advice = {
        "auroc": "The model cannot tell these inputs from its training data, so it will answer them "
                 "confidently: try another detector or layer, or refuse inputs from this source upstream.",
        "rejection_ratio": "The OOD threshold refuses one group's ordinary inputs more often than another's: "
                           "those people are denied service for looking unusual; refit the threshold per group "
                           "or choose a detector with equal refusal rates.",
    }

    def __init__(self, *, detectors: Any = "auto", layer: str = "penultimate", tpr: float = 0.95,
                 n_boot: int = 200, max_fit_rows: int = 20000, min_group_size: int = 30):
        self.detectors = detectors
        self.layer = layer
        self.tpr = tpr
        self.n_boot = n_boot
        self.max_fit_rows = max_fit_rows
        self.min_group_size = min_group_size

    def layers(self, context: AuditContext) -> list[str]:
        if context.model is None or "torch" not in context.capabilities() or not has_layer(context.model, self.layer):
            return []
        return [self.layer]

    def run(self, context: AuditContext) -> OODCheckResult:
        audit = audit_detectors(
            context.model, context.splits, ood_splits=context.ood_splits(), eval_split=context.eval_split,
            detectors=self.detectors, layer=self.layer, tpr=self.tpr, n_boot=self.n_boot,
            max_fit_rows=self.max_fit_rows, min_group_size=self.min_group_size, random_state=context.random_state,
            owner="OODCheck")
        return OODCheckResult(**{f.name: getattr(audit, f.name) for f in dataclasses.fields(audit)})

    # ------------------------------------------------------------------ summary and findings
    def summarize(self, result: OODCheckResult) -> dict[str, Any]:
        table = result.evaluation.table
        primary = table[table["detector"] == result.primary_detector].set_index("ood_set")
        fpr_column = [m for m in result.evaluation.metrics if m.startswith("fpr")][0]
        summary: dict[str, Any] = {
            "primary_detector": result.primary_detector,
            "auroc": {s: float(v) for s, v in primary["auroc"].items()},
            fpr_column: {s: float(v) for s, v in primary[fpr_column].items()},
            "min_auroc": float(primary["auroc"].min()),
            "best_auroc": {s: float(v) for s, v in result.evaluation.best_detector("auroc")["value"].items()},
            "threshold_achieved_tpr": float(result.threshold.loc[result.primary_detector, "achieved_tpr"]),
        }
        if result.aurc is not None:
            summary["aurc"] = result.aurc
        if result.rejection_by_group is not None:
            groups = result.rejection_by_group.by_group
            reported = groups[~groups["small"]]["selection_rate"]
            ratios = {}
            for feature in reported.index.get_level_values(0).unique():
                rates = reported.loc[feature]
                if len(rates) > 1 and rates.max() > 0:
                    ratios[str(feature)] = float(rates.min() / rates.max())
            summary["rejection_ratio"] = ratios
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        fpr = [k for k in summary if k.startswith("fpr_at_")]
        rows = [headline_row("auroc", v, feature=s, direction="higher") for s, v in summary["auroc"].items()]
        rows += [headline_row(k, v, feature=s, direction="lower") for k in fpr for s, v in summary[k].items()]
        rows += [headline_row("threshold_achieved_tpr", summary["threshold_achieved_tpr"], direction="higher")]
        if "aurc" in summary:
            rows.append(headline_row("aurc", summary["aurc"], direction="lower"))
        rows += [headline_row("rejection_ratio", v, feature=f, direction="higher")
                 for f, v in summary.get("rejection_ratio", {}).items()]
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        out = []
        detector = summary["primary_detector"]
        for split, value in summary["auroc"].items():
            out.append(grade(self.name, f"auroc[{split}]", value, warn=thresholds["ood_auroc_warn"],
                             higher_is_better=True,
                             what=f"The OOD AUROC of {detector} against {split!r}"))
        for feature, ratio in summary.get("rejection_ratio", {}).items():
            out.append(grade(self.name, f"rejection_ratio[{feature}]", ratio,
                             warn=thresholds["ood_rejection_ratio_warn"], higher_is_better=True,
                             what=f"The ratio of the lowest to the highest share of in-distribution inputs "
                                  f"refused by {detector}'s threshold across groups of {feature}"))
        return out

    @staticmethod
    def card(record) -> list[str] | dict[str, list[str]]:
        """Model-card lines: the primary detector per OOD set, with intervals, and its threshold; as
        caveats, the groups its threshold refuses most and least."""
        from ...report import escape_markdown, frame_from_record, markdown_table

        result = record["result"]
        primary = result["primary_detector"]
        table = frame_from_record(result["evaluation"]["table"])
        rows = table[table["detector"] == primary].set_index("ood_set")
        fpr = [c for c in rows.columns if c.startswith("fpr_at_") and not c.endswith(("_lower", "_upper"))][0]
        shown = rows[["auroc", "auroc_lower", "auroc_upper", fpr, f"{fpr}_lower", f"{fpr}_upper"]].astype(float)
        shown.insert(0, "n_out", rows["n_out"].astype(int))
        threshold = frame_from_record(result["threshold"]).loc[primary]
        lines = [
            f"Inputs unlike the training data, scored by {escape_markdown(primary)} (the detector with the highest "
            f"mean AUROC of those run: {', '.join(escape_markdown(d) for d in dict.fromkeys(table['detector']))}); "
            f"intervals: {record['params']['n_boot']} bootstrap resamples.", "",
            markdown_table(shown), "",
            f"Refusing inputs scored above {threshold['threshold']:.4g} (fitted on "
            f"{escape_markdown(threshold['fitted_on'])} to keep "
            f"{threshold['target_tpr']:.0%} of in-distribution inputs) kept {threshold['achieved_tpr']:.2%} of held-out "
            "in-distribution inputs.",
        ]
        if not result.get("rejection_by_group"):
            return lines
        refusals = _refusals(result["rejection_by_group"])
        lines += ["", "Share of each group's held-out in-distribution inputs that this threshold refuses (a "
                  "detector that refuses one group more often than another is a fairness problem):", "",
                  markdown_table(refusals)]
        caveats = []
        reported = refusals[refusals["small"] != "yes"]
        for feature in dict.fromkeys(reported.index.get_level_values(0)):
            rates = reported.loc[feature, "refused"]
            if len(rates) > 1 and rates.max() > rates.min():
                caveats.append(f"- The OOD threshold refuses {rates.max():.1%} of in-distribution inputs of "
                               f"{escape_markdown(feature)} = {escape_markdown(rates.idxmax())} against "
                               f"{rates.min():.1%} of {escape_markdown(rates.idxmin())}.")
        return {"Quantitative analyses": lines, "Caveats and recommendations": caveats} if caveats else lines

    # ------------------------------------------------------------------ report section
    @staticmethod
    def render(record):
        """Section: the detector x OOD-set table, ROC curves, score densities, abstention, refusals per group."""
        from ...report import (Section, figure_to_png, frame_from_record, plot_coverage_curve, plot_metric_by_group,
                               plot_ood_roc, plot_ood_score_density, plot_projection)

        result = record["result"]
        evaluation = result["evaluation"]
        table = frame_from_record(evaluation["table"])
        primary = result["primary_detector"]
        threshold = frame_from_record(result["threshold"])
        scores = result["scores"]
        auroc = table.pivot(index="detector", columns="ood_set", values="auroc")
        panels = [("AUROC (rows: detectors; columns: OOD sets)", auroc, "ROC curves of every detector on each OOD set",
                   figure_to_png(plot_ood_roc({"curves": evaluation["curves"], "table": table})))]
        figures = [
            (f"Score density of {primary}, in-distribution against each OOD set, with its threshold",
             figure_to_png(plot_ood_score_density(
                 scores["in"], {k: v for k, v in scores.items() if k != "in"},
                 threshold=float(threshold.loc[primary, "threshold"]), title=f"{primary} score"))),
        ]
        if result.get("selective"):
            selective = frame_from_record(result["selective"])
            fig = plot_coverage_curve(selective["coverage"], selective["accuracy"], label=primary,
                                      title=f"Abstaining on the inputs {primary} scores most OOD "
                                            f"(AURC {result['aurc']:.4f})")
            figures.append(("Accuracy against coverage", figure_to_png(fig)))
        tables = [("Every metric with its 95% bootstrap interval", _with_intervals(table)),
                  (f"Thresholds keeping {record['params']['tpr']:.0%} of in-distribution inputs", threshold)]
        if result.get("projection"):
            projected = result["projection"]
            points = frame_from_record(projected["points"])
            is_ood = (points["set"] != "in-distribution").to_numpy()
            figures.append((f"The {projected['source']} of a sample of each split, on the first two principal "
                            "components of the in-distribution sample",
                            figure_to_png(plot_projection(points[["x", "y"]].to_numpy(), is_ood=is_ood,
                                                          labels=points["set"].to_numpy(),
                                                          axis_labels=projected["axis_labels"],
                                                          title=f"In-distribution against OOD: {projected['source']}"))))
        if result.get("rejection_by_group"):
            refusals = result["rejection_by_group"]
            by_group = frame_from_record(refusals["by_group"])
            ci = frame_from_record(refusals["ci"]) if refusals.get("ci") else None
            panels.append((f"Share of each group's in-distribution inputs refused by {primary}", _refusals(refusals),
                           "Refusal rate by group", figure_to_png(plot_metric_by_group(
                               by_group, "selection_rate", overall=refusals["overall"]["selection_rate"], ci=ci,
                               title=f"Share of in-distribution inputs {primary} refuses",
                               xlabel="share refused"))))
        if result.get("skipped"):
            tables.append(("Detectors not run", pd.Series(result["skipped"], name="why").to_frame()))
        text = [f"In-distribution: the evaluation split. Scores are higher for inputs "
                f"that look more out-of-distribution. The primary detector ({primary}) has the highest mean AUROC; "
                f"its threshold was fitted on {threshold.loc[primary, 'fitted_on']}."]
        return Section(record["title"], text, tables=tables, figures=figures, anchor=record["name"], panels=panels)
