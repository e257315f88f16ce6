"""The model's estimates next to published figures, with the error of each.

Each :class:`PublishedFigure` records one number from a paper, README or
notebook, where it comes from, and how to compute the model's estimate of the
same quantity. Errors are reported as they come out; no constant of the model
is tuned to them. ``python -m hw_models.validation OUT_DIR`` writes
``validation.md`` and ``validation.json`` (atomically).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from hw_models import zoo
from hw_models.cpu import estimate_cpu
from hw_models.dse import FoldingSearch
from hw_models.finn import Folding, estimate_fpga
from hw_models.layer_bench import binary_conv_layer, dabnn_predictions, predict_layer
from hw_models.summary import summarize
from hw_models.target import CpuTarget, FpgaTarget, load_target
from hw_models.workload import Layer, Workload

LCE_README = "larq/compute-engine README.md, 'Performance' (benchmarked March 20th 2020, 1 thread, Pixel 1)"
DABNN_README = "JDAI-CV/dabnn README.md, benchmark log on Google Pixel 1 (2019-05-02), real time per iteration"
FINN_ABSTRACT = "Umuroglu et al., FINN, FPGA 2017 (arXiv 1612.07119), abstract: ZC706 measurements"
LARQ_ZOO = "larq/zoo model docstrings, 'ImageNet Metrics' table (Parameters, Memory in MiB)"
BNN_PYNQ_CONFIG = "Xilinx/BNN-PYNQ bnn/src/network/cnvW1A1/hw/config.h (per-layer SIMD, PE, Ext Latency) at 100 MHz"
BNN_PYNQ_LFC_CONFIG = "Xilinx/BNN-PYNQ bnn/src/network/lfcW1A1/hw/config.h (per-layer SIMD, PE, Ext Latency) at 100 MHz"
#: Post-implementation utilization reports (Vivado 2018.2) in BNN-PYNQ's network READMEs.
BNN_PYNQ_UTILIZATION = "Xilinx/BNN-PYNQ bnn/src/network/{net}/README.md, Vivado 2018.2 utilization report for PYNQ-Z1"
UTILIZATION_NOTE = ("the report covers the whole overlay (accelerator plus the DMA/AXI shell around it), the model "
                    "only the dataflow accelerator")
BNN_PYNQ_NOTEBOOK = ("Xilinx/BNN-PYNQ notebooks/CNV-QNN_Cifar10_Testset.ipynb output, W1A1: 9149.98 images/s over the "
                     "10000-image CIFAR-10 test set")

DABNN_CLOCK_NOTE = ("the log reports the CPUs at 1593.6 MHz with frequency scaling enabled; the pixel1 target "
                    "assumes the 2.15 GHz maximum clock")

#: BNN-PYNQ cnvW1A1 folding (config.h): (PE, SIMD) per layer; the classifier padded to 64 outputs.
BNN_PYNQ_CNV_W1A1: tuple[tuple[int, int], ...] = ((16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (4, 1))
#: BNN-PYNQ lfcW1A1 folding (config.h): (PE, SIMD) per layer; the classifier padded to 64 outputs.
BNN_PYNQ_LFC_W1A1: tuple[tuple[int, int], ...] = ((32, 64), (64, 32), (32, 64), (16, 8))
#: BNN-PYNQ utilization reports (PYNQ-Z1): LUTs, BRAM18 equivalents (RAMB18 + 2 x RAMB36), DSPs.
BNN_PYNQ_RESOURCES: dict[str, tuple[int, int, int]] = {
    "cnvW1A1": (26_072, 96 + 2 * 76, 24),
    "lfcW1A1": (28_360, 208 + 2 * 6, 4),
}
#: LFC-max on ZC706 (Umuroglu et al. 2017, as stated in the hardware issue): (PE, SIMD) per layer.
LFC_MAX: tuple[tuple[int, int], ...] = ((128, 64), (128, 64), (128, 64), (16, 8))


@dataclass(frozen=True)
class PublishedFigure:
    """A published number and the model's way of estimating it."""

    quantity: str
    unit: str
    model: str
    target: str
    configuration: str
    published: float
    source: str
    estimate: Callable[[], float]
    note: str = ""


def matrix_layer_names(workload: Workload) -> list[str]:
    """Names of the conv/dense layers, in order (the units that take a folding)."""
    return [layer.name for layer in workload.layers if layer.is_matrix]


def bnn_pynq_cnv_folding(workload: Workload) -> dict[str, Folding]:
    """BNN-PYNQ's cnvW1A1 folding on the zoo's ``cnv`` (classifier padded to 64 outputs)."""
    names = matrix_layer_names(workload)
    folding = {name: Folding(pe, simd) for name, (pe, simd) in zip(names, BNN_PYNQ_CNV_W1A1)}
    folding[names[-1]] = Folding(*BNN_PYNQ_CNV_W1A1[-1], pad_outputs_to=64)
    return folding


