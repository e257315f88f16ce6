"""PBNet layers: analytic moments against Monte-Carlo sampling of the same layer."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from bnnbench.nn.pbnet import (
    BinaryActivation,
    Gaussian,
    GaussianFlatten,
    GaussianLinear,
    PBConv2d,
    PBLinear,
    StochasticBatchNorm,
    StochasticMaxPool2d,
    binary_cross_entropy_probit,
    map_weights,
    probit_scores,
    sample_weights,
    ternary_weights,
    theta_from_float_weights,
)
from bnnbench.nn.pbnet_kernels import draw_seed, standard_logistic

SAMPLES = 4000


def draw_binary(mean: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` draws of ±1 variables with the given means (stacked on dim 0)."""
    u = torch.rand((count, *mean.shape), generator=generator, dtype=mean.dtype)
    return torch.where(u < (mean + 1) / 2, 1.0, -1.0).to(mean.dtype)


def assert_moments_match(samples: torch.Tensor, g: Gaussian, *, rel: float = 0.08) -> None:
    """Monte-Carlo mean and variance of ``samples`` agree with the analytic Gaussian."""
    mc_mean, mc_var = samples.mean(0), samples.var(0)
    scale = mc_var.mean().sqrt()
    assert torch.allclose(g.mean, mc_mean, atol=float(4 * scale / SAMPLES**0.5) + 1e-6)
    assert g.var is not None
    assert float((g.var - mc_var).abs().mean() / mc_var.mean()) < rel


def test_pbconv_binary_inputs_moments_match_sampling():
    gen = torch.Generator().manual_seed(0)
    layer = PBConv2d(3, 4, 3, padding=1).double()
    phi = torch.rand(1, 3, 5, 5, generator=gen, dtype=torch.float64) * 1.8 - 0.9
    g = layer(Gaussian(phi, 1 - phi * phi))
    with torch.no_grad():
        weights = draw_binary(layer.theta, SAMPLES, gen)
        inputs = draw_binary(phi[0], SAMPLES, gen)
        samples = torch.stack(
            [F.conv2d(inputs[i : i + 1], weights[i], padding=1)[0] for i in range(SAMPLES)]
        )
    assert_moments_match(samples, Gaussian(g.mean[0].detach(), g.var[0].detach()))
    # The closed form in the interior (no padding): sigma^2 = D - sum theta^2 phi^2.
    d = 3 * 9
    closed = d - F.conv2d(phi * phi, layer.theta.detach() ** 2)
    assert torch.allclose(g.var[0, :, 1:-1, 1:-1].detach(), closed[0], atol=1e-9)


def test_pbconv_real_inputs_moments_match_sampling():
    gen = torch.Generator().manual_seed(1)
    layer = PBConv2d(2, 3, 3, padding=0).double()
    h = torch.randn(1, 2, 6, 6, generator=gen, dtype=torch.float64)
    g = layer(h)
    with torch.no_grad():
        weights = draw_binary(layer.theta, SAMPLES, gen)
        samples = torch.stack([F.conv2d(h, weights[i])[0] for i in range(SAMPLES)])
    assert_moments_match(samples, Gaussian(g.mean[0].detach(), g.var[0].detach()))
    closed = F.conv2d(h * h, 1 - layer.theta.detach() ** 2)
    assert torch.allclose(g.var.detach(), closed)


def test_pblinear_binary_inputs_moments_match_sampling():
    gen = torch.Generator().manual_seed(2)
    layer = PBLinear(50, 6).double()
    phi = torch.rand(1, 50, generator=gen, dtype=torch.float64) * 2 - 1
    g = layer(Gaussian(phi, 1 - phi * phi))
    with torch.no_grad():
        weights = draw_binary(layer.theta, SAMPLES, gen)
        inputs = draw_binary(phi[0], SAMPLES, gen)
        samples = torch.einsum("sof,sf->so", weights, inputs)
    assert_moments_match(samples, Gaussian(g.mean[0].detach(), g.var[0].detach()))
    assert torch.allclose(g.var.detach(), 50 - (phi * phi) @ (layer.theta.detach() ** 2).T)


