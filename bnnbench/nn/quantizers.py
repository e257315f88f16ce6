"""Quantizers: small named objects that binarize a tensor, each with its own gradient.

The forward passes and surrogate gradients follow the definitions in the larq
documentation (https://docs.larq.dev/larq/api/quantizers/), which in turn cite:

* ``ste_sign``: Courbariaux et al. 2016, "Binarized Neural Networks" (BNN),
  sign with the straight-through estimator cancelled where ``|x| > clip_value``.
* ``approx_sign``: Liu et al. 2018, "Bi-Real Net", eq. (6): the gradient of the
  piecewise polynomial ``2x + x|x|`` i.e. ``2 - 2|x|`` on ``[-1, 1]``.
* ``swish_sign``: Darabi et al. 2018, "BNN+", the derivative of
  ``SS_beta(x) = 2 sigmoid(beta x) (1 + beta x (1 - sigmoid(beta x))) - 1``.
* ``magnitude_aware_sign``: Rastegari et al. 2016, "XNOR-Net" (scaling factor
  alpha = mean |W| per output channel, section 3.1) with the Bi-Real Net
  gradient, section 3.3, which treats alpha as a constant.
* ``ste_heaviside``: the 0/1 step with a straight-through gradient.
* ``binary_tanh``: hardtanh followed by a 0/1 threshold: the quantizer of a
  binary compression bottleneck (the code is 1 bit per unit).
* ``stochastic_sign``: Courbariaux et al. 2015, "BinaryConnect", eq. (3): +1
  with probability ``hard_sigmoid(x) = clip((x + 1) / 2, 0, 1)``.

Conventions shared by every quantizer: ``sign(0) = +1`` (so a value and its bit
agree with the kernels, where the bit is the float sign bit), the output has the
input's dtype and shape, and the backward pass is written out explicitly in a
``torch.autograd.Function`` so it can be read and tested against its formula.

Quantizers are ``torch.nn.Module`` s so that they show up in ``repr(model)``,
follow ``model.train()`` / ``model.eval()`` (``stochastic_sign`` samples only in
training mode) and can be resolved from a string with :func:`get_quantizer`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

__all__ = [
    "Quantizer",
    "SteSign",
    "ApproxSign",
    "SwishSign",
    "MagnitudeAwareSign",
    "SteHeaviside",
    "BinaryTanh",
    "StochasticSign",
    "get_quantizer",
    "quantizer_names",
    "QuantizerSpec",
    "hard_sigmoid",
    "glorot_binary_scale",
]


def _sign(x: Tensor) -> Tensor:
    """Sign with sign(0) = +1, in the dtype of ``x``."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


def _straight_through_mask(x: Tensor, clip_value: float | None) -> Tensor:
    """1 where the straight-through gradient passes (``|x| <= clip_value``), else 0."""
    if clip_value is None:
        return torch.ones_like(x)
    return (x.abs() <= clip_value).to(x.dtype)


