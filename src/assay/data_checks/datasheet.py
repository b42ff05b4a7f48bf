"""A datasheet skeleton (Gebru et al., 2021, "Datasheets for Datasets") filled from a DataReport.

:func:`datasheet_markdown` returns Markdown with the seven sections of the paper -- Motivation,
Composition, Collection process, Preprocessing/cleaning/labeling, Uses, Distribution,
Maintenance. What the data checks measured (rows, features, label balance, group sizes,
missing values, duplicates and train/test overlap, leakage and proxy findings, shift) is
written in; every question only a person can answer is left as a clearly marked prompt::

    > **To fill in:** Who created the dataset, and on behalf of which entity?

so a reviewer can search for "To fill in" and see what is still missing. Nothing is written to
disk here: the caller saves the string.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.errors import AssayInputError
from ..core.validation import SEPARATOR, describe
from ..report.markdown import escape_markdown as _md
from .report import DataReport

PROMPT = "> **To fill in:** "
"""Prefix of every question left for a person."""

_MOTIVATION = (
    (
        "For what purpose was the dataset created? Was there a specific task in mind, or a gap to"
        " fill?"
    ),
    (
        "Who created the dataset (which team, research group) and on behalf of which entity "
        "(company, institution, organisation)?"
    ),
    "Who funded the creation of the dataset?",
)
_COMPOSITION = (
    (
        "What do the instances represent (people, documents, transactions, ...)? Are there "
        "several types of instances?"
    ),
    (
        "Is this all possible instances or a sample of a larger set? If a sample, how was it "
        "drawn, and is it representative (of which population)?"
    ),
    "What does the label mean, how was it obtained, and how reliable is it?",
    (
        "Does the dataset contain data that might be considered confidential or sensitive "
        "(health, finances, political or religious beliefs, ...)? Can individuals be identified, "
        "directly or in combination with other data?"
    ),
    (
        "Are the train / test splits recommended ones? Why are they split this way (time, random,"
        " by source)?"
    ),
)
_COLLECTION = (
    (
        "How was the data acquired (directly observed, reported by subjects, derived from other "
        "data)? How was it validated?"
    ),
    "What mechanisms or procedures were used (surveys, sensors, software, manual curation)?",
    "Who was involved in collecting the data, and how were they compensated?",
    "Over what timeframe was the data collected? Does it match the period the instances refer to?",
    (
        "Were ethical review processes conducted? Were the people concerned notified, and did "
        "they consent (and can they revoke consent)?"
    ),
)
_PREPROCESSING = (
    (
        "What preprocessing, cleaning or labeling was done (binning, removal of instances, "
        "handling of missing values, tokenisation, ...)?"
    ),
    "Was the raw data saved in addition to the processed data? Where?",
    "Is the software used to preprocess the data available?",
)
_USES = (
    (
        "Has the dataset been used for any tasks already? Is there a repository of papers or "
        "systems that use it?"
    ),
    "What other tasks could it be used for?",
    (
        "Is there anything about the composition or collection that might affect future uses "
        "(unfair treatment of groups, legal or financial risks)? What could users do to mitigate "
        "it?"
    ),
    "Are there tasks for which the dataset should not be used?",
)
_DISTRIBUTION = (
    (
        "Will the dataset be distributed to third parties outside the entity that created it? How"
        " (website, API, GitHub), and since when?"
    ),
    "Under which copyright or other intellectual-property license, and/or terms of use?",
    (
        "Have third parties imposed restrictions on the data? Do export controls or other "
        "regulatory restrictions apply?"
    ),
)
_MAINTENANCE = (
    "Who supports, hosts and maintains the dataset? How can the owner or curator be contacted?",
    (
        "Is there an erratum? Will the dataset be updated (to correct errors, add or delete "
        "instances), how often, by whom, and how will users learn of it?"
    ),
    (
        "Are there limits on how long data about people will be retained? Will older versions "
        "remain available?"
    ),
    "Can others extend, augment or contribute to the dataset? How are contributions validated?",
)


def _prompts(questions: Sequence[str]) -> list[str]:
    out = []
    for question in questions:
        out += [PROMPT + question, ""]
    return out


def _num(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    return f"{float(x):.{digits}g}"


def _pct(x: float) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{100 * x:.2f}%"


def _cell(value: Any) -> str:
    return _md(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _composition(r: DataReport) -> list[str]:
    out: list[str] = []
    kinds = r.feature_kinds
    numeric = [f for f, k in kinds.items() if k == "numeric"]
    categorical = [f for f, k in kinds.items() if k == "categorical"]
    out += ["### Instances and features", ""]
    out += [
        f"- Rows: {_num(r.n_train)} in train, {_num(r.n_test)} in test.",
        f"- Features: {r.n_features} ({len(numeric)} numeric: {', '.join(map(_md, numeric)) or 'none'}; "
        f"{len(categorical)} categorical: {', '.join(map(_md, categorical)) or 'none'}).",
        f"- Target: {_md(r.target) if r.target is not None else 'not given'}.",
        f"- Sensitive features: {', '.join(map(_md, r.sensitive_features)) or 'not given'}.",
        "",
    ]
    out += ["### Labels", ""]
    if r.label_balance is not None:
        lb = r.label_balance
        rows = [["train", *(f"{_num(int(c))} ({_pct(c / lb.n_samples)})" for c in lb.class_counts),
                 _num(lb.base_rate), _num(lb.imbalance_ratio)]]
        if r.label_balance_test is not None:
            lt = r.label_balance_test
            counts = lt.class_counts.reindex(lb.class_counts.index, fill_value=0)
            rows.append(["test", *(f"{_num(int(c))} ({_pct(c / lt.n_samples)})" for c in counts),
                         _num(lt.base_rate), _num(lt.imbalance_ratio)])
        out += _table(["split", *(f"label {c}" for c in lb.class_counts.index),
                       f"base rate (label {lb.pos_label})", "imbalance ratio"], rows)
    else:
        out += [f"Label balance not measured ({r.skipped.get('label_balance', 'no target')}).", ""]

    out += ["### Groups (sensitive features)", ""]
    if r.group_sizes is not None:
        gs = r.group_sizes
        test_counts = {}
        if r.group_sizes_test is not None:
            tt = r.group_sizes_test.table
            test_counts = {(f, g): c for f, g, c in zip(tt["feature"], tt["group"], tt["count"])}
        rates = {}
        if r.label_balance is not None and r.label_balance.by_group is not None:
            bg = r.label_balance.by_group
            rates = {(f, g): b for f, g, b in zip(bg["feature"], bg["group"], bg["base_rate"])}
        single = gs.table[~gs.table["feature"].str.contains(SEPARATOR, regex=False)]
        rows = [[f, g, _num(int(c)), _pct(fr), _num(int(test_counts.get((f, g), 0))),
                 _num(rates.get((f, g))), "yes" if s else ""]
                for f, g, c, fr, s in zip(single["feature"], single["group"], single["count"],
                                          single["fraction"], single["small"])]
        out += _table(["feature", "group", "train rows", "train share", "test rows",
                       "base rate (train)", f"small (< {gs.min_group_size})"], rows)
        cov = gs.coverage
        inter = cov[cov.index.str.contains(SEPARATOR, regex=False)]
        if len(inter):
            out += ["Intersections (train):", ""]
            out += _table(["intersection", "groups present", "possible", "empty", "small", "smallest"],
                          [[i, _num(int(c["n_groups"])), _num(int(c["n_possible"])), _num(int(c["n_empty"])),
                            _num(int(c["n_small"])), _num(int(c["smallest"]))] for i, c in inter.iterrows()])
        if r.label_balance is not None and r.label_balance.gaps is not None:
            gaps = r.label_balance.gaps
            out += ["Base-rate gaps across groups with at least "
                    f"{r.label_balance.min_group_size} rows (train):", ""]
            out += _table(["feature", "min", "max", "difference", "ratio"],
                          [[f, _num(g["base_rate_min"]), _num(g["base_rate_max"]), _num(g["difference"]),
                            _num(g["ratio"])] for f, g in gaps.iterrows()])
    else:
        out += ["No sensitive features were given: group sizes and base rates per group were "
                "not measured.", ""]

    out += ["### Missing values", ""]
    m = r.missingness
    with_missing = m.overall[m.overall["n_missing"] > 0]
    if len(with_missing):
        dep = {}
        for _, row in m.summary.iterrows():
            if row["depends_on_group"]:
                dep.setdefault(row["feature"], []).append(
                    f"{row['sensitive_feature']} (V = {_num(row['cramers_v'])}, "
                    + ("p < 1e-300)" if row["p_value"] == 0 else f"p = {row['p_value']:.2g})"))
        test_rates = r.shift.table["missing_rate_current"]
        out += _table(["feature", "missing (train)", "missing (test)", "depends on group"],
                      [[f, f"{_num(int(row['n_missing']))} ({_pct(row['missing_rate'])})",
                        _pct(test_rates.get(f, np.nan)), "; ".join(dep.get(f, [])) or "no"]
                       for f, row in with_missing.iterrows()])
    else:
        out += ["No feature has missing values in train.", ""]

    out += ["### Duplicates and train/test overlap", ""]
    o = r.overlap
    out += [
        f"- Duplicate rows within train: {_num(o.n_train_duplicates)}; "
        f"within test: {_num(o.n_test_duplicates)}.",
        f"- Test rows that exactly equal a training row: {_num(o.n_exact)} ({_pct(o.exact_fraction)}).",
        f"- Near-duplicates (same categories, numeric values within "
        f"{o.params['near_duplicate_threshold']:g} standard deviations RMS): {_num(o.n_near)} of "
        f"{_num(o.n_checked)} test rows checked ({_pct(o.near_fraction)}).",
        "",
    ]

    out += ["### Single-feature predictiveness (leakage screen)", ""]
    if r.predictiveness is not None:
        p = r.predictiveness
        top = p.table.head(5)
        out += _table(["feature", "kind", "AUC alone", "suspicious"],
                      [[f, row["kind"], _num(row["auc"]), "yes" if row["suspicious"] else ""]
                       for f, row in top.iterrows()])
    else:
        out += [f"Not measured ({r.skipped.get('single_feature_predictiveness', '')}).", ""]

    out += ["### Proxies for sensitive features", ""]
    if r.proxies is not None:
        px = r.proxies
        if px.sensitive_in_X:
            out += [f"The features include the sensitive attribute(s) {', '.join(map(_md, px.sensitive_in_X))}.", ""]
        rows = []
        for attribute in px.params["sensitive_features"]:
            for _, row in px.top(attribute, 3).iterrows():
                rows.append([attribute, row["feature"], _num(row["auc"]), _num(row["cramers_v"]),
                             "yes" if row["strong"] else ""])
        out += _table(["sensitive feature", "feature", "AUC alone", "Cramér's V", "strong proxy"], rows)
    else:
        out += ["Not measured (no sensitive features given).", ""]

    out += ["### Train vs test distribution", ""]
    st = r.shift.table
    drifted = r.shift.drifted_features
    out += [f"- Features flagged as shifted: {', '.join(map(_md, drifted)) if drifted else 'none'}.",
            f"- Largest PSI: {_num(float(st['psi'].max()))} ('{_md(st['psi'].idxmax())}')." if len(st) else "",
            ""]
    return out


def datasheet_markdown(data_report: DataReport, *, name: str, description: str | None = None) -> str:
    """A Markdown datasheet (Gebru et al., 2021) for the data behind ``data_report``.

    Parameters
    ----------
    data_report : DataReport
        From :func:`run_data_checks`; its numbers fill the Composition section (and a few lines
        of Preprocessing), its findings head the document.
    name : str
        Name of the dataset (the title).
    description : str, optional
        What is already known about the data (e.g. a loader's description); shown under
        Motivation, before the prompts.

    Returns
    -------
    str
        Markdown. Questions only a person can answer start with ``> **To fill in:**``.
    """
    if not isinstance(data_report, DataReport):
        raise AssayInputError(
            f"'data_report' must be a DataReport (from run_data_checks). Got {describe(data_report)} instead."
        )
    if not isinstance(name, str) or not name.strip():
        raise AssayInputError(f"'name' must be a non-empty string. Got {describe(name)} instead.")
    if description is not None and not isinstance(description, str):
        raise AssayInputError(f"'description' must be a string or None. Got {describe(description)} instead.")
    r = data_report
    findings = r.findings()
    lines = [f"# Datasheet: {_md(name.strip())}", ""]
    lines += [
        "Structure and questions from Gebru et al., *Datasheets for Datasets* (Communications of the "
        "ACM, 2021). Numbers were measured by `assay.data_checks.run_data_checks`; lines starting "
        "with **To fill in** are for the people who know the data.",
        "",
    ]
    lines += ["## Summary of data checks", ""]
    counts = {s: sum(f.severity == s for f in findings) for s in ("fail", "warn", "pass")}
    lines += [f"{counts['fail']} fail, {counts['warn']} warn, {counts['pass']} pass.", ""]
    for f in findings:
        if f.severity != "pass":
            lines.append(f"- **{f.severity.upper()}** ({_md(f.check)}): {_md(f.message)}")
    lines.append("")

    lines += ["## Motivation", ""]
    if description:
        quoted = ["> " + _md(line) if line else ">" for line in description.strip().splitlines()]
        lines += ["Provided description:", "", *quoted, ""]
    lines += _prompts(_MOTIVATION)

    lines += ["## Composition", ""]
    lines += _prompts(_COMPOSITION)
    lines += _composition(r)

    lines += ["## Collection process", ""]
    lines += _prompts(_COLLECTION)

    lines += ["## Preprocessing, cleaning and labeling", ""]
    missing = r.missingness.features_with_missing
    lines += [
        "Measured on the data as given (after any preprocessing already done):",
        "",
        f"- Features with missing values: {', '.join(missing) if missing else 'none'}.",
        f"- Exact duplicate rows: {_num(r.overlap.n_train_duplicates)} in train, "
        f"{_num(r.overlap.n_test_duplicates)} in test.",
        "",
    ]
    lines += _prompts(_PREPROCESSING)

    lines += ["## Uses", ""]
    warned = sorted({f.check for f in findings if f.severity != "pass"})
    if warned:
        lines += [f"Data checks that future users should know about: {', '.join(warned)} "
                  "(see the summary above).", ""]
    lines += _prompts(_USES)

    lines += ["## Distribution", ""]
    lines += _prompts(_DISTRIBUTION)

    lines += ["## Maintenance", ""]
    lines += _prompts(_MAINTENANCE)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"
