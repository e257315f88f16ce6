"""Kernel benchmark: daBNN's binary layer set against torch fp32, same threads.

Layers (daBNN, Zhang et al. 2019, Table 2): 3x3 convolutions, stride 1, same
padding, batch 1 -- 56x56x64->64, 28x28x128->128, 14x14x256->256,
7x7x512->512 -- plus a 4096->4096 fully-connected layer at batch 1 and 64.
For each layer and thread count:

- ``binary_e2e``: float32 NHWC in, pack, binary conv/dense, float32 out with
  BatchNorm folded into a per-channel scale and bias (what a binary layer
  inside a float network costs);
- ``binary_kernel``: packed in, int32 dot products out into a preallocated
  array (the XNOR-popcount kernel alone), also reported as a fraction of the
  popcount roofline;
- ``torch_channels_last`` / ``torch_default``: torch fp32 ``conv2d`` (oneDNN)
  with channels_last and with the default NCHW layout, ``linear`` for dense.
  Speedups are quoted against the faster of the two (the strongest baseline).

Throughput is in binary ops/s: 2 ops per MAC (one XNOR, one accumulate).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from bnnbench import kernels
from bnnbench.bench.contention import ContentionMeter
from bnnbench.bench.timing import QUICK_BUDGET, TimingBudget, TimingStats, benchmark_record, measure
from bnnbench.progress import Progress

GROUP = "kernels"


@dataclass(frozen=True)
class LayerCase:
    """One benchmark layer: a 3x3 same conv (kernel > 0) or a dense layer (kernel == 0)."""

    name: str
    batch: int
    height: int
    width: int
    channels: int
    out_channels: int
    kernel: int = 3

    @property
    def is_conv(self) -> bool:
        return self.kernel > 0

    @property
    def macs(self) -> int:
        if self.is_conv:
            return self.batch * self.height * self.width * self.out_channels * self.channels * self.kernel**2
        return self.batch * self.channels * self.out_channels


DABNN_LAYERS: tuple[LayerCase, ...] = (
    LayerCase("conv 56x56x64->64", 1, 56, 56, 64, 64),
    LayerCase("conv 28x28x128->128", 1, 28, 28, 128, 128),
    LayerCase("conv 14x14x256->256", 1, 14, 14, 256, 256),
    LayerCase("conv 7x7x512->512", 1, 7, 7, 512, 512),
    LayerCase("dense 4096->4096 b1", 1, 1, 1, 4096, 4096, kernel=0),
    LayerCase("dense 4096->4096 b64", 64, 1, 1, 4096, 4096, kernel=0),
)

IMPLEMENTATIONS = ("binary_e2e", "binary_kernel", "torch_channels_last", "torch_default")


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def layer_functions(case: LayerCase, threads: int, seed: int = 0) -> dict[str, Callable[[], object]]:
    """The four implementations of one layer, on the same random data."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((case.batch, case.height, case.width, case.channels)).astype(np.float32)
    kernel = max(case.kernel, 1)
    w = rng.standard_normal((case.out_channels, kernel, kernel, case.channels)).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, case.out_channels).astype(np.float32)
    bias = rng.standard_normal(case.out_channels).astype(np.float32)
    weights = kernels.prepare_weights(kernels.pack(w), case.channels)
    x_packed = kernels.pack(x)
    torch_w = torch.from_numpy(w).permute(0, 3, 1, 2).contiguous()
    torch_x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    if case.is_conv:
        kernel_out = np.empty((case.batch, case.height, case.width, case.out_channels), np.int32)

        def binary_e2e() -> object:
            return kernels.bconv2d(kernels.pack(x, threads), weights, case.channels, scale=scale, bias=bias,
                                   threads=threads)

        def binary_kernel() -> object:
            return kernels.bconv2d(x_packed, weights, case.channels, output="int32", threads=threads, out=kernel_out)

        x_last, w_last = torch_x.to(memory_format=torch.channels_last), torch_w.to(memory_format=torch.channels_last)
        padding = case.kernel // 2

        def torch_channels_last() -> object:
            with torch.inference_mode():
                return torch.nn.functional.conv2d(x_last, w_last, padding=padding)

        def torch_default() -> object:
            with torch.inference_mode():
                return torch.nn.functional.conv2d(torch_x, torch_w, padding=padding)
    else:
        x2, xp2 = x.reshape(case.batch, case.channels), x_packed.reshape(case.batch, -1)
        kernel_out = np.empty((case.batch, case.out_channels), np.int32)
        tx, tw = torch.from_numpy(x2), torch.from_numpy(w.reshape(case.out_channels, case.channels))

        def binary_e2e() -> object:
            return kernels.bdense(kernels.pack(x2, threads), weights, case.channels, scale=scale, bias=bias,
                                  threads=threads)

        def binary_kernel() -> object:
            return kernels.bdense(xp2, weights, case.channels, output="int32", threads=threads, out=kernel_out)

        def torch_channels_last() -> object:  # dense has no layout choice: both are linear()
            with torch.inference_mode():
                return torch.nn.functional.linear(tx, tw)

        torch_default = torch_channels_last
    return {
        "binary_e2e": binary_e2e,
        "binary_kernel": binary_kernel,
        "torch_channels_last": torch_channels_last,
        "torch_default": torch_default,
    }


# ------------------------------------------------------------------ roofline


