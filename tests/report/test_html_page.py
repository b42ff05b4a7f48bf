"""report.html's frame without a browser: verdict badges, findings linked to their evidence,
headline cards, the one table renderer (alignment, decimals, folding, escaping)."""

import html as html_lib
import re

import numpy as np
import pandas as pd
import pytest

from assay.audit.base import registered_checks
from assay.audit.documents import render_audit_html, top_headline
from assay.report import Section, render_html
from assay.report.html import FOLD_ROWS, SHOWN_ROWS, table_html

SEVERITIES = ("error", "fail", "warn", "pass")


def _check(title, rows, status="ok"):
    return {"status": status, "title": title, "params": {}, "summary": {}, "result": {}, "headline": rows,
            "error": None if status == "ok" else "boom <b>"}


def _row(metric, value, feature=None, group=None, lower=None, upper=None, direction=None):
    return {"metric": metric, "feature": feature, "group": group, "value": value, "lower": lower, "upper": upper,
            "direction": direction}


def _record():
    findings = [{"check": check, "severity": sev, "message": f"{sev} about <{check}>", "metric": metric,
                 "value": value, "threshold": threshold, "evidence": {}}
                for check, sev, metric, value, threshold in (
                    ("calibration", "error", "overall_ece", None, None),
                    ("group_performance", "fail", "accuracy_gap[sex]", 0.1537539, 0.1),
                    ("group_performance", "warn", "accuracy_gap[race]", 0.0685, 0.05),
                    ("fairness", "pass", "demographic_parity_ratio[sex]", 0.91, 0.8),
                    ("not_run", "warn", "x", 1.0, 2.0))]
    checks = {
        "group_performance": _check("Performance by group", [
            _row("accuracy", 0.8527731, group="overall", direction="higher"),
            _row("balanced_accuracy", 0.76, group="overall", direction="higher"),
            _row("accuracy_gap", 0.1150766, feature="sex", direction="lower"),
            _row("accuracy_gap", 0.1537539, feature="sex x race", direction="lower")]),
        "fairness": _check("Group fairness", [
            _row("demographic_parity_ratio", 0.2994, "sex", lower=0.2679, upper=0.3304, direction="higher"),
            _row("demographic_parity_ratio", 0.0488, "race", lower=0.0, upper=0.1654, direction="higher"),
            _row("equalized_odds_difference", 0.6729, "race", lower=0.6021, upper=0.7636, direction="lower")]),
        "calibration": _check("Calibration", [_row("overall_ece", 0.0081, direction="lower"),
                                              _row("max_group_ece", 0.1019, group="sex / <Male>", direction="lower")]),
        "broken": _check("Broken", None, status="error"),
    }
    return {"title": "audit <of> x", "model": {"name": "m<1>", "fingerprint": "abcdef0123456789"},
            "dataset": {"name": "d&d", "eval_split": "test", "fingerprints": {"test": "0123456789abcdef"}},
            "seed": 3, "findings": findings, "checks": checks, "environment": {"assay": "0.1"},
            "summary": {"worst_severity": "error", "findings": {"error": 1, "fail": 1, "warn": 2, "pass": 1},
                        "checks_skipped": {"ood": "no ood split"}, "forward_passes": {"test": 1}}}


@pytest.fixture(autouse=True)
def generic_sections(monkeypatch):
    """The checks' own renderers read full results; this record holds headline rows only."""
    for name in ("group_performance", "fairness", "calibration"):
        monkeypatch.setattr(registered_checks()[name], "render", None)


def _ids(page):
    return set(re.findall(r'\bid="([^"]+)"', page))


