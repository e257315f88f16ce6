"""Design-space exploration: folding search for a frame rate, sweeps, and Pareto fronts.

Folding search (the problem FINN's folding step solves, Umuroglu et al.
2017 section 4.3): for a target frame rate every unit must finish a frame in
``clock / fps`` cycles. Units are independent given that budget, so for each
conv/dense layer we pick, among PE in the divisors and powers of two up to its
output count and SIMD likewise for its input width, the folding that meets the
budget with the smallest resource cost, ``LUT/LUTs + BRAM/BRAMs + DSP/DSPs``
of the device (a sum, so minimizing per layer minimizes the whole).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from hw_models.cpu import estimate_cpu
from hw_models.errors import FoldingError
from hw_models.finn import (
    FOLDED_KINDS,
    Folding,
    FpgaUnitCost,
    estimate_fpga,
    stream_unit_cost,
    unit_cost,
)
from hw_models.target import CpuTarget, FpgaTarget
from hw_models.workload import Workload, matrix_width, out_channels, with_binary_precision


def candidate_parallelism(n: int) -> list[int]:
    """PE or SIMD values worth trying for a dimension of size ``n``: its divisors and powers of two up to it.

    Divisors waste no cycle on padding; powers of two (padded, as FINN pads)
    are what hand-made foldings often use (LFC-max: SIMD 64 for 784 inputs).
    """
    divisors = {d for d in range(1, math.isqrt(n) + 1) if n % d == 0}
    divisors |= {n // d for d in divisors}
    powers = {2**k for k in range(0, math.ceil(math.log2(n)) + 1)}
    return sorted(divisors | powers)


def resource_cost(unit: FpgaUnitCost, target: FpgaTarget) -> float:
    """A unit's share of the device: LUT, BRAM18 and DSP fractions summed."""
    return unit.lut / target.luts + unit.bram18 / target.bram18 + (unit.dsp / target.dsps if target.dsps else unit.dsp)


@dataclass(frozen=True)
class _LayerOptions:
    """All foldings of one layer, sorted by cycles, with the cheapest prefix choice precomputed."""

    name: str
    cycles: list[int]
    best_prefix: list[tuple[Folding, FpgaUnitCost]]

    def cheapest_within(self, budget: int) -> tuple[Folding, FpgaUnitCost] | None:
        index = bisect.bisect_right(self.cycles, budget)
        return self.best_prefix[index - 1] if index else None


def _layer_options(workload: Workload, index: int, target: FpgaTarget) -> _LayerOptions:
    layer = workload.layers[index]
    options = []
    for pe in candidate_parallelism(out_channels(layer)):
        for simd in candidate_parallelism(matrix_width(layer)):
            folding = Folding(pe, simd)
            unit = unit_cost(workload, index, folding, target)
            options.append((unit.cycles, resource_cost(unit, target), folding, unit))
    options.sort(key=lambda o: (o[0], o[1]))
    best: list[tuple[Folding, FpgaUnitCost]] = []
    best_cost = math.inf
    for _, cost, folding, unit in options:
        if cost < best_cost or not best:
            best_cost = cost
            best.append((folding, unit))
        else:
            best.append(best[-1])
    return _LayerOptions(layer.name, [o[0] for o in options], best)


class FoldingSearch:
    """Folding search over one workload on one FPGA target (options computed once)."""

    def __init__(self, workload: Workload, target: FpgaTarget) -> None:
        self.workload = workload
        self.target = target
        self.options = [_layer_options(workload, i, target) for i, layer in enumerate(workload.layers) if layer.is_matrix]
        self.fixed_cycles = max(
            (stream_unit_cost(workload, i).cycles for i, layer in enumerate(workload.layers)
             if not layer.is_matrix and layer.kind not in FOLDED_KINDS),
            default=0,
        )

    @property
    def fastest_cycles(self) -> int:
        """Smallest achievable cycles per frame (every layer fully parallel)."""
        return max([self.fixed_cycles, *(o.cycles[0] for o in self.options)])

    @property
    def slowest_cycles(self) -> int:
        """Cycles per frame with every layer at PE = SIMD = 1."""
        return max([self.fixed_cycles, *(o.cycles[-1] for o in self.options)])

    def for_cycles(self, budget: int) -> dict[str, Folding]:
        """The cheapest folding in which every unit takes at most ``budget`` cycles per frame."""
        clock = self.target.clock_mhz * 1e6
        if self.fixed_cycles > budget:
            raise FoldingError(
                f"{self.workload.name} cannot reach {clock / budget:.6g} frames/s on {self.target.name}: a pooling or "
                f"element-wise unit needs {self.fixed_cycles} cycles per frame (at most {clock / self.fixed_cycles:.6g} frames/s)"
            )
        folding = {}
        for option in self.options:
            choice = option.cheapest_within(budget)
            if choice is None:
                raise FoldingError(
                    f"{self.workload.name} cannot reach {clock / budget:.6g} frames/s on {self.target.name}: layer "
                    f"'{option.name}' needs at least {option.cycles[0]} cycles per frame even fully parallel "
                    f"(at most {clock / option.cycles[0]:.6g} frames/s)"
                )
            folding[option.name] = choice[0]
        return folding

    def for_fps(self, fps: float) -> dict[str, Folding]:
        """The cheapest folding reaching ``fps`` frames per second."""
        if not fps > 0:
            raise FoldingError(f"target frame rate must be positive, got {fps}")
        budget = math.floor(self.target.clock_mhz * 1e6 / fps)
        if budget < 1:
            raise FoldingError(f"{self.workload.name} cannot reach {fps:.6g} frames/s on {self.target.name}: "
                               f"that is more than one frame per cycle at {self.target.clock_mhz:g} MHz")
        return self.for_cycles(budget)

    def fastest_fitting(self) -> dict[str, Folding]:
        """The fastest folding whose resources fit the device (binary search on the cycle budget).

        Resources fall as the budget grows, so the smallest budget that fits
        is found by bisection; if even PE = SIMD = 1 does not fit, that
        folding is returned and the estimate reports ``fits = False``.
        """
        low, high = self.fastest_cycles, self.slowest_cycles
        if not self._fits(high):
            return self.for_cycles(high)
        while low < high:
            middle = (low + high) // 2
            if self._fits(middle):
                high = middle
            else:
                low = middle + 1
        return self.for_cycles(high)

    def _fits(self, budget: int) -> bool:
        return estimate_fpga(self.workload, self.target, self.for_cycles(budget)).fits


