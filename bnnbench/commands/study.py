"""``bnnbench study NAME [--out DIR]``: run one of the studies of issue 7.

Writes ``results.json``, ``README.md`` (question, setup, published figures,
findings, tables) and PNG figures to ``--out`` (default
``reports/studies/NAME``), all moved into place together when the study
finishes. ``--list`` lists the studies; ``--smoke`` runs a tiny configuration
that only checks the plumbing; ``--index`` writes ``README.md`` in the
``--out`` directory (default ``reports/studies``) indexing the studies found there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bnnbench.cli import CommandError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "study",
        help="run a study (BinaryConnect, bitorch LeNet, binary bottleneck, larq guide, PBNet ablation)",
        description="Run one study on real MNIST and write its results, report section and figures.",
    )
    parser.add_argument("name", nargs="?", help="study name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the studies and exit")
    parser.add_argument("--index", action="store_true", help="write OUT/README.md indexing the studies in OUT and exit")
    parser.add_argument("--out", default=None, help="output directory (default reports/studies/NAME)")
    parser.add_argument("--data-dir", default=None, help="directory holding the MNIST files (or mnist/)")
    parser.add_argument("--smoke", action="store_true", help="tiny configuration to check the plumbing (numbers meaningless)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from bnnbench import studies

    if args.list:
        for name in studies.names():
            print(f"{name:18s} {studies.describe(name).summary}")
        return 0
    if args.index:
        from bnnbench.files import write_text_atomic

        root = Path(args.out) if args.out is not None else studies.DEFAULT_ROOT
        write_text_atomic(root / "README.md", studies.index_markdown(root))
        print(f"index: {root / 'README.md'}")
        return 0
    if args.name is None:
        raise CommandError("name a study (or --list, --index)")
    try:
        studies.describe(args.name)
    except ValueError as exc:
        raise CommandError(str(exc)) from None

    from bnnbench.data.idx import IdxFormatError
    from bnnbench.data.mnist import ChecksumError, MnistNotFoundError

    out = args.out if args.out is not None else str(studies.default_out_dir(args.name))
    try:
        results = studies.run_study(args.name, out, data_dir=args.data_dir, smoke=args.smoke)
    except (MnistNotFoundError, ChecksumError, IdxFormatError, NotADirectoryError) as exc:
        raise CommandError(str(exc)) from None
    for line in results["findings"]:
        print(f"- {line}")
    print(f"report: {out}/README.md ({results['wall_time_s'] / 60:.1f} min)")
    return 0
