"""A self-contained HTML report: inline CSS, figures embedded as base64 PNG, no scripts."""

from __future__ import annotations

import base64
import dataclasses
import html
from collections.abc import Sequence

import pandas as pd

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#1f3a5f;color:#fff;padding:1.2rem 2rem}
header h1{margin:0;font-size:1.5rem} header p{margin:.3rem 0 0;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:1rem 1.4rem;margin:1.2rem 0}
h2{font-size:1.2rem;margin:.2rem 0 .6rem;color:#1f3a5f}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e5e9ef;padding:.25rem .6rem;text-align:right}
th{background:#f0f3f7} td:first-child,th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3rem 0;color:#3d4b5c}
figure{margin:.6rem 0 1rem} figure img{max-width:100%;border:1px solid #eef1f4}
figcaption{font-size:.85rem;color:#4a5868}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;font-size:.9rem}
dl.meta dt{font-weight:600}
.note{font-size:.85rem;color:#4a5868}
.table-wrap{overflow-x:auto;max-width:100%}
"""


@dataclasses.dataclass
class Section:
    """One section of the report: a title, paragraphs, tables and figures, in that order."""

    title: str
    paragraphs: Sequence[str] = ()
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    figures: Sequence[tuple[str, bytes]] = ()
    anchor: str | None = None


def _table(caption: str, frame: pd.DataFrame) -> str:
    body = frame.to_html(float_format=lambda x: f"{x:.4f}", na_rep="n/a", border=0, escape=True)
    body = body.replace("<table", f"<table aria-label=\"{html.escape(caption)}\"", 1).replace(
        ">", f"><caption>{html.escape(caption)}</caption>", 1
    )
    return f'<div class="table-wrap">{body}</div>'  # wide tables scroll inside their section


def _figure(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def render_html(title: str, sections: Sequence[Section], *, subtitle: str = "",
                meta: dict[str, str] | None = None) -> str:
    """Render the report as one HTML string that needs no server and no network."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(subtitle)}</p>" if subtitle else "",
        "</header><main>",
    ]
    if meta:
        items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in meta.items())
        parts.append(f'<section id="about"><h2>About this run</h2><dl class="meta">{items}</dl></section>')
    for i, section in enumerate(sections):
        anchor = section.anchor or f"section-{i}"
        parts.append(f'<section id="{html.escape(anchor)}"><h2>{html.escape(section.title)}</h2>')
        parts.extend(f"<p>{html.escape(p)}</p>" for p in section.paragraphs)
        parts.extend(_table(c, f) for c, f in section.tables)
        parts.extend(_figure(c, png) for c, png in section.figures)
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "\n".join(p for p in parts if p)
