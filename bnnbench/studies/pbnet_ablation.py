"""Study ``pbnet-ablation``: what PBNet's stochastic batch norm and max pooling are worth, and its ensembles.

PBNet (Peters & Welling 2018, "Probabilistic Binary Neural Networks", arXiv
1809.03368; :mod:`bnnbench.nn.pbnet`) trains a distribution over binary
weights by propagating Gaussian pre-activations. Two of its parts are ablated,
one at a time, on the mnist-bnn topology (``pbnet`` in the model registry):

* ``no-batch-norm``: the stochastic batch-norm layers removed (identity); the
  binary activation then thresholds the raw pre-activation at 0
  (``q = Phi(mu / sigma)``).
* ``mean-pooling``: stochastic max pooling replaced by pooling of the
  Gaussians' moments, :class:`GaussianAvgPool2d`: the average of ``k x k``
  independent Gaussians has mean ``avg(mu)`` and variance ``avg(sigma^2) /
  k^2``. Its deterministic network uses 2x2 average pooling.

A reproduction of PBNet reports that training collapses without batch norm and
that about one point is lost without max pooling. Each variant is evaluated as
the PBNet itself (means propagated) and as PBNet-map (the mode of every
weight); the full PBNet also as PBNet-X ensembles of X = 1..16 sampled binary
networks (softmax outputs averaged). Every deterministic network gets its
batch-norm statistics re-estimated on training images
(:func:`bnnbench.training.evaluation.reestimate_batchnorm`), as in
:mod:`bnnbench.training.evaluation`; that module's :func:`evaluate_pbnet`
cannot change the derived network's pooling or batch norm, so the readings
are computed here with the same steps.

Shorter training than the reference PBNet run (a subset of the training
images, three epochs) to fit the study in 20 minutes on a 2-core machine.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bnnbench import models
from bnnbench.models.pbnet import PBNet, binarize
from bnnbench.nn.pbnet import Gaussian
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
from bnnbench.studies.torch_support import EVAL_BATCH, FitSettings, TensorSplits, fit_classifier, use_one_thread
from bnnbench.training.evaluation import accuracy_percent, evaluate_classifier, predict_probabilities, reestimate_batchnorm
from bnnbench.training.plots import plot_training_curves

__all__ = ["Settings", "Variant", "VARIANTS", "GaussianAvgPool2d", "build", "derived_network",
           "run_pbnet_ablation", "markdown"]

BATCH_NORMS = ("bn1", "bn2", "bn3")
POOLS = ("pool1", "pool2")
CHANCE = 10.0


class GaussianAvgPool2d(nn.Module):
    """Average pooling of independent Gaussians: mean ``avg(mu)``, variance ``avg(sigma^2) / k^2``."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x: Tensor | Gaussian) -> Gaussian:
        g = x if isinstance(x, Gaussian) else Gaussian(x, None)
        k = self.kernel_size
        mean = F.avg_pool2d(g.mean, k)
        var = None if g.var is None else F.avg_pool2d(g.var, k) / (k * k)
        return Gaussian(mean, var)


@dataclass(frozen=True)
class Variant:
    """A PBNet with or without batch norm, with stochastic max or mean pooling."""

    name: str
    change: str
    batch_norm: bool = True
    pooling: str = "max"


VARIANTS: tuple[Variant, ...] = (
    Variant("pbnet", "as in the paper: stochastic batch norm, stochastic max pooling"),
    Variant("no-batch-norm", "stochastic batch norm removed", batch_norm=False),
    Variant("mean-pooling", "mean/variance pooling instead of stochastic max pooling", pooling="mean"),
)


def build(variant: Variant) -> PBNet:
    """A fresh PBNet (mean propagation) of ``variant``."""
    model = models.create("pbnet")
    assert isinstance(model, PBNet)
    _adapt(model, variant, pool=lambda: GaussianAvgPool2d(2))
    return model


def _adapt(network: nn.Module, variant: Variant, *, pool: Any) -> None:
    if not variant.batch_norm:
        for name in BATCH_NORMS:
            setattr(network, name, nn.Identity())
    if variant.pooling == "mean":
        for name in POOLS:
            setattr(network, name, pool())


def derived_network(pbnet: PBNet, variant: Variant, reading: str, bn_images: Tensor, *,
                    generator: torch.Generator | None = None) -> nn.Module:
    """The deterministic binary network of one reading (``"map"`` or ``"sample"``), batch norm re-estimated."""
    network = binarize(pbnet, reading, generator=generator)
    _adapt(network, variant, pool=lambda: nn.AvgPool2d(2))
    return reestimate_batchnorm(network, bn_images)


