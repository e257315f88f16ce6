"""What the report says: results.json turned into blocks, one section per suite.

Every number comes from results.json; nothing is measured or estimated here.
A suite that failed, was interrupted or never ran is shown as such; a section
whose data cannot be rendered (say, a results file from an older bnnbench)
is shown as a problem while the rest of the report still renders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bnnbench.report.document import Block, Bullets, Heading, Image, Paragraph, Problem, Table
from bnnbench.report.figures import FigureOutcome

#: Above this share of the machine used by other processes, timings are flagged.
BUSY_MACHINE_FRACTION = 0.05

#: Status of a suite that chose not to run, ``{"status": "skipped", "reason": why}`` (say, no MNIST
#: data): shown plainly, not as a failure.
SKIPPED = "skipped"

Figures = Mapping[str, FigureOutcome]


def table(headers: list[str], rows: list[list[object]]) -> Table:
    return Table(tuple(headers), tuple(tuple(row) for row in rows))


def figure_blocks(figures: Figures, *names: str) -> list[Block]:
    """The named figures that were drawn, or the reason one failed; nothing for figures without data."""
    blocks: list[Block] = []
    for name in names:
        outcome = figures.get(name)
        if outcome is None:
            continue
        if outcome.png is not None:
            blocks.append(Image(outcome.path, outcome.spec.title, outcome.spec.caption, outcome.png))
        else:
            blocks.append(Problem(f"Figure “{outcome.spec.title}” could not be drawn: {outcome.error}"))
    return blocks


def contention_note(fraction: float | None) -> Paragraph:
    if fraction is None:
        return Paragraph("Other processes' CPU use was not measured (no /proc/stat).")
    if fraction > BUSY_MACHINE_FRACTION:
        return Paragraph(f"**Warning: other processes used {100 * fraction:.0f}% of the machine's CPU time during "
                         "this suite; timings (especially multi-thread ones) are unreliable.**")
    return Paragraph(f"Other processes used {100 * fraction:.1f}% of the machine's CPU time during this suite.")


def _threads(n: int) -> str:
    return f"{n} thread{'s' if n != 1 else ''}"


# ---------------------------------------------------------------- sections


def environment_section(data: Mapping, figures: Figures) -> list[Block]:
    threads = data["threads"]
    features = ", ".join(name for name, on in data["cpu_features"].items() if on)
    build = data["kernels_build"]
    return [table(["", ""], [
        ["host", data.get("host", "")],
        ["CPU", data["cpu_model"]],
        ["features", features],
        ["ISA path", data["isa"]],
        ["kernels built with", f"{build['compiler']}, `{build['flags']}`"],
        ["Python / torch / numpy", f"{data.get('python', '?')} / {data['torch']} / {data['numpy']}"],
        ["usable cores", str(threads["cores_usable"])],
    ])]


def kernels_section(data: Mapping, figures: Figures) -> list[Block]:
    summary = data["summary"]
    rows = [[r["layer"], r["threads"], r["binary_e2e_ms"], r["binary_kernel_ms"], r["torch_channels_last_ms"],
             r["torch_default_ms"], f"{r['speedup_e2e_vs_best_torch']:.1f}x", f"{r['speedup_kernel_vs_best_torch']:.1f}x",
             r["binary_kernel_gops"], f"{100 * r['roofline_fraction']:.0f}%"] for r in summary]
    roof = ", ".join(f"{_threads(int(t))}: {v:.0f} Gop/s" for t, v in data["roofline_gops"].items())
    predicted = [r for r in summary if "predicted_kernel_ms" in r]
    blocks: list[Block] = [
        contention_note(data.get("other_processes_cpu_fraction")),
        Paragraph(f"ISA path `{data['isa']}`. Popcount roofline (register-only xor+popcount+add, binary ops): {roof}."),
        Paragraph("Times are medians in ms. *e2e*: float32 NHWC in, pack, binary layer, float32 out with BatchNorm "
                  "folded. *kernel*: packed in, int32 out. Speedups against the faster of torch fp32 channels_last "
                  "and default layout (oneDNN), at the same thread count."),
        table(["layer", "threads", "binary e2e", "binary kernel", "torch channels_last", "torch default",
               "speedup e2e", "speedup kernel", "kernel Gop/s", "of roofline"], rows),
        *figure_blocks(figures, "kernel_speedup", "roofline"),
        Heading(3, "Host cost model against the measurements"),
    ]
    if not predicted:
        return [*blocks, Paragraph("No predictions: the measured layers are not the daBNN layer set.")]
    return [
        *blocks,
        Paragraph("`hw_models` target `x86-avx512` against the measurements above, in ms; the error is "
                  "(predicted − measured) / measured."),
        table(["layer", "threads", "measured kernel", "predicted kernel", "error", "measured e2e", "predicted e2e",
               "error"],
              [[r["layer"], r["threads"], r["binary_kernel_ms"], r["predicted_kernel_ms"],
                f"{100 * r['prediction_error_kernel']:+.0f}%", r["binary_e2e_ms"], r["predicted_e2e_ms"],
                f"{100 * r['prediction_error_e2e']:+.0f}%"] for r in predicted]),
        *figure_blocks(figures, "host_prediction"),
    ]


def models_section(data: Mapping, figures: Figures) -> list[Block]:
    rows = [[r["model"], r["batch"], r["threads"], r["binary_ms"], r["float_twin_default_ms"],
             r["float_twin_channels_last_ms"], f"{r['speedup']:.1f}x", f"{r['size_ratio']:.0f}x"]
            for r in data["summary"]]
    sizes = table(["model", "packed KiB", "float KiB", "smaller"],
                  [[name, v["packed_bytes"] / 1024, v["float_bytes"] / 1024, f"{v['float_bytes'] / v['packed_bytes']:.0f}x"]
                   for name, v in data["sizes"].items()])
    largest = max((p["batch"] for p in data["profiles"]), default=None)
    profiles = [f"{p['model']} (batch {p['batch']}, 1 thread, ms): "
                + ", ".join(f"{layer['name']} {layer['median_ms']:.3f}" for layer in p["layers"])
                for p in data["profiles"] if p["batch"] == largest and p["threads"] == 1]
    blocks: list[Block] = [
        contention_note(data.get("other_processes_cpu_fraction")),
        Paragraph("Compiled binary model (one C call per batch, random weights) against its float twin in torch "
                  "(eval, inference_mode), times in ms; the speedup is against the faster torch layout."),
        table(["model", "batch", "threads", "binary", "float twin (NCHW)", "float twin (channels_last)", "speedup",
               "smaller"], rows),
        sizes,
    ]
    if profiles:
        blocks += [Paragraph("Per-op time of the compiled models:"), Bullets(tuple(profiles))]
    return [*blocks, *figure_blocks(figures, "model_breakdown")]


def hardware_section(data: Mapping, figures: Figures) -> list[Block]:
    cpu = [e for e in data["estimates"] if e.get("lut") is None]
    fpga = [e for e in data["estimates"] if e.get("lut") is not None]
    blocks: list[Block] = [
        Paragraph("Estimates of `hw_models` (no measurement): latency in ms, energy in mJ per inference, model size "
                  "in KiB."),
        Heading(3, "CPU targets"),
        table(["model", "target", "latency ms", "energy mJ", "model KiB"],
              [[e["model"], e["target"], 1e3 * e["latency_s"], 1e3 * e["energy_j"], e["model_bytes"] / 1024]
               for e in cpu]),
        *figure_blocks(figures, "energy"),
        Heading(3, "FPGA targets (fastest folding that fits)"),
        table(["model", "target", "frames/s", "latency ms", "LUT", "BRAM18", "DSP", "fits"],
              [[e["model"], e["target"], e["fps"], 1e3 * e["latency_s"], e["lut"], e["bram18"], e["dsp"], e["fits"]]
               for e in fpga]),
    ]
    for folding in data.get("foldings", []):
        totals = folding["totals"]
        blocks += [
            Paragraph(f"Folding of **{folding['model']}** on `{folding['target']}`: {totals['fps']:.0f} frames/s, "
                      f"{totals['lut']} LUTs, {totals['bram18']} BRAM18."),
            table(["layer", "kind", "PE", "SIMD", "cycles", "LUT", "BRAM18"],
                  [[layer["name"], layer["kind"], layer["pe"] or "", layer["simd"] or "", layer["cycles"], layer["lut"],
                    layer["bram18"]] for layer in folding["layers"]]),
        ]
    pareto = data.get("pareto")
    if pareto:
        blocks += [
            Heading(3, f"Design space of {pareto['model']}"),
            Paragraph(f"{len(pareto['points'])} designs swept, {len(pareto['front'])} on the Pareto front "
                      f"({', '.join(pareto['objectives'])}) of those that fit:"),
            table(["target", "precision", "clock MHz", "frames/s", "LUT", "BRAM18"],
                  [[p["target"], p["precision"], p["clock_mhz"], p["fps"], p["lut"], p["bram18"]]
                   for p in sorted(pareto["front"], key=lambda p: p["lut"])]),
            *figure_blocks(figures, "fpga_pareto"),
        ]
    return [
        *blocks,
        Heading(3, "Validation against published figures"),
        table(["quantity", "model", "target", "configuration", "published", "estimate", "error"],
              [[v["quantity"], v["model"], v["target"], v["configuration"], v["published"], v["estimate"],
                "" if v["error"] is None else f"{100 * v['error']:+.1f}%"] for v in data["validation"]]),
    ]


def engine_agreement(run: Mapping) -> str:
    """The compiled engine's agreement with torch for one run, or why there is none."""
    if "engine_identical_fraction" in run:
        return f"{100 * run['engine_identical_fraction']:.2f}% identical"
    return str(run.get("engine", "")) if not run.get("float_twin") else ""