class _SteSignFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, clip_value: float | None) -> Tensor:
        ctx.save_for_backward(x)
        ctx.clip_value = clip_value
        return _sign(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad_output * _straight_through_mask(x, ctx.clip_value), None


class _ApproxSignFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return _sign(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * torch.clamp(2.0 - 2.0 * x.abs(), min=0.0)


class _SwishSignFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, beta: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.beta = beta
        return _sign(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        beta = ctx.beta
        bx = beta * x
        grad = beta * (2.0 - bx * torch.tanh(bx / 2.0)) / (1.0 + torch.cosh(bx))
        return grad_output * grad, None


class _MagnitudeAwareSignFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, clip_value: float | None) -> Tensor:
        reduce_dims = tuple(range(1, x.dim()))
        scale = x.abs().mean(dim=reduce_dims, keepdim=True) if reduce_dims else x.abs()
        ctx.save_for_backward(x, scale)
        ctx.clip_value = clip_value
        return scale * _sign(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        x, scale = ctx.saved_tensors
        return grad_output * scale * _straight_through_mask(x, ctx.clip_value), None


class _SteHeavisideFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, clip_value: float | None) -> Tensor:
        ctx.save_for_backward(x)
        ctx.clip_value = clip_value
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad_output * _straight_through_mask(x, ctx.clip_value), None


class _BinaryTanhFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * 0.5 * (x.abs() <= 1.0).to(x.dtype)


class _StochasticSignFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, clip_value: float | None) -> Tensor:
        ctx.save_for_backward(x)
        ctx.clip_value = clip_value
        probability_plus = hard_sigmoid(x)
        draw = torch.rand_like(x)
        return torch.where(draw < probability_plus, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad_output * _straight_through_mask(x, ctx.clip_value), None


class Quantizer(nn.Module):
    """Base class of the named quantizers.

    Class attributes describe the output so that other parts of bnnbench (the
    workload tracer, the engine) can read them without running the quantizer:

    * ``name``: the string :func:`get_quantizer` resolves.
    * ``bits``: bits per quantized value (1 for all quantizers here).
    * ``levels``: the two output values, or ``None`` when the output is scaled
      by a data-dependent factor (``magnitude_aware_sign``).
    """

    name: ClassVar[str] = ""
    bits: ClassVar[int] = 1
    levels: ClassVar[tuple[float, float] | None] = (-1.0, 1.0)

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.config().items())

    def config(self) -> dict[str, float | None]:
        """Constructor arguments, so the quantizer can be rebuilt by name."""
        return {}


class SteSign(Quantizer):
    """Sign with a straight-through gradient (BNN, Courbariaux et al. 2016, eq. 4).

    Forward ``q(x) = +1 if x >= 0 else -1``; backward ``dq/dx = 1 if |x| <=
    clip_value else 0`` (the gradient of hardtanh when ``clip_value = 1``).
    ``clip_value=None`` never cancels the gradient.
    """

    name = "ste_sign"

    def __init__(self, clip_value: float | None = 1.0) -> None:
        super().__init__()
        self.clip_value = clip_value

    def forward(self, x: Tensor) -> Tensor:
        return _SteSignFn.apply(x, self.clip_value)

    def config(self) -> dict[str, float | None]:
        return {"clip_value": self.clip_value}


class ApproxSign(Quantizer):
    """Sign with the Bi-Real Net gradient (Liu et al. 2018, eq. 6).

    Backward ``dq/dx = max(0, 2 - 2|x|)``: the derivative of the piecewise
    quadratic approximation of sign.
    """

    name = "approx_sign"

    def forward(self, x: Tensor) -> Tensor:
        return _ApproxSignFn.apply(x)


class SwishSign(Quantizer):
    """Sign with the SignSwish gradient (BNN+, Darabi et al. 2018).

    Backward ``dq/dx = beta (2 - beta x tanh(beta x / 2)) / (1 + cosh(beta x))``,
    the derivative of ``SS_beta``; larq's default ``beta = 5``.
    """

    name = "swish_sign"

    def __init__(self, beta: float = 5.0) -> None:
        super().__init__()
        if beta <= 0:
            raise ValueError(f"swish_sign: beta must be positive, got {beta}")
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        return _SwishSignFn.apply(x, self.beta)

    def config(self) -> dict[str, float | None]:
        return {"beta": self.beta}


class MagnitudeAwareSign(Quantizer):
    """Scaled sign of a weight tensor (XNOR-Net's alpha, Rastegari et al. 2016, eq. 4).

    Forward ``q(W)[c] = alpha_c sign(W[c])`` with ``alpha_c = mean |W[c]|`` over
    all dimensions but the first, which is the output channel in torch's weight
    layout ``(out, in, kh, kw)`` / ``(out, in)``. Backward: Bi-Real Net's
    ``alpha_c * 1{|W| <= clip_value}`` (alpha treated as a constant). Meant
    for weights; on activations the first dimension would be the batch.
    """

    name = "magnitude_aware_sign"
    levels = None

    def __init__(self, clip_value: float | None = 1.0) -> None:
        super().__init__()
        self.clip_value = clip_value

    def forward(self, x: Tensor) -> Tensor:
        return _MagnitudeAwareSignFn.apply(x, self.clip_value)

    def config(self) -> dict[str, float | None]:
        return {"clip_value": self.clip_value}


class SteHeaviside(Quantizer):
    """0/1 step with a straight-through gradient (larq ``SteHeaviside``).

    Forward ``q(x) = 1 if x > 0 else 0``; backward ``1{|x| <= clip_value}``.
    """

    name = "ste_heaviside"
    levels = (0.0, 1.0)

    def __init__(self, clip_value: float | None = 1.0) -> None:
        super().__init__()
        self.clip_value = clip_value

    def forward(self, x: Tensor) -> Tensor:
        return _SteHeavisideFn.apply(x, self.clip_value)

    def config(self) -> dict[str, float | None]:
        return {"clip_value": self.clip_value}


class BinaryTanh(Quantizer):
    """hardtanh, then a 0/1 threshold: the code unit of a binary bottleneck.

    Forward ``q(x) = round_half_up((hardtanh(x) + 1) / 2)``, i.e. ``1 if x >= 0
    else 0`` (0 maps to 1, matching ``sign(0) = +1``). Backward: the gradient of
    ``(hardtanh(x) + 1) / 2``, which is ``0.5 * 1{|x| <= 1}``, passed straight
    through the threshold.
    """

    name = "binary_tanh"
    levels = (0.0, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        return _BinaryTanhFn.apply(x)


class StochasticSign(Quantizer):
    """Stochastic binarization (BinaryConnect, Courbariaux et al. 2015, eq. 3).

    In training mode ``q(x) = +1`` with probability ``p = clip((x + 1) / 2, 0,
    1)`` (the hard sigmoid) and ``-1`` otherwise, drawn from torch's global
    generator (seed it for reproducibility). In eval mode ``q(x) = sign(x)``,
    the most likely value, so that an evaluated model is one deterministic
    binary network (BinaryConnect instead evaluated with the real weights; the
    engine needs a binary network). Backward in both modes: straight-through,
    ``1{|x| <= clip_value}``.
    """

    name = "stochastic_sign"

    def __init__(self, clip_value: float | None = 1.0) -> None:
        super().__init__()
        self.clip_value = clip_value

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return _StochasticSignFn.apply(x, self.clip_value)
        return _SteSignFn.apply(x, self.clip_value)

    def config(self) -> dict[str, float | None]:
        return {"clip_value": self.clip_value}


_REGISTRY: dict[str, type[Quantizer]] = {
    cls.name: cls
    for cls in (
        SteSign,
        ApproxSign,
        SwishSign,
        MagnitudeAwareSign,
        SteHeaviside,
        BinaryTanh,
        StochasticSign,
    )
}

#: What a layer accepts for a quantizer argument: a name, an instance, or None.
QuantizerSpec = str | Quantizer | None


def quantizer_names() -> list[str]:
    """Names :func:`get_quantizer` resolves, sorted."""
    return sorted(_REGISTRY)


def get_quantizer(spec: QuantizerSpec) -> Quantizer | None:
    """Resolve a quantizer from its name, pass an instance through, keep None.

    Raises ``ValueError`` naming the known quantizers for an unknown name, and
    ``TypeError`` for anything that is not a string, a ``Quantizer`` or None.
    """
    if spec is None or isinstance(spec, Quantizer):
        return spec
    if isinstance(spec, str):
        try:
            return _REGISTRY[spec]()
        except KeyError:
            known = ", ".join(quantizer_names())
            raise ValueError(f"unknown quantizer {spec!r}; known quantizers: {known}") from None
    raise TypeError(f"a quantizer must be a name, a Quantizer or None, not {type(spec).__name__}")


def hard_sigmoid(x: Tensor) -> Tensor:
    """``clip((x + 1) / 2, 0, 1)``: BinaryConnect's probability of +1 (eq. 3)."""
    return torch.clamp((x + 1.0) / 2.0, 0.0, 1.0)


def glorot_binary_scale(fan_in: int, fan_out: int) -> float:
    """BinaryConnect's binary weight magnitude ``H = sqrt(1.5 / (fan_in + fan_out))``.

    Courbariaux et al. 2015 binarize weights to ``±H`` with H the Glorot
    initialisation scale of the layer (their released code, ``H="Glorot"``).
    """
    return math.sqrt(1.5 / (fan_in + fan_out))