# ---------------------------------------------------------------------------
# Sweeps and Pareto fronts
# ---------------------------------------------------------------------------

#: Precisions of FINN's W/A variants (BNN-PYNQ: cnvW1A1, cnvW1A2, cnvW2A2).
PRECISIONS: dict[str, tuple[int, int]] = {"W1A1": (1, 1), "W1A2": (1, 2), "W2A2": (2, 2)}


@dataclass(frozen=True)
class DesignPoint:
    """One evaluated design: a workload variant on a target configuration."""

    workload: str
    target: str
    precision: str
    clock_mhz: float
    threads: int
    fps: float
    latency_s: float
    energy_j: float
    power_w: float
    lut: int
    bram18: int
    dsp: int
    fits: bool


def precision_variant(workload: Workload, precision: str) -> Workload:
    """``workload`` re-quantized to ``precision`` (``W1A1``, ``W1A2``, ``W2A2``)."""
    if precision not in PRECISIONS:
        raise FoldingError(f"unknown precision '{precision}'; choose from {', '.join(PRECISIONS)}")
    weight_bits, activation_bits = PRECISIONS[precision]
    return with_binary_precision(workload, weight_bits, activation_bits)


def sweep_fpga(workload: Workload, target: FpgaTarget, *, precisions: Sequence[str] = ("W1A1",),
               clocks_mhz: Sequence[float] = (), points: int = 12) -> list[DesignPoint]:
    """Foldings from fastest to slowest (geometric in cycles) for each precision and clock."""
    results = []
    for precision in precisions:
        variant = precision_variant(workload, precision)
        for clock in clocks_mhz or (target.clock_mhz,):
            configured = replace(target, clock_mhz=float(clock))
            search = FoldingSearch(variant, configured)
            low, high = search.fastest_cycles, search.slowest_cycles
            budgets = sorted({round(low * (high / low) ** (i / max(points - 1, 1))) for i in range(points)})
            seen = set()
            for budget in budgets:
                folding = search.for_cycles(budget)
                key = tuple(sorted((k, v.pe, v.simd) for k, v in folding.items()))
                if key in seen:
                    continue
                seen.add(key)
                est = estimate_fpga(variant, configured, folding)
                results.append(DesignPoint(
                    workload=workload.name, target=target.name, precision=precision, clock_mhz=float(clock), threads=0,
                    fps=est.fps, latency_s=est.latency_s, energy_j=est.energy_j, power_w=est.power_w,
                    lut=est.lut, bram18=est.bram18, dsp=est.dsp, fits=est.fits,
                ))
    return results


def sweep_cpu(workload: Workload, target: CpuTarget, *, precisions: Sequence[str] = ("W1A1",)) -> list[DesignPoint]:
    """Every thread count of the target for each precision."""
    results = []
    for precision in precisions:
        variant = precision_variant(workload, precision)
        for threads in range(1, target.cores + 1):
            est = estimate_cpu(variant, target, threads)
            results.append(DesignPoint(
                workload=workload.name, target=target.name, precision=precision, clock_mhz=target.clock_ghz * 1000,
                threads=threads, fps=est.fps, latency_s=est.latency_s, energy_j=est.energy_j,
                power_w=est.energy_j / est.latency_s, lut=0, bram18=0, dsp=0, fits=True,
            ))
    return results


Objective = tuple[Callable[[DesignPoint], float], str]


def dominates(a: DesignPoint, b: DesignPoint, objectives: Sequence[Objective]) -> bool:
    """``a`` is at least as good as ``b`` in every objective and better in one."""
    better = False
    for key, sense in objectives:
        va, vb = key(a), key(b)
        if sense == "max":
            va, vb = -va, -vb
        if va > vb:
            return False
        if va < vb:
            better = True
    return better


def pareto_front(points: Iterable[DesignPoint], objectives: Sequence[Objective]) -> list[DesignPoint]:
    """The points no other point dominates, in input order."""
    candidates = list(points)
    return [p for p in candidates if not any(dominates(q, p, objectives) for q in candidates if q is not p)]


#: Frame rate up, LUTs down (FPGA designs that fit).
FPS_VS_LUT: tuple[Objective, ...] = ((lambda p: p.fps, "max"), (lambda p: p.lut, "min"))
#: Latency down, energy per inference down.
LATENCY_VS_ENERGY: tuple[Objective, ...] = ((lambda p: p.latency_s, "min"), (lambda p: p.energy_j, "min"))
