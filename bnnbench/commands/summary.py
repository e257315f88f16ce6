"""``bnnbench summary MODEL``: a larq-style per-layer summary of bits, parameters, memory and MACs."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "summary", help="per-layer bits, parameters, memory and MACs of a model (larq style)",
        description="Print a larq-style summary of MODEL: per layer input bits, output shape, parameters by bit "
        "width, memory and MACs by precision; totals with model size, float-32 equivalent, compression ratio, "
        "binary MAC ratio and peak activation memory. MODEL is a zoo name (see --list) or a saved workload .json.",
    )
    parser.add_argument("model", nargs="?", help="zoo model name or workload .json file")
    parser.add_argument("--traced", action="store_true", help="trace the bnnbench.models torch model of that name instead of the zoo definition")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--list", action="store_true", help="list the zoo models and exit")
    parser.set_defaults(handler=run)


def workload_for(model: str, traced: bool) -> Any:
    """MODEL of the hardware commands: a zoo name or workload .json (no torch needed), or (``traced``)
    the bnnbench.models model of that name traced."""
    if traced:
        from bnnbench.workload import trace_model

        return trace_model(model)
    from hw_models import zoo

    return zoo.resolve(model)


def run(args: argparse.Namespace) -> int:
    from bnnbench.cli import CommandError
    from hw_models import zoo
    from hw_models.errors import HwModelError
    from hw_models.summary import format_summary, summarize

    if args.list:
        for name in zoo.names():
            print(f"{name:22s} {zoo.describe(name)}")
        return 0
    if not args.model:
        raise CommandError("give a MODEL (a zoo name or a workload .json); --list shows the zoo")

    try:
        summary = summarize(workload_for(args.model, args.traced))
    except HwModelError as exc:
        raise CommandError(str(exc)) from None
    print(json.dumps(asdict(summary), indent=2) if args.json else format_summary(summary))
    return 0
