"""A self-contained HTML report: inline CSS, figures embedded as base64 PNG, no scripts, no network.

The page: a top block (verdict badges, run identity, headline numbers), a table of contents
(sticky sidebar on wide screens, a list on narrow ones, hidden in print) and one section per
subject. Every table goes through :func:`table_html`; every string through ``html.escape``.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Severities from worst to best; the verdict badges and the table of contents use this order.
SEVERITIES = ("error", "fail", "warn", "pass")
#: Tables longer than this are folded: the first :data:`SHOWN_ROWS` rows shown, the rest in ``<details>``.
FOLD_ROWS = 25
SHOWN_ROWS = 10
#: Strings read as numbers (right-aligned): "0.873", "n/a", "0.873 [0.868, 0.878]", "[0.868, 0.878]".
_NUMBER_TEXT = re.compile(r"(?:[-+]?(?:\d[\d.,eE+\-]*%?|inf|n/a))?(?:[\s\u00a0]*\[[^\]]*\])?")
#: Text cells longer than this are cut, with the full text in the cell's ``title``.
MAX_CELL_CHARS = 80
#: Text cells longer than this wrap (in a column 20-32 em wide); shorter ones stay on one line.
WRAP_CHARS = 40

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f8fa;
line-height:1.45;overflow-wrap:anywhere}
header{background:#1f3a5f;color:#fff;padding:1.2rem 2rem}
header h1{margin:0;font-size:1.5rem} header p{margin:.3rem 0 0;opacity:.85}
.layout{display:block;max-width:1400px;margin:0 auto}
nav.toc{padding:.8rem 2rem 0;font-size:.9rem}
nav.toc h2{font-size:.95rem;margin:.2rem 0 .4rem;color:#1f3a5f}
nav.toc ol{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.3rem .9rem}
nav.toc a{color:#1f3a5f;text-decoration:none} nav.toc a:hover{text-decoration:underline}
main{min-width:0;padding:1rem 2rem 3rem}
@media (min-width:1000px){
 .layout{display:grid;grid-template-columns:230px minmax(0,1fr)}
 nav.toc{position:sticky;top:0;align-self:start;max-height:100vh;overflow-y:auto;padding:1.2rem .8rem 1rem 1.2rem}
 nav.toc ol{display:block} nav.toc li{margin:.35rem 0}
}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:1rem 1.4rem;margin:1.2rem 0;min-width:0}
h2{font-size:1.2rem;margin:.2rem 0 .6rem;color:#1f3a5f} h3{font-size:1rem;margin:.8rem 0 .3rem;color:#2c4a70}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums;
overflow-wrap:normal}
th,td{border-bottom:1px solid #e5e9ef;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f3f7;font-weight:600;white-space:nowrap} td{white-space:nowrap}
td.long{white-space:normal;min-width:20rem;max-width:32rem} td.num,th.num{text-align:right;white-space:nowrap}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3rem 0;color:#3d4b5c}
.table-wrap{overflow-x:auto;max-width:100%}
details.more summary{cursor:pointer;font-size:.85rem;color:#1f3a5f;margin:-.6rem 0 .6rem}
figure{margin:.6rem 0 1rem} figure img{max-width:100%;height:auto;border:1px solid #eef1f4}
figcaption{font-size:.85rem;color:#4a5868}
dl.meta{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15rem 1rem;font-size:.88rem;margin:.6rem 0}
dl.meta dt{font-weight:600} dl.meta dd{margin:0}
.note{font-size:.85rem;color:#4a5868}
.badge{display:inline-block;border-radius:3px;padding:0 .45rem;font-size:.78rem;font-weight:700;color:#fff;
text-transform:uppercase;letter-spacing:.02em;white-space:nowrap;vertical-align:middle}
.sev-error{background:#5b2a86} .sev-fail{background:#c62828} .sev-warn{background:#b35c00}
.sev-pass{background:#2e7d32} .sev-none{background:#8a96a3}
.verdict{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.2rem 0 .6rem}
.verdict .badge{font-size:.95rem;padding:.2rem .7rem}
.kpis{display:flex;flex-wrap:wrap;gap:.7rem;margin:.6rem 0 .2rem}
.kpi{display:block;min-width:13rem;flex:1 1 13rem;max-width:17rem;border:1px solid #dde3ea;border-radius:6px;
padding:.5rem .7rem;color:inherit;text-decoration:none;background:#fbfcfd}
.kpi .label{font-size:.8rem;color:#4a5868} .kpi .value{font-size:1.35rem;font-weight:700;font-variant-numeric:tabular-nums}
.kpi .interval{font-size:.8rem;font-variant-numeric:tabular-nums} .kpi .group{font-size:.8rem;color:#4a5868}
ul.findings{list-style:none;margin:.2rem 0 .8rem;padding:0}
ul.findings li{display:grid;grid-template-columns:4.2rem minmax(0,1fr);gap:.1rem .7rem;padding:.3rem 0;
border-bottom:1px solid #eef1f4;align-items:baseline;text-align:left}
ul.findings .vt{grid-column:2;font-size:.82rem;color:#3d4b5c;font-variant-numeric:tabular-nums}
ul.findings .vt a{margin-left:.5rem}
.panel{display:block}
@media (min-width:1400px){.panel{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.2rem;
align-items:start}}
ul.findings .advice{display:block;font-size:.86rem;color:#38424d;margin-top:.1rem}
ul.findings .advice::before{content:"What to do: ";font-weight:600}
@media print{
 nav.toc{display:none} .layout{display:block} body{background:#fff}
 section{break-before:page;border:none} section#top{break-before:auto}
 header{background:#fff;color:#000} .kpi{break-inside:avoid} tr,figure{break-inside:avoid}
 .table-wrap{overflow:visible}
}
"""


