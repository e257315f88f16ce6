"""Record a layer's kernels during training and render them over time.

This plays the role of bitorch's ``WeightGraphicalDebug``: watching chosen
kernels of a binary convolution (their latent weights, or the binary values the
forward pass uses) shows when training stops flipping signs. The recorder is a
forward pre-hook, so it needs no change to the training loop: it snapshots the
chosen kernels every ``every`` training forward passes (and never in eval
mode), and :meth:`KernelRecorder.render` draws one row per snapshot.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from bnnbench.files import atomic_path
from bnnbench.nn.layers import QConv2d

__all__ = ["KernelRecorder"]


class KernelRecorder:
    """Snapshots of chosen ``(out_channel, in_channel)`` kernels of a conv layer.

    ``quantized=True`` records what the forward pass uses (``weight_quantizer``
    applied, e.g. ±1), ``False`` the latent real-valued weights. Use as a
    context manager or call :meth:`remove` to detach the hook.
    """

    def __init__(
        self,
        layer: nn.Conv2d,
        kernels: Sequence[tuple[int, int]],
        *,
        every: int = 1,
        quantized: bool = True,
    ) -> None:
        if not isinstance(layer, nn.Conv2d):
            raise TypeError(f"KernelRecorder watches a Conv2d layer, got {type(layer).__name__}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if not kernels:
            raise ValueError("choose at least one (out_channel, in_channel) kernel")
        out_channels, in_channels = layer.weight.shape[:2]
        for out_index, in_index in kernels:
            if not (0 <= out_index < out_channels and 0 <= in_index < in_channels):
                raise ValueError(
                    f"kernel ({out_index}, {in_index}) is outside the layer's "
                    f"{out_channels} x {in_channels} kernels"
                )
        self.layer = layer
        self.kernels = [tuple(k) for k in kernels]
        self.every = every
        self.quantized = quantized
        self.steps: list[int] = []
        self.snapshots: list[Tensor] = []
        self._calls = 0
        self._handle = layer.register_forward_pre_hook(self._hook)

    def _hook(self, module: nn.Module, args: Any) -> None:
        if not module.training:
            return
        if self._calls % self.every == 0:
            self.snapshots.append(self._current_kernels())
            self.steps.append(self._calls)
        self._calls += 1

    def _current_kernels(self) -> Tensor:
        with torch.no_grad():
            weight = self.layer.weight
            if self.quantized and isinstance(self.layer, QConv2d):
                weight = self.layer.quantized_weight()
            return torch.stack([weight[o, i].detach().clone() for o, i in self.kernels])

    def remove(self) -> None:
        """Stop recording (the snapshots stay)."""
        self._handle.remove()

    def __enter__(self) -> KernelRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def render(self, path: str | os.PathLike[str], *, max_rows: int = 12) -> Path:
        """Draw the snapshots as a grid (rows: time, columns: kernels) to a PNG.

        At most ``max_rows`` snapshots are drawn, evenly spaced and always
        including the first and the last. The file is written atomically.
        """
        if not self.snapshots:
            raise RuntimeError("no snapshots recorded: run at least one training forward pass")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        count = len(self.snapshots)
        rows = min(max_rows, count)
        chosen = sorted({round(i * (count - 1) / max(rows - 1, 1)) for i in range(rows)})
        limit = float(max(s.abs().max() for s in self.snapshots)) or 1.0
        cols = len(self.kernels)
        fig, axes = plt.subplots(
            len(chosen), cols, figsize=(1.1 * cols + 1.2, 1.1 * len(chosen) + 0.6), squeeze=False
        )
        for row, index in enumerate(chosen):
            for col in range(cols):
                ax = axes[row][col]
                ax.imshow(self.snapshots[index][col].numpy(), cmap="coolwarm", vmin=-limit, vmax=limit)
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(f"{self.kernels[col][0]},{self.kernels[col][1]}", fontsize=7)
            axes[row][0].set_ylabel(f"step {self.steps[index]}", fontsize=7)
        kind = "binary" if self.quantized else "latent"
        fig.suptitle(f"{kind} kernels (out,in) over training", fontsize=9)
        fig.tight_layout()
        try:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=110, format="png")
        finally:
            plt.close(fig)
        return Path(path)
