"""Python API of the XNOR-popcount C kernels (``bnnbench._kernels``, cffi API mode).

Conventions (DESIGN.md): bit 1 means -1 and bit 0 means +1; tensors are NHWC
with channels packed into little-endian-first 64-bit words, unused high bits
0; the dot product of two packed vectors of K channels is
``K - 2 * popcount(a ^ b)``.  Every entry point checks dtypes, shapes,
contiguity and channel counts here, before any pointer reaches C; the C layer
re-checks geometry and returns a status instead of crashing.

The ISA path is chosen once at import from CPUID (the best available), or
forced with ``BNNBENCH_ISA=scalar|avx2|avx512|neon``; ``set_isa``/``use_isa``
switch it at run time so tests can cover every path on one machine.  Calls
release the GIL (cffi API mode); ``threads`` splits output rows with OpenMP.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bnnbench._kernels import ffi, lib
from bnnbench.errors import IsaUnavailableError

ISA_NAMES: dict[str, int] = {
    "scalar": lib.BNN_ISA_SCALAR,
    "avx2": lib.BNN_ISA_AVX2,
    "avx512": lib.BNN_ISA_AVX512,
    "neon": lib.BNN_ISA_NEON,
}
CPU_FEATURES: dict[str, int] = {
    "popcnt": lib.BNN_CPU_POPCNT,
    "avx2": lib.BNN_CPU_AVX2,
    "avx512f": lib.BNN_CPU_AVX512F,
    "avx512dq": lib.BNN_CPU_AVX512DQ,
    "avx512bw": lib.BNN_CPU_AVX512BW,
    "avx512vl": lib.BNN_CPU_AVX512VL,
    "avx512vpopcntdq": lib.BNN_CPU_AVX512VPOPCNTDQ,
    "neon": lib.BNN_CPU_NEON,
}
OutputKind = Literal["float32", "int32", "packed"]
_OUTPUT_KINDS: dict[str, int] = {
    "int32": lib.BNN_OUTPUT_INT32,
    "float32": lib.BNN_OUTPUT_FLOAT32,
    "packed": lib.BNN_OUTPUT_PACKED,
}
WORD_BITS = 64


class KernelError(RuntimeError):
    """The C layer refused a call that passed the Python checks (or ran out of memory)."""


# ---------------------------------------------------------------- ISA dispatch


def available_isas() -> tuple[str, ...]:
    """ISA paths compiled into this build and supported by this CPU, best last."""
    return tuple(name for name, code in ISA_NAMES.items() if lib.bnn_isa_available(code))


def isa() -> str:
    """The ISA path in use."""
    return ffi.string(lib.bnn_isa_name(lib.bnn_get_isa())).decode()


def set_isa(name: str) -> None:
    """Force an ISA path; a path this CPU or build lacks is a clear error."""
    if name not in ISA_NAMES:
        raise ValueError(f"unknown ISA {name!r}; choose one of {', '.join(ISA_NAMES)}")
    if lib.bnn_set_isa(ISA_NAMES[name]) != lib.BNN_OK:
        raise IsaUnavailableError(
            f"ISA path {name!r} is not available on this machine "
            f"(CPU features: {', '.join(f for f, on in cpu_features().items() if on) or 'none'}; "
            f"available paths: {', '.join(available_isas())})"
        )


@contextmanager
def use_isa(name: str) -> Iterator[None]:
    """Run a block on a given ISA path, restoring the previous one afterwards."""
    previous = isa()
    set_isa(name)
    try:
        yield
    finally:
        set_isa(previous)


def cpu_features() -> dict[str, bool]:
    """CPU features relevant to the kernels, as detected by CPUID/XGETBV."""
    mask = lib.bnn_cpu_features()
    return {name: bool(mask & bit) for name, bit in CPU_FEATURES.items()}


def build_info() -> dict[str, object]:
    """How the kernels were compiled: compiler, flags, OpenMP."""
    return {
        "compiler": ffi.string(lib.bnn_compiler_version()).decode(),
        "flags": ffi.string(lib.bnn_build_flags()).decode(),
        "openmp": bool(lib.bnn_openmp_enabled()),
        "max_threads": int(lib.bnn_max_threads()),
    }


def _select_isa_from_environment() -> None:
    forced = os.environ.get("BNNBENCH_ISA", "").strip().lower()
    if forced:
        try:
            set_isa(forced)
        except (ValueError, IsaUnavailableError) as exc:
            raise IsaUnavailableError(f"BNNBENCH_ISA={forced}: {exc}") from None


_select_isa_from_environment()


# ------------------------------------------------------------------ validation


def _words(channels: int) -> int:
    return (channels + WORD_BITS - 1) // WORD_BITS


def _check_array(name: str, array: object, dtype: type, ndim: int | None = None) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of {np.dtype(dtype).name}, got {type(array).__name__}")
    if array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype).name}, got {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {array.shape}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{name} is not C-contiguous; pass np.ascontiguousarray({name})")
    return array


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_packed(name: str, packed: object, channels: int, ndim: int | None) -> np.ndarray:
    """A packed uint64 array whose last axis holds ``channels`` bits with zero padding bits."""
    array = _check_array(name, packed, np.uint64, ndim)
    if array.shape[-1] != _words(channels):
        raise ValueError(
            f"{name} has {array.shape[-1]} words per pixel but {channels} channels need "
            f"ceil({channels}/64) = {_words(channels)}"
        )
    if channels % WORD_BITS and array.size:
        used = np.uint64((1 << (channels % WORD_BITS)) - 1)
        if np.any(array[..., -1] & ~used):
            raise ValueError(
                f"{name} has bits set beyond channel {channels} in its last word; padding bits must be 0 "
                f"(pack() produces them so)"
            )
    return array


def _check_status(status: int, what: str) -> None:
    if status == lib.BNN_OK:
        return
    if status == lib.BNN_ENAN:
        raise ValueError(f"{what}: input contains NaN, which has no sign to binarize")
    if status == lib.BNN_ENOMEM:
        raise MemoryError(f"{what}: the kernel could not allocate its scratch buffer")
    raise KernelError(f"{what}: the C kernel rejected its arguments (status {status})")


def _ptr(ctype: str, array: np.ndarray) -> object:
    return ffi.cast(ctype, ffi.from_buffer(array))


# ------------------------------------------------------------- pack / unpack


def pack(x: np.ndarray, threads: int = 1) -> np.ndarray:
    """Pack float32 ``[..., C]`` into uint64 ``[..., ceil(C/64)]``: bit = 1 where x < 0.

    ``-0.0`` packs as +1 (sign(0) = +1); NaN is an error.
    """
    x = _check_array("x", x, np.float32)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"x must have a non-empty last (channel) axis, got shape {x.shape}")
    threads = _check_positive_int("threads", threads)
    channels = x.shape[-1]
    out = np.empty(x.shape[:-1] + (_words(channels),), dtype=np.uint64)
    rows = x.size // channels
    if rows:
        status = lib.bnn_pack_f32(_ptr("const float *", x), rows, channels, _ptr("uint64_t *", out), threads)
        _check_status(status, "pack")
    return out


def unpack(x_packed: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of :func:`pack` up to sign: float32 ``[..., channels]`` of -1/+1 (for tests)."""
    channels = _check_positive_int("channels", channels)
    packed = _check_packed("x_packed", x_packed, channels, None)
    if packed.ndim == 0:
        raise ValueError("x_packed must have at least one (word) axis")
    out = np.empty(packed.shape[:-1] + (channels,), dtype=np.float32)
    rows = out.size // channels
    if rows:
        _check_status(
            lib.bnn_unpack_f32(_ptr("const uint64_t *", packed), rows, channels, _ptr("float *", out)), "unpack"
        )
    return out


