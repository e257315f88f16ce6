"""FINN's reference binarized networks (Umuroglu et al. 2017, "FINN", table 1).

* ``sfc``: MLP 784 -> 256 -> 256 -> 256 -> 10.
* ``lfc``: MLP 784 -> 1024 -> 1024 -> 1024 -> 10.
* ``cnv``: 2x64C3 - MP2 - 2x128C3 - MP2 - 2x256C3 - 2x512FC - 10 with "valid"
  3x3 convolutions, made for 32x32 CIFAR-10 images: 32 -> 30 -> 28 -> 14 ->
  12 -> 10 -> 5 -> 3 -> 1, so the first dense layer sees 256 features.

As in FINN's 1-bit weight / 1-bit activation configurations (BNN-PYNQ), every
layer has binary weights and is followed by batch norm (the last one too), and
the sign of the batch-norm output feeds the next layer. The MLPs binarize the
input image (FINN feeds them 1-bit pixels; here ``sign`` of the image scaled
to [-1, 1]); ``cnv`` keeps the real-valued image for its first layer (FINN
feeds it 8-bit pixels). In ``cnv`` batch norm comes before pooling, FINN's
order (pooling the signs equals pooling then taking signs, since sign is
monotone). Options let the hardware study change these defaults. Dropout,
which FINN uses in training, is left out.
"""

from __future__ import annotations

from torch import nn

from bnnbench.models.builder import BinarySettings, SequentialBuilder

__all__ = ["build_sfc", "build_lfc", "build_cnv", "cnv_output_size"]


def _mlp(
    hidden: int,
    *,
    float_twin: bool,
    float_first_input: bool,
    float_last_layer: bool,
    weight_clip: float | None,
) -> nn.Sequential:
    b = SequentialBuilder(BinarySettings(weight_clip=weight_clip), float_twin=float_twin)
    b.flatten()
    width = 28 * 28
    for layer in range(3):
        b.linear(width, hidden, binary_input=not (layer == 0 and float_first_input))
        b.batch_norm(hidden, spatial=False)
        width = hidden
    if float_last_layer:
        b.linear(width, 10, binary_input=True, binary_weights=False, bias=True)
    else:
        b.linear(width, 10, binary_input=True)
        b.batch_norm(10, spatial=False)
    return b.build()


def build_sfc(
    *,
    float_twin: bool = False,
    float_first_input: bool = False,
    float_last_layer: bool = False,
    weight_clip: float | None = 1.0,
) -> nn.Sequential:
    """FINN SFC: three binary dense layers of 256 units on 28x28 images."""
    return _mlp(
        256,
        float_twin=float_twin,
        float_first_input=float_first_input,
        float_last_layer=float_last_layer,
        weight_clip=weight_clip,
    )


def build_lfc(
    *,
    float_twin: bool = False,
    float_first_input: bool = False,
    float_last_layer: bool = False,
    weight_clip: float | None = 1.0,
) -> nn.Sequential:
    """FINN LFC: three binary dense layers of 1024 units on 28x28 images."""
    return _mlp(
        1024,
        float_twin=float_twin,
        float_first_input=float_first_input,
        float_last_layer=float_last_layer,
        weight_clip=weight_clip,
    )


def cnv_output_size(image_size: int) -> int:
    """Spatial size after cnv's convolutions and pools, or an error if it vanishes."""
    size = image_size
    for _ in range(2):
        size = (size - 4) // 2  # two valid 3x3 convolutions, then a 2x2 pool
    size -= 4
    if size < 1:
        raise ValueError(
            f"cnv needs images of at least 32x32 (valid convolutions shrink them); got {image_size}"
        )
    return size


def build_cnv(
    *,
    float_twin: bool = False,
    in_channels: int = 3,
    image_size: int = 32,
    num_classes: int = 10,
    float_first_input: bool = True,
    float_last_layer: bool = False,
    bn_before_pool: bool = True,
    weight_clip: float | None = 1.0,
) -> nn.Sequential:
    """FINN CNV for ``in_channels x image_size x image_size`` inputs (CIFAR-10 by default)."""
    final = cnv_output_size(image_size)
    b = SequentialBuilder(BinarySettings(weight_clip=weight_clip), float_twin=float_twin)
    channels = in_channels
    first = True
    for width, pooled in ((64, True), (128, True), (256, False)):
        for second in (False, True):
            b.conv(channels, width, 3, padding=0, binary_input=not (first and float_first_input))
            first = False
            channels = width
            pool_here = pooled and second
            if pool_here and not bn_before_pool:
                b.max_pool(2)
            b.batch_norm(width, spatial=True)
            if pool_here and bn_before_pool:
                b.max_pool(2)
    b.flatten()
    features = channels * final * final
    for _ in range(2):
        b.linear(features, 512, binary_input=True)
        b.batch_norm(512, spatial=False)
        features = 512
    if float_last_layer:
        b.linear(features, num_classes, binary_input=True, binary_weights=False, bias=True)
    else:
        b.linear(features, num_classes, binary_input=True)
        b.batch_norm(num_classes, spatial=False)
    return b.build()
