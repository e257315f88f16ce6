"""Binary neural network building blocks for PyTorch.

* :mod:`bnnbench.nn.quantizers`: named quantizers with their surrogate gradients.
* :mod:`bnnbench.nn.layers`: larq-style ``QConv2d`` / ``QLinear`` and
  bitorch-style ``QActivation`` / ``QConv2d_NoAct``.
* :mod:`bnnbench.nn.pbnet`: Probabilistic Binary Neural Network layers.
* :mod:`bnnbench.nn.visualization`: a hook that records kernels during training.
"""

from bnnbench.nn.layers import (
    FixedAffine,
    LatentWeightClipping,
    LearnedScale,
    QActivation,
    QConv2d,
    QConv2d_NoAct,
    QLinear,
    clip_latent_weights,
)
from bnnbench.nn.quantizers import (
    ApproxSign,
    BinaryTanh,
    MagnitudeAwareSign,
    Quantizer,
    QuantizerSpec,
    SteHeaviside,
    SteSign,
    StochasticSign,
    SwishSign,
    get_quantizer,
    quantizer_names,
)
from bnnbench.nn.visualization import KernelRecorder

__all__ = [
    "ApproxSign",
    "BinaryTanh",
    "FixedAffine",
    "KernelRecorder",
    "LatentWeightClipping",
    "LearnedScale",
    "MagnitudeAwareSign",
    "QActivation",
    "QConv2d",
    "QConv2d_NoAct",
    "QLinear",
    "Quantizer",
    "QuantizerSpec",
    "SteHeaviside",
    "SteSign",
    "StochasticSign",
    "SwishSign",
    "clip_latent_weights",
    "get_quantizer",
    "quantizer_names",
]
