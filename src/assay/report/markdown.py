"""Markdown documents (MODEL_CARD.md, DATASHEET.md): one escape for every user string, and tables.

Column names, group values, file names and messages come from users and their data; in a
Markdown document they must stay text. :func:`escape_markdown` makes any value one line of
inert text: no table cell break (``|``), no line break, no raw HTML (``<script>``,
``<img onerror=...>``), no code span, link or image, no heading or list at the start.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"([\\`|\[\]*])")
_LEADING = re.compile(r"^(\s*)(?:([#+=-])|(\d+)([.)])(?=\s|$))")


def escape_markdown(value: Any) -> str:
    """``value`` as one line of Markdown text that renders as itself (inside a table cell too).

    Line breaks become spaces; ``& < >`` become HTML entities; ``\\ ` | [ ] *`` get a
    backslash; a leading ``#``, ``-``, ``+``, ``=`` or ``1. `` (heading, list, rule) is escaped.
    """
    text = " ".join(str(value).splitlines())
    text = "".join(_HTML.get(c, c) for c in text)
    text = _SPECIAL.sub(r"\\\1", text)
    # "\-" is an escaped "-"; a digit cannot be escaped, so an ordered-list marker "1. " becomes
    # "1\. " (and "0.75" is no marker: a number stays as it is)
    return _LEADING.sub(lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)),
                        text)


def markdown_block(value: Any) -> str:
    """Markdown a person wrote (a model card section): kept as Markdown -- paragraphs, lists,
    emphasis, links -- but with ``& < >`` as HTML entities, so it holds no raw HTML."""
    return "".join(_HTML.get(c, c) for c in str(value).strip())


def markdown_table(frame: pd.DataFrame, *, digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table of ``frame``: index levels first, then the columns.

    Floats are rounded to ``digits`` decimals (NaN: "n/a"); every label and text cell is escaped
    with :func:`escape_markdown`, so each row keeps the header's number of cells.
    """
    index_names = [escape_markdown(n) if n is not None else "" for n in frame.index.names]
    columns = [escape_markdown(c if not isinstance(c, tuple) else " ".join(map(str, c))) for c in frame.columns]
    header = "| " + " | ".join(index_names + columns) + " |"
    rule = "|" + "---|" * (len(index_names) + len(columns))
    rows = []
    for key, *row in frame.itertuples(name=None):  # keeps each column's type (iterrows makes ints floats)
        keys = list(key) if isinstance(key, tuple) else [key]
        cells = [("n/a" if pd.isna(v) else f"{v:.{digits}f}") if isinstance(v, float) else escape_markdown(v)
                 for v in row]
        rows.append("| " + " | ".join([escape_markdown(k) for k in keys] + cells) + " |")
    return "\n".join([header, rule, *rows])
