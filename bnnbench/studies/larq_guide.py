"""Study ``larq-guide``: ablations of the practices in larq's guide to building BNNs.

larq's user guide "Building BNNs" (https://docs.larq.dev/larq/guides/bnn-architecture/
and .../bnn-optimization/) recommends: keep the first and last layers in
higher precision; put batch norm after max pooling and before the sign (so the
pooling sees real values); add high-precision shortcuts (Bi-Real Net, Liu et
al. 2018); clip latent weights (BinaryConnect/BNN, Courbariaux et al. 2015,
2016) or use Bop (Helwegen et al. 2019, "Latent Weights Do Not Exist"), which
has no latent weights at all.

Each practice is switched on or off, one at a time, against a baseline, on
two networks trained on real MNIST:

* ``mnist-bnn`` (32C3-MP2-64C3-MP2-512FC-10; baseline = larq's practices:
  real-valued image into the first layer, real last layer, pooling before
  batch norm, latent weights clipped to [-1, 1], Adam);
* FINN ``cnv`` on MNIST padded to 32x32 (baseline = FINN's choices: real
  image into the first layer, binary last layer with batch norm, batch norm
  before pooling, clipping, Adam).

Next to each accuracy: the model size, latency and energy on the ``rpi4b``
CPU target and LUTs / BRAM on the ``pynq-z1`` FPGA at a fixed frame rate,
from ``hw_models`` (:func:`bnnbench.studies.torch_support.hardware_costs`).

Short trainings on a subset of the training images (the budget: 20 minutes for
the whole study on a 2-core machine) make accuracies lower than the reference
runs' and differences of a few tenths of a point noise; the baseline is
trained with a second seed to show that spread.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bnnbench import models
from bnnbench.progress import Progress
from bnnbench.studies.common import (
    Splits,
    StagedOutput,
    Stopwatch,
    environment,
    md_table,
    percent,
    pyplot,
    render_markdown,
    save_figure,
    signed,
    study_results,
    write_outputs,
)
from bnnbench.studies.shortcuts import cnv_with_shortcuts, mnist_bnn_with_shortcuts
from bnnbench.studies.torch_support import (
    CPU_TARGET,
    FPGA_FPS,
    FPGA_TARGET,
    FitSettings,
    TensorSplits,
    fit_classifier,
    hardware_costs,
    use_one_thread,
)
from bnnbench.training.bop import binary_weights
from bnnbench.training.plots import plot_training_curves

__all__ = ["Settings", "Ablation", "ABLATIONS", "run_larq_guide", "markdown"]


@dataclass(frozen=True)
class Ablation:
    """One variant: model options, shortcuts, optimizer; what it changes against the baseline."""

    name: str
    change: str
    options: dict[str, Any] = field(default_factory=dict)
    shortcuts: bool = False
    optimizer: str = "adam"


#: Per network: its builder options, input size, and the ablations (the first is the baseline).
ABLATIONS: dict[str, tuple[Ablation, ...]] = {
    "mnist-bnn": (
        Ablation("baseline", "larq practices: real image in, real last layer, pool before BN, clip, Adam"),
        Ablation("binary-first", "first layer's input binarized", {"float_first_input": False}),
        Ablation("binary-last", "last layer binary (and batch norm after it)", {"float_last_layer": False}),
        Ablation("bn-before-pool", "batch norm before max pooling", {"bn_before_pool": True}),
        Ablation("shortcuts", "Bi-Real high-precision shortcut", shortcuts=True),
        Ablation("no-clip", "latent weights not clipped", {"weight_clip": None}),
        Ablation("bop", "Bop on the binary weights (no latent weights), Adam on the rest", optimizer="bop"),
    ),
    "cnv": (
        Ablation("baseline", "FINN choices: real image in, binary last layer, BN before pool, clip, Adam"),
        Ablation("binary-first", "first layer's input binarized", {"float_first_input": False}),
        Ablation("float-last", "last layer real-valued (with a bias, no batch norm)", {"float_last_layer": True}),
        Ablation("bn-after-pool", "batch norm after max pooling", {"bn_before_pool": False}),
        Ablation("shortcuts", "high-precision shortcuts around conv2, conv4, conv6", shortcuts=True),
        Ablation("no-clip", "latent weights not clipped", {"weight_clip": None}),
        Ablation("bop", "Bop on the binary weights (no latent weights), Adam on the rest", optimizer="bop"),
    ),
}

#: Builder options and input shape of each network on MNIST.
NETWORKS: dict[str, tuple[dict[str, Any], tuple[int, int, int]]] = {
    "mnist-bnn": ({}, (1, 28, 28)),
    "cnv": ({"in_channels": 1, "image_size": 32}, (1, 32, 32)),
}


@dataclass(frozen=True)
class Settings:
    """Budget of the study (defaults: the full study)."""

    mnist_bnn_train_subset: int | None = 10000
    mnist_bnn_epochs: int = 3
    cnv_train_subset: int | None = 2000
    cnv_epochs: int = 3
    val_subset: int | None = 1000
    test_subset: int | None = None
    lr: float = 3e-3
    lr_final: float = 3e-4
    seed: int = 0
    baseline_extra_seed: int = 1
    smoke: bool = False

    @classmethod
    def smoke_run(cls) -> Settings:
        return cls(mnist_bnn_train_subset=100, mnist_bnn_epochs=1, cnv_train_subset=10, cnv_epochs=1,
                   val_subset=20, test_subset=30, smoke=True)

    def budget(self, network: str) -> tuple[int | None, int]:
        """(training images, epochs) for ``network``."""
        if network == "mnist-bnn":
            return self.mnist_bnn_train_subset, self.mnist_bnn_epochs
        return self.cnv_train_subset, self.cnv_epochs


def build(network: str, ablation: Ablation) -> nn.Module:
    """The ablation's model (fresh weights)."""
    base_options, _ = NETWORKS[network]
    model = models.create(network, **base_options, **ablation.options)
    if not ablation.shortcuts:
        return model
    assert isinstance(model, nn.Sequential)
    return mnist_bnn_with_shortcuts(model) if network == "mnist-bnn" else cnv_with_shortcuts(model)


