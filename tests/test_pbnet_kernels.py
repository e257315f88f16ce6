"""The PBNet training kernels: noise distributions, fused pooling and activation, input checks.

Bit-exactness of every ISA path and the accuracy of the elementary functions
are also tested in C (kernels/tests/test_noise.c); here the distributions are
tested statistically, with bounds set at about five standard errors of each
statistic, so a correct generator fails with negligible probability while a
biased one (a wrong constant, a lost bit, correlated streams) does not pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bnnbench import kernels
from bnnbench.nn.pbnet_kernels import (
    draw_seed,
    noisy_max_pool2d_indices,
    sampled_sign,
    standard_logistic,
    standard_normal,
)

N = 2_000_000


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _ks_distance(sample: np.ndarray, cdf) -> float:
    """Kolmogorov-Smirnov distance between a sample and a CDF (evaluated on a sorted subsample)."""
    xs = np.sort(sample)
    grid = np.linspace(0, len(xs) - 1, 20_000).astype(np.int64)
    empirical = (grid + 1) / len(xs)
    return float(np.max(np.abs(empirical - cdf(xs[grid]))))


def test_normal_moments_tails_and_distribution():
    x = standard_normal(N, seed=1234).double().numpy()
    se = 1.0 / math.sqrt(N)
    assert abs(x.mean()) < 5 * se
    assert abs(x.var() - 1.0) < 5 * math.sqrt(2.0) * se
    assert abs(np.mean(x**3)) < 5 * math.sqrt(15.0) * se  # skewness 0
    assert abs(np.mean(x**4) - 3.0) < 5 * math.sqrt(96.0) * se  # kurtosis 3
    for k, p in ((1.0, 0.31731050786), (2.0, 0.04550026390), (3.0, 0.00269979606), (4.0, 6.334e-5)):
        freq = float(np.mean(np.abs(x) > k))
        assert abs(freq - p) < 5 * math.sqrt(p * (1 - p) / N) + 1e-7, (k, freq, p)
    # KS: the 1e-6 critical value is about 2.7 / sqrt(N).
    assert _ks_distance(x, _normal_cdf) < 2.7 / math.sqrt(N)
    assert np.abs(x).max() <= math.sqrt(48 * math.log(2)) + 1e-5  # the 24-bit Box-Muller bound


def test_normal_values_are_uncorrelated_within_and_across_counters():
    x = standard_normal(N, seed=99).double().numpy()
    bound = 5 / math.sqrt(N / 4)
    # Values 4c, 4c+1 are the cos / sin pair of one Box-Muller draw: independent
    # in theory, so neither they nor their squares may correlate.
    for a, b in ((0, 1), (2, 3), (1, 2), (0, 2)):
        assert abs(np.corrcoef(x[a::4], x[b::4])[0, 1]) < bound
        assert abs(np.corrcoef(x[a::4] ** 2, x[b::4] ** 2)[0, 1]) < bound
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 5 / math.sqrt(N)
    other = standard_normal(N, seed=100).double().numpy()
    assert abs(np.corrcoef(x, other)[0, 1]) < 5 / math.sqrt(N)


def test_logistic_moments_symmetry_and_distribution():
    x = standard_logistic((N,), seed=7).double().numpy()
    se = 1.0 / math.sqrt(N)
    variance = math.pi**2 / 3
    assert abs(x.mean()) < 5 * math.sqrt(variance) * se
    # Var of x^2 for the standard logistic: E[x^4] - Var^2 = 7 pi^4 / 15 - pi^4 / 9.
    assert abs(x.var() - variance) < 5 * math.sqrt(7 * math.pi**4 / 15 - math.pi**4 / 9) * se
    assert _ks_distance(x, lambda v: 1.0 / (1.0 + np.exp(-v))) < 2.7 / math.sqrt(N)
    assert np.abs(x).max() <= math.log(2**24 - 1) + 1e-4
    assert abs(float(np.mean(x > 0)) - 0.5) < 5 * 0.5 * se  # symmetric about 0


def test_streams_are_functions_of_seed_and_index():
    a = standard_normal(1000, seed=5)
    assert torch.equal(a, standard_normal(1000, seed=5))
    assert torch.equal(a[37:], standard_normal(963, seed=5, first=37))
    assert not torch.equal(a, standard_normal(1000, seed=6))
    big = standard_normal(300_000, seed=8, threads=1)
    assert torch.equal(big, standard_normal(300_000, seed=8, threads=2))
    logistic = standard_logistic((3, 5000), seed=8, threads=1)
    assert torch.equal(logistic, standard_logistic((3, 5000), seed=8, threads=3))


@pytest.mark.parametrize("isa", kernels.available_isas())
def test_every_isa_path_gives_the_same_bits(isa):
    mean = torch.randn(3, 5, 13, 11, generator=torch.Generator().manual_seed(0))
    var = torch.rand(3, 5, 13, 11, generator=torch.Generator().manual_seed(1))
    with kernels.use_isa("scalar"):
        want = (
            standard_normal(9999, seed=3, first=2),
            standard_logistic((9999,), seed=3),
            noisy_max_pool2d_indices(mean, var, 2, seed=3),
            *sampled_sign(mean, var, 0.5, seed=3),
        )
    with kernels.use_isa(isa):
        got = (
            standard_normal(9999, seed=3, first=2),
            standard_logistic((9999,), seed=3),
            noisy_max_pool2d_indices(mean, var, 2, seed=3),
            *sampled_sign(mean, var, 0.5, seed=3),
        )
    for w, g in zip(want, got):
        assert torch.equal(w, g)


def test_noisy_max_pool_is_the_argmax_of_one_sample_per_input():
    gen = torch.Generator().manual_seed(2)
    mean = torch.randn(4, 3, 9, 7, generator=gen)
    var = torch.rand(4, 3, 9, 7, generator=gen) * 2
    for kernel in (1, 2, 3):
        indices = noisy_max_pool2d_indices(mean, var, kernel, seed=11)
        noise = standard_normal(mean.numel(), seed=11).view_as(mean)
        score = mean + torch.sqrt(var) * noise
        _, want = torch.nn.functional.max_pool2d(score, kernel, return_indices=True)
        assert indices.shape == (4, 3, 9 // kernel, 7 // kernel)
        assert torch.equal(indices, want)


def test_noisy_max_pool_picks_each_input_with_its_probability():
    # Two candidates per window (the others far below): P(b wins) = Phi((mu_b - mu_a) / sqrt(2)).
    windows = 200_000
    mean = torch.full((1, windows, 2, 2), -50.0)
    mean[0, :, 0, 0] = 0.0
    mean[0, :, 0, 1] = 0.5
    var = torch.ones_like(mean)
    indices = noisy_max_pool2d_indices(mean, var, 2, seed=21).flatten()
    freq = float((indices == 1).double().mean())
    p = 0.5 * (1 + math.erf(0.5 / math.sqrt(2) / math.sqrt(2)))
    assert abs(freq - p) < 5 * math.sqrt(p * (1 - p) / windows)
    assert set(indices.unique().tolist()) == {0, 1}


def test_sampled_sign_draws_with_probability_phi():
    z = torch.tensor([-3.0, -1.0, 0.0, 0.4, 2.0])
    reps = 100_000
    mean = z.repeat(reps, 1)
    sign, d_mean, d_var = sampled_sign(mean, torch.ones_like(mean), 1.0, seed=4)
    q = 0.5 * (1 + torch.erf(z.double() / math.sqrt(2)))
    freq = (sign > 0).double().mean(0)
    assert torch.all((freq - q).abs() < 5 * torch.sqrt(q * (1 - q) / reps) + 1e-6)
    assert set(sign.unique().tolist()) == {-1.0, 1.0}
    assert (d_mean >= 0).all() and (d_mean.mean(0) > 0).all()
    # At mean 0, d_var = -d_mean z / (2 sigma^2) = 0.
    assert torch.all(d_var[:, 2] == 0)


def test_draw_seed_follows_torch_manual_seed():
    torch.manual_seed(3)
    first = [draw_seed() for _ in range(3)]
    torch.manual_seed(3)
    assert [draw_seed() for _ in range(3)] == first
    assert len(set(first)) == 3 and all(0 <= s < 2**63 for s in first)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: standard_normal(-1, seed=0), ValueError, "count"),
        (lambda: standard_normal(4, seed=-1), ValueError, "seed"),
        (lambda: standard_normal(4, seed=2**64), ValueError, "seed"),
        (lambda: standard_normal(4, seed=0, first=2**64 - 2), ValueError, "first"),
        (lambda: standard_normal(4, seed=0, threads=0), ValueError, "threads"),
        (lambda: standard_logistic((2, -1), seed=0), ValueError, "shape"),
        (lambda: noisy_max_pool2d_indices(torch.zeros(1, 1, 4, 4, dtype=torch.float64), torch.zeros(1, 1, 4, 4), 2, 0),
         TypeError, "float32"),
        (lambda: noisy_max_pool2d_indices(torch.zeros(1, 4, 4), torch.zeros(1, 4, 4), 2, 0), ValueError, "(N, C, H, W)"),
        (lambda: noisy_max_pool2d_indices(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5), 2, 0), ValueError, "shape"),
        (lambda: noisy_max_pool2d_indices(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4).transpose(2, 3), 2, 0),
         ValueError, "contiguous"),
        (lambda: noisy_max_pool2d_indices(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), 5, 0), ValueError,
         "larger"),
        (lambda: noisy_max_pool2d_indices(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), 0, 0), ValueError,
         "kernel_size"),
        (lambda: noisy_max_pool2d_indices([[1.0]], torch.zeros(1, 1, 4, 4), 2, 0), TypeError, "torch.Tensor"),
        (lambda: sampled_sign(torch.zeros(3), torch.zeros(3), 0.0, 0), ValueError, "temperature"),
        (lambda: sampled_sign(torch.zeros(3), torch.zeros(4), 1.0, 0), ValueError, "shape"),
        (lambda: sampled_sign(torch.zeros(3, dtype=torch.float16), torch.zeros(3), 1.0, 0), TypeError, "float32"),
    ],
)
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
