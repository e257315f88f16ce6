"""Quantized layers in two styles: larq's and bitorch's.

larq style (https://docs.larq.dev/larq/api/layers/): a layer owns both of its
quantizers. :class:`QConv2d` / :class:`QLinear` compute
``op(input_quantizer(x), weight_quantizer(W))`` and keep the latent real-valued
weights ``W`` inside ``[-weight_clip, weight_clip]`` (larq's
``kernel_constraint="weight_clip"``, the latent weight clipping of BinaryConnect
and BNN: without it a latent weight can drift far from 0 and never flip again).
Other parts of bnnbench recognise binary layers by the attribute names
``input_quantizer``, ``weight_quantizer``, ``weight_clip`` and ``pad_value``.

bitorch style (https://github.com/hpi-xnor/bitorch): the activation quantizer is
its own module, :class:`QActivation`, placed before a layer that only quantizes
its weights, :class:`QConv2d_NoAct` (``input_quantizer`` is always None).

Latent weight clipping is applied by the optimiser loop after each step through
:func:`clip_latent_weights`, not inside ``forward``, so that the forward pass
is a pure function of the parameters.
"""

from __future__ import annotations

from typing import Protocol, cast, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bnnbench.nn.quantizers import Quantizer, QuantizerSpec, get_quantizer

__all__ = [
    "QConv2d",
    "QConv2d_NoAct",
    "QLinear",
    "QActivation",
    "FixedAffine",
    "LearnedScale",
    "LatentWeightClipping",
    "clip_latent_weights",
]


@runtime_checkable
class LatentWeightClipping(Protocol):
    """A module whose latent weights must be clipped after each optimiser step."""

    def clip_latent_weights(self) -> None: ...


def clip_latent_weights(model: nn.Module) -> None:
    """Clip the latent weights of every layer of ``model`` that asks for it."""
    for module in model.modules():
        if isinstance(module, LatentWeightClipping):
            module.clip_latent_weights()


def _check_clip(weight_clip: float | None) -> float | None:
    if weight_clip is not None and not weight_clip > 0:
        raise ValueError(f"weight_clip must be positive or None, got {weight_clip}")
    return weight_clip


class QConv2d(nn.Conv2d):
    """2-D convolution on quantized inputs and weights (larq ``QuantConv2D``).

    ``forward(x) = conv2d(input_quantizer(x), weight_quantizer(weight)) + bias``.
    Padding is applied *after* input quantization with ``pad_value``: 0 is
    torch's zero padding, 1.0 is larq's ``pad_values=1`` ("same-one" padding,
    free on binary hardware because +1 is a valid binary value). Quantizers may
    be given by name (see :mod:`bnnbench.nn.quantizers`); None means full
    precision. With both quantizers None and no clip this is ``nn.Conv2d``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        *,
        bias: bool = True,
        input_quantizer: QuantizerSpec = None,
        weight_quantizer: QuantizerSpec = None,
        weight_clip: float | None = None,
        pad_value: float = 0.0,
    ) -> None:
        if isinstance(padding, str):
            raise ValueError("QConv2d takes explicit integer padding, not a padding mode string")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        self.input_quantizer: Quantizer | None = get_quantizer(input_quantizer)
        self.weight_quantizer: Quantizer | None = get_quantizer(weight_quantizer)
        self.weight_clip = _check_clip(weight_clip)
        self.pad_value = float(pad_value)

    def quantized_weight(self) -> Tensor:
        """The weights the convolution actually uses."""
        if self.weight_quantizer is None:
            return self.weight
        return self.weight_quantizer(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects input (N, {self.in_channels}, H, W), "
                f"got {tuple(x.shape)}"
            )
        if self.input_quantizer is not None:
            x = self.input_quantizer(x)
        weight = self.quantized_weight()
        # the constructor rejects padding strings, so nn.Conv2d stored an (h, w) pair
        pad_h, pad_w = cast(tuple[int, int], self.padding)
        if self.pad_value != 0.0 and (pad_h or pad_w):
            x = F.pad(x, (pad_w, pad_w, pad_h, pad_h), value=self.pad_value)
            return F.conv2d(x, weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def clip_latent_weights(self) -> None:
        if self.weight_clip is not None:
            with torch.no_grad():
                self.weight.clamp_(-self.weight_clip, self.weight_clip)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.weight_clip is not None:
            text += f", weight_clip={self.weight_clip}"
        if self.pad_value != 0.0:
            text += f", pad_value={self.pad_value}"
        return text


class QConv2d_NoAct(QConv2d):  # noqa: N801 - bitorch's name, kept for recognisability
    """bitorch-style binary convolution: quantizes its weights only.

    The input is expected to be quantized already by a preceding
    :class:`QActivation`; ``input_quantizer`` is therefore always None.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        *,
        bias: bool = True,
        weight_quantizer: QuantizerSpec = "ste_sign",
        weight_clip: float | None = None,
        pad_value: float = 0.0,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            bias=bias,
            input_quantizer=None,
            weight_quantizer=weight_quantizer,
            weight_clip=weight_clip,
            pad_value=pad_value,
        )


