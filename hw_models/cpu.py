"""CPU cost model: per-layer roofline of compute and memory, plus packing, im2col and thread scaling.

Compute peaks are derived from a target's documented vector width and
per-instruction throughputs (never fitted to measured model latencies):

* fp32: ``fma_f32`` FMA instructions per cycle x ``vector_bits/32`` lanes;
* int8: dot-product instructions (``dot_i8``, 4 MACs per 32-bit lane:
  Arm SDOT, x86 VPDPBUSD) or else widening multiply-accumulates (``mla_i16``,
  one MAC per 16-bit lane: Arm SMLAL);
* binary: the XNOR-popcount inner loop of daBNN (Zhang et al., ACM MM 2019),
  LCE (Bannink et al., MLSys 2021) and bnnbench's kernels: per vector of
  ``vector_bits`` K-bits one xor, one popcount and one accumulate; its cycles
  are the larger of the issue bound (all vector ops over ``vector_issue``)
  and each instruction class's own throughput bound;
* a-bit x w-bit with both <= 4 bits: bit-serial, a*w binary passes (the
  bit-plane decomposition of Umuroglu & Jahre, "Streamlined deployment for
  quantized neural networks", 2017, and Riptide, Fromm et al., MLSys 2020).

Memory time is the bytes a layer moves (weights, inputs, outputs, plus its
im2col buffer) over the bandwidth of the smallest cache level that holds its
working set (DRAM if none). A layer takes ``max(compute, memory)`` plus the
passes that do not overlap with it: bit-packing its input, im2col, and the
fused output transform. Threads split output rows (DESIGN.md); private
levels' bandwidth scales with threads, shared levels' and DRAM's does not.

Energy: operations x energy per operation plus bytes per memory level x
energy per access (:mod:`hw_models.energy`, Horowitz ISSCC 2014, node-scaled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hw_models import energy
from hw_models.errors import HwModelError
from hw_models.summary import summarize
from hw_models.target import CacheLevel, CpuTarget
from hw_models.workload import (
    FLOAT_BITS,
    NETWORK_INPUT,
    Layer,
    Workload,
    elements,
    in_channels,
    macs,
    matrix_width,
    out_channels,
    output_pixels,
    weight_count,
)

BITSERIAL_MAX_BITS = 4
INT8_MAX_BITS = 8
PJ = 1e-12


@dataclass(frozen=True)
class CpuLayerCost:
    """The cost of one layer on a CPU target (seconds, bytes, joules)."""

    name: str
    kind: str
    path: str
    macs: int
    compute_s: float
    memory_s: float
    pack_s: float
    im2col_s: float
    transform_s: float
    latency_s: float
    bytes_moved: int
    memory_level: str
    energy_j: float


@dataclass(frozen=True)
class CpuEstimate:
    """A workload on a CPU target: per-layer costs and totals."""

    workload: str
    target: str
    threads: int
    layers: tuple[CpuLayerCost, ...]
    latency_s: float
    fps: float
    energy_j: float
    model_bytes: float
    peak_activation_bytes: float


# ---------------------------------------------------------------------------
# Peak compute rates (MACs per cycle per core)
# ---------------------------------------------------------------------------


def binary_loop_cycles(target: CpuTarget) -> float:
    """Cycles per vector of ``vector_bits`` K-bits of the XNOR-popcount inner loop.

    Larger of (a) all vector instructions of the loop over the vector issue
    width and (b) for each instruction class, its count over its throughput.
    """
    loop = target.binary_loop
    issue_bound = sum(loop.values()) / target.vector_issue
    class_bounds = [count / target.throughput[name] for name, count in loop.items() if count]
    return max([issue_bound, *class_bounds])


def binary_macs_per_cycle(target: CpuTarget) -> float:
    """Binary (1x1-bit) MACs per cycle per core: ``vector_bits`` per :func:`binary_loop_cycles`."""
    return target.vector_bits / binary_loop_cycles(target)


def int8_macs_per_cycle(target: CpuTarget) -> float:
    """int8 MACs per cycle per core: dot-product instructions if present, else widening MLA."""
    thr = target.throughput
    if thr["dot_i8"] > 0:
        return thr["dot_i8"] * target.vector_bits / 8
    return thr["mla_i16"] * target.vector_bits / 16


def fp32_macs_per_cycle(target: CpuTarget) -> float:
    """fp32 MACs per cycle per core: FMA throughput x fp32 lanes."""
    return target.throughput["fma_f32"] * target.vector_bits / FLOAT_BITS


def compute_path(layer: Layer) -> str:
    """Which kernel family computes a matrix layer: binary, bitserial, int8 or fp32."""
    assert layer.weight_bits is not None
    w, a = layer.weight_bits, layer.input_bits
    if w == 1 and a == 1:
        return "binary"
    if w <= BITSERIAL_MAX_BITS and a <= BITSERIAL_MAX_BITS:
        return "bitserial"
    if w <= INT8_MAX_BITS and a <= INT8_MAX_BITS:
        return "int8"
    return "fp32"


def padded_dot_length(layer: Layer, word_bits: int) -> int:
    """Dot-product length after padding input channels to whole ``word_bits`` words.

    Binary kernels pack channels into words (DESIGN.md: 64-bit words; LCE:
    multiples of 32), so a 3-channel input costs a whole word per position.
    """
    channels = in_channels(layer) // layer.groups
    padded = math.ceil(channels / word_bits) * word_bits
    return matrix_width(layer) // channels * padded


def effective_macs(layer: Layer, target: CpuTarget) -> float:
    """MACs the kernel executes, in units of its path's MAC (binary passes for bit-serial)."""
    path = compute_path(layer)
    if path in ("binary", "bitserial"):
        assert layer.weight_bits is not None
        passes = layer.weight_bits * layer.input_bits
        return output_pixels(layer) * out_channels(layer) * padded_dot_length(layer, target.binary_word_bits) * passes
    return float(macs(layer))


