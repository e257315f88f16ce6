"""Write a report directory from results: figures/*.png, report.md, index.html.

Every file is written atomically (a reader sees the old file or the new one),
figures first so that report.md never links a figure that is not there yet.
A figure that fails to draw is shown as a failure in both reports, and its
PNG from an earlier write is removed so no stale figure is left beside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bnnbench.files import write_bytes_atomic, write_text_atomic
from bnnbench.report import figures as figure_specs
from bnnbench.report.html import to_html
from bnnbench.report.markdown import to_markdown
from bnnbench.report.sections import build


@dataclass(frozen=True)
class WrittenReport:
    markdown: Path
    html: Path
    figures: tuple[Path, ...]
    figure_errors: tuple[str, ...]  # "name: error" for each figure that could not be drawn


def write_report(results: Mapping, out_dir: Path) -> WrittenReport:
    figures = figure_specs.draw_figures(results)
    written = []
    for spec in figure_specs.FIGURES:
        outcome = figures.get(spec.name)
        path = out_dir / "figures" / f"{spec.name}.png"
        if outcome is not None and outcome.png is not None:
            write_bytes_atomic(path, outcome.png)
            written.append(path)
        else:
            path.unlink(missing_ok=True)
    blocks = build(results, figures)
    markdown, page = out_dir / "report.md", out_dir / "index.html"
    write_text_atomic(markdown, to_markdown(blocks))
    write_text_atomic(page, to_html(blocks))
    errors = tuple(f"{name}: {o.error}" for name, o in figures.items() if o.error is not None)
    return WrittenReport(markdown, page, tuple(written), errors)
