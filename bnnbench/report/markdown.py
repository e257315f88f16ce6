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
    ])


SECTIONS = {"environment": ("Environment", _environment), "kernels": ("Kernels: daBNN layer set", _kernels)}


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
