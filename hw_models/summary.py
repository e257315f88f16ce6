"""A larq-style model summary: per-layer bits, parameters, memory and MACs; totals.

Follows the columns of ``larq.models.summary`` (Geiger & Team, "Larq: An
Open-Source Library for Training Binarized Neural Networks", JOSS 2020):
input precision, output shape, parameters by bit width, memory, MACs by
precision (a MAC's precision is the wider of its two operands), and totals
with model size, float-32 equivalent, compression ratio and the ratio of MACs
that are binary. Adds the peak activation memory of a batch-1 inference.

Numbers are computed here once; :func:`format_summary` only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hw_models.table import format_table
from hw_models.workload import (
    FLOAT_BITS,
    NETWORK_INPUT,
    Shape,
    Workload,
    elements,
    mac_bits,
    macs,
    output_activation_bits,
    parameter_bits,
    parameter_count,
    parameters_by_bits,
)


@dataclass(frozen=True)
class LayerSummary:
    """One row of the summary table."""

    name: str
    kind: str
    input_bits: int
    output_shape: Shape
    params_by_bits: dict[int, int]
    memory_bytes: float
    macs_by_bits: dict[int, int]


@dataclass(frozen=True)
class SummaryTotals:
    """The totals under the table."""

    params: int
    params_by_bits: dict[int, int]
    model_bytes: float
    float32_bytes: float
    compression_ratio: float
    macs: int
    macs_by_bits: dict[int, int]
    binary_mac_ratio: float
    peak_activation_bytes: float


@dataclass(frozen=True)
class Summary:
    workload: str
    layers: tuple[LayerSummary, ...]
    totals: SummaryTotals


def _merge(target: dict[int, int], extra: dict[int, int]) -> None:
    for bits, count in extra.items():
        target[bits] = target.get(bits, 0) + count


def peak_activation_bits(workload: Workload) -> int:
    """Largest sum of live activation tensors at any step of a batch-1 inference.

    A tensor is live from the step that produces it (the network input from
    the start) through the last step that reads it; a layer's output is live
    while the layer runs, together with its inputs. ``flatten`` is a view of
    its input and allocates nothing. This is the liveness rule of static
    memory planners such as TFLite's arena allocator.
    """
    alias = {layer.name: layer.name for layer in workload.layers}
    for index, layer in enumerate(workload.layers):
        if layer.kind == "flatten":
            alias[layer.name] = alias.get(workload.producers(index)[0], workload.producers(index)[0])
    size = {NETWORK_INPUT: elements(workload.input_shape) * workload.input_bits}
    last_use = {NETWORK_INPUT: 0}
    for index, layer in enumerate(workload.layers):
        if layer.kind != "flatten":
            size[layer.name] = output_activation_bits(layer)
            last_use[layer.name] = index
        for producer in workload.producers(index):
            last_use[alias.get(producer, producer)] = index
    born = {NETWORK_INPUT: -1} | {layer.name: i for i, layer in enumerate(workload.layers) if layer.kind != "flatten"}
    return max(
        sum(size[t] for t in size if born[t] <= step <= last_use[t]) for step in range(len(workload.layers))
    )


def summarize(workload: Workload) -> Summary:
    """Per-layer rows and totals for ``workload``."""
    rows = []
    params_total: dict[int, int] = {}
    macs_total: dict[int, int] = {}
    for layer in workload.layers:
        by_bits = parameters_by_bits(layer)
        layer_macs = {mac_bits(layer): macs(layer)} if macs(layer) else {}
        rows.append(
            LayerSummary(
                name=layer.name,
                kind=layer.kind,
                input_bits=layer.input_bits,
                output_shape=layer.output_shape,
                params_by_bits=by_bits,
                memory_bytes=parameter_bits(layer) / 8,
                macs_by_bits=layer_macs,
            )
        )
        _merge(params_total, by_bits)
        _merge(macs_total, layer_macs)
    n_params = sum(parameter_count(layer) for layer in workload.layers)
    model_bytes = sum(parameter_bits(layer) for layer in workload.layers) / 8
    float32_bytes = n_params * FLOAT_BITS / 8
    n_macs = sum(macs_total.values())
    totals = SummaryTotals(
        params=n_params,
        params_by_bits=dict(sorted(params_total.items())),
        model_bytes=model_bytes,
        float32_bytes=float32_bytes,
        compression_ratio=float32_bytes / model_bytes if model_bytes else 1.0,
        macs=n_macs,
        macs_by_bits=dict(sorted(macs_total.items())),
        binary_mac_ratio=macs_total.get(1, 0) / n_macs if n_macs else 0.0,
        peak_activation_bytes=peak_activation_bits(workload) / 8,
    )
    return Summary(workload=workload.name, layers=tuple(rows), totals=totals)


# ---------------------------------------------------------------------------
# Formatting only below.
# ---------------------------------------------------------------------------


def _kib(n_bytes: float) -> str:
    return f"{n_bytes / 1024:.2f}"


def _human_bytes(n_bytes: float) -> str:
    for unit, scale in (("MiB", 1024**2), ("KiB", 1024)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.2f} {unit}"
    return f"{n_bytes:.0f} B"


def format_summary(summary: Summary) -> str:
    """The summary as a plain-text table, larq style."""
    param_bits = sorted({b for row in summary.layers for b in row.params_by_bits} | {1, 32})
    mac_bits_cols = sorted({b for row in summary.layers for b in row.macs_by_bits} | {1, 32})
    header = ["Layer", "Kind", "In bits", "Outputs"] + [f"#{b}-bit" for b in param_bits] + ["Memory KiB"] + [
        f"{b}-bit MACs" for b in mac_bits_cols
    ]
    rows = []
    for row in summary.layers:
        shape = "(" + ", ".join(str(d) for d in row.output_shape) + ")"
        rows.append(
            [row.name, row.kind, str(row.input_bits), shape]
            + [str(row.params_by_bits.get(b, 0) or "-") for b in param_bits]
            + [_kib(row.memory_bytes)]
            + [str(row.macs_by_bits.get(b, 0) or "-") for b in mac_bits_cols]
        )
    t = summary.totals
    footer = [["Total", "", "", ""] + [str(t.params_by_bits.get(b, 0) or "-") for b in param_bits] + [_kib(t.model_bytes)]
              + [str(t.macs_by_bits.get(b, 0) or "-") for b in mac_bits_cols]]
    lines = [f"{summary.workload} summary", format_table(header, rows, footer=footer)]
    lines += [
        f"Total params                      {t.params}",
        f"Model size                        {_human_bytes(t.model_bytes)}",
        f"Float-32 equivalent               {_human_bytes(t.float32_bytes)}",
        f"Compression ratio of memory       {t.compression_ratio:.2f}",
        f"Number of MACs                    {t.macs}",
        f"Ratio of MACs that are binarized  {t.binary_mac_ratio:.4f}",
        f"Peak activation memory (batch 1)  {_human_bytes(t.peak_activation_bytes)}",
    ]
    return "\n".join(lines)
