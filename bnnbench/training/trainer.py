"""Train a model on MNIST: Adam (or SGD) with a decaying learning rate.

The recipe follows the BNN and PBNet papers: Adam, mini-batches of 100, a
learning rate decayed exponentially from ``lr`` to ``lr_final`` over the run
(Courbariaux et al. 2016 section 2.5, decay per epoch) or halved when the
validation accuracy stops improving (``schedule="plateau"``), latent weights
clipped after every step (``optimizer="bop"`` instead flips binary weights with
Bop, Helwegen et al. 2019), training images optionally shifted by a few pixels
(``augment_shift``, :mod:`.augment`). With ``bn_reestimate=N`` the batch-norm running
statistics are recomputed exactly on the first N training images after every
epoch, so that validation, the saved checkpoint and the final test all use
statistics of the weights being saved rather than a running average over
recent steps, across which a binary network's signs keep flipping (a BNN's
accuracy is sensitive to them: every sign activation is a threshold set by
its batch norm). Model selection uses the validation split only: the
checkpoint holds the epoch with the best validation accuracy, and the test set
is evaluated once, on that model, at the end. For a PBNet whose deployed form
is its map network, ``select_by="map"`` picks the epoch by the validation
accuracy of that network (batch norm re-estimated on the first
``MAP_BN_IMAGES`` training images, as ``bnnbench evaluate`` does) instead of
the PBNet's own: the two can peak at different epochs. ``select_by="loss"``
picks the epoch with the lowest validation loss instead of the highest
accuracy: on 5,000 images accuracy moves in steps of one image and its noise
(about ±0.14 points) exceeds the epoch-to-epoch changes once training
plateaus, so the best-accuracy epoch is often a lucky one early in the
decay; the loss averages over every image's confidence and is far
less noisy. ``best_val_accuracy`` is then the saved epoch's accuracy.

Outputs in ``out_dir`` (each written atomically, the first two after every
epoch so an interrupted run leaves a usable state):

* ``checkpoint.pt``: the best-validation model (:mod:`.checkpoint`);
* ``metrics.json``: configuration, seed, per-epoch losses and accuracies
  (percent), learning rates and times, best epoch, final test accuracy,
  wall time and CPU time (with one thread, the CPU time is what the run takes
  on an otherwise idle core; the wall time grows when other work shares it),
  environment;
* ``curves.png``: loss and accuracy curves.
"""

from __future__ import annotations

import copy
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bnnbench import models
from bnnbench.files import write_text_atomic
from bnnbench.nn.layers import clip_latent_weights
from bnnbench.progress import Progress
from bnnbench.training.allocator import retain_freed_memory
from bnnbench.training.augment import random_shift
from bnnbench.training.bop import Bop
from bnnbench.training.checkpoint import load_checkpoint, save_checkpoint
from bnnbench.training.evaluation import (
    classification_loss,
    derived_network,
    evaluate_classifier,
    reestimate_batchnorm,
)
from bnnbench.training.plots import plot_training_curves
from bnnbench.training.splits import DataSplits, mnist_splits

__all__ = ["TrainConfig", "TrainResult", "train", "train_epoch", "steps_per_epoch", "SCHEDULES", "OPTIMIZERS"]

SCHEDULES = ("exponential", "plateau", "constant")
#: What picks the saved epoch: the model's validation accuracy, (PBNet only) its map
#: reading's, or the model's validation loss.
SELECTION_METRICS = ("model", "map", "loss")
#: Training images on which the map reading's batch norm is re-estimated (as ``bnnbench evaluate``).
MAP_BN_IMAGES = 10_000
OPTIMIZERS = ("adam", "sgd", "bop")


@dataclass
class TrainConfig:
    """Everything that determines a training run (recorded in metrics.json)."""

    model: str
    float_twin: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 100
    optimizer: str = "adam"
    lr: float = 1e-3
    lr_final: float | None = None
    schedule: str = "exponential"
    momentum: float = 0.9
    weight_decay: float = 0.0
    bn_reestimate: int = 0
    augment_shift: int = 0
    select_by: str = "model"
    seed: int = 0
    threads: int = 1
    validation_size: int = 5000
    train_subset: int | None = None
    init_from: str | None = None
    data_dir: str | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid setting."""
        models.describe(self.model)
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 2, f"batch_size must be >= 2, got {self.batch_size}"),
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (self.lr_final is None or self.lr_final > 0, f"lr_final must be positive, got {self.lr_final}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"),
            (self.threads >= 1, f"threads must be >= 1, got {self.threads}"),
            (
                self.select_by in SELECTION_METRICS,
                f"select_by must be one of {SELECTION_METRICS}, got {self.select_by!r}",
            ),
            (self.augment_shift >= 0, f"augment_shift must be >= 0, got {self.augment_shift}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (
                self.bn_reestimate == 0 or self.bn_reestimate >= 2,
                f"bn_reestimate must be 0 (off) or >= 2 images, got {self.bn_reestimate}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def learning_rate(self, epoch: int) -> float:
        """The exponential schedule's rate at 0-based ``epoch`` (lr -> lr_final)."""
        final = self.lr_final if self.lr_final is not None else self.lr
        if self.schedule != "exponential" or self.epochs == 1:
            return self.lr
        return self.lr * (final / self.lr) ** (epoch / (self.epochs - 1))


