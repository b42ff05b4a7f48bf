"""Documents of an audit, all built from one JSON record (so ``assay report <run-dir>`` can
rebuild them from disk): report.json, report.html and MODEL_CARD.md."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.result import to_jsonable
from .html import Section, render_html
from .io import SCHEMA_VERSION

SEVERITY_ORDER = {"error": -1, "fail": 0, "warn": 1, "pass": 2}
_PROMPT = "> **To fill in:** {what}"


def frame_from_record(value: Mapping[str, Any]) -> pd.DataFrame:
    """Rebuild a DataFrame from its ``to_jsonable`` form ``{"columns", "index", "data"}``.

    Index and column entries that are lists (tuples before JSON) become a MultiIndex.
    """
    index, columns = value["index"], value["columns"]
    if index and isinstance(index[0], list):
        index = pd.MultiIndex.from_tuples([tuple(i) for i in index])
    if columns and isinstance(columns[0], list):
        columns = pd.MultiIndex.from_tuples([tuple(c) for c in columns])
    return pd.DataFrame(value["data"], columns=columns, index=index)


def _is_frame(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"columns", "index", "data"}


def audit_record(result: Any, *, title: str = "assay audit", model_name: str | None = None,
                 dataset_name: str | None = None, environment: Mapping[str, str] | None = None,
                 task: str = "tabular-classification") -> dict[str, Any]:
    """The report.json record of an :class:`~assay.audit.AuditResult` (JSON-safe).

    ``task`` is the Hugging Face task type the card declares (e.g. "image-classification").
    """
    counts = {s: sum(f.severity == s for f in result.findings) for s in ("pass", "warn", "fail", "error")}
    return to_jsonable({
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "task": task,
        "model": {"name": model_name, "fingerprint": result.config["model"]},
        "dataset": {"name": dataset_name, "fingerprints": result.config["data"],
                    "eval_split": result.config["eval_split"]},
        "environment": dict(environment or {}),
        "seed": result.config["seed"],
        "summary": {"worst_severity": result.worst_severity, "findings": counts,
                    "checks_run": list(result.records), "checks_skipped": dict(result.skipped),
                    "forward_passes": dict(result.forward_passes)},
        "findings": [f.to_dict() for f in sorted(result.findings, key=lambda f: SEVERITY_ORDER[f.severity])],
        "checks": result.records,
    })


def _check_section(name: str, record: Mapping[str, Any]) -> Section:
    """A report section for one check's record: its own renderer if the check has one."""
    from ..audit.base import registered_checks

    check_cls = registered_checks().get(name)
    if record.get("status") != "ok":
        return Section(record.get("title") or name, [f"This check failed: {record.get('error')}"], anchor=name)
    if check_cls is not None and hasattr(check_cls, "render"):
        section = check_cls.render(record)
        if section is not None:
            return section
    tables = [(key, frame_from_record(value)) for key, value in record["result"].items() if _is_frame(value)]
    summary = pd.DataFrame({"value": pd.Series(
        {k: v for k, v in record.get("summary", {}).items() if isinstance(v, (int, float)) or v is None})})
    if len(summary):
        tables.insert(0, ("Headline numbers", summary))
    return Section(record.get("title") or name, [], tables=tables, anchor=name)


def render_audit_html(record: Mapping[str, Any]) -> str:
    """The self-contained HTML page of an audit record: findings first, then one section per check."""
    findings = pd.DataFrame(record["findings"], columns=["severity", "check", "metric", "value", "threshold", "message"])
    counts = record["summary"]["findings"]
    intro = Section(
        "Summary of findings",
        [f"Worst severity: {record['summary']['worst_severity'].upper()} — {counts['fail']} fail, "
         f"{counts['warn']} warn, {counts['pass']} pass.",
         "Skipped checks: " + (", ".join(f"{k} ({v})" for k, v in record["summary"]["checks_skipped"].items())
                               or "none") + "."],
        tables=[("Findings", findings.set_index("severity"))], anchor="findings")
    sections = [intro] + [_check_section(name, rec) for name, rec in record["checks"].items()]
    meta = {"model": record["model"].get("name") or "model", "data": record["dataset"].get("name") or "data",
            "evaluation split": record["dataset"]["eval_split"], "seed": str(record["seed"]),
            "forward passes": ", ".join(f"{k}: {v}" for k, v in record["summary"]["forward_passes"].items()) or "none",
            **{k: v for k, v in record.get("environment", {}).items() if k in ("assay", "python", "torch")}}
    return render_html(record["title"], sections, subtitle="Findings first; every number was measured in this run.",
                       meta=meta)


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML scalar


def card_metrics(record: Mapping[str, Any]) -> list[tuple[str, str, float]]:
    """``(check, metric, value)`` of every headline number of the record's checks.

    Numbers nested one level in a summary (e.g. ``accuracy_gap`` per feature) are named
    ``metric.key``. This is exactly what the card's ``model-index`` lists.
    """
    out = []
    for name, check in record["checks"].items():
        for key, value in (check.get("summary") or {}).items():
            items = value.items() if isinstance(value, Mapping) else [(None, value)]
            for sub, number in items:
                if isinstance(number, (int, float)) and not isinstance(number, bool):
                    out.append((name, key if sub is None else f"{key}.{sub}", number))
    return out


