"""Training curves: loss and validation accuracy per epoch, for one or more runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bnnbench.files import atomic_path

__all__ = ["plot_training_curves"]


def plot_training_curves(runs: Mapping[str, Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Draw training/validation loss and validation accuracy of each run to a PNG.

    ``runs`` maps a label to a metrics.json dictionary (its ``epochs`` list).
    """
    if not runs or any(not run.get("epochs") for run in runs.values()):
        raise ValueError("every run needs at least one recorded epoch to plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for label, run in runs.items():
        epochs = [e["epoch"] for e in run["epochs"]]
        (line,) = loss_ax.plot(epochs, [e["train_loss"] for e in run["epochs"]], label=f"{label} train")
        loss_ax.plot(
            epochs, [e["val_loss"] for e in run["epochs"]], "--", color=line.get_color(), label=f"{label} val"
        )
        acc_ax.plot(epochs, [e["val_accuracy"] for e in run["epochs"]], marker=".", label=label)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy")
    loss_ax.set_yscale("log")
    loss_ax.set_title("loss (solid: train, dashed: validation)")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy (%)")
    acc_ax.set_title("validation accuracy")
    acc_ax.grid(True, alpha=0.3)
    for ax in (loss_ax, acc_ax):
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return Path(path)