@dataclass
class TrainResult:
    """Where the outputs went and the headline figures."""

    out_dir: Path
    checkpoint: Path
    metrics: dict[str, Any]


def _environment(threads: int, retains_freed_memory: bool) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "malloc_retains_freed_memory": retains_freed_memory,
    }


def _make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer | Bop:
    """Adam / SGD / Bop (+ Adam); ``weight_decay`` is the L2 penalty added to the gradients."""
    if config.optimizer == "bop":
        return Bop(model, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def _initialise(model: nn.Module, config: TrainConfig) -> None:
    if config.init_from is None:
        return
    source = load_checkpoint(config.init_from)
    if not isinstance(model, models.PBNet):
        raise ValueError(f"init_from is supported for PBNet models, not {config.model!r}")
    if not source.float_twin:
        raise ValueError(f"{config.init_from}: init_from needs a float-twin checkpoint")
    models.init_from_float(model, source.model)


def steps_per_epoch(images: int, batch_size: int) -> int:
    """Optimiser steps :func:`train_epoch` takes: full batches, plus a last one of two or more images."""
    return images // batch_size + (1 if images % batch_size >= 2 else 0)


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | Bop,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    batch_size: int,
    generator: torch.Generator,
    epoch: int,
    augment_shift: int = 0,
    progress: Progress | None = None,
) -> tuple[float, float]:
    """Epoch ``epoch`` (1-based): one pass over ``images`` in a random order (from ``generator``), the model's loss.

    Each step: optional random shift of the batch, forward, backward,
    optimiser step, then latent weights clipped (BNN / PBNet). A final batch
    of one image is skipped (batch norm needs two). Returns the mean training
    loss and the training accuracy (percent) over the epoch; a non-finite
    loss raises ``FloatingPointError``.
    """
    model.train()
    order = torch.randperm(len(labels), generator=generator)
    loss_sum, correct, seen = 0.0, 0, 0
    for start in range(0, len(labels), batch_size):
        index = order[start : start + batch_size]
        if len(index) < 2:
            continue
        batch = random_shift(images[index], augment_shift, generator)
        targets = labels[index]
        logits = model(batch)
        loss = classification_loss(model, logits, targets)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"training loss became {loss_value} in epoch {epoch}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        clip_latent_weights(model)
        loss_sum += loss_value * len(targets)
        correct += int((logits.argmax(dim=1) == targets).sum())
        seen += len(targets)
        if progress is not None:
            progress.step(loss=loss_sum / seen, acc=100.0 * correct / seen)
    return loss_sum / seen, 100.0 * correct / seen