# --------------------------------------------------------------- weights


@dataclass(frozen=True)
class PackedWeights:
    """Binary weights prepared once for the kernels.

    ``raw`` is the packed tensor ``[O, kh, kw, words]``; ``panel`` interleaves
    8 output channels per vector for the SIMD paths; ``tap_plus_one[t, o]`` is
    what a +1 input tap contributes (``channels - 2 popcount(w[o, t])``), used
    by the zero-padding correction.
    """

    raw: np.ndarray
    panel: np.ndarray
    tap_plus_one: np.ndarray
    channels: int

    @property
    def out_channels(self) -> int:
        return int(self.raw.shape[0])

    @property
    def kernel_size(self) -> tuple[int, int]:
        return int(self.raw.shape[1]), int(self.raw.shape[2])

    @property
    def nbytes(self) -> int:
        """Bytes of the packed weights themselves (the deployed size)."""
        return int(self.raw.nbytes)


def prepare_weights(w_packed: np.ndarray, channels: int) -> PackedWeights:
    """Prepare packed weights ``[O, kh, kw, words]`` (conv) or ``[O, words]`` (dense) once."""
    channels = _check_positive_int("channels", channels)
    if isinstance(w_packed, np.ndarray) and w_packed.ndim == 2:
        w_packed = w_packed.reshape(w_packed.shape[0], 1, 1, w_packed.shape[1])
    raw = _check_packed("w_packed", w_packed, channels, 4)
    out_channels, kernel_h, kernel_w, _ = raw.shape
    if out_channels == 0 or kernel_h == 0 or kernel_w == 0:
        raise ValueError(f"w_packed must have non-zero output channels and kernel size, got shape {raw.shape}")
    taps = kernel_h * kernel_w
    panel = np.empty(lib.bnn_panel_words(out_channels, taps, channels), dtype=np.uint64)
    tap_plus_one = np.empty((taps, out_channels), dtype=np.int32)
    status = lib.bnn_prepare_weights(
        _ptr("const uint64_t *", raw), out_channels, taps, channels, _ptr("uint64_t *", panel),
        _ptr("int32_t *", tap_plus_one),
    )
    _check_status(status, "prepare_weights")
    return PackedWeights(raw=raw, panel=panel, tap_plus_one=tap_plus_one, channels=channels)


