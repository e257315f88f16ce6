"""FPGA cost model: FINN-style streaming dataflow with matrix-vector-threshold units.

Umuroglu et al., "FINN: A Framework for Fast, Scalable Binarized Neural
Network Inference", FPGA 2017 (arXiv 1612.07119), and Blott et al., "FINN-R:
An End-to-End Deep-Learning Framework for Fast Exploration of Quantized Neural
Networks", ACM TRETS 2018 (arXiv 1809.04570).

Every conv/dense layer becomes a matrix-vector-threshold unit (MVTU) of PE
processing elements, each SIMD lanes wide; the batch norm and quantizer that
follow it fold into per-channel thresholds. A convolution is fed by a
sliding-window unit (SWU); max-pooling, adds and concatenations are small
streaming units. All units run concurrently on a stream of frames, so the
frame rate is the clock over the slowest unit's cycles, and the first-frame
latency is the sum of the units' cycles (FINN's critical-path estimate).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from hw_models import energy
from hw_models.errors import FoldingError
from hw_models.summary import summarize
from hw_models.target import FpgaTarget
from hw_models.workload import (
    FLOAT_BITS,
    MATRIX_KINDS,
    Layer,
    Workload,
    in_channels,
    macs,
    matrix_width,
    out_channels,
    output_pixels,
)

# FINN-R's LUT cost model constants (Blott et al. 2018, section 5.2, as used by
# the FINN compiler's MatrixVectorActivation.lut_estimation): a fixed cost per
# unit and a multiplier on the per-PE cost for control and routing overhead.
MVTU_FIXED_LUTS = 300
MVTU_LUT_OVERHEAD = 1.1
#: LUT6 used as 64x1 distributed RAM (Xilinx UG474, 7-series CLBs: a SLICEM LUT is a 64-bit RAM).
LUTRAM_BITS_PER_LUT = 64
#: Xilinx RAMB18 simple-dual-port aspect ratios (depth, width) (UG473 table 1-7 / UG573).
RAMB18_SHAPES: tuple[tuple[int, int], ...] = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
#: DSP48 multiplier input widths (UG479: 25 x 18 two's complement).
DSP_A_BITS, DSP_B_BITS = 25, 18
#: Products with both operands above this width use DSP slices; narrower ones use LUTs
#: (an assumption in the spirit of FINN's resType choice: LUT for few-bit, DSP for wide).
LUT_PRODUCT_MAX_BITS = 4
#: Kuon & Rose, "Measuring the Gap Between FPGAs and ASICs", IEEE TCAD 2007: FPGA
#: logic needs about 14x the dynamic power of an ASIC for the same computation.
FPGA_ASIC_DYNAMIC_GAP = 14.0


@dataclass(frozen=True)
class Folding:
    """Parallelism of one MVTU: PE output channels and SIMD input lanes per cycle.

    ``pad_outputs_to`` optionally pads the output count to a multiple (BNN-PYNQ
    pads its classifier to 64 outputs); FINN then pads it to a multiple of PE.
    """

    pe: int
    simd: int
    pad_outputs_to: int = 1


@dataclass(frozen=True)
class FpgaUnitCost:
    """One hardware unit: an MVTU (with its SWU), a pool, add or concat unit."""

    name: str
    kind: str
    mw: int
    mh: int
    pe: int
    simd: int
    weight_bits: int
    input_bits: int
    output_bits: int
    cycles: int
    swu_cycles: int
    lut: int
    bram18: int
    dsp: int


@dataclass(frozen=True)
class FpgaEstimate:
    """A workload mapped onto an FPGA target."""

    workload: str
    target: str
    clock_mhz: float
    units: tuple[FpgaUnitCost, ...]
    max_cycles: int
    fps: float
    latency_s: float
    lut: int
    bram18: int
    dsp: int
    power_w: float
    energy_j: float
    fits: bool
    model_bytes: float


# ---------------------------------------------------------------------------
# Cycles
# ---------------------------------------------------------------------------


def round_up(value: int, multiple: int) -> int:
    """``value`` rounded up to a multiple of ``multiple``."""
    return -(-value // multiple) * multiple


def padded_height(mh: int, folding: Folding) -> int:
    """Output count after padding to ``pad_outputs_to`` and then to a multiple of PE (FINN)."""
    return round_up(round_up(mh, folding.pad_outputs_to), folding.pe)


def mvtu_cycles(mw: int, mh: int, pixels: int, folding: Folding) -> int:
    """Cycles per frame of an MVTU: (MH/PE) * (MW/SIMD) * output pixels (Umuroglu et al. 2017, section 4.2).

    FINN pads MW up to a multiple of SIMD and MH up to a multiple of PE; the
    padded lanes compute on zeros but still take their cycle.
    """
    return (padded_height(mh, folding) // folding.pe) * (round_up(mw, folding.simd) // folding.simd) * pixels


def swu_cycles(layer: Layer, simd: int) -> int:
    """Cycles per frame of the sliding-window unit feeding a convolution's MVTU.

    The SWU of FINN's ``ConvolutionInputGenerator`` first buffers ``kh``
    input rows, then, per output row, either emits the ``OFMdim * kh*kw``
    windows (``Cin/SIMD`` words each) or reads the ``stride`` new input rows,
    whichever takes longer (the structure of FINN's analytical estimate for
    this unit).
    """
    kh, kw = layer.kernel
    words = math.ceil(in_channels(layer) / simd)
    in_w = layer.input_shape[1] + 2 * layer.padding[1]
    out_h, out_w = layer.output_shape[0], layer.output_shape[1]
    fill = kh * in_w * words
    per_row = max(out_w * kh * kw * words, layer.stride[0] * in_w * words)
    return fill + out_h * per_row


def stream_unit_cycles(layer: Layer) -> int:
    """Cycles of a pooling, add or concat unit: one input pixel (all channels) per cycle.

    BNN-PYNQ's ``StreamingMaxPool`` consumes one pixel per cycle; FINN's
    element-wise units are modelled the same way.
    """
    return math.prod(layer.input_shape[:-1]) if len(layer.input_shape) > 1 else 1


# ---------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------


def accumulator_bits(weight_bits: int, input_bits: int, mw: int) -> int:
    """Width of a PE's accumulator: W + A + ceil(log2 MW) (FINN-R resource model)."""
    return weight_bits + input_bits + math.ceil(math.log2(max(mw, 2)))


