"""Independent numpy reference for the binary kernels, written from the +-1
definition (never through the C code): unpacked values are -1/+1 integers,
convolution is a sum of products over a padded tensor."""

from __future__ import annotations

import numpy as np

BIT_WEIGHTS = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))


def pack(values: np.ndarray) -> np.ndarray:
    """-1/+1 (or float) values [..., C] to uint64 words: bit 1 where the value is negative."""
    channels = values.shape[-1]
    words = -(-channels // 64)
    bits = np.zeros(values.shape[:-1] + (words * 64,), dtype=np.uint64)
    bits[..., :channels] = values < 0
    return (bits.reshape(values.shape[:-1] + (words, 64)) * BIT_WEIGHTS).sum(axis=-1, dtype=np.uint64)


def random_pm1(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice(np.array([-1, 1], dtype=np.int64), size=shape)


def same_geometry(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """Keras 'same': (output, pad before, pad after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def geometry(size: int, kernel: int, stride: int, padding: str | int) -> tuple[int, int, int]:
    if padding == "same":
        return same_geometry(size, kernel, stride)
    if padding == "valid":
        return (size - kernel) // stride + 1, 0, 0
    out = (size + 2 * padding - kernel) // stride + 1
    return out, padding, padding


def conv(
    x: np.ndarray, w: np.ndarray, stride: int, padding: str | int, pad_value: int
) -> np.ndarray:
    """int64 [N, OH, OW, O] = sum of x * w over the window, padded taps reading pad_value."""
    batch, height, width, channels = x.shape
    out_channels, kernel_h, kernel_w, _ = w.shape
    out_h, top, bottom = geometry(height, kernel_h, stride, padding)
    out_w, left, right = geometry(width, kernel_w, stride, padding)
    padded = np.full((batch, height + top + bottom, width + left + right, channels), pad_value, dtype=np.int64)
    padded[:, top : top + height, left : left + width] = x
    result = np.zeros((batch, out_h, out_w, out_channels), dtype=np.int64)
    for ky in range(kernel_h):
        for kx in range(kernel_w):
            window = padded[:, ky : ky + (out_h - 1) * stride + 1 : stride, kx : kx + (out_w - 1) * stride + 1 : stride]
            result += np.einsum("nhwc,oc->nhwo", window, w[:, ky, kx, :])
    return result


def maxpool(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Valid max-pool of [N, H, W, C] values."""
    out_h = (x.shape[1] - kernel) // stride + 1
    out_w = (x.shape[2] - kernel) // stride + 1
    result = np.full((x.shape[0], out_h, out_w, x.shape[3]), -np.inf)
    for ky in range(kernel):
        for kx in range(kernel):
            window = x[:, ky : ky + (out_h - 1) * stride + 1 : stride, kx : kx + (out_w - 1) * stride + 1 : stride]
            result = np.maximum(result, window)
    return result