def bnn_pynq_lfc_folding(workload: Workload) -> dict[str, Folding]:
    """BNN-PYNQ's lfcW1A1 folding on the zoo's ``lfc`` (classifier padded to 64 outputs)."""
    names = matrix_layer_names(workload)
    folding = {name: Folding(pe, simd) for name, (pe, simd) in zip(names, BNN_PYNQ_LFC_W1A1)}
    folding[names[-1]] = Folding(*BNN_PYNQ_LFC_W1A1[-1], pad_outputs_to=64)
    return folding


def lfc_max_folding(workload: Workload) -> dict[str, Folding]:
    """FINN's LFC-max folding on the zoo's ``lfc``."""
    return {name: Folding(pe, simd) for name, (pe, simd) in zip(matrix_layer_names(workload), LFC_MAX)}


def _fpga(name: str) -> FpgaTarget:
    target = load_target(name)
    assert isinstance(target, FpgaTarget)
    return target


def _cpu(name: str) -> CpuTarget:
    target = load_target(name)
    assert isinstance(target, CpuTarget)
    return target


def _fastest_fitting(model: str, target: str) -> Any:
    workload, device = zoo.get(model), _fpga(target)
    return estimate_fpga(workload, device, FoldingSearch(workload, device).fastest_fitting())


def published_figures() -> list[PublishedFigure]:
    """Every published figure we compare against."""
    cnv, lfc = zoo.get("cnv"), zoo.get("lfc")
    figures = [
        PublishedFigure("frame rate", "frames/s", "cnv W1A1", "pynq-z1", "BNN-PYNQ cnvW1A1 folding", 100e6 / 32768,
                        BNN_PYNQ_CONFIG + ": slowest layer 32768 cycles (analytical)",
                        lambda: estimate_fpga(cnv, _fpga("pynq-z1"), bnn_pynq_cnv_folding(cnv)).fps),
        PublishedFigure("frame rate", "frames/s", "lfc W1A1", "pynq-z1", "BNN-PYNQ lfcW1A1 folding", 100e6 / 512,
                        BNN_PYNQ_LFC_CONFIG + ": slowest layer 512 cycles (analytical)",
                        lambda: estimate_fpga(lfc, _fpga("pynq-z1"), bnn_pynq_lfc_folding(lfc)).fps),
        PublishedFigure("frame rate", "frames/s", "lfc", "zc706", "LFC-max folding", 200e6 / 128,
                        "Umuroglu et al. 2017 LFC-max: slowest layer 128 cycles at 200 MHz (analytical)",
                        lambda: estimate_fpga(lfc, _fpga("zc706"), lfc_max_folding(lfc)).fps),
        PublishedFigure("frame rate", "frames/s", "cnv W1A1", "ultra96", "BNN-PYNQ cnvW1A1 folding", 9149.98,
                        BNN_PYNQ_NOTEBOOK,
                        lambda: estimate_fpga(cnv, _fpga("ultra96"), bnn_pynq_cnv_folding(cnv)).fps,
                        note="the notebook does not name its board; its 64-bit object addresses point to an aarch64 "
                             "board, i.e. the Ultra96 among BNN-PYNQ's boards; measured through the Python driver"),
        PublishedFigure("frame rate", "frames/s", "sfc", "zc706", "SFC-max (ours: fastest folding that fits)", 12.3e6,
                        FINN_ABSTRACT, lambda: _fastest_fitting("sfc", "zc706").fps,
                        note="FINN's SFC-max folding is not in the abstract; we compare our own fastest fitting folding"),
        PublishedFigure("latency", "us", "sfc", "zc706", "SFC-max (ours: fastest folding that fits)", 0.31,
                        FINN_ABSTRACT, lambda: _fastest_fitting("sfc", "zc706").latency_s * 1e6),
        PublishedFigure("frame rate", "frames/s", "cnv W1A1", "zc706", "CNV-max (ours: fastest folding that fits)", 21906,
                        FINN_ABSTRACT, lambda: _fastest_fitting("cnv", "zc706").fps,
                        note="FINN's CNV-max folding is not in the abstract; we compare our own fastest fitting folding"),
        PublishedFigure("latency", "us", "cnv W1A1", "zc706", "CNV-max (ours: fastest folding that fits)", 283,
                        FINN_ABSTRACT, lambda: _fastest_fitting("cnv", "zc706").latency_s * 1e6),
        PublishedFigure("latency", "ms", "birealnet-18", "pixel1", "LCE, 1 thread", 47.7, LCE_README,
                        lambda: estimate_cpu(zoo.get("birealnet-18"), _cpu("pixel1")).latency_s * 1e3),
        PublishedFigure("latency", "ms", "birealnet-18", "pixel1", "daBNN, 1 thread", 61.8, DABNN_README + ": BM_bireal18_imagenet",
                        lambda: estimate_cpu(zoo.get("birealnet-18"), _cpu("pixel1")).latency_s * 1e3,
                        note=DABNN_CLOCK_NOTE),
    ]
    bnn_pynq_designs = (("cnvW1A1", "cnv W1A1", cnv, bnn_pynq_cnv_folding), ("lfcW1A1", "lfc W1A1", lfc, bnn_pynq_lfc_folding))
    for net, label, workload, folding in bnn_pynq_designs:
        published = dict(zip(("lut", "bram18", "dsp"), BNN_PYNQ_RESOURCES[net]))
        for resource, unit in (("lut", "LUTs"), ("bram18", "BRAM18"), ("dsp", "DSPs")):
            figures.append(PublishedFigure(
                unit, "", label, "pynq-z1", f"BNN-PYNQ {net} folding", published[resource],
                BNN_PYNQ_UTILIZATION.format(net=net),
                partial(_pynq_utilization, workload, folding, resource),
                note=UTILIZATION_NOTE,
            ))
    dabnn_layers = (
        ("BM_bnn_bconv_3x3_64", binary_conv_layer(56, 56, 64, 64), 1.285949),
        ("BM_bnn_bconv_3x3_128", binary_conv_layer(28, 28, 128, 128), 0.988757),
        ("BM_bnn_bconv_3x3_256", binary_conv_layer(14, 14, 256, 256), 1.018918),
        ("BM_bnn_bconv_3x3_256_s2", binary_conv_layer(14, 14, 256, 256, stride=2), 0.269234),
        ("BM_bnn_bconv_3x3_512", binary_conv_layer(7, 7, 512, 512), 1.226245),
        ("BM_bgemm_5x5_256", binary_conv_layer(14, 14, 256, 256, kernel=5), 3.658193),
    )
    for bench, layer, measured_ms in dabnn_layers:
        figures.append(PublishedFigure(
            "layer latency", "ms", layer.name, "pixel1", "daBNN, 1 thread, packed input", measured_ms,
            f"{DABNN_README}: {bench}",
            partial(_pixel1_latency_ms, layer),
            note=DABNN_CLOCK_NOTE,
        ))
    larq_zoo = (
        ("quicknet-small", 12_655_688, 4.00), ("quicknet", 13_234_088, 4.17), ("quicknet-large", 23_342_248, 5.40),
        ("binary-alexnet", 61_859_192, 7.49), ("xnornet", 62_396_768, 22.81),
    )
    for name, params, mib in larq_zoo:
        figures.append(PublishedFigure("parameters", "", name, "-", "summary", params, LARQ_ZOO,
                                       partial(_zoo_params, name)))
        figures.append(PublishedFigure("model size", "MiB", name, "-", "summary", mib, LARQ_ZOO,
                                       partial(_zoo_mib, name)))
    return figures


