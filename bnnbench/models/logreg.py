"""BinaryConnect logistic regression on MNIST pixels (Courbariaux et al. 2015).

A single dense layer 784 -> 10 with a real bias and binary weights:
deterministic (``sign``, eq. 2) or stochastic (``+1`` with probability
``hard_sigmoid(w)``, eq. 3) binarization in the forward pass, gradients
applied to real-valued latent weights clipped to [-1, 1] (section 2.4).
BinaryConnect binarizes to ``±H`` with ``H`` the layer's Glorot scale
``sqrt(1.5 / (fan_in + fan_out))``; here weights are ``±1`` and the output is
multiplied by the fixed ``H`` (:class:`~bnnbench.nn.FixedScale`), which computes
the same logits (the bias is reparametrized by ``1/H``) while keeping latent
weights in [-1, 1] like every other binary layer. In eval mode the stochastic
variant uses ``sign`` (one deterministic binary network; BinaryConnect itself
evaluated the stochastic variant with the real-valued weights). The float twin
is plain logistic regression.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from bnnbench.nn.layers import FixedScale, QLinear
from bnnbench.nn.quantizers import glorot_binary_scale

__all__ = ["build_binaryconnect_logreg"]


def build_binaryconnect_logreg(*, float_twin: bool = False, stochastic: bool = False) -> nn.Sequential:
    """Logistic regression with BinaryConnect weights (or float, for the twin)."""
    if float_twin:
        return nn.Sequential(OrderedDict([("flatten", nn.Flatten()), ("fc1", nn.Linear(784, 10))]))
    return nn.Sequential(
        OrderedDict(
            [
                ("flatten", nn.Flatten()),
                (
                    "fc1",
                    QLinear(
                        784,
                        10,
                        bias=True,
                        weight_quantizer="stochastic_sign" if stochastic else "ste_sign",
                        weight_clip=1.0,
                    ),
                ),
                ("scale", FixedScale(glorot_binary_scale(784, 10))),
            ]
        )
    )
