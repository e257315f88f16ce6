"""The ``bnnbench`` command line.

Each sub-command lives in its own module under ``bnnbench.commands`` and exposes
``register(subparsers)``. Modules import heavy dependencies (torch, the compiled
kernels) inside their handlers so that ``bnnbench --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bnnbench.errors import IsaUnavailableError

#: Sub-command modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "info",
    "run",
    "train",
    "evaluate",
    "summary",
    "estimate",
    "explore",
    "compile",
    "report",
    "compare",
    "study",
)


class CommandError(Exception):
    """An error to show the user as one line, without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bnnbench",
        description="Benchmark and simulate binary neural networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"bnnbench.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"bnnbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except IsaUnavailableError as exc:
        print(f"bnnbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bnnbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