@dataclass(frozen=True)
class Settings:
    """Budget of the study (defaults: the full study)."""

    epochs: int = 3
    train_subset: int | None = 40000
    val_subset: int | None = 2000
    test_subset: int | None = None
    lr: float = 1e-2
    lr_final: float = 1e-3
    bn_images: int = 2000
    ensemble_size: int = 16
    seed: int = 0
    smoke: bool = False

    @classmethod
    def smoke_run(cls) -> Settings:
        return cls(epochs=1, train_subset=200, val_subset=50, test_subset=100, bn_images=100, ensemble_size=3,
                   smoke=True)


def _ensemble(pbnet: PBNet, variant: Variant, data: TensorSplits, settings: Settings,
              progress: Progress) -> dict[str, Any]:
    """PBNet-X for X = 1..ensemble_size: accuracy of the averaged softmax of the first X sampled networks."""
    generator = torch.Generator().manual_seed(settings.seed)
    bn_images = data.train_x[: settings.bn_images]
    total = torch.zeros(len(data.test_y), 10)
    singles, curve = [], []
    for _ in range(settings.ensemble_size):
        network = derived_network(pbnet, variant, "sample", bn_images, generator=generator)
        probabilities = predict_probabilities(network, data.test_x, batch_size=EVAL_BATCH)
        singles.append(accuracy_percent(probabilities, data.test_y))
        total += probabilities
        curve.append(accuracy_percent(total, data.test_y))
        progress.step(f"ensemble member {len(curve)}")
    return {"accuracy_by_size": curve, "single_networks": singles}


def _findings(results: dict[str, Any]) -> list[str]:
    runs = results["variants"]
    base = runs["pbnet"]
    curve = base["ensemble"]["accuracy_by_size"]
    lines = [
        f"PBNet: {percent(base['test_accuracy'])} as a PBNet (means propagated), {percent(base['map_accuracy'])} as "
        f"PBNet-map (paper: 98.64-99.13% for the binarized PBNet); PBNet-{len(curve)} ensemble {percent(curve[-1])}, "
        f"single sampled networks {percent(min(base['ensemble']['single_networks']))}-"
        f"{percent(max(base['ensemble']['single_networks']))}.",
    ]
    for name, run in runs.items():
        if name == "pbnet":
            continue
        delta_model = run["test_accuracy"] - base["test_accuracy"]
        delta_map = run["map_accuracy"] - base["map_accuracy"]
        collapsed = max(run["test_accuracy"], run["map_accuracy"]) < 2 * CHANCE
        lines.append(
            f"{name} ({run['change']}): {percent(run['test_accuracy'])} as a PBNet ({signed(delta_model)}), "
            f"{percent(run['map_accuracy'])} as PBNet-map ({signed(delta_map)})"
            + (f": training collapsed (chance is {CHANCE:.0f}%)." if collapsed else ".")
        )
    sizes = [s for s in (1, 2, 4, 8, 16) if s <= len(curve)]
    lines.append(
        "Ensemble size against accuracy: "
        + ", ".join(f"PBNet-{s} {percent(curve[s - 1])}" for s in sizes)
        + f"; {signed(curve[-1] - curve[0])} from 1 to {len(curve)} networks, "
        f"{signed(curve[-1] - base['map_accuracy'])} against PBNet-map."
    )
    return lines


