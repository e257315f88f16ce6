"""Study ``binary-bottleneck``: a convolutional autoencoder whose code is one bit per unit.

The encoder (four convolutions) maps a 28x28 MNIST digit to ``C`` channels of
7x7; the ``binary_tanh`` quantizer (:class:`bnnbench.nn.BinaryTanh`: hardtanh,
then a 0/1 threshold, straight-through gradient) turns each of those ``49 C``
units into one bit; the decoder (four transposed convolutions) reconstructs
the digit from the bits. The code therefore costs ``49 C / 784 = C / 16`` bits
per pixel, a compression ratio of ``128 / C`` against the 8-bit input.

The float bottleneck of the same size replaces the threshold by the identity
(``(hardtanh(x) + 1) / 2``, a real number in [0, 1] per unit, stored as 32
bits): the same network, same number of units, 32 times the bits. Two naive
codecs give context at comparable rates: the digit thresholded at mid-grey (1
bit per pixel) and the digit averaged over 4x4 blocks and kept at 8 bits (0.5
bits per pixel), upsampled by repetition.

PSNR is measured on pixels in [0, 1], per test image (``10 log10(1 / MSE)``,
capped at 60 dB for a perfect image) and averaged. Issue 7 quotes no published
figure for this experiment; the comparison is with the float bottleneck and
the naive codecs. Training: Adam on the mean squared error of images in
[-1, 1], the epoch with the lowest validation error kept, the test set
evaluated once per model.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bnnbench.nn.layers import FixedAffine, QActivation
from bnnbench.progress import Progress
from bnnbench.studies.common import (
    Splits,
    StagedOutput,
    Stopwatch,
    environment,
    md_table,
    pyplot,
    render_markdown,
    save_figure,
    study_results,
    write_outputs,
)
from bnnbench.studies.torch_support import TensorSplits, use_one_thread

__all__ = ["Settings", "BottleneckAutoencoder", "psnr_per_image", "run_binary_bottleneck", "markdown"]

#: PSNR of a perfect reconstruction is infinite; it is reported as this many dB.
PSNR_CAP_DB = 60.0
CODE_SIZE = 7  # the code is C x 7 x 7


class BottleneckAutoencoder(nn.Module):
    """Four conv encoder layers, a ``C x 7 x 7`` bottleneck (binary or float), four transposed-conv decoder layers."""

    def __init__(self, code_channels: int, *, binary: bool, width: int = 32) -> None:
        super().__init__()
        half = width // 2

        def block(layer: nn.Module, channels: int) -> list[nn.Module]:
            return [layer, nn.BatchNorm2d(channels), nn.ReLU()]

        self.encoder = nn.Sequential(
            *block(nn.Conv2d(1, half, 3, stride=2, padding=1), half),  # 14x14
            *block(nn.Conv2d(half, width, 3, stride=2, padding=1), width),  # 7x7
            *block(nn.Conv2d(width, width, 3, padding=1), width),
            nn.Conv2d(width, code_channels, 3, padding=1),
            nn.BatchNorm2d(code_channels),
        )
        self.code: nn.Module = (
            QActivation("binary_tanh") if binary else nn.Sequential(nn.Hardtanh(), FixedAffine(0.5, 0.5))
        )
        self.decoder = nn.Sequential(
            *block(nn.ConvTranspose2d(code_channels, width, 3, padding=1), width),
            *block(nn.ConvTranspose2d(width, width, 3, padding=1), width),
            *block(nn.ConvTranspose2d(width, half, 4, stride=2, padding=1), half),  # 14x14
            nn.ConvTranspose2d(half, 1, 4, stride=2, padding=1),  # 28x28
            nn.Tanh(),
        )
        self.code_channels = code_channels
        self.binary = binary

    def encode(self, x: Tensor) -> Tensor:
        """The bottleneck: bits in {0, 1} (binary) or reals in [0, 1] (float)."""
        return self.code(self.encoder(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encode(x))

    def code_bits(self) -> int:
        """Bits of one image's code."""
        return self.code_channels * CODE_SIZE * CODE_SIZE * (1 if self.binary else 32)


