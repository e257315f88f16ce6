"""Energy per operation and per memory access, from Horowitz (ISSCC 2014), scaled to a node.

Reference: M. Horowitz, "1.1 Computing's energy problem (and what we can do
about it)", ISSCC 2014, table of 45 nm energies: int8 add 0.03 pJ, int32 add
0.1 pJ, int8 mult 0.2 pJ, int32 mult 3.1 pJ, fp16 add 0.4 pJ, fp16 mult 1.1
pJ, fp32 add 0.9 pJ, fp32 mult 3.7 pJ; a 64-bit read from an 8 KB SRAM
10 pJ, 32 KB 20 pJ, 1 MB 100 pJ; DRAM 1.3-2.6 nJ per 64 bits. (The 32 KB and
1 MB SRAM points are transcribed from the same table from memory; the others
are also quoted in bnnbench's hardware issue.)

Everything derived from these numbers is a small pure function whose
docstring states the derivation.
"""

from __future__ import annotations

import math

HOROWITZ_NODE_NM = 45.0

#: Horowitz 2014, 45 nm, picojoules per operation.
HOROWITZ_OP_PJ: dict[str, float] = {
    "int8_add": 0.03,
    "int32_add": 0.1,
    "int8_mult": 0.2,
    "int32_mult": 3.1,
    "fp16_add": 0.4,
    "fp16_mult": 1.1,
    "fp32_add": 0.9,
    "fp32_mult": 3.7,
}

#: Horowitz 2014, 45 nm: (SRAM capacity in bytes, pJ per 64-bit read).
HOROWITZ_SRAM_PJ_PER_64BIT: tuple[tuple[float, float], ...] = (
    (8 * 1024, 10.0),
    (32 * 1024, 20.0),
    (1024 * 1024, 100.0),
)

#: Horowitz 2014: DRAM 1.3-2.6 nJ per 64-bit access; we take the middle of the range.
DRAM_PJ_PER_64BIT = (1300.0 + 2600.0) / 2


def node_scale(process_nm: float) -> float:
    """Factor from Horowitz's 45 nm energies to ``process_nm``: ``process_nm / 45``.

    Dynamic energy is C*V^2. Capacitance scales with feature size; since the
    end of Dennard scaling supply voltage has stayed near 0.8-1.0 V, so we hold
    V at Horowitz's 45 nm value and scale energy linearly with the node. This
    is a documented first-order assumption, not a fitted factor. Off-chip DRAM
    energy (I/O dominated) is not scaled.
    """
    if process_nm <= 0:
        raise ValueError(f"process node must be positive, got {process_nm}")
    return process_nm / HOROWITZ_NODE_NM


def int_add_pj(bits: int) -> float:
    """Energy of a ``bits``-wide integer add at 45 nm: linear in width through Horowitz's int32 add.

    A ripple/prefix adder's switched capacitance grows about linearly with its
    width; Horowitz's own int8 (0.03 pJ) vs int32 (0.1 pJ) adds are consistent
    with that (ratio 3.3 for 4x the width).
    """
    return HOROWITZ_OP_PJ["int32_add"] * bits / 32


def int_mult_pj(bits: int) -> float:
    """Energy of a ``bits`` x ``bits`` integer multiply at 45 nm: quadratic through Horowitz's int8 mult.

    An array multiplier has ``bits^2`` partial-product cells; Horowitz's int32
    (3.1 pJ) vs int8 (0.2 pJ) mults have ratio 15.5, close to (32/8)^2 = 16.
    """
    return HOROWITZ_OP_PJ["int8_mult"] * (bits / 8) ** 2


def binary_mac_pj() -> float:
    """One XNOR-popcount MAC (1-bit x 1-bit, accumulate) at 45 nm: two 1-bit adder cells.

    Horowitz gives no 1-bit operation. A binary MAC is an XNOR gate plus one
    bit's share of the popcount/accumulate adder tree (a popcount of n bits
    needs about n full-adder cells). We price each as one bit of a 32-bit
    adder, ``int32_add / 32``, so a binary MAC costs ``2 * 0.1 / 32`` pJ.
    """
    return 2 * int_add_pj(1)


def mac_pj(weight_bits: int, input_bits: int) -> float:
    """Energy of one multiply-accumulate at 45 nm by operand widths.

    * 1x1 bit: :func:`binary_mac_pj`.
    * both <= 8 bits, not both 1: an integer multiply at the wider width plus
      a 32-bit accumulate (:func:`int_mult_pj`, Horowitz int32 add).
    * otherwise fp32: Horowitz fp32 mult + fp32 add (3.7 + 0.9 pJ).
    """
    if weight_bits == 1 and input_bits == 1:
        return binary_mac_pj()
    wider = max(weight_bits, input_bits)
    if wider <= 8:
        return int_mult_pj(wider) + HOROWITZ_OP_PJ["int32_add"]
    return HOROWITZ_OP_PJ["fp32_mult"] + HOROWITZ_OP_PJ["fp32_add"]


def elementwise_pj(bits: int) -> float:
    """Energy of one element-wise step (compare, add, scale) at 45 nm.

    Float data (> 8 bits) costs an fp32 add (0.9 pJ, the same order as a
    compare); integer or bit data one adder of that width (:func:`int_add_pj`).
    """
    return HOROWITZ_OP_PJ["fp32_add"] if bits > 8 else int_add_pj(bits)


def sram_read_pj_per_64bit(capacity_bytes: float) -> float:
    """Energy of a 64-bit read from an SRAM of ``capacity_bytes`` at 45 nm.

    Interpolates Horowitz's three points (8 KB 10 pJ, 32 KB 20 pJ, 1 MB
    100 pJ) linearly in log(capacity) vs log(energy), and extends the end
    segments' slopes beyond them (wire energy grows with array size).
    """
    points = HOROWITZ_SRAM_PJ_PER_64BIT
    size = max(capacity_bytes, 1.0)
    if size <= points[1][0]:
        (x0, y0), (x1, y1) = points[0], points[1]
    else:
        (x0, y0), (x1, y1) = points[1], points[2]
    slope = (math.log(y1) - math.log(y0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + slope * (math.log(size) - math.log(x0)))