@pytest.mark.parametrize("layer", [PBConv2d(5, 4, 3, stride=2, padding=1), PBLinear(37, 6)], ids=["conv", "linear"])
def test_hard_sign_inputs_give_the_general_moments_and_no_variance_gradient(layer):
    """``signs=True`` (PBNet-S samples): same moments and theta gradient, none to the samples via the variance."""
    gen = torch.Generator().manual_seed(12)
    shape = (3, 5, 7, 7) if isinstance(layer, PBConv2d) else (3, 37)
    signs = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0)
    outputs, grads = [], []
    for marked in (False, True):
        layer.zero_grad()
        x = signs.clone().requires_grad_(True)
        g = layer(Gaussian(x, None, signs=marked))
        assert g.var is not None and g.var.shape == g.mean.shape
        g.var.sum().backward()
        outputs.append((g.mean.detach(), g.var.detach()))
        grads.append((layer.theta.grad.clone(), x.grad))
    assert torch.equal(outputs[0][0], outputs[1][0])
    assert torch.allclose(outputs[0][1], outputs[1][1], atol=1e-5)
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-4)
    assert grads[0][1].abs().sum() > 0 and grads[1][1] is None


@pytest.mark.parametrize("kind", ["conv", "linear"])
def test_bfloat16_products_round_only_theta_and_only_for_sign_inputs(kind):
    """With ``bfloat16_products`` a sign-fed layer's mean is the product of bfloat16 theta, rounded to bfloat16.

    The signs are exact in bfloat16; rounding theta and the result each cost at
    most ``2^-9`` relative; the variance is untouched and real inputs keep float32.
    """
    gen = torch.Generator().manual_seed(5)
    if kind == "conv":
        exact, fast = PBConv2d(67, 9, 3, stride=2, padding=1), PBConv2d(67, 9, 3, stride=2, padding=1, bfloat16_products=True)
        shape, product = (3, 67, 9, 9), lambda x, w: F.conv2d(x, w, None, 2, 1)
    else:
        exact, fast = PBLinear(300, 9), PBLinear(300, 9, bfloat16_products=True)
        shape, product = (3, 300), F.linear
    fast.load_state_dict(exact.state_dict())
    signs = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0)
    x_exact, x_fast = signs.clone().requires_grad_(True), signs.clone().requires_grad_(True)
    g_exact, g_fast = exact(Gaussian(x_exact, None, signs=True)), fast(Gaussian(x_fast, None, signs=True))
    assert g_fast.mean.dtype == torch.float32
    rounded = product(signs.double(), fast.theta.detach().bfloat16().double())
    assert ((g_fast.mean.detach().double() - rounded).abs() <= 2**-8 * rounded.abs() + 1e-6).all()
    assert not torch.equal(g_fast.mean, g_exact.mean)  # the bfloat16 path was taken
    bound = 2**-8 * (exact.theta.detach().abs().flatten(1).sum(dim=1).max() + g_exact.mean.detach().abs().max())
    assert (g_fast.mean - g_exact.mean).abs().max() <= bound
    assert torch.equal(g_fast.var, g_exact.var)
    upstream = torch.randn(g_exact.mean.shape, generator=gen)
    (g_exact.mean * upstream).sum().backward()
    (g_fast.mean * upstream).sum().backward()
    for a, b in ((x_exact.grad, x_fast.grad), (exact.theta.grad, fast.theta.grad)):
        assert b.dtype == torch.float32
        assert (a - b).abs().max() <= 2**-7 * a.abs().max()
    real = torch.randn(shape, generator=gen)
    assert torch.equal(fast(Gaussian(real, None)).mean, exact(Gaussian(real, None)).mean)


def test_sampled_activations_are_marked_as_signs_through_flatten():
    act = BinaryActivation("sample").train()
    out = GaussianFlatten()(act(Gaussian(torch.randn(2, 3, 4, 4), torch.ones(2, 3, 4, 4))))
    assert out.signs and out.var is None and out.mean.shape == (2, 48)
    assert not BinaryActivation("sample").eval()(Gaussian(torch.randn(4), torch.ones(4))).signs


def test_gaussian_linear_moments_match_sampling():
    gen = torch.Generator().manual_seed(3)
    layer = GaussianLinear(40, 5).double()
    phi = torch.rand(1, 40, generator=gen, dtype=torch.float64) * 2 - 1
    g = layer(Gaussian(phi, 1 - phi * phi))
    with torch.no_grad():
        inputs = draw_binary(phi[0], SAMPLES, gen)
        samples = inputs @ layer.weight.T + layer.bias
    assert_moments_match(samples, Gaussian(g.mean[0].detach(), g.var[0].detach()))


