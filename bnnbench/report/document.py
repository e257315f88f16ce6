"""The report as a list of format-neutral blocks.

Sections are built once from results.json as blocks (headings, paragraphs,
tables, figures, problems); :mod:`bnnbench.report.markdown` and
:mod:`bnnbench.report.html` only format them, so report.md and index.html
always say the same thing.

Paragraph, list and table text may use three pieces of inline markup,
understood by both formats: ```code```, ``**bold**`` and ``*italic*``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    highlight: bool = False  # the report's headline numbers, set apart in HTML


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class Image:
    """A figure written to ``path`` (relative to the report), its PNG bytes for embedding."""

    path: str
    title: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class Problem:
    """Something that failed (a suite, a section, a figure): shown prominently, never hidden."""

    text: str
    detail: str = ""


Block = Heading | Paragraph | Bullets | Table | Image | Problem


def format_cell(value: object) -> str:
    """Numbers to three significant figures (whole numbers from 100 up); everything else as str."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    if value is None:
        return ""
    return str(value)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
