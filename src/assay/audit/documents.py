"""Documents of an audit, all built from one JSON record (so ``assay report <run-dir>`` can
rebuild them from disk): report.json, report.html and MODEL_CARD.md (and DATASHEET.md).

The documents name no check. Each registered check may bring, as static methods reading its
own record:

- ``render(record) -> Section``: its report.html section (default: its tables and headline
  numbers);
- ``card(record)``: its part of the model card, a list of lines (a subsection of "Quantitative
  analyses") or a mapping of card section (:data:`CARD_SECTIONS`) to lines;

and, as a class attribute, ``model_index``: the headline metrics (a name, or a prefix ending in
``*``) that the card's YAML ``model-index`` lists.

Every document reads every check alike through its headline rows (``record["headline"]``,
:meth:`~assay.audit.Check.headline`): report.json's top-level ``headline`` table, the card's
"Metrics" table and model-index, the first table of report.html. A check record written before
the rows existed is read through the generic reading of its summary (:func:`headline_rows`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import AssayInputError
from ..core.result import to_jsonable
from ..report.html import Section, render_html
from ..report.io import SCHEMA_VERSION
from ..report.markdown import escape_markdown, markdown_block
from ..report.tables import frame_from_record, is_frame_record
from .details import dataset_details
from .base import HEADLINE_COLUMNS, Check, headline_key, registered_checks

SEVERITY_ORDER = {"error": 0, "fail": 1, "warn": 2, "pass": 3}
#: Sections of the model card a check's ``card()`` may write to (in the card's order).
CARD_SECTIONS = ("Factors", "Training data", "Quantitative analyses", "Caveats and recommendations")
_PROMPT = "> **To fill in:** {what}"
#: The model card's sections a person writes (``card_sections`` keys -> heading), and the prompt
#: the card shows while a section is not written.
CARD_TEXT_SECTIONS = {
    "model_details": ("Model details", "who built the model, when, which version, license."),
    "intended_use": ("Intended use", "primary uses and users; uses that are out of scope."),
    "factors": ("Factors", "the groups and conditions the model was evaluated across."),
    "training_data": ("Training data", "where the training data came from, how it was collected and labelled."),
    "ethical_considerations": ("Ethical considerations", "risks, harms, and the people affected; mitigations taken."),
    "caveats_and_recommendations": ("Caveats and recommendations",
                                    "known limitations beyond those measured above; recommendations for users."),
}


def audit_record(result: Any, *, title: str = "assay audit", model_name: str | None = None,
                 dataset_name: str | None = None, environment: Mapping[str, str] | None = None,
                 task: str = "tabular-classification", card_sections: Any = None,
                 dataset: Any = None) -> dict[str, Any]:
    """The report.json record of an :class:`~assay.audit.AuditResult` (JSON-safe).

    ``task`` is the Hugging Face task type the card declares (e.g. "image-classification").
    ``card_sections`` holds the model card's human-written sections (a mapping, or the path of
    a YAML or JSON file; see :func:`read_card_sections`); they are kept in the record, so
    ``assay report`` rebuilds the same complete card. The model's details, the rows of each
    split and a bundled data set's source, license and citation come from ``result.details``
    (an audit of an ``assay.datasets.Dataset``), or from ``dataset`` (a ``Dataset``, or a mapping
    with keys name, source, license, citation) when the audit was given its splits one by one.
    """
    if task == "tabular-classification" and result.config.get("task") == "regression":
        task = "tabular-regression"
    counts = {s: sum(f.severity == s for f in result.findings) for s in ("pass", "warn", "fail", "error")}
    details = getattr(result, "details", None) or {}
    dataset = {**(details.get("dataset") or {}), **({} if dataset is None else dataset_details(dataset))}
    return to_jsonable({
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "task": task,
        "model": {"name": model_name, "fingerprint": result.config["model"], "details": details.get("model") or {}},
        "dataset": {**dataset, "name": dataset_name or dataset.get("name"), "fingerprints": result.config["data"],
                    "eval_split": result.config["eval_split"], "splits": details.get("splits") or {}},
        "card_sections": read_card_sections(card_sections),
        "environment": dict(environment or {}),
        "seed": result.config["seed"],
        "summary": {"worst_severity": result.worst_severity, "findings": counts,
                    "checks_run": list(result.records), "checks_skipped": dict(result.skipped),
                    "forward_passes": dict(result.forward_passes)},
        "findings": [f.to_dict() for f in sorted(result.findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 0))],
        "headline": headline_rows({"checks": result.records}),
        "checks": result.records,
    })


#: What the documents read from a record: key -> (type, nested keys it must hold).
_LAYOUT = {"title": (str, ()), "model": (Mapping, ()), "dataset": (Mapping, ("eval_split", "fingerprints")),
           "seed": (int, ()), "findings": (list, ()), "checks": (Mapping, ()),
           "summary": (Mapping, ("worst_severity", "findings", "checks_skipped", "forward_passes"))}


def read_card_sections(sections: Any) -> dict[str, str]:
    """The model card's human-written sections: ``{key: Markdown text}`` with keys of
    :data:`CARD_TEXT_SECTIONS` (``intended_use``, ``ethical_considerations``, ...).

    ``sections`` is None (none written), a mapping, or the path of a YAML (needs ``pyyaml``) or
    JSON file holding one. Raises :class:`~assay.AssayInputError` naming an unknown key or a
    value that is not text.
    """
    if sections is None:
        return {}
    name = "'card_sections'"
    if isinstance(sections, (str, os.PathLike)):
        path = Path(sections)
        name = f"'card_sections' file {str(path)!r}"
        if not path.is_file():
            raise AssayInputError(f"'card_sections' must be a YAML or JSON file of the card's sections. "
                                  f"Got {str(path)!r}, which is not a file.")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() == ".json":
                sections = json.loads(text)
            else:
                import yaml

                sections = yaml.safe_load(text)
        except ImportError as exc:
            raise AssayInputError(f"Reading {name} needs pyyaml (pip install pyyaml); or give the sections "
                                  "as a JSON file.") from exc
        except Exception as exc:  # noqa: BLE001 - the parser's own message names the line
            raise AssayInputError(f"{name} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                                  f"{' '.join(str(exc).split())}") from exc
    if not isinstance(sections, Mapping):
        raise AssayInputError(f"{name} must be a mapping of section -> text (keys: {', '.join(CARD_TEXT_SECTIONS)}). "
                              f"Got {type(sections).__name__}.")
    unknown = [k for k in sections if k not in CARD_TEXT_SECTIONS]
    if unknown:
        raise AssayInputError(f"{name} has unknown section {str(unknown[0])!r}. Expected some of: "
                              f"{', '.join(CARD_TEXT_SECTIONS)}.")
    out = {}
    for key, text in sections.items():
        if not isinstance(text, str):
            raise AssayInputError(f"{name}[{key!r}] must be text (Markdown). Got {type(text).__name__}.")
        if text.strip():
            out[key] = text.strip()
    return out


def check_record(record: Any, *, name: str = "record") -> Mapping[str, Any]:
    """``record`` if it has the layout of report.json that the documents read, else
    :class:`~assay.AssayInputError` naming the first missing or mistyped key."""
    if not isinstance(record, Mapping):
        raise AssayInputError(f"{name} must be a JSON object (an audit record). Got {type(record).__name__}.")
    for key, (kind, inner) in _LAYOUT.items():
        if key not in record:
            raise AssayInputError(f"{name} has no {key!r}: it is not an audit record assay wrote "
                                  "(re-run 'assay audit' to write a new one).")
        if not isinstance(record[key], kind) or isinstance(record[key], bool):
            raise AssayInputError(f"{name}[{key!r}] must be a {getattr(kind, '__name__', kind)}. "
                                  f"Got {type(record[key]).__name__}.")
        missing = [k for k in inner if k not in record[key]]
        if missing:
            raise AssayInputError(f"{name}[{key!r}] has no {missing[0]!r}: it is not an audit record assay wrote.")
    if record.get("card_sections") is not None:
        if not isinstance(record["card_sections"], Mapping):
            raise AssayInputError(f"{name}['card_sections'] must be a mapping of section -> text. "
                                  f"Got {type(record['card_sections']).__name__}.")
        read_card_sections(record["card_sections"])
    for check, value in record["checks"].items():
        if not isinstance(value, Mapping) or "status" not in value:
            raise AssayInputError(f"{name}['checks'][{check!r}] must be a check record with a 'status'.")
        if value.get("headline") is not None:
            _check_headline_rows(value["headline"], f"{name}['checks'][{check!r}]['headline']")
    return record


def _check_headline_rows(rows: Any, name: str) -> None:
    """Refuse headline rows the documents cannot read: a list of objects with a string
    ``metric`` and numbers (or null) as ``value``, ``lower`` and ``upper``."""
    if not isinstance(rows, list):
        raise AssayInputError(f"{name} must be a list of headline rows. Got {type(rows).__name__}.")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or not isinstance(row.get("metric"), str):
            raise AssayInputError(f"{name}[{i}] must be a headline row (an object with a string 'metric'). "
                                  f"Got {str(row)[:80]!r}.")
        for field in ("value", "lower", "upper"):
            number = row.get(field)
            if number is not None and (isinstance(number, bool) or not isinstance(number, (int, float))):
                raise AssayInputError(f"{name}[{i}][{field!r}] must be a number or null. "
                                      f"Got {type(number).__name__} {str(number)[:40]!r}.")


def _check_section(name: str, record: Mapping[str, Any]) -> Section:
    """A report section for one check's record: its own renderer if the check has one."""
    check_cls = registered_checks().get(name)
    title = record.get("title") or name
    if record.get("status") != "ok":
        return Section(title, [f"This check did not finish ({record.get('status')}): {record.get('error')}"],
                       anchor=name)
    render = getattr(check_cls, "render", None)
    if render is not None:
        section = render(record)
        if section is not None:
            return section
    tables = [(key, frame_from_record(value)) for key, value in (record.get("result") or {}).items()
              if is_frame_record(value)]
    rows = _check_headline(name, record)
    if rows:
        tables.insert(0, ("Headline numbers", _headline_frame(rows)))
    return Section(title, [], tables=tables, anchor=name)