def _train(network: str, ablation: Ablation, data: TensorSplits, settings: Settings, seed: int,
           progress: Progress) -> dict[str, Any]:
    _, epochs = settings.budget(network)
    torch.manual_seed(seed)
    model = build(network, ablation)
    fit = fit_classifier(
        model, data,
        FitSettings(epochs=epochs, lr=settings.lr, lr_final=settings.lr_final, optimizer=ablation.optimizer, seed=seed),
        on_epoch=lambda record: progress.step(f"{network} {ablation.name} seed {seed} epoch {record['epoch']}"),
    )
    _, shape = NETWORKS[network]
    largest = max(float(weight.detach().abs().max()) for weight in binary_weights(model))
    return {"seed": seed, **fit.to_dict(), "largest_latent_weight": largest,
            "costs": hardware_costs(model, shape, name=f"{network}-{ablation.name}")}


def _cost_cells(costs: dict[str, Any]) -> list[str]:
    fpga = costs[FPGA_TARGET]
    lut = "n/a" if "error" in fpga else f"{fpga['lut']:,}{'' if fpga['fits'] else ' (does not fit)'}"
    return [
        f"{costs['model_bytes'] / 1024:.0f}",
        f"{1000 * costs[CPU_TARGET]['latency_ms']:.0f}",
        f"{costs[CPU_TARGET]['energy_uj']:.1f}",
        lut,
    ]


def _ratio(new: float, old: float) -> str:
    return f"×{new / old:.2f}" if old else "n/a"


