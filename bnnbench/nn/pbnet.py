"""Probabilistic Binary Neural Network layers (Peters & Welling 2018, arXiv 1809.03368).

A PBNet never binarizes with a sign during training. Each binary weight is a
random variable ``w ~ Binary(theta)`` on {-1, +1} with ``P(w = +1) = (theta +
1) / 2``, so ``E[w] = theta`` and ``Var[w] = 1 - theta^2``; the layers learn
``theta``. Activations are carried as independent Gaussians ``(mean, var)``
(:class:`Gaussian`), justified by the central limit theorem over the ``D``
terms of each pre-activation (paper section 3.1):

* binary inputs with mean ``phi``: ``mu = sum theta phi``,
  ``sigma^2 = D - sum theta^2 phi^2``;
* real inputs ``h``: ``mu = sum theta h``, ``sigma^2 = sum (1 - theta^2) h^2``.

Both are instances of the moments of a sum of products of independent factors,
``Var[w x] = Var[x] E[w^2] + E[x]^2 Var[w]``, which is what the layers compute:
``sigma^2 = sum Var[x] + sum E[x]^2 (1 - theta^2)`` (as ``E[w^2] = 1``). This
form is a sum of non-negative terms, so it does not suffer the cancellation of
``D - sum theta^2 phi^2`` in float32, and it counts zero padding correctly
(a padded input is exactly 0: mean 0, variance 0).

Then (section 3.2) stochastic batch normalization (:class:`StochasticBatchNorm`),
stochastic max pooling (:class:`StochasticMaxPool2d`), and the binary
activation (:class:`BinaryActivation`) ``q = P(a >= 0) = 1 - Phi(0 | mu,
sigma^2)``: PBNet propagates the mean ``2q - 1`` of the binary activation,
PBNet-S samples it with a hard Binary-Concrete relaxation (Maddison et al.
2017; Jang et al. 2017).

Choices where the paper is silent
---------------------------------
* Parametrization: ``theta`` is the parameter itself, clipped to
  ``[-0.9, 0.9]`` after every optimiser step (never inside ``forward``), via
  :func:`bnnbench.nn.clip_latent_weights`.
* Padding: zero padding, handled exactly as above (contributes nothing to
  mean or variance).
* Stochastic batch norm: ``m = mean(mu)``, ``v = (sum sigma^2 + sum (mu -
  m)^2) / (M - 1)`` over the batch and spatial positions (``M`` terms), the
  variance of the mixture of the per-example Gaussians with Bessel's
  correction applied to both sums as in the issue. The output is the affine
  transform of the Gaussian: ``mean' = gamma (mu - m) / sqrt(v + eps) + beta``,
  ``var' = gamma^2 sigma^2 / (v + eps)``, ``eps = 1e-5``. Running statistics use
  torch's exponential average with momentum 0.1 and are used in eval mode.
* Stochastic max pooling: one standard normal draw per input position per
  forward pass; in eval mode the window's argmax is taken on the means (no
  noise), so an evaluated PBNet is deterministic. The normal and logistic
  noise of training comes from counter-based C kernels
  (:mod:`bnnbench.nn.pbnet_kernels`), seeded from torch's generator; they take
  CPU tensors, so a PBNet trains on the CPU (evaluation runs anywhere).
* Binary activation: ``sigma`` is ``sqrt(var + 1e-8)``. In eval mode PBNet-S
  propagates means like PBNet, again so that evaluation is deterministic.
  Binary-Concrete: standard logistic noise ``L`` (``log u - log(1 - u)``,
  ``|L| <= 16.6``), relaxed sample ``z = sigmoid((logit q + L) / tau)``, hard
  sample ``1{logit q + L >= 0}``
  (an exact Bernoulli(q) draw whatever ``tau``), gradient of ``2z - 1``
  passed straight through. ``tau = 1`` by default. ``mu / sigma`` is clamped
  to ``[-8, 8]`` for the sample (``Phi(-8) = 6e-16``: the draw is certain
  beyond that and the relaxed gradient negligible).
* Layers fed with hard ±1 samples (PBNet-S) take ``E[x^2] = 1`` as the
  constant it is: the variance ``sum (1 - theta^2)`` over the window is the
  same for every example, is computed once per batch, and passes no gradient
  to the samples (see :func:`_squares`). Autograd through ``x * x`` would pass
  one, of a value set by how the variance happens to be written.
* Output layer with the cross entropy (the default, the paper's "CE"): the
  logits are Gaussian too; in training one sample
  ``mu + sigma n`` per logit is drawn (the local reparametrization trick,
  Kingma et al. 2015) and fed to the cross entropy; in eval mode the logits
  are the means. The paper (section 4.1) feeds the means to the softmax in
  training too; the sample is this implementation's choice, so that the loss
  sees the logits' variance as the BCE loss does. No KL term or prior on
  ``theta`` is used.
* Output layer with the binary cross entropy (the paper's "BCE", eq. 14,
  :func:`binary_cross_entropy_probit`): no sample is drawn; output ``c``
  binarizes to +1 with probability ``Phi(mu_c / sigma_c)``, which the loss
  uses directly, in training and evaluation alike.
* A full-precision layer with binary inputs (an option for the last layer, as
  in the mnist-bnn topology) is :class:`GaussianLinear`: real weights ``w``,
  ``mu = sum w phi``, ``sigma^2 = sum w^2 Var[x]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bnnbench.nn.pbnet_kernels import draw_seed, noisy_max_pool2d_indices, sampled_sign

__all__ = [
    "Gaussian",
    "PBConv2d",
    "PBLinear",
    "GaussianLinear",
    "StochasticBatchNorm",
    "StochasticMaxPool2d",
    "BinaryActivation",
    "GaussianFlatten",
    "sample_logits",
    "probit_scores",
    "binary_cross_entropy_probit",
    "map_weights",
    "sample_weights",
    "ternary_weights",
    "theta_from_float_weights",
]

_VARIANCE_FLOOR = 1e-8


class Gaussian(NamedTuple):
    """Independent Gaussian activations: elementwise ``mean`` and ``var``.

    ``var`` is None for deterministic inputs (the image, or sampled binary
    activations), which saves a convolution in the next layer. ``signs`` marks
    hard ±1 samples (PBNet-S): their squares are exactly 1, so the variance
    they induce in the next layer is the same for every example (see
    :func:`_squares`).
    """

    mean: Tensor
    var: Tensor | None
    signs: bool = False


def _as_gaussian(x: Tensor | Gaussian) -> Gaussian:
    return x if isinstance(x, Gaussian) else Gaussian(x, None)


def _init_theta(theta: Tensor, clip: float) -> None:
    """Initialise ``theta`` uniformly in ``[-clip, clip]``.

    The paper does not say how a PBNet trained from scratch is initialised;
    a uniform spread keeps every weight stochastic and the pre-activation
    variance away from 0. PBNet-S is instead initialised from a trained float
    twin (see ``bnnbench.models``).
    """
    with torch.no_grad():
        theta.uniform_(-clip, clip)


def _squares(g: Gaussian) -> Tensor:
    """``E[x]^2`` for the variance term ``sum E[x]^2 (1 - theta^2)`` of a binary-weight layer.

    For hard ±1 samples (``g.signs``) this is 1 at every position whatever the
    sample, so one example of ones stands for the batch (the result broadcasts
    along it). Besides halving the cost of the layer, this gives the variance
    no gradient with respect to the samples: their squares cannot change, and
    the straight-through estimator would otherwise pass a gradient whose value
    depends only on how the variance is written (``2x (1 - theta^2)`` for this
    form, ``-2x theta^2`` for the paper's ``D - sum theta^2 x^2``).
    """
    if g.signs:
        return g.mean.new_ones((1,) + tuple(g.mean.shape[1:]))
    return g.mean * g.mean


class _BinaryWeightLayer(nn.Module):
    """Shared ``theta`` handling of :class:`PBConv2d` and :class:`PBLinear`."""

    theta: nn.Parameter

    def __init__(self, theta_clip: float, bfloat16_products: bool) -> None:
        super().__init__()
        if not 0.0 < theta_clip < 1.0:
            raise ValueError(f"theta_clip must be in (0, 1), got {theta_clip}")
        self.theta_clip = theta_clip
        self.bfloat16_products = bfloat16_products

    def mean_product(self, g: Gaussian, product: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
        """``product(E[x], theta)``, in bfloat16 where the inputs are hard ±1 samples and asked for.

        ±1 is exact in bfloat16; ``theta`` and the result are rounded to it
        (relative error ``2^-9`` each, far below the pre-activation's standard
        deviation) while oneDNN accumulates in float32, and the product's
        gradients are bfloat16 too, as in mixed-precision training (Kalamkar
        et al. 2019, arXiv 1905.12322); ``theta`` itself stays float32. On CPUs
        with AVX512-BF16 this halves the cost of PBNet-S's two large products
        (conv2 and fc1). Evaluation never takes this path (PBNet-S then
        propagates means, not samples).
        """
        if self.bfloat16_products and g.signs:
            return product(g.mean.to(torch.bfloat16), self.theta.to(torch.bfloat16)).float()
        return product(g.mean, self.theta)

    def clip_latent_weights(self) -> None:
        with torch.no_grad():
            self.theta.clamp_(-self.theta_clip, self.theta_clip)

    def weight_variance(self) -> Tensor:
        """``Var[w] = 1 - theta^2`` for each weight."""
        return 1.0 - self.theta * self.theta


class PBConv2d(_BinaryWeightLayer):
    """Convolution with ``Binary(theta)`` weights on Gaussian inputs (section 3.1).

    No bias: in a PBNet every binary layer is followed by batch norm.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        *,
        theta_clip: float = 0.9,
        bfloat16_products: bool = False,
    ) -> None:
        super().__init__(theta_clip, bfloat16_products)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.theta = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        _init_theta(self.theta, theta_clip)

    def forward(self, x: Tensor | Gaussian) -> Gaussian:
        g = _as_gaussian(x)
        if g.mean.dim() != 4 or g.mean.shape[1] != self.in_channels:
            raise ValueError(
                f"PBConv2d expects input (N, {self.in_channels}, H, W), got {tuple(g.mean.shape)}"
            )
        conv = lambda inp, w: F.conv2d(inp, w, None, self.stride, self.padding)  # noqa: E731
        mean = self.mean_product(g, conv)
        var = conv(_squares(g), self.weight_variance()).expand_as(mean)
        if g.var is not None:
            # E[w^2] = 1: every output channel receives sum over the window of Var[x].
            ones = g.var.new_ones(1, 1, self.kernel_size, self.kernel_size)
            var = var + conv(g.var.sum(dim=1, keepdim=True), ones)
        return Gaussian(mean, var)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, theta_clip={self.theta_clip}"
        )


