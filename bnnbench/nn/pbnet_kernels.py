"""C kernels for PBNet training: counter-based noise, stochastic max pooling, sampled activations.

A PBNet-S training step draws millions of random numbers: one standard normal
per input of each stochastic max pooling and one logistic number per sampled
binary activation. torch's CPU generator makes them one after another on one
thread (about 4 ns per normal on the reference machine), a quarter of a step,
and the sampled activation is some twenty elementwise torch operations. The
kernels in ``kernels/src/noise.h`` compute value ``i`` of a stream as a
pure function of ``(seed, i)`` (Philox4x32-10, Salmon et al. 2011), so they
fill a tensor on every thread and SIMD lane at once, and give the same bits
whatever the thread count or ISA path. Box-Muller turns the bits into normals
and ``ln u - ln(1 - u)`` into logistic numbers (details and ranges in the C
header). Two fused kernels use them: the argmax of sampled max pooling
(:func:`noisy_max_pool2d_indices`) and the PBNet-S activation with its
Binary-Concrete gradient (:func:`sampled_sign`), each one pass over memory,
in float32.

Each call takes a ``seed``; :func:`draw_seed` draws one from torch's default
generator, so ``torch.manual_seed`` still makes a training run reproducible.
Inputs are checked here (dtype, device, contiguity, shapes) before any pointer
reaches C.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from bnnbench._kernels import ffi, lib

__all__ = ["draw_seed", "standard_normal", "standard_logistic", "noisy_max_pool2d_indices", "sampled_sign"]

_SEED_LIMIT = 2**64


def draw_seed() -> int:
    """A 63-bit seed from torch's default generator (follows ``torch.manual_seed``)."""
    return int(torch.randint(0, 2**63 - 1, (1,), dtype=torch.int64))


def _threads(threads: int | None) -> int:
    if threads is None:
        return torch.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    return threads


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < _SEED_LIMIT:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return seed


def _check_status(status: int, what: str) -> None:
    if status == lib.BNN_ENOMEM:
        raise MemoryError(f"{what}: the kernel could not allocate its scratch buffer")
    if status != lib.BNN_OK:
        raise RuntimeError(f"{what}: the C kernel rejected its arguments (status {status})")


def _shape(shape: Sequence[int]) -> tuple[int, ...]:
    dims = tuple(shape)
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims):
        raise ValueError(f"shape must be a sequence of non-negative integers, got {shape!r}")
    return dims


