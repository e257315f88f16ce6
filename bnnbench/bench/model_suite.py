"""Model benchmark: compiled binary models against their float twins in torch.

For mnist-bnn, lenet-bitorch and FINN's cnv (random weights: speed does not
depend on their values), batch 1 and 64, 1 thread and all threads, time

- ``binary_engine``: the model compiled by :mod:`bnnbench.engine` (one C call);
- ``float_twin``: the same topology with float weights in torch, eval mode,
  ``inference_mode``, in the faster of channels_last and the default layout
  (both are measured; the faster is the baseline).

The compiled model's per-op profile and its packed size next to the float
model's size are recorded too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from bnnbench import engine, models
from bnnbench.bench.contention import ContentionMeter
from bnnbench.bench.kernel_suite import torch_threads
from bnnbench.bench.timing import QUICK_BUDGET, TimingBudget, benchmark_record, measure
from bnnbench.progress import Progress

GROUP = "models"
BENCHMARK_MODELS = ("mnist-bnn", "lenet-bitorch", "cnv")
BATCHES = (1, 64)
IMPLEMENTATIONS = ("binary_engine", "float_twin_default", "float_twin_channels_last")


@dataclass(frozen=True)
class ModelMeasurement:
    model: str
    batch: int
    threads: int
    implementation: str
    median_s: float


@dataclass(frozen=True)
class ModelCase:
    """One model at one batch size: a callable per implementation, and the compiled model."""

    functions: dict[str, Callable[[], object]]
    compiled: engine.CompiledModel
    images: np.ndarray


def model_functions(name: str, batch: int, threads: int, seed: int = 0) -> ModelCase:
    """The implementations of one model on the same random batch (random weights)."""
    torch.manual_seed(seed)
    binary = models.create(name).eval()
    twin = models.create(name, float_twin=True).eval()
    shape = tuple(getattr(binary, "input_shape"))
    compiled = engine.compile(binary, shape, threads=threads)
    x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(seed))
    x_numpy = np.ascontiguousarray(x.numpy())
    twin_last = models.create(name, float_twin=True).eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    twin_last.load_state_dict(twin.state_dict())
    x_last = x.contiguous(memory_format=torch.channels_last)

    def binary_engine() -> object:
        return compiled(x_numpy)

    def float_twin_default() -> object:
        with torch.inference_mode():
            return twin(x)

    def float_twin_channels_last() -> object:
        with torch.inference_mode():
            return twin_last(x_last)

    functions: dict[str, Callable[[], object]] = {
        "binary_engine": binary_engine,
        "float_twin_default": float_twin_default,
        "float_twin_channels_last": float_twin_channels_last,
    }
    return ModelCase(functions, compiled, x_numpy)


def run_model_suite(
    thread_counts: tuple[int, ...], quick: bool = False, names: tuple[str, ...] = BENCHMARK_MODELS,
    batches: tuple[int, ...] = BATCHES,
) -> dict[str, object]:
    budget = QUICK_BUDGET if quick else TimingBudget()
    meter = ContentionMeter().start()
    progress = Progress(len(names) * len(batches) * len(thread_counts) * len(IMPLEMENTATIONS), "models")
    measurements: list[ModelMeasurement] = []
    records: list[dict[str, object]] = []
    profiles: list[dict[str, object]] = []
    sizes: dict[str, dict[str, int]] = {}
    for name in names:
        for batch in batches:
            for threads in thread_counts:
                case = model_functions(name, batch, threads)
                compiled = case.compiled
                sizes[name] = {"packed_bytes": compiled.model_bytes, "float_bytes": compiled.float_bytes}
                with torch_threads(threads):
                    for implementation in IMPLEMENTATIONS:
                        stats = measure(case.functions[implementation], budget)
                        measurements.append(ModelMeasurement(name, batch, threads, implementation, stats.median))
                        params = {"model": name, "batch": batch, "threads": threads, "implementation": implementation}
                        records.append(benchmark_record("model", GROUP, params, stats, {}))
                        progress.step(f"{name} b={batch} t={threads} {implementation}")
                profile = [compiled.profile(case.images) for _ in range(5 if quick else 20)]
                profiles.append({
                    "model": name, "batch": batch, "threads": threads,
                    "layers": [{"name": p.name, "kind": p.kind,
                                "median_ms": 1e3 * float(np.median([run[i].seconds for run in profile]))}
                               for i, p in enumerate(profile[0])],
                })
    return {
        "measurements": [asdict(m) for m in measurements],
        "summary": summarize(measurements, sizes),
        "profiles": profiles,
        "sizes": sizes,
        "other_processes_cpu_fraction": meter.others_fraction(),
        "benchmarks": records,
    }


def summarize(measurements: list[ModelMeasurement], sizes: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    table: dict[tuple[str, int, int], dict[str, float]] = {}
    for m in measurements:
        table.setdefault((m.model, m.batch, m.threads), {})[m.implementation] = m.median_s
    rows = []
    for (name, batch, threads), times in table.items():
        twin = min(times["float_twin_default"], times["float_twin_channels_last"])
        rows.append({
            "model": name, "batch": batch, "threads": threads,
            "binary_ms": 1e3 * times["binary_engine"],
            "float_twin_default_ms": 1e3 * times["float_twin_default"],
            "float_twin_channels_last_ms": 1e3 * times["float_twin_channels_last"],
            "speedup": twin / times["binary_engine"],
            "size_ratio": sizes[name]["float_bytes"] / sizes[name]["packed_bytes"],
        })
    return rows
