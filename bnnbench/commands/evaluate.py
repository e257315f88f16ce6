"""``bnnbench evaluate CHECKPOINT``: accuracy of a trained model.

For PBNet checkpoints it evaluates the PBNet readings (the model itself,
PBNet-map, ternary, and the PBNet-X ensemble of ``--samples`` sampled binary
networks), each derived network with batch norm re-estimated on training
images. ``--split validation`` evaluates on the validation split instead of
the test set (for choices that must not look at the test set). Results are
printed and written as JSON (default: ``evaluation-SPLIT.json`` beside the
checkpoint).
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

from bnnbench.cli import CommandError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a checkpoint (PBNet: map, ternary, PBNet-X ensembles)",
        description="Evaluate a trained checkpoint on MNIST.",
    )
    parser.add_argument("checkpoint")
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument(
        "--reading",
        action="append",
        choices=("model", "map", "ternary", "ensemble"),
        help="PBNet readings to evaluate (repeatable; default: all)",
    )
    parser.add_argument("--samples", type=int, default=16, help="PBNet-X ensemble size (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled networks")
    parser.add_argument("--bn-images", type=int, default=10000, help="training images for BN re-estimation")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="JSON output file")
    parser.add_argument(
        "--export-map",
        default=None,
        metavar="CHECKPOINT",
        help="PBNet: also save the PBNet-map network (an mnist-bnn checkpoint, BN re-estimated)",
    )
    parser.set_defaults(handler=_handle)


def _canonical_command(args: argparse.Namespace) -> str:
    words = ["bnnbench", "evaluate", str(args.checkpoint), "--split", args.split]
    for reading in args.reading or ():
        words += ["--reading", reading]
    words += ["--samples", str(args.samples), "--seed", str(args.seed), "--bn-images", str(args.bn_images)]
    words += ["--threads", str(args.threads)]
    if args.data_dir is not None:
        words += ["--data-dir", str(args.data_dir)]
    if args.export_map is not None:
        words += ["--export-map", str(args.export_map)]
    return shlex.join(words)


def _handle(args: argparse.Namespace) -> int:
    import torch

    from bnnbench.data.idx import IdxFormatError
    from bnnbench.data.mnist import ChecksumError, MnistNotFoundError
    from bnnbench.files import write_text_atomic
    from bnnbench.models import PBNet
    from bnnbench.training import (
        CheckpointError,
        evaluate_classifier,
        evaluate_pbnet,
        load_checkpoint,
        save_checkpoint,
    )
    from bnnbench.training.evaluation import derived_network
    from bnnbench.training.splits import mnist_splits

    if args.threads < 1 or args.samples < 1 or args.bn_images < 2:
        raise CommandError("--threads and --samples must be >= 1, --bn-images >= 2")
    torch.set_num_threads(args.threads)
    try:
        checkpoint = load_checkpoint(args.checkpoint)
        data = mnist_splits(args.data_dir)
    except (CheckpointError, MnistNotFoundError, ChecksumError, IdxFormatError) as exc:
        raise CommandError(str(exc)) from None
    images, labels = (data.test_x, data.test_y) if args.split == "test" else (data.val_x, data.val_y)
    result: dict[str, Any] = {
        "checkpoint": str(args.checkpoint),
        "model": checkpoint.model_name,
        "float_twin": checkpoint.float_twin,
        "options": checkpoint.options,
        "split": args.split,
        "command": _canonical_command(args),
    }
    if isinstance(checkpoint.model, PBNet):
        if args.bn_images > len(data.train_y):
            raise CommandError(f"--bn-images {args.bn_images} exceeds the {len(data.train_y)} training images")
        readings = tuple(args.reading or ("model", "map", "ternary", "ensemble"))
        result["bn_images"] = args.bn_images
        result["accuracy"] = evaluate_pbnet(
            checkpoint.model,
            data.train_x[: args.bn_images],
            images,
            labels,
            readings=readings,
            samples=args.samples,
            seed=args.seed,
        )
        if args.export_map:
            pbnet = checkpoint.model
            network = derived_network(pbnet, "map", data.train_x[: args.bn_images])
            options = {"float_last_layer": pbnet.float_last_layer, "bn_before_pool": pbnet.bn_before_pool}
            save_checkpoint(
                args.export_map,
                network,
                model_name="mnist-bnn",
                float_twin=False,
                options=options,
                metadata={"derived_from": str(args.checkpoint), "reading": "map", "bn_images": args.bn_images},
            )
            result["exported_map"] = str(args.export_map)
    else:
        if args.reading or args.export_map:
            raise CommandError("--reading and --export-map apply to PBNet checkpoints only")
        loss, accuracy = evaluate_classifier(checkpoint.model, images, labels)
        result["accuracy"] = {"model": accuracy}
        result["loss"] = loss
    for reading, value in result["accuracy"].items():
        if isinstance(value, dict):
            single = value["single_networks"]
            print(
                f"{reading}-{value['samples']}: {value['accuracy']:.2f}%  "
                f"(single sampled networks {single['mean']:.2f} ± {single['std']:.2f}%)"
            )
        else:
            print(f"{reading}: {value:.2f}%")
    out = Path(args.out) if args.out else Path(args.checkpoint).with_name(f"evaluation-{args.split}.json")
    write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    print(f"written: {out}")
    return 0