def test_each_severity_has_its_badge_and_each_finding_links_to_its_evidence():
    page = render_audit_html(_record())
    top = page[page.index('id="top"'):page.index('id="findings"')]
    for severity, count in (("error", 1), ("fail", 1), ("warn", 2), ("pass", 1)):
        assert f'<span class="badge sev-{severity}">{count} {severity}</span>' in top
    assert '<span class="badge sev-error">worst: error</span>' in top
    findings = page[page.index('id="findings"'):page.index('id="headline"')]
    items = re.findall(r"<li>(.*?)</li>", findings)
    assert len(items) == 5
    ids = _ids(page)
    for item, severity in zip(items, ("error", "fail", "warn", "pass", "warn")):
        assert f'<span class="badge sev-{severity}">{severity}</span>' in item
    links = [re.search(r'href="#([^"]+)">evidence', item) for item in items]
    assert [link.group(1) for link in links[:4]] == ["calibration", "group_performance", "group_performance",
                                                     "fairness"]
    assert all(link.group(1) in ids for link in links[:4])
    assert links[4] is None  # a finding of a check without a section links nowhere rather than to nothing
    # grouped by check, value and threshold side by side, to 4 decimals
    assert findings.count("<h3>Performance by group</h3>") == 1 and "<h3>not_run</h3>" in findings
    assert "value <b>0.1538</b> · threshold 0.1000" in findings
    assert "error about &lt;calibration&gt;" in findings and "<calibration>" not in page


def test_table_of_contents_lists_every_section_with_its_worst_severity():
    page = render_audit_html(_record())
    nav = page[page.index('<nav class="toc"'):page.index("</nav>")]
    targets = re.findall(r'href="#([^"]+)"', nav)
    assert targets == ["top", "findings", "headline", "group_performance", "fairness", "calibration", "broken"]
    assert set(targets) <= _ids(page)
    entry = {t: nav.split(f'href="#{t}"', 1)[1].split("</li>", 1)[0] for t in targets}
    assert "sev-fail" in entry["group_performance"] and "sev-warn" not in entry["group_performance"]
    assert "sev-error" in entry["calibration"] and "sev-pass" in entry["fairness"]
    assert "sev-error" in entry["findings"] and "badge" not in entry["broken"]
    assert "@media print" in page and "nav.toc{display:none}" in page
    assert "<script" not in page and not re.search(r"(src|href)=\"(http|//)", page)


def test_headline_cards_pick_each_checks_first_and_last_declared_metric_at_its_worst():
    record = _record()
    picked = [(r["check"], r["metric"], r["feature"]) for r in top_headline(record)]
    assert picked == [("group_performance", "accuracy", None),
                      ("group_performance", "accuracy_gap", "sex x race"),  # the larger gap
                      ("fairness", "demographic_parity_ratio", "race"),  # the lower ratio
                      ("fairness", "equalized_odds_difference", "race"),
                      ("calibration", "overall_ece", None), ("calibration", "max_group_ece", None)]
    page = render_audit_html(record)
    top = page[page.index('id="top"'):page.index('id="findings"')]
    assert '<div class="value">0.1538</div>' in top and '<div class="interval">[0.0000, 0.1654]</div>' in top
    assert "group: sex / &lt;Male&gt;" in top and "m&lt;1&gt; (fingerprint abcdef012345)" in top
    assert "d&amp;d, evaluated on split test" in top


def test_table_renderer_aligns_formats_and_drops_the_index_header_row():
    frame = pd.DataFrame({"accuracy": [0.87349, np.nan], "count": [10, 3], "note": ["<b>x</b>", "y"]},
                         index=pd.MultiIndex.from_tuples([("sex", "female"), ("sex", "male")],
                                                         names=["feature", "group"]))
    out = table_html("By <group>", frame)
    assert out.startswith('<div class="table-wrap">') and "<caption>By &lt;group&gt;</caption>" in out
    header = re.findall(r"<thead>(.*?)</thead>", out)
    assert len(header) == 1 and header[0].count("<tr>") == 1  # one header row: no pandas index-name row
    assert re.findall(r"<th[^>]*>(.*?)</th>", header[0]) == ["feature", "group", "accuracy", "count", "note"]
    assert '<th class="num">accuracy</th>' in out and "<th>feature</th>" in out
    assert ('<tr><td>sex</td><td>female</td><td class="num">0.8735</td><td class="num">10</td>'
            "<td>&lt;b&gt;x&lt;/b&gt;</td></tr>") in out
    assert '<td class="num">n/a</td>' in out and "<b>x</b>" not in out
    counts = table_html("t", pd.DataFrame({"n_unique": [8.0, np.nan, 41.0], "share": [1.0, 0.0, 1.0]}))
    assert '<td class="num">8</td>' in counts and '<td class="num">1.0000</td>' in counts  # counts stay whole
    wide = pd.DataFrame([[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("auroc", "lower"), ("auroc", "upper")]))
    assert "<th class=\"num\">auroc / lower</th>" in table_html("t", wide)