def standard_normal(count: int, seed: int, *, first: int = 0, threads: int | None = None) -> Tensor:
    """Values ``first .. first + count - 1`` of the standard normal stream ``seed`` (float32)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    if isinstance(first, bool) or not isinstance(first, int) or not 0 <= first <= _SEED_LIMIT - 1 - count:
        raise ValueError(f"first must be an integer with first + count <= 2**64 - 1, got {first!r}")
    out = torch.empty(count, dtype=torch.float32)
    if count:
        status = lib.bnn_normal_f32(
            ffi.cast("float *", out.data_ptr()), first, count, _check_seed(seed), _threads(threads)
        )
        _check_status(status, "standard_normal")
    return out


def standard_logistic(shape: Sequence[int], seed: int, *, threads: int | None = None) -> Tensor:
    """A float32 tensor of ``shape`` holding values ``0, 1, ...`` of the logistic stream ``seed``.

    The standard logistic distribution has CDF ``1 / (1 + exp(-x))``: the
    noise of the Binary-Concrete relaxation (Maddison et al. 2017).
    """
    out = torch.empty(_shape(shape), dtype=torch.float32)
    if out.numel():
        status = lib.bnn_logistic_f32(
            ffi.cast("float *", out.data_ptr()), 0, out.numel(), _check_seed(seed), _threads(threads)
        )
        _check_status(status, "standard_logistic")
    return out


def _check_moments(name: str, t: object, shape: torch.Size | None, *, planes: bool = True) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype != torch.float32:
        raise TypeError(f"{name} must be float32, got {t.dtype}")
    if t.device.type != "cpu":
        raise ValueError(f"{name} must be on the CPU, got device {t.device}")
    if planes and t.dim() != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(t.shape)}")
    if shape is not None and t.shape != shape:
        raise ValueError(f"{name} has shape {tuple(t.shape)} but mean has {tuple(shape)}")
    if not t.is_contiguous():
        raise ValueError(f"{name} is not contiguous; pass {name}.contiguous()")
    return t


def noisy_max_pool2d_indices(
    mean: Tensor, var: Tensor, kernel_size: int, seed: int, *, threads: int | None = None
) -> Tensor:
    """Argmax of one Gaussian sample per input over non-overlapping ``kernel_size`` windows.

    The stochastic max pooling of Peters & Welling (2018, section 3.2): sample
    ``s = mean + sqrt(var) n`` with ``n`` value ``i`` of the normal stream
    ``seed`` for flat element ``i``, and return each window's argmax as the
    position within its ``(H, W)`` plane, shape ``(N, C, H // k, W // k)``
    (int64; the layout of ``torch.nn.functional.max_pool2d(...,
    return_indices=True)``). ``mean`` and ``var`` are contiguous float32 NCHW
    tensors of one shape, ``var >= 0``; nothing is differentiated here.
    """
    mean = _check_moments("mean", mean, None)
    var = _check_moments("var", var, mean.shape)
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
        raise ValueError(f"kernel_size must be a positive integer, got {kernel_size!r}")
    n, c, height, width = mean.shape
    if kernel_size > min(height, width):
        raise ValueError(f"kernel_size {kernel_size} is larger than the input plane {height}x{width}")
    if max(height, width) >= 2**31:
        raise ValueError(f"planes of {height}x{width} are too large for the kernel (each side must be < 2**31)")
    indices = torch.empty((n, c, height // kernel_size, width // kernel_size), dtype=torch.int64)
    if indices.numel():
        status = lib.bnn_noisy_maxpool2d_argmax(
            ffi.cast("const float *", mean.data_ptr()),
            ffi.cast("const float *", var.data_ptr()),
            n * c,
            height,
            width,
            kernel_size,
            _check_seed(seed),
            ffi.cast("int64_t *", indices.data_ptr()),
            _threads(threads),
        )
        _check_status(status, "noisy_max_pool2d_indices")
    return indices


def sampled_sign(
    mean: Tensor, var: Tensor, temperature: float, seed: int, *, threads: int | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """PBNet-S binary activations of Gaussians ``(mean, var)`` and their Binary-Concrete derivatives.

    Returns ``(sign, d_mean, d_var)``, float32 tensors of ``mean``'s shape:
    ``sign`` is ±1 with ``P(+1) = Phi(mean / sigma)``, ``sigma = sqrt(var +
    1e-8)``, drawn as ``logit q + L >= 0`` with ``L`` value ``i`` of the
    logistic stream ``seed`` for flat element ``i``; ``d_mean`` and ``d_var``
    are the derivatives of the relaxed sample ``2 sigmoid((logit q + L) / tau)
    - 1`` with respect to ``mean`` and ``var`` (0 where ``|mean / sigma| > 8``).
    See :class:`bnnbench.nn.pbnet.BinaryActivation` for the model and
    ``kernels/src/noise.h`` for the float32 evaluation of ``Phi``.
    """
    mean = _check_moments("mean", mean, None, planes=False)
    var = _check_moments("var", var, mean.shape, planes=False)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    sign, d_mean, d_var = (torch.empty_like(mean) for _ in range(3))
    if mean.numel():
        status = lib.bnn_sampled_sign_f32(
            ffi.cast("const float *", mean.data_ptr()),
            ffi.cast("const float *", var.data_ptr()),
            mean.numel(),
            float(temperature),
            _check_seed(seed),
            ffi.cast("float *", sign.data_ptr()),
            ffi.cast("float *", d_mean.data_ptr()),
            ffi.cast("float *", d_var.data_ptr()),
            _threads(threads),
        )
        _check_status(status, "sampled_sign")
    return sign, d_mean, d_var