class PBLinear(_BinaryWeightLayer):
    """Fully connected layer with ``Binary(theta)`` weights on Gaussian inputs."""

    def __init__(
        self, in_features: int, out_features: int, *, theta_clip: float = 0.9, bfloat16_products: bool = False
    ) -> None:
        super().__init__(theta_clip, bfloat16_products)
        self.in_features = in_features
        self.out_features = out_features
        self.theta = nn.Parameter(torch.empty(out_features, in_features))
        _init_theta(self.theta, theta_clip)

    def forward(self, x: Tensor | Gaussian) -> Gaussian:
        g = _as_gaussian(x)
        if g.mean.dim() != 2 or g.mean.shape[1] != self.in_features:
            raise ValueError(
                f"PBLinear expects input (N, {self.in_features}), got {tuple(g.mean.shape)}"
            )
        mean = self.mean_product(g, F.linear)
        var = F.linear(_squares(g), self.weight_variance()).expand_as(mean)
        if g.var is not None:
            var = var + g.var.sum(dim=1, keepdim=True)
        return Gaussian(mean, var)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, theta_clip={self.theta_clip}"


class GaussianLinear(nn.Linear):
    """Full-precision fully connected layer on Gaussian inputs.

    ``mu = W E[x] + b``, ``sigma^2 = (W * W) Var[x]``: the last layer of the
    mnist-bnn topology, which keeps real weights.
    """

    def forward(self, x: Tensor | Gaussian) -> Gaussian:  # type: ignore[override]
        g = _as_gaussian(x)
        if g.mean.dim() != 2 or g.mean.shape[1] != self.in_features:
            raise ValueError(
                f"GaussianLinear expects input (N, {self.in_features}), got {tuple(g.mean.shape)}"
            )
        mean = F.linear(g.mean, self.weight, self.bias)
        var = None if g.var is None else F.linear(g.var, self.weight * self.weight)
        return Gaussian(mean, var)


