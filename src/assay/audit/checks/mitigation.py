"""Fairness mitigations for the audited model, compared on the same split (opt-in: it retrains the model).

Runs :func:`assay.fairness.compare_mitigations` with a clone of the audited scikit-learn model
as the baseline, trained on the audit's train split (a validation split, when given, fits the
post-processing), and evaluated on the evaluation split; ``prefit=True`` takes the audited model
itself as the baseline, not retrained, so a comparison of post-processing mitigations retrains
nothing. The sensitive features' intersection is what the mitigations equalise. The finding is
the accuracy cost of the mitigation that narrows the chosen gap the most, among those whose
narrowing is significant (paired bootstrap). ``mitigations`` may also name ``"cost_threshold"``
(one threshold minimising ``cost_matrix`` on validation scores, e.g. German credit's 5:1): not a
fairness fix, but what a cost-aware decision alone does to every gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from ...core.component import Interval
from ...core.result import Result
from ..base import AuditContext, Check, Finding, Threshold, finite_or_none, grade, headline_row, rate, register_check

#: The mitigations a name stands for in the check's ``mitigations`` parameter.
MITIGATIONS = {
    "reweighing": lambda seed: _fairness().Reweighing(),
    "resampling": lambda seed: _fairness().GroupResampler(random_state=seed),
    "disparate_impact_remover": lambda seed: _fairness().DisparateImpactRemover(),
    "thresholds_demographic_parity": lambda seed: _fairness().GroupThresholds(constraint="demographic_parity"),
    "thresholds_equal_opportunity": lambda seed: _fairness().GroupThresholds(constraint="equal_opportunity"),
    "thresholds_equalized_odds": lambda seed: _fairness().GroupThresholds(constraint="equalized_odds"),
    "exponentiated_gradient": lambda seed: _fairness().ExponentiatedGradient(max_iter=20, random_state=seed),
    "reject_option": lambda seed: _fairness().RejectOptionClassifier(),
    "mindiff": lambda seed: _fairness().MinDiffClassifier(random_state=seed),
    "adversarial_debiasing": lambda seed: _fairness().AdversarialDebiasing(random_state=seed),
}
#: One threshold for everyone minimising the check's ``cost_matrix`` on validation scores (not a
#: fairness mitigation: what a cost-aware decision alone does to the gaps).
COST_THRESHOLD = "cost_threshold"
DEFAULT_MITIGATIONS = ("reweighing", "resampling", "thresholds_demographic_parity", "thresholds_equalized_odds")


class _Audited:
    """The audited model as ``prefit`` baseline: its outputs through the audit's adapter (the passes
    other checks already made are reused; labels = the arg-max class index, as the audit predicts),
    cloned as the underlying scikit-learn model for the mitigations that retrain it."""

    def __init__(self, adapter: Any) -> None:
        self._adapter = adapter
        self.classes_ = np.array([0, 1])

    def fit(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - only cloned, never refitted
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._adapter.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return np.argmax(self._adapter.predict_proba(X), axis=1)

    def __sklearn_clone__(self) -> Any:
        from sklearn.base import clone

        return clone(self._adapter.model)


def _fairness() -> Any:
    from ... import fairness

    return fairness


@register_check
class MitigationCheck(Check):
    """Baseline vs mitigations: accuracy, calibration and every gap with intervals; the cost of the best one."""

    name = "mitigation"
    title = "Fairness mitigations compared"
    section = "fairness"
    needs = frozenset({"model", "labels", "sensitive_features", "train", "labels:train", "task:classification"})
    order = 36
    #: Not under "auto": it retrains the model once per mitigation; name it in ``checks``.
    auto = False
    thresholds: ClassVar[dict[str, Threshold]] = {
        "mitigation_accuracy_cost_warn": rate(0.02, "accuracy lost (baseline minus mitigated) by the mitigation that "
                                              "narrows the gap the most, that warns", higher_is_better=False),
        "mitigation_accuracy_cost_fail": rate(0.05, "that loss that fails", higher_is_better=False),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "mitigations": [list, tuple],
        "gap": [str],
        "n_boot": [Interval(Integral, 0, None)],
        "prefit": ["boolean"],
        "cost_matrix": ["no_validation"],
    }
    model_index = ("mitigation_accuracy_cost",)
    advice: ClassVar[dict[str, str]] = {
        "mitigation_accuracy_cost": "Closing this gap costs accuracy: compare the mitigations' rows (the Pareto "
                                    "plot), try a tolerance on the constraint (GroupThresholds(tolerance=...)), "
                                    "or collect more data for the disadvantaged groups.",
    }

    def __init__(self, *, mitigations: Any = DEFAULT_MITIGATIONS, gap: str = "demographic_parity_difference",
                 n_boot: int = 200, prefit: bool = False, cost_matrix: Any = None):
        self.mitigations = mitigations
        self.gap = gap
        self.n_boot = n_boot
        self.prefit = prefit
        self.cost_matrix = cost_matrix

    def applicable(self, context: AuditContext) -> str | None:
        reason = super().applicable(context)
        if reason is not None:
            return reason
        if context.model.kind != "sklearn":
            return "needs a scikit-learn model (the check retrains a clone of it)"
        if len(getattr(context.model, "classes_", ())) != 2:
            return "needs a binary classifier"
        return None

    def run(self, context: AuditContext) -> Result:
        from ...core.errors import AssayInputError
        from ...fairness import compare_mitigations

        unknown = [m for m in self.mitigations if m not in MITIGATIONS and m != COST_THRESHOLD]
        if unknown:
            raise AssayInputError(f"'mitigations' of the mitigation check must be names among "
                                  f"{sorted([*MITIGATIONS, COST_THRESHOLD])}. Got {unknown}.")
        if COST_THRESHOLD in self.mitigations and self.cost_matrix is None:
            raise AssayInputError(f"'mitigations' of the mitigation check names {COST_THRESHOLD!r}, which needs "
                                  "'cost_matrix' (2x2: rows true class, columns predicted class), e.g. German "
                                  "credit's load_german_credit().cost_matrix. Got cost_matrix=None.")
        classes = np.asarray(context.model.classes_)

        def split(name: str) -> tuple[Any, np.ndarray, Any]:
            return context.X(name), np.searchsorted(classes, context.y(name)), context.sensitive_features(name)

        data = {"train": split("train"), "test": split(context.eval_split)}
        if "val" in context.splits and context.eval_split != "val" and context.splits["val"][1] is not None:
            data["val"] = split("val")
        names = list(context.sensitive_features().columns)
        mitigations = {m: (_fairness().CostSensitiveThreshold(cost_matrix=self.cost_matrix, method="empirical")
                           if m == COST_THRESHOLD else MITIGATIONS[m](context.random_state)) for m in self.mitigations}
        baseline = _Audited(context.model) if self.prefit else context.model.model
        return compare_mitigations(baseline, mitigations, data, sensitive_features=names,
                                   n_boot=self.n_boot, random_state=context.random_state, prefit=self.prefit)

    def _gap_key(self, result: Any) -> str:
        names = result.params["sensitive_features"]
        return f"{self.gap}[{' x '.join(names)}]"

    def summarize(self, result) -> dict[str, Any]:
        key = self._gap_key(result)
        table, diffs = result.table, result.differences
        rows = {}
        for name, row in table.iterrows():
            entry = {"stage": row["stage"], "accuracy": finite_or_none(row["accuracy"]),
                     "accuracy_ci": [finite_or_none(row["accuracy_lower"]), finite_or_none(row["accuracy_upper"])],
                     "ece": finite_or_none(row["ece"]), "gap": finite_or_none(row.get(key)),
                     "gap_ci": [finite_or_none(row.get(f"{key}_lower")), finite_or_none(row.get(f"{key}_upper"))],
                     "error": row["error"] if isinstance(row.get("error"), str) else None,
                     "note": row["note"] if isinstance(row.get("note"), str) else None}
            if name != "none" and (name, key) in diffs.index:
                d = diffs.loc[(name, key)]
                entry.update(gap_change=finite_or_none(d["difference"]), gap_change_significant=bool(d["significant"]),
                             accuracy_change=finite_or_none(diffs.loc[(name, "accuracy"), "difference"]))
            rows[str(name)] = entry
        candidates = [(v["gap_change"], n) for n, v in rows.items()
                      if n != "none" and v.get("gap_change_significant") and v["gap_change"] < 0]
        best = min(candidates)[1] if candidates else None
        return {"gap": key, "rows": rows, "best": best,
                "mitigation_accuracy_cost": (None if best is None else finite_or_none(-rows[best]["accuracy_change"])),
                "n_train": result.params["n_train"], "n_val": result.params["n_val"],
                "n_test": result.params["n_test"], "prefit": bool(result.params.get("prefit", False))}

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = []
        for name, row in summary["rows"].items():
            out.append(headline_row("mitigated_accuracy", row["accuracy"], feature=name, group="overall",
                                    lower=row["accuracy_ci"][0], upper=row["accuracy_ci"][1], direction="higher"))
            out.append(headline_row("mitigated_gap", row["gap"], feature=name, group=summary["gap"],
                                    lower=row["gap_ci"][0], upper=row["gap_ci"][1], direction="lower"))
        if summary["best"] is not None:
            out.append(headline_row("mitigation_accuracy_cost", summary["mitigation_accuracy_cost"],
                                    feature=summary["best"], group="overall", direction="lower"))
        return out

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        if summary["best"] is None:
            return []
        best = summary["best"]
        row = summary["rows"][best]
        return [grade(self.name, "mitigation_accuracy_cost", summary["mitigation_accuracy_cost"],
                      warn=thresholds["mitigation_accuracy_cost_warn"], fail=thresholds["mitigation_accuracy_cost_fail"],
                      higher_is_better=False,
                      what=f"The accuracy lost by {best}, which narrows {summary['gap']} the most "
                           f"({summary['rows']['none']['gap']:.3f} -> {row['gap']:.3f}, significant)",
                      evidence={"mitigation": best, "gap": summary["gap"], "gap_before": summary["rows"]["none"]["gap"],
                                "gap_after": row["gap"], "accuracy_before": summary["rows"]["none"]["accuracy"],
                                "accuracy_after": row["accuracy"]})]

    @staticmethod
    def render(record):
        """Section: the comparison table beside the Pareto plot (accuracy against the chosen gap)."""
        from ...report import Section, figure_to_png, frame_from_record, plot_mitigation_pareto

        result, summary = record["result"], record["summary"]
        table = frame_from_record(result["table"])
        if "model" in table.columns:
            table = table.set_index("model")
        key = summary["gap"]
        shown = table[["stage", "accuracy", "accuracy_lower", "accuracy_upper", "ece", key, f"{key}_lower",
                       f"{key}_upper"]].reset_index()
        errors = {n: r["error"] for n, r in summary["rows"].items() if r.get("error")}
        figure = figure_to_png(plot_mitigation_pareto(table, gap=key))
        baseline = ("The audited model as it is (not retrained) as the baseline ('none'), and retrained on the train "
                    f"split ({summary['n_train']} rows) once per pre-/in-processing mitigation" if summary.get("prefit")
                    else f"The audited model retrained on the train split ({summary['n_train']} rows) as the baseline "
                    "('none') and once per mitigation")
        text = (f"{baseline}; post-processing fitted on {summary['n_val']} validation rows; all evaluated "
                f"on the same {summary['n_test']} rows with 95% bootstrap intervals. Differences from the baseline "
                "are judged by a paired bootstrap (same resampled rows for both models).")
        paragraphs = [text]
        if summary["best"] is not None:
            paragraphs.append(f"{summary['best']} narrows {key} the most, at an accuracy cost of "
                              f"{summary['mitigation_accuracy_cost']:.3f}.")
        else:
            paragraphs.append(f"No mitigation narrows {key} significantly.")
        paragraphs += [f"{name} could not be fitted: {error}" for name, error in errors.items()]
        paragraphs += [f"{name}: {r['note']}" for name, r in summary["rows"].items() if r.get("note")]
        differences = frame_from_record(result["differences"])
        return Section(record["title"], paragraphs,
                       panels=[(f"Accuracy, ECE and {key} per mitigation (95% intervals)", shown,
                                f"Accuracy against {key}", figure)],
                       tables=[("Differences from the baseline (paired bootstrap, 95%)", differences)],
                       anchor=record["name"])

    @staticmethod
    def card(record) -> list[str]:
        """Model-card lines: baseline and every mitigation side by side (accuracy and the gap, with their
        intervals and their paired-bootstrap changes from the baseline), as the other checks' card tables."""
        import pandas as pd

        from ...report import escape_markdown, markdown_table
        from ...report.tables import with_intervals

        summary = record["summary"]
        gap = summary["gap"]
        fitted = {n: r for n, r in summary["rows"].items() if not r.get("error")}
        acc_col, gap_col = "accuracy", gap

        def num(v: Any) -> float:
            return float("nan") if v is None else float(v)

        index = pd.Index([("none (baseline)" if n == "none" else n) for n in fitted], name="model")
        values = pd.DataFrame({"stage": ["baseline" if n == "none" else r["stage"] for n, r in fitted.items()],
                               acc_col: [num(r["accuracy"]) for r in fitted.values()],
                               "accuracy change": [num(r.get("accuracy_change")) for r in fitted.values()],
                               gap_col: [num(r["gap"]) for r in fitted.values()],
                               "gap change": [num(r.get("gap_change")) for r in fitted.values()],
                               "gap change significant": ["" if n == "none" else
                                                          ("yes" if r.get("gap_change_significant") else "no")
                                                          for n, r in fitted.items()]}, index=index)
        ci = pd.DataFrame({(acc_col, "lower"): [num(r["accuracy_ci"][0]) for r in fitted.values()],
                           (acc_col, "upper"): [num(r["accuracy_ci"][1]) for r in fitted.values()],
                           (gap_col, "lower"): [num(r["gap_ci"][0]) for r in fitted.values()],
                           (gap_col, "upper"): [num(r["gap_ci"][1]) for r in fitted.values()]}, index=index)
        shown = with_intervals(values, ci, digits=4)
        shown["accuracy change"] = values["accuracy change"].map(lambda v: "" if pd.isna(v) else f"{v:+.4f}")
        shown["gap change"] = values["gap change"].map(lambda v: "" if pd.isna(v) else f"{v:+.4f}")
        lines = [(f"Mitigations considered: the model retrained (or post-processed) on the same training rows, each "
                  f"evaluated on the same {summary['n_test']} rows; accuracy and {escape_markdown(gap)} with 95% "
                  "bootstrap intervals, changes from the baseline by a paired bootstrap (values rounded to 4 "
                  "decimals; exact values in report.json):"), "", markdown_table(shown)]
        if summary.get("best") is not None:
            lines += ["", (f"{escape_markdown(summary['best'])} narrows the gap the most (significantly), at an "
                           f"accuracy cost of {summary['mitigation_accuracy_cost']:.4f}.")]
        else:
            lines += ["", "No mitigation narrows the gap significantly."]
        for name, row in summary["rows"].items():
            if row.get("error"):
                lines.append(f"- {escape_markdown(name)} ({row['stage']}): not fitted on these data "
                             f"({escape_markdown(row['error'])})")
            elif row.get("note"):
                lines.append(f"- {escape_markdown(name)}: {escape_markdown(row['note'])}")
        return lines