def product_luts(weight_bits: int, input_bits: int) -> int:
    """LUTs of one W x A product lane (FINN-R): (2*ceil((W+A)/6) - 1) * (W+A); 0 on a DSP."""
    if uses_dsp(weight_bits, input_bits):
        return 0
    width = weight_bits + input_bits
    return (2 * math.ceil(width / 6) - 1) * width


def uses_dsp(weight_bits: int, input_bits: int) -> bool:
    """Whether products go to DSP slices: both operands wider than :data:`LUT_PRODUCT_MAX_BITS`."""
    return min(weight_bits, input_bits) > LUT_PRODUCT_MAX_BITS


def dsp_per_product(weight_bits: int, input_bits: int) -> int:
    """DSP48 slices for one product: ceil(W/25) * ceil(A/18) (UG479 multiplier widths)."""
    if not uses_dsp(weight_bits, input_bits):
        return 0
    return math.ceil(weight_bits / DSP_A_BITS) * math.ceil(input_bits / DSP_B_BITS)


def threshold_count(output_bits: int | None) -> int:
    """Thresholds per output channel: 2^B - 1 for a B-bit activation, none without one."""
    return 0 if output_bits is None else 2**output_bits - 1


def ramb18_count(depth: int, width: int) -> int:
    """RAMB18s for a memory of ``depth`` words of ``width`` bits, best aspect ratio (UG473)."""
    if depth == 0 or width == 0:
        return 0
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in RAMB18_SHAPES)


def memory_cost(depth: int, width: int, lutram_max_depth: int) -> tuple[int, int]:
    """(LUTs, RAMB18s) of one memory: LUTRAM if shallow, else block RAM (FINN's memory rule)."""
    if depth <= lutram_max_depth:
        return math.ceil(depth / LUTRAM_BITS_PER_LUT) * width, 0
    return 0, ramb18_count(depth, width)


