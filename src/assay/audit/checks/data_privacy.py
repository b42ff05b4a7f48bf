"""Data privacy of the training data: PII in every column, and k-anonymity (with l-diversity and
t-closeness) of the quasi-identifiers the user names.

The scanned table is the split's features, its sensitive-feature columns and its label column (by
the label's name), so quasi-identifiers and sensitive columns may name any of them. Without
``quasi_identifiers`` only the PII scan runs. Results show counts, row positions and masked
examples of PII, and the violating classes by their quasi-identifier values and size only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
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
    grade,
    headline_row,
    rate,
    register_check,
)


@dataclasses.dataclass(frozen=True)
class DataPrivacyResult(Result):
    """The PII scan (:class:`assay.privacy.PIIScanResult`) of ``split`` and, with quasi-identifiers,
    its :class:`~assay.privacy.KAnonymityResult` (and with sensitive columns its l-diversity and
    t-closeness results; None otherwise). ``generalization``: when the data is not k-anonymous at
    the warn level, what :func:`assay.privacy.generalize` finds to reach it (levels per column, loss,
    rows suppressed; the released frame itself is not kept)."""

    split: str
    n_rows: int
    n_columns: int
    pii: Any
    k_anonymity: Any = None
    l_diversity: Any = None
    t_closeness: Any = None
    generalization: Any = None


@register_check
class DataPrivacyCheck(Check):
    """PII per column and kind; k-anonymity, l-diversity and t-closeness of chosen columns."""

    name = "data_privacy"
    title = "Data privacy: PII and re-identification"
    section = "data"
    #: The data checks' needs: with them "auto" never selects this check alone (an audit that forgot
    #: its target or model stays an error, not a pass on the PII scan alone).
    needs = frozenset({"train", "labels", "tabular"})
    order = 6
    thresholds: ClassVar[dict[str, Threshold]] = {
        "pii_share_warn": rate(0.0, "share of a column's rows holding one kind of PII that warns",
                               higher_is_better=False),
        "pii_share_fail": rate(0.01, "that share that fails", higher_is_better=False),
        "k_anonymity_warn": Threshold(5, "smallest equivalence class of the quasi-identifiers below which the data "
                                      "warns (classes smaller are listed)", low=1, integer=True,
                                      higher_is_better=True, at_run=True),
        "k_anonymity_fail": Threshold(2, "that class size below which it fails", low=1, integer=True,
                                      higher_is_better=True),
        "l_diversity_warn": Threshold(2, "fewest distinct sensitive values in a class below which it warns", low=1,
                                      higher_is_better=True, at_run=True),
        "t_closeness_warn": rate(0.2, "largest distance of a class's sensitive distribution from the table's that "
                                 "warns (Earth Mover's Distance)", higher_is_better=False, at_run=True),
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "quasi_identifiers": [None, list, tuple, str],
        "sensitive": [None, list, tuple, str],
        "split": [None, str],
        "max_shown": [Interval(Integral, 0, None)],
        "generalize": ["boolean"],
    }
    advice: ClassVar[dict[str, str]] = {
        "pii_share": "Personal data sits in this column: drop or mask it (assay.privacy.mask_pii) before training "
                     "or sharing, since a model can memorise and leak what it is trained on.",
        "k_anonymity": "Rows alone (or nearly) on these quasi-identifiers can be re-identified by linking with "
                       "outside data: generalise or suppress them (assay.privacy.generalize) or restrict access.",
        "l_diversity": "Classes with too few sensitive values reveal them to anyone who knows the quasi-identifiers: "
                       "generalise further or suppress those classes.",
        "t_closeness": "Some classes' sensitive values differ strongly from the table's, which discloses them: "
                       "generalise the quasi-identifiers further.",
    }

    def __init__(self, *, quasi_identifiers: Sequence[str] | str | None = None,
                 sensitive: Sequence[str] | str | None = None, split: str | None = None, max_shown: int = 20,
                 generalize: bool = True):
        self.quasi_identifiers = quasi_identifiers
        self.sensitive = sensitive
        self.split = split
        self.max_shown = max_shown
        self.generalize = generalize

    def table(self, context: AuditContext) -> tuple[str, pd.DataFrame]:
        """The split read (default "train", else the evaluation split) as one table: features,
        sensitive-feature columns and the label (under its name)."""
        split = self.split or ("train" if "train" in context.splits else context.eval_split)
        if split not in context.splits:
            from ...core.errors import AssayInputError

            raise AssayInputError(f"'split' of DataPrivacyCheck is {split!r}, which is not a split of 'data' "
                                  f"({sorted(context.splits)}).")
        X, y, sensitive = context.splits[split]
        frame = X.copy()
        if sensitive is not None:
            extra = [c for c in sensitive.columns if c not in frame.columns]
            frame[extra] = sensitive[extra].set_axis(frame.index).to_numpy()
        label = getattr(y, "name", None)
        if y is not None and label is not None and label not in frame.columns:
            frame[label] = np.asarray(y)
        return split, frame

    def run(self, context: AuditContext) -> DataPrivacyResult:
        from ...privacy import (
            generalize,
            k_anonymity,
            l_diversity,
            scan_pii,
            t_closeness,
        )

        split, frame = self.table(context)
        thresholds = {k: context.thresholds.get(k, spec.default) for k, spec in type(self).thresholds.items()}
        pii = scan_pii(frame)
        kanon = ldiv = tclose = suggestion = None
        if self.quasi_identifiers is not None:
            target = int(thresholds["k_anonymity_warn"])
            kanon = k_anonymity(frame, self.quasi_identifiers, k=target, max_shown=self.max_shown)
            if self.generalize and not kanon.is_k_anonymous and target <= len(frame):
                found = generalize(frame, self.quasi_identifiers, k=target)
                suggestion = {"k": found.k, "target_k": target, "loss": found.loss, "n_suppressed": found.n_suppressed,
                              "search": found.search, "per_column": found.per_column}
            if self.sensitive is not None:
                ldiv = l_diversity(frame, self.quasi_identifiers, self.sensitive, l=thresholds["l_diversity_warn"],
                                   max_shown=self.max_shown)
                tclose = t_closeness(frame, self.quasi_identifiers, self.sensitive,
                                     t=thresholds["t_closeness_warn"], max_shown=self.max_shown)
        return DataPrivacyResult(split, len(frame), frame.shape[1], pii, kanon, ldiv, tclose, suggestion)

    def summarize(self, result: DataPrivacyResult) -> dict[str, Any]:
        findings = result.pii.findings
        shares = findings.groupby("column", sort=False)["share"].max() if len(findings) else pd.Series(dtype=float)
        summary: dict[str, Any] = {
            "split": result.split, "n_rows": int(result.n_rows), "n_columns": int(result.n_columns),
            "pii_share": float(shares.max()) if len(shares) else 0.0,
            "pii_columns": {str(c): float(v) for c, v in shares.items()},
            "pii_kinds": {str(c): list(rows["kind"]) for c, rows in findings.groupby("column", sort=False)},
        }
        if result.k_anonymity is not None:
            k = result.k_anonymity
            summary.update(quasi_identifiers=[str(c) for c in k.quasi_identifiers], k_anonymity=int(k.k),
                           target_k=int(k.target_k), n_classes=int(k.n_classes),
                           n_violating_rows=int(k.n_violating_rows), n_unique_rows=int(k.n_unique_rows),
                           unique_share=k.n_unique_rows / k.n_rows)
        if result.generalization is not None:
            g = result.generalization
            summary["generalization"] = {"loss": float(g["loss"]), "n_suppressed": int(g["n_suppressed"]),
                                         "levels": {str(c): str(d) for c, d in g["per_column"]["description"].items()}}
        if result.l_diversity is not None:
            per = result.l_diversity.per_column
            summary["l_diversity"] = {str(c): int(v) for c, v in per["l_distinct"].items()}
            summary["l_entropy"] = {str(c): float(v) for c, v in per["l_entropy"].items()}
        if result.t_closeness is not None:
            summary["t_closeness"] = {str(c): float(v) for c, v in result.t_closeness.per_column["t"].items()}
        return summary

    def headline(self, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows = [headline_row("pii_share", summary["pii_share"], group="largest column", direction="lower")]
        rows += [headline_row("pii_share", v, feature=c, group=", ".join(summary["pii_kinds"][c]), direction="lower")
                 for c, v in summary["pii_columns"].items()]
        if "k_anonymity" in summary:
            rows += [headline_row("k_anonymity", summary["k_anonymity"], direction="higher"),
                     headline_row("unique_share", summary["unique_share"], direction="lower")]
        rows += [headline_row("l_diversity", v, feature=c, direction="higher")
                 for c, v in summary.get("l_diversity", {}).items()]
        rows += [headline_row("t_closeness", v, feature=c, direction="lower")
                 for c, v in summary.get("t_closeness", {}).items()]
        return rows

    def findings(self, summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[Finding]:
        pii = {"warn": thresholds["pii_share_warn"], "fail": thresholds["pii_share_fail"], "higher_is_better": False}
        out = [grade(self.name, f"pii_share[{c}]", v, **pii,
                     what=f"The share of rows of column {c!r} holding {', '.join(summary['pii_kinds'][c])}",
                     evidence={"kinds": summary["pii_kinds"][c]})
               for c, v in summary["pii_columns"].items()]
        if not out:
            out.append(grade(self.name, "pii_share", summary["pii_share"], **pii,
                             what=f"The largest share of rows of a column holding PII ({summary['n_columns']} "
                                  "columns scanned)"))
        if "k_anonymity" in summary:
            qis = ", ".join(summary["quasi_identifiers"])
            out.append(grade(self.name, "k_anonymity", summary["k_anonymity"], warn=thresholds["k_anonymity_warn"],
                             fail=thresholds["k_anonymity_fail"], higher_is_better=True,
                             what=f"The smallest class of rows sharing {qis} (k-anonymity; "
                                  f"{summary['n_unique_rows']} rows are unique)",
                             evidence={"n_violating_rows": summary["n_violating_rows"],
                                       "n_unique_rows": summary["n_unique_rows"]}))
        out += [grade(self.name, f"l_diversity[{c}]", v, warn=thresholds["l_diversity_warn"], higher_is_better=True,
                      what=f"The fewest distinct values of {c!r} in a class (distinct l-diversity)")
                for c, v in summary.get("l_diversity", {}).items()]
        out += [grade(self.name, f"t_closeness[{c}]", v, warn=thresholds["t_closeness_warn"], higher_is_better=False,
                      what=f"The largest distance of a class's distribution of {c!r} from the table's (t-closeness)")
                for c, v in summary.get("t_closeness", {}).items()]
        return out

    @staticmethod
    def render(record):
        """Section: PII per column and kind (masked), the classes below k, l and t per sensitive column."""
        from ...report import Section, frame_from_record

        result = record["result"]
        pii = frame_from_record(result["pii"]["findings"])
        text = [(f"Split {result['split']!r}: {result['n_rows']} rows, {result['n_columns']} columns (features, "
                "sensitive features and the label) scanned for emails, phone numbers, card numbers (Luhn), IBANs "
                "(mod 97), IP addresses, US SSNs, dates of birth, names (by column header) and secrets. Findings "
                "show row positions and masked examples, never a value in full.")]
        tables = [("PII per column and kind", pii)] if len(pii) else []
        if not len(pii):
            text.append("No PII was found.")
        if result.get("k_anonymity"):
            k = result["k_anonymity"]
            text.append(f"k-anonymity of ({', '.join(k['quasi_identifiers'])}): k = {k['k']} over {k['n_classes']} "
                        f"classes; {k['n_violating_rows']} rows lie in classes smaller than {k['target_k']} and "
                        f"{k['n_unique_rows']} rows are unique (re-identifiable from these columns alone).")
            violating = frame_from_record(k["violating"])
            suggestion = result.get("generalization")
            if suggestion:
                text.append(f"assay.privacy.generalize reaches k = {suggestion['target_k']} with a mean information "
                            f"loss (NCP) of {suggestion['loss']:.4f}, suppressing {suggestion['n_suppressed']} "
                            f"rows; search: {suggestion['search']}.")
            if len(violating):
                tables.append(((f"Smallest classes below k = {k['target_k']} (quasi-identifier values and size "
                               "only)"), violating))
        if result.get("generalization"):
            tables.append((("A generalisation that reaches k (level chosen per quasi-identifier, its information "
                           "loss)"), frame_from_record(result["generalization"]["per_column"])))
        for key, what in (("l_diversity", "l-diversity (distinct, entropy) per sensitive column"),
                          ("t_closeness", "t-closeness (Earth Mover's Distance) per sensitive column")):
            if result.get(key):
                tables.append((what, frame_from_record(result[key]["per_column"])))
        return Section(record["title"], text, tables=tables, anchor=record["name"])

    @staticmethod
    def card(record) -> dict[str, list[str]]:
        """Model card, "Training data": PII found per column, and the k-anonymity of the quasi-identifiers."""
        from ...report import escape_markdown

        summary = record["summary"]
        if summary["pii_columns"]:
            found = "; ".join(f"{escape_markdown(c)}: {', '.join(summary['pii_kinds'][c])} ({v:.4f} of rows)"
                              for c, v in summary["pii_columns"].items())
            lines = [(f"Personal data found in split {escape_markdown(summary['split'])} ({summary['n_rows']} rows): "
                     f"{found}.")]
        else:
            lines = [(f"No personal data (PII) found in the {summary['n_columns']} columns of split "
                     f"{escape_markdown(summary['split'])} ({summary['n_rows']} rows).")]
        if "k_anonymity" in summary:
            qis = ", ".join(escape_markdown(c) for c in summary["quasi_identifiers"])
            lines += ["", (f"k-anonymity of ({qis}): k = {summary['k_anonymity']}; {summary['n_unique_rows']} rows "
                          f"({summary['unique_share']:.4f}) are unique on these columns.")]
        if summary.get("generalization"):
            g = summary["generalization"]
            levels = "; ".join(f"{escape_markdown(c)}: {escape_markdown(d)}" for c, d in g["levels"].items())
            lines += ["", (f"Generalising them reaches k = {summary['target_k']} ({levels}; {g['n_suppressed']} rows "
                           f"suppressed) at a mean information loss (NCP) of {g['loss']:.4f}.")]
        for c, v in summary.get("l_diversity", {}).items():
            lines += ["", (f"l-diversity of {escape_markdown(c)}: {v} distinct (entropy l "
                          f"{summary['l_entropy'][c]:.4f}); t-closeness {summary['t_closeness'][c]:.4f}.")]
        return {"Training data": lines}