def path_macs_per_cycle(path: str, target: CpuTarget) -> float:
    """Peak per-core rate of a compute path."""
    if path in ("binary", "bitserial"):
        return binary_macs_per_cycle(target)
    if path == "int8":
        return int8_macs_per_cycle(target)
    return fp32_macs_per_cycle(target)


# ---------------------------------------------------------------------------
# Threads and memory hierarchy
# ---------------------------------------------------------------------------


def parallel_share(work_items: int, threads: int) -> float:
    """Fraction of a layer's work on the busiest thread when ``threads`` split ``work_items`` rows."""
    return math.ceil(work_items / threads) / work_items


def work_items(layer: Layer) -> int:
    """Units threads split: output rows of a feature map, outputs of a vector."""
    return layer.output_shape[0]


def holding_level(target: CpuTarget, working_set: float, threads: int) -> CacheLevel | None:
    """Smallest cache level whose capacity (private levels: summed over threads) holds ``working_set``."""
    for level in target.caches:
        capacity = level.size_bytes * (1 if level.shared else threads)
        if working_set <= capacity:
            return level
    return None


def level_bandwidth(target: CpuTarget, level: CacheLevel | None, threads: int) -> float:
    """Bytes per second from ``level`` (None: DRAM) with ``threads`` cores streaming."""
    if level is None:
        return target.dram_gbs * 1e9
    cores = 1 if level.shared else threads
    return level.bytes_per_cycle * target.clock_ghz * 1e9 * cores