def _findings(results: dict[str, Any]) -> list[str]:
    lines = []
    for network, block in results["networks"].items():
        runs = block["ablations"]
        base = runs["baseline"]
        spread = abs(base["test_accuracy"] - block["baseline_repeat"]["test_accuracy"])
        lines.append(
            f"{network}: baseline {percent(base['test_accuracy'])} (seed {base['seed']}) and "
            f"{percent(block['baseline_repeat']['test_accuracy'])} (seed {block['baseline_repeat']['seed']}): "
            f"differences within about {spread:.2f} points are seed noise at this budget."
        )
        for name, run in runs.items():
            if name == "baseline":
                continue
            delta = run["test_accuracy"] - base["test_accuracy"]
            costs, base_costs = run["costs"], base["costs"]
            fpga, base_fpga = costs[FPGA_TARGET], base_costs[FPGA_TARGET]
            lut = ("LUTs n/a" if "error" in fpga or "error" in base_fpga
                   else f"LUTs {_ratio(fpga['lut'], base_fpga['lut'])}")
            latent = (f" Largest latent |w| after training: {run['largest_latent_weight']:.2f} "
                      f"(baseline {base['largest_latent_weight']:.2f}); clipping at 1 "
                      + ("never acted." if run["largest_latent_weight"] <= 1.0 else "would have acted.")
                      if name == "no-clip" else "")
            lines.append(
                f"{network} {name} ({run['change']}): {percent(run['test_accuracy'])}, {signed(delta)}"
                f"{' (within seed noise)' if abs(delta) <= spread else ''}; size "
                f"{_ratio(costs['model_bytes'], base_costs['model_bytes'])}, {CPU_TARGET} latency "
                f"{_ratio(costs[CPU_TARGET]['latency_ms'], base_costs[CPU_TARGET]['latency_ms'])}, {FPGA_TARGET} {lut}."
                + latent
            )
    return lines