@dataclasses.dataclass
class Section:
    """One section of the report: a title, paragraphs, findings, panels, tables and figures, in that order.

    ``severity`` is the worst severity of the findings about it (shown in the table of
    contents); ``findings`` are mappings with ``severity``, ``message`` and optionally
    ``check``, ``metric``, ``value``, ``threshold`` and ``href`` (the anchor of its evidence).
    ``panels`` are ``(table caption, table, figure caption, PNG)``: a table and the plot that
    illustrates it, side by side on wide screens, one above the other on narrow ones and in print.
    """

    title: str
    paragraphs: Sequence[str] = ()
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    figures: Sequence[tuple[str, bytes]] = ()
    anchor: str | None = None
    severity: str | None = None
    findings: Sequence[Mapping[str, Any]] = ()
    panels: Sequence[tuple[str, pd.DataFrame, str, bytes]] = ()


def badge(severity: Any, text: str | None = None) -> str:
    """A coloured severity badge (``error``, ``fail``, ``warn``, ``pass``; anything else grey)."""
    sev = str(severity).lower()
    kind = sev if sev in SEVERITIES else "none"
    return f'<span class="badge sev-{kind}">{html.escape(text if text is not None else sev)}</span>'


def format_cell(value: Any, digits: int = 4) -> tuple[str, bool]:
    """``(text, is_number)`` of one table cell: floats to ``digits`` decimals, NaN/None as n/a."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "n/a", True
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), False
    if isinstance(value, (int, np.integer)):
        return str(int(value)), True
    if isinstance(value, (float, np.floating)):
        return (f"{value:.{digits}f}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")), True
    text = str(value)
    return text, bool(text) and _NUMBER_TEXT.fullmatch(text) is not None


def _text_cell(text: str) -> str:
    if len(text) <= WRAP_CHARS:
        return f"<td>{html.escape(text)}</td>"
    if len(text) <= MAX_CELL_CHARS:
        return f'<td class="long">{html.escape(text)}</td>'
    cut = text[:MAX_CELL_CHARS - 1]
    return (f'<td class="long" title="{html.escape(text)}">{html.escape(cut)}\u2026 '
            f'<span class="note">(+{len(text) - len(cut)} chars)</span></td>')


def _label(value: Any) -> str:
    if isinstance(value, tuple):
        return " / ".join(str(v) for v in value if v is not None and str(v) != "")
    return "" if value is None else str(value)


def _columns(frame: pd.DataFrame) -> tuple[list[str], list[list[Any]]]:
    """Header labels and column values, the index (unless a plain 0..n-1) as leading columns."""
    names, values = [], []
    plain = isinstance(frame.index, pd.RangeIndex) and frame.index.name is None
    if not plain:
        for level, name in enumerate(frame.index.names):
            names.append(_label(name))
            values.append(list(frame.index.get_level_values(level)))
    for i, column in enumerate(frame.columns):
        names.append(_label(column))
        values.append(_whole_counts(frame.iloc[:, i]))
    return names, values


def _whole_counts(column: pd.Series) -> list[Any]:
    """A float column of whole numbers beyond 1 (counts that passed through NaN) as integers."""
    if column.dtype.kind == "f":
        v = column.to_numpy(dtype=float)
        finite = v[np.isfinite(v)]
        if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() > 1:
            return [int(x) if np.isfinite(x) else None for x in v]
    return list(column)


def _rows_html(values: list[list[Any]], start: int, stop: int, digits: int) -> str:
    out = []
    for r in range(start, stop):
        cells = []
        for column in values:
            text, is_num = format_cell(column[r], digits)
            cells.append(f'<td class="num">{html.escape(text)}</td>' if is_num else _text_cell(text))
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(out)


def table_html(caption: str, frame: pd.DataFrame, *, digits: int = 4, fold: int = FOLD_ROWS,
               shown: int = SHOWN_ROWS) -> str:
    """One table of the report: text left, numbers right to ``digits`` decimals, the index as
    ordinary columns (no pandas index-header row), MultiIndex columns joined with " / ", inside
    a wrapper that scrolls sideways; over ``fold`` rows, the first ``shown`` rows with the rest
    folded in ``<details>``."""
    names, values = _columns(frame)
    n_rows = len(frame)
    numeric = [all(format_cell(v, digits)[1] for v in column) and any(v is not None for v in column)
               for column in values]
    head = "<thead><tr>" + "".join(f'<th class="num">{html.escape(n)}</th>' if num else f"<th>{html.escape(n)}</th>"
                                   for n, num in zip(names, numeric)) + "</tr></thead>"
    cap = html.escape(caption)
    first = n_rows if n_rows <= fold else shown
    parts = [f'<div class="table-wrap"><table aria-label="{cap}"><caption>{cap}</caption>{head}',
             f"<tbody>{_rows_html(values, 0, first, digits)}</tbody></table>"]
    if first < n_rows:
        parts.append(f'<details class="more"><summary>Show the other {n_rows - first} of {n_rows} rows</summary>'
                     f'<table aria-label="{cap} (continued)">{head}'
                     f"<tbody>{_rows_html(values, first, n_rows, digits)}</tbody></table></details>")
    parts.append("</div>")
    return "".join(parts)


def _figure(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _number(value: Any) -> str:
    return "" if value is None or value == "" else format_cell(value)[0]


def _href(target: Any) -> str:
    return "#" + html.escape(str(target).lstrip("#"), quote=True)


def findings_html(findings: Sequence[Mapping[str, Any]]) -> str:
    """Findings grouped by check (headed by ``section``, else ``check``): a badge, the message
    left-aligned with the ``advice`` line (why it matters, what to do) of a warn or fail under it,
    value and threshold side by side, and a link to the anchor holding the evidence (``href``)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for finding in findings:
        groups.setdefault(str(finding.get("section") or finding.get("check") or ""), []).append(finding)
    parts = []
    for heading, items in groups.items():
        if heading:
            parts.append(f"<h3>{html.escape(heading)}</h3>")
        parts.append('<ul class="findings">')
        for f in items:
            metric = str(f.get("metric") or "")
            numbers = [f"{html.escape(metric)}" if metric else ""]
            if _number(f.get("value")):
                numbers.append(f"value <b>{html.escape(_number(f.get('value')))}</b>")
            if _number(f.get("threshold")):
                numbers.append(f"threshold {html.escape(_number(f.get('threshold')))}")
            link = f'<a href="{_href(f["href"])}">evidence</a>' if f.get("href") else ""
            advice = (f'<span class="advice">{html.escape(str(f["advice"]))}</span>'
                      if f.get("advice") and f.get("severity") in ("warn", "fail") else "")
            parts.append(f'<li>{badge(f.get("severity"))}<span class="msg">{html.escape(str(f.get("message", "")))}'
                         f'{advice}</span><span class="vt">{" · ".join(n for n in numbers if n)}{link}</span></li>')
        parts.append("</ul>")
    return "".join(parts)


