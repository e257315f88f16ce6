"""Study ``bitorch-lenet``: float vs binary LeNet on MNIST, and the binary kernels over training.

bitorch (hpi-xnor, https://github.com/hpi-xnor/bitorch) introduces binary
networks with a LeNet on MNIST (``lenet-bitorch`` in :mod:`bnnbench.models.lenet`)
and reports 98.87% test accuracy for the float network and 98.39% for the
binary one; its ``WeightGraphicalDebug`` hook draws chosen kernels of the
binary convolution as training goes. Here the same network and its float
twin are trained with the same recipe, and :class:`bnnbench.nn.KernelRecorder`
(the hook's counterpart) records eight kernels of the second convolution a few
times per epoch: the binary values the forward pass uses, the latent weights
behind them, and the float twin's weights. The share of the second
convolution's binary weights whose sign flipped during each epoch is measured
on the whole layer.

Fewer epochs than the reference trainings (``reports/reference/accuracy``),
to fit the study in 20 minutes on a 2-core machine; the report says how many.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from bnnbench import models
from bnnbench.nn.visualization import KernelRecorder
from bnnbench.progress import Progress
from bnnbench.studies.common import (
    Splits,
    StagedOutput,
    Stopwatch,
    environment,
    md_table,
    percent,
    render_markdown,
    signed,
    study_results,
    write_outputs,
)
from bnnbench.studies.torch_support import FitSettings, TensorSplits, fit_classifier, use_one_thread
from bnnbench.training.plots import plot_training_curves

__all__ = ["Settings", "PUBLISHED", "run_bitorch_lenet", "markdown"]

#: bitorch's published test accuracies (percent).
PUBLISHED = {"float": 98.87, "binary": 98.39}

#: Recorded (out_channel, in_channel) kernels of conv2.
KERNELS: tuple[tuple[int, int], ...] = tuple((k, k) for k in range(8))


@dataclass(frozen=True)
class Settings:
    """Budget and recipe (defaults: the full study)."""

    epochs: int = 4
    train_subset: int | None = None
    val_subset: int | None = None
    test_subset: int | None = None
    float_lr: float = 1e-3
    float_lr_final: float = 1e-4
    binary_lr: float = 3e-3
    binary_lr_final: float = 3e-4
    snapshots_per_epoch: int = 4
    seed: int = 0
    smoke: bool = False

    @classmethod
    def smoke_run(cls) -> Settings:
        return cls(epochs=2, train_subset=200, val_subset=50, test_subset=100, snapshots_per_epoch=2, smoke=True)


def _signs(model: nn.Module) -> Tensor:
    conv2 = model.get_submodule("conv2")
    assert isinstance(conv2, nn.Conv2d)
    return conv2.weight.detach() >= 0


def run_bitorch_lenet(splits: Splits, out_dir: str | os.PathLike[str], settings: Settings, *, command: str) -> dict[str, Any]:
    """Run the study on ``splits``; write results.json, README.md and figures to ``out_dir``; return the results."""
    clock = Stopwatch()
    use_one_thread()
    splits = splits.subset(settings.train_subset, settings.val_subset, settings.test_subset)
    data = TensorSplits.from_splits(splits)
    steps_per_epoch = -(-len(data.train_y) // 100)
    every = max(1, steps_per_epoch // settings.snapshots_per_epoch)
    results = study_results(
        study="bitorch-lenet",
        title="float vs binary LeNet (bitorch) and its kernels over training",
        question="How close does the binary LeNet of bitorch's introduction come to its float twin, and how do the "
        "binary kernels of its second convolution evolve while it trains?",
        setup=[
            "lenet-bitorch: conv 64@5x5, BN, tanh, max-pool; sign, binary conv 64@5x5, BN, max-pool; sign, binary FC "
            "1024->1000, BN, tanh; FC 1000->10. Float twin: hardtanh for each sign, float weights.",
            f"{settings.epochs} epochs (fewer than the reference trainings in reports/reference/accuracy), batch 100, "
            f"Adam; learning rate "
            f"{settings.float_lr:g} -> {settings.float_lr_final:g} (float), {settings.binary_lr:g} -> "
            f"{settings.binary_lr_final:g} (binary), exponential per epoch; latent weights clipped to [-1, 1].",
            "Best validation epoch kept; test set evaluated once per model.",
            f"KernelRecorder on conv2, kernels (out, in) = {', '.join(f'({o},{i})' for o, i in KERNELS)}, "
            f"every {every} steps ({settings.snapshots_per_epoch} per epoch).",
        ],
        published=[
            {"what": "float LeNet, test accuracy", "value": f"{PUBLISHED['float']}%", "source": "bitorch introduction"},
            {"what": "binary LeNet, test accuracy", "value": f"{PUBLISHED['binary']}%", "source": "bitorch introduction"},
        ],
        settings=asdict(settings),
        splits=splits,
        command=command,
    )
    progress = Progress(2 * settings.epochs, "bitorch-lenet")
    runs: dict[str, Any] = {}
    recorders: dict[str, KernelRecorder] = {}
    for kind in ("float", "binary"):
        torch.manual_seed(settings.seed)
        model = models.create("lenet-bitorch", float_twin=kind == "float")
        conv2 = model.get_submodule("conv2")
        assert isinstance(conv2, nn.Conv2d)
        recorders[kind] = KernelRecorder(conv2, KERNELS, every=every, quantized=True)
        if kind == "binary":
            recorders["latent"] = KernelRecorder(conv2, KERNELS, every=every, quantized=False)
        flips: list[float] = []
        previous = [_signs(model)]

        def on_epoch(record: dict[str, float], model: nn.Module = model, kind: str = kind,
                     previous: list[Tensor] = previous, flips: list[float] = flips) -> None:
            current = _signs(model)
            flips.append(100.0 * float((current != previous[0]).float().mean()))
            previous[0] = current
            progress.step(f"{kind} epoch {record['epoch']}")

        lr, lr_final = ((settings.float_lr, settings.float_lr_final) if kind == "float"
                        else (settings.binary_lr, settings.binary_lr_final))
        fit = fit_classifier(model, data, FitSettings(settings.epochs, lr, lr_final, seed=settings.seed), on_epoch=on_epoch)
        runs[kind] = {**fit.to_dict(), "conv2_sign_flips_percent_per_epoch": flips}
        for recorder in recorders.values():
            recorder.remove()
    results["runs"] = runs
    results["findings"] = _findings(results)
    with StagedOutput(out_dir) as output:
        curves = output.path("curves.png")
        plot_training_curves({f"{kind} LeNet": run for kind, run in runs.items()}, curves)
        figures = [{"file": curves.name, "caption": "Training and validation loss, validation accuracy per epoch"}]
        for name, caption in (
            ("binary", "binary LeNet: the ±1 kernels conv2 uses (rows: snapshots over training)"),
            ("latent", "binary LeNet: the latent real-valued kernels behind them"),
            ("float", "float LeNet: the same kernels of its conv2"),
        ):
            path = output.path(f"kernels_{name}.png")
            recorders[name].render(path, max_rows=settings.epochs * settings.snapshots_per_epoch + 1)
            figures.append({"file": path.name, "caption": caption})
        results["figures"] = figures
        results["wall_time_s"] = clock.seconds()
        results["environment"] = environment()
        write_outputs(output, results, markdown(results))
    return results


def _findings(results: dict[str, Any]) -> list[str]:
    fl, bi = results["runs"]["float"], results["runs"]["binary"]
    flips = bi["conv2_sign_flips_percent_per_epoch"]
    epochs = len(fl["epochs"])
    return [
        f"After {epochs} epochs the float LeNet reaches {percent(fl['test_accuracy'])} (bitorch {PUBLISHED['float']}%) "
        f"and the binary LeNet {percent(bi['test_accuracy'])} (bitorch {PUBLISHED['binary']}%): a gap of "
        f"{bi['test_accuracy'] - fl['test_accuracy']:+.2f} points against bitorch's "
        f"{PUBLISHED['binary'] - PUBLISHED['float']:+.2f}.",
        f"Against the published figures: float {signed(fl['test_accuracy'] - PUBLISHED['float'])}, binary "
        f"{signed(bi['test_accuracy'] - PUBLISHED['binary'])}.",
        "Share of conv2's binary weights whose sign flipped in each epoch: "
        + ", ".join(f"epoch {i + 1}: {value:.2f}%" for i, value in enumerate(flips))
        + " (the kernel figures show the same settling).",
        f"Training time: float {fl['seconds'] / 60:.1f} min, binary {bi['seconds'] / 60:.1f} min (1 thread; "
        "training simulates binarization in float arithmetic, so these times say nothing about binary inference).",
    ]


def markdown(results: dict[str, Any]) -> str:
    """The study's report section, rendered from its results."""
    rows = []
    for kind, run in results["runs"].items():
        for record in run["epochs"]:
            rows.append([kind, record["epoch"], f"{record['lr']:.1e}", f"{record['train_loss']:.4f}",
                         f"{record['train_accuracy']:.2f}", f"{record['val_accuracy']:.2f}",
                         f"{run['conv2_sign_flips_percent_per_epoch'][record['epoch'] - 1]:.2f}",
                         f"{record['seconds']:.0f}"])
    summary = [[kind, percent(run["test_accuracy"]), f"{PUBLISHED[kind]}%", run["best_epoch"]]
               for kind, run in results["runs"].items()]
    body = [
        md_table(["model", "test accuracy", "bitorch", "selected epoch"], summary),
        "**Per epoch:**",
        md_table(["model", "epoch", "lr", "train loss", "train acc", "val acc", "conv2 signs flipped (%)", "time (s)"], rows),
    ]
    return render_markdown(results, body)