def test_binary_activation_mean_mode_matches_sampling_its_input():
    gen = torch.Generator().manual_seed(4)
    mu = torch.randn(200, generator=gen, dtype=torch.float64)
    var = torch.rand(200, generator=gen, dtype=torch.float64) + 0.1
    out = BinaryActivation("mean")(Gaussian(mu, var))
    pre = mu + var.sqrt() * torch.randn(SAMPLES, 200, generator=gen, dtype=torch.float64)
    binary = torch.where(pre >= 0, 1.0, -1.0).double()
    assert torch.allclose(out.mean, binary.mean(0), atol=0.05)
    assert torch.allclose(out.var, 1 - out.mean**2)


def test_binary_activation_sample_mode_draws_with_probability_q_and_has_gradient():
    torch.manual_seed(5)
    mu = torch.tensor([-1.0, 0.0, 0.5, 2.0]).repeat(SAMPLES, 1).requires_grad_(True)
    var = torch.ones_like(mu)
    act = BinaryActivation("sample", temperature=0.5).train()
    out = act(Gaussian(mu, var))
    assert out.var is None
    assert set(out.mean.unique().tolist()) == {-1.0, 1.0}
    expected = 2 * torch.special.ndtr(mu[0].detach()) - 1
    assert torch.allclose(out.mean.mean(0), expected, atol=0.05)
    out.mean.sum().backward()
    # A higher mean makes +1 more likely: the relaxed gradient is never negative.
    assert (mu.grad >= 0).all() and (mu.grad.mean(0) > 0.1).all()


def test_binary_activation_sample_mode_is_exact_and_finite_in_the_tails():
    # q = Phi(mu / sigma) for z = -30 .. 30: tails where float32's 1 - Phi is 0.
    torch.manual_seed(11)
    z = torch.tensor([-30.0, -7.0, -3.0, -1.5, 1.5, 3.0, 7.0, 30.0])
    mu = z.repeat(SAMPLES * 5, 1).requires_grad_(True)
    act = BinaryActivation("sample").train()
    out = act(Gaussian(mu, torch.ones_like(mu)))
    frequency_of_plus = (out.mean.detach() > 0).double().mean(0)
    q = torch.special.ndtr(z.double())
    assert torch.allclose(frequency_of_plus, q, atol=0.01)
    assert frequency_of_plus[0] == 0 and frequency_of_plus[-1] == 1
    out.mean.sum().backward()
    assert mu.grad is not None and torch.isfinite(mu.grad).all() and (mu.grad >= 0).all()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_binary_activation_sample_mode_gradient_is_the_binary_concrete_gradient(temperature):
    # The C kernel's closed-form backward against float64 autograd through the
    # relaxed sample 2 sigmoid((logit q + L) / tau) - 1, q = Phi(mu / sigma), on
    # the same logistic draws L; z spans both clamped tails. The kernel works
    # in float32, hence the tolerances.
    gen = torch.Generator().manual_seed(12)
    mu = (torch.randn(6, 50, generator=gen, dtype=torch.float64) * 4).requires_grad_(True)
    var = (torch.rand(6, 50, generator=gen, dtype=torch.float64) * 2 + 0.01).requires_grad_(True)
    with torch.no_grad():
        mu[0, :4] = torch.tensor([-40.0, -9.0, 9.0, 40.0])
    weights = torch.randn(6, 50, generator=gen, dtype=torch.float64)
    torch.manual_seed(13)
    out = BinaryActivation("sample", temperature=temperature).train()(Gaussian(mu, var))
    (out.mean * weights).sum().backward()
    torch.manual_seed(13)
    logistic = standard_logistic(mu.shape, draw_seed()).double()
    mu_ref, var_ref = mu.detach().clone().requires_grad_(True), var.detach().clone().requires_grad_(True)
    z = (mu_ref * torch.rsqrt(var_ref + 1e-8)).clamp(-8, 8) / math.sqrt(2)
    noisy = torch.log(torch.special.erfc(-z)) - torch.log(torch.special.erfc(z)) + logistic
    relaxed = 2 * torch.sigmoid(noisy / temperature) - 1
    (relaxed * weights).sum().backward()
    decided = noisy.detach().abs() > 1e-4  # float32 cannot settle draws closer than that to the threshold
    assert decided.sum() > 290
    assert torch.equal(out.mean.detach()[decided], torch.where(noisy >= 0, 1.0, -1.0).double()[decided])
    assert torch.allclose(mu.grad, mu_ref.grad, rtol=2e-4, atol=1e-9)
    assert torch.allclose(var.grad, var_ref.grad, rtol=2e-4, atol=1e-9)
    assert mu.grad[0, :4].abs().max() == 0 and (mu.grad.abs() > 1e-3).sum() > 100