def _as_weights(w: np.ndarray | PackedWeights, channels: int, name: str) -> PackedWeights:
    if isinstance(w, PackedWeights):
        if w.channels != channels:
            raise ValueError(f"{name} were prepared for {w.channels} channels, not {channels}")
        return w
    return prepare_weights(w, channels)


# ------------------------------------------------------------ thresholds


@dataclass(frozen=True)
class Thresholds:
    """Per-channel integer thresholds for packed output (BatchNorm + sign folded).

    Output bit o is 1 (-1) iff ``dot < threshold[o]``, or ``dot > threshold[o]``
    where ``negative[o]`` (the folded scale is negative, so the comparison flips).
    """

    threshold: np.ndarray
    negative: np.ndarray

    def __post_init__(self) -> None:
        _check_array("threshold", self.threshold, np.int32, 1)
        _check_array("negative", self.negative, np.bool_, 1)
        if self.threshold.shape != self.negative.shape:
            raise ValueError(
                f"threshold and negative must have the same shape, got {self.threshold.shape} "
                f"and {self.negative.shape}"
            )


def thresholds_from_affine(scale: np.ndarray, bias: np.ndarray, k: int) -> Thresholds:
    """Fold ``sign(scale * dot + bias)`` (float32, sign(0) = +1) into integer thresholds.

    Exact for every integer dot in ``[-k, k]``, not just up to rounding: the
    real crossing ``-bias / scale`` is only a first guess, and the float32
    expression the float output computes (``scale * float(dot) + bias``,
    no fused multiply-add) is evaluated at the integers around it to find
    where its sign really changes.  So packed output equals ``pack`` of the
    float output bit for bit.
    """
    scale = _check_array("scale", scale, np.float32, 1)
    bias = _check_array("bias", bias, np.float32, 1)
    if scale.shape != bias.shape:
        raise ValueError(f"scale and bias must have the same shape, got {scale.shape} and {bias.shape}")
    if not (np.all(np.isfinite(scale)) and np.all(np.isfinite(bias))):
        raise ValueError("scale and bias must be finite")
    k = _check_positive_int("k", k)
    if k >= 1 << 24:
        raise ValueError(f"k = {k} is beyond the integers float32 represents exactly (2**24)")
    negative = scale < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(scale != 0, -bias.astype(np.float64) / scale.astype(np.float64), 0.0)
    crossing = np.clip(crossing, -k - 8, k + 8)
    # float32 rounding moves the crossing by at most |crossing| * 2**-23 < 2 integers.
    offsets = np.arange(-4, 5)
    guess = np.where(negative, np.floor(crossing), np.ceil(crossing)).astype(np.int64)
    candidates = guess[:, None] + offsets[None, :]
    values = scale[:, None] * candidates.astype(np.float32) + bias[:, None]
    plus_one = values >= np.float32(0)
    # Increasing: threshold = first candidate giving +1.  Decreasing: the last one.
    first = candidates[np.arange(len(scale)), plus_one.argmax(axis=1)]
    last = candidates[np.arange(len(scale)), len(offsets) - 1 - plus_one[:, ::-1].argmax(axis=1)]
    threshold = np.where(negative, last, first)
    none_plus = ~plus_one.any(axis=1)
    # Constant channels (scale 0) or crossings clipped beyond the range: all +1 or all -1.
    threshold = np.where(none_plus, np.where(negative, -k - 1, k + 1), threshold)
    threshold = np.where(scale == 0, np.where(bias >= 0, -k - 1, k + 1), threshold)
    threshold = np.clip(threshold, -k - 1, k + 1).astype(np.int32)
    return Thresholds(threshold=np.ascontiguousarray(threshold), negative=np.ascontiguousarray(negative))