def accuracy_section(data: Mapping, figures: Figures) -> list[Block]:
    """Trained runs: ``data["runs"]`` is a list of metrics.json dictionaries (``run`` names the run if known)."""
    runs = data["runs"]
    rows = [[run.get("run", ""), run["model"], bool(run.get("float_twin")), run.get("test_accuracy", "not finished"),
             run.get("best_val_accuracy", ""), len(run.get("epochs", [])), run.get("wall_time_s", ""),
             engine_agreement(run)]
            for run in runs]
    return [
        Paragraph("Accuracy in %, on the test set once training finished; the best validation accuracy picks "
                  "the checkpoint. *Engine*: share of test images on which the model compiled by bnnbench.engine "
                  "predicts exactly what torch predicts."),
        table(["run", "model", "float twin", "test accuracy", "best validation", "epochs", "wall time s", "engine"],
              rows),
        *figure_blocks(figures, "accuracy_vs_size"),
    ]


def studies_section(data: Mapping, figures: Figures) -> list[Block]:
    """One row per study: what it asks, how it ran, and where its own report and figures are."""
    rows = [[s["name"], s["summary"], s["settings"], s["status"], f"{s['seconds']:.0f}",
             f"`{s['out_dir']}/README.md`", len(s.get("figures", []))] for s in data["studies"]]
    blocks: list[Block] = [
        Paragraph("Each study wrote its results, its report (question, setup, published figure, findings) and its "
                  "figures into the folder named below, next to this report. *smoke* settings only check the "
                  "plumbing on a tiny subset; their numbers are not findings."),
        table(["study", "question", "settings", "status", "seconds", "report", "figures"], rows),
    ]
    blocks += [Problem(f"Study {s['name']} failed: {s['error']}", s.get("traceback", ""))
               for s in data["studies"] if s["status"] != "ok"]
    return blocks


