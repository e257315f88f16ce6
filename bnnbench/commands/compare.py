"""``bnnbench compare``: timing ratios of two runs, changes called only beyond the measured noise."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="compare the timings of two runs (faster / slower / unchanged)",
        description="Print B's median time over A's for every measurement in both files, and call it faster or "
        "slower only when the two runs' interquartile ranges [q1, q3] do not overlap (else unchanged). Reads "
        "results.json or pytest-benchmark JSON files.",
    )
    parser.add_argument("a", type=Path, metavar="A.json", help="the baseline run")
    parser.add_argument("b", type=Path, metavar="B.json", help="the run compared with it")
    parser.set_defaults(handler=compare)


def compare(args: argparse.Namespace) -> int:
    from bnnbench.cli import CommandError
    from bnnbench.report.compare import compare as pair, format_comparison, load_timings
    from bnnbench.report.loading import ResultsError

    try:
        a, b = load_timings(args.a), load_timings(args.b)
    except ResultsError as exc:
        raise CommandError(str(exc)) from None
    print(format_comparison(*pair(a, b)), end="")
    return 0
