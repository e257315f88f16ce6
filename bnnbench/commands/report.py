"""``bnnbench report``: rebuild report.md, index.html and figures/ from a results.json."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="rebuild report.md, index.html and figures from a results.json",
        description="Rebuild report.md, index.html (self-contained, opens offline) and figures/*.png from the "
        "results.json of a `bnnbench run`, without measuring anything.",
    )
    parser.add_argument("results", type=Path, help="a results.json written by `bnnbench run`")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: the directory holding RESULTS)")
    parser.add_argument("--accuracy-runs", type=Path, default=None, metavar="DIR",
                        help="also show trained runs, DIR/RUN/metrics.json from `bnnbench train`, as the accuracy "
                        "section (replacing an accuracy suite in RESULTS)")
    parser.set_defaults(handler=report)


def report(args: argparse.Namespace) -> int:
    from bnnbench.cli import CommandError
    from bnnbench.report.loading import ResultsError, load_accuracy_runs, load_results, with_accuracy_runs
    from bnnbench.report.writer import write_report

    out_dir: Path = args.out or args.results.parent
    if out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"--out {out_dir} exists and is not a directory")
    try:
        results = load_results(args.results)
        if args.accuracy_runs is not None:
            results = with_accuracy_runs(results, load_accuracy_runs(args.accuracy_runs), args.accuracy_runs)
    except ResultsError as exc:
        raise CommandError(str(exc)) from None
    written = write_report(results, out_dir)
    print(f"report: {written.markdown}, {written.html} ({len(written.figures)} figures)")
    for error in written.figure_errors:
        print(f"figure not drawn (shown in the report): {error}")
    return 0