def _top(verdict: Mapping[str, int] | None, meta: Mapping[str, str] | None,
         headline: Sequence[Mapping[str, Any]]) -> str:
    parts = ['<section id="top"><h2>Verdict</h2>']
    if verdict is not None:
        worst = next((s for s in SEVERITIES if verdict.get(s)), None)
        parts.append('<div class="verdict">' + (badge(worst, f"worst: {worst}") if worst else badge("none", "no findings"))
                     + "".join(badge(s if verdict.get(s) else "none", f"{int(verdict.get(s, 0))} {s}")
                               for s in SEVERITIES) + "</div>")
    if meta:
        parts.append('<dl class="meta">' + "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>"
                                                  for k, v in meta.items()) + "</dl>")
    if headline:
        parts.append('<div class="kpis">')
        for row in headline:
            tag, close = (f'<a class="kpi" href="{_href(row["href"])}">', "</a>") if row.get("href") else \
                ('<div class="kpi">', "</div>")
            parts.append(tag + f'<div class="label">{html.escape(str(row.get("label", "")))}</div>'
                         f'<div class="value">{html.escape(str(row.get("value", "")))}</div>'
                         + (f'<div class="interval">{html.escape(str(row["interval"]))}</div>'
                            if row.get("interval") else "")
                         + (f'<div class="group">{html.escape(str(row["group"]))}</div>' if row.get("group") else "")
                         + close)
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def render_html(title: str, sections: Sequence[Section], *, subtitle: str = "",
                meta: Mapping[str, str] | None = None, verdict: Mapping[str, int] | None = None,
                headline: Sequence[Mapping[str, Any]] = ()) -> str:
    """Render the report as one HTML string that needs no server and no network.

    ``verdict`` (severity -> count) and ``headline`` (mappings with ``label``, ``value``,
    ``interval``, ``group``, ``href``) open the page with ``meta`` (the run's identity); a table
    of contents links every section, with its worst severity.
    """
    anchors = [section.anchor or f"section-{i}" for i, section in enumerate(sections)]
    toc = ['<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>']
    if verdict is not None or meta or headline:
        toc.append('<li><a href="#top">Verdict</a></li>')
    for anchor, section in zip(anchors, sections):
        mark = f" {badge(section.severity)}" if section.severity else ""
        toc.append(f'<li><a href="{_href(anchor)}">{html.escape(section.title)}</a>{mark}</li>')
    toc.append("</ol></nav>")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(subtitle)}</p>" if subtitle else "",
        '</header><div class="layout">', "".join(toc), "<main>",
    ]
    if verdict is not None or meta or headline:
        parts.append(_top(verdict, meta, headline))
    for anchor, section in zip(anchors, sections):
        parts.append(f'<section id="{html.escape(anchor, quote=True)}"><h2>{html.escape(section.title)}</h2>')
        parts.extend(f"<p>{html.escape(p)}</p>" for p in section.paragraphs)
        if section.findings:
            parts.append(findings_html(section.findings))
        parts.extend(f'<div class="panel">{table_html(tc, frame)}{_figure(fc, png)}</div>'
                     for tc, frame, fc, png in section.panels)
        parts.extend(table_html(c, f) for c, f in section.tables)
        parts.extend(_figure(c, png) for c, png in section.figures)
        parts.append("</section>")
    parts.append("</main></div></body></html>")
    return "\n".join(p for p in parts if p)