def test_long_tables_fold_and_long_text_is_cut_with_the_full_text_kept():
    n = FOLD_ROWS + 5
    frame = pd.DataFrame({"name": [f"row{i}" for i in range(n)], "value": np.arange(n) / 3})
    out = table_html("long", frame)
    shown, folded = out.split("<details", 1)
    assert shown.count("<tr>") == SHOWN_ROWS + 1 and folded.count("<tr>") == n - SHOWN_ROWS + 1
    assert f"Show the other {n - SHOWN_ROWS} of {n} rows" in folded and "row29" in folded
    assert "<details" not in table_html("short", frame.head(FOLD_ROWS))
    text = "<" + "category, " * 30
    cell = table_html("t", pd.DataFrame({"categories": [text]}))
    assert f'title="{html_lib.escape(text)}"' in cell and "(+" in cell and "<category" not in cell


def test_render_html_without_a_verdict_keeps_its_plain_frame():
    page = render_html("T", [Section("A", ["p"], anchor="a"), Section("B <b>")])
    assert 'id="top"' not in page and 'href="#a"' in page and 'href="#section-1"' in page
    assert "B &lt;b&gt;" in page


def test_warn_and_fail_findings_carry_their_checks_advice(monkeypatch):
    from assay.audit.documents import model_card_markdown

    monkeypatch.setattr(registered_checks()["group_performance"], "advice", {"accuracy_gap": "Fix <it> & re-audit."})
    page = render_audit_html(_record())
    items = re.findall(r"<li>(.*?)</li>", page[page.index('id="findings"'):page.index('id="headline"')])
    advice = '<span class="advice">Fix &lt;it&gt; &amp; re-audit.</span>'
    assert [advice in item for item in items] == [False, True, True, False, False]  # error, fail, warn, pass, other
    assert "Fix <it>" not in page
    for name in ("group_performance", "fairness", "calibration"):  # their card parts read full results
        monkeypatch.setattr(registered_checks()[name], "card", None, raising=False)
    card = model_card_markdown(_record())
    lines = [line for line in card.splitlines() if "_What to do:_" in line]
    assert len(lines) == 2 and all(line.endswith("_What to do:_ Fix &lt;it&gt; &amp; re-audit.") for line in lines)
    # the fairness pass finding gets no advice even though the fairness check has some
    assert registered_checks()["fairness"].advice_for("demographic_parity_ratio[sex]")
    assert registered_checks()["fairness"].advice_for(None) is None


def test_a_panel_puts_a_table_beside_its_figure():
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    page = render_html("t", [Section("S", panels=[("The <table>", pd.DataFrame({"a": [1.5]}), "Its <plot>", png)],
                                     tables=[("After", pd.DataFrame({"b": [2.0]}))])])
    start = page.index('<div class="panel">')
    assert start < page.index("The &lt;table&gt;") < page.index("Its &lt;plot&gt;") < page.index("After")
    panel = page[start:page.index("</figure></div>", start)]
    assert "<table" in panel and "<figure><img" in panel and panel.count("</table></div>") == 1
    assert "@media (min-width:1400px){.panel{display:grid" in page


def test_headline_table_holds_each_value_with_its_interval_in_one_right_aligned_cell():
    page = render_audit_html(_record())
    table = page[page.index('id="headline"'):]
    table = table[:table.index("</table>")]
    assert "<th>value [interval]</th>" in table or ">value [interval]</th>" in table
    assert '<td class="num">0.2994 [0.2679, 0.3304]</td>' in table  # fairness, sex: value and its bootstrap bounds
    assert '<td class="num">0.8528</td>' in table  # accuracy: no interval, the value alone
    assert ">interval</th>" not in table


def test_pdf_without_a_browser_is_one_clear_error(tmp_path):
    from assay import AssayInputError
    from assay.report import html_to_pdf

    page = tmp_path / "report.html"
    page.write_text("<html></html>")
    with pytest.raises(AssayInputError, match="needs a headless Chromium or Chrome on the PATH"):
        html_to_pdf(page, browser="no-such-browser-binary")
    with pytest.raises(AssayInputError, match="'html_path' must be an HTML file"):
        html_to_pdf(tmp_path / "missing.html")