SECTIONS: dict[str, tuple[str, Callable[[Mapping, Figures], list[Block]]]] = {
    "environment": ("Environment", environment_section),
    "kernels": ("Kernels: daBNN layer set", kernels_section),
    "models": ("Models: compiled binary vs float twin", models_section),
    "accuracy": ("Accuracy of the reference models", accuracy_section),
    "studies": ("Studies", studies_section),
    "hardware": ("Hardware cost model", hardware_section),
}


# -------------------------------------------------------------- highlights


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f}×" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}–{high:.1f}×"


def _kernel_highlights(data: Mapping) -> list[str]:
    one = [r for r in data["summary"] if r["threads"] == 1]
    if not one:
        return []
    return [f"Binary layers on 1 thread, end to end: {_span([r['speedup_e2e_vs_best_torch'] for r in one])} faster "
            f"than torch fp32; kernels reach up to {100 * max(r['roofline_fraction'] for r in one):.0f}% of the "
            "popcount roofline."]


def _model_highlights(data: Mapping) -> list[str]:
    lines = []
    for name in dict.fromkeys(r["model"] for r in data["summary"]):
        rows = [r for r in data["summary"] if r["model"] == name and r["threads"] == 1]
        if rows:
            speeds = ", ".join(f"{r['speedup']:.1f}× at batch {r['batch']}" for r in rows)
            lines.append(f"Compiled {name} vs its float twin on 1 thread: {speeds}; {rows[0]['size_ratio']:.0f}× smaller.")
    return lines


