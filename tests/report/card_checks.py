"""Shared assertion: every number in a MODEL_CARD.md equals the number in its report.json."""

import re

import yaml

from assay.report import escape_markdown, frame_from_record


def headline_value(check_record, key):
    """A headline number by its model-index name: ``metric``, ``metric[feature]``, or either with
    ``.ci_lower`` / ``.ci_upper`` for its interval bounds."""
    from assay.audit.base import find_headline_row

    field = "value"
    for bound, name in ((".ci_lower", "lower"), (".ci_upper", "upper")):
        if key.endswith(bound):
            key, field = key[: -len(bound)], name
    row = find_headline_row(check_record["headline"], key)
    assert row is not None, key
    return row, row[field]


def assert_card_matches_record(card: str, record: dict) -> int:
    """Check the YAML model-index, the metrics table and the per-group table; returns the count checked."""
    front = yaml.safe_load(card.split("---")[1])
    metrics = front["model-index"][0]["results"][0]["metrics"]
    assert metrics, "the card lists no metrics"
    for entry in metrics:
        check, key = entry["type"].split(".", 1)
        row, value = headline_value(record["checks"][check], key)
        assert entry["value"] == value, entry["type"]
        # the Markdown table repeats it, rounded for reading (4 decimals below 1,000)
        cells = [escape_markdown(check), escape_markdown(row["metric"]), escape_markdown(row["feature"] or ""),
                 escape_markdown(row["group"] or "")]
        line = next(line for line in card.splitlines() if line.startswith("| " + " | ".join(cells) + " | "))
        if value is not None and abs(value) < 1000 and not float(value).is_integer():
            assert f"{value:.4f}" in line, (entry["type"], line)
    checked = len(metrics)
    performance = record["checks"].get("group_performance")
    if performance and performance["status"] == "ok" and performance["result"].get("by_group"):
        table = frame_from_record(performance["result"]["by_group"])
        ci = frame_from_record(performance["result"]["ci"]) if performance["result"].get("ci") else None
        # the per-group table is the performance check's subsection ("### <its title>")
        section = card.split("## Quantitative analyses", 1)[1].split("## Findings", 1)[0]
        section = section.split(f"### {performance['title']}\n", 1)[1].split("\n### ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| feature")]
        by_key = {tuple(cell.strip() for cell in row.strip("|").split(" | ")[:2]): row for row in rows}
        for (feature, group), *values in table.itertuples(name=None):
            key = (escape_markdown(feature), escape_markdown(group))
            cells = [c.strip() for c in by_key[key].strip("|").split(" | ")[2:]]
            for column, cell, value in zip(table.columns, cells, values):
                if isinstance(value, float):
                    expected = "n/a" if value != value else f"{value:.4f}"
                    if value == value and ci is not None and (column, "lower") in ci.columns:
                        lower = ci.loc[(feature, group), (column, "lower")]
                        upper = ci.loc[(feature, group), (column, "upper")]
                        if lower == lower and upper == upper:  # the interval in the same cell, escaped brackets
                            expected += f" \\[{lower:.4f}, {upper:.4f}\\]"
                    assert cell == expected, (feature, group, column, cell)
                    checked += 1
    assert not re.search(r"\bnan\b", card), "a NaN leaked into the card"
    return checked
