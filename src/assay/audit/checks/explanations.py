"""Explanations: what drives the model, whether it leans on other features for other groups, and
whether its attribution maps can be trusted.

Tables (DataFrame inputs, any model): permutation importance with t-intervals on at most
``max_rows`` rows; KernelSHAP (probability of the positive class, or of the predicted class;
exact for <= 12 columns) of at most ``max_explain_rows`` rows against ``n_background`` rows of the
training split; mean |SHAP| per feature, per sensitive group and intersection with bootstrap
intervals, and the share of importance each group gives each feature; a sensitive feature (or a
named proxy) among the inputs ranking high; local attributions of the most uncertain and the
misclassified rows. Images (torch models, ``(n, c, h, w)``): Saliency, IntegratedGradients and
Grad-CAM (last convolution) on at most ``max_explain_rows`` rows, each with its cascading
parameter-randomisation test and deletion/insertion curves; overlays of a few examples.

Not under "auto": it costs many extra model passes (KernelSHAP: rows x coalitions x background
rows; permutation: features x repeats; the sanity test re-runs every method once per layer).
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
from ..base import (
    AuditContext,
    Check,
    Finding,
    Threshold,
    finite_or_none,
    grade,
    headline_row,
    rate,
    register_check,
)


@dataclasses.dataclass(frozen=True)
class ExplanationsCheckResult(Result):
    """``kind`` "tabular" or "image". Tabular: ``importance`` (permutation, one row per feature),
    ``shap_importance`` (mean |SHAP| with intervals), ``group_shares`` (one row per sensitive
    feature, group and feature: mean |SHAP|, its interval and the group's share), ``differences``
    (:attr:`GroupAttributions.differences`), ``examples`` (local attributions of chosen rows),
    ``shap_method``. Image: ``methods`` (one row per method: final randomisation correlation,
    verdict, deletion/insertion AUCs), ``randomization`` (tidy: method, step, mean, lower,
    upper), ``curves`` (method -> fractions, mean deletion and insertion), ``overlay`` (images,
    maps, titles of a few examples)."""

    kind: str
    n_rows: int
    tables: dict
    info: dict


def _layer_names(module) -> list[str]:
    import torch

    return [n for n, m in module.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv1d))]


@register_check
class ExplanationsCheck(Check):
    """Global and per-group importance (tables), sanity checks and faithfulness of attribution maps (images)."""

    name = "explanations"
    title = "Explanations: importance, per group, and sanity checks"
    section = "explanations"
    needs = frozenset({"model", "labels", "probabilities"})
    order = 60
    #: Not under "auto": thousands of extra model passes (see the module docstring); name it in ``checks``.
    auto = False
    thresholds: ClassVar[dict[str, Threshold]] = {
        "randomization_rank_correlation_warn": Threshold(
            0.5, "Spearman rank correlation of a method's maps with the original after randomising every layer "
                 "(cascading) that warns: the maps barely depend on what the model learned", low=-1.0, high=1.0,
            higher_is_better=False),
        "randomization_rank_correlation_fail": Threshold(0.8, "that correlation that fails", low=-1.0, high=1.0,
                                                         higher_is_better=False),
        "importance_share_gap_warn": rate(0.05, "largest difference between two groups of a sensitive feature in "
                                          "the share of total mean |SHAP| a feature receives, that warns",
                                          higher_is_better=False),
        "importance_share_gap_fail": rate(0.15, "that difference that fails", higher_is_better=False),
        "sensitive_feature_rank_warn": Threshold(5, "rank (1 = most important, mean |SHAP|) of a sensitive "
                                                 "feature or named proxy among the model's inputs below which it "
                                                 "warns", low=1, integer=True, higher_is_better=True),
        "sensitive_feature_rank_fail": Threshold(2, "that rank below which it fails", low=1, integer=True,
                                                 higher_is_better=True),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "max_rows": [Interval(Integral, 10, None)], "max_explain_rows": [Interval(Integral, 2, None)],
        "n_background": [Interval(Integral, 1, None)], "n_repeats": [Interval(Integral, 1, None)],
        "n_samples": [Interval(Integral, 2, None)], "n_boot": [Interval(Integral, 0, None)],
        "min_group_size": [Interval(Integral, 0, None)], "n_examples": [Interval(Integral, 0, None)],
        "proxies": [None, list, tuple], "layer": [None, str],
    }
    model_index = ("randomization_rank_correlation", "importance_share_gap", "sensitive_feature_rank")
    advice: ClassVar[dict[str, str]] = {
        "randomization_rank_correlation": "This method's maps hardly change when the model's weights are randomised, "
                                          "so they show the input (edges, intensities), not what the model uses: do "
                                          "not read them as explanations; prefer a method that passes.",
        "importance_share_gap": "The model leans on this feature much more for one group than another: check whether "
                                "the feature is a proxy for the group, and whether the dependence is justified for "
                                "the task; compare with the fairness check's gaps.",
        "sensitive_feature_rank": "A sensitive attribute (or a named proxy) is among the model's most important "
                                  "inputs: decisions depend on group membership. Remove it and its proxies, or "
                                  "document why it is legitimate, and re-run the fairness checks.",
    }

    def __init__(self, *, max_rows: int = 1000, max_explain_rows: int = 100, n_background: int = 20,
                 n_repeats: int = 5, n_samples: int = 256, n_boot: int = 200, min_group_size: int = 30,
                 n_examples: int = 3, proxies: Any = None, layer: str | None = None):
        self.max_rows = max_rows
        self.max_explain_rows = max_explain_rows
        self.n_background = n_background
        self.n_repeats = n_repeats
        self.n_samples = n_samples
        self.n_boot = n_boot
        self.min_group_size = min_group_size
        self.n_examples = n_examples
        self.proxies = proxies
        self.layer = layer

    def applicable(self, context: AuditContext) -> str | None:
        reason = super().applicable(context)
        if reason is not None:
            return reason
        X = context.X()
        if isinstance(X, pd.DataFrame):
            return None
        if getattr(X, "ndim", 0) == 4 and context.model.kind == "torch":
            return None
        return "needs a DataFrame, or images (n, c, h, w) and a torch model"

    def run(self, context: AuditContext) -> ExplanationsCheckResult:
        if isinstance(context.X(), pd.DataFrame):
            return self._run_tabular(context)
        return self._run_images(context)

    # ------------------------------------------------------------------ tables
    def _run_tabular(self, context: AuditContext) -> ExplanationsCheckResult:
        from ...explain import KernelSHAP
        from ...explain.importance import (
            group_attributions,
            mean_abs_attribution,
            permutation_importance,
        )

        X, y, sensitive = context.X(), context.y(), context.sensitive_features()
        rng = np.random.default_rng(context.random_state)
        model = context.model
        perm_rows = np.sort(rng.choice(len(y), min(len(y), self.max_rows), replace=False))
        importance = permutation_importance(model, X.iloc[perm_rows], y[perm_rows], n_repeats=self.n_repeats,
                                            random_state=context.random_state).to_frame()
        rows = np.sort(rng.choice(len(y), min(len(y), self.max_explain_rows), replace=False))
        source = context.X("train") if "train" in context.splits and context.eval_split != "train" else X
        background = source.iloc[np.sort(rng.choice(len(source), min(len(source), self.n_background),
                                                    replace=False))]
        binary = model.n_classes_ == 2
        explainer = KernelSHAP(model, output="probabilities", n_samples=self.n_samples,
                               random_state=context.random_state)
        att = explainer.attribute(X.iloc[rows], target=1 if binary else None, baselines=background)
        shap_importance = mean_abs_attribution(att)
        tables: dict[str, Any] = {"importance": importance, "shap_importance": shap_importance}
        info: dict[str, Any] = {"shap_method": att.method, "n_explained": len(rows),
                                "n_permutation_rows": len(perm_rows), "n_repeats": int(self.n_repeats),
                                "target": f"probability of class {model.classes_[1]!s}" if binary
                                else "probability of the predicted class"}
        ranks = {str(f): i + 1 for i, f in enumerate(shap_importance["feature"])}
        watched = ([] if sensitive is None else list(sensitive.columns)) + list(self.proxies or [])
        info["sensitive_ranks"] = {str(c): ranks[str(c)] for c in dict.fromkeys(watched) if str(c) in ranks}
        if sensitive is not None and sensitive.shape[1]:
            groups = group_attributions(att, sensitive.iloc[rows], n_boot=self.n_boot,
                                        min_group_size=self.min_group_size, random_state=context.random_state)
            tables["group_shares"] = _shares(groups.table, list(att.feature_names))
            tables["differences"] = groups.differences
        proba = context.predict_proba()[rows]
        labels = np.searchsorted(model.classes_, y[rows])
        tables["examples"] = _examples(att, proba, labels, model.classes_, rows, self.n_examples)
        return ExplanationsCheckResult("tabular", len(rows), tables, info)

    # ------------------------------------------------------------------ images
    def _run_images(self, context: AuditContext) -> ExplanationsCheckResult:
        from ...explain import GradCAM, IntegratedGradients, Saliency
        from ...explain.evaluate import deletion_insertion, randomization_test

        X, y = context.X(), context.y()
        model = context.model
        rng = np.random.default_rng(context.random_state)
        rows = np.sort(rng.choice(len(y), min(len(y), self.max_explain_rows), replace=False))
        Xs = X[rows]
        methods = {"Saliency": Saliency(model), "IntegratedGradients": IntegratedGradients(model, n_steps=32)}
        convs = _layer_names(model.model)
        layer = self.layer or (convs[-1] if convs else None)
        if layer is not None:
            methods["GradCAM"] = GradCAM(model, layer=layer)
        warn = context.thresholds.get("randomization_rank_correlation_warn", 0.5)
        summary_rows, sanity, curves, maps = [], [], {}, {}
        for name, explainer in methods.items():
            att = explainer.attribute(Xs)
            maps[name] = att.values
            test = randomization_test(explainer, Xs, att.target, threshold=warn, random_state=context.random_state)
            di = deletion_insertion(model, Xs, att, n_steps=16)
            summary_rows.append({"method": name, "rank_correlation": test.final, "passed": test.passed,
                                 "verdict": f"{name} {test.verdict}",
                                 "deletion_auc": float(di.deletion_auc.mean()),
                                 "insertion_auc": float(di.insertion_auc.mean())})
            sanity += [{"method": name, "step": s, "mean": m, "lower": lo, "upper": hi}
                       for s, m, lo, hi in test.table[["step", "mean", "lower", "upper"]].itertuples(index=False)]
            curves[name] = {"fractions": di.fractions, "deletion": di.deletion.mean(0),
                            "insertion": di.insertion.mean(0)}
        proba = model.predict_proba(Xs)
        labels = np.searchsorted(model.classes_, y[rows])
        pred = proba.argmax(1)
        order = np.lexsort((proba.max(1), pred == labels))[: max(1, min(6, len(rows)))]  # misclassified, uncertain
        shown = "IntegratedGradients"
        overlay = {"images": np.asarray(Xs[order], dtype=np.float64), "values": maps[shown][order],
                   "titles": [f"row {int(rows[i])}: true {model.classes_[labels[i]]!s}, pred "
                              f"{model.classes_[pred[i]]!s} ({proba[i].max():.2f})" for i in order],
                   "method": shown}
        tables = {"methods": pd.DataFrame(summary_rows), "randomization": pd.DataFrame(sanity)}
        info = {"layer": layer, "n_explained": len(rows), "curves": curves, "overlay": overlay}
        return ExplanationsCheckResult("image", len(rows), tables, info)

    # ------------------------------------------------------------------ summary and findings
    def summarize(self, result) -> dict[str, Any]:
        summary: dict[str, Any] = {"kind": result.kind, "n_rows": int(result.n_rows)}
        if result.kind == "image":
            methods = result.tables["methods"]
            summary["randomization_rank_correlation"] = {r.method: finite_or_none(r.rank_correlation)
                                                         for r in methods.itertuples()}
            summary["verdicts"] = {r.method: r.verdict for r in methods.itertuples()}
            summary["deletion_auc"] = {r.method: finite_or_none(r.deletion_auc) for r in methods.itertuples()}
            summary["insertion_auc"] = {r.method: finite_or_none(r.insertion_auc) for r in methods.itertuples()}
            return summary
        shap_imp, perm = result.tables["shap_importance"], result.tables["importance"]
        summary["top_features"] = [str(f) for f in shap_imp["feature"].head(5)]
        summary["top_permutation"] = {"feature": str(perm["feature"].iloc[0]),
                                      "importance": finite_or_none(perm["importance"].iloc[0]),
                                      "lower": finite_or_none(perm["lower"].iloc[0]),
                                      "upper": finite_or_none(perm["upper"].iloc[0])}
        summary["shap_method"] = result.info["shap_method"]
        summary["sensitive_feature_rank"] = dict(result.info.get("sensitive_ranks", {}))
        summary["importance_share_gap"], summary["share_gap_detail"] = {}, {}
        shares = result.tables.get("group_shares")
        if shares is not None and len(shares):
            for feature, part in shares[~shares["small"].astype(bool)].groupby("sensitive_feature", sort=False):
                spread = part.groupby("feature")["share"].agg(["max", "min", "idxmax", "idxmin"])
                spread = spread[part.groupby("feature")["share"].count() >= 2]
                if spread.empty:
                    continue
                gap = spread["max"] - spread["min"]
                top = gap.idxmax()
                summary["importance_share_gap"][feature] = finite_or_none(gap[top])
                summary["share_gap_detail"][feature] = {
                    "feature": str(top), "high_group": str(part.loc[spread.loc[top, "idxmax"], "group"]),
                    "low_group": str(part.loc[spread.loc[top, "idxmin"], "group"]),
                    "high_share": finite_or_none(spread.loc[top, "max"]),
                    "low_share": finite_or_none(spread.loc[top, "min"])}
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        if summary["kind"] == "image":
            return [headline_row("randomization_rank_correlation", v, feature=m, direction="lower")
                    for m, v in summary["randomization_rank_correlation"].items()]
        rows = [headline_row("importance_share_gap", v, feature=f, group=summary["share_gap_detail"][f]["feature"],
                             direction="lower") for f, v in summary["importance_share_gap"].items()]
        rows += [headline_row("sensitive_feature_rank", r, feature=f, direction="higher")
                 for f, r in summary["sensitive_feature_rank"].items()]
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        out = []
        if summary["kind"] == "image":
            for method, rho in summary["randomization_rank_correlation"].items():
                out.append(grade(self.name, f"randomization_rank_correlation[{method}]", rho,
                                 warn=thresholds["randomization_rank_correlation_warn"],
                                 fail=thresholds["randomization_rank_correlation_fail"], higher_is_better=False,
                                 what=f"The rank correlation of {method}'s maps with the original after randomising "
                                      "every layer", evidence={"verdict": summary["verdicts"][method]}))
            return out
        for feature, gap in summary["importance_share_gap"].items():
            d = summary["share_gap_detail"][feature]
            out.append(grade(self.name, f"importance_share_gap[{feature}]", gap,
                             warn=thresholds["importance_share_gap_warn"], fail=thresholds["importance_share_gap_fail"],
                             higher_is_better=False,
                             what=f"The share of importance (mean |SHAP|) of '{d['feature']}' for {feature} = "
                                  f"{d['high_group']} ({d['high_share']:.3f}) minus {d['low_group']} "
                                  f"({d['low_share']:.3f})", evidence=d))
        for feature, rank in summary["sensitive_feature_rank"].items():
            out.append(grade(self.name, f"sensitive_feature_rank[{feature}]", rank,
                             warn=thresholds["sensitive_feature_rank_warn"],
                             fail=thresholds["sensitive_feature_rank_fail"], higher_is_better=True,
                             what=f"The importance rank of the sensitive input '{feature}' (1 = most important)",
                             evidence={"top_features": summary["top_features"]}))
        return out

    # ------------------------------------------------------------------ report
    @staticmethod
    def render(record):
        """Section: importance and per-group bars (tables) or the sanity panel, curves and overlays (images)."""
        from ...report import (
            Section,
            figure_to_png,
            frame_from_record,
            plot_attribution_overlay,
            plot_deletion_insertion,
            plot_importance,
            plot_randomization,
        )

        result, summary = record["result"], record["summary"]
        tables = {k: frame_from_record(v) for k, v in result["tables"].items()}
        if result["kind"] == "image":
            info = result["info"]
            sanity = tables["randomization"]
            fig = figure_to_png(plot_randomization({m: part for m, part in sanity.groupby("method", sort=False)}))
            curves = info["curves"]
            frac = next(iter(curves.values()))["fractions"]
            di = figure_to_png(plot_deletion_insertion(frac, {m: (np.array([c["deletion"]]), np.array([c["insertion"]]))
                                                              for m, c in curves.items()}))
            over = info["overlay"]
            overlay = figure_to_png(plot_attribution_overlay(np.array(over["images"], dtype=float),
                                                             np.array(over["values"], dtype=float),
                                                             titles=over["titles"], ncols=3))
            text = (f"{len(tables['methods'])} attribution methods on {result['n_rows']} images"
                    f"{' (Grad-CAM on layer ' + repr(info['layer']) + ')' if info.get('layer') else ''}. "
                    "Sanity check (Adebayo et al. 2018): the layers are re-initialised from the top down and each "
                    "method's maps compared with the original by Spearman rank correlation of |attribution|; a method "
                    "whose maps barely change explains the input, not the model. Deletion: the predicted class's "
                    "probability as the most important pixels are set to 0 (lower area = more faithful); insertion: "
                    "as they are added to a black image (higher = more faithful). "
                    + " ".join(f"{v}." for v in summary["verdicts"].values()))
            return Section(record["title"], [text],
                           panels=[(("Methods: rank correlation after randomising every layer, verdict, deletion and "
                                    "insertion areas"), tables["methods"],
                                    "Cascading model-parameter randomisation (2.5-97.5% of the rows)", fig)],
                           figures=[("Deletion and insertion curves (mean over the rows)", di),
                                    (f"{over['method']} maps of misclassified and uncertain examples", overlay)],
                           anchor=record["name"])
        fig = figure_to_png(plot_importance(tables["shap_importance"], title="Mean |SHAP| per feature (95% CI)"))
        perm = figure_to_png(plot_importance(tables["importance"], title="Permutation importance (accuracy drop, 95% "
                                                                         "t-interval)"))
        figures = [("Permutation importance", perm)]
        shown = []
        if "group_shares" in tables:
            from ...report import plot_group_importance

            shares = tables["group_shares"]
            for feature in dict.fromkeys(shares["sensitive_feature"]):
                if " x " in str(feature):
                    continue
                part = shares[shares["sensitive_feature"] == feature]
                wide = part.pivot(index="group", columns="feature", values="mean_abs")
                wide.index = pd.MultiIndex.from_product([[feature], wide.index])
                wide["small"] = part.groupby("group")["small"].first().to_numpy()
                lo = part.pivot(index="group", columns="feature", values="lower")
                hi = part.pivot(index="group", columns="feature", values="upper")
                ci = pd.concat({"lower": lo, "upper": hi}, axis=1).swaplevel(axis=1)
                ci.index = wide.index
                figures.append((f"Mean |SHAP| by {feature}", figure_to_png(plot_group_importance(wide, ci=ci))))
            shown.append((("Features whose importance differs most between groups (gap of mean |SHAP|, bootstrap "
                          "interval, Welch p-value, rank in each group)"), tables["differences"].head(15)))
        shown.append(("Local attributions of misclassified and uncertain rows (largest |SHAP| first)",
                      tables["examples"]))
        info = result["info"]
        text = (f"Permutation importance on {info['n_permutation_rows']} rows ({info['n_repeats']} repeats; drop of "
                f"accuracy). {info['shap_method']} of the {info['target']} on {info['n_explained']} rows, against "
                "background rows of the training split; each row's values sum to its probability minus the "
                "background's mean. Per group: mean |SHAP| per feature with 95% bootstrap intervals, and each "
                "feature's share of the group's total importance.")
        return Section(record["title"], [text],
                       panels=[("Mean |SHAP| per feature", tables["shap_importance"],
                                "Mean |SHAP| per feature (95% interval)", fig)],
                       tables=shown, figures=figures, anchor=record["name"])

    @staticmethod
    def card(record) -> list[str]:
        """Model-card lines: the top features, per-group differences, sensitive inputs, or the sanity verdicts."""
        from ...report import escape_markdown

        summary = record["summary"]
        if summary["kind"] == "image":
            return [f"Attribution maps on {summary['n_rows']} images: " + "; ".join(
                f"{escape_markdown(v)} (deletion AUC {summary['deletion_auc'][m]:.3f}, insertion AUC "
                f"{summary['insertion_auc'][m]:.3f})" for m, v in summary["verdicts"].items()) + "."]
        top = summary["top_permutation"]
        lines = [(f"Most important features (mean |SHAP|): {', '.join(escape_markdown(f) for f in summary['top_features'])}; "
                 f"by permutation: {escape_markdown(top['feature'])} (accuracy drop {top['importance']:.4f}, 95% "
                 f"interval [{top['lower']:.4f}, {top['upper']:.4f}]).")]
        for feature, gap in summary["importance_share_gap"].items():
            d = summary["share_gap_detail"][feature]
            lines += ["", (f"Per {escape_markdown(feature)}: '{escape_markdown(d['feature'])}' takes {d['high_share']:.3f} "
                          f"of the importance for {escape_markdown(d['high_group'])} and {d['low_share']:.3f} for "
                          f"{escape_markdown(d['low_group'])} (gap {gap:.3f}).")]
        for feature, rank in summary["sensitive_feature_rank"].items():
            lines += ["", f"The sensitive input '{escape_markdown(feature)}' ranks {rank} in importance."]
        return lines


def _shares(table, names: list[str]) -> pd.DataFrame:
    """Tidy per-group importance: mean |SHAP|, its interval and its share of the group's total."""
    by = table.by_group
    rows = []
    for (feature, group), row in by.iterrows():
        total = float(row[names].astype(float).sum())
        for name in names:
            lower = upper = np.nan
            if table.ci is not None:
                lower, upper = table.ci.loc[(feature, group), (name, "lower")], table.ci.loc[(feature, group),
                                                                                              (name, "upper")]
            value = float(row[name])
            rows.append({"sensitive_feature": str(feature), "group": str(group), "feature": name, "mean_abs": value,
                         "lower": float(lower), "upper": float(upper), "share": value / total if total > 0 else np.nan,
                         "count": int(row["count"]), "small": bool(row["small"])})
    return pd.DataFrame(rows)


def _examples(att, proba, labels, classes, rows, n_examples: int) -> pd.DataFrame:
    """The ``n_examples`` misclassified and the ``n_examples`` most uncertain rows, with their top attributions."""
    pred = proba.argmax(1)
    wrong = np.flatnonzero(pred != labels)[:n_examples]
    margin = np.sort(proba, 1)[:, -1] - np.sort(proba, 1)[:, -2]
    uncertain = [i for i in np.argsort(margin, kind="stable") if i not in set(wrong)][:n_examples]
    out = []
    names = list(att.feature_names)
    for kind, chosen in (("misclassified", wrong), ("uncertain", uncertain)):
        for i in chosen:
            order = np.argsort(-np.abs(att.values[i]), kind="stable")[:4]
            out.append({"row": int(rows[i]), "kind": kind, "true": str(classes[labels[i]]),
                        "predicted": str(classes[pred[i]]), "probability": float(proba[i, pred[i]]),
                        "top attributions": ", ".join(f"{names[j]} {att.values[i, j]:+.3f}" for j in order)})
    return pd.DataFrame(out, columns=["row", "kind", "true", "predicted", "probability", "top attributions"])
