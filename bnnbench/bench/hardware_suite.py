"""Hardware suite: every zoo workload priced on every target by ``hw_models``,
FPGA foldings for FINN's CNV and LFC, a design-space Pareto front, and the
model's validation against published measurements."""

from __future__ import annotations

from dataclasses import asdict

import hw_models as hw
from hw_models.target import FpgaTarget, load_target
from hw_models.validation import validation_rows

from bnnbench.progress import Progress

#: (workload, FPGA target) pairs whose fastest fitting folding the report lists layer by layer.
FOLDING_CASES = (("cnv", "pynq-z1"), ("lfc", "zc706"))
PARETO_CASE = ("cnv", ("pynq-z1", "ultra96", "zc706"))


def run_hardware_suite(quick: bool = False) -> dict[str, object]:
    names, targets = hw.zoo.names(), hw.target_names()
    progress = Progress(len(names) + len(FOLDING_CASES) + 2, "hardware")
    estimates: list[dict[str, object]] = []
    for name in names:
        workload = hw.zoo.get(name)
        for target in targets:
            totals = hw.to_dict(hw.estimate(workload, load_target(target)))["totals"]
            estimates.append({"model": name, "target": target, **totals})
        progress.step(name)
    foldings = []
    for name, target in FOLDING_CASES:
        result = hw.to_dict(hw.estimate(hw.zoo.get(name), load_target(target)))
        foldings.append({"model": name, "target": target, "totals": result["totals"], "layers": result["layers"]})
        progress.step(f"folding {name} on {target}")
    model, fpga_targets = PARETO_CASE
    points = []
    for fpga_name in fpga_targets:
        fpga = load_target(fpga_name)
        assert isinstance(fpga, FpgaTarget), f"{fpga_name} is not an FPGA target"
        points += hw.sweep_fpga(hw.zoo.get(model), fpga,
                                precisions=("W1A1",) if quick else ("W1A1", "W1A2", "W2A2"))
    fitting = [p for p in points if p.fits]
    front = hw.pareto_front(fitting, [(lambda p: p.fps, "max"), (lambda p: p.lut, "min")])
    progress.step("pareto")
    validation = validation_rows()
    progress.step("validation")
    return {
        "targets": targets,
        "estimates": estimates,
        "foldings": foldings,
        "pareto": {"model": model, "objectives": ["fps (max)", "lut (min)"],
                   "points": [asdict(p) for p in points], "front": [asdict(p) for p in front]},
        "validation": validation,
    }
