"""Privacy: membership inference on the training split against the evaluation split, per group,
and attribute inference of each sensitive feature from the model's outputs."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ...core.component import Interval, Options
from ...core.errors import UndefinedMetricWarning
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
class PrivacyCheckResult(Result):
    """``attacks``: one row per attack (``attack``) with the overall metrics and their bounds;
    ``by_group``: rows ``attack, feature, group`` with the metrics, member / non-member counts and
    ``small``; ``roc``: the ROC curves (``attack, feature, group, fpr, tpr``); ``risk_by_group``:
    the members' mean risk per group (``feature, group, mean_risk, lower, upper, count``);
    ``attribute``: attribute inference per sensitive feature, or None."""

    n_members: int
    n_nonmembers: int
    attacks: pd.DataFrame
    by_group: pd.DataFrame | None
    roc: pd.DataFrame
    risk_by_group: pd.DataFrame | None
    attribute: pd.DataFrame | None


def _rows(n: int, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= max_rows else np.sort(rng.choice(n, max_rows, replace=False))


def _take(X: Any, rows: np.ndarray, keep: bool = True) -> Any:
    if X is None or not keep:
        return None
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[rows].reset_index(drop=True)
    return np.asarray(X)[rows] if not hasattr(X, "index_select") else X[rows]


def _concat(a: Any, b: Any) -> Any:
    if isinstance(a, pd.DataFrame):
        return pd.concat([a, b], ignore_index=True)
    return np.concatenate([np.asarray(a), np.asarray(b)])


@register_check
class PrivacyCheck(Check):
    """Membership inference (loss or confidence threshold; LiRA with a training function) on a
    sample of the training split (members) against the evaluation split (non-members): AUC,
    membership advantage and TPR at 0.1% / 1% FPR, overall and per group; attribute inference of
    each sensitive feature (features + model outputs vs features alone).

    ``n_reference > 0`` with a training function (``train_fn(X, y) -> model``, the parameter or
    ``AuditContext.resources["train_fn"]``) adds offline LiRA with that many reference models,
    trained on halves of the sampled rows. Costs model training: off by default.
    """

    name = "privacy"
    title = "Privacy: membership and attribute inference"
    section = "privacy"
    needs = frozenset({"model", "probabilities", "train", "labels", "labels:train"})
    order = 70
    #: Run when named: it costs a forward pass over the training split and trains attribute attackers.
    auto = False
    thresholds: ClassVar[dict[str, Threshold]] = {
        "membership_advantage_warn": rate(0.1, "membership advantage (max TPR - FPR of the attack, overall or of "
                                          "a group with enough members and non-members) that warns",
                                          higher_is_better=False),
        "membership_advantage_fail": rate(0.3, "membership advantage that fails", higher_is_better=False),
        "attribute_inference_gain_warn": rate(0.05, "gain in AUC of recovering a sensitive feature when the "
                                              "model's outputs are added to the other features that warns",
                                              higher_is_better=False),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "attack": [Options(str, ("loss", "confidence"))],
        "max_rows": [Interval(Integral, 50, None)],
        "n_boot": [Interval(Integral, 0, None)],
        "min_group_size": [Interval(Integral, 1, None)],
        "n_reference": [Interval(Integral, 0, None)],
        "attribute_inference": ["boolean"],
        "train_fn": [None, "callable"],
    }
    model_index = ("membership_auc", "membership_advantage", "tpr_at_1_fpr", "max_group_advantage")
    advice = {
        "membership_advantage": "The model's outputs tell its training rows from new rows: regularise (weight decay, "
                                "early stopping), train with differential privacy (assay.privacy.train_private), or "
                                "release labels / rounded scores only.",
        "max_group_advantage": "This group's training rows are the easiest to identify (often a small group the "
                               "model memorised): more data for it, regularisation, or DP training; check DP's "
                               "accuracy cost for the same group.",
        "attribute_inference_gain": "The model's outputs reveal this sensitive attribute beyond the other features: "
                                    "release labels or coarser scores, or remove the attribute's proxies.",
    }

    def __init__(self, *, attack: str = "loss", max_rows: int = 5000, n_boot: int = 200, min_group_size: int = 100,
                 n_reference: int = 0, attribute_inference: bool = True, train_fn: Any = None):
        self.attack = attack
        self.max_rows = max_rows
        self.n_boot = n_boot
        self.min_group_size = min_group_size
        self.n_reference = n_reference
        self.attribute_inference = attribute_inference
        self.train_fn = train_fn

    def run(self, context: AuditContext) -> PrivacyCheckResult:
        from ...privacy import LiRA, evaluate_attack, logit_loss
        from ...privacy.attribute import attribute_inference

        rng = np.random.default_rng(context.random_state)
        classes = np.asarray(context.model.classes_)
        sf_train, sf_test = context.sensitive_features("train"), context.sensitive_features()
        has_groups = sf_train is not None and sf_test is not None and sf_train.shape[1] > 0
        # scores from the cached outputs of the whole splits (no extra forward pass), then a sample of rows
        y_all_m = np.searchsorted(classes, context.y("train"))
        y_all_n = np.searchsorted(classes, context.y())
        if self.attack == "loss":
            full_m = -logit_loss(context.model.logits(context.X("train")), y_all_m)
            full_n = -logit_loss(context.model.logits(context.X()), y_all_n)
        else:
            p_m, p_n = context.predict_proba("train"), context.predict_proba()
            full_m, full_n = p_m[np.arange(len(y_all_m)), y_all_m], p_n[np.arange(len(y_all_n)), y_all_n]
        rows_m, rows_n = _rows(len(y_all_m), self.max_rows, rng), _rows(len(y_all_n), self.max_rows, rng)
        X_m, y_m, g_m = _take(context.X("train"), rows_m), y_all_m[rows_m], _take(sf_train, rows_m, has_groups)
        X_n, y_n, g_n = _take(context.X(), rows_n), y_all_n[rows_n], _take(sf_test, rows_n, has_groups)
        groups = pd.concat([g_m, g_n[list(g_m.columns)]], ignore_index=True) if has_groups else None
        scores = {self.attack: (full_m[rows_m], full_n[rows_n])}
        train_fn = self.train_fn if self.train_fn is not None else context.resources.get("train_fn")
        if self.n_reference and train_fn is not None:
            pool_X, pool_y = _concat(X_m, X_n), np.concatenate([y_m, y_n])
            lira = LiRA(context.model, train_fn=train_fn, n_reference=self.n_reference,
                        random_state=context.random_state).fit(pool_X, pool_y)
            pooled = lira.score(pool_X)
            scores["lira"] = (pooled[:len(y_m)], pooled[len(y_m):])
        attack_rows, group_parts, roc_parts, risk = [], [], [], None
        for name, (member, non) in scores.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                result = evaluate_attack(member, non, groups, n_boot=self.n_boot, random_state=context.random_state,
                                         min_group_size=self.min_group_size)
            row = {"attack": name, **result.overall.to_dict()}
            if result.overall_ci is not None:
                row.update({f"{m}_{side}": result.overall_ci.loc[m, side] for m in result.metrics
                            for side in ("lower", "upper")})
            attack_rows.append(row)
            roc_parts.append(result.roc.assign(attack=name))
            if result.by_group is not None:
                part = result.by_group.reset_index()
                if result.ci is not None:
                    for m in result.metrics:
                        part[f"{m}_lower"] = result.ci[(m, "lower")].to_numpy()
                        part[f"{m}_upper"] = result.ci[(m, "upper")].to_numpy()
                group_parts.append(part.assign(attack=name))
                if risk is None:
                    table = result.risk_table
                    risk = table.by_group[["mean:risk", "count"]].rename(columns={"mean:risk": "mean_risk"})
                    if table.ci is not None:
                        risk["lower"] = table.ci[("mean:risk", "lower")]
                        risk["upper"] = table.ci[("mean:risk", "upper")]
                    risk = risk.reset_index()
        attribute = None
        if self.attribute_inference and has_groups:
            X_all = _concat(X_m, X_n)
            y_score = np.concatenate([context.predict_proba("train")[rows_m], context.predict_proba()[rows_n]])
            attribute = attribute_inference(None, X_all, groups, y_score=y_score, max_rows=self.max_rows,
                                            random_state=int(context.random_state)).table.reset_index()
        by_group = pd.concat(group_parts, ignore_index=True) if group_parts else None
        return PrivacyCheckResult(len(y_m), len(y_n), pd.DataFrame(attack_rows), by_group,
                                  pd.concat(roc_parts, ignore_index=True), risk, attribute)

    def summarize(self, result) -> dict[str, Any]:
        attacks = result.attacks.set_index("attack")
        main = attacks.iloc[0]
        summary: dict[str, Any] = {
            "attack": str(attacks.index[0]), "n_members": result.n_members, "n_nonmembers": result.n_nonmembers,
            "membership_auc": finite_or_none(main["auc"]),
            "membership_advantage": finite_or_none(main["advantage"]),
            "tpr_at_1_fpr": finite_or_none(main["tpr_at_1_fpr"]),
            "tpr_at_0.1_fpr": finite_or_none(main["tpr_at_0.1_fpr"]),
        }
        for key, metric in (("membership_auc", "auc"), ("membership_advantage", "advantage"),
                            ("tpr_at_1_fpr", "tpr_at_1_fpr")):
            if f"{metric}_lower" in main:
                summary[f"{key}_ci"] = [finite_or_none(main[f"{metric}_lower"]),
                                        finite_or_none(main[f"{metric}_upper"])]
        if "lira" in attacks.index:
            lira = attacks.loc["lira"]
            summary["lira_auc"] = finite_or_none(lira["auc"])
            summary["lira_tpr_at_1_fpr"] = finite_or_none(lira["tpr_at_1_fpr"])
        summary["max_group_advantage"], summary["worst_group"] = {}, {}
        if result.by_group is not None:
            rows = result.by_group[(result.by_group["attack"] == summary["attack"]) & ~result.by_group["small"]]
            rows = rows[rows["feature"].isin(_single_features(result.by_group))]
            for feature, part in rows.groupby("feature", sort=False):
                values = part["advantage"].dropna()
                if len(values):
                    worst = part.loc[values.idxmax()]
                    summary["max_group_advantage"][feature] = float(worst["advantage"])
                    summary["worst_group"][feature] = {"group": str(worst["group"]),
                                                       "tpr_at_1_fpr": finite_or_none(worst["tpr_at_1_fpr"]),
                                                       "auc": finite_or_none(worst["auc"])}
        if result.attribute is not None:
            table = result.attribute.set_index("feature")
            summary["attribute_inference_gain"] = {f: finite_or_none(v) for f, v in table["gain"].items()}
            summary["attribute_attack_auc"] = {f: finite_or_none(v) for f, v in table["attack_auc"].items()}
            summary["attribute_baseline_auc"] = {f: finite_or_none(v) for f, v in table["baseline_auc"].items()}
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        def ci(key):
            return (summary.get(f"{key}_ci") or [None, None])

        rows = [headline_row("membership_auc", summary["membership_auc"], group="overall",
                             lower=ci("membership_auc")[0], upper=ci("membership_auc")[1], direction="lower"),
                headline_row("tpr_at_1_fpr", summary["tpr_at_1_fpr"], group="overall",
                             lower=ci("tpr_at_1_fpr")[0], upper=ci("tpr_at_1_fpr")[1], direction="lower"),
                headline_row("membership_advantage", summary["membership_advantage"], group="overall",
                             lower=ci("membership_advantage")[0], upper=ci("membership_advantage")[1],
                             direction="lower")]
        rows += [headline_row("attribute_inference_gain", v, feature=f, direction="lower")
                 for f, v in summary.get("attribute_inference_gain", {}).items()]
        rows += [headline_row("max_group_advantage", v, feature=f, group=summary["worst_group"][f]["group"],
                              direction="lower") for f, v in summary["max_group_advantage"].items()]
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        warn, fail = thresholds["membership_advantage_warn"], thresholds["membership_advantage_fail"]
        out = [grade(self.name, "membership_advantage", summary["membership_advantage"], warn=warn, fail=fail,
                     higher_is_better=False,
                     what=f"Membership advantage of the {summary['attack']} attack (training split vs evaluation "
                          f"split; TPR at 1% FPR {_text(summary['tpr_at_1_fpr'])})",
                     evidence={"auc": summary["membership_auc"], "tpr_at_1_fpr": summary["tpr_at_1_fpr"]})]
        for feature, value in summary["max_group_advantage"].items():
            worst = summary["worst_group"][feature]
            out.append(grade(self.name, f"max_group_advantage[{feature}]", value, warn=warn, fail=fail,
                             higher_is_better=False,
                             what=f"The largest membership advantage of a group of {feature} ({worst['group']}; "
                                  f"TPR at 1% FPR {_text(worst['tpr_at_1_fpr'])})", evidence=worst))
        for feature, gain in summary.get("attribute_inference_gain", {}).items():
            if gain is None:
                continue
            out.append(grade(self.name, f"attribute_inference_gain[{feature}]", gain,
                             warn=thresholds["attribute_inference_gain_warn"], higher_is_better=False,
                             what=f"The gain in AUC of recovering {feature} from the model's outputs and the other "
                                  f"features (AUC {_text(summary['attribute_attack_auc'][feature])}) over the "
                                  f"features alone ({_text(summary['attribute_baseline_auc'][feature])})"))
        return out

    @staticmethod
    def render(record):
        """Section: the attacks' numbers, the ROC on log-log axes per group, the groups, attribute inference."""
        from ...report import (
            Section,
            figure_to_png,
            frame_from_record,
            plot_membership_roc,
        )

        result, summary = record["result"], record["summary"]
        attacks = frame_from_record(result["attacks"]).set_index("attack")
        roc = frame_from_record(result["roc"])
        main = roc[roc["attack"] == summary["attack"]]
        figure = figure_to_png(plot_membership_roc(main, title=f"{summary['attack']} attack ROC (log-log)"))
        shown = attacks[[c for c in ("auc", "advantage", "tpr_at_0.1_fpr", "tpr_at_1_fpr", "auc_lower", "auc_upper",
                                     "tpr_at_1_fpr_lower", "tpr_at_1_fpr_upper") if c in attacks.columns]]
        tables = []
        if result.get("by_group"):
            groups = frame_from_record(result["by_group"])
            keep = ["attack", "feature", "group", "auc", "advantage", "tpr_at_1_fpr", "n_members", "n_nonmembers",
                    "small"]
            tables.append(("Attack by group and intersection", groups[keep].set_index(["attack", "feature", "group"])))
        if result.get("risk_by_group"):
            tables.append(("Members' mean risk (share of non-members with a lower attack score) by group",
                           frame_from_record(result["risk_by_group"]).set_index(["feature", "group"])))
        if result.get("attribute"):
            tables.append(("Attribute inference: AUC of recovering each sensitive feature, out of fold",
                           frame_from_record(result["attribute"]).set_index("feature")))
        return Section(record["title"], [(
            f"Members: {result['n_members']} rows of the training split; non-members: {result['n_nonmembers']} rows "
            "of the evaluation split. The attack scores each row (higher = more likely a training row); AUC, "
            "membership advantage (max TPR - FPR) and the TPR at 0.1% and 1% FPR say how well it tells them apart. "
            "The low-FPR numbers matter most: they count people identified with confidence.")],
            panels=[("Attacks (overall)", shown, "ROC on log-log axes, overall and per group", figure)],
            tables=tables, anchor=record["name"])

    @staticmethod
    def card(record) -> list[str]:
        """Model-card lines: the attack's numbers, the most exposed groups, attribute inference."""
        from ...report import escape_markdown as esc

        summary = record["summary"]
        lines = [f"Membership inference ({summary['attack']} attack, {summary['n_members']} training rows vs "
                 f"{summary['n_nonmembers']} evaluation rows): AUC {_text(summary['membership_auc'])}, advantage "
                 f"{_text(summary['membership_advantage'])}, TPR at 1% FPR {_text(summary['tpr_at_1_fpr'])}, "
                 f"at 0.1% FPR {_text(summary['tpr_at_0.1_fpr'])}."]
        if "lira_auc" in summary:
            lines += ["", f"LiRA (offline): AUC {_text(summary['lira_auc'])}, TPR at 1% FPR "
                          f"{_text(summary['lira_tpr_at_1_fpr'])}."]
        for feature, value in summary["max_group_advantage"].items():
            lines += ["", f"Most exposed group of {esc(feature)}: {esc(summary['worst_group'][feature]['group'])} "
                          f"(advantage {_text(value)})."]
        for feature, gain in summary.get("attribute_inference_gain", {}).items():
            lines += ["", f"Attribute inference of {esc(feature)}: AUC {_text(summary['attribute_attack_auc'][feature])} "
                          f"with the model's outputs, {_text(summary['attribute_baseline_auc'][feature])} from the "
                          f"features alone (gain {_text(gain)})."]
        return lines


def _single_features(by_group: pd.DataFrame) -> list[str]:
    return [f for f in dict.fromkeys(by_group["feature"]) if " x " not in str(f)]


def _text(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.3f}"
