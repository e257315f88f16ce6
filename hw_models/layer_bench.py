"""Predicted latency of single binary layers: the kernel benchmark's layer set on a CPU target.

The kernel benchmark (``bnnbench`` kernels issue) measures daBNN's standard
binary layers (Zhang et al., "daBNN: A Super Fast Inference Framework for
Binary Neural Networks on ARM devices", ACM MM 2019; its README's benchmark
set): 3x3 convolutions, stride 1, same padding, batch 1, on 56x56x64->64,
28x28x128->128, 14x14x256->256, 7x7x512->512, plus a 4096->4096 dense layer
at batch 1 and 64. :func:`dabnn_predictions` gives the model's latency for
each, so measured times can be put next to them.

A batch-B dense layer is modelled as a 1x1 convolution over a (B, 1, K)
input: the same MACs, B rows for threads to split, no im2col.
"""

from __future__ import annotations

from dataclasses import dataclass

from hw_models.cpu import layer_cost
from hw_models.errors import HwModelError
from hw_models.target import CpuTarget, load_target
from hw_models.workload import FLOAT_BITS, Layer, conv_output_size, macs


@dataclass(frozen=True)
class LayerPrediction:
    """The model's prediction for one benchmark layer."""

    name: str
    macs: int
    latency_s: float
    compute_s: float
    memory_s: float
    overhead_s: float
    binary_gops: float


def binary_conv_layer(height: int, width: int, in_channels: int, out_channels: int, *, kernel: int = 3,
                      stride: int = 1, padding: int | None = None, name: str = "") -> Layer:
    """A binary (W1A1) convolution with float output (BN fused), 'same' padding by default."""
    pad = kernel // 2 if padding is None else padding
    out = (conv_output_size(height, kernel, stride, pad), conv_output_size(width, kernel, stride, pad), out_channels)
    return Layer(
        name=name or f"conv{kernel}x{kernel}{f'/{stride}' if stride > 1 else ''} {height}x{width}x{in_channels}->{out_channels}",
        kind="conv", input_shape=(height, width, in_channels), output_shape=out, kernel=(kernel, kernel),
        stride=(stride, stride), padding=(pad, pad), weight_bits=1, input_bits=1, output_bits=FLOAT_BITS,
    )


def binary_dense_layer(in_features: int, out_features: int, *, batch: int = 1, name: str = "") -> Layer:
    """A binary dense layer at ``batch``, as a 1x1 convolution over (batch, 1, in_features)."""
    if batch < 1:
        raise HwModelError(f"batch must be >= 1, got {batch}")
    return Layer(
        name=name or f"dense {in_features}->{out_features} batch {batch}", kind="conv",
        input_shape=(batch, 1, in_features), output_shape=(batch, 1, out_features),
        weight_bits=1, input_bits=1, output_bits=FLOAT_BITS,
    )


def dabnn_layer_set() -> list[Layer]:
    """daBNN's benchmark layers plus the dense layers of the kernel benchmark."""
    return [
        binary_conv_layer(56, 56, 64, 64),
        binary_conv_layer(28, 28, 128, 128),
        binary_conv_layer(14, 14, 256, 256),
        binary_conv_layer(7, 7, 512, 512),
        binary_dense_layer(4096, 4096, batch=1),
        binary_dense_layer(4096, 4096, batch=64),
    ]


def predict_layer(target: CpuTarget, layer: Layer, *, threads: int = 1, packed_input: bool = False) -> LayerPrediction:
    """Predicted cost of one layer; ``packed_input`` skips bit-packing (the kernel-only measurement)."""
    producer_bits = layer.input_bits if packed_input else FLOAT_BITS
    cost = layer_cost(layer, producer_bits, 1, target, threads)
    overhead = cost.pack_s + cost.im2col_s + cost.transform_s
    return LayerPrediction(
        name=layer.name, macs=macs(layer), latency_s=cost.latency_s, compute_s=cost.compute_s,
        memory_s=cost.memory_s, overhead_s=overhead, binary_gops=2 * macs(layer) / cost.latency_s / 1e9,
    )


def dabnn_predictions(target: str = "x86-avx512", *, threads: int = 1, packed_input: bool = False) -> list[LayerPrediction]:
    """Predictions for :func:`dabnn_layer_set` on ``target`` (a CPU target name or path)."""
    loaded = load_target(target)
    if not isinstance(loaded, CpuTarget):
        raise HwModelError(f"target '{loaded.name}' is an FPGA; layer latency predictions need a CPU target")
    return [predict_layer(loaded, layer, threads=threads, packed_input=packed_input) for layer in dabnn_layer_set()]