def _cost_figure(results: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    networks = list(results["networks"])
    fig, axes = plt.subplots(len(networks), 2, figsize=(12, 4.2 * len(networks)), squeeze=False)
    for row, network in enumerate(networks):
        runs = results["networks"][network]["ablations"]
        for col, (key, label) in enumerate(((CPU_TARGET, f"{CPU_TARGET} latency (µs)"),
                                            (FPGA_TARGET, f"{FPGA_TARGET} LUTs at {FPGA_FPS:.0f} fps"))):
            ax = axes[row][col]
            points: dict[tuple[float, float], list[str]] = {}
            for name, run in runs.items():
                cost = run["costs"][key]
                if "error" not in cost:
                    x = 1000 * cost["latency_ms"] if key == CPU_TARGET else cost["lut"]
                    points.setdefault((x, run["test_accuracy"]), []).append(name)
            for (x, y), labels in points.items():
                ax.scatter(x, y, color="black" if "baseline" in labels else "tab:blue")
                ax.annotate(", ".join(labels), (x, y), fontsize=8, xytext=(4, 3), textcoords="offset points")
            ax.set_xlabel(label)
            ax.set_ylabel("test accuracy (%)")
            ax.set_title(f"{network}: accuracy against cost", fontsize=10)
            ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def run_larq_guide(splits: Splits, out_dir: str | os.PathLike[str], settings: Settings, *, command: str) -> dict[str, Any]:
    """Run the study on ``splits``; write results.json, README.md and figures to ``out_dir``; return the results."""
    clock = Stopwatch()
    use_one_thread()
    shared = splits.subset(None, settings.val_subset, settings.test_subset)
    results = study_results(
        study="larq-guide",
        title="larq's BNN practices, one at a time, with their hardware cost",
        question="How much accuracy does each practice of larq's guide buy (higher-precision first and last layers, "
        "batch norm placement around pooling, high-precision shortcuts, latent weight clipping, Bop instead of "
        "Adam), and what does it cost in memory, CPU latency and FPGA LUTs?",
        setup=[
            f"mnist-bnn trained on the first {settings.mnist_bnn_train_subset or 'all'} training images for "
            f"{settings.mnist_bnn_epochs} epochs; FINN cnv (MNIST padded to 32x32 with background) on the first "
            f"{settings.cnv_train_subset or 'all'} for {settings.cnv_epochs} epochs: far shorter than the reference "
            "trainings, to fit 20 minutes on 2 cores.",
            f"Adam, batch 100, learning rate {settings.lr:g} decayed exponentially to {settings.lr_final:g}; Bop with "
            "larq's defaults (gamma 1e-4, threshold 1e-8) and Adam for the real-valued parameters. Model selection "
            f"on {shared.sizes()['validation']} validation images; test on {shared.sizes()['test']} test images.",
            "One change per run against the baseline; the baseline is trained twice (two seeds) to show the noise.",
            f"Costs from hw_models on the traced model: size, {CPU_TARGET} latency and energy (1 thread), "
            f"{FPGA_TARGET} LUTs for the cheapest FINN folding reaching {FPGA_FPS:.0f} frames/s.",
        ],
        published=[
            {"what": "guide's recommendations", "value": "qualitative (no figures for these networks)",
             "source": "larq user guide, Building BNNs"},
            {"what": "Bi-Real Net ResNet-18, ImageNet top-1 (shortcuts around every binary convolution)",
             "value": "56.4% (XNOR-Net ResNet-18: 51.2%)", "source": "Liu et al. 2018"},
        ],
        settings=asdict(settings),
        splits=shared,
        command=command,
    )
    total = sum(
        settings.budget(network)[1] * (len(ablations) + 1) for network, ablations in ABLATIONS.items()
    )
    progress = Progress(total, "larq-guide")
    networks: dict[str, Any] = {}
    for network, ablations in ABLATIONS.items():
        train_subset, _ = settings.budget(network)
        data = TensorSplits.from_splits(
            shared.subset(train_subset), pad_to=NETWORKS[network][1][-1] if network == "cnv" else None
        )
        runs = {a.name: {"change": a.change, **_train(network, a, data, settings, settings.seed, progress)}
                for a in ablations}
        repeat = _train(network, ablations[0], data, settings, settings.baseline_extra_seed, progress)
        networks[network] = {"train_images": len(data.train_y), "ablations": runs, "baseline_repeat": repeat}
    results["networks"] = networks
    results["findings"] = _findings(results)
    with StagedOutput(out_dir) as output:
        figures = [{"file": _cost_figure(results, output.path("accuracy_vs_cost.png")),
                    "caption": "Test accuracy of each ablation against its rpi4b latency and pynq-z1 LUTs"}]
        for network, block in networks.items():
            curves = output.path(f"curves_{network}.png")
            plot_training_curves({name: run for name, run in block["ablations"].items()}, curves)
            figures.append({"file": curves.name, "caption": f"{network}: training curves of the ablations"})
        results["figures"] = figures
        results["wall_time_s"] = clock.seconds()
        results["environment"] = environment()
        write_outputs(output, results, markdown(results))
    return results


def markdown(results: dict[str, Any]) -> str:
    """The study's report section, rendered from its results."""
    body = []
    for network, block in results["networks"].items():
        runs = block["ablations"]
        base = runs["baseline"]["test_accuracy"]
        rows = [
            [name, run["change"], percent(run["test_accuracy"]),
             "" if name == "baseline" else signed(run["test_accuracy"] - base, ""),
             f"{run['best_val_accuracy']:.2f}", f"{run['largest_latent_weight']:.2f}", *_cost_cells(run["costs"]),
             f"{run['seconds']:.0f}"]
            for name, run in runs.items()
        ]
        repeat = block["baseline_repeat"]
        rows.append([f"baseline, seed {repeat['seed']}", "same as baseline", percent(repeat["test_accuracy"]),
                     signed(repeat["test_accuracy"] - base, ""), f"{repeat['best_val_accuracy']:.2f}",
                     f"{repeat['largest_latent_weight']:.2f}", *_cost_cells(repeat["costs"]), f"{repeat['seconds']:.0f}"])
        errors = {run["costs"][FPGA_TARGET]["error"] for run in runs.values() if "error" in run["costs"][FPGA_TARGET]}
        body.append(f"**{network}** ({block['train_images']} training images):")
        body.append(md_table(
            ["ablation", "change", "test acc", "Δ (points)", "val acc", "max latent \\|w\\|", "size (KiB)",
             f"{CPU_TARGET} latency (µs)",
             f"{CPU_TARGET} energy (µJ)", f"{FPGA_TARGET} LUTs @ {FPGA_FPS:.0f} fps", "train time (s)"],
            rows,
        ))
        if errors:
            body.append("FPGA estimates not available: " + "; ".join(sorted(errors)))
    return render_markdown(results, body)
