"""The LeNet of bitorch's introduction, in bitorch's layer style.

bitorch (https://github.com/hpi-xnor/bitorch) introduces binary networks with a
LeNet on MNIST, built with the activation quantizer as its own module
(:class:`~bnnbench.nn.QActivation`) before a weight-binarizing layer
(:class:`~bnnbench.nn.QConv2d_NoAct`):

    conv 64@5x5 -> BN -> tanh -> max-pool 2
    sign -> binary conv 64@5x5 -> BN -> max-pool 2
    flatten (64 * 4 * 4 = 1024) -> sign -> binary FC 1024->1000 -> BN -> tanh
    FC 1000->10

Convolutions are "valid" (no padding): 28 -> 24 -> 12 -> 8 -> 4. Binary layers
use ``ste_sign`` on inputs and weights; latent weights are clipped to [-1, 1]
by default (larq's practice; bitorch leaves it to the user) because the
straight-through gradient is cancelled beyond |w| > 1 and a weight that
drifts there would never flip again. The float twin replaces each sign by a
hardtanh and the binary layers by float ones (see
:mod:`bnnbench.models.builder`).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from bnnbench.nn.layers import QActivation, QConv2d_NoAct, QLinear

__all__ = ["build_lenet_bitorch"]


def build_lenet_bitorch(*, float_twin: bool = False, weight_clip: float | None = 1.0) -> nn.Sequential:
    """bitorch's LeNet (binary) or its float twin."""

    def binarize_activation() -> nn.Module:
        return nn.Hardtanh() if float_twin else QActivation("ste_sign")

    if float_twin:
        conv2: nn.Module = nn.Conv2d(64, 64, 5)
        fc1: nn.Module = nn.Linear(1024, 1000)
    else:
        conv2 = QConv2d_NoAct(64, 64, 5, weight_quantizer="ste_sign", weight_clip=weight_clip)
        fc1 = QLinear(1024, 1000, weight_quantizer="ste_sign", weight_clip=weight_clip)
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(1, 64, 5)),
                ("bn1", nn.BatchNorm2d(64)),
                ("tanh1", nn.Tanh()),
                ("pool1", nn.MaxPool2d(2)),
                ("act2", binarize_activation()),
                ("conv2", conv2),
                ("bn2", nn.BatchNorm2d(64)),
                ("pool2", nn.MaxPool2d(2)),
                ("flatten", nn.Flatten()),
                ("act3", binarize_activation()),
                ("fc1", fc1),
                ("bn3", nn.BatchNorm1d(1000)),
                ("tanh3", nn.Tanh()),
                ("fc2", nn.Linear(1000, 10)),
            ]
        )
    )
