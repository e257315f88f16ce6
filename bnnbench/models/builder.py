"""Build a binary network and its float twin from one layer-by-layer description.

A binary layer here is larq style: its input quantizer binarizes the previous
block's batch-norm output, its weight quantizer binarizes its latent weights.
The *float twin* has the same layers with full-precision weights, and a
``Hardtanh`` wherever the binary network binarizes an activation: hardtanh is
the function whose gradient the straight-through sign uses (BNN, Courbariaux
et al. 2016, "Htanh"), so the twin is the binary network with the forward
binarization removed and everything else equal. Layers are named by kind and
position (``conv1``, ``pool1``, ``bn1``, ``act1``, ``fc1``, ...), so weights of
the two variants and of the PBNet on the same topology correspond by name.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from torch import nn

from bnnbench.nn.layers import QConv2d, QLinear
from bnnbench.nn.quantizers import get_quantizer

__all__ = ["BinarySettings", "SequentialBuilder"]


@dataclass(frozen=True)
class BinarySettings:
    """How binary layers binarize (shared by every binary layer of a model).

    ``activation_quantizer`` binarizes layer inputs, ``weight_quantizer`` the
    latent weights, kept in ``[-weight_clip, weight_clip]`` (None: no clip).
    ``pad_value`` pads binary convolutions (0: zero padding, 1: "same-one").
    """

    activation_quantizer: str = "ste_sign"
    weight_quantizer: str | None = "ste_sign"
    weight_clip: float | None = 1.0
    pad_value: float = 0.0

    def __post_init__(self) -> None:
        # Fail at construction, with the quantizer's own error, on unknown names.
        if get_quantizer(self.activation_quantizer) is None:
            raise ValueError("activation_quantizer cannot be None in a binary network")
        get_quantizer(self.weight_quantizer)


class SequentialBuilder:
    """Append named layers; ``float_twin`` switches every binary layer to float."""

    def __init__(self, settings: BinarySettings, *, float_twin: bool) -> None:
        self.settings = settings
        self.float_twin = float_twin
        self.layers: OrderedDict[str, nn.Module] = OrderedDict()
        self._counts: dict[str, int] = {}

    def _add(self, kind: str, module: nn.Module) -> None:
        self._counts[kind] = self._counts.get(kind, 0) + 1
        self.layers[f"{kind}{self._counts[kind]}"] = module

    def _twin_activation(self, binary_input: bool) -> None:
        if self.float_twin and binary_input:
            self._add("act", nn.Hardtanh())

    def conv(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        padding: int,
        binary_input: bool,
        binary_weights: bool = True,
        bias: bool = False,
    ) -> None:
        """A 3x3-style convolution; binary input/weights unless told otherwise."""
        self._twin_activation(binary_input)
        s = self.settings
        if self.float_twin:
            layer: nn.Module = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=bias)
        else:
            layer = QConv2d(
                in_channels,
                out_channels,
                kernel_size,
                padding=padding,
                bias=bias,
                input_quantizer=s.activation_quantizer if binary_input else None,
                weight_quantizer=s.weight_quantizer if binary_weights else None,
                weight_clip=s.weight_clip if binary_weights else None,
                pad_value=s.pad_value if binary_input else 0.0,
            )
        self._add("conv", layer)

    def linear(
        self,
        in_features: int,
        out_features: int,
        *,
        binary_input: bool,
        binary_weights: bool = True,
        bias: bool = False,
    ) -> None:
        """A fully connected layer; binary input/weights unless told otherwise."""
        self._twin_activation(binary_input)
        s = self.settings
        if self.float_twin:
            layer: nn.Module = nn.Linear(in_features, out_features, bias=bias)
        else:
            layer = QLinear(
                in_features,
                out_features,
                bias=bias,
                input_quantizer=s.activation_quantizer if binary_input else None,
                weight_quantizer=s.weight_quantizer if binary_weights else None,
                weight_clip=s.weight_clip if binary_weights else None,
            )
        self._add("fc", layer)

    def batch_norm(self, features: int, *, spatial: bool) -> None:
        self._add("bn", nn.BatchNorm2d(features) if spatial else nn.BatchNorm1d(features))

    def max_pool(self, kernel_size: int = 2) -> None:
        self._add("pool", nn.MaxPool2d(kernel_size))

    def flatten(self) -> None:
        self.layers["flatten"] = nn.Flatten()

    def build(self) -> nn.Sequential:
        return nn.Sequential(self.layers)