def measure_roofline(threads: int, isa: str | None = None, seconds: float = 0.2, repeats: int = 3) -> float:
    """Best binary ops/s (2 per bit-MAC) of the register-only xor+popcount+add loop.

    ``threads`` Python threads each run the loop at once (the call releases
    the GIL), so the multi-thread figure is the machine's aggregate ceiling.
    """
    isa = isa or kernels.isa()
    bits, _ = kernels.roofline_run(isa, 1)
    start = time.perf_counter()
    kernels.roofline_run(isa, 10_000)
    per_iteration = max((time.perf_counter() - start) / 10_000, 1e-10)
    iterations = max(1, int(seconds / per_iteration))
    best = 0.0
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            done = list(pool.map(lambda _: kernels.roofline_run(isa, iterations)[0], range(threads)))
            elapsed = time.perf_counter() - start
            best = max(best, 2.0 * sum(done) / elapsed)
    return best


# --------------------------------------------------------------------- suite


@dataclass(frozen=True)
class KernelMeasurement:
    layer: str
    implementation: str
    threads: int
    median_s: float
    binary_gops: float
    macs: int


def run_kernel_suite(
    thread_counts: tuple[int, ...], quick: bool = False, layers: tuple[LayerCase, ...] = DABNN_LAYERS
) -> dict[str, object]:
    """Measure every layer x implementation x thread count; return a JSON-ready dict."""
    budget: TimingBudget = QUICK_BUDGET if quick else TimingBudget()
    meter = ContentionMeter().start()
    progress = Progress(len(layers) * len(thread_counts) * len(IMPLEMENTATIONS) + len(thread_counts), "kernels")
    roofline: dict[str, float] = {}
    for threads in thread_counts:
        roofline[str(threads)] = measure_roofline(threads, seconds=0.05 if quick else 0.2)
        progress.step(f"roofline t={threads}")
    measurements: list[KernelMeasurement] = []
    records: list[dict[str, object]] = []
    for case in layers:
        for threads in thread_counts:
            functions = layer_functions(case, threads)
            with torch_threads(threads):
                for implementation in IMPLEMENTATIONS:
                    stats: TimingStats = measure(functions[implementation], budget)
                    measurements.append(KernelMeasurement(
                        case.name, implementation, threads, stats.median, 2 * case.macs / stats.median / 1e9, case.macs,
                    ))
                    params = {"layer": case.name, "implementation": implementation, "threads": threads}
                    extra = {"macs": case.macs, "isa": kernels.isa(), "binary_gops": measurements[-1].binary_gops}
                    records.append(benchmark_record("kernel", GROUP, params, stats, extra))
                    progress.step(f"{case.name} {implementation} t={threads}")
    return {
        "isa": kernels.isa(),
        "thread_counts": list(thread_counts),
        "roofline_gops": {t: v / 1e9 for t, v in roofline.items()},
        "measurements": [asdict(m) for m in measurements],
        "summary": add_predictions(summarize_speedups(measurements, roofline), layers),
        "other_processes_cpu_fraction": meter.others_fraction(),
        "benchmarks": records,
    }


#: The hw_models target describing the machines bnnbench is developed on.
HOST_TARGET = "x86-avx512"


def add_predictions(rows: list[dict[str, Any]], layers: tuple[LayerCase, ...]) -> list[dict[str, Any]]:
    """Put the host cost model's predicted latency (``hw_models``) next to each measured one.

    ``predicted_kernel_ms`` prices packed input (the kernel alone), ``predicted_e2e_ms``
    adds packing the float input; the errors are (predicted - measured) / measured.
    """
    from hw_models.layer_bench import dabnn_predictions

    if layers != DABNN_LAYERS:
        return rows
    for threads in sorted({int(r["threads"]) for r in rows}):
        kernel = dabnn_predictions(HOST_TARGET, threads=threads, packed_input=True)
        e2e = dabnn_predictions(HOST_TARGET, threads=threads, packed_input=False)
        for case, p_kernel, p_e2e in zip(layers, kernel, e2e):
            if p_kernel.macs != case.macs:
                raise ValueError(f"hw_models layer {p_kernel.name} does not match {case.name}")
            row = next(r for r in rows if r["layer"] == case.name and r["threads"] == threads)
            row["predicted_kernel_ms"] = 1e3 * p_kernel.latency_s
            row["predicted_e2e_ms"] = 1e3 * p_e2e.latency_s
            row["prediction_error_kernel"] = row["predicted_kernel_ms"] / row["binary_kernel_ms"] - 1
            row["prediction_error_e2e"] = row["predicted_e2e_ms"] / row["binary_e2e_ms"] - 1
    return rows


def summarize_speedups(measurements: list[KernelMeasurement], roofline: dict[str, float]) -> list[dict[str, Any]]:
    """Per layer and thread count: times, speedups vs torch, roofline fraction (all from one run)."""
    table: dict[tuple[str, int], dict[str, float]] = {}
    for m in measurements:
        table.setdefault((m.layer, m.threads), {})[m.implementation] = m.median_s
    rows = []
    macs = {m.layer: m.macs for m in measurements}
    for (layer, threads), times in table.items():
        torch_best = min(times["torch_channels_last"], times["torch_default"])
        kernel_gops = 2 * macs[layer] / times["binary_kernel"] / 1e9
        rows.append({
            "layer": layer,
            "threads": threads,
            "binary_e2e_ms": times["binary_e2e"] * 1e3,
            "binary_kernel_ms": times["binary_kernel"] * 1e3,
            "torch_channels_last_ms": times["torch_channels_last"] * 1e3,
            "torch_default_ms": times["torch_default"] * 1e3,
            "speedup_e2e_vs_channels_last": times["torch_channels_last"] / times["binary_e2e"],
            "speedup_e2e_vs_best_torch": torch_best / times["binary_e2e"],
            "speedup_kernel_vs_best_torch": torch_best / times["binary_kernel"],
            "binary_kernel_gops": kernel_gops,
            "roofline_fraction": kernel_gops * 1e9 / roofline[str(threads)],
        })
    return rows
