"""Fold what follows a layer's accumulator into what the kernels apply.

Between a binary layer's integer dot product and the next sign there is a
chain of per-channel monotone functions (XNOR-Net scale, bias, BatchNorm,
hardtanh/tanh, max-pool).  Because sign is all that survives, the chain
becomes one integer threshold per channel (FINN's thresholding, Umuroglu et
al. 2017, section 4.2.2; DESIGN.md "BatchNorm + sign folded into one
comparison").  The thresholds are found by running torch's own modules on
every integer the accumulator can take, so they reproduce torch's float
arithmetic -- not an algebraic rearrangement of it -- and the engine agrees
with the model bit for bit wherever torch's conv sums are exact integers.

For the float first layer (real image, real accumulator) the chain is folded
algebraically into ``sign(a * acc + b)``; for a float output (logits) into
``a * acc + b``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bnnbench.nn.layers import FixedAffine


class UnsupportedModelError(ValueError):
    """The engine cannot compile this model; the message names the layer and why."""


@dataclass(frozen=True)
class ChannelScale:
    """A per-channel multiplier and offset applied to the accumulator before the chain
    (XNOR-Net's alpha and a layer's bias)."""

    scale: np.ndarray
    offset: np.ndarray


ELEMENTWISE_MONOTONE = (nn.BatchNorm1d, nn.BatchNorm2d, FixedAffine, nn.Hardtanh, nn.Tanh, nn.Identity, nn.Dropout)


def _apply_chain(values: torch.Tensor, chain: list[tuple[str, nn.Module]]) -> torch.Tensor:
    """Run the modules on ``values`` of shape [M, C] (BatchNorm2d sees [M, C, 1, 1])."""
    with torch.no_grad():
        for _, module in chain:
            if isinstance(module, nn.BatchNorm2d):
                values = module(values[:, :, None, None])[:, :, 0, 0]
            else:
                values = module(values)
    return values


def sign_thresholds(
    k: int, pre: ChannelScale, chain: list[tuple[str, nn.Module]], layer: str
) -> tuple[np.ndarray, np.ndarray]:
    """(threshold int32 [C], negative bool [C]) with sign(chain(pre(v))) == -1 iff
    v < threshold (or v > threshold where negative), for every integer v in [-k, k]."""
    grid = torch.arange(-k, k + 1, dtype=torch.float32)
    values = grid[:, None] * torch.from_numpy(pre.scale)[None, :] + torch.from_numpy(pre.offset)[None, :]
    plus = (_apply_chain(values, chain) >= 0).numpy()  # [2k+1, C]
    steps = np.diff(plus.astype(np.int8), axis=0)
    increasing = np.all(steps >= 0, axis=0)
    decreasing = np.all(steps <= 0, axis=0)
    if not np.all(increasing | decreasing):
        bad = int(np.flatnonzero(~(increasing | decreasing))[0])
        raise UnsupportedModelError(
            f"{layer}: the functions between the accumulator and the sign are not monotone in channel {bad}; "
            "they cannot be folded into a threshold"
        )
    negative = decreasing & ~increasing
    any_plus = plus.any(axis=0)
    first_plus = np.where(any_plus, plus.argmax(axis=0) - k, k + 1)
    last_plus = np.where(any_plus, k - plus[::-1].argmax(axis=0), -k - 1)
    threshold = np.where(negative, last_plus, first_plus).astype(np.int32)
    return np.ascontiguousarray(threshold), np.ascontiguousarray(negative)


def affine_of_chain(
    channels: int, chain: list[tuple[str, nn.Module]], layer: str, allow_sign_preserving: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset) float32 [C] with chain(v) == scale * v + offset (up to float rounding).

    With ``allow_sign_preserving``, hardtanh and tanh (which keep the sign of
    their input) may appear too: only the sign of the result is then used.
    """
    scale = np.ones(channels, np.float64)
    offset = np.zeros(channels, np.float64)
    for name, module in chain:
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if module.running_mean is None or module.running_var is None:
                raise UnsupportedModelError(f"{name}: batch norm without running statistics")
            std = np.sqrt(module.running_var.double().numpy() + module.eps)
            gamma = module.weight.detach().double().numpy() if module.affine else np.ones(channels)
            beta = module.bias.detach().double().numpy() if module.affine else np.zeros(channels)
            bn_scale = gamma / std
            scale, offset = scale * bn_scale, (offset - module.running_mean.double().numpy()) * bn_scale + beta
        elif isinstance(module, FixedAffine):
            factor, shift = float(getattr(module, "scale")), float(getattr(module, "offset"))
            scale, offset = scale * factor, offset * factor + shift
        elif isinstance(module, (nn.Identity, nn.Dropout)):
            continue
        elif allow_sign_preserving and isinstance(module, nn.Tanh):
            continue
        elif allow_sign_preserving and isinstance(module, nn.Hardtanh) and module.min_val < 0 <= module.max_val:
            continue
        else:
            raise UnsupportedModelError(f"{name}: {type(module).__name__} cannot be folded into {layer}'s output")
    return scale.astype(np.float32), offset.astype(np.float32)