class StochasticBatchNorm(nn.Module):
    """Batch normalization of Gaussian pre-activations (section 3.2).

    Works on ``(N, C)`` and ``(N, C, H, W)``; statistics are per channel ``C``.
    See the module docstring for the exact estimator.
    """

    running_mean: Tensor
    running_var: Tensor

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: Tensor | Gaussian) -> Gaussian:
        g = _as_gaussian(x)
        mean = g.mean
        if mean.dim() not in (2, 4) or mean.shape[1] != self.num_features:
            raise ValueError(
                f"StochasticBatchNorm expects (N, {self.num_features}[, H, W]), got {tuple(mean.shape)}"
            )
        shape = (1, -1) + (1,) * (mean.dim() - 2)
        if self.training:
            dims = [0] + list(range(2, mean.dim()))
            count = mean.numel() // self.num_features
            if count < 2:
                raise ValueError("StochasticBatchNorm needs more than one value per channel in training")
            batch_mean = mean.mean(dim=dims)
            spread = ((mean - batch_mean.view(shape)) ** 2).sum(dim=dims)
            within = g.var.sum(dim=dims) if g.var is not None else torch.zeros_like(spread)
            batch_var = (within + spread) / (count - 1)
            with torch.no_grad():
                self.running_mean.lerp_(batch_mean.detach(), self.momentum)
                self.running_var.lerp_(batch_var.detach(), self.momentum)
        else:
            batch_mean, batch_var = self.running_mean, self.running_var
        inv_std = torch.rsqrt(batch_var + self.eps)
        scale = (self.weight * inv_std).view(shape)
        out_mean = (mean - batch_mean.view(shape)) * scale + self.bias.view(shape)
        out_var = None if g.var is None else g.var * scale * scale
        return Gaussian(out_mean, out_var)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class StochasticMaxPool2d(nn.Module):
    """Max pooling of Gaussians by sampling (section 3.2).

    In training: draw ``s = mu + sigma n`` with ``n ~ N(0, 1)``, take each
    window's argmax of ``s``, and output that input's ``(mu, sigma^2)``; the
    gradient flows to the selected moments. In eval mode the argmax is taken
    on ``mu``.
    """

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x: Tensor | Gaussian) -> Gaussian:
        g = _as_gaussian(x)
        if g.mean.dim() != 4:
            raise ValueError(f"StochasticMaxPool2d expects (N, C, H, W), got {tuple(g.mean.shape)}")
        with torch.no_grad():
            if self.training and g.var is not None:
                # The C kernel samples and takes each window's argmax in one pass (see
                # bnnbench.nn.pbnet_kernels); its argmax is only a selection, so float64 moments
                # are sampled in float32.
                indices = noisy_max_pool2d_indices(
                    g.mean.detach().float().contiguous(),
                    g.var.detach().float().contiguous(),
                    self.kernel_size,
                    draw_seed(),
                )
            else:
                # torch's max_pool2d with indices is several times faster on channels-last
                # input; the indices it returns are positions within each (H, W) plane
                # whatever the memory format, so they index g.mean.flatten(2) directly.
                score = g.mean.contiguous(memory_format=torch.channels_last)
                _, indices = F.max_pool2d(score, self.kernel_size, return_indices=True)
                indices = indices.contiguous()

        def pick(t: Tensor) -> Tensor:
            return t.flatten(2).gather(2, indices.flatten(2)).view_as(indices)

        return Gaussian(pick(g.mean), None if g.var is None else pick(g.var))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"


