"""Does the compiled model predict what the torch model predicts?

On a labelled image set, run both (torch in eval mode, the engine in one C
call per batch) and count identical predictions.  Where they differ, record
the torch model's margin between its top two logits: a difference can only
come from a pre-activation that lands on a threshold, or from float rounding
in the float first/last layers when two logits are nearly equal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from bnnbench.engine.program import CompiledModel


@dataclass(frozen=True)
class Agreement:
    images: int
    identical_predictions: int
    torch_accuracy: float
    engine_accuracy: float
    max_abs_logit_difference: float
    disagreements: list[dict[str, float | int]]

    @property
    def identical_fraction(self) -> float:
        return self.identical_predictions / self.images

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "identical_fraction": self.identical_fraction}


def measure_agreement(
    model: nn.Module, compiled: CompiledModel, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> Agreement:
    """Compare predictions of ``model`` (eval) and ``compiled`` on every image."""
    model.eval()
    torch_logits, engine_logits = [], []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size].contiguous()
            torch_logits.append(model(chunk))
            engine_logits.append(torch.from_numpy(compiled(chunk.numpy())))
    expected, got = torch.cat(torch_logits), torch.cat(engine_logits)
    torch_pred, engine_pred = expected.argmax(dim=1), got.argmax(dim=1)
    differ = torch.nonzero(torch_pred != engine_pred).flatten().tolist()
    top2 = expected.topk(2, dim=1).values
    disagreements = [
        {"index": i, "label": int(labels[i]), "torch": int(torch_pred[i]), "engine": int(engine_pred[i]),
         "torch_top2_margin": float(top2[i, 0] - top2[i, 1])}
        for i in differ
    ]
    return Agreement(
        images=len(images),
        identical_predictions=len(images) - len(differ),
        torch_accuracy=100.0 * float((torch_pred == labels).float().mean()),
        engine_accuracy=100.0 * float((engine_pred == labels).float().mean()),
        max_abs_logit_difference=float((expected - got).abs().max()),
        disagreements=disagreements,
    )