def train(
    config: TrainConfig,
    out_dir: str | os.PathLike[str],
    *,
    data: DataSplits | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    extra_metadata: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``config.model`` and write checkpoint, metrics and curves to ``out_dir``.

    ``data`` overrides loading MNIST (tests pass small splits); ``progress``
    forces the progress bar on or off (default: on for a terminal); ``log``
    receives one line per epoch (default: stderr).
    """
    config.validate()
    emit = log if log is not None else (lambda line: print(line, file=sys.stderr, flush=True))
    torch.set_num_threads(config.threads)
    retains_freed_memory = retain_freed_memory()
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    cpu_started = time.process_time()
    if data is None:
        data = mnist_splits(
            config.data_dir, validation_size=config.validation_size, train_subset=config.train_subset
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = models.create(config.model, float_twin=config.float_twin, **config.options)
    if config.select_by == "map" and not isinstance(model, models.PBNet):
        raise ValueError(f"select_by='map' needs a PBNet model, not {config.model!r}")
    _initialise(model, config)
    optimizer = _make_optimizer(config, model)
    plateau = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer.adam if isinstance(optimizer, Bop) else optimizer, mode="max", factor=0.5, patience=2
        )
        if config.schedule == "plateau"
        else None
    )
    generator = torch.Generator().manual_seed(config.seed)
    metrics: dict[str, Any] = {
        "model": config.model,
        "float_twin": config.float_twin,
        "options": dict(config.options),
        "seed": config.seed,
        "config": asdict(config),
        "data": {"source": data.source, **data.sizes()},
        "environment": _environment(config.threads, retains_freed_memory),
        "epochs": [],
        "best_epoch": None,
        "best_val_accuracy": None,
        "finished": False,
        **(extra_metadata or {}),
    }
    checkpoint_path = out / "checkpoint.pt"
    metrics_path = out / "metrics.json"
    best_state: dict[str, torch.Tensor] | None = None
    best_score: float | None = None
    n_train = len(data.train_y)
    for epoch in range(config.epochs):
        epoch_start = time.perf_counter()
        epoch_cpu_start = time.process_time()
        if plateau is None:
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate(epoch)
        lr = optimizer.param_groups[0]["lr"]
        bar = Progress(
            steps_per_epoch(n_train, config.batch_size),
            f"epoch {epoch + 1}/{config.epochs}",
            interactive=progress,
            log_lines=False,
        )
        train_loss, train_accuracy = train_epoch(
            model, optimizer, data.train_x, data.train_y,
            batch_size=config.batch_size, generator=generator, epoch=epoch + 1,
            augment_shift=config.augment_shift, progress=bar,
        )
        bar.close()
        if config.bn_reestimate:
            reestimate_batchnorm(model, data.train_x[: config.bn_reestimate])
        val_loss, val_accuracy = evaluate_classifier(model, data.val_x, data.val_y)
        selection = val_accuracy
        if config.select_by == "map":
            assert isinstance(model, models.PBNet)  # checked before training
            deployed = derived_network(model, "map", data.train_x[:MAP_BN_IMAGES])
            selection = evaluate_classifier(deployed, data.val_x, data.val_y)[1]
        score = -val_loss if config.select_by == "loss" else selection  # higher is better
        if plateau is not None:
            plateau.step(score)
        record = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            **({"val_accuracy_map": selection} if config.select_by == "map" else {}),
            "seconds": time.perf_counter() - epoch_start,
            "cpu_seconds": time.process_time() - epoch_cpu_start,
        }
        metrics["epochs"].append(record)
        improved = best_score is None or score > best_score
        if improved:
            best_score = score
            metrics["best_epoch"] = epoch + 1
            metrics["best_val_accuracy"] = selection
            metrics["best_val_loss"] = val_loss
            best_state = copy.deepcopy(model.state_dict())
            save_checkpoint(
                checkpoint_path,
                model,
                model_name=config.model,
                float_twin=config.float_twin,
                options=config.options,
                metadata={"epoch": epoch + 1, "val_accuracy": selection, "config": asdict(config)},
            )
        metrics["wall_time_s"] = time.perf_counter() - started
        metrics["cpu_time_s"] = time.process_time() - cpu_started
        write_text_atomic(metrics_path, json.dumps(metrics, indent=2) + "\n")
        emit(
            f"epoch {epoch + 1}/{config.epochs} lr {lr:.2e} train loss {record['train_loss']:.4f} "
            f"acc {record['train_accuracy']:.2f}% | val loss {val_loss:.4f} acc {val_accuracy:.2f}%"
            f"{f' map {selection:.2f}%' if config.select_by == 'map' else ''}"
            f"{' *' if improved else ''} | {record['seconds']:.0f}s"
        )
    assert best_state is not None  # epochs >= 1, and the first epoch always improves
    model.load_state_dict(best_state)
    test_loss, test_accuracy = evaluate_classifier(model, data.test_x, data.test_y)
    metrics.update(
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        wall_time_s=time.perf_counter() - started,
        cpu_time_s=time.process_time() - cpu_started,
        finished=True,
    )
    write_text_atomic(metrics_path, json.dumps(metrics, indent=2) + "\n")
    plot_training_curves({_label(config): metrics}, out / "curves.png")
    emit(
        f"best epoch {metrics['best_epoch']} (val {metrics['best_val_accuracy']:.2f}%), "
        f"test accuracy {test_accuracy:.2f}%, wall time {metrics['wall_time_s']:.0f}s"
    )
    return TrainResult(out, checkpoint_path, metrics)


def _label(config: TrainConfig) -> str:
    return f"{config.model}{' (float twin)' if config.float_twin else ''}"