def model_card_markdown(record: Mapping[str, Any], *, model_name: str = "model",
                        training_summary: Mapping[str, Any] | None = None) -> str:
    """MODEL_CARD.md in the Hugging Face layout (YAML front matter + sections), filled from the record.

    Every number comes from ``record`` (the YAML ``model-index`` holds them exactly as in
    report.json; tables in the text round them to 4 decimals); what only a person can know is
    left as a marked prompt. The training data section is the ``training_data`` check's
    description unless ``training_summary`` is given.
    """
    metrics = card_metrics(record)
    task = record.get("task") or "tabular-classification"
    lines = ["---", "library_name: assay", "tags:", "  - assay-audit", f"  - {task}", "model-index:",
             f"  - name: {_yaml_scalar(model_name)}", "    results:", "      - task:",
             f"          type: {_yaml_scalar(task)}",
             "        dataset:", f"          name: {_yaml_scalar(record['dataset'].get('name') or 'evaluation data')}",
             f"          split: {_yaml_scalar(record['dataset']['eval_split'])}", "        metrics:"]
    for check, key, value in metrics:
        lines += [f"          - type: {_yaml_scalar(f'{check}.{key}')}", f"            value: {_yaml_scalar(value)}"]
    lines += ["---", "", f"# Model card: {model_name}", "",
              "_Generated by assay from measured numbers (report.json). Prompts marked **To fill in** need a person._",
              "", "## Model details", "", f"- model fingerprint (XXH3-128 of its state): `{record['model'].get('fingerprint')}`",
              f"- audited with assay {record.get('environment', {}).get('assay', '')} (seed {record['seed']})", "",
              _PROMPT.format(what="who built the model, when, which version, license."),
              "", "## Intended use", "", _PROMPT.format(what="primary uses and users; uses that are out of scope."),
              "", "## Factors", ""]
    performance = record["checks"].get("group_performance", {})
    if performance.get("status") == "ok":
        by_group = frame_from_record(performance["result"]["by_group"])
        features = list(dict.fromkeys(by_group.index.get_level_values(0)))
        lines.append(f"Evaluated per group of: {', '.join(features)} (each alone and their intersections).")
    else:
        lines.append(_PROMPT.format(what="the groups and conditions the model was evaluated across."))
    lines += ["", "## Metrics", "", "| check | metric | value |", "|---|---|---|"]
    lines += [f"| {check} | {key} | {value!r} |" for check, key, value in metrics]
    lines += ["", "## Evaluation data", "",
              f"Split `{record['dataset']['eval_split']}` of {record['dataset'].get('name') or 'the data'}; "
              f"data fingerprints: {', '.join(f'{k}={v[:12]}' for k, v in record['dataset']['fingerprints'].items())}.",
              "", "## Training data", ""]
    training = record["checks"].get("training_data", {})
    if training_summary:
        lines += [f"- {k}: {v}" for k, v in training_summary.items()]
    elif training.get("status") == "ok":
        lines += ["Distribution of the training split as measured (inputs far outside it are out of distribution "
                  "for this model):", ""]
        lines += [f"- {line}" for line in training["summary"]["description"]]
    else:
        lines.append(_PROMPT.format(what="where the training data came from and how it was collected."))
    lines += ["", _PROMPT.format(what="where the training data came from, how it was collected and labelled."),
              "", "## Quantitative analyses", ""]
    if performance.get("status") == "ok":
        table = frame_from_record(performance["result"]["by_group"]).rename_axis(["feature", "group"])
        lines += ["Per group and intersection (values rounded to 4 decimals; exact values in report.json):", "",
                  _markdown_table(table)]
    else:
        lines.append("No sensitive features were given, so no per-group analysis was run.")
    lines += _check_card_sections(record)
    lines += ["", "## Findings", ""]
    lines += [f"- **{f['severity']}** ({f['check']}): {f['message']}" for f in record["findings"]] or ["- none"]
    lines += ["", "## Ethical considerations", "",
              _PROMPT.format(what="risks, harms, and the people affected; mitigations taken."),
              "", "## Caveats and recommendations", "",
              _PROMPT.format(what="known limitations; groups with too little data to evaluate."), ""]
    return "\n".join(lines)


def _check_card_sections(record: Mapping[str, Any]) -> list[str]:
    """The "Quantitative analyses" subsections that checks write themselves (a static ``card(record)``)."""
    from ..audit.base import registered_checks

    lines: list[str] = []
    for name, check_record in record["checks"].items():
        check_cls = registered_checks().get(name)
        if check_record.get("status") == "ok" and hasattr(check_cls, "card"):
            part = check_cls.card(check_record)
            if part:
                lines += ["", f"### {check_record.get('title') or name}", "", *part]
    return lines


def _markdown_table(frame: pd.DataFrame) -> str:
    index_names = [n or "" for n in frame.index.names]
    header = "| " + " | ".join(index_names + [str(c) for c in frame.columns]) + " |"
    rule = "|" + "---|" * (len(index_names) + len(frame.columns))
    rows = []
    for key, *row in frame.itertuples(name=None):  # keeps each column's type (iterrows makes ints floats)
        keys = list(key) if isinstance(key, tuple) else [key]
        cells = [("n/a" if pd.isna(v) else f"{v:.4f}") if isinstance(v, float) else str(v) for v in row]
        rows.append("| " + " | ".join([str(k) for k in keys] + cells) + " |")
    return "\n".join([header, rule, *rows])


def write_audit_report(record: Mapping[str, Any], out_dir: str | Path, *, model_name: str = "model",
                       training_summary: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write report.json, report.html, MODEL_CARD.md (and DATASHEET.md after the data checks); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "html": out / "report.html", "card": out / "MODEL_CARD.md"}
    paths["json"].write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    datasheet = (record["checks"].get("data_quality", {}).get("summary") or {}).get("datasheet")
    if datasheet:
        paths["datasheet"] = out / "DATASHEET.md"
        paths["datasheet"].write_text(datasheet, encoding="utf-8")
    paths["html"].write_text(render_audit_html(record), encoding="utf-8")
    paths["card"].write_text(model_card_markdown(record, model_name=model_name, training_summary=training_summary),
                             encoding="utf-8")
    return paths