def psnr_per_image(original: Tensor, reconstruction: Tensor) -> Tensor:
    """PSNR in dB of each image, on pixels mapped from [-1, 1] to [0, 1], capped at :data:`PSNR_CAP_DB`."""
    mse = (((original - reconstruction) / 2.0) ** 2).flatten(1).mean(dim=1)
    floor = 10.0 ** (-PSNR_CAP_DB / 10.0)
    return 10.0 * torch.log10(1.0 / mse.clamp_min(floor))


@dataclass(frozen=True)
class Settings:
    """Budget of the study (defaults: the full study)."""

    code_channels: tuple[int, ...] = (4, 8, 16)
    epochs: int = 4
    train_subset: int | None = 30000
    val_subset: int | None = 2000
    test_subset: int | None = None
    lr: float = 2e-3
    lr_final: float = 2e-4
    batch_size: int = 100
    seed: int = 0
    smoke: bool = False

    @classmethod
    def smoke_run(cls) -> Settings:
        return cls(code_channels=(2, 4), epochs=1, train_subset=200, val_subset=50, test_subset=50, smoke=True)


@torch.inference_mode()
def _evaluate(model: BottleneckAutoencoder, images: Tensor, batch: int = 500) -> dict[str, float]:
    """Mean squared error (images in [-1, 1]), mean PSNR, and the code's bit statistics."""
    model.eval()
    errors, psnrs, codes = [], [], []
    for start in range(0, len(images), batch):
        x = images[start : start + batch]
        code = model.encode(x)
        y = model.decoder(code)
        errors.append(((x - y) ** 2).flatten(1).mean(dim=1))
        psnrs.append(psnr_per_image(x, y))
        codes.append(code.flatten(1))
    all_codes = torch.cat(codes)
    result = {"mse": float(torch.cat(errors).mean()), "psnr_db": float(torch.cat(psnrs).mean())}
    if model.binary:
        p = all_codes.mean(dim=0).clamp(1e-6, 1 - 1e-6)
        entropy = -(p * torch.log2(p) + (1 - p) * torch.log2(1 - p))
        result["ones_fraction"] = float(all_codes.mean())
        result["bit_entropy_mean"] = float(entropy.mean())
    return result


