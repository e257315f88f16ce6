"""Compile a trained binary torch model into one C program of kernel calls.

The model is read module by module (an ``nn.Sequential``, nested ones
flattened) while tracking what the activation is:

* ``image``   -- the float NCHW input (the first layer may read it as is);
* ``packed``  -- +-1 values packed NHWC, as binary layers consume them;
* ``acc``     -- a binary layer's integer dot products, with the per-channel
  monotone chain (bias, XNOR-Net scale, BatchNorm, hardtanh/tanh, max-pool)
  that follows them still pending: the next sign folds it into thresholds
  (:mod:`bnnbench.engine.folding`), a float consumer folds it into scale/bias;
* ``facc``    -- the float first layer's accumulators, pending likewise;
* ``float``   -- float values per image (classifier logits, tanh outputs).

Weights are packed once; flatten is absorbed by permuting the next dense
layer's weights from torch's (C, H, W) order to the engine's NHWC order and
running it as a convolution whose kernel covers the whole feature map.
Anything else is an :class:`UnsupportedModelError` naming the layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from bnnbench import kernels
from bnnbench._kernels import lib
from bnnbench.engine.folding import (
    ELEMENTWISE_MONOTONE,
    ChannelScale,
    UnsupportedModelError,
    affine_of_chain,
    sign_thresholds,
)
from bnnbench.nn.layers import QActivation, QConv2d, QLinear

SIGN_QUANTIZERS = frozenset({"ste_sign", "approx_sign", "swish_sign"})
SCALED_SIGN = "magnitude_aware_sign"
FLOAT_CONV_LANES = 16  # the C float convolution's weights are padded to this many output channels
Chain = list[tuple[str, nn.Module]]


@dataclass
class Op:
    """One program step before it is lowered to a ``bnn_op``."""

    kind: int
    name: str
    shape: dict[str, int]  # bnn_conv_shape fields
    output_kind: int = lib.BNN_OUTPUT_FLOAT32
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    weights: kernels.PackedWeights | None = None
    packed_input: bool = False
    elements: int = 0

    def output_words_per_image(self) -> tuple[type, int]:
        """(dtype, elements) of this op's output for one image."""
        s = self.shape
        pixels = s.get("out_h", 1) * s.get("out_w", 1)
        if self.kind == lib.BNN_OP_PACK_NCHW:
            return np.uint64, s["in_h"] * s["in_w"] * -(-s["channels"] // 64)
        if self.kind == lib.BNN_OP_BMAXPOOL:
            return np.uint64, pixels * -(-s["channels"] // 64)
        if self.kind in (lib.BNN_OP_FLOAT_DENSE,):
            return np.float32, s["out_channels"]
        if self.kind == lib.BNN_OP_TANH:
            return np.float32, self.elements
        if self.output_kind == lib.BNN_OUTPUT_PACKED:
            return np.uint64, pixels * -(-s["out_channels"] // 64)
        if self.output_kind == lib.BNN_OUTPUT_INT32:
            return np.int32, pixels * s["out_channels"]
        return np.float32, pixels * s["out_channels"]


@dataclass
class Activation:
    """What the value flowing between modules currently is (see the module docstring)."""

    kind: Literal["image", "packed", "acc", "facc", "float"]
    channels: int
    height: int
    width: int
    producer: Op | None = None  # the op whose output transform the pending chain will decide
    k: int = 0                  # acc: dot products lie in [-k, k]
    pre: ChannelScale | None = None
    chain: Chain = field(default_factory=list)
    pools: list[tuple[str, nn.MaxPool2d, int]] = field(default_factory=list)  # (name, pool, position in chain)
    flattened_from: tuple[int, int, int] | None = None  # (C, H, W) before an nn.Flatten

    def pooled_hw(self) -> tuple[int, int]:
        """Spatial size once the pending max-pools are applied."""
        h, w = self.height, self.width
        for name, pool, _ in self.pools:
            (kh, kw), (sh, sw) = _pool_geometry(name, pool)
            if h < kh or w < kw:
                raise UnsupportedModelError(f"{name}: max-pool {kh}x{kw} larger than its {h}x{w} input")
            h, w = (h - kh) // sh + 1, (w - kw) // sw + 1
        return h, w


def _quantizer_name(quantizer: object) -> str | None:
    return None if quantizer is None else str(getattr(quantizer, "name", type(quantizer).__name__))


def _is_sign(quantizer: object) -> bool:
    return _quantizer_name(quantizer) in SIGN_QUANTIZERS


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules of a (nested) nn.Sequential in forward order."""
    if not isinstance(model, nn.Sequential):
        raise UnsupportedModelError(
            f"engine.compile needs an nn.Sequential (its forward order is its module order); got {type(model).__name__}"
        )
    leaves: list[tuple[str, nn.Module]] = []
    for name, module in model.named_children():
        if isinstance(module, nn.Sequential):
            leaves += [(f"{name}.{inner}", m) for inner, m in leaf_modules(module)]
        else:
            leaves.append((name, module))
    return leaves


class Compiler:
    """Walks the modules and emits :class:`Op` s; see the module docstring."""

    def __init__(self, input_shape: tuple[int, int, int]) -> None:
        channels, height, width = input_shape
        self.ops: list[Op] = []
        self.act = Activation("image", channels, height, width)

    # ---------------------------------------------------------------- materialize

    def to_packed(self, name: str) -> None:
        """Make the activation +-1 packed NHWC: the sign of whatever is pending."""
        act = self.act
        if act.kind == "packed":
            return
        if act.kind == "image":
            op = Op(lib.BNN_OP_PACK_NCHW, f"{name}:pack", {"in_h": act.height, "in_w": act.width, "channels": act.channels})
            self.ops.append(op)
        elif act.kind == "acc":
            assert act.producer is not None and act.pre is not None
            threshold, negative = sign_thresholds(act.k, act.pre, act.chain, act.producer.name)
            act.producer.output_kind = lib.BNN_OUTPUT_PACKED
            act.producer.arrays.update(threshold=threshold, negative=negative.view(np.uint8))
            self._pools()
        elif act.kind == "facc":
            assert act.producer is not None
            scale, offset = affine_of_chain(act.channels, act.chain, act.producer.name, allow_sign_preserving=True)
            act.producer.output_kind = lib.BNN_OUTPUT_PACKED
            act.producer.arrays.update(scale=scale, bias=offset)
            self._pools()
        else:
            raise UnsupportedModelError(f"{name}: cannot binarize a float {act.channels}-vector produced by "
                                        f"{act.producer.name if act.producer else 'the input'} (only accumulators)")
        height, width = act.pooled_hw()
        self.act = Activation("packed", act.channels, height, width, flattened_from=act.flattened_from)

    def _pools(self) -> None:
        """Emit the pending max-pools on packed data.

        A max-pool commutes with the sign of a monotone function: where the
        functions *after* the pool decrease (a negative BatchNorm scale), the
        max becomes a min, i.e. the OR of the -1 bits instead of the AND.
        """
        act = self.act
        h, w = act.height, act.width
        for pool_name, pool, position in act.pools:
            (kh, kw), (sh, sw) = _pool_geometry(pool_name, pool)
            out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
            shape = {"in_h": h, "in_w": w, "channels": act.channels, "kernel_h": kh, "kernel_w": kw,
                     "stride_h": sh, "stride_w": sw, "out_h": out_h, "out_w": out_w}
            minimum = decreasing_channels(act.channels, act.chain[position:])
            arrays = {"or_mask": channel_bits(minimum)} if minimum.any() else {}
            self.ops.append(Op(lib.BNN_OP_BMAXPOOL, pool_name, shape, arrays=arrays))
            h, w = out_h, out_w

    def to_float(self, name: str) -> None:
        """Make the activation float values (logits or tanh outputs) of a flat vector."""
        act = self.act
        if act.kind == "float":
            return
        if act.kind != "acc" or act.pools:
            raise UnsupportedModelError(f"{name}: needs float input, but the preceding "
                                        f"{'max-pool' if act.pools else act.kind} can only feed a binary layer")
        assert act.producer is not None and act.pre is not None
        chain = list(act.chain)
        trailing_tanh = bool(chain) and isinstance(chain[-1][1], nn.Tanh)
        if trailing_tanh:
            chain = chain[:-1]
        scale, offset = affine_of_chain(act.channels, chain, act.producer.name, allow_sign_preserving=False)
        act.producer.output_kind = lib.BNN_OUTPUT_FLOAT32
        act.producer.arrays.update(scale=(scale * act.pre.scale).astype(np.float32),
                                   bias=(offset + scale * act.pre.offset).astype(np.float32))
        elements = act.channels * act.height * act.width
        if trailing_tanh:
            self.ops.append(Op(lib.BNN_OP_TANH, act.chain[-1][0], {}, elements=elements))
        self.act = Activation("float", elements, 1, 1)

    # ---------------------------------------------------------------- modules

    def add(self, name: str, module: nn.Module) -> None:
        act = self.act
        if isinstance(module, (QConv2d, QLinear)) or type(module) in (nn.Conv2d, nn.Linear):
            self.layer(name, module)
        elif isinstance(module, QActivation):
            if not _is_sign(module.quantizer):
                raise UnsupportedModelError(f"{name}: activation quantizer {_quantizer_name(module.quantizer)} "
                                            "is not a sign (the kernels compute +-1 products)")
            self.to_packed(name)
        elif isinstance(module, nn.MaxPool2d):
            self.max_pool(name, module)
        elif isinstance(module, nn.Flatten):
            if module.start_dim != 1 or module.end_dim != -1:
                raise UnsupportedModelError(f"{name}: only Flatten(start_dim=1) is supported")
            self.flatten()
        elif isinstance(module, ELEMENTWISE_MONOTONE):
            if act.kind in ("acc", "facc"):
                act.chain.append((name, module))
            elif not isinstance(module, (nn.Identity, nn.Dropout)):
                raise UnsupportedModelError(f"{name}: {type(module).__name__} on a {act.kind} activation "
                                            "(the engine folds these only after a layer)")
        else:
            raise UnsupportedModelError(f"{name}: {type(module).__name__} is not supported by the engine")

    def flatten(self) -> None:
        act = self.act
        if act.kind == "image":  # NCHW flatten of the input: a (C*H*W) x 1 x 1 image in memory order
            self.act = Activation("image", act.channels * act.height * act.width, 1, 1)
        elif act.kind in ("acc", "facc", "packed"):
            act.flattened_from = (act.channels, *act.pooled_hw())
        # a float vector is flat already

    def max_pool(self, name: str, pool: nn.MaxPool2d) -> None:
        act = self.act
        if act.kind in ("acc", "facc"):
            act.pools.append((name, pool, len(act.chain)))  # applied on packed data once the sign is known
            act.pooled_hw()  # fail now if the pool does not fit
        elif act.kind == "packed":
            act.pools = [(name, pool, 0)]
            out_h, out_w = act.pooled_hw()
            (kh, kw), (sh, sw) = _pool_geometry(name, pool)
            shape = {"in_h": act.height, "in_w": act.width, "channels": act.channels, "kernel_h": kh,
                     "kernel_w": kw, "stride_h": sh, "stride_w": sw, "out_h": out_h, "out_w": out_w}
            self.ops.append(Op(lib.BNN_OP_BMAXPOOL, name, shape))
            self.act = Activation("packed", act.channels, out_h, out_w)
        else:
            raise UnsupportedModelError(f"{name}: max-pool on a {act.kind} activation is not supported")

    def layer(self, name: str, module: nn.Module) -> None:
        input_quantizer = getattr(module, "input_quantizer", None)
        weight_quantizer = getattr(module, "weight_quantizer", None)
        for role, q in (("input", input_quantizer), ("weight", weight_quantizer)):
            if q is not None and not (_is_sign(q) or (role == "weight" and _quantizer_name(q) == SCALED_SIGN)):
                raise UnsupportedModelError(f"{name}: {role} quantizer {_quantizer_name(q)} is not a sign")
        if isinstance(module, nn.Conv2d) and (module.groups != 1 or module.dilation != (1, 1)):
            raise UnsupportedModelError(f"{name}: grouped or dilated convolutions are not supported")
        if isinstance(module, nn.Conv2d) and isinstance(module.padding, str):
            raise UnsupportedModelError(f"{name}: padding mode strings are not supported; use integer padding")
        binary_weights = weight_quantizer is not None
        with torch.no_grad():
            quantized: Callable[[], torch.Tensor] | None = getattr(module, "quantized_weight", None)
            source = quantized() if quantized is not None else module.weight
            if not isinstance(source, torch.Tensor):
                raise UnsupportedModelError(f"{name}: its weight is not a tensor")
            weight = source.detach().float()
            layer_bias: torch.Tensor | None = getattr(module, "bias", None)
        bias = None if layer_bias is None else layer_bias.detach().float().numpy()
        if input_quantizer is not None:
            self.to_packed(name)
        binary_input = self.act.kind == "packed"
        if binary_input and binary_weights:
            self.binary_layer(name, module, weight, bias, scaled=_quantizer_name(weight_quantizer) == SCALED_SIGN)
        elif isinstance(module, nn.Conv2d) and self.act.kind == "image":
            self.float_conv(name, module, weight, bias)
        elif isinstance(module, nn.Linear):
            self.float_dense(name, module, weight, bias, packed=binary_input)
        else:
            raise UnsupportedModelError(f"{name}: a float-weight convolution on a {self.act.kind} activation "
                                        "is not supported (only on the input image)")

    def binary_layer(self, name: str, module: nn.Module, weight: torch.Tensor, bias: np.ndarray | None,
                     scaled: bool) -> None:
        act = self.act
        signs = torch.where(weight >= 0, 1.0, -1.0)
        alpha = weight.abs().flatten(1).amax(dim=1).numpy() if scaled else np.ones(weight.shape[0], np.float32)
        if isinstance(module, nn.Conv2d):
            pad_value = float(getattr(module, "pad_value", 0.0))
            w_nhwc = signs.permute(0, 2, 3, 1).numpy()
            (kh, kw), (sh, sw), (ph, pw) = conv_geometry(module)
            in_h, in_w = act.height, act.width
            if act.flattened_from is not None:
                raise UnsupportedModelError(f"{name}: a convolution after nn.Flatten")
            out_h, out_w = (in_h + 2 * ph - kh) // sh + 1, (in_w + 2 * pw - kw) // sw + 1
            pad_one = pad_value == 1.0
            if pad_value not in (0.0, 1.0) and (ph or pw):
                raise UnsupportedModelError(f"{name}: pad_value {pad_value} (the kernels pad with +1 or 0)")
            if ph >= kh or pw >= kw or out_h < 1 or out_w < 1:
                raise UnsupportedModelError(f"{name}: padding {module.padding} with kernel {module.kernel_size} "
                                            f"on a {in_h}x{in_w} input")
        else:
            out_features, in_h, in_w = weight.shape[0], act.height, act.width
            if act.channels * in_h * in_w != weight.shape[1]:
                raise UnsupportedModelError(f"{name}: expects {weight.shape[1]} inputs, gets "
                                            f"{act.channels}x{in_h}x{in_w}")
            if (in_h, in_w) != (1, 1) and act.flattened_from is None:
                raise UnsupportedModelError(f"{name}: a dense layer on a {in_h}x{in_w} map needs an nn.Flatten first")
            # torch flattens (C, H, W); the engine's packed map is (H, W, C): permute the weights to match.
            w_nhwc = signs.reshape(out_features, act.channels, in_h, in_w).permute(0, 2, 3, 1).numpy()
            kh, kw, sh, sw, ph, pw, out_h, out_w, pad_one = in_h, in_w, 1, 1, 0, 0, 1, 1, True
        channels = w_nhwc.shape[-1]
        packed = kernels.prepare_weights(kernels.pack(np.ascontiguousarray(w_nhwc, dtype=np.float32)), channels)
        shape = {"in_h": in_h, "in_w": in_w, "channels": channels, "out_channels": w_nhwc.shape[0], "kernel_h": kh, "kernel_w": kw,
                 "stride_h": sh, "stride_w": sw, "pad_top": ph, "pad_left": pw, "out_h": out_h, "out_w": out_w,
                 "pad_one": int(pad_one)}
        op = Op(lib.BNN_OP_BCONV, name, shape, weights=packed)
        self.ops.append(op)
        offset = np.zeros(w_nhwc.shape[0], np.float32) if bias is None else bias.astype(np.float32)
        self.act = Activation("acc", w_nhwc.shape[0], out_h, out_w, producer=op, k=channels * kh * kw,
                              pre=ChannelScale(alpha.astype(np.float32), offset))

    def float_conv(self, name: str, module: nn.Conv2d, weight: torch.Tensor, bias: np.ndarray | None) -> None:
        act = self.act
        (kh, kw), (sh, sw), (ph, pw) = conv_geometry(module)
        out_h, out_w = (act.height + 2 * ph - kh) // sh + 1, (act.width + 2 * pw - kw) // sw + 1
        out_channels = weight.shape[0]
        shape = {"in_h": act.height, "in_w": act.width, "channels": act.channels, "out_channels": out_channels,
                 "kernel_h": kh, "kernel_w": kw, "stride_h": sh, "stride_w": sw, "pad_top": ph, "pad_left": pw,
                 "out_h": out_h, "out_w": out_w}
        lanes = FLOAT_CONV_LANES
        padded = np.zeros((kh, kw, act.channels, -(-out_channels // lanes) * lanes), np.float32)
        padded[..., :out_channels] = weight.permute(2, 3, 1, 0).numpy()
        arrays = {
            "float_weights": padded,
            "float_bias": np.zeros(out_channels, np.float32) if bias is None else bias.astype(np.float32),
        }
        op = Op(lib.BNN_OP_FLOAT_CONV, name, shape, arrays=arrays)
        self.ops.append(op)
        self.act = Activation("facc", out_channels, out_h, out_w, producer=op)

    def float_dense(self, name: str, module: nn.Linear, weight: torch.Tensor, bias: np.ndarray | None,
                    packed: bool) -> None:
        act = self.act
        out_features = weight.shape[0]
        if packed:
            c, h, w = act.channels, act.height, act.width
            if weight.shape[1] != c * h * w:
                raise UnsupportedModelError(f"{name}: expects {weight.shape[1]} inputs, gets {c}x{h}x{w}")
            words = -(-c // 64)
            # Inputs are packed bits with per-pixel padding: lay the weights out on the same bit slots.
            slots = np.zeros((h, w, words * 64, out_features), np.float32)
            slots[:, :, :c, :] = weight.reshape(out_features, c, h, w).permute(2, 3, 1, 0).numpy()
            float_weights, k = slots.reshape(-1, out_features), h * w * words * 64
        else:
            if act.kind == "image":
                self.act = Activation("float", act.channels * act.height * act.width, 1, 1)
            self.to_float(name)
            float_weights, k = weight.t().contiguous().numpy(), self.act.channels
        if float_weights.shape[0] != k:
            raise UnsupportedModelError(f"{name}: expects {weight.shape[1]} inputs, gets {k}")
        arrays = {"float_weights": np.ascontiguousarray(float_weights),
                  "float_bias": np.zeros(out_features, np.float32) if bias is None else bias.astype(np.float32)}
        self.ops.append(Op(lib.BNN_OP_FLOAT_DENSE, name, {"channels": k, "out_channels": out_features},
                           arrays=arrays, packed_input=packed))
        self.act = Activation("float", out_features, 1, 1)

    def finish(self) -> int:
        """Make the output float logits; returns the number of outputs per image."""
        self.to_float("output")
        return self.act.channels


def conv_geometry(conv: nn.Conv2d) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(kernel, stride, padding) of a convolution as integer pairs (string padding is rejected earlier)."""
    def pair(value: object) -> tuple[int, int]:
        assert isinstance(value, tuple) and len(value) == 2, value
        return int(value[0]), int(value[1])

    return pair(conv.kernel_size), pair(conv.stride), pair(conv.padding)


def channel_bits(flags: np.ndarray) -> np.ndarray:
    """Per-channel booleans as packed uint64 words (bit c of word c // 64)."""
    words = -(-flags.shape[0] // 64)
    bits = np.zeros(words * 64, dtype=np.uint64)
    bits[: flags.shape[0]] = flags.astype(np.uint64)
    return (bits.reshape(words, 64) << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)


def decreasing_channels(channels: int, chain: Chain) -> np.ndarray:
    """Channels where the composition of ``chain`` (monotone per channel) decreases."""
    decreasing = np.zeros(channels, dtype=bool)
    for _, module in chain:
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.affine:
            decreasing ^= module.weight.detach().numpy() < 0
    return decreasing


def _pool_geometry(name: str, pool: nn.MaxPool2d) -> tuple[tuple[int, int], tuple[int, int]]:
    def pair(v: int | tuple[int, ...]) -> tuple[int, int]:
        return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))

    if pair(pool.padding) != (0, 0) or pair(pool.dilation) != (1, 1) or pool.ceil_mode:
        raise UnsupportedModelError(f"{name}: only unpadded, undilated, floor-mode max-pooling is supported")
    kernel = pair(pool.kernel_size)
    return kernel, pair(pool.stride if pool.stride is not None else pool.kernel_size)
