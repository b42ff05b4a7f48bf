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
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.errors import AssayInputError
from ...core.result import Result
from ...core.validation import check_option, check_scalar
from ...metrics import GroupedMetrics
from ...ood import (
    GEN,
    KNN,
    Energy,
    Entropy,
    GaussianMixtureDetector,
    IsolationForestDetector,
    Mahalanobis,
    MaxLogit,
    MaxSoftmax,
    OODEvaluation,
    RelativeMahalanobis,
    evaluate_scores,
    project_embeddings,
    rejection_by_group,
    selective_prediction,
    threshold_at_tpr,
)
from ..base import AuditContext, Check, Finding, grade, register_check

#: Detectors the check can build by name; "auto" picks among them (see OODCheck).
DETECTORS: dict[str, type] = {cls.__name__: cls for cls in (
    MaxSoftmax, MaxLogit, Energy, Entropy, GEN, Mahalanobis, RelativeMahalanobis, KNN,
    IsolationForestDetector, GaussianMixtureDetector)}
_OUTPUT = ("MaxSoftmax", "Entropy")
_LOGIT = ("MaxLogit", "Energy", "GEN")            # meaningful only when the model gives logits
_FEATURE = ("Mahalanobis", "RelativeMahalanobis", "KNN")
_INPUT = ("IsolationForestDetector", "GaussianMixtureDetector")
_SCORES_KEPT = 2000
_PROJECTED_IN, _PROJECTED_OUT = 1000, 300  # points kept for the 2-D view: in-distribution, each OOD set
"""Scores kept per data set (evenly spaced in sorted order) for the density plot."""


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
    kind: ClassVar[str] = "ood_check"


def _thin(values: np.ndarray, n: int = _SCORES_KEPT) -> list[float]:
    """Up to ``n`` evenly spaced order statistics: the distribution's shape, bounded in size."""
    s = np.sort(np.asarray(values, dtype=np.float64))
    if len(s) > n:
        s = s[np.linspace(0, len(s) - 1, n).round().astype(int)]
    return s.tolist()


def _is_feature_matrix(X: Any) -> bool:
    """A table the input detectors can read: a DataFrame, or a 2-D numeric array."""
    if isinstance(X, pd.DataFrame):
        return True
    return isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "biuf"