def access_energy_j(target: CpuTarget, level: CacheLevel | None, n_bytes: float) -> float:
    """Energy to move ``n_bytes`` from ``level`` into registers (through L1).

    Per 64-bit access: Horowitz SRAM energy for the level's capacity
    (:func:`hw_models.energy.sram_read_pj_per_64bit`, node-scaled), plus the
    L1 access every byte also makes; DRAM at Horowitz's 1.3-2.6 nJ midpoint.
    """
    scale = energy.node_scale(target.process_nm)
    l1 = target.caches[0]
    per_word = energy.sram_read_pj_per_64bit(l1.size_bytes) * scale
    if level is None:
        per_word += energy.DRAM_PJ_PER_64BIT
    elif level is not l1:
        per_word += energy.sram_read_pj_per_64bit(level.size_bytes) * scale
    return n_bytes / 8 * per_word * PJ


# ---------------------------------------------------------------------------
# Per-layer cost
# ---------------------------------------------------------------------------


def _seconds(cycles: float, target: CpuTarget) -> float:
    return cycles / (target.clock_ghz * 1e9)


def _tensor_bytes(shape_elements: int, bits: int) -> int:
    return math.ceil(shape_elements * bits / 8)


def pack_cycles(n_elements: int, planes: int, target: CpuTarget) -> float:
    """Bit-packing ``n_elements`` floats into ``planes`` bit planes.

    One vector compare (sign test) per ``vector_bits/32`` floats per plane,
    issued at the vector issue width; the bit gathering rides along (x86
    VPMOVD2M / Arm SHRN chains are the same order of instructions).
    """
    return n_elements * planes / (target.vector_bits / FLOAT_BITS) / target.vector_issue


def im2col_bytes(layer: Layer, target: CpuTarget) -> int:
    """Bytes of the im2col buffer of a dense (groups=1) convolution with a kernel larger than 1x1.

    Each output position gathers kh*kw*Cin input values (Chellapilla et al.,
    2006; the lowering daBNN and LCE use), at the input precision, channels
    padded to words for binary inputs.
    """
    if layer.kind != "conv" or layer.groups != 1 or (layer.kernel == (1, 1) and layer.stride == (1, 1)):
        return 0
    dot = padded_dot_length(layer, target.binary_word_bits) if layer.input_bits <= BITSERIAL_MAX_BITS else matrix_width(layer)
    return _tensor_bytes(output_pixels(layer) * dot, layer.input_bits)


def _matrix_layer_cost(layer: Layer, producer_bits: int, target: CpuTarget, threads: int) -> CpuLayerCost:
    path = compute_path(layer)
    share = parallel_share(work_items(layer), threads)
    compute_cycles = effective_macs(layer, target) / path_macs_per_cycle(path, target) * share
    assert layer.weight_bits is not None
    low_precision = path in ("binary", "bitserial")
    pack = 0.0
    if low_precision and producer_bits != layer.input_bits:
        pack = pack_cycles(elements(layer.input_shape), layer.input_bits, target) * share
    transform = 0.0
    if path != "fp32":
        out_elements = elements(layer.output_shape)
        transform = out_elements / fp32_macs_per_cycle(target) * share
    buffer = im2col_bytes(layer, target)
    l1 = target.caches[0]
    im2col = 2 * buffer / l1.bytes_per_cycle * share
    weight_bytes = _tensor_bytes(weight_count(layer), layer.weight_bits)
    in_bytes = _tensor_bytes(elements(layer.input_shape), layer.input_bits)
    out_bytes = _tensor_bytes(elements(layer.output_shape), layer.output_bits)
    moved = weight_bytes + in_bytes + out_bytes + 2 * buffer
    level = holding_level(target, weight_bytes + in_bytes + out_bytes + buffer, threads)
    memory_s = moved / level_bandwidth(target, level, threads)
    compute_s = _seconds(compute_cycles, target)
    overheads = _seconds(pack + im2col + transform, target)
    scale = energy.node_scale(target.process_nm)
    compute_pj = macs(layer) * energy.mac_pj(layer.weight_bits, layer.input_bits) * scale
    transform_pj = elements(layer.output_shape) * energy.elementwise_pj(FLOAT_BITS) * scale if path != "fp32" else 0.0
    return CpuLayerCost(
        name=layer.name, kind=layer.kind, path=path, macs=macs(layer),
        compute_s=compute_s, memory_s=memory_s, pack_s=_seconds(pack, target), im2col_s=_seconds(im2col, target),
        transform_s=_seconds(transform, target), latency_s=max(compute_s, memory_s) + overheads,
        bytes_moved=moved, memory_level=level.name if level else "DRAM",
        energy_j=(compute_pj + transform_pj) * PJ + access_energy_j(target, level, moved),
    )


