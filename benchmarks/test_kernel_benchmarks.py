"""pytest-benchmark view of the kernel suite: the same layers and
implementations as ``bnnbench run --suite kernels``.

    python -m pytest benchmarks --benchmark-enable --benchmark-json=kernels.json

Numbers are recorded, not asserted; compare runs with ``pytest-benchmark compare``.
"""

from __future__ import annotations

import pytest

from bnnbench.bench.kernel_suite import DABNN_LAYERS, IMPLEMENTATIONS, LayerCase, layer_functions, torch_threads
from bnnbench.environment import usable_cores

THREADS = sorted({1, usable_cores()})


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("layer", DABNN_LAYERS, ids=[case.name.replace(" ", "_") for case in DABNN_LAYERS])
def test_kernel(benchmark, layer: LayerCase, implementation: str, threads: int) -> None:
    function = layer_functions(layer, threads)[implementation]
    benchmark.group = f"{layer.name} t={threads}"
    benchmark.extra_info.update({"macs": layer.macs, "binary_ops": 2 * layer.macs})
    with torch_threads(threads):
        benchmark(function)
