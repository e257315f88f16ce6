"""Bop, the binary optimizer (Helwegen et al. 2019, "Latent Weights Do Not Exist", algorithm 1).

Bop has no latent weights: each binary weight ``w`` is ±1 and carries an
exponential moving average of its gradient, ``m <- (1 - gamma) m + gamma g``;
the weight flips, ``w <- -w``, when ``|m| > threshold`` and ``m`` has the
sign of ``w`` (the gradient keeps asking for the other sign). Defaults are
larq's (``gamma = 1e-4``, ``threshold = 1e-8``).

As in larq (a ``CaseOptimizer`` of Bop and Adam), Bop updates the binary
weights (those a ``weight_quantizer`` binarizes, see :func:`binary_weights`)
and Adam updates every other parameter (batch norm, real layers). The binary
weights are set to their signs when the optimizer is created.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from bnnbench.nn.layers import QConv2d, QLinear

__all__ = ["Bop", "binary_weights"]


def binary_weights(model: nn.Module) -> list[nn.Parameter]:
    """Weights that a ``weight_quantizer`` binarizes in the forward pass."""
    return [
        cast(nn.Parameter, m.weight)  # nn.Conv2d / nn.Linear annotate their Parameter as a Tensor
        for m in model.modules()
        if isinstance(m, (QConv2d, QLinear)) and m.weight_quantizer is not None
    ]


class Bop:
    """Bop on the binary weights of ``model``, Adam on its other parameters.

    Exposes ``param_groups`` (Adam's, so learning-rate schedules apply to the
    real-valued parameters), ``zero_grad`` and ``step`` like a torch optimizer.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        lr: float = 1e-3,
        gamma: float = 1e-4,
        threshold: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        self.binary = binary_weights(model)
        if not self.binary:
            raise ValueError("Bop needs a model with binary weights (a weight_quantizer)")
        binary_ids = {id(p) for p in self.binary}
        others = [p for p in model.parameters() if id(p) not in binary_ids]
        self.gamma = gamma
        self.threshold = threshold
        self.momentum = [torch.zeros_like(p) for p in self.binary]
        with torch.no_grad():
            for weight in self.binary:
                weight.copy_(torch.where(weight >= 0, 1.0, -1.0))
        self.adam = torch.optim.Adam(others, lr=lr, weight_decay=weight_decay)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.adam.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.adam.zero_grad(set_to_none=set_to_none)
        for weight in self.binary:
            weight.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """Flip the binary weights whose gradient average says so; an Adam step for the rest."""
        for weight, momentum in zip(self.binary, self.momentum, strict=True):
            if weight.grad is None:
                continue
            momentum.mul_(1.0 - self.gamma).add_(weight.grad, alpha=self.gamma)
            flip = (momentum.abs() > self.threshold) & (torch.sign(momentum) == torch.sign(weight))
            weight.copy_(torch.where(flip, -weight, weight))
        self.adam.step()
