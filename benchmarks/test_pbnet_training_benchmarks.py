"""The PBNet training kernels against the torch code they replace, at PBNet-S's shapes.

    python -m pytest benchmarks/test_pbnet_training_benchmarks.py --benchmark-enable

Each pair runs with the same thread count (all usable cores) on the tensors of
one mnist-bnn-topology PBNet-S step at batch 100: the first stochastic max
pooling sees 100 x 32 x 28 x 28 Gaussians, the first sampled activation
100 x 32 x 14 x 14. The torch baselines are what :mod:`bnnbench.nn.pbnet`
computed before the kernels: ``torch.randn`` (torch's CPU generator), the
noisy score written into channels-last for ``max_pool2d`` (its fastest
layout), and the Binary-Concrete sample and gradient as torch elementwise
operations. The last group times a whole PBNet-S training step (forward,
backward, Adam) with the kernels, with the kernels and the model option
``bfloat16_products`` (conv2 and fc1 on bfloat16, the reference recipe's
setting), and with those torch baselines patched in (float32).
Numbers are recorded, not asserted.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from bnnbench import models
from bnnbench.bench.kernel_suite import torch_threads
from bnnbench.environment import usable_cores
from bnnbench.nn import pbnet as pbnet_layers
from bnnbench.nn.pbnet_kernels import noisy_max_pool2d_indices, sampled_sign, standard_logistic, standard_normal
from bnnbench.training.allocator import retain_freed_memory

THREADS = usable_cores()
POOL_SHAPE = (100, 32, 28, 28)
ACTIVATION_SHAPE = (100, 32, 14, 14)


def _gaussians(shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(shape, generator=generator), torch.rand(shape, generator=generator) + 0.1


def _torch_noisy_pool(mean: torch.Tensor, var: torch.Tensor, kernel_size: int = 2) -> torch.Tensor:
    score = torch.empty_like(mean, memory_format=torch.channels_last)
    torch.addcmul(mean, torch.sqrt(var), torch.randn_like(mean), out=score)
    return F.max_pool2d(score, kernel_size, return_indices=True)[1].contiguous()


def _torch_sampled_sign(mean: torch.Tensor, var: torch.Tensor, tau: float) -> tuple[torch.Tensor, ...]:
    inv_sigma = torch.rsqrt(var + 1e-8)
    z = mean * inv_sigma
    clamped = z.clamp(-8.0, 8.0)
    scaled = clamped / math.sqrt(2.0)
    upper, lower = torch.special.erfc(-scaled), torch.special.erfc(scaled)
    u = torch.rand_like(z).clamp_(1e-6, 1 - 1e-6)
    noisy = torch.log(upper / lower) + torch.log(u / (1 - u))
    relaxed = torch.sigmoid(noisy / tau)
    density = torch.exp(-0.5 * clamped * clamped) * (4.0 / math.sqrt(2.0 * math.pi))
    dz = relaxed * (1 - relaxed) * density / (upper * lower) * (2.0 / tau)
    dz.masked_fill_(clamped != z, 0.0)
    d_mean = dz * inv_sigma
    return torch.where(noisy >= 0, 1.0, -1.0), d_mean, d_mean * z * inv_sigma * -0.5


@pytest.mark.parametrize("implementation", ["bnnbench", "torch"])
def test_standard_normal(benchmark, implementation: str) -> None:
    count = math.prod(POOL_SHAPE)
    benchmark.group = f"standard normal, {count} values, t={THREADS}"
    with torch_threads(THREADS):
        if implementation == "bnnbench":
            benchmark(standard_normal, count, 1)
        else:
            benchmark(torch.randn, count)


@pytest.mark.parametrize("implementation", ["bnnbench", "torch"])
def test_stochastic_max_pool(benchmark, implementation: str) -> None:
    mean, var = _gaussians(POOL_SHAPE)
    benchmark.group = f"stochastic max pool indices {POOL_SHAPE}, t={THREADS}"
    with torch_threads(THREADS):
        if implementation == "bnnbench":
            benchmark(noisy_max_pool2d_indices, mean, var, 2, 1)
        else:
            benchmark(_torch_noisy_pool, mean, var)


@pytest.mark.parametrize("implementation", ["bnnbench", "torch"])
def test_sampled_activation(benchmark, implementation: str) -> None:
    mean, var = _gaussians(ACTIVATION_SHAPE)
    benchmark.group = f"sampled binary activation + gradient {ACTIVATION_SHAPE}, t={THREADS}"
    with torch_threads(THREADS):
        if implementation == "bnnbench":
            benchmark(sampled_sign, mean, var, 1.0, 1)
        else:
            benchmark(_torch_sampled_sign, mean, var, 1.0)


def test_logistic_noise(benchmark) -> None:
    benchmark.group = f"standard logistic {ACTIVATION_SHAPE}, t={THREADS}"
    with torch_threads(THREADS):
        benchmark(standard_logistic, ACTIVATION_SHAPE, 1)


@pytest.mark.parametrize("implementation", ["bnnbench-bfloat16", "bnnbench", "torch"])
def test_pbnet_s_training_step(benchmark, monkeypatch, implementation: str) -> None:
    if implementation == "torch":
        monkeypatch.setattr(pbnet_layers, "noisy_max_pool2d_indices", lambda m, v, k, seed: _torch_noisy_pool(m, v, k))
        monkeypatch.setattr(pbnet_layers, "sampled_sign", lambda m, v, tau, seed: _torch_sampled_sign(m, v, tau))
    retain_freed_memory()
    torch.manual_seed(0)
    model = models.create("pbnet-s", bfloat16_products=implementation == "bnnbench-bfloat16").train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    images, labels = torch.randn(100, 1, 28, 28), torch.randint(0, 10, (100,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()

    benchmark.group = f"PBNet-S training step, batch 100, t={THREADS}"
    with torch_threads(THREADS):
        benchmark.pedantic(step, rounds=40, iterations=1, warmup_rounds=5)
