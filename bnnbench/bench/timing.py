"""Timing harness whose records follow pytest-benchmark's JSON format.

A measurement warms up, then times rounds of back-to-back calls (several
calls per round when one call is shorter than the timer can resolve well)
until both a minimum time and a minimum number of rounds are reached.
Statistics are computed by pytest-benchmark's own ``Stats`` (seconds per
call), so files written by ``bnnbench run`` are read by ``pytest-benchmark
compare`` exactly as its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from pytest_benchmark.stats import Stats

#: Aim for rounds of at least this long, so timer resolution is negligible.
ROUND_TARGET_S = 1e-3


@dataclass(frozen=True)
class TimingBudget:
    """How long to measure one function."""

    warmup_calls: int = 3
    min_rounds: int = 15
    min_time_s: float = 0.3
    max_time_s: float = 3.0


QUICK_BUDGET = TimingBudget(warmup_calls=2, min_rounds=5, min_time_s=0.05, max_time_s=0.5)


@dataclass(frozen=True)
class TimingStats:
    """pytest-benchmark's ``stats`` block (seconds per call over rounds), plus iterations per round."""

    min: float
    max: float
    mean: float
    stddev: float
    rounds: int
    median: float
    iqr: float
    q1: float
    q3: float
    iqr_outliers: int
    stddev_outliers: int
    outliers: str
    ld15iqr: float
    hd15iqr: float
    ops: float
    total: float
    iterations: int

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def summarize(per_call: list[float], iterations: int) -> TimingStats:
    """Statistics computed by pytest-benchmark itself, so its ``compare`` agrees with ours."""
    if not per_call:
        raise ValueError("no timing rounds to summarize")
    stats = Stats()
    for value in per_call:
        stats.update(value)
    fields = stats.as_dict()
    fields["total"] = fields["total"] * iterations
    return TimingStats(**fields, iterations=iterations)


def measure(function: Callable[[], object], budget: TimingBudget = TimingBudget()) -> TimingStats:
    """Time ``function()`` (seconds per call) within ``budget``."""
    for _ in range(budget.warmup_calls):
        function()
    start = time.perf_counter()
    function()
    single = max(time.perf_counter() - start, 1e-9)
    iterations = max(1, min(1000, int(ROUND_TARGET_S / single)))
    per_call: list[float] = []
    began = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        for _ in range(iterations):
            function()
        per_call.append((time.perf_counter() - t0) / iterations)
        elapsed = time.perf_counter() - began
        if (elapsed >= budget.min_time_s and len(per_call) >= budget.min_rounds) or elapsed >= budget.max_time_s:
            break
    return summarize(per_call, iterations)


def benchmark_record(
    name: str, group: str, params: dict[str, object], stats: TimingStats, extra_info: dict[str, object]
) -> dict[str, object]:
    """One entry of pytest-benchmark's ``benchmarks`` list."""
    param = "-".join(str(v) for v in params.values())
    return {
        "group": group,
        "name": f"{name}[{param}]",
        "fullname": f"bnnbench/{group}::{name}[{param}]",
        "params": params,
        "param": param,
        "extra_info": extra_info,
        "options": {"timer": "perf_counter", "warmup": True, "disable_gc": False, "min_rounds": stats.rounds,
                    "max_time": None, "min_time": None},
        "stats": stats.as_dict(),
    }