class QLinear(nn.Linear):
    """Fully connected layer on quantized inputs and weights (larq ``QuantDense``).

    ``forward(x) = input_quantizer(x) @ weight_quantizer(weight).T + bias``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        input_quantizer: QuantizerSpec = None,
        weight_quantizer: QuantizerSpec = None,
        weight_clip: float | None = None,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.input_quantizer: Quantizer | None = get_quantizer(input_quantizer)
        self.weight_quantizer: Quantizer | None = get_quantizer(weight_quantizer)
        self.weight_clip = _check_clip(weight_clip)

    def quantized_weight(self) -> Tensor:
        """The weights the product actually uses."""
        if self.weight_quantizer is None:
            return self.weight
        return self.weight_quantizer(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"QLinear expects input (N, {self.in_features}), got {tuple(x.shape)}"
            )
        if self.input_quantizer is not None:
            x = self.input_quantizer(x)
        return F.linear(x, self.quantized_weight(), self.bias)

    def clip_latent_weights(self) -> None:
        if self.weight_clip is not None:
            with torch.no_grad():
                self.weight.clamp_(-self.weight_clip, self.weight_clip)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.weight_clip is not None:
            text += f", weight_clip={self.weight_clip}"
        return text


class QActivation(nn.Module):
    """bitorch-style activation quantization as its own module.

    ``forward(x) = quantizer(x)``; the quantizer is in ``self.quantizer``.
    """

    def __init__(self, quantizer: QuantizerSpec = "ste_sign") -> None:
        super().__init__()
        resolved = get_quantizer(quantizer)
        if resolved is None:
            raise ValueError("QActivation needs a quantizer; use nn.Identity for none")
        self.quantizer: Quantizer = resolved

    def forward(self, x: Tensor) -> Tensor:
        return self.quantizer(x)


class FixedAffine(nn.Module):
    """``x * scale + offset`` with constant (non-trainable) ``scale`` and ``offset``.

    E.g. mapping images from [-1, 1] back to [0, 1] pixels: ``FixedAffine(0.5, 0.5)``.
    """

    scale: Tensor
    offset: Tensor

    def __init__(self, scale: float, offset: float = 0.0) -> None:
        super().__init__()
        if not scale > 0:
            raise ValueError(f"FixedAffine needs a positive scale, got {scale}")
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.register_buffer("offset", torch.tensor(float(offset)))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale + self.offset

    def extra_repr(self) -> str:
        return f"scale={float(self.scale):.6g}, offset={float(self.offset):.6g}"


class LearnedScale(nn.Module):
    """``x * alpha`` with one learned scalar ``alpha``: the magnitude of ``±alpha`` weights.

    A layer with ``±1`` weights followed by ``LearnedScale`` computes a layer
    with weights ``±alpha`` while its latent weights stay in [-1, 1]; it
    stands in for batch norm where a model has none (BinaryConnect's logistic
    regression).
    """

    def __init__(self, initial: float) -> None:
        super().__init__()
        if not initial > 0:
            raise ValueError(f"LearnedScale needs a positive initial value, got {initial}")
        self.alpha = nn.Parameter(torch.tensor(float(initial)))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.alpha
