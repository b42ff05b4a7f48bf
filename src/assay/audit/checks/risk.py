"""The three risks of a torch classifier, apart and by group: representation bias, aleatoric, epistemic.

Opt-in (``auto=False``: it trains a variance head and runs 20 dropout passes). On at most
``max_rows`` rows of the audited split: ``bias`` = -log density of ``layer``'s output under
per-dimension histograms of the training split (:class:`~assay.uncertainty.wrappers.HistogramBias`),
``epistemic`` = MC dropout variance of the class probabilities (:class:`~assay.uncertainty.wrappers.MCDropout`,
the model untouched), ``aleatoric`` = the logit variance of a head trained beside a frozen copy of
the model (:class:`~assay.uncertainty.wrappers.MeanVariance`, sampled logits) on the "val" split when
there is one (a network fits its training split almost perfectly, so a head trained there learns
near-zero variance), else on the training split.
Each risk per group through the grouped table, accuracy by risk decile, and their correlations.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Interval
from ...core.result import Result
from ..base import AuditContext, Check, Finding, Threshold, finite_or_none, grade, rate, register_check

RISK_NAMES = ("bias", "aleatoric", "epistemic")


@dataclasses.dataclass(frozen=True)
class RiskCheckResult(Result):
    """Per-example risks summarised: ``deciles`` (risk, feature, group, decile, accuracy, lower,
    upper, mean_risk, count), ``by_group`` (feature, group, mean:<risk> with bounds, count; None
    without sensitive features), ``correlation`` (Spearman between the risks), ``means`` per risk,
    ``examples``: the 8 most and 8 least under-represented rows (images: pixels and bias; a
    DataFrame input: the rows as a table with their risks)."""

    layer: str
    n_rows: int
    means: dict
    deciles: pd.DataFrame
    by_group: pd.DataFrame | None
    correlation: pd.DataFrame
    examples: dict | None = None
    head_split: str = "train"


def default_layer(model: Any) -> str | None:
    """The second-to-last ``nn.Linear`` (a pre-activation representation), else None.

    Post-ReLU outputs put most of each dimension's mass at 0, so per-dimension histograms rank
    weakly activated (unusual) inputs as *dense*: on the digits CNN with a 2% rotated style, AUROC
    0.10 on ``penultimate`` against 0.87 on ``penultimate.1`` (its linear part).
    """
    from torch import nn

    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    return linears[-2] if len(linears) >= 2 else None


@register_check
class RiskCheck(Check):
    """Representation bias, aleatoric and epistemic uncertainty per group; accuracy by risk decile."""

    name = "risk"
    title = "Risk: representation bias, aleatoric and epistemic uncertainty"
    section = "uncertainty"
    needs = frozenset({"model", "torch", "labels", "labels:train", "train", "task:classification"})
    order = 38
    auto = False
    thresholds: ClassVar[dict[str, Threshold]] = {
        "bias_accuracy_gap_warn": rate(0.10, "accuracy of the best-represented decile minus the least-represented "
                                             "decile's that warns", higher_is_better=False),
        "bias_accuracy_gap_fail": rate(0.25, "that gap that fails", higher_is_better=False),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "layer": [None, str],
        "n_bins": [Interval(Integral, 2, None)],
        "n_samples": [Interval(Integral, 2, None)],
        "head_epochs": [Interval(Integral, 1, None)],
        "max_rows": [Interval(Integral, 10, None)],
        "n_boot": [Interval(Integral, 0, None)],
        "min_group_size": [Interval(Integral, 0, None)],
    }
    model_index = ("mean_bias", "bias_accuracy_gap")
    advice: ClassVar[dict[str, str]] = {
        "bias_accuracy_gap": "The model is much less accurate on inputs unlike its training data: collect or "
                             "up-weight under-represented examples (e.g. resample by inverse latent density, "
                             "fit_risk_model(resample=RepresentationResampler())), and route them to review.",
    }

    def __init__(self, *, layer: str | None = None, n_bins: int = 20, n_samples: int = 20, head_epochs: int = 10,
                 max_rows: int = 5000, n_boot: int = 200, min_group_size: int = 30):
        self.layer = layer
        self.n_bins = n_bins
        self.n_samples = n_samples
        self.head_epochs = head_epochs
        self.max_rows = max_rows
        self.n_boot = n_boot
        self.min_group_size = min_group_size

    def applicable(self, context: AuditContext) -> str | None:
        reason = super().applicable(context)
        if reason is None and self.layer is None and default_layer(context.model.model) is None:
            return "needs 'layer' (the model has fewer than two nn.Linear layers)"
        return reason

    def run(self, context: AuditContext) -> RiskCheckResult:
        from ...core.errors import AssayInputError
        from ...uncertainty.wrappers import (HistogramBias, MCDropout, MeanVariance, fit_risk_model, predict_risk,
                                             risk_by_decile, risk_by_group, risk_correlation)

        self._validate_params()
        model, seed = context.model.model, int(context.random_state)
        layer = self.layer or default_layer(model)
        X, y = context.X(), np.asarray(context.y())
        sensitive = context.sensitive_features()
        predicted = np.asarray(context.predict())
        if len(y) > self.max_rows:
            rows = np.sort(np.random.default_rng(seed).choice(len(y), self.max_rows, replace=False))
            X, y, predicted = X[rows], y[rows], predicted[rows]
            sensitive = None if sensitive is None else sensitive.iloc[rows]
        if sensitive is not None and sensitive.shape[1] == 0:
            sensitive = None
        frame = X if isinstance(X, pd.DataFrame) else None
        X = X.to_numpy(np.float32) if frame is not None else X
        X_train = context.X("train")
        X_train = X_train.to_numpy(np.float32) if isinstance(X_train, pd.DataFrame) else X_train
        classes = context.model.classes_
        head_split = "val" if "val" in context.splits and context.eval_split != "val" and \
            context.splits["val"][1] is not None else "train"
        X_head = context.X(head_split)
        X_head = X_head.to_numpy(np.float32) if isinstance(X_head, pd.DataFrame) else X_head
        head_labels = np.searchsorted(classes, np.asarray(context.y(head_split)))

        bias = predict_risk(HistogramBias(model, layer=layer, n_bins=self.n_bins).fit(X_train), X).bias
        epistemic = predict_risk(MCDropout(model, n_samples=self.n_samples, softmax=True, random_state=seed),
                                 X).scores()["epistemic"]
        frozen = copy.deepcopy(model).eval()
        for p in frozen.parameters():
            p.requires_grad_(False)
        head = MeanVariance(frozen, task="classification", random_state=seed)
        fit_risk_model(head, (X_head, head_labels), epochs=self.head_epochs, random_state=seed, lr=1e-2,
                       batch_size=128)
        aleatoric = predict_risk(head, X).scores()["aleatoric"]
        scores = {"bias": np.asarray(bias, dtype=np.float64), "aleatoric": aleatoric, "epistemic": epistemic}
        correct = (predicted == y).astype(np.float64)
        parts = []
        for name in RISK_NAMES:
            table = risk_by_decile(scores[name], correct, sensitive_features=sensitive, n_boot=self.n_boot,
                                   random_state=seed, min_group_size=min(self.min_group_size, 10))
            parts.append(table.assign(risk=name))
        deciles = pd.concat(parts, ignore_index=True)[["risk", "feature", "group", "decile", "accuracy", "lower",
                                                       "upper", "mean_risk", "count"]]
        by_group = None
        if sensitive is not None:
            try:
                table = risk_by_group(scores, sensitive, n_boot=self.n_boot, random_state=seed,
                                      min_group_size=self.min_group_size)
            except AssayInputError:
                table = None
            if table is not None:
                by_group = table.by_group.copy()
                if self.n_boot:
                    for metric in [f"mean:{k}" for k in RISK_NAMES]:
                        by_group[f"{metric} lower"] = table.ci[(metric, "lower")]
                        by_group[f"{metric} upper"] = table.ci[(metric, "upper")]
                by_group = by_group.reset_index()
        examples = None
        order = np.argsort(scores["bias"], kind="stable")
        picked = np.r_[order[::-1][:8], order[:8]]
        if getattr(X, "ndim", 0) == 4:
            examples = {"images": np.asarray(X[picked], dtype=np.float64).round(4).tolist(),
                        "bias": scores["bias"][picked].tolist()}
        elif frame is not None:
            rows = frame.iloc[picked].reset_index(drop=True)
            examples = {"table": rows.assign(**{k: v[picked] for k, v in scores.items()},
                                             represented=["least"] * 8 + ["most"] * 8)}
        means = {k: float(np.mean(v)) for k, v in scores.items()}
        return RiskCheckResult(str(layer), len(y), means, deciles, by_group,
                               risk_correlation(scores), examples, head_split)

    def summarize(self, result) -> dict[str, Any]:
        deciles = result.deciles
        overall = deciles[deciles["feature"] == "overall"]
        summary: dict[str, Any] = {"layer": result.layer, "n_rows": int(result.n_rows)}
        for name in RISK_NAMES:
            summary[f"mean_{name}"] = finite_or_none(result.means[name])
            rows = overall[overall["risk"] == name].sort_values("decile")
            summary[f"{name}_accuracy_gap"] = finite_or_none(rows["accuracy"].iloc[0] - rows["accuracy"].iloc[-1])
        corr = result.correlation
        for a, b in (("bias", "aleatoric"), ("bias", "epistemic"), ("aleatoric", "epistemic")):
            summary[f"correlation_{a}_{b}"] = finite_or_none(corr.loc[a, b])
        summary["most_under_represented"] = {}
        if result.by_group is not None:
            groups = result.by_group[result.by_group["feature"] != "overall"]
            for feature, rows in groups.groupby("feature", sort=False):
                if " x " in str(feature):
                    continue
                row = rows.loc[rows["mean:bias"].idxmax()]
                summary["most_under_represented"][str(feature)] = {"group": str(row["group"]),
                                                                   "mean_bias": finite_or_none(row["mean:bias"])}
        return summary

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        return [grade(self.name, "bias_accuracy_gap", summary["bias_accuracy_gap"],
                      warn=thresholds["bias_accuracy_gap_warn"], fail=thresholds["bias_accuracy_gap_fail"],
                      higher_is_better=False,
                      what="Accuracy of the best-represented decile minus the least-represented decile's",
                      evidence={"layer": summary["layer"]})]

    @staticmethod
    def render(record):
        """Section: accuracy by bias decile per group (plot) beside the risk means by group; correlations."""
        from ...report import Section, figure_to_png, frame_from_record, plot_example_grid, plot_risk_deciles

        result, summary = record["result"], record["summary"]
        deciles = frame_from_record(result["deciles"])
        correlation = frame_from_record(result["correlation"])
        text = (f"On {result['n_rows']} rows of the evaluation split. Representation bias = -log density of the "
                f"'{result['layer']}' representation under per-dimension histograms of the training split (nats; "
                "higher = more under-represented); epistemic = variance of the class probabilities over MC dropout "
                "samples; aleatoric = variance of the logits predicted by a head trained beside the frozen model "
                f"on the '{result.get('head_split', 'train')}' split. Accuracy "
                f"drops by {summary['bias_accuracy_gap']:.3f} from the best- to the least-represented decile "
                f"(epistemic: {summary['epistemic_accuracy_gap']:.3f}, aleatoric: "
                f"{summary['aleatoric_accuracy_gap']:.3f}). The risks are distinct: Spearman correlation bias-"
                f"epistemic {summary['correlation_bias_epistemic']:.2f}, bias-aleatoric "
                f"{summary['correlation_bias_aleatoric']:.2f}, aleatoric-epistemic "
                f"{summary['correlation_aleatoric_epistemic']:.2f}.")
        bias_deciles = deciles[deciles["risk"] == "bias"].drop(columns="risk")
        figure = figure_to_png(plot_risk_deciles(bias_deciles, risk="representation bias"))
        shown = (frame_from_record(result["by_group"]) if result.get("by_group") else
                 bias_deciles[bias_deciles["feature"] == "overall"])
        tables = [("Spearman correlation between the risks", correlation.reset_index())]
        if result.get("examples") and "table" in result["examples"]:
            tables.append(("The 8 least (first) and 8 most represented rows, with their risks",
                           frame_from_record(result["examples"]["table"])))
        if result.get("examples") and "images" in result["examples"]:
            images = np.asarray(result["examples"]["images"])
            grid = figure_to_png(plot_example_grid(images, np.asarray(result["examples"]["bias"])))
            panels_extra = [("Accuracy by epistemic decile", deciles[(deciles["risk"] == "epistemic")
                                                                     & (deciles["feature"] == "overall")],
                             "Most (top) and least (bottom) under-represented inputs", grid)]
        else:
            panels_extra = []
        return Section(record["title"], [text],
                       panels=[("Mean risk per group and intersection, 95% intervals" if result.get("by_group")
                                else "Accuracy by representation-bias decile", shown,
                                "Accuracy by representation-bias decile, per group", figure), *panels_extra],
                       tables=tables, anchor=record["name"])

    @staticmethod
    def card(record) -> list[str]:
        """Model-card lines: the three risks, the accuracy gap across bias deciles, the most under-represented groups."""
        from ...report import escape_markdown

        summary = record["summary"]
        lines = [(f"Risk ({summary['n_rows']} rows; layer {escape_markdown(summary['layer'])}): mean representation "
                  f"bias {summary['mean_bias']:.4f} nats, mean aleatoric {summary['mean_aleatoric']:.4g} (logit variance), "
                  f"mean epistemic {summary['mean_epistemic']:.4g} (variance of the probabilities under MC dropout). Accuracy gap between the best- and "
                  f"least-represented deciles: {summary['bias_accuracy_gap']:.4f}. Spearman correlations: bias-"
                  f"epistemic {summary['correlation_bias_epistemic']:.2f}, bias-aleatoric "
                  f"{summary['correlation_bias_aleatoric']:.2f}, aleatoric-epistemic "
                  f"{summary['correlation_aleatoric_epistemic']:.2f}.")]
        for feature, info in summary.get("most_under_represented", {}).items():
            lines += ["", (f"Most under-represented among {escape_markdown(feature)}: "
                           f"{escape_markdown(info['group'])} (mean bias {info['mean_bias']:.4f}).")]
        return lines