def _encoder(X_train: Any):
    """Fitted on the training inputs: one-hot categoricals and standardised numerics for a
    DataFrame; standardised columns for a numeric array (the Gaussian mixture is not scale-free)."""
    if not isinstance(X_train, pd.DataFrame):
        from sklearn.preprocessing import StandardScaler

        return StandardScaler().fit(X_train)
    from ...models import make_tabular_preprocessor

    categorical = [c for c, t in X_train.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    numeric = [c for c in X_train.columns if c not in categorical]
    return make_tabular_preprocessor(categorical, numeric).fit(X_train)


def _project(features, source: str, context: AuditContext, ood_sets: list[str]) -> dict[str, Any] | None:
    """A seeded sample of each split's features on the in-distribution sample's first two
    principal components; its own random stream, so the check's other numbers do not depend on it."""
    rng = np.random.default_rng([context.seed, 2])
    parts, names = [], []
    for split, cap in [(context.eval_split, _PROJECTED_IN)] + [(s, _PROJECTED_OUT) for s in ood_sets]:
        F = features(split)
        take = np.sort(rng.choice(F.shape[0], min(cap, F.shape[0]), replace=False))
        part = F[take]
        parts.append(np.asarray(part.toarray() if hasattr(part, "toarray") else part, dtype=np.float64))
        names += ["in-distribution" if split == context.eval_split else split] * len(take)
    X = np.vstack(parts)
    if X.shape[1] < 2 or len(parts[0]) < 2 or len(X) < 3:  # too little to project: no view, not an error
        return None
    projection = project_embeddings(X, fit_rows=np.arange(len(parts[0])), random_state=context.seed)
    points = pd.DataFrame({"x": projection.points[:, 0].round(4), "y": projection.points[:, 1].round(4),
                           "set": names})
    return {"points": points, "axis_labels": list(projection.axis_labels), "source": source}


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
    needs = frozenset({"model", "ood"})
    order = 40
    #: Summary keys (stems; "*" ends a prefix) the model card's YAML model-index lists.
    model_index = ("auroc", "fpr_at_*", "aurc")

    def __init__(self, *, detectors: Any = "auto", layer: str = "penultimate", tpr: float = 0.95,
                 n_boot: int = 200, max_fit_rows: int = 20000, min_group_size: int = 30):
        self.detectors = detectors
        self.layer = layer
        self.tpr = tpr
        self.n_boot = n_boot
        self.max_fit_rows = max_fit_rows
        self.min_group_size = min_group_size

    # ------------------------------------------------------------------ which detectors
    def _has_layer(self, context: AuditContext) -> bool:
        try:
            context.model._resolve_layers(self.layer)
        except AssayInputError:
            return False
        return True

    def _choose(self, context: AuditContext) -> tuple[list[str], dict[str, str]]:
        caps = context.capabilities()
        logits = context.model.native_output == "logits"
        has_train = "train" in caps
        if self.detectors == "auto":
            wanted = list(_OUTPUT) + list(_LOGIT) + ["Mahalanobis", "KNN"] + list(_INPUT)
        else:
            if isinstance(self.detectors, str) or not all(isinstance(d, str) for d in self.detectors):
                raise AssayInputError(f"'detectors' must be 'auto' or a list of detector names from "
                                      f"{sorted(DETECTORS)}. Got {self.detectors!r}.")
            for name in self.detectors:
                check_option(name, "detectors", owner="OODCheck", options=sorted(DETECTORS))
            wanted = list(self.detectors)
        chosen, skipped = [], {}
        for name in wanted:
            if name in _LOGIT and not logits:
                skipped[name] = "the model returns probabilities, not logits"
            elif name in _FEATURE and "torch" not in caps:
                skipped[name] = "needs a torch model (embeddings of a layer)"
            elif name in _FEATURE and not self._has_layer(context):
                skipped[name] = f"the model has no layer named {self.layer!r}"
            elif name in _FEATURE + _INPUT and not has_train:
                skipped[name] = "needs a 'train' split to fit on"
            elif name in _INPUT and not all(_is_feature_matrix(context.X(split)) for split in context.splits):
                skipped[name] = "input-space detectors run on tables (DataFrames or 2-D numeric arrays)"
            else:
                chosen.append(name)
        return chosen, skipped

    def layers(self, context: AuditContext) -> list[str]:
        if context.model is None or "torch" not in context.capabilities() or not self._has_layer(context):
            return []
        return [self.layer]

    def _build(self, name: str, context: AuditContext, n_fit: int):
        cls = DETECTORS[name]
        if name == "GaussianMixtureDetector":
            # One covariance shared by the components: ~4x faster to fit than "full" on
            # one-hot tabular inputs, and it separated Adult's held-out subgroup better.
            return cls(covariance_type="tied", random_state=context.seed)
        if name in _INPUT:
            return cls(random_state=context.seed)
        if name == "KNN":
            # Sun et al. use k=50 for 50,000 training images and scale k with the bank's size.
            return cls(k=max(1, round(50 * n_fit / 50000)))
        if name in _FEATURE:
            return cls()  # fitted and scored on embeddings the check reads from the adapter
        return cls(context.model)

    # ------------------------------------------------------------------ run
    def run(self, context: AuditContext) -> OODCheckResult:
        owner = "OODCheck"
        check_scalar(self.tpr, "tpr", owner=owner, low=0.0, high=1.0, closed="neither")
        check_scalar(self.n_boot, "n_boot", owner=owner, kind=(int, np.integer), low=0)
        check_scalar(self.max_fit_rows, "max_fit_rows", owner=owner, kind=(int, np.integer), low=10)
        names, skipped = self._choose(context)
        if not names:
            raise AssayInputError(f"No OOD detector fits this model and data: {skipped}.")
        rng = np.random.default_rng(context.seed)
        ood_sets = context.ood_splits()
        X_eval = context.X()
        n_eval = len(X_eval)

        fit_rows = None
        encoder = None
        if "train" in context.splits and any(n in _FEATURE + _INPUT for n in names):
            n_train = len(context.X("train"))
            if n_train > self.max_fit_rows:
                fit_rows = np.sort(rng.choice(n_train, self.max_fit_rows, replace=False))
        if any(n in _INPUT for n in names):
            encoder = _encoder(context.X("train"))

        def rows(X, index):
            if index is None:
                return X
            return X.iloc[index] if isinstance(X, pd.DataFrame) else X[index]

        encoded_splits: dict[str, Any] = {}

        def encoded(split):  # each split encoded once, shared by the input detectors and the projection
            if split not in encoded_splits:  # train: only the (at most max_fit_rows) rows fitted on
                X = rows(context.X("train"), fit_rows) if split == "train" else context.X(split)
                encoded_splits[split] = encoder.transform(X)
            return encoded_splits[split]

        def embeddings(split):  # cached: the layer is captured on each split's one pass
            return context.model.embeddings(context.X(split), self.layer, flatten=True)

        n_fit = 0 if "train" not in context.splits else (
            len(fit_rows) if fit_rows is not None else len(context.X("train")))
        scores_in, scores_out, fitted = {}, {}, {}
        for name in names:
            detector = self._build(name, context, n_fit)
            if name in _INPUT:
                detector.fit(encoded("train"))
                score = lambda split, d=detector: d.score(encoded(split))  # noqa: E731
            elif name in _FEATURE:
                # Fitted on the training split's cached embeddings (model=None: the detector
                # reads features), with its labels, or the model's predictions without them.
                has_y = context.splits["train"][1] is not None
                labels = context.y("train") if has_y else np.asarray(context.predict("train"))
                detector.fit(rows(embeddings("train"), fit_rows), rows(labels, fit_rows))
                score = lambda split, d=detector: d.score(embeddings(split))  # noqa: E731
            else:
                score = lambda split, d=detector: d.score(context.X(split))  # noqa: E731
            scores_in[name] = score(context.eval_split)
            scores_out[name] = {split: score(split) for split in ood_sets}
            fitted[name] = score

        evaluation = evaluate_scores(scores_in, scores_out, tpr=float(self.tpr), n_boot=int(self.n_boot),
                                     random_state=context.seed)
        auroc = evaluation.metric("auroc")
        primary = str(auroc.mean(axis=1).idxmax())

        # Threshold: fitted on "val", or on a random half of the evaluation split.
        if "val" in context.splits and "val" not in ood_sets:
            fitted_on, held_out = "val", np.arange(n_eval)
            threshold_scores = {name: fitted[name]("val") for name in names}
        else:
            fitted_on = f"half of {context.eval_split!r}"
            half = rng.permutation(n_eval)
            fit_half, held_out = np.sort(half[: n_eval // 2]), np.sort(half[n_eval // 2:])
            threshold_scores = {name: scores_in[name][fit_half] for name in names}
        rows_out = []
        for name in names:
            t = threshold_at_tpr(threshold_scores[name], tpr=float(self.tpr))
            row = {"detector": name, "threshold": t, "fitted_on": fitted_on, "target_tpr": float(self.tpr),
                   "achieved_tpr": float(np.mean(scores_in[name][held_out] <= t))}
            for split in ood_sets:
                row[f"fpr[{split}]"] = float(np.mean(scores_out[name][split] <= t))
            rows_out.append(row)
        threshold = pd.DataFrame(rows_out).set_index("detector")

        selective, aurc = None, None
        y = context.splits[context.eval_split][1]
        if y is not None:
            correct = np.asarray(context.predict()) == np.asarray(y)
            curve = selective_prediction(scores_in[primary], correct)
            points = np.unique(np.searchsorted(curve.coverage, np.linspace(0.01, 1.0, 100) - 1e-12))
            points = points[points < len(curve.coverage)]
            selective = pd.DataFrame({"coverage": curve.coverage[points], "accuracy": curve.accuracy[points]})
            aurc = float(curve.aurc)

        by_group = None
        sensitive = context.sensitive_features()
        if sensitive is not None and sensitive.shape[1]:
            sens = sensitive.iloc[held_out].reset_index(drop=True)
            usable = [c for c in sens.columns if sens[c].nunique(dropna=False) > 1]
            if usable:
                by_group = rejection_by_group(scores_in[primary][held_out], threshold.loc[primary, "threshold"],
                                              sens[usable], min_group_size=self.min_group_size,
                                              n_boot=int(self.n_boot), random_state=context.seed)
        scores = {"in": _thin(scores_in[primary]), **{s: _thin(scores_out[primary][s]) for s in ood_sets}}
        if any(n in _FEATURE for n in names):
            features, source = embeddings, f"embeddings of layer {self.layer!r}"
        elif encoder is not None:
            features, source = encoded, "encoded inputs"
        else:
            features = source = None
        projection = None if features is None else _project(features, source, context, ood_sets)
        return OODCheckResult(evaluation, primary, threshold, selective, aurc, by_group, scores, skipped, projection)

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
    def card(record) -> list[str]:
        """Model-card lines: the primary detector per OOD set, with intervals, and its threshold."""
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
        if result.get("rejection_by_group"):
            lines += ["", "Share of each group's held-out in-distribution inputs that this threshold refuses (a "
                      "detector that refuses one group more often than another is a fairness problem):", "",
                      markdown_table(_refusals(result["rejection_by_group"]))]
        return lines

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
        figures = [
            ("ROC curves of every detector on each OOD set",
             figure_to_png(plot_ood_roc({"curves": evaluation["curves"], "table": table}))),
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
        tables = [("AUROC (rows: detectors; columns: OOD sets)",
                   table.pivot(index="detector", columns="ood_set", values="auroc")),
                  ("Every metric with its 95% bootstrap interval", _with_intervals(table)),
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
            tables.append((f"Share of each group's in-distribution inputs refused by {primary}",
                           _refusals(refusals)))
            figures.append(("Refusal rate by group", figure_to_png(plot_metric_by_group(
                by_group, "selection_rate", overall=refusals["overall"]["selection_rate"], ci=ci,
                title=f"Share of in-distribution inputs {primary} refuses", xlabel="share refused"))))
        if result.get("skipped"):
            tables.append(("Detectors not run", pd.Series(result["skipped"], name="why").to_frame()))
        text = [f"In-distribution: the evaluation split. Scores are higher for inputs "
                f"that look more out-of-distribution. The primary detector ({primary}) has the highest mean AUROC; "
                f"its threshold was fitted on {threshold.loc[primary, 'fitted_on']}."]
        return Section(record["title"], text, tables=tables, figures=figures, anchor=record["name"])
