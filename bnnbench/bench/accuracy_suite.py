"""Accuracy suite: test accuracy of the reference models, and whether the
compiled engine predicts what torch predicts.

With ``--checkpoints DIR`` every ``checkpoint.pt`` below DIR is evaluated on
the MNIST test set (with the ``metrics.json`` written beside it by
``bnnbench train``).  Without, the suite trains a short version of the
reference models in this run (with ``--quick`` one epoch on 5000 images,
validated on 1000 and tested on the first 2000 test images; otherwise two
full epochs on the standard splits) -- enough to show the pipeline and the gap between binary
models and their float twins, not the published accuracies, which
``reports/reference/accuracy`` reproduces with the full recipes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch

from bnnbench import engine
from bnnbench.data.mnist import find_mnist_dir
from bnnbench.engine.agreement import measure_agreement
from bnnbench.progress import Progress
from bnnbench.runner import SuiteSkipped
from bnnbench.training.checkpoint import load_checkpoint
from bnnbench.training.evaluation import evaluate_classifier
from bnnbench.training.splits import mnist_splits
from bnnbench.training.trainer import TrainConfig, train


#: (model, float_twin, learning rate) trained when no checkpoints are given.
SHORT_TRAININGS = (("mnist-bnn", False, 3e-3), ("mnist-bnn", True, 1e-3), ("sfc", False, 3e-3),
                   ("binaryconnect-logreg", False, 1e-2))
QUICK_TRAININGS = SHORT_TRAININGS[:2]
#: --quick trains, validates and tests on the first images of each split only.
QUICK_SIZES = {"train": 5000, "validation": 1000, "test": 2000}


def _engine_agreement(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, object]:
    """Agreement of the compiled model with torch, or why the model does not compile."""
    try:
        compiled = engine.compile(model, getattr(model, "input_shape"))
    except engine.UnsupportedModelError as exc:
        return {"engine": f"not compiled: {exc}"}
    result = measure_agreement(model, compiled, images, labels)
    return {"engine_identical_fraction": result.identical_fraction, "engine_accuracy": result.engine_accuracy,
            "engine_disagreements": result.disagreements}


def evaluate_checkpoints(directory: Path, data_dir: str | None) -> list[dict[str, object]]:
    paths = sorted(directory.rglob("checkpoint.pt"))
    if not paths:
        raise SuiteSkipped(f"no checkpoint.pt below {directory}")
    splits = mnist_splits(data_dir)
    progress = Progress(len(paths), "accuracy")
    runs = []
    for path in paths:
        checkpoint = load_checkpoint(path)
        metrics_file = path.with_name("metrics.json")
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        _, accuracy = evaluate_classifier(checkpoint.model, splits.test_x, splits.test_y)
        run = {**metrics, "run": path.parent.name, "model": checkpoint.model_name,
               "float_twin": checkpoint.float_twin, "checkpoint": str(path), "test_accuracy": accuracy}
        if not checkpoint.float_twin:
            run.update(_engine_agreement(checkpoint.model, splits.test_x, splits.test_y))
        runs.append(run)
        progress.step(path.parent.name)
    return runs


def train_short(quick: bool, data_dir: str | None, out_dir: Path) -> list[dict[str, object]]:
    plan = QUICK_TRAININGS if quick else SHORT_TRAININGS
    subset = QUICK_SIZES["train"] if quick else None
    if quick:
        splits = mnist_splits(data_dir, validation_size=QUICK_SIZES["validation"], train_subset=subset)
        splits = replace(splits, test_x=splits.test_x[: QUICK_SIZES["test"]], test_y=splits.test_y[: QUICK_SIZES["test"]])
    else:
        splits = mnist_splits(data_dir)
    progress = Progress(len(plan), "accuracy")
    runs = []
    for name, float_twin, lr in plan:
        label = f"{name}{'-float' if float_twin else ''}"
        config = TrainConfig(model=name, float_twin=float_twin, epochs=1 if quick else 2, lr=lr, lr_final=lr / 10,
                             train_subset=subset, data_dir=data_dir,
                             validation_size=QUICK_SIZES["validation"] if quick else 5000)
        result = train(config, out_dir / label, data=splits, log=lambda line: None)
        model = load_checkpoint(result.checkpoint).model
        run = {**result.metrics, "run": label}
        if not float_twin:
            run.update(_engine_agreement(model, splits.test_x, splits.test_y))
        runs.append(run)
        progress.step(f"trained {label}")
    return runs


def run_accuracy_suite(quick: bool, data_dir: str | None, checkpoints: Path | None, out_dir: Path) -> dict[str, object]:
    if find_mnist_dir(data_dir) is None:
        raise SuiteSkipped("no MNIST data found: pass --data-dir or set $BNNBENCH_DATA (the run does not download)")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if checkpoints is not None:
            return {"source": str(checkpoints), "runs": evaluate_checkpoints(checkpoints, data_dir)}
        return {"source": "trained in this run (short schedules)", "runs": train_short(quick, data_dir, out_dir)}
    finally:
        torch.set_num_threads(previous)
