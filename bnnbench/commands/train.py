"""``bnnbench train MODEL``: train a reference model on MNIST.

Writes ``checkpoint.pt`` (best validation epoch), ``metrics.json`` and
``curves.png`` to ``--out`` (default ``runs/MODEL[-float]-seedS``). Model
options are passed as ``--option key=value`` (values read as JSON where they
parse, e.g. ``true``, ``1.0``, ``null``; else as strings).
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from bnnbench.cli import CommandError

__all__ = ["register", "parse_option", "canonical_command"]


def parse_option(text: str) -> tuple[str, Any]:
    """``"key=value"`` -> ``(key, value)``, the value parsed as JSON when it parses."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise CommandError(f"--option expects key=value, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.replace("-", "_"), value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a reference model on MNIST",
        description="Train a reference model on MNIST (validation split: last 5k training images).",
    )
    parser.add_argument("model", help="model name (see `bnnbench train --list`)", nargs="?")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    parser.add_argument("--float-twin", action="store_true", help="train the model's float twin")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="model option")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--optimizer", choices=("adam", "sgd", "bop"), default="adam", help="bop: Bop on binary weights, Adam on the rest"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="initial learning rate")
    parser.add_argument("--lr-final", type=float, default=None, help="last epoch's rate (exponential)")
    parser.add_argument("--schedule", choices=("exponential", "plateau", "constant"), default="exponential")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty (default 0)")
    parser.add_argument(
        "--bn-reestimate",
        type=int,
        default=0,
        metavar="N",
        help="recompute batch-norm statistics on N training images after each epoch (default: off)",
    )
    parser.add_argument(
        "--augment-shift",
        type=int,
        default=0,
        metavar="PIXELS",
        help="shift each training image by a random offset of up to PIXELS in x and y (default: 0, off)",
    )
    parser.add_argument(
        "--select-by",
        choices=("model", "map", "loss"),
        default="model",
        help="what picks the saved epoch: the model's validation accuracy, (PBNet) its map network's, "
        "or the model's validation loss (lowest)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--train-subset", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--init-from", default=None, metavar="CHECKPOINT", help="float-twin checkpoint (PBNet)")
    parser.add_argument("--data-dir", default=None, help="directory holding the MNIST files (or mnist/)")
    parser.add_argument("--out", default=None, help="output directory")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_handle)


def canonical_command(args: argparse.Namespace, out: str) -> str:
    """The command line that reproduces this run, every setting spelled out."""
    words = ["bnnbench", "train", args.model]
    if args.float_twin:
        words.append("--float-twin")
    for text in args.option:
        words += ["--option", text]
    words += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    words += ["--optimizer", args.optimizer, "--lr", repr(args.lr)]
    if args.lr_final is not None:
        words += ["--lr-final", repr(args.lr_final)]
    words += ["--schedule", args.schedule]
    if args.weight_decay:
        words += ["--weight-decay", repr(args.weight_decay)]
    if args.bn_reestimate:
        words += ["--bn-reestimate", str(args.bn_reestimate)]
    if args.augment_shift:
        words += ["--augment-shift", str(args.augment_shift)]
    if args.select_by != "model":
        words += ["--select-by", args.select_by]
    words += ["--seed", str(args.seed), "--threads", str(args.threads)]
    for flag, value in (("--train-subset", args.train_subset), ("--init-from", args.init_from), ("--data-dir", args.data_dir)):
        if value is not None:
            words += [flag, str(value)]
    words += ["--out", out]
    return shlex.join(words)


def _handle(args: argparse.Namespace) -> int:
    from bnnbench import models

    if args.list:
        for name in models.names():
            spec = models.describe(name)
            print(f"{name:22s} {spec.summary}  [{spec.reference}]")
            listing = ", ".join(f"{key}={json.dumps(value)}" for key, value in spec.options().items())
            print(f"{'':22s} options: {listing or '(none)'}")
        return 0
    if args.model is None:
        raise CommandError("name a model to train (or --list)")
    options = dict(parse_option(text) for text in args.option)

    from bnnbench.data.mnist import ChecksumError, MnistNotFoundError
    from bnnbench.data.idx import IdxFormatError
    from bnnbench.training import CheckpointError, TrainConfig, train

    config = TrainConfig(
        model=args.model,
        float_twin=args.float_twin,
        options=options,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        lr_final=args.lr_final,
        schedule=args.schedule,
        weight_decay=args.weight_decay,
        bn_reestimate=args.bn_reestimate,
        augment_shift=args.augment_shift,
        select_by=args.select_by,
        seed=args.seed,
        threads=args.threads,
        train_subset=args.train_subset,
        init_from=args.init_from,
        data_dir=args.data_dir,
    )
    out = args.out or f"runs/{args.model}{'-float' if args.float_twin else ''}-seed{args.seed}"
    try:
        config.validate()
        models.create(config.model, float_twin=config.float_twin, **config.options)
        result = train(
            config,
            out,
            progress=False if args.no_progress else None,
            extra_metadata={"command": canonical_command(args, out)},
        )
    except (ValueError, MnistNotFoundError, ChecksumError, IdxFormatError, CheckpointError) as exc:
        raise CommandError(str(exc)) from None
    print(f"checkpoint: {result.checkpoint}")
    print(f"test accuracy: {result.metrics['test_accuracy']:.2f}%")
    return 0
