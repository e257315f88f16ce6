"""pytest-benchmark view of the model suite: compiled binary models against
their float twins in torch (the same cases as ``bnnbench run --suite models``).

    python -m pytest benchmarks/test_model_benchmarks.py --benchmark-enable
"""

from __future__ import annotations

import pytest

from bnnbench.bench.kernel_suite import torch_threads
from bnnbench.bench.model_suite import BATCHES, BENCHMARK_MODELS, IMPLEMENTATIONS, model_functions
from bnnbench.environment import usable_cores

THREADS = sorted({1, usable_cores()})


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("model", BENCHMARK_MODELS)
def test_model(benchmark, model: str, implementation: str, batch: int, threads: int) -> None:
    function = model_functions(model, batch, threads).functions[implementation]
    benchmark.group = f"{model} batch={batch} t={threads}"
    with torch_threads(threads):
        benchmark(function)