def _pynq_utilization(
    workload: Workload, folding: Callable[[Workload], dict[str, Folding]], resource: str
) -> float:
    return float(getattr(estimate_fpga(workload, _fpga("pynq-z1"), folding(workload)), resource))


def _pixel1_latency_ms(layer: Layer) -> float:
    return predict_layer(_cpu("pixel1"), layer, packed_input=True).latency_s * 1e3


def _zoo_params(name: str) -> float:
    return float(summarize(zoo.get(name)).totals.params)


def _zoo_mib(name: str) -> float:
    return summarize(zoo.get(name)).totals.model_bytes / 2**20


def relative_error(estimate: float, published: float) -> float:
    """(estimate - published) / published."""
    return (estimate - published) / published


def validation_rows() -> list[dict[str, Any]]:
    """One row per published figure: the figure, our estimate, the relative error."""
    rows = []
    for fig in published_figures():
        value = fig.estimate()
        rows.append({
            "quantity": fig.quantity, "unit": fig.unit, "model": fig.model, "target": fig.target,
            "configuration": fig.configuration, "published": fig.published, "estimate": value,
            "error": relative_error(value, fig.published), "source": fig.source, "note": fig.note,
        })
    return rows


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def format_markdown(rows: list[dict[str, Any]]) -> str:
    """The validation table as markdown, sources and notes as numbered references."""
    lines = [
        "# Hardware model validation",
        "",
        "Estimates of `hw_models` next to published figures. Error = (estimate - published) / published.",
        "Errors are reported as they come out; no model constant was tuned to these figures.",
        "Regenerate with `python -m hw_models.validation reports/reference/hardware`.",
        "",
        "| # | quantity | model | target | configuration | published | estimate | error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, 1):
        unit = f" {r['unit']}" if r["unit"] else ""
        lines.append(f"| {i} | {r['quantity']} | {r['model']} | {r['target']} | {r['configuration']} | "
                     f"{_fmt(r['published'])}{unit} | {_fmt(r['estimate'])}{unit} | {100 * r['error']:+.1f} % |")
    lines += ["", "## Sources and notes", ""]
    for i, r in enumerate(rows, 1):
        note = f" Note: {r['note']}." if r["note"] else ""
        lines.append(f"{i}. {r['source']}.{note}")
    lines += ["", "## Designs known to fit", ""] + [f"- {text}" for text in qualitative_checks()]
    lines += ["", "## Not validated", ""] + [f"- {text}" for text in NOT_VALIDATED]
    return "\n".join(lines) + "\n"


def qualitative_checks() -> list[str]:
    """Statements about designs that were built and run, checked against the model's fit verdict."""
    lfc = zoo.get("lfc")
    zc706 = _fpga("zc706")
    est = estimate_fpga(lfc, zc706, lfc_max_folding(lfc))
    verdict = "fits" if est.fits else "does NOT fit"
    cnv = zoo.get("cnv")
    pynq = _fpga("pynq-z1")
    cnv_est = estimate_fpga(cnv, pynq, bnn_pynq_cnv_folding(cnv))
    cnv_verdict = "fits" if cnv_est.fits else "does NOT fit"
    return [
        f"LFC-max was built and run on the ZC706 (FINN, FPGA 2017). The model estimates {est.lut:,} LUTs and "
        f"{est.bram18} BRAM18 for it, against the device's {zc706.luts:,} LUTs and {zc706.bram18} BRAM18: it {verdict}. "
        "FINN-R's per-PE LUT formula is the source of the LUT figure.",
        f"CNV W1A1 with BNN-PYNQ's folding runs on the PYNQ-Z1. The model estimates {cnv_est.lut:,} LUTs and "
        f"{cnv_est.bram18} BRAM18 against {pynq.luts:,} and {pynq.bram18}: it {cnv_verdict}.",
    ]


NOT_VALIDATED = (
    "FPGA resources of FINN's ZC706 designs (SFC/LFC/CNV-max) and FPGA power: the FINN and FINN-R papers' tables "
    "could not be retrieved from the sources available while writing this, and no figure was entered from memory. "
    "Resources are validated against BNN-PYNQ's published utilization reports (PYNQ-Z1) above.",
    "Raspberry Pi 3B / 4B and Pixel 4 latencies: LCE's published QuickNet latencies (RPi 4B, Pixel 1) are for the "
    "March 2020 QuickNet, an earlier architecture than larq zoo's v1.0 QuickNet in the zoo; Riptide's Raspberry Pi 3B "
    "figures were not retrieved.",
    "x86-avx512 layer latencies: the kernel benchmark measures them; its report puts them next to the predictions below.",
)


def format_x86_predictions() -> str:
    """Markdown table of the x86-avx512 predictions for the kernel benchmark's layers (1 thread)."""
    lines = [
        "",
        "## x86-avx512: predicted latency of the kernel benchmark layers",
        "",
        "Predictions of `hw_models.layer_bench.dabnn_predictions('x86-avx512')` for the layers the kernel benchmark",
        "measures (1 thread; float input packed in the layer, float output with fused batch norm). The measured",
        "column comes from the kernel benchmark run (`bnnbench run`), which puts measured times next to these.",
        "",
        "| layer | binary MACs | predicted ms | compute ms | memory ms | pack+im2col+output ms | predicted binary Gop/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in dabnn_predictions("x86-avx512"):
        lines.append(f"| {p.name} | {p.macs:,} | {p.latency_s * 1e3:.4f} | {p.compute_s * 1e3:.4f} | "
                     f"{p.memory_s * 1e3:.4f} | {p.overhead_s * 1e3:.4f} | {p.binary_gops:.0f} |")
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(directory: str | Path) -> list[dict[str, Any]]:
    """Compute the rows and write ``validation.md`` and ``validation.json`` into ``directory``."""
    rows = validation_rows()
    out = Path(directory)
    _write_atomic(out / "validation.json", json.dumps({"rows": rows, "qualitative": qualitative_checks(),
                                                       "not_validated": list(NOT_VALIDATED)}, indent=2) + "\n")
    _write_atomic(out / "validation.md", format_markdown(rows) + format_x86_predictions())
    return rows


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m hw_models.validation OUT_DIR")
    for row in write_report(sys.argv[1]):
        print(f"{row['model']:>32s} {row['target']:>8s} {row['quantity']:>13s}: "
              f"{_fmt(row['published'])} vs {_fmt(row['estimate'])} ({100 * row['error']:+.1f} %)")
