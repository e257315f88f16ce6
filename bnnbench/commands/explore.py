"""``bnnbench explore MODEL --target T``: sweep foldings, precisions, clocks and targets to Pareto fronts."""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explore", help="design-space exploration: Pareto fronts of frame rate vs LUTs and latency vs energy",
        description="Sweep MODEL over targets (FPGA: foldings from fastest to slowest, precisions, clocks; CPU: "
        "thread counts, precisions) and write the Pareto fronts (frame rate vs LUTs for FPGAs that fit, latency vs "
        "energy for all) as explore.json, points.csv and pareto.png in --out.",
    )
    parser.add_argument("model", help="zoo model name or workload .json file")
    parser.add_argument("--target", "-t", action="append", required=True, help="target name or .toml (repeatable)")
    parser.add_argument("--precisions", default="W1A1", help="comma-separated, from W1A1, W1A2, W2A2 (default W1A1)")
    parser.add_argument("--clocks", default="", help="FPGA clocks in MHz, comma-separated (default: the target's)")
    parser.add_argument("--points", type=int, default=12, help="foldings per FPGA configuration (default 12)")
    parser.add_argument("--out", default="explore", help="output directory (default ./explore)")
    parser.add_argument("--traced", action="store_true", help="trace the bnnbench.models torch model of that name")
    parser.set_defaults(handler=run)


def _parse_list(text: str, what: str, convert: Any) -> list[Any]:
    from bnnbench.cli import CommandError

    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        return [convert(item) for item in items]
    except ValueError:
        raise CommandError(f"--{what}: cannot read {text!r} as a comma-separated list") from None


def _csv_text(points: list[Any]) -> str:
    from hw_models.dse import DesignPoint

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(DesignPoint)])
    writer.writeheader()
    for point in points:
        writer.writerow(asdict(point))
    return buffer.getvalue()


def _plot(path: Path, points: list[Any], fps_front: list[Any], energy_front: list[Any], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bnnbench.files import write_bytes_atomic

    fpga = [p for p in points if p.lut]
    fig, axes = plt.subplots(1, 2 if fpga else 1, figsize=(11 if fpga else 6, 4.2), squeeze=False)
    if fpga:
        ax = axes[0][0]
        for fits, marker in ((True, "o"), (False, "x")):
            chosen = [p for p in fpga if p.fits is fits]
            ax.scatter([p.lut for p in chosen], [p.fps for p in chosen], marker=marker, alpha=0.5,
                       label="fits" if fits else "does not fit")
        front = sorted(fps_front, key=lambda p: p.lut)
        ax.plot([p.lut for p in front], [p.fps for p in front], "r-", label="Pareto front")
        ax.set_xlabel("LUTs")
        ax.set_ylabel("frames / s")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend()
        ax.set_title("frame rate vs LUTs")
    ax = axes[0][-1]
    for target in sorted({p.target for p in points}):
        chosen = [p for p in points if p.target == target]
        ax.scatter([p.latency_s * 1e3 for p in chosen], [p.energy_j * 1e3 for p in chosen], alpha=0.5, label=target)
    front = sorted(energy_front, key=lambda p: p.latency_s)
    ax.plot([p.latency_s * 1e3 for p in front], [p.energy_j * 1e3 for p in front], "r-", label="Pareto front")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("energy per inference (mJ)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("latency vs energy")
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())


def run(args: argparse.Namespace) -> int:
    from bnnbench.cli import CommandError
    from bnnbench.commands.summary import workload_for
    from bnnbench.files import write_json_atomic, write_text_atomic
    from hw_models.dse import FPS_VS_LUT, LATENCY_VS_ENERGY, pareto_front, sweep_cpu, sweep_fpga
    from hw_models.errors import HwModelError
    from hw_models.target import FpgaTarget, load_target

    precisions = _parse_list(args.precisions, "precisions", str)
    clocks = _parse_list(args.clocks, "clocks", float)
    if args.points < 2:
        raise CommandError("--points must be at least 2")
    try:
        workload = workload_for(args.model, args.traced)
        points = []
        for name in args.target:
            target = load_target(name)
            if isinstance(target, FpgaTarget):
                points += sweep_fpga(workload, target, precisions=precisions, clocks_mhz=clocks, points=args.points)
            else:
                points += sweep_cpu(workload, target, precisions=precisions)
    except HwModelError as exc:
        raise CommandError(str(exc)) from None
    fps_front = pareto_front([p for p in points if p.lut and p.fits], FPS_VS_LUT)
    energy_front = pareto_front(points, LATENCY_VS_ENERGY)
    out = Path(args.out)
    write_json_atomic(out / "explore.json", {
        "workload": workload.name, "targets": args.target, "precisions": precisions,
        "points": [asdict(p) for p in points],
        "pareto_fps_vs_lut": [asdict(p) for p in fps_front],
        "pareto_latency_vs_energy": [asdict(p) for p in energy_front],
    })
    write_text_atomic(out / "points.csv", _csv_text(points))
    _plot(out / "pareto.png", points, fps_front, energy_front, f"{workload.name} on {', '.join(args.target)}")
    print(f"{len(points)} designs; {len(fps_front)} on the frame-rate/LUT front, {len(energy_front)} on the "
          f"latency/energy front")
    print(f"wrote {out / 'explore.json'}, {out / 'points.csv'}, {out / 'pareto.png'}")
    return 0
