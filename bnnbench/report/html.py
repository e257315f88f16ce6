"""index.html: the report's blocks as one self-contained page.

Self-contained means it opens offline from anywhere, even copied alone: the
CSS is inline, figures are embedded as base64 ``data:`` URIs, there is no
script, and the favicon is an empty data URI so the browser asks for nothing.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence

from bnnbench.report.document import Block, Bullets, Heading, Image, Paragraph, Problem, Table, format_cell, is_number

STYLE = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --band: #f5f7fa; --accent: #2457c5; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 8px 0 4px; }
h2 { font-size: 21px; margin: 40px 0 10px; padding-top: 12px; border-top: 2px solid var(--line); }
h3 { font-size: 17px; margin: 26px 0 8px; }
nav { margin: 12px 0 20px; font-size: 14px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
nav a:hover { text-decoration: underline; }
ul.highlights { background: var(--band); border-left: 4px solid var(--accent); padding: 12px 16px 12px 34px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--band); padding: 1px 4px;
       border-radius: 3px; }
.table-wrap { overflow-x: auto; margin: 10px 0 16px; }
table { border-collapse: collapse; font-size: 13.5px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: var(--band); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background: #eef2fb; }
figure { margin: 18px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 6px; }
.problem { border: 1px solid var(--bad); border-left-width: 5px; background: #fdf0ef; padding: 8px 14px;
           margin: 12px 0; color: var(--bad); }
.problem pre { color: var(--fg); overflow-x: auto; font-size: 12.5px; }
"""

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*")


def inline(text: str) -> str:
    """Escape ``text`` for HTML and turn ```code```, ``**bold**`` and ``*italic*`` into tags."""
    def replace(match: re.Match[str]) -> str:
        code, bold, italic = match.groups()
        if code is not None:
            return f"<code>{html.escape(code)}</code>"
        if bold is not None:
            return f"<strong>{inline(bold)}</strong>"
        return f"<em>{inline(italic)}</em>"

    parts, last = [], 0
    for match in _INLINE.finditer(text):
        parts += [html.escape(text[last:match.start()]), replace(match)]
        last = match.end()
    return "".join(parts) + html.escape(text[last:])


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _table(block: Table) -> str:
    head = "".join(f"<th>{inline(h)}</th>" for h in block.headers) if any(block.headers) else ""
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{format_cell(v)}</td>' if is_number(v) else f"<td>{inline(format_cell(v))}</td>"
                         for v in row) + "</tr>"
        for row in block.rows
    )
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f'<div class="table-wrap"><table>{thead}<tbody>{body}</tbody></table></div>'


def _block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f'<h{level} id="{slug(text)}">{html.escape(text)}</h{level}>'
        case Paragraph(text):
            return f"<p>{inline(text)}</p>"
        case Bullets(items, highlight):
            css = ' class="highlights"' if highlight else ""
            return f"<ul{css}>" + "".join(f"<li>{inline(item)}</li>" for item in items) + "</ul>"
        case Table():
            return _table(block)
        case Image(_, title, caption, png):
            data = base64.b64encode(png).decode("ascii")
            return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(title)}">'
                    f"<figcaption><strong>{html.escape(title)}.</strong> {inline(caption)}</figcaption></figure>")
        case Problem(text, detail):
            more = f"<details><summary>details</summary><pre>{html.escape(detail)}</pre></details>" if detail else ""
            return f'<div class="problem" role="alert"><p><strong>{inline(text)}</strong></p>{more}</div>'
    raise TypeError(f"unknown report block {block!r}")


def to_html(blocks: Sequence[Block]) -> str:
    """The page: a table of contents of the level-2 sections, then every block in order."""
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "bnnbench report")
    sections = [b.text for b in blocks if isinstance(b, Heading) and b.level == 2]
    nav = "".join(f'<a href="#{slug(text)}">{html.escape(text)}</a>' for text in sections)
    parts = []
    for block in blocks:
        parts.append(_block(block))
        if isinstance(block, Heading) and block.level == 1 and nav:
            parts.append(f"<nav>{nav}</nav>")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><link rel="icon" href="data:,"><style>{STYLE}</style></head>\n'
        "<body><main>\n" + "\n".join(parts) + "\n</main></body></html>\n"
    )