# ------------------------------------------------------------ convolution


def _conv_geometry(size: int, kernel: int, stride: int, padding: str | int, axis: str) -> tuple[int, int]:
    """(output size, padding before) for one spatial axis."""
    if padding == "same":  # Keras/larq: output ceil(size/stride), extra padding after
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2
    if padding == "valid":
        if kernel > size:
            raise ValueError(f"kernel {axis} {kernel} is larger than the input {axis} {size} with valid padding")
        return (size - kernel) // stride + 1, 0
    pad = int(padding)
    if pad < 0 or pad >= kernel:
        raise ValueError(f"padding {pad} must be in [0, kernel {axis} - 1 = {kernel - 1}]")
    if size + 2 * pad < kernel:
        raise ValueError(f"kernel {axis} {kernel} is larger than the padded input {axis} {size + 2 * pad}")
    return (size + 2 * pad - kernel) // stride + 1, pad


def _pair(name: str, value: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {value!r}")
        return _check_positive_int(name, value[0]), _check_positive_int(name, value[1])
    value = _check_positive_int(name, value)
    return value, value


def _padding_pair(padding: str | int | tuple[int, int]) -> tuple[str | int, str | int]:
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same', 'valid', an int or a pair of ints, got {padding!r}")
        return padding, padding
    if isinstance(padding, tuple) and len(padding) == 2:
        return tuple(_check_nonnegative("padding", p) for p in padding)  # type: ignore[return-value]
    return _check_nonnegative("padding", padding), _check_nonnegative("padding", padding)


def _check_nonnegative(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be 'same', 'valid' or a non-negative integer (pair), got {value!r}")
    return int(value)


def _result_array(out: np.ndarray | None, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A fresh result array, or the caller's ``out`` once it is checked to fit exactly."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    array = _check_array("out", out, dtype, len(shape))
    if array.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {array.shape}")
    return array


def _output_struct(
    output: str,
    out_channels: int,
    out_shape: tuple[int, ...],
    scale: np.ndarray | None,
    bias: np.ndarray | None,
    thresholds: Thresholds | np.ndarray | None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, object, list[object]]:
    """Allocate (or check ``out``) the result and fill a ``bnn_output``; returns (result, struct, keep-alive)."""
    if output not in _OUTPUT_KINDS:
        raise ValueError(f"output must be one of {', '.join(_OUTPUT_KINDS)}, got {output!r}")
    spec = ffi.new("bnn_output *")
    spec.kind = _OUTPUT_KINDS[output]
    keep: list[object] = []
    if output != "float32" and (scale is not None or bias is not None):
        raise ValueError(f"scale and bias apply to float32 output, not {output!r}")
    if output != "packed" and thresholds is not None:
        raise ValueError(f"thresholds apply to packed output, not {output!r}")
    if output == "int32":
        result = _result_array(out, out_shape + (out_channels,), np.int32)
    elif output == "float32":
        scale = np.ones(out_channels, np.float32) if scale is None else _check_array("scale", scale, np.float32, 1)
        bias = np.zeros(out_channels, np.float32) if bias is None else _check_array("bias", bias, np.float32, 1)
        for name, vector in (("scale", scale), ("bias", bias)):
            if vector.shape != (out_channels,):
                raise ValueError(f"{name} must have shape ({out_channels},), got {vector.shape}")
        result = _result_array(out, out_shape + (out_channels,), np.float32)
        keep += [scale, bias]
        spec.scale = _ptr("const float *", scale)
        spec.bias = _ptr("const float *", bias)
    else:
        if thresholds is None:
            raise ValueError("packed output needs thresholds (see thresholds_from_affine)")
        if not isinstance(thresholds, Thresholds):
            array = _check_array("thresholds", thresholds, np.int32, 1)
            thresholds = Thresholds(threshold=array, negative=np.zeros(array.shape, dtype=np.bool_))
        if thresholds.threshold.shape != (out_channels,):
            raise ValueError(f"thresholds must have shape ({out_channels},), got {thresholds.threshold.shape}")
        negative = thresholds.negative.view(np.uint8)
        result = _result_array(out, out_shape + (_words(out_channels),), np.uint64)
        keep += [thresholds.threshold, negative]
        spec.threshold = _ptr("const int32_t *", thresholds.threshold)
        spec.negative = _ptr("const uint8_t *", negative)
    spec.data = _ptr("void *", result)
    keep.append(result)
    return result, spec, keep


def bconv2d(
    x_packed: np.ndarray,
    w_packed: np.ndarray | PackedWeights,
    channels: int,
    stride: int | tuple[int, int] = 1,
    padding: str | int | tuple[int, int] = "same",
    pad_value: float = 1.0,
    output: OutputKind = "float32",
    scale: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    thresholds: Thresholds | np.ndarray | None = None,
    threads: int = 1,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Binary 2-D convolution of packed NHWC input ``[N, H, W, words]``.

    ``w_packed`` is ``[O, kh, kw, words]`` (or :class:`PackedWeights`, prepared
    once).  ``padding``: ``"same"`` (Keras: output ceil(H/stride)),
    ``"valid"``, or explicit symmetric padding.  ``pad_value`` is +1.0
    ("same-one", free in the bit domain) or 0.0 (zero padding, corrected per
    position).  ``output``: int32 dot products; float32 ``scale * dot + bias``
    (BatchNorm folded); or packed bits through ``thresholds`` (BatchNorm and
    sign folded), so binary layers chain without floats.  ``out``, if given,
    receives the result (it must have exactly the result's shape and dtype).
    """
    channels = _check_positive_int("channels", channels)
    x = _check_packed("x_packed", x_packed, channels, 4)
    weights = _as_weights(w_packed, channels, "w_packed")
    threads = _check_positive_int("threads", threads)
    if pad_value not in (1.0, 0.0):
        raise ValueError(f"pad_value must be 1.0 (same-one) or 0.0 (zero padding), got {pad_value!r}")
    stride_h, stride_w = _pair("stride", stride)
    pad_h, pad_w = _padding_pair(padding)
    batch, in_h, in_w, _ = x.shape
    if batch == 0 or in_h == 0 or in_w == 0:
        raise ValueError(f"x_packed must have non-zero batch, height and width, got shape {x.shape}")
    kernel_h, kernel_w = weights.kernel_size
    out_h, pad_top = _conv_geometry(in_h, kernel_h, stride_h, pad_h, "height")
    out_w, pad_left = _conv_geometry(in_w, kernel_w, stride_w, pad_w, "width")

    shape = ffi.new("bnn_conv_shape *")
    shape.batch, shape.in_h, shape.in_w, shape.channels = batch, in_h, in_w, channels
    shape.out_channels, shape.kernel_h, shape.kernel_w = weights.out_channels, kernel_h, kernel_w
    shape.stride_h, shape.stride_w, shape.pad_top, shape.pad_left = stride_h, stride_w, pad_top, pad_left
    shape.out_h, shape.out_w, shape.pad_one = out_h, out_w, int(pad_value == 1.0)
    result, spec, keep = _output_struct(output, weights.out_channels, (batch, out_h, out_w), scale, bias, thresholds,
                                        out)

    spec_w = ffi.new("bnn_weights *")
    spec_w.out_channels, spec_w.taps, spec_w.channels = weights.out_channels, kernel_h * kernel_w, channels
    spec_w.raw = _ptr("const uint64_t *", weights.raw)
    spec_w.panel = _ptr("const uint64_t *", weights.panel)
    spec_w.tap_plus_one = _ptr("const int32_t *", weights.tap_plus_one)
    status = lib.bnn_bconv2d(shape, _ptr("const uint64_t *", x), spec_w, spec, threads)
    _check_status(status, "bconv2d")
    del keep
    return result


def bdense(
    x_packed: np.ndarray,
    w_packed: np.ndarray | PackedWeights,
    k: int,
    output: OutputKind = "float32",
    scale: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    thresholds: Thresholds | np.ndarray | None = None,
    threads: int = 1,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Binary fully-connected layer: packed ``[M, words]`` x packed ``[N, words]`` over K true inputs.

    Output transforms as in :func:`bconv2d`; result ``[M, N]`` (or ``[M, ceil(N/64)]`` packed),
    written into ``out`` if given.
    """
    k = _check_positive_int("k", k)
    x = _check_packed("x_packed", x_packed, k, 2)
    weights = _as_weights(w_packed, k, "w_packed")
    if weights.kernel_size != (1, 1):
        raise ValueError(f"dense weights must be [N, words] (1x1 taps), got kernel {weights.kernel_size}")
    if x.shape[0] == 0:
        raise ValueError("x_packed must have at least one row")
    if out is not None:
        _check_array("out", out, {"int32": np.int32, "float32": np.float32}.get(output, np.uint64), 2)
    result = bconv2d(
        x.reshape(1, 1, x.shape[0], x.shape[1]), weights, k, padding="valid", output=output,
        scale=scale, bias=bias, thresholds=thresholds, threads=threads,
        out=None if out is None else out.reshape(1, 1, *out.shape),
    )
    return result.reshape(x.shape[0], result.shape[-1])


def bgemm(a_packed: np.ndarray, b_packed: np.ndarray | PackedWeights, k: int, threads: int = 1) -> np.ndarray:
    """int32 ``[M, N]`` of +-1 dot products of packed rows ``a [M, words]`` and ``b [N, words]`` over K bits."""
    return bdense(a_packed, b_packed, k, output="int32", threads=threads)


# --------------------------------------------------------------- pooling


def bmaxpool2d(
    x_packed: np.ndarray,
    channels: int,
    kernel: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    padding: str | int | tuple[int, int] = "valid",
    threads: int = 1,
) -> np.ndarray:
    """Max-pool +-1 values on packed NHWC data: the AND of the window's words.

    Padded taps are ignored (as max-pooling with -inf padding).  ``stride``
    defaults to the kernel size.
    """
    channels = _check_positive_int("channels", channels)
    x = _check_packed("x_packed", x_packed, channels, 4)
    kernel_h, kernel_w = _pair("kernel", kernel)
    stride_h, stride_w = _pair("stride", stride if stride is not None else (kernel_h, kernel_w))
    pad_h, pad_w = _padding_pair(padding)
    threads = _check_positive_int("threads", threads)
    batch, in_h, in_w, words = x.shape
    if batch == 0 or in_h == 0 or in_w == 0:
        raise ValueError(f"x_packed must have non-zero batch, height and width, got shape {x.shape}")
    out_h, pad_top = _conv_geometry(in_h, kernel_h, stride_h, pad_h, "height")
    out_w, pad_left = _conv_geometry(in_w, kernel_w, stride_w, pad_w, "width")
    out = np.empty((batch, out_h, out_w, words), dtype=np.uint64)
    status = lib.bnn_bmaxpool2d(
        _ptr("const uint64_t *", x), batch, in_h, in_w, words, kernel_h, kernel_w, stride_h, stride_w,
        pad_top, pad_left, out_h, out_w, _ptr("uint64_t *", out), threads,
    )
    _check_status(status, "bmaxpool2d")
    return out


# --------------------------------------------------------------- roofline


def roofline_run(isa_name: str, iterations: int) -> tuple[int, int]:
    """Run the register-only xor+popcount+add loop; returns (bit-MACs done, checksum)."""
    if isa_name not in ISA_NAMES:
        raise ValueError(f"unknown ISA {isa_name!r}")
    code = ISA_NAMES[isa_name]
    if not lib.bnn_isa_available(code):
        raise IsaUnavailableError(f"ISA path {isa_name!r} is not available on this machine")
    iterations = _check_positive_int("iterations", iterations)
    checksum = int(lib.bnn_roofline_run(code, iterations))
    return iterations * int(lib.bnn_roofline_bits(code)), checksum
