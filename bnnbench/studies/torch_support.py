"""Torch plumbing of the studies: one thread, tensors, a training loop, hardware costs.

The training loop follows bnnbench's trainer recipe
(:mod:`bnnbench.training.trainer`: Adam, or Bop on the binary weights and Adam
on the rest; mini-batches of 100; a learning rate decayed exponentially per
epoch from ``lr`` to ``lr_final``, Courbariaux et al. 2016 section 2.5; latent
weights clipped after every step; the epoch with the best validation accuracy
kept; the test set evaluated once, at the end). The studies need it on models
the registry cannot build (ablation variants with shortcuts, PBNet without
batch norm, ...) and with callbacks between epochs, which
:func:`bnnbench.training.train` does not take, so it is restated here.

Hardware costs come from ``hw_models`` through the workload tracer
(:func:`bnnbench.workload.trace_workload`): model size, latency and energy on
the ``rpi4b`` CPU target, and on the ``pynq-z1`` FPGA the LUTs, BRAM and
whether it fits for the cheapest folding that reaches :data:`FPGA_FPS` frames
per second (FINN-style folding search).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bnnbench.data.mnist import to_tensors
from bnnbench.studies.common import Splits
from bnnbench.training.bop import Bop
from bnnbench.training.evaluation import evaluate_classifier
from bnnbench.training.trainer import train_epoch

__all__ = [
    "use_one_thread",
    "TensorSplits",
    "FitSettings",
    "FitResult",
    "fit_classifier",
    "hardware_costs",
    "CPU_TARGET",
    "FPGA_TARGET",
    "FPGA_FPS",
    "EVAL_BATCH",
]

#: Cost targets of the studies (issue 7: latency on rpi4b, LUTs on pynq-z1).
CPU_TARGET = "rpi4b"
FPGA_TARGET = "pynq-z1"
#: Frame rate the FPGA folding search must reach; LUTs are those of its cheapest folding.
FPGA_FPS = 1000.0
#: Evaluation batch size: larger batches are slower on one thread for the bigger
#: convolutions (cnv's im2col buffer for 1,000 images is about 2 GB).
EVAL_BATCH = 100


def use_one_thread() -> None:
    """One torch thread: the studies share a 2-core machine with other work."""
    torch.set_num_threads(1)


@dataclass(frozen=True)
class TensorSplits:
    """Images ``(N, 1, S, S)`` float in [-1, 1] and int64 labels for each split."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor

    @classmethod
    def from_splits(cls, splits: Splits, *, pad_to: int | None = None) -> TensorSplits:
        """Tensors of ``splits``; ``pad_to`` pads the 28x28 images with background (-1) to that size."""

        def convert(images: Any, labels: Any) -> tuple[Tensor, Tensor]:
            x, y = to_tensors(images, labels)
            if pad_to is not None:
                total = pad_to - x.shape[-1]
                if total < 0:
                    raise ValueError(f"cannot pad {x.shape[-1]}x{x.shape[-1]} images to {pad_to}")
                before = total // 2
                x = F.pad(x, (before, total - before, before, total - before), value=-1.0)
            return x, y

        return cls(
            *convert(splits.train_images, splits.train_labels),
            *convert(splits.val_images, splits.val_labels),
            *convert(splits.test_images, splits.test_labels),
        )


@dataclass(frozen=True)
class FitSettings:
    """One training recipe."""

    epochs: int
    lr: float
    lr_final: float
    batch_size: int = 100
    optimizer: str = "adam"  # "adam", or "bop" (Bop on binary weights, Adam on the rest)
    seed: int = 0

    def learning_rate(self, epoch: int) -> float:
        """Rate of 0-based ``epoch``, exponential from ``lr`` to ``lr_final``."""
        if self.epochs == 1:
            return self.lr
        return self.lr * (self.lr_final / self.lr) ** (epoch / (self.epochs - 1))


@dataclass
class FitResult:
    """Per-epoch records, the selected epoch and the test figures of one training."""

    epochs: list[dict[str, float]]
    best_epoch: int
    best_val_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _optimizer(model: nn.Module, settings: FitSettings) -> torch.optim.Optimizer | Bop:
    if settings.optimizer == "bop":
        return Bop(model, lr=settings.lr)
    if settings.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=settings.lr)
    raise ValueError(f"optimizer must be 'adam' or 'bop', got {settings.optimizer!r}")


def fit_classifier(
    model: nn.Module,
    data: TensorSplits,
    settings: FitSettings,
    *,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> FitResult:
    """Train ``model`` with cross-entropy; load its best-validation state; evaluate the test set once.

    ``on_epoch`` receives each epoch's record after validation.
    """
    started = time.perf_counter()
    optimizer = _optimizer(model, settings)
    generator = torch.Generator().manual_seed(settings.seed)
    records: list[dict[str, float]] = []
    best_state: dict[str, Tensor] | None = None
    best_epoch, best_val = 0, -1.0
    for epoch in range(settings.epochs):
        epoch_start = time.perf_counter()
        lr = settings.learning_rate(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        train_loss, train_accuracy = train_epoch(
            model, optimizer, data.train_x, data.train_y,
            batch_size=settings.batch_size, generator=generator, epoch=epoch + 1,
        )
        val_loss, val_accuracy = evaluate_classifier(model, data.val_x, data.val_y, batch_size=EVAL_BATCH)
        record = {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "seconds": time.perf_counter() - epoch_start,
        }
        records.append(record)
        if val_accuracy > best_val:
            best_epoch, best_val = epoch + 1, val_accuracy
            best_state = copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(record)
    if best_state is None:
        raise ValueError("no training epoch ran (epochs must be >= 1)")
    model.load_state_dict(best_state)
    test_loss, test_accuracy = evaluate_classifier(model, data.test_x, data.test_y, batch_size=EVAL_BATCH)
    return FitResult(records, best_epoch, best_val, test_loss, test_accuracy, time.perf_counter() - started)


def hardware_costs(model: nn.Module, input_shape: Sequence[int], *, name: str) -> dict[str, Any]:
    """Size, ``rpi4b`` latency/energy and ``pynq-z1`` resources of ``model`` from ``hw_models``.

    An FPGA estimate the model cannot make (e.g. a layer FINN has no unit for)
    is recorded as ``{"error": message}`` rather than failing the study.
    """
    import hw_models
    from hw_models.errors import HwModelError

    from bnnbench.workload import trace_workload

    workload = trace_workload(model, input_shape, name=name)
    summary = hw_models.summarize(workload).totals
    cpu = hw_models.to_dict(hw_models.estimate(workload, hw_models.load_target(CPU_TARGET)))["totals"]
    costs: dict[str, Any] = {
        "model_bytes": summary.model_bytes,
        "binary_mac_ratio": summary.binary_mac_ratio,
        "macs": summary.macs,
        CPU_TARGET: {"latency_ms": 1e3 * cpu["latency_s"], "energy_uj": 1e6 * cpu["energy_j"]},
    }
    try:
        fpga = hw_models.to_dict(
            hw_models.estimate(workload, hw_models.load_target(FPGA_TARGET), fps=FPGA_FPS)
        )["totals"]
        costs[FPGA_TARGET] = {
            "fps_target": FPGA_FPS,
            "fps": fpga["fps"],
            "lut": fpga["lut"],
            "bram18": fpga["bram18"],
            "fits": fpga["fits"],
        }
    except HwModelError as exc:
        costs[FPGA_TARGET] = {"fps_target": FPGA_FPS, "error": str(exc)}
    return costs