def _worst(severities) -> str | None:
    ranked = sorted((s for s in severities if s in SEVERITY_ORDER), key=SEVERITY_ORDER.get)
    return ranked[0] if ranked else None


def _pick(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row of one metric to show at the top: the worst across features (by its direction)."""
    rows = [r for r in rows if r["value"] is not None]
    if not rows:
        return None
    sign = {"lower": -1.0, "higher": 1.0}.get(rows[0]["direction"])
    return rows[0] if sign is None else min(rows, key=lambda r: sign * r["value"])


def top_headline(record: Mapping[str, Any], n: int = 10) -> list[dict[str, Any]]:
    """The headline rows at the top of report.html: of each finished check, in the record's
    order, the first and the last metric it declares in ``model_index`` (its leading number
    and, by convention, its worst-group or gap number), each at its worst row across features
    (by the row's direction); at most ``n``."""
    checks = registered_checks()
    rows = headline_rows(record)
    out: list[dict[str, Any]] = []
    for name in record["checks"]:
        declared = list(getattr(checks.get(name), "model_index", ()) or ())
        own = [r for r in rows if r["check"] == name]
        present = [p for p in declared if any(_declared(r["metric"], {p}) for r in own)]  # a regressor's differ
        for pattern in dict.fromkeys(present[:1] + present[-1:]):
            metric = next((r["metric"] for r in own if _declared(r["metric"], {pattern})), None)
            row = _pick([r for r in own if r["metric"] == metric]) if metric is not None else None
            if row is not None:
                out.append(row)
    return out[:n]


def _top_cards(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    def fmt(v):
        return "n/a" if v is None else f"{v:.4f}"

    return [{"label": row["metric"], "value": fmt(row["value"]), "interval": _interval(row, fmt),
             "group": "; ".join(f"{k}: {row[k]}" for k in ("feature", "group") if row[k] not in (None, "")),
             "href": row["check"]} for row in top_headline(record)]


def _identity(record: Mapping[str, Any]) -> dict[str, str]:
    """The run's identity shown at the top: model, data, seed, passes, versions."""
    model, dataset = record["model"], record["dataset"]
    fingerprints = ", ".join(f"{k} {str(v)[:12]}" for k, v in dataset["fingerprints"].items())
    return {"model": f"{model.get('name') or 'model'} (fingerprint {str(model.get('fingerprint'))[:12]})",
            "data": f"{dataset.get('name') or 'data'}, evaluated on split {dataset['eval_split']}",
            "data fingerprints": fingerprints or "none", "seed": str(record["seed"]),
            "forward passes": ", ".join(f"{k}: {v}" for k, v in record["summary"]["forward_passes"].items())
            or "none",
            **{k: v for k, v in record.get("environment", {}).items() if k in ("assay", "python", "torch")}}


def _advice(finding: Mapping[str, Any]) -> str | None:
    """The advice line of a registered check for a warn or fail finding (None otherwise)."""
    check = registered_checks().get(finding.get("check"))
    if check is None or finding.get("severity") not in ("warn", "fail"):
        return None
    return check.advice_for(finding.get("metric"))


def render_audit_html(record: Mapping[str, Any]) -> str:
    """The self-contained HTML page of an audit record: the verdict, identity and headline
    numbers on top, the findings grouped by check (each linked to its check's section), every
    headline number, then one section per check."""
    check_record(record)
    checks = record["checks"]
    findings = [{**f, "href": f.get("check") if f.get("check") in checks else None,
                 "section": (checks.get(f.get("check")) or {}).get("title") or f.get("check"),
                 "advice": _advice(f)} for f in record["findings"]]
    skipped = record["summary"]["checks_skipped"]
    unfinished = {k: v for k, v in checks.items() if v.get("status") != "ok"}
    paragraphs = [f"Skipped checks: {', '.join(f'{k} ({v})' for k, v in skipped.items())}." if skipped else "",
                  "Checks that did not finish: " + ", ".join(f"{k} ({v.get('error')})" for k, v in unfinished.items())
                  + "." if unfinished else "",
                  "" if findings else "No findings."]
    intro = Section("Summary of findings", [p for p in paragraphs if p], findings=findings, anchor="findings",
                    severity=_worst(f.get("severity") for f in findings))
    numbers = Section("Headline numbers", [],
                      tables=[("Headline numbers (interval: the check's bootstrap interval, where it has one)",
                               _headline_frame(headline_rows(record)))], anchor="headline")
    sections = [intro, numbers]
    for name, rec in checks.items():
        section = _check_section(name, rec)
        sections.append(dataclasses.replace(
            section, anchor=section.anchor or name,
            severity=_worst(f.get("severity") for f in findings if f.get("check") == name)))
    counts = record["summary"]["findings"]
    return render_html(record["title"], sections, subtitle="Findings first; every number was measured in this run.",
                       meta=_identity(record), verdict={s: int(counts.get(s, 0) or 0) for s in SEVERITY_ORDER},
                       headline=_top_cards(record))


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # a JSON string (ASCII, escaped) is a valid YAML scalar; <, >, & as \\u escapes: no raw HTML
    return json.dumps(str(value)).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _check_headline(name: str, check: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A finished check record's headline rows. For a record written before they existed: its
    registered check's :meth:`~Check.headline` of the summary (the check rebuilt from the
    record's params), else the generic reading of the summary (every number, ``m[f]`` keys and
    one level of nesting as features, no directions)."""
    rows = check.get("headline")
    if rows is None:
        summary = check.get("summary") or {}
        try:
            rows = registered_checks()[name](**(check.get("params") or {})).headline(summary)
        except Exception:  # noqa: BLE001 - an unknown check or one whose summary or params moved
            rows = Check.headline(Check(), summary)
        rows = to_jsonable(rows)
    return [dict(row) for row in rows]


def headline_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The headline rows of every finished check of ``record``, each with its ``check`` first
    (the columns of :meth:`~assay.audit.AuditResult.headline`): report.json's ``headline``."""
    return [{"check": name, **{c: row.get(c) for c in HEADLINE_COLUMNS}}
            for name, check in record["checks"].items() if check.get("status") == "ok"
            for row in _check_headline(name, check)]


def _interval(row: Mapping[str, Any], fmt) -> str:
    return "" if row["lower"] is None and row["upper"] is None else f"[{fmt(row['lower'])}, {fmt(row['upper'])}]"


def _reading(value: Any) -> str:
    """A number rounded for reading: whole numbers as integers, others to 4 decimals (4 significant
    digits from 1,000 up), undefined as "n/a"."""
    if value is None:
        return "n/a"
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.4g}" if abs(number) >= 1000 else f"{number:.4f}"


def _headline_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Headline rows as the compact table of report.html: each value with its interval in one
    cell, ``0.8730 [0.8680, 0.8780]`` (whole numbers as integers)."""
    columns = (["check"] if rows and "check" in rows[0] else []) + ["metric", "feature", "group", "value [interval]",
                                                                     "better"]
    return pd.DataFrame([{**{c: row.get(c) for c in columns}, "feature": row["feature"] or "",
                          "group": row["group"] or "",
                          "value [interval]": " ".join(filter(None, [_reading(row["value"]), _interval(row, _reading)])),
                          "better": {"higher": "higher", "lower": "lower"}.get(row["direction"], "")}
                         for row in rows], columns=columns)


def card_metrics(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every headline row of the record's finished checks (:func:`headline_rows`): the card's
    "Metrics" table lists all of them."""
    return headline_rows(record)


def _declared(metric: str, declared: set[str]) -> bool:
    """``metric`` is declared as itself or by a prefix ending in ``*``."""
    return metric in declared or any(d.endswith("*") and metric.startswith(d[:-1]) for d in declared)


def model_index_metrics(record: Mapping[str, Any]) -> list[tuple[str, str, float]]:
    """``(check, name, value)`` of the numbers the card's YAML ``model-index`` lists: the headline
    rows of the metrics each check declares in its ``model_index`` (metrics a model-card reader
    expects), named :func:`~assay.audit.headline_key`, each interval bound a separate entry
    (``name.ci_lower``, ``name.ci_upper``); undefined (null) numbers are left out."""
    checks = registered_checks()
    declared = {name: set(getattr(checks.get(name), "model_index", ()) or ()) for name in record["checks"]}
    out = []
    for row in headline_rows(record):
        if not _declared(row["metric"], declared[row["check"]]):
            continue
        key = headline_key(row)
        out += [(row["check"], name, row[field]) for name, field in
                ((key, "value"), (f"{key}.ci_lower", "lower"), (f"{key}.ci_upper", "upper"))
                if row[field] is not None]
    return out


def _card_parts(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each card section's lines, from the checks' ``card(record)`` in the record's order."""
    checks = registered_checks()
    parts: dict[str, list[str]] = {section: [] for section in CARD_SECTIONS}
    for name, check_record in record["checks"].items():
        card = getattr(checks.get(name), "card", None)
        if check_record.get("status") != "ok" or card is None:
            continue
        part = card(check_record)
        if not part:
            continue
        if not isinstance(part, Mapping):
            part = {"Quantitative analyses": list(part)}
        for section, lines in part.items():
            if section not in parts:
                raise AssayInputError(f"Check {name!r} wrote to card section {section!r}; the card's sections "
                                      f"are {list(CARD_SECTIONS)}.")
            if section == "Quantitative analyses":
                lines = [f"### {escape_markdown(check_record.get('title') or name)}", "", *lines]
            parts[section] += ([""] if parts[section] else []) + list(lines)
    return parts


def model_card_markdown(record: Mapping[str, Any], *, model_name: str | None = None,
                        training_summary: Mapping[str, Any] | None = None, card_sections: Any = None) -> str:
    """MODEL_CARD.md in the Hugging Face layout (YAML front matter + sections), filled from the record.

    Every number comes from ``record`` (the YAML ``model-index`` holds the declared metrics
    exactly as in report.json; tables in the text round them to 4 decimals); what only a person
    can know is left as a marked prompt. ``model_name`` defaults to the record's. The training
    data section is what the checks write there unless ``training_summary`` is given. Every
    user string is escaped (:func:`assay.report.escape_markdown`). The sections only a person can
    write come from ``card_sections`` (see :func:`read_card_sections`), over those kept in the
    record by :func:`audit_record`; Markdown there stays Markdown, without raw HTML.
    """
    check_record(record)
    model_name = model_name or record["model"].get("name") or "model"
    task = record.get("task") or "tabular-classification"
    dataset = record["dataset"]
    lines = ["---", "library_name: assay", "tags:", "  - assay-audit", f"  - {_yaml_scalar(task)}", "model-index:",
             f"  - name: {_yaml_scalar(model_name)}", "    results:", "      - task:",
             f"          type: {_yaml_scalar(task)}",
             "        dataset:", f"          name: {_yaml_scalar(dataset.get('name') or 'evaluation data')}",
             f"          split: {_yaml_scalar(dataset['eval_split'])}", "        metrics:"]
    for check, key, value in model_index_metrics(record):
        lines += [f"          - type: {_yaml_scalar(f'{check}.{key}')}", f"            value: {_yaml_scalar(value)}"]
    parts = _card_parts(record)
    written = {**(record.get("card_sections") or {}), **read_card_sections(card_sections)}

    def person(key: str) -> list[str]:
        """A human-written section, or the prompt for it."""
        return [markdown_block(written[key])] if key in written else [_PROMPT.format(what=CARD_TEXT_SECTIONS[key][1])]

    environment = record.get("environment") or {}
    lines += ["---", "", f"# Model card: {escape_markdown(model_name)}", "",
              "_Generated by assay from measured numbers (report.json). Prompts marked **To fill in** need a person._",
              "", "## Model details", "", *_model_detail_lines(record["model"]),
              f"- audited with assay {escape_markdown(environment.get('assay', ''))} (seed {int(record['seed'])})", "",
              *person("model_details"), "", "## Intended use", "", *person("intended_use"), "", "## Factors", ""]
    lines += parts["Factors"]
    if "factors" in written or not parts["Factors"]:
        lines += ([""] if parts["Factors"] else []) + person("factors")
    lines += ["", "## Metrics", "", "Every headline number of the audit, rounded for reading (exact values in "
              "report.json and in the model-index above), with the check's bootstrap interval where it has one.", "",
              "| check | metric | feature | group | value [interval] |", "|---|---|---|---|---|"]
    lines += [f"| {escape_markdown(row['check'])} | {escape_markdown(row['metric'])} | "
              f"{escape_markdown(row['feature'] if row['feature'] is not None else '')} | "
              f"{escape_markdown(row['group'] if row['group'] is not None else '')} | "
              f"{' '.join(filter(None, [_reading(row['value']), _interval(row, _reading)]))} |"
              for row in card_metrics(record)]
    lines += ["", "## Evaluation data", "", *_data_lines(dataset), "", "## Training data", ""]
    if training_summary:
        lines += [f"- {escape_markdown(k)}: {escape_markdown(v)}" for k, v in training_summary.items()]
    else:
        lines += parts["Training data"]
    lines += ["", *person("training_data"), "", "## Quantitative analyses", ""]
    lines += parts["Quantitative analyses"] or ["No check produced a quantitative analysis."]
    lines += ["", "## Findings", ""]
    lines += [f"- **{escape_markdown(f['severity'])}** ({escape_markdown(f['check'])}): {escape_markdown(f['message'])}"
              + (f" _What to do:_ {escape_markdown(advice)}" if (advice := _advice(f)) else "")
              for f in record["findings"]] or ["- none"]
    unfinished = [f"- {escape_markdown(name)} did not finish: {escape_markdown(rec.get('error'))}"
                  for name, rec in record["checks"].items() if rec.get("status") != "ok"]
    lines += unfinished
    caveats = parts["Caveats and recommendations"]
    lines += ["", "## Ethical considerations", "", *person("ethical_considerations"),
              "", "## Caveats and recommendations", "",
              *(["Measured by the audit:", "", *caveats, ""] if caveats else []),
              *person("caveats_and_recommendations"), ""]
    return "\n".join(lines)


def _model_detail_lines(model: Mapping[str, Any]) -> list[str]:
    """The card's model details that the audit knows (type, classes, decision rule, preprocessing)."""
    details = model.get("details") or {}
    lines = []
    if details.get("type"):
        kind = escape_markdown(details["type"])
        estimator = details.get("estimator")
        lines.append(f"- model type: `{kind}`" + (f", final estimator `{escape_markdown(estimator)}`"
                                                  if estimator and estimator != details["type"] else "")
                     + (f" ({escape_markdown(details['framework'])})" if details.get("framework") else ""))
    if details.get("preprocessing"):
        lines.append("- preprocessing: " + "; ".join(escape_markdown(step) for step in details["preprocessing"]))
    if details.get("n_features_in") is not None:
        lines.append(f"- input features: {int(details['n_features_in'])}")
    if details.get("n_parameters") is not None:
        lines.append(f"- parameters: {int(details['n_parameters']):,}")
    if details.get("classes") is not None:
        lines.append("- classes: " + ", ".join(escape_markdown(c) for c in details["classes"]))
    if details.get("decision_rule"):
        lines.append(f"- decision rule: {escape_markdown(details['decision_rule'])}")
    lines.append(f"- model fingerprint (XXH3-128 of its state): `{escape_markdown(model.get('fingerprint'))}`")
    return lines


def _data_lines(dataset: Mapping[str, Any]) -> list[str]:
    """The card's evaluation data: the split, the data set's source, license and citation, rows per split."""
    fingerprints = ", ".join(f"{escape_markdown(k)}={escape_markdown(str(v)[:12])}"
                             for k, v in dataset["fingerprints"].items())
    lines = [f"Split {escape_markdown(dataset['eval_split'])} of {escape_markdown(dataset.get('name') or 'the data')}; "
             f"data fingerprints: {fingerprints}.", ""]
    lines += [f"- {what}: {escape_markdown(dataset[key])}" for key, what in
              (("source", "source"), ("license", "license"), ("citation", "citation")) if dataset.get(key)]
    splits = dataset.get("splits") or {}
    if splits:
        lines += ["", "| split | rows | labelled | sensitive features |", "|---|---:|---|---|"]
        lines += [f"| {escape_markdown(name)} | {int(split.get('rows', 0)):,} | "
                  f"{'yes' if split.get('labelled') else 'no'} | "
                  f"{', '.join(escape_markdown(f) for f in split.get('sensitive_features') or []) or '-'} |"
                  for name, split in splits.items()]
    return lines


def _datasheet_source(datasheet: str, dataset: Mapping[str, Any]) -> str:
    """The datasheet with the data set's source, license and citation under its title, where known."""
    known = [(what, dataset[key]) for key, what in (("name", "Data set"), ("source", "Source"),
                                                    ("license", "License"), ("citation", "Citation"))
             if dataset.get(key)]
    if not any(what != "Data set" for what, _ in known):
        return datasheet
    block = "\n".join(["## Source", "", *[f"- {what}: {escape_markdown(value)}" for what, value in known], "", ""])
    at = datasheet.find("\n## ") + 1  # before the first section (after the title and its introduction)
    return datasheet[:at] + block + datasheet[at:] if at else datasheet + "\n\n" + block


def write_audit_report(record: Mapping[str, Any], out_dir: str | Path, *, model_name: str | None = None,
                       training_summary: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write report.json, report.html, MODEL_CARD.md (and DATASHEET.md when a check wrote one); returns the paths.

    ``model_name`` (default: the record's) titles the card. Each check whose summary holds a
    ``datasheet`` (Markdown) gets it written to DATASHEET.md.
    """
    check_record(record)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AssayInputError(f"'out_dir' must be a directory. Got {str(out)!r}, which is a file.")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "html": out / "report.html", "card": out / "MODEL_CARD.md"}
    paths["json"].write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    datasheets = [(rec.get("summary") or {}).get("datasheet") for rec in record["checks"].values()
                  if rec.get("status") == "ok"]
    datasheets = [d for d in datasheets if isinstance(d, str) and d]
    if datasheets:
        paths["datasheet"] = out / "DATASHEET.md"
        text = _datasheet_source("\n\n".join(datasheets), record["dataset"])
        paths["datasheet"].write_text(text, encoding="utf-8")
    paths["html"].write_text(render_audit_html(record), encoding="utf-8")
    paths["card"].write_text(model_card_markdown(record, model_name=model_name, training_summary=training_summary),
                             encoding="utf-8")
    return paths