def mvtu_resources(mw: int, mh: int, weight_bits: int, input_bits: int, output_bits: int | None,
                   folding: Folding, lutram_max_depth: int) -> tuple[int, int, int]:
    """(LUT, BRAM18, DSP) of an MVTU.

    LUTs follow FINN-R's per-PE model: SIMD product lanes, an adder tree of
    ``(W+A)*(2*SIMD-1)`` LUTs, the accumulator, and ``2^B-1`` threshold
    comparators of accumulator width, times ``1.1`` plus 300 fixed.
    Memories follow finn-hlslib's layout: each PE owns a weight memory of
    ``WMEM = (MW/SIMD)*(MH/PE)`` words of ``SIMD*W`` bits and a threshold
    memory of ``TMEM = MH/PE`` words of ``(2^B-1)*acc`` bits; a memory at most
    ``lutram_max_depth`` deep is LUTRAM, deeper ones use RAMB18s.
    """
    pe, simd = folding.pe, folding.simd
    acc = accumulator_bits(weight_bits, input_bits, mw)
    thresholds = threshold_count(output_bits)
    per_pe = (
        simd * product_luts(weight_bits, input_bits)
        + (weight_bits + input_bits) * (2 * simd - 1)
        + acc
        + thresholds * acc
    )
    wmem = (round_up(mw, simd) // simd) * (padded_height(mh, folding) // pe)
    tmem = padded_height(mh, folding) // pe
    w_luts, w_bram = memory_cost(wmem, simd * weight_bits, lutram_max_depth)
    t_luts, t_bram = memory_cost(tmem, thresholds * acc, lutram_max_depth) if thresholds else (0, 0)
    lut = MVTU_FIXED_LUTS + MVTU_LUT_OVERHEAD * pe * per_pe + pe * (w_luts + t_luts)
    dsp = pe * simd * dsp_per_product(weight_bits, input_bits)
    return round(lut), pe * (w_bram + t_bram), dsp


def swu_resources(layer: Layer, simd: int, lutram_max_depth: int) -> tuple[int, int]:
    """(LUT, BRAM18) of a sliding-window unit: a buffer of kh input rows (+1 being written).

    Depth ``(kh+1) * W_in * Cin/SIMD`` words of ``SIMD * A`` bits, the line
    buffer of FINN's ``ConvolutionInputGenerator``; LUTRAM or RAMB18 by the
    same memory rule as the MVTU.
    """
    words = math.ceil(in_channels(layer) / simd)
    depth = (layer.kernel[0] + 1) * (layer.input_shape[1] + 2 * layer.padding[1]) * words
    return memory_cost(depth, simd * layer.input_bits, lutram_max_depth)


def stream_unit_luts(layer: Layer, bits: int) -> int:
    """LUTs of a pool/add/concat unit on ``bits``-bit data: one LUT per bit of a pixel.

    A pixel per cycle needs ``C`` lanes of ``bits`` each (binary max-pool is
    an OR per channel). An assumption of this model; FINN does not publish a
    LUT formula for these units.
    """
    return in_channels(layer) * bits


# ---------------------------------------------------------------------------
# Mapping a workload to units
# ---------------------------------------------------------------------------


def _consumer_input_bits(workload: Workload, start: int) -> int | None:
    """Input precision of the first matrix layer reading the output of layer ``start``.

    Follows the chain through batch norm, activations, pooling and flatten:
    that is where FINN places the thresholds that produce those bits.
    """
    names = {workload.layers[start].name}
    for index in range(start + 1, len(workload.layers)):
        layer = workload.layers[index]
        if not set(workload.producers(index)) & names:
            continue
        if layer.kind in MATRIX_KINDS:
            return layer.input_bits
        if layer.kind == "activation" and layer.output_bits < FLOAT_BITS:
            return layer.output_bits
        if layer.kind in ("bn", "activation", "maxpool", "flatten"):
            names.add(layer.name)
            continue
        return None
    return None


def activation_bits(workload: Workload, index: int) -> int | None:
    """Bits of the thresholded output of matrix layer ``index``; None if it feeds no quantizer."""
    bits = _consumer_input_bits(workload, index)
    return bits if bits is not None and bits < FLOAT_BITS else None


def stream_bits(workload: Workload, index: int) -> int:
    """Bits per value a stream unit sees: the thresholded output of the MVTU upstream, if any.

    FINN folds batch norm and the quantizer into the preceding MVTU's
    thresholds, so a max-pool placed after them in the network still pools
    the MVTU's few-bit output.
    """
    name = workload.producers(index)[0]
    names = [layer.name for layer in workload.layers]
    while name in names:
        upstream = names.index(name)
        layer = workload.layers[upstream]
        if layer.is_matrix:
            bits = activation_bits(workload, upstream)
            return bits if bits is not None else FLOAT_BITS
        if layer.kind not in ("bn", "activation", "maxpool", "flatten"):
            break
        name = workload.producers(upstream)[0]
    return workload.layers[index].input_bits


def check_folding(workload: Workload, folding: Mapping[str, Folding]) -> None:
    """FoldingError for folding entries naming no conv/dense layer, or with non-positive values."""
    matrix_names = [layer.name for layer in workload.layers if layer.is_matrix]
    for name, fold in folding.items():
        if name not in matrix_names:
            raise FoldingError(f"folding names layer '{name}', which is not a conv/dense layer of '{workload.name}' "
                               f"(those are: {', '.join(matrix_names)})")
        for field in ("pe", "simd", "pad_outputs_to"):
            value = getattr(fold, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise FoldingError(f"folding of layer '{name}': {field} must be a positive integer, got {value!r}")


def unit_cost(workload: Workload, index: int, folding: Folding, target: FpgaTarget) -> FpgaUnitCost:
    """Cost of the unit implementing matrix layer ``index`` with ``folding``."""
    layer = workload.layers[index]
    assert layer.weight_bits is not None
    mw, mh = matrix_width(layer), out_channels(layer)
    out_bits = activation_bits(workload, index)
    cycles = mvtu_cycles(mw, mh, output_pixels(layer), folding)
    lut, bram, dsp = mvtu_resources(mw, mh, layer.weight_bits, layer.input_bits, out_bits, folding, target.lutram_max_depth)
    swu = 0
    if layer.kind == "conv" and (layer.kernel != (1, 1) or layer.stride != (1, 1)):
        swu = swu_cycles(layer, folding.simd)
        swu_lut, swu_bram = swu_resources(layer, folding.simd, target.lutram_max_depth)
        lut += swu_lut
        bram += swu_bram
    return FpgaUnitCost(
        name=layer.name, kind=layer.kind, mw=mw, mh=mh, pe=folding.pe, simd=folding.simd,
        weight_bits=layer.weight_bits, input_bits=layer.input_bits,
        output_bits=out_bits if out_bits is not None else FLOAT_BITS,
        cycles=max(cycles, swu), swu_cycles=swu, lut=lut, bram18=bram, dsp=dsp,
    )


def stream_unit_cost(workload: Workload, index: int) -> FpgaUnitCost:
    """Cost of a non-matrix unit (pool, add, concat)."""
    layer = workload.layers[index]
    bits = stream_bits(workload, index)
    return FpgaUnitCost(
        name=layer.name, kind=layer.kind, mw=0, mh=0, pe=0, simd=0, weight_bits=0, input_bits=bits,
        output_bits=bits if layer.kind == "maxpool" else layer.output_bits, cycles=stream_unit_cycles(layer),
        swu_cycles=0, lut=stream_unit_luts(layer, bits), bram18=0, dsp=0,
    )


#: Layers that cost nothing as hardware units: folded into thresholds (bn,
#: quantizers) or a re-interpretation of the stream (flatten).
FOLDED_KINDS = frozenset({"bn", "activation", "flatten"})


def dynamic_energy_per_frame_j(workload: Workload, units: tuple[FpgaUnitCost, ...], target: FpgaTarget) -> float:
    """Dynamic energy of one frame: operations and weight-memory reads.

    Operations: each layer's MACs at Horowitz's node-scaled energy
    (:func:`hw_models.energy.mac_pj`) times the FPGA/ASIC dynamic-power gap of
    14 (Kuon & Rose 2007). Memory: every MVTU cycle reads PE*SIMD*W weight
    bits, priced per bit as a 64-bit read of an 8 KB SRAM (Horowitz, node-
    scaled); block RAM is hard SRAM, so no gap factor.
    """
    scale = energy.node_scale(target.process_nm)
    ops_pj = 0.0
    for layer in workload.layers:
        if layer.is_matrix:
            assert layer.weight_bits is not None
            ops_pj += macs(layer) * energy.mac_pj(layer.weight_bits, layer.input_bits) * scale * FPGA_ASIC_DYNAMIC_GAP
    bits_read = sum(u.cycles * u.pe * u.simd * u.weight_bits for u in units if u.pe)
    sram_pj_per_bit = energy.sram_read_pj_per_64bit(8 * 1024) / 64 * scale
    return (ops_pj + bits_read * sram_pj_per_bit) * 1e-12


def estimate_fpga(workload: Workload, target: FpgaTarget, folding: Mapping[str, Folding] | None = None) -> FpgaEstimate:
    """Map ``workload`` onto ``target`` with per-layer ``folding`` (missing layers: PE = SIMD = 1, FINN's default)."""
    folding = dict(folding or {})
    check_folding(workload, folding)
    units = []
    for index, layer in enumerate(workload.layers):
        if layer.is_matrix:
            units.append(unit_cost(workload, index, folding.get(layer.name, Folding(1, 1)), target))
        elif layer.kind not in FOLDED_KINDS:
            units.append(stream_unit_cost(workload, index))
    units_t = tuple(units)
    max_cycles = max(u.cycles for u in units_t)
    clock_hz = target.clock_mhz * 1e6
    fps = clock_hz / max_cycles
    lut = sum(u.lut for u in units_t)
    bram = sum(u.bram18 for u in units_t)
    dsp = sum(u.dsp for u in units_t)
    power = target.static_power_w + dynamic_energy_per_frame_j(workload, units_t, target) * fps
    return FpgaEstimate(
        workload=workload.name, target=target.name, clock_mhz=target.clock_mhz, units=units_t,
        max_cycles=max_cycles, fps=fps, latency_s=sum(u.cycles for u in units_t) / clock_hz,
        lut=lut, bram18=bram, dsp=dsp, power_w=power, energy_j=power / fps,
        fits=lut <= target.luts and bram <= target.bram18 and dsp <= target.dsps,
        model_bytes=summarize(workload).totals.model_bytes,
    )