def elementwise_ops(layer: Layer) -> int:
    """Element operations of a non-matrix layer (a pooling window counts one per element)."""
    if layer.kind in ("maxpool", "avgpool"):
        return elements(layer.output_shape) * layer.kernel[0] * layer.kernel[1]
    if layer.kind in ("bn", "activation"):
        return elements(layer.output_shape)
    if layer.kind == "add":
        return elements(layer.output_shape) * (len(layer.inputs) - 1)
    return 0


def _other_layer_cost(layer: Layer, n_inputs: int, target: CpuTarget, threads: int) -> CpuLayerCost:
    if layer.kind == "flatten":
        return CpuLayerCost(layer.name, layer.kind, "none", 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, "-", 0.0)
    share = parallel_share(work_items(layer), threads)
    element_bits = 1 if layer.input_bits == 1 else FLOAT_BITS
    lanes = target.vector_bits / element_bits
    ops = elementwise_ops(layer)
    compute_cycles = ops / lanes / target.vector_issue * share
    out_bytes = _tensor_bytes(elements(layer.output_shape), layer.output_bits)
    in_bytes = out_bytes if layer.kind == "concat" else n_inputs * _tensor_bytes(elements(layer.input_shape), layer.input_bits)
    moved = in_bytes + out_bytes
    level = holding_level(target, moved, threads)
    memory_s = moved / level_bandwidth(target, level, threads)
    compute_s = _seconds(compute_cycles, target)
    ops_pj = ops * energy.elementwise_pj(element_bits) * energy.node_scale(target.process_nm)
    return CpuLayerCost(
        name=layer.name, kind=layer.kind, path="elementwise", macs=0, compute_s=compute_s, memory_s=memory_s,
        pack_s=0.0, im2col_s=0.0, transform_s=0.0, latency_s=max(compute_s, memory_s), bytes_moved=moved,
        memory_level=level.name if level else "DRAM", energy_j=ops_pj * PJ + access_energy_j(target, level, moved),
    )


def layer_cost(layer: Layer, producer_bits: int, n_inputs: int, target: CpuTarget, threads: int = 1) -> CpuLayerCost:
    """Cost of one layer whose (first) producer emits ``producer_bits``-bit values."""
    if threads < 1 or threads > target.cores:
        raise HwModelError(f"target '{target.name}' has {target.cores} cores; cannot run {threads} threads")
    if layer.is_matrix:
        return _matrix_layer_cost(layer, producer_bits, target, threads)
    return _other_layer_cost(layer, n_inputs, target, threads)


def estimate_cpu(workload: Workload, target: CpuTarget, threads: int = 1) -> CpuEstimate:
    """Per-layer costs and totals of a batch-1 inference of ``workload`` on ``target``."""
    bits = {NETWORK_INPUT: workload.input_bits}
    costs = []
    for index, layer in enumerate(workload.layers):
        producers = workload.producers(index)
        costs.append(layer_cost(layer, bits[producers[0]], len(producers), target, threads))
        bits[layer.name] = layer.output_bits
    latency = sum(c.latency_s for c in costs)
    totals = summarize(workload).totals
    return CpuEstimate(
        workload=workload.name, target=target.name, threads=threads, layers=tuple(costs),
        latency_s=latency, fps=1 / latency if latency else math.inf, energy_j=sum(c.energy_j for c in costs),
        model_bytes=totals.model_bytes, peak_activation_bytes=totals.peak_activation_bytes,
    )
