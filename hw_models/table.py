"""Plain-text tables for the CLI and reports (formatting only, no figures computed here)."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, footer: Sequence[Sequence[str]] = ()) -> str:
    """Rows of strings as a boxed table; numeric-looking cells are right-aligned."""
    table = [list(header), *map(list, rows), *map(list, footer)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def cell(text: str, width: int) -> str:
        numeric = text.replace(".", "", 1).replace("-", "", 1).replace("e", "", 1).replace("+", "", 1).isdigit()
        return text.rjust(width) if numeric else text.ljust(width)

    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule, "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |", rule]
    lines += ["| " + " | ".join(cell(c, w) for c, w in zip(row, widths)) + " |" for row in table[1 : 1 + len(rows)]]
    if footer:
        lines.append(rule)
        lines += ["| " + " | ".join(cell(c, w) for c, w in zip(row, widths)) + " |" for row in table[1 + len(rows) :]]
    lines.append(rule)
    return "\n".join(lines)