class _SampledSign(torch.autograd.Function):
    """A hard ±1 draw of ``Binary(q)``, ``q = Phi(mu / sigma)``, with the Binary-Concrete gradient.

    Forward: ``noisy = logit q + L`` with standard logistic noise ``L``, output
    ``+1`` where ``noisy >= 0`` (probability exactly ``q``), else ``-1``.
    Backward: the gradient of the relaxed sample ``2 sigmoid(noisy / tau) - 1``
    (straight through), in closed form:

    ``d/dz = (2 / tau) s (1 - s) dlogit(q)/dz``, ``s = sigmoid(noisy / tau)``,
    ``dlogit(q)/dz = phi(z) / (Phi(z) Phi(-z))``, and ``z = mu (var + 1e-8)^(-1/2)``
    gives ``dz/dmu = 1 / sigma``, ``dz/dvar = -z / (2 sigma^2)``.

    ``z`` is clamped to ``+-8``, where the draw is already certain for float32
    (``Phi(-8) = 6e-16``: ``logit q = +-35`` while ``|L| <= 16.6``) and the
    relaxed gradient below 1e-9; beyond it the gradient is 0, as for a clamp.

    The forward pass, sample and both derivatives, is one C kernel
    (:func:`bnnbench.nn.pbnet_kernels.sampled_sign`, float32, ``Phi``
    accurate in both tails): as some twenty torch elementwise operations it
    took about a fifth of a PBNet-S training step.
    """

    @staticmethod
    def forward(ctx: Any, mean: Tensor, var: Tensor, temperature: float) -> Tensor:
        sign, d_mean, d_var = sampled_sign(
            mean.detach().float().contiguous(), var.detach().float().contiguous(), temperature, draw_seed()
        )
        ctx.save_for_backward(d_mean.to(mean.dtype), d_var.to(var.dtype))
        return sign.to(mean.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, Tensor, None]:
        d_mean, d_var = ctx.saved_tensors
        return grad_output * d_mean, grad_output * d_var, None


