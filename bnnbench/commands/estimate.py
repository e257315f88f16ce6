"""``bnnbench estimate MODEL --target T``: memory, energy and latency (FPGA: folding, cycles, LUT, BRAM, DSP, FPS)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "estimate", help="estimate memory, energy and latency of a model on a hardware target",
        description="Estimate MODEL (a zoo name or a workload .json) on target T (a name from --list-targets or a "
        "target .toml path): per-layer table and totals. FPGA targets use --folding FILE.json (a list of "
        '{"layer", "pe", "simd"}), or search the cheapest folding for --fps N, or by default the fastest '
        "folding that fits the device.",
    )
    parser.add_argument("model", nargs="?", help="zoo model name or workload .json file")
    parser.add_argument("--target", "-t", help="target name or .toml file")
    parser.add_argument("--folding", help="FPGA folding file: JSON list of {\"layer\", \"pe\", \"simd\"}")
    parser.add_argument("--fps", type=float, help="FPGA: search the cheapest folding reaching this frame rate")
    parser.add_argument("--threads", type=int, default=1, help="CPU: threads (default 1)")
    parser.add_argument("--save-folding", metavar="FILE", help="FPGA: write the folding used to FILE (JSON)")
    parser.add_argument("--traced", action="store_true", help="trace the bnnbench.models torch model of that name")
    parser.add_argument("--json", action="store_true", help="print one JSON object: {totals, layers}")
    parser.add_argument("--list-targets", action="store_true", help="list the shipped targets and exit")
    parser.set_defaults(handler=run)


def _si(value: float, unit: str) -> str:
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0), ("m", 1e-3), ("u", 1e-6), ("n", 1e-9)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _cpu_table(result: Any) -> str:
    from hw_models.table import format_table

    header = ["Layer", "Kind", "Path", "MACs", "Latency us", "Compute us", "Memory us", "Pack+im2col+out us", "From", "Energy uJ"]
    rows = [
        [c.name, c.kind, c.path, str(c.macs), f"{c.latency_s * 1e6:.2f}", f"{c.compute_s * 1e6:.2f}",
         f"{c.memory_s * 1e6:.2f}", f"{(c.pack_s + c.im2col_s + c.transform_s) * 1e6:.2f}", c.memory_level,
         f"{c.energy_j * 1e6:.3f}"]
        for c in result.layers
    ]
    totals = [
        f"Latency                {_si(result.latency_s, 's')}  ({result.fps:.4g} frames/s, {result.threads} thread(s))",
        f"Energy per inference   {_si(result.energy_j, 'J')}",
        f"Model size             {result.model_bytes / 1024:.2f} KiB",
        f"Peak activations       {result.peak_activation_bytes / 1024:.2f} KiB",
    ]
    return format_table(header, rows) + "\n" + "\n".join(totals)


def _fpga_table(result: Any, target: Any) -> str:
    from hw_models.table import format_table

    header = ["Unit", "Kind", "MW", "MH", "PE", "SIMD", "W/A/out bits", "Cycles", "LUT", "BRAM18", "DSP"]
    rows = [
        [u.name, u.kind, str(u.mw or "-"), str(u.mh or "-"), str(u.pe or "-"), str(u.simd or "-"),
         f"{u.weight_bits}/{u.input_bits}/{u.output_bits}" if u.pe else "-", str(u.cycles), str(u.lut),
         str(u.bram18), str(u.dsp)]
        for u in result.units
    ]
    totals = [
        f"Frame rate             {result.fps:,.1f} frames/s at {result.clock_mhz:g} MHz (slowest unit: {result.max_cycles} cycles)",
        f"First-frame latency    {_si(result.latency_s, 's')}",
        f"LUT                    {result.lut} of {target.luts} ({100 * result.lut / target.luts:.1f} %)",
        f"BRAM18                 {result.bram18} of {target.bram18} ({100 * result.bram18 / target.bram18:.1f} %)",
        f"DSP                    {result.dsp} of {target.dsps}",
        f"Fits the device        {'yes' if result.fits else 'NO'}",
        f"Power (estimate)       {result.power_w:.3g} W; energy per frame {_si(result.energy_j, 'J')}",
        f"Model size             {result.model_bytes / 1024:.2f} KiB",
    ]
    return format_table(header, rows) + "\n" + "\n".join(totals)


def run(args: argparse.Namespace) -> int:
    from bnnbench.cli import CommandError
    from bnnbench.commands.summary import workload_for
    from hw_models.errors import HwModelError
    from hw_models.estimate import estimate, folding_to_list, load_folding, to_dict
    from hw_models.finn import Folding
    from hw_models.target import load_target, target_names

    if args.list_targets:
        for name in target_names():
            print(f"{name:12s} {load_target(name).description}")
        return 0
    if not args.model or not args.target:
        raise CommandError("give a MODEL and --target T (--list-targets shows the targets)")
    from bnnbench.files import write_json_atomic

    try:
        workload = workload_for(args.model, args.traced)
        target = load_target(args.target)
        folding = load_folding(args.folding) if args.folding else None
        result = estimate(workload, target, threads=args.threads, folding=folding, fps=args.fps)
    except HwModelError as exc:
        raise CommandError(str(exc)) from None
    if args.save_folding:
        if target.kind != "fpga":
            raise CommandError("--save-folding applies to FPGA targets")
        used = {u.name: Folding(u.pe, u.simd) for u in result.units if u.pe}  # type: ignore[union-attr]
        from pathlib import Path

        write_json_atomic(Path(args.save_folding), folding_to_list(used))
    if args.json:
        print(json.dumps(to_dict(result), indent=2))
    else:
        print(f"{workload.name} on {target.name} ({target.description})")
        print(_cpu_table(result) if target.kind == "cpu" else _fpga_table(result, target))
    return 0
