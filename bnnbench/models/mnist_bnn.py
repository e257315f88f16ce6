"""The mnist-bnn topology: 32C3-MP2-64C3-MP2-512FC-10.

This is the MNIST convolutional network of the PBNet paper (Peters & Welling
2018, section 5: "32C3-MP2-64C3-MP2-512FC-SM10"), trained as a Binarized
Neural Network (Courbariaux et al. 2016): sign activations and sign weights with
the straight-through estimator, latent weights clipped to [-1, 1], batch norm
after every binarized layer. Following common practice (Courbariaux et al.;
larq's guide) the first layer's input and the whole last layer stay in higher
precision by default; both are options, for the ablation study.

Each block is ``conv -> max-pool -> batch norm`` and the sign sits in the next
layer's input quantizer, i.e. ``BN -> sign -> conv -> pool``: the block order of
XNOR-Net (Rastegari et al. 2016, figure 3) and of larq's examples (pooling
before batch norm). ``bn_before_pool=True`` gives ``conv -> BN -> pool``.
Convolutions use "same" padding (3x3, padding 1), so 28 -> 14 -> 7 and the
dense layer sees 64 * 7 * 7 = 3136 features in torch's NCHW flatten order.

``mnist-xnornet`` is the same network with XNOR-Net weight scaling: each output
channel's binary weights are scaled by ``alpha = mean |W|`` (the
``magnitude_aware_sign`` quantizer). XNOR-Net's spatial input scaling ``K`` is
not used (larq zoo's XNOR-Net omits it too): the batch norm that precedes every
sign already rescales each channel.
"""

from __future__ import annotations

from torch import nn

from bnnbench.models.builder import BinarySettings, SequentialBuilder

__all__ = ["build_mnist_bnn", "build_mnist_xnornet", "MNIST_INPUT_SHAPE"]

MNIST_INPUT_SHAPE = (1, 28, 28)


def build_mnist_bnn(
    *,
    float_twin: bool = False,
    float_first_input: bool = True,
    float_last_layer: bool = True,
    bn_before_pool: bool = False,
    activation_quantizer: str = "ste_sign",
    weight_quantizer: str | None = "ste_sign",
    weight_clip: float | None = 1.0,
    pad_value: float = 0.0,
) -> nn.Sequential:
    """Build mnist-bnn (or its float twin).

    ``float_first_input``: the first convolution sees the real-valued image
    (else the image is binarized by the activation quantizer).
    ``float_last_layer``: the last layer has real weights and a bias (its
    input is still binary); else it is binary and followed by batch norm, as
    in Courbariaux et al.
    """
    b = SequentialBuilder(
        BinarySettings(activation_quantizer, weight_quantizer, weight_clip, pad_value),
        float_twin=float_twin,
    )
    for in_channels, out_channels, first in ((1, 32, True), (32, 64, False)):
        b.conv(in_channels, out_channels, 3, padding=1, binary_input=not (first and float_first_input))
        if bn_before_pool:
            b.batch_norm(out_channels, spatial=True)
            b.max_pool(2)
        else:
            b.max_pool(2)
            b.batch_norm(out_channels, spatial=True)
    b.flatten()
    b.linear(64 * 7 * 7, 512, binary_input=True)
    b.batch_norm(512, spatial=False)
    if float_last_layer:
        b.linear(512, 10, binary_input=True, binary_weights=False, bias=True)
    else:
        b.linear(512, 10, binary_input=True)
        b.batch_norm(10, spatial=False)
    return b.build()


def build_mnist_xnornet(
    *,
    float_twin: bool = False,
    float_first_input: bool = True,
    float_last_layer: bool = True,
    bn_before_pool: bool = False,
    weight_clip: float | None = 1.0,
    pad_value: float = 0.0,
) -> nn.Sequential:
    """mnist-bnn with XNOR-Net's per-channel weight scaling (``magnitude_aware_sign``)."""
    return build_mnist_bnn(
        float_twin=float_twin,
        float_first_input=float_first_input,
        float_last_layer=float_last_layer,
        bn_before_pool=bn_before_pool,
        weight_quantizer="magnitude_aware_sign",
        weight_clip=weight_clip,
        pad_value=pad_value,
    )
