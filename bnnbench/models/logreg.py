"""BinaryConnect logistic regression on MNIST pixels (Courbariaux et al. 2015).

A single dense layer 784 -> 10 with a real bias and binary weights:
deterministic (``sign``, eq. 2) or stochastic (``+1`` with probability
``hard_sigmoid(w)``, eq. 3) binarization in the forward pass, gradients
applied to real-valued latent weights clipped to [-1, 1] (section 2.4).

Choices (each measured on the validation split, never the test set):

* Inputs are the pixels in [0, 1] (the model maps bnnbench's [-1, 1] images
  back with a fixed ``(x + 1) / 2``). Every pixel meets a ``±1`` weight, so on
  [-1, 1] images the background (-1) would add one random ``±1`` per pixel
  under stochastic binarization; on [0, 1] pixels it adds nothing.
* BinaryConnect binarizes to ``±H`` with a fixed ``H``, the Glorot scale
  ``sqrt(1.5 / (fan_in + fan_out))``, and relies on batch norm in deeper
  networks to set the scale of the outputs. A logistic regression has no batch
  norm, and with a fixed ``H`` the logits' scale (the softmax temperature)
  cannot adapt; here the magnitude is a learned scalar ``alpha`` initialised
  at ``H`` (:class:`~bnnbench.nn.LearnedScale`): weights ``±alpha``, still one
  bit each plus one shared float.
* In eval mode the stochastic variant uses ``sign`` (one deterministic binary
  network; BinaryConnect itself evaluated the stochastic variant with the
  real-valued weights).

The float twin is plain logistic regression on the same [0, 1] pixels.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from bnnbench.nn.layers import FixedAffine, LearnedScale, QLinear
from bnnbench.nn.quantizers import glorot_binary_scale

__all__ = ["build_binaryconnect_logreg"]


def build_binaryconnect_logreg(*, float_twin: bool = False, stochastic: bool = False) -> nn.Sequential:
    """Logistic regression with BinaryConnect weights (or float, for the twin)."""
    layers: list[tuple[str, nn.Module]] = [("pixels", FixedAffine(0.5, 0.5)), ("flatten", nn.Flatten())]
    if float_twin:
        layers.append(("fc1", nn.Linear(784, 10)))
    else:
        quantizer = "stochastic_sign" if stochastic else "ste_sign"
        layers.append(("fc1", QLinear(784, 10, bias=True, weight_quantizer=quantizer, weight_clip=1.0)))
        layers.append(("scale", LearnedScale(glorot_binary_scale(784, 10))))
    return nn.Sequential(OrderedDict(layers))
