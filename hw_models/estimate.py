"""One entry point for pricing a workload on any target, and the JSON form of the result.

``estimate`` dispatches to the CPU model (:mod:`hw_models.cpu`) or the FPGA
model (:mod:`hw_models.finn`). ``to_dict`` gives the ``totals`` / ``layers``
JSON object the CLI prints and reports store; nothing here computes a figure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from hw_models.cpu import CpuEstimate, estimate_cpu
from hw_models.dse import FoldingSearch
from hw_models.errors import FoldingError, HwModelError
from hw_models.finn import Folding, FpgaEstimate, estimate_fpga
from hw_models.target import CpuTarget, Target
from hw_models.workload import Workload

Estimate = CpuEstimate | FpgaEstimate


def estimate(workload: Workload, target: Target, *, threads: int = 1, folding: Mapping[str, Folding] | None = None,
             fps: float | None = None) -> Estimate:
    """Price ``workload`` on ``target``.

    CPU targets take ``threads``. FPGA targets take an explicit ``folding``,
    or a frame rate ``fps`` for which the cheapest folding is searched, or
    neither: then the fastest folding that fits the device is used.
    """
    if isinstance(target, CpuTarget):
        if folding is not None or fps is not None:
            raise HwModelError(f"target '{target.name}' is a CPU: folding and frame-rate targets apply to FPGA targets")
        return estimate_cpu(workload, target, threads)
    if threads != 1:
        raise HwModelError(f"target '{target.name}' is an FPGA: threads apply to CPU targets")
    if folding is not None and fps is not None:
        raise HwModelError("give either a folding or a target frame rate, not both")
    if folding is None:
        search = FoldingSearch(workload, target)
        folding = search.for_fps(fps) if fps is not None else search.fastest_fitting()
    return estimate_fpga(workload, target, folding)


def folding_from_list(entries: Any, source: str) -> dict[str, Folding]:
    """Parse a folding given as ``[{"layer": name, "pe": int, "simd": int}, ...]``.

    Values are checked against the workload by :func:`hw_models.finn.check_folding`.
    """
    if not isinstance(entries, list):
        raise FoldingError(f"{source}: a folding must be a JSON list of {{\"layer\", \"pe\", \"simd\"}} objects")
    folding: dict[str, Folding] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise FoldingError(f"{source}: entry {index} must be an object with layer, pe and simd")
        unknown = set(entry) - {"layer", "pe", "simd", "pad_outputs_to"}
        if unknown:
            raise FoldingError(f"{source}: entry {index}: unknown field(s) {sorted(unknown)}")
        missing = {"layer", "pe", "simd"} - set(entry)
        if missing:
            raise FoldingError(f"{source}: entry {index}: missing field(s) {sorted(missing)}")
        name = entry["layer"]
        if not isinstance(name, str):
            raise FoldingError(f"{source}: entry {index}: layer must be a string, got {name!r}")
        if name in folding:
            raise FoldingError(f"{source}: layer '{name}' is folded twice")
        folding[name] = Folding(entry["pe"], entry["simd"], entry.get("pad_outputs_to", 1))
    return folding


def load_folding(path: str) -> dict[str, Folding]:
    """Read a folding file (JSON list of ``{"layer", "pe", "simd"}``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise FoldingError(f"cannot read folding file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise FoldingError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return folding_from_list(data, path)


def folding_to_list(folding: Mapping[str, Folding]) -> list[dict[str, int | str]]:
    """The folding-file form of ``folding``."""
    rows: list[dict[str, int | str]] = []
    for name, fold in folding.items():
        row: dict[str, int | str] = {"layer": name, "pe": fold.pe, "simd": fold.simd}
        if fold.pad_outputs_to != 1:
            row["pad_outputs_to"] = fold.pad_outputs_to
        rows.append(row)
    return rows


def to_dict(result: Estimate) -> dict[str, Any]:
    """``{"workload", "target", "kind", "totals": {...}, "layers": [...]}`` of an estimate."""
    if isinstance(result, CpuEstimate):
        totals: dict[str, Any] = {
            "fps": result.fps, "latency_s": result.latency_s, "energy_j": result.energy_j,
            "model_bytes": result.model_bytes, "peak_activation_bytes": result.peak_activation_bytes,
            "threads": result.threads,
        }
        layers = [asdict(cost) for cost in result.layers]
        kind = "cpu"
    else:
        totals = {
            "fps": result.fps, "latency_s": result.latency_s, "energy_j": result.energy_j,
            "model_bytes": result.model_bytes, "lut": result.lut, "bram18": result.bram18, "dsp": result.dsp,
            "power_w": result.power_w, "fits": result.fits, "clock_mhz": result.clock_mhz,
            "max_cycles": result.max_cycles,
        }
        layers = [asdict(unit) for unit in result.units]
        kind = "fpga"
    return {"workload": result.workload, "target": result.target, "kind": kind, "totals": totals, "layers": layers}
