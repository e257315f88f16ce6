"""``bnnbench run``: measure, estimate, and write a report under reports/."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from bnnbench.runner import DEFAULT_SUITES, SUITES

    choices = [name for name in SUITES if name != "environment"]
    parser = subparsers.add_parser(
        "run", help="run the benchmark suites and write a report",
        description="Run the suites (the environment is always described) and write results.json, "
        "benchmarks.json (pytest-benchmark format), report.md, a self-contained index.html and figures/*.png.",
    )
    parser.add_argument("--quick", action="store_true", help="short timing budgets (a few minutes in all)")
    parser.add_argument(
        "--suite", default=None,
        help=f"comma-separated suites among {', '.join(choices)} (default: {','.join(DEFAULT_SUITES)}; "
        "with --quick all of them, studies in their smoke versions; the full studies take up to 20 min each)",
    )
    parser.add_argument("--threads", type=int, default=None,
                        help="the 'all threads' count (default: every usable core); 1 thread is always measured")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default reports/<UTC time>-<host>)")
    parser.add_argument("--data-dir", default=None,
                        help="directory holding MNIST (default: $BNNBENCH_DATA, then ~/.cache/bnnbench)")
    parser.add_argument("--checkpoints", type=Path, default=None,
                        help="accuracy suite: evaluate every checkpoint.pt below this directory instead of training")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bnnbench.cli import CommandError
    from bnnbench.environment import usable_cores
    from bnnbench.files import write_json_atomic
    from bnnbench.report.writer import write_report
    from bnnbench.runner import DEFAULT_SUITES, SUITES, RunOptions, benchmark_file, default_out_dir, run_suites

    if args.suite is None:
        names = [n for n in SUITES if n != "environment"] if args.quick else list(DEFAULT_SUITES)
    else:
        names = [name.strip() for name in args.suite.split(",") if name.strip()]
    unknown = [name for name in names if name not in SUITES or name == "environment"]
    if unknown or not names:
        choices = ", ".join(n for n in SUITES if n != "environment")
        raise CommandError(f"unknown suite(s) {', '.join(unknown) or '(none given)'}; choose from {choices}")
    if args.threads is not None and args.threads < 1:
        raise CommandError(f"--threads must be at least 1, got {args.threads}")
    all_threads = args.threads or usable_cores()
    out_dir = args.out or default_out_dir()
    if out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"--out {out_dir} exists and is not a directory")
    if args.checkpoints is not None and not args.checkpoints.is_dir():
        raise CommandError(f"--checkpoints {args.checkpoints} is not a directory")
    options = RunOptions(quick=args.quick, thread_counts=tuple(sorted({1, all_threads})), out_dir=out_dir,
                         data_dir=args.data_dir, checkpoints=args.checkpoints)

    def write_outputs(results: dict) -> None:
        write_json_atomic(out_dir / "benchmarks.json", benchmark_file(results))
        write_report(results, out_dir)

    results: dict = run_suites(["environment", *names], options, on_update=write_outputs)
    print(f"report: {out_dir / 'report.md'}, {out_dir / 'index.html'}")
    for name, suite in results["suites"].items():
        if suite["status"] == "skipped":
            print(f"skipped suite {name}: {suite['reason']}")
    failed = [name for name, suite in results["suites"].items() if suite["status"] not in ("ok", "skipped")]
    if failed:
        print(f"failed suites: {', '.join(failed)} (see the report)")
        return 1
    return 0
