"""Render results.json as report.md: environment, one section per suite, failures shown."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


#: Above this share of the machine used by other processes, timings are flagged.
BUSY_MACHINE_FRACTION = 0.05


def contention_note(fraction: float | None) -> str:
    if fraction is None:
        return "Other processes' CPU use was not measured (no /proc/stat)."
    if fraction > BUSY_MACHINE_FRACTION:
        return (f"**Warning: other processes used {100 * fraction:.0f}% of the machine's CPU time during this "
                f"suite; timings (especially multi-thread ones) are unreliable.**")
    return f"Other processes used {100 * fraction:.1f}% of the machine's CPU time during this suite."


def _environment(data: dict) -> str:
    threads = data["threads"]
    features = ", ".join(name for name, on in data["cpu_features"].items() if on)
    return table(
        ["", ""],
        [
            ["CPU", data["cpu_model"]],
            ["features", features],
            ["ISA path", data["isa"]],
            ["kernels built with", f"{data['kernels_build']['compiler']}, `{data['kernels_build']['flags']}`"],
            ["torch / numpy", f"{data['torch']} / {data['numpy']}"],
            ["usable cores", threads["cores_usable"]],
        ],
    )


def _kernels(data: dict) -> str:
    rows = [
        [
            r["layer"], r["threads"], r["binary_e2e_ms"], r["binary_kernel_ms"], r["torch_channels_last_ms"],
            r["torch_default_ms"], f"{r['speedup_e2e_vs_best_torch']:.1f}x", f"{r['speedup_kernel_vs_best_torch']:.1f}x",
            r["binary_kernel_gops"], f"{100 * r['roofline_fraction']:.0f}%",
        ]
        for r in data["summary"]
    ]
    roofline = ", ".join(f"{t} thread(s): {v:.0f} Gop/s" for t, v in data["roofline_gops"].items())
    predicted = [r for r in data["summary"] if "predicted_kernel_ms" in r]
    prediction_table = table(
        ["layer", "threads", "measured kernel", "predicted kernel", "error", "measured e2e", "predicted e2e", "error"],
        [[r["layer"], r["threads"], r["binary_kernel_ms"], r["predicted_kernel_ms"],
          f"{100 * r['prediction_error_kernel']:+.0f}%", r["binary_e2e_ms"], r["predicted_e2e_ms"],
          f"{100 * r['prediction_error_e2e']:+.0f}%"] for r in predicted],
    )
    return "\n\n".join([
        contention_note(data.get("other_processes_cpu_fraction")),
        f"ISA path `{data['isa']}`. Popcount roofline (register-only xor+popcount+add, binary ops): {roofline}.",
        "Times are medians in ms. *e2e*: float32 NHWC in, pack, binary layer, float32 out with BatchNorm folded. "
        "*kernel*: packed in, int32 out. Speedups against the faster of torch fp32 channels_last and default "
        "layout (oneDNN), at the same thread count.",
        table(
            ["layer", "threads", "binary e2e", "binary kernel", "torch channels_last", "torch default",
             "speedup e2e", "speedup kernel", "kernel Gop/s", "of roofline"],
            rows,
        ),
        "Host cost model (`hw_models`, target `x86-avx512`) against the measurements above, in ms:",
        prediction_table if predicted else "(no predictions: not the daBNN layer set)",
    ])


def _models(data: dict) -> str:
    rows = [
        [r["model"], r["batch"], r["threads"], r["binary_ms"], r["float_twin_default_ms"],
         r["float_twin_channels_last_ms"], f"{r['speedup']:.1f}x", f"{r['size_ratio']:.0f}x"]
        for r in data["summary"]
    ]
    sizes = ", ".join(f"{name}: {v['packed_bytes'] / 1024:.0f} KiB packed vs {v['float_bytes'] / 1024:.0f} KiB float"
                      for name, v in data["sizes"].items())
    profiles = []
    for p in data["profiles"]:
        if p["batch"] == max(q["batch"] for q in data["profiles"]) and p["threads"] == 1:
            layers = ", ".join(f"{layer['name']} {layer['median_ms']:.3f}" for layer in p["layers"])
            profiles.append(f"- {p['model']} (batch {p['batch']}, 1 thread, ms): {layers}")
    return "\n\n".join([
        contention_note(data.get("other_processes_cpu_fraction")),
        "Compiled binary model (one C call per batch, random weights) against its float twin in torch "
        "(eval, inference_mode), times in ms; the speedup is against the faster torch layout.",
        table(["model", "batch", "threads", "binary", "float twin (NCHW)", "float twin (channels_last)", "speedup",
               "smaller"], rows),
        f"Model sizes: {sizes}.",
        "Per-op time of the compiled models:\n\n" + "\n".join(profiles),
    ])


def _hardware(data: dict) -> str:
    cpu = [e for e in data["estimates"] if e.get("lut") is None]
    fpga = [e for e in data["estimates"] if e.get("lut") is not None]
    validation = [[v["quantity"], v["model"], v["target"], v["configuration"], v["published"], v["estimate"],
                   "" if v["error"] is None else f"{100 * v['error']:+.1f}%"] for v in data["validation"]]
    return "\n\n".join([
        "Estimates of `hw_models` (no measurement): latency in ms, energy in mJ per inference, model size in KiB.",
        "### CPU targets",
        table(["model", "target", "latency ms", "energy mJ", "model KiB"],
              [[e["model"], e["target"], 1e3 * e["latency_s"], 1e3 * e["energy_j"], e["model_bytes"] / 1024]
               for e in cpu]),
        "### FPGA targets (fastest folding that fits)",
        table(["model", "target", "frames/s", "latency ms", "LUT", "BRAM18", "DSP", "fits"],
              [[e["model"], e["target"], e["fps"], 1e3 * e["latency_s"], e["lut"], e["bram18"], e["dsp"],
                "yes" if e["fits"] else "no"] for e in fpga]),
        "### Validation against published figures",
        table(["quantity", "model", "target", "configuration", "published", "estimate", "error"], validation),
    ])


SECTIONS = {
    "environment": ("Environment", _environment),
    "kernels": ("Kernels: daBNN layer set", _kernels),
    "models": ("Models: compiled binary vs float twin", _models),
    "hardware": ("Hardware cost model", _hardware),
}


def render(results: dict) -> str:
    parts = [f"# bnnbench report\n\nCreated {results['created']} (schema `{results['schema']}`)."]
    for name, suite in results["suites"].items():
        title, render_section = SECTIONS.get(name, (name, None))
        parts.append(f"## {title}")
        if suite["status"] != "ok":
            parts.append(f"**{suite['status'].upper()}**: {suite.get('error', '')}")
        elif render_section is not None:
            parts.append(render_section(suite["data"]))
    return "\n\n".join(parts) + "\n"