def _hardware_highlights(data: Mapping) -> list[str]:
    front = data.get("pareto", {}).get("front")
    if not front:
        return []
    best = max(front, key=lambda p: p["fps"])
    return [f"Fastest fitting {data['pareto']['model']} FPGA design (estimated): {best['fps']:.0f} frames/s on "
            f"{best['target']} with {best['lut']} LUTs."]


HIGHLIGHTS: dict[str, Callable[[Mapping], list[str]]] = {
    "kernels": _kernel_highlights,
    "models": _model_highlights,
    "hardware": _hardware_highlights,
}


def highlights(suites: Mapping, planned: list[str]) -> list[str]:
    """A few headline numbers (one thread) from the suites that finished; which were skipped, failed or never ran.

    A suite whose data cannot give its highlight contributes none; its own
    section shows why.
    """
    lines = []
    for name, extract in HIGHLIGHTS.items():
        suite = suites.get(name)
        if isinstance(suite, Mapping) and suite.get("status") == "ok":
            try:
                lines += extract(suite["data"])
            except Exception:  # the section says what is wrong with this data
                continue
    def having(*statuses: str | None) -> list[str]:
        return [name for name, suite in suites.items() if isinstance(suite, Mapping) and suite.get("status") in statuses]

    skipped = having(SKIPPED)
    failed = [name for name in suites if name not in having("ok", SKIPPED)]
    if skipped:
        lines.append(f"Skipped: {', '.join(skipped)} (see their sections for why).")
    if failed or planned:
        parts = [f"did not finish: {', '.join(failed)}"] if failed else []
        parts += [f"not run: {', '.join(planned)}"] if planned else []
        text = "; ".join(parts)
        lines.append(f"**{text[0].upper()}{text[1:]}** (see their sections).")
    return lines


# ---------------------------------------------------------------- document


def build(results: Mapping, figures: Figures) -> list[Block]:
    """The whole report: title, highlights, then every suite in run order (and planned suites that never ran)."""
    suites: Mapping = results["suites"]
    options = results.get("options") or {}
    threads = ", ".join(str(t) for t in options.get("thread_counts", []))
    blocks: list[Block] = [
        Heading(1, "bnnbench report"),
        Paragraph(f"Created {results.get('created', '?')} (schema `{results['schema']}`)"
                  + (f"; {'quick' if options.get('quick') else 'full'} run, threads {threads}." if options else ".")),
    ]
    planned = [name for name in options.get("suites", []) if name not in suites]
    lines = highlights(suites, planned)
    if lines:
        blocks.append(Bullets(tuple(lines), highlight=True))
    for name, suite in [*suites.items(), *((name, None) for name in planned)]:
        title, render = SECTIONS.get(name, (name, None))
        blocks.append(Heading(2, title))
        if suite is None:
            blocks.append(Problem("NOT RUN: no results for this suite (the run had not reached it when this report "
                                  "was written, or stopped before it)."))
        elif suite.get("status") == SKIPPED:
            blocks.append(Paragraph(f"**Skipped**: {suite.get('reason', '(no reason given)')}"))
        elif suite.get("status") != "ok":
            blocks.append(Problem(f"{str(suite.get('status')).upper()}: {suite.get('error', '')}",
                                  suite.get("traceback", "")))
        elif render is None:
            blocks.append(Paragraph(f"(bnnbench does not know how to show suite `{name}`; see results.json.)"))
        else:
            try:
                blocks += render(suite["data"], figures)
            except Exception as exc:  # one unreadable section must not cost the rest of the report
                blocks.append(Problem(f"This section could not be rendered from results.json: "
                                      f"{type(exc).__name__}: {exc}"))
    return blocks
