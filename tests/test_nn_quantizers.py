"""Forward values and surrogate gradients of every named quantizer."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnbench.nn import quantizers as q

POINTS = torch.tensor([-2.0, -1.0, -0.75, -0.3, 0.0, 0.2, 0.5, 1.0, 1.5], dtype=torch.float64)


def forward_and_grad(quantizer: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    y = quantizer(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), grad


def test_ste_sign_forward_and_gradient():
    y, grad = forward_and_grad(q.SteSign(), POINTS)
    assert torch.equal(y, torch.tensor([-1, -1, -1, -1, 1, 1, 1, 1, 1], dtype=torch.float64))
    assert torch.equal(grad, (POINTS.abs() <= 1.0).double())


def test_ste_sign_clip_value_changes_where_gradient_passes():
    _, grad = forward_and_grad(q.SteSign(clip_value=0.5), POINTS)
    assert torch.equal(grad, (POINTS.abs() <= 0.5).double())
    _, grad = forward_and_grad(q.SteSign(clip_value=None), POINTS)
    assert torch.equal(grad, torch.ones_like(POINTS))


def test_approx_sign_gradient_is_derivative_of_bireal_polynomial():
    y, grad = forward_and_grad(q.ApproxSign(), POINTS)
    assert torch.equal(y, torch.where(POINTS >= 0, 1.0, -1.0).double())
    # Bi-Real Net eq. (5): F(x) = 2x + x^2 on [-1, 0), 2x - x^2 on [0, 1), +-1 outside.
    x = POINTS.clone().requires_grad_(True)
    approx = torch.where(
        x < -1, -torch.ones_like(x), torch.where(x < 0, 2 * x + x * x, torch.where(x < 1, 2 * x - x * x, torch.ones_like(x)))
    )
    (expected,) = torch.autograd.grad(approx.sum(), x)
    assert torch.allclose(grad, expected)


@pytest.mark.parametrize("beta", [1.0, 5.0, 10.0])
def test_swish_sign_gradient_matches_autograd_of_signswish(beta):
    y, grad = forward_and_grad(q.SwishSign(beta), POINTS)
    assert torch.equal(y.abs(), torch.ones_like(POINTS))
    x = POINTS.clone().requires_grad_(True)
    s = torch.sigmoid(beta * x)
    surrogate = 2 * s * (1 + beta * x * (1 - s)) - 1
    (expected,) = torch.autograd.grad(surrogate.sum(), x)
    assert torch.allclose(grad, expected, atol=1e-10)


def test_magnitude_aware_sign_scales_each_output_channel():
    w = torch.tensor([[0.5, -0.25, 1.5], [-0.1, 0.1, 0.4]], dtype=torch.float64)
    y, grad = forward_and_grad(q.MagnitudeAwareSign(), w)
    alpha = torch.tensor([[0.75], [0.2]], dtype=torch.float64)
    assert torch.allclose(y, alpha * torch.where(w >= 0, 1.0, -1.0).double())
    assert torch.allclose(grad, alpha * (w.abs() <= 1).double())


def test_magnitude_aware_sign_on_conv_weights_reduces_all_but_first_dim():
    w = torch.randn(4, 3, 3, 3)
    y = q.MagnitudeAwareSign()(w)
    alpha = w.abs().mean(dim=(1, 2, 3))
    assert torch.allclose(y.abs(), alpha.view(4, 1, 1, 1).expand_as(w))


def test_ste_heaviside_is_zero_one_step_with_straight_through_gradient():
    y, grad = forward_and_grad(q.SteHeaviside(), POINTS)
    assert torch.equal(y, (POINTS > 0).double())
    assert torch.equal(grad, (POINTS.abs() <= 1).double())


def test_binary_tanh_thresholds_hardtanh_and_passes_half_gradient():
    y, grad = forward_and_grad(q.BinaryTanh(), POINTS)
    assert torch.equal(y, (POINTS >= 0).double())
    x = POINTS.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(((torch.nn.functional.hardtanh(x) + 1) / 2).sum(), x)
    interior = POINTS.abs() != 1.0  # torch's hardtanh passes no gradient at exactly +-1
    assert torch.equal(grad[interior], expected[interior])
    assert torch.equal(grad[~interior], torch.full_like(grad[~interior], 0.5))


def test_stochastic_sign_samples_with_hard_sigmoid_probability():
    torch.manual_seed(0)
    quantizer = q.StochasticSign().train()
    x = torch.tensor([-1.5, -0.5, 0.0, 0.6, 2.0]).repeat(20000, 1)
    y, grad = forward_and_grad(quantizer, x)
    assert set(y.unique().tolist()) <= {-1.0, 1.0}
    expected_mean = torch.clamp(x[0], -1, 1)  # E[q] = 2 p - 1 = clip(x, -1, 1)
    assert torch.allclose(y.mean(dim=0), expected_mean, atol=0.02)
    assert torch.equal(grad, (x.abs() <= 1).float())


def test_stochastic_sign_is_deterministic_sign_in_eval_mode():
    quantizer = q.StochasticSign().eval()
    y, grad = forward_and_grad(quantizer, POINTS)
    assert torch.equal(y, torch.where(POINTS >= 0, 1.0, -1.0).double())
    assert torch.equal(grad, (POINTS.abs() <= 1).double())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=32))
def test_sign_quantizers_agree_forward_and_keep_shape_and_dtype(values):
    x = torch.tensor(values, dtype=torch.float32)
    reference = q.SteSign()(x)
    assert reference.dtype == x.dtype and reference.shape == x.shape
    for name in ("approx_sign", "swish_sign", "stochastic_sign"):
        quantizer = q.get_quantizer(name).eval()
        assert torch.equal(quantizer(x), reference)


def test_every_named_quantizer_has_a_finite_gradient_test_above():
    # Guards the registry: a new quantizer must be added to this file's tests.
    assert q.quantizer_names() == sorted(
        [
            "approx_sign",
            "binary_tanh",
            "magnitude_aware_sign",
            "ste_heaviside",
            "ste_sign",
            "stochastic_sign",
            "swish_sign",
        ]
    )
    for name in q.quantizer_names():
        _, grad = forward_and_grad(q.get_quantizer(name).eval(), torch.randn(5, 4, dtype=torch.float64))
        assert torch.isfinite(grad).all()


def test_get_quantizer_resolves_names_instances_and_none():
    assert isinstance(q.get_quantizer("ste_sign"), q.SteSign)
    instance = q.SwishSign(2.0)
    assert q.get_quantizer(instance) is instance
    assert q.get_quantizer(None) is None


def test_get_quantizer_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown quantizer 'sgn'.*ste_sign"):
        q.get_quantizer("sgn")
    with pytest.raises(TypeError, match="int"):
        q.get_quantizer(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="beta"):
        q.SwishSign(0.0)


def test_glorot_binary_scale():
    assert q.glorot_binary_scale(784, 10) == pytest.approx(math.sqrt(1.5 / 794))