def _train(model: BottleneckAutoencoder, data: TensorSplits, settings: Settings, progress: Progress, label: str) -> dict[str, Any]:
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    generator = torch.Generator().manual_seed(settings.seed)
    best_state, best_val, best_epoch = None, math.inf, 0
    records = []
    n = len(data.train_x)
    for epoch in range(settings.epochs):
        lr = settings.lr * (settings.lr_final / settings.lr) ** (epoch / max(settings.epochs - 1, 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        order = torch.randperm(n, generator=generator)
        loss_sum, seen = 0.0, 0
        for start in range(0, n, settings.batch_size):
            index = order[start : start + settings.batch_size]
            if len(index) < 2:
                continue
            x = data.train_x[index]
            loss = F.mse_loss(model(x), x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(index)
            seen += len(index)
        val = _evaluate(model, data.val_x)
        records.append({"epoch": epoch + 1, "lr": lr, "train_mse": loss_sum / seen, "val_mse": val["mse"],
                        "val_psnr_db": val["psnr_db"]})
        if val["mse"] < best_val:
            best_val, best_epoch, best_state = val["mse"], epoch + 1, copy.deepcopy(model.state_dict())
        progress.step(f"{label} epoch {epoch + 1}")
    assert best_state is not None
    model.load_state_dict(best_state)
    return {"epochs": records, "best_epoch": best_epoch, "test": _evaluate(model, data.test_x)}


def _naive_codecs(images: np.ndarray) -> dict[str, dict[str, float]]:
    """PSNR of two naive codecs on uint8 images: 1-bit threshold (1 bpp) and 4x4 block means at 8 bits (0.5 bpp)."""
    x = images.astype(np.float64) / 255.0
    thresholded = (images >= 128).astype(np.float64)
    blocks = images.reshape(len(images), 7, 4, 7, 4).astype(np.float64).mean(axis=(2, 4))
    upsampled = np.repeat(np.repeat(np.round(blocks), 4, axis=1), 4, axis=2) / 255.0

    def psnr(y: np.ndarray) -> float:
        mse = ((x - y) ** 2).reshape(len(x), -1).mean(axis=1)
        return float(np.mean(10.0 * np.log10(1.0 / np.maximum(mse, 10.0 ** (-PSNR_CAP_DB / 10.0)))))

    return {
        "threshold_1bit": {"bits_per_pixel": 1.0, "psnr_db": psnr(thresholded)},
        "block4x4_8bit": {"bits_per_pixel": 8.0 * 49 / 784, "psnr_db": psnr(upsampled)},
    }


def _reconstruction_figure(models: dict[str, BottleneckAutoencoder], images: Tensor, path: Path) -> str:
    plt = pyplot()
    rows = [("original", images)]
    with torch.inference_mode():
        for label, model in models.items():
            model.eval()
            rows.append((label, model(images)))
    fig, axes = plt.subplots(len(rows), len(images), figsize=(1.0 * len(images) + 1.0, 1.05 * len(rows)), squeeze=False)
    for r, (label, batch) in enumerate(rows):
        for c in range(len(images)):
            ax = axes[r][c]
            ax.imshow(batch[c, 0].numpy(), cmap="gray", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle("test digits and their reconstructions", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def _rate_distortion_figure(results: dict[str, Any], path: Path) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, marker in (("binary", "o"), ("float", "s")):
        points = [(r["bits_per_pixel"], r["test"]["psnr_db"], r["code_channels"])
                  for r in results["runs"] if r["bottleneck"] == kind]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=f"{kind} bottleneck")
        for bpp, psnr, channels in points:
            ax.annotate(f"C={channels}", (bpp, psnr), fontsize=7, xytext=(3, 3), textcoords="offset points")
    for name, codec in results["naive_codecs"].items():
        ax.scatter(codec["bits_per_pixel"], codec["psnr_db"], marker="x", color="black")
        ax.annotate(name, (codec["bits_per_pixel"], codec["psnr_db"]), fontsize=7, xytext=(3, -9), textcoords="offset points")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bits per pixel of the code (float: 32 bits per unit)")
    ax.set_ylabel("mean PSNR on the test set (dB)")
    ax.set_title("rate and distortion", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def run_binary_bottleneck(splits: Splits, out_dir: str | os.PathLike[str], settings: Settings, *, command: str) -> dict[str, Any]:
    """Run the study on ``splits``; write results.json, README.md and figures to ``out_dir``; return the results."""
    clock = Stopwatch()
    use_one_thread()
    splits = splits.subset(settings.train_subset, settings.val_subset, settings.test_subset)
    data = TensorSplits.from_splits(splits)
    results = study_results(
        study="binary-bottleneck",
        title="a binary_tanh bottleneck: bits per pixel, compression, PSNR",
        question="How well can a convolutional autoencoder reconstruct MNIST digits through a code of one bit per "
        "unit, against a float code of the same size, and what compression does that give?",
        setup=[
            "Encoder: conv 3x3 stride 2 (16), conv 3x3 stride 2 (32), conv 3x3 (32), conv 3x3 (C), each with batch "
            "norm (ReLU between); bottleneck C x 7 x 7; decoder: transposed convs 3x3 (32), 3x3 (32), 4x4 stride 2 "
            "(16), 4x4 stride 2 (1), tanh.",
            f"C in {', '.join(str(c) for c in settings.code_channels)}: {', '.join(f'{c / 16:g}' for c in settings.code_channels)} "
            "bits per pixel for the binary code.",
            f"Adam, batch {settings.batch_size}, learning rate {settings.lr:g} -> {settings.lr_final:g} over "
            f"{settings.epochs} epochs on the first {settings.train_subset or 'all'} training images (to fit 20 minutes "
            "on 2 cores); best validation epoch kept.",
            "PSNR per test image on pixels in [0, 1], averaged; naive codecs for context.",
        ],
        published=[
            {"what": "binary bottleneck autoencoder on MNIST", "value": "none quoted in issue 7",
             "source": "compared with the float bottleneck of the same size and naive codecs instead"},
        ],
        settings=asdict(settings),
        splits=splits,
        command=command,
    )
    progress = Progress(2 * len(settings.code_channels) * settings.epochs, "binary-bottleneck")
    runs: list[dict[str, Any]] = []
    trained: dict[str, BottleneckAutoencoder] = {}
    for channels in settings.code_channels:
        for binary in (True, False):
            torch.manual_seed(settings.seed)
            model = BottleneckAutoencoder(channels, binary=binary)
            kind = "binary" if binary else "float"
            outcome = _train(model, data, settings, progress, f"{kind} C={channels}")
            bits = model.code_bits()
            runs.append({
                "bottleneck": kind, "code_channels": channels, "code_units": channels * CODE_SIZE * CODE_SIZE,
                "code_bits": bits, "bits_per_pixel": bits / 784, "compression_vs_8bit": 784 * 8 / bits, **outcome,
            })
            trained[f"{kind} C={channels}"] = model
    results["runs"] = runs
    results["naive_codecs"] = _naive_codecs(splits.test_images)
    results["findings"] = _findings(results)
    with StagedOutput(out_dir) as output:
        results["figures"] = [
            {"file": _reconstruction_figure(trained, data.test_x[:10], output.path("reconstructions.png")),
             "caption": "The first ten test digits and their reconstructions through each bottleneck"},
            {"file": _rate_distortion_figure(results, output.path("rate_distortion.png")),
             "caption": "Mean test PSNR against bits per pixel of the code, with two naive codecs"},
        ]
        results["wall_time_s"] = clock.seconds()
        results["environment"] = environment()
        write_outputs(output, results, markdown(results))
    return results


def _findings(results: dict[str, Any]) -> list[str]:
    by = {(r["bottleneck"], r["code_channels"]): r for r in results["runs"]}
    lines = []
    for channels in sorted({r["code_channels"] for r in results["runs"]}):
        b, f = by[("binary", channels)], by[("float", channels)]
        lines.append(
            f"C={channels}: the binary code ({b['bits_per_pixel']:g} bits/pixel, {b['compression_vs_8bit']:.0f}x "
            f"smaller than the 8-bit image) reconstructs at {b['test']['psnr_db']:.2f} dB, the float code of the same "
            f"size (32-bit units, compression {f['compression_vs_8bit']:.2f}x) at {f['test']['psnr_db']:.2f} dB: "
            f"{b['test']['psnr_db'] - f['test']['psnr_db']:+.2f} dB for {f['code_bits'] // b['code_bits']}x fewer bits. "
            f"Its bits are 1 for {100 * b['test']['ones_fraction']:.0f}% of units, mean per-unit entropy "
            f"{b['test']['bit_entropy_mean']:.2f} bit."
        )
    codecs = results["naive_codecs"]
    lines.append(
        f"Naive codecs: thresholding the digit (1 bit/pixel) gives {codecs['threshold_1bit']['psnr_db']:.2f} dB, "
        f"4x4 block means at 8 bits (0.5 bit/pixel) {codecs['block4x4_8bit']['psnr_db']:.2f} dB."
    )
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The study's report section, rendered from its results."""
    rows = [
        [r["bottleneck"], r["code_channels"], r["code_units"], r["code_bits"], f"{r['bits_per_pixel']:g}",
         f"{r['compression_vs_8bit']:.2f}x", f"{r['test']['psnr_db']:.2f}", f"{r['test']['mse']:.4f}",
         f"{r['test']['bit_entropy_mean']:.2f}" if r["bottleneck"] == "binary" else "", r["best_epoch"]]
        for r in results["runs"]
    ]
    rows += [[name, "", "", "", f"{c['bits_per_pixel']:g}", f"{8 / c['bits_per_pixel']:.0f}x", f"{c['psnr_db']:.2f}",
              "", "", ""] for name, c in results["naive_codecs"].items()]
    body = [md_table(["bottleneck", "C", "units", "bits/image", "bits/pixel", "compression vs 8-bit", "test PSNR (dB)",
                      "test MSE ([-1,1])", "bit entropy", "epoch"], rows)]
    return render_markdown(results, body)
