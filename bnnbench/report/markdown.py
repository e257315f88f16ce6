"""report.md: the report's blocks as GitHub-flavoured Markdown, figures linked from figures/."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bnnbench.report.document import Block, Bullets, Heading, Image, Paragraph, Problem, Table, format_cell
from bnnbench.report.figures import FigureOutcome
from bnnbench.report.sections import build


def _cell(value: object) -> str:
    return format_cell(value).replace("|", "\\|").replace("\n", " ")


def _table(block: Table) -> str:
    lines = ["| " + " | ".join(block.headers) + " |", "|" + "|".join("---" for _ in block.headers) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in block.rows]
    return "\n".join(lines)


def _block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f"{'#' * level} {text}"
        case Paragraph(text):
            return text
        case Bullets(items, _):
            return "\n".join(f"- {item}" for item in items)
        case Table():
            return _table(block)
        case Image(path, title, caption, _):
            return f"![{title}]({path})\n\n*{title}.* {caption}"
        case Problem(text, detail):
            return f"**{text}**" + (f"\n\n```text\n{detail.rstrip()}\n```" if detail else "")
    raise TypeError(f"unknown report block {block!r}")


def to_markdown(blocks: Sequence[Block]) -> str:
    return "\n\n".join(_block(block) for block in blocks) + "\n"


def render(results: Mapping, figures: Mapping[str, FigureOutcome] | None = None) -> str:
    """report.md for ``results`` (a results.json dictionary), with ``figures`` if they were drawn."""
    return to_markdown(build(results, figures or {}))