class BinaryActivation(nn.Module):
    """Binary activation of a Gaussian pre-activation, ``q = P(a >= 0) = Phi(mu / sigma)``.

    ``mode="mean"`` (PBNet): output the distribution of the ±1 activation,
    mean ``2q - 1`` and variance ``1 - (2q - 1)^2``.
    ``mode="sample"`` (PBNet-S): in training output a hard ±1 sample drawn with
    the Binary-Concrete relaxation at ``temperature`` (straight-through
    gradient); in eval mode behave like ``"mean"``.
    """

    def __init__(self, mode: str = "mean", *, temperature: float = 1.0) -> None:
        super().__init__()
        if mode not in ("mean", "sample"):
            raise ValueError(f"BinaryActivation mode must be 'mean' or 'sample', got {mode!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.mode = mode
        self.temperature = temperature

    def forward(self, x: Tensor | Gaussian) -> Gaussian:
        g = _as_gaussian(x)
        if g.var is None:
            raise ValueError("BinaryActivation needs a Gaussian with a variance")
        if self.mode == "sample" and self.training:
            return Gaussian(_SampledSign.apply(g.mean, g.var, self.temperature), None, signs=True)
        mean = 2.0 * torch.special.ndtr(probit_scores(g)) - 1.0
        return Gaussian(mean, 1.0 - mean * mean)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, temperature={self.temperature}"


class GaussianFlatten(nn.Module):
    """Flatten ``(N, C, H, W)`` Gaussians to ``(N, C*H*W)`` in torch's (NCHW) order."""

    def forward(self, x: Tensor | Gaussian) -> Gaussian:
        g = _as_gaussian(x)
        return Gaussian(g.mean.flatten(1), None if g.var is None else g.var.flatten(1), g.signs)


def probit_scores(outputs: Gaussian) -> Tensor:
    """``z = mu / sigma``: each unit's probability of binarizing to +1 is ``q = Phi(z)``.

    Used by :class:`BinaryActivation`, and as the outputs of a PBNet trained
    with the binary cross entropy (paper section 4.1, "BCE"); ``Phi`` is
    monotone, so the predicted class is ``argmax z``.
    """
    if outputs.var is None:
        raise ValueError("probit scores need Gaussian outputs with a variance")
    return outputs.mean * torch.rsqrt(outputs.var + _VARIANCE_FLOOR)


def binary_cross_entropy_probit(scores: Tensor, targets: Tensor, *, reduction: str = "mean") -> Tensor:
    """The paper's BCE loss (Peters & Welling 2018, eq. 14) on probit scores ``z``.

    With ``p_c = Phi(z_c)`` the probability that output ``c`` binarizes to
    +1, one example costs ``-log p_y - sum_{c != y} log(1 - p_c)``, i.e.
    ``-log Phi(z_y) - sum_{c != y} log Phi(-z_c)``, computed with
    ``log_ndtr`` so that confident outputs do not underflow. ``reduction`` is
    ``"mean"`` or ``"sum"`` over the examples.
    """
    if scores.dim() != 2 or targets.shape != scores.shape[:1]:
        raise ValueError(
            f"expected scores (N, C) and targets (N,), got {tuple(scores.shape)} and {tuple(targets.shape)}"
        )
    sign = torch.full_like(scores, -1.0).scatter_(1, targets.unsqueeze(1), 1.0)
    per_example = -torch.special.log_ndtr(sign * scores).sum(dim=1)
    if reduction == "mean":
        return per_example.mean()
    if reduction == "sum":
        return per_example.sum()
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


def sample_logits(logits: Gaussian, *, training: bool) -> Tensor:
    """One sample ``mu + sigma n`` of Gaussian logits in training, the means otherwise."""
    if not training or logits.var is None:
        return logits.mean
    return logits.mean + torch.sqrt(logits.var + _VARIANCE_FLOOR) * torch.randn_like(logits.mean)


def map_weights(theta: Tensor) -> Tensor:
    """The mode of each ``Binary(theta)`` weight: +1 where ``theta >= 0``, else -1."""
    return torch.where(theta >= 0, torch.ones_like(theta), -torch.ones_like(theta))


def sample_weights(theta: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One draw of ``Binary(theta)``: +1 with probability ``(theta + 1) / 2``."""
    draw = torch.rand(theta.shape, generator=generator, dtype=theta.dtype, device=theta.device)
    return torch.where(draw < (theta + 1.0) / 2.0, torch.ones_like(theta), -torch.ones_like(theta))


def ternary_weights(theta: Tensor, confidence: float = 0.75) -> Tensor:
    """±1 where that value has probability ``>= confidence``, else 0 (paper section 4).

    ``P(+1) = (1 + theta) / 2 >= 3/4`` means ``theta >= 1/2``.
    """
    if not 0.5 < confidence <= 1.0:
        raise ValueError(f"confidence must be in (0.5, 1], got {confidence}")
    threshold = 2.0 * confidence - 1.0
    out = torch.zeros_like(theta)
    out[theta >= threshold] = 1.0
    out[theta <= -threshold] = -1.0
    return out


def theta_from_float_weights(weight: Tensor, clip: float) -> Tensor:
    """``theta = clip(w / std(w), -clip, clip)`` for one layer (PBNet-S initialisation)."""
    std = weight.std()
    if not math.isfinite(float(std)) or float(std) == 0.0:
        raise ValueError("cannot initialise theta from a weight tensor with zero or undefined spread")
    return torch.clamp(weight / std, -clip, clip)
