"""``bnnbench info``: the machine, the detected CPU features and the kernel build."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="describe the CPU, ISA path, kernel build and library versions",
        description="Describe the CPU, its features, the ISA path in use, how the kernels were built, "
        "library versions and thread counts.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bnnbench import environment

    info = environment.describe()
    print(json.dumps(info, indent=2) if args.json else environment.format_text(info))
    return 0