def test_binary_activation_sample_mode_propagates_means_in_eval():
    mu, var = torch.tensor([0.3, -2.0]), torch.tensor([1.0, 4.0])
    sampled = BinaryActivation("sample").eval()(Gaussian(mu, var))
    mean = BinaryActivation("mean")(Gaussian(mu, var))
    assert torch.equal(sampled.mean, mean.mean)


def test_stochastic_batch_norm_statistics_and_running_averages():
    gen = torch.Generator().manual_seed(6)
    mu = torch.randn(8, 3, 4, 4, generator=gen, dtype=torch.float64) * 3 + 1
    var = torch.rand(8, 3, 4, 4, generator=gen, dtype=torch.float64)
    bn = StochasticBatchNorm(3).double().train()
    out = bn(Gaussian(mu, var))
    m = mu.mean(dim=(0, 2, 3))
    count = 8 * 16
    v = (var.sum(dim=(0, 2, 3)) + ((mu - m.view(1, 3, 1, 1)) ** 2).sum(dim=(0, 2, 3))) / (count - 1)
    expected_mean = (mu - m.view(1, 3, 1, 1)) / torch.sqrt(v.view(1, 3, 1, 1) + bn.eps)
    assert torch.allclose(out.mean.detach(), expected_mean)
    assert torch.allclose(out.var.detach(), var / (v.view(1, 3, 1, 1) + bn.eps))
    assert torch.allclose(bn.running_mean, 0.1 * m)
    assert torch.allclose(bn.running_var, 0.9 + 0.1 * v)
    bn.eval()
    evaluated = bn(Gaussian(mu, var))
    assert torch.allclose(evaluated.mean, (mu - bn.running_mean.view(1, 3, 1, 1)) / torch.sqrt(bn.running_var.view(1, 3, 1, 1) + bn.eps))


def test_stochastic_batch_norm_sample_moments_match_monte_carlo():
    """The batch statistics are those of samples drawn from the per-example Gaussians."""
    gen = torch.Generator().manual_seed(7)
    mu = torch.randn(64, 2, generator=gen, dtype=torch.float64)
    var = torch.rand(64, 2, generator=gen, dtype=torch.float64) * 2
    bn = StochasticBatchNorm(2).double().train()
    bn(Gaussian(mu, var))
    draws = mu + var.sqrt() * torch.randn(SAMPLES, 64, 2, generator=gen, dtype=torch.float64)
    mc_var = draws.var(dim=1).mean(0)  # per-batch sample variance, averaged over draws
    observed = (bn.running_var - 0.9) / 0.1
    assert torch.allclose(observed, mc_var, rtol=0.03)


def test_stochastic_max_pool_carries_moments_of_the_sampled_argmax():
    torch.manual_seed(8)
    mu = torch.tensor([[[[0.0, 5.0], [1.0, 2.0]]]])
    var = torch.tensor([[[[100.0, 1e-6], [1e-6, 1e-6]]]])
    pool = StochasticMaxPool2d(2).train()
    picks = [pool(Gaussian(mu, var)).mean.item() for _ in range(400)]
    assert set(picks) <= {0.0, 5.0}
    # P(N(0, 100) > 5) = 1 - Phi(0.5) = 0.3085
    assert abs(picks.count(0.0) / 400 - 0.3085) < 0.08
    pool.eval()
    out = pool(Gaussian(mu, var))
    assert out.mean.item() == 5.0 and out.var.item() == pytest.approx(1e-6)


