"""``bnnbench compile``: compile a trained checkpoint onto the C kernels and check it.

Prints the program (one line per op), the packed size next to the float size,
and, on the MNIST test set, how many predictions agree with the torch model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compile", help="compile a checkpoint onto the binary kernels and check agreement with torch",
        description="Compile a trained checkpoint with bnnbench.engine, print its ops and sizes, and compare "
        "its predictions with the torch model on the MNIST test set.",
    )
    parser.add_argument("checkpoint", type=Path, help="a checkpoint written by `bnnbench train`")
    parser.add_argument("--data-dir", default=None, help="directory holding MNIST (default: $BNNBENCH_DATA, cache)")
    parser.add_argument("--threads", type=int, default=1, help="kernel threads (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON to this file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from bnnbench import engine
    from bnnbench.cli import CommandError
    from bnnbench.data.mnist import load_mnist, to_tensors
    from bnnbench.engine.agreement import measure_agreement
    from bnnbench.files import write_json_atomic
    from bnnbench.training.checkpoint import CheckpointError, load_checkpoint

    if args.threads < 1:
        raise CommandError(f"--threads must be at least 1, got {args.threads}")
    try:
        checkpoint = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        raise CommandError(str(exc)) from None
    model = checkpoint.model
    try:
        compiled = engine.compile(model, getattr(model, "input_shape"), threads=args.threads)
    except engine.UnsupportedModelError as exc:
        raise CommandError(f"{checkpoint.model_name}: {exc}") from None
    try:
        data = load_mnist(args.data_dir)
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    images, labels = to_tensors(data.test_images, data.test_labels)
    torch.set_num_threads(args.threads)
    agreement = measure_agreement(model, compiled, images, labels)
    print(compiled.summary())
    print(f"packed model {compiled.model_bytes / 1024:.1f} KiB, float model {compiled.float_bytes / 1024:.1f} KiB "
          f"({compiled.float_bytes / compiled.model_bytes:.1f}x smaller)")
    print(f"MNIST test set: {agreement.identical_predictions} of {agreement.images} predictions identical "
          f"({100 * agreement.identical_fraction:.2f}%); accuracy torch {agreement.torch_accuracy:.2f}%, "
          f"engine {agreement.engine_accuracy:.2f}%; largest logit difference {agreement.max_abs_logit_difference:.2g}")
    for d in agreement.disagreements:
        print(f"  image {d['index']}: torch {d['torch']}, engine {d['engine']}, torch top-2 margin "
              f"{d['torch_top2_margin']:.3g}")
    if args.out is not None:
        write_json_atomic(args.out, {
            "checkpoint": str(args.checkpoint), "model": checkpoint.model_name,
            "packed_bytes": compiled.model_bytes, "float_bytes": compiled.float_bytes,
            "ops": [{"name": op.name, "kind": op.kind} for op in compiled.ops], **agreement.as_dict(),
        })
    return 0