def _ensemble_figure(results: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    run = results["variants"]["pbnet"]
    curve = run["ensemble"]["accuracy_by_size"]
    sizes = list(range(1, len(curve) + 1))
    ax.plot(sizes, curve, marker="o", label="PBNet-X ensemble")
    ax.scatter(sizes, run["ensemble"]["single_networks"], marker=".", color="gray", label="each sampled network")
    for name, other in results["variants"].items():
        ax.axhline(other["map_accuracy"], linestyle="--", linewidth=0.8,
                   color={"pbnet": "tab:blue", "no-batch-norm": "tab:red", "mean-pooling": "tab:green"}[name],
                   label=f"{name}: PBNet-map")
    ax.set_xlabel("ensemble size X")
    ax.set_ylabel("test accuracy (%)")
    maps = [other["map_accuracy"] for other in results["variants"].values()]
    ax.set_ylim(max(min(curve + run["ensemble"]["single_networks"] + maps) - 1.0, 0.0), 100.0)
    ax.set_title("accuracy against ensemble size", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def run_pbnet_ablation(splits: Splits, out_dir: str | os.PathLike[str], settings: Settings, *, command: str) -> dict[str, Any]:
    """Run the study on ``splits``; write results.json, README.md and figures to ``out_dir``; return the results."""
    clock = Stopwatch()
    use_one_thread()
    splits = splits.subset(settings.train_subset, settings.val_subset, settings.test_subset)
    data = TensorSplits.from_splits(splits)
    results = study_results(
        study="pbnet-ablation",
        title="PBNet without batch norm, with mean pooling, and its ensembles",
        question="Does PBNet need its stochastic batch norm and stochastic max pooling, and how does its accuracy grow "
        "with the number of sampled binary networks in an ensemble?",
        setup=[
            "pbnet on the mnist-bnn topology (32C3-MP2-64C3-MP2-512FC-10, real last layer), mean propagation; "
            "one change per variant.",
            f"Adam, batch 100, learning rate {settings.lr:g} -> {settings.lr_final:g} over {settings.epochs} epochs on "
            f"the first {settings.train_subset or 'all'} training images (less than the reference run in "
            "reports/reference/accuracy); "
            "theta clipped to [-0.9, 0.9]; best validation epoch kept.",
            f"Readings on the {len(data.test_y)} test images: the PBNet itself, PBNet-map, PBNet-X for X = "
            f"1..{settings.ensemble_size} (full PBNet only); batch norm of each deterministic network re-estimated on "
            f"{settings.bn_images} training images.",
        ],
        published=[
            {"what": "PBNet-map (binarized PBNet), MNIST", "value": "98.64-99.13%", "source": "Peters & Welling 2018"},
            {"what": "PBNet-S, ensemble of 16", "value": "99.30%", "source": "Peters & Welling 2018"},
            {"what": "PBNet without batch norm", "value": "training collapses", "source": "a reproduction (issue 7)"},
            {"what": "PBNet without max pooling", "value": "about 1 point lost", "source": "a reproduction (issue 7)"},
        ],
        settings=asdict(settings),
        splits=splits,
        command=command,
    )
    progress = Progress(len(VARIANTS) * settings.epochs + settings.ensemble_size, "pbnet-ablation")
    bn_images = data.train_x[: settings.bn_images]
    variants: dict[str, Any] = {}
    for variant in VARIANTS:
        torch.manual_seed(settings.seed)
        model = build(variant)

        def on_epoch(record: dict[str, float], name: str = variant.name) -> None:
            progress.step(f"{name} epoch {record['epoch']}")

        fit = fit_classifier(
            model, data, FitSettings(settings.epochs, settings.lr, settings.lr_final, seed=settings.seed),
            on_epoch=on_epoch,
        )
        network = derived_network(model, variant, "map", bn_images)
        run = {"change": variant.change, **fit.to_dict(),
               "map_accuracy": evaluate_classifier(network, data.test_x, data.test_y, batch_size=EVAL_BATCH)[1]}
        if variant.name == "pbnet":
            run["ensemble"] = _ensemble(model, variant, data, settings, progress)
        variants[variant.name] = run
    results["variants"] = variants
    results["findings"] = _findings(results)
    with StagedOutput(out_dir) as output:
        curves = output.path("curves.png")
        plot_training_curves(variants, curves)
        results["figures"] = [
            {"file": _ensemble_figure(results, output.path("ensemble.png")),
             "caption": "PBNet-X accuracy against ensemble size, each sampled network, and each variant's PBNet-map"},
            {"file": curves.name, "caption": "Training curves of the three variants (validation: the PBNet itself)"},
        ]
        results["wall_time_s"] = clock.seconds()
        results["environment"] = environment()
        write_outputs(output, results, markdown(results))
    return results


def markdown(results: dict[str, Any]) -> str:
    """The study's report section, rendered from its results."""
    runs = results["variants"]
    rows = [[name, run["change"], percent(run["test_accuracy"]), percent(run["map_accuracy"]),
             percent(run["ensemble"]["accuracy_by_size"][-1]) if "ensemble" in run else "",
             f"{run['best_val_accuracy']:.2f}", run["best_epoch"], f"{run['seconds']:.0f}"]
            for name, run in runs.items()]
    curve = runs["pbnet"]["ensemble"]["accuracy_by_size"]
    singles = runs["pbnet"]["ensemble"]["single_networks"]
    ensemble_rows = [[size, percent(acc), percent(single)] for size, (acc, single) in enumerate(zip(curve, singles, strict=True), 1)]
    body = [
        md_table(["variant", "change", "PBNet (means)", "PBNet-map", f"PBNet-{len(curve)}", "val acc", "epoch",
                  "train time (s)"], rows),
        "**Ensemble size** (full PBNet):",
        md_table(["X", "PBNet-X accuracy", "X-th sampled network alone"], ensemble_rows),
    ]
    return render_markdown(results, body)