def test_stochastic_max_pool_in_eval_picks_the_window_max_of_the_means_on_odd_multichannel_maps():
    gen = torch.Generator().manual_seed(10)
    mu = torch.randn(3, 5, 9, 7, generator=gen)
    var = torch.rand(3, 5, 9, 7, generator=gen)
    out = StochasticMaxPool2d(2).eval()(Gaussian(mu, var))
    pooled, indices = torch.nn.functional.max_pool2d(mu, 2, return_indices=True)
    assert torch.equal(out.mean, pooled)
    assert out.var is not None
    assert torch.equal(out.var, var.flatten(2).gather(2, indices.flatten(2)).view_as(indices))
    # In training the argmax is on mu + sigma n: with zero variance, on mu itself.
    trained = StochasticMaxPool2d(2).train()(Gaussian(mu, torch.zeros_like(var)))
    assert torch.equal(trained.mean, pooled)


def test_weight_readings():
    theta = torch.tensor([-0.9, -0.6, -0.2, 0.0, 0.3, 0.5, 0.8])
    assert torch.equal(map_weights(theta), torch.tensor([-1.0, -1, -1, 1, 1, 1, 1]))
    assert torch.equal(ternary_weights(theta), torch.tensor([-1.0, -1, 0, 0, 0, 1, 1]))
    gen = torch.Generator().manual_seed(9)
    draws = torch.stack([sample_weights(theta, gen) for _ in range(SAMPLES)])
    assert torch.allclose(draws.mean(0), theta, atol=0.05)
    assert torch.allclose(theta_from_float_weights(torch.tensor([1.0, -1.0, 3.0, -3.0]), 0.9).abs().max(), torch.tensor(0.9))


def test_theta_is_clipped_and_inputs_are_checked():
    layer = PBLinear(4, 2, theta_clip=0.9)
    layer.theta.data.fill_(2.0)
    layer.clip_latent_weights()
    assert float(layer.theta.detach().max()) == pytest.approx(0.9)
    with pytest.raises(ValueError, match=r"PBLinear expects input \(N, 4\)"):
        layer(torch.randn(3, 5))
    with pytest.raises(ValueError, match="theta_clip"):
        PBConv2d(1, 1, 3, theta_clip=1.0)
    with pytest.raises(ValueError, match="variance"):
        BinaryActivation()(torch.randn(3))
    with pytest.raises(ValueError, match="mode"):
        BinaryActivation("median")


def test_binary_cross_entropy_probit_is_eq_14_and_finite_for_confident_outputs():
    scores = torch.tensor([[0.3, -1.2, 2.0], [-0.5, 0.0, 1.5]], dtype=torch.float64)
    targets = torch.tensor([2, 0])
    p = torch.special.ndtr(scores)
    expected = torch.stack(
        [-(torch.log(p[i, y]) + sum(torch.log(1 - p[i, c]) for c in range(3) if c != y)) for i, y in enumerate(targets)]
    )
    assert torch.allclose(binary_cross_entropy_probit(scores, targets, reduction="sum"), expected.sum())
    assert torch.allclose(binary_cross_entropy_probit(scores, targets), expected.mean())
    # A confidently wrong float32 output: 1 - Phi(40) underflows, log_ndtr(-40) does not (about -804.6).
    wrong = binary_cross_entropy_probit(torch.tensor([[40.0, -40.0]]), torch.tensor([1]))
    assert math.isfinite(float(wrong)) and float(wrong) == pytest.approx(2 * 804.6, rel=1e-3)
    right = binary_cross_entropy_probit(torch.tensor([[-40.0, 40.0]]), torch.tensor([1]))
    assert 0.0 <= float(right) < 1e-6
    with pytest.raises(ValueError, match=r"scores \(N, C\) and targets \(N,\)"):
        binary_cross_entropy_probit(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="reduction"):
        binary_cross_entropy_probit(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), reduction="none")


def test_probit_scores_are_mean_over_standard_deviation():
    g = Gaussian(torch.tensor([[1.0, -2.0]]), torch.tensor([[4.0, 1.0]]))
    assert torch.allclose(probit_scores(g), torch.tensor([[0.5, -2.0]]), atol=1e-6)
    with pytest.raises(ValueError, match="variance"):
        probit_scores(Gaussian(torch.zeros(1, 2), None))
