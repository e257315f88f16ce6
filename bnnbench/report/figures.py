"""The report's figures, drawn from results.json with matplotlib (Agg, no display).

Each figure is a :class:`FigureSpec`: the suite whose data it plots and a
``draw`` function from that suite's data to a matplotlib figure, or ``None``
when the data it needs is absent (a figure is drawn only from data that is
there). :func:`draw_figures` renders every applicable figure to PNG bytes in
memory; a figure that raises is recorded with its error rather than
propagated, so one broken plot never costs the report. Writing the files is
the caller's job (:mod:`bnnbench.report.writer`), atomically.

Figures use matplotlib's object API (``matplotlib.figure.Figure``), not
pyplot, so no global state or backend choice leaks into the caller.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

#: Resolution of the PNGs: sharp on a laptop screen, small enough to embed.
DPI = 110


@dataclass(frozen=True)
class FigureSpec:
    name: str  # file stem under figures/
    suite: str
    title: str
    caption: str
    draw: Callable[[Mapping], Figure | None]


@dataclass(frozen=True)
class FigureOutcome:
    """A drawn figure (``png``) or why it could not be drawn (``error``)."""

    spec: FigureSpec
    png: bytes | None = None
    error: str | None = None

    @property
    def path(self) -> str:
        return f"figures/{self.spec.name}.png"


def _ordered(values: Iterable[object]) -> list:
    """Distinct values in first-seen order (the order the suite measured them)."""
    return list(dict.fromkeys(values))


def _colours(count: int) -> list:
    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(count)]


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _plain_log_ticks(axis: Axis, fmt: str = "{:g}") -> None:
    """Label a log axis's major ticks as plain numbers (1000, not 10³) and leave minor ticks unlabelled."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: fmt.format(value)))
    axis.set_minor_formatter(NullFormatter())


# ------------------------------------------------------------------ kernels


def kernel_speedup(data: Mapping) -> Figure | None:
    """Speedup of the binary layer (end to end and kernel only) over the best torch fp32, per layer shape."""
    rows = data.get("summary") or []
    if not rows:
        return None
    layers = _ordered(r["layer"] for r in rows)
    threads = sorted({int(r["threads"]) for r in rows})
    by_key = {(r["layer"], int(r["threads"])): r for r in rows}
    series = [(t, kind) for t in threads for kind in ("e2e", "kernel")]
    width = 0.8 / len(series)
    colours = _colours(len(threads))
    fig = _figure(10, 4.8)
    ax = fig.add_subplot()
    for i, (t, kind) in enumerate(series):
        xs, ys = [], []
        for x, layer in enumerate(layers):
            row = by_key.get((layer, t))
            if row is not None:
                xs.append(x - 0.4 + (i + 0.5) * width)
                ys.append(row[f"speedup_{kind}_vs_best_torch"])
        colour = colours[threads.index(t)]
        label = f"{'end to end' if kind == 'e2e' else 'kernel only'}, {t} thread{'s' if t > 1 else ''}"
        bars = ax.bar(xs, ys, width, color=colour, alpha=1.0 if kind == "e2e" else 0.55,
                      hatch="" if kind == "e2e" else "//", edgecolor="white", label=label)
        ax.bar_label(bars, labels=[f"{y:.1f}" for y in ys], fontsize=7, padding=1)
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="break-even with torch fp32")
    ax.set_yscale("log")
    ax.set_xticks(range(len(layers)), layers, rotation=15, ha="right")
    ax.set_xlabel("layer shape (batch 1 unless stated)")
    ax.set_ylabel("speedup over best torch fp32 (×, log scale)")
    ax.set_title("Binary layer speedup over torch fp32 (faster of channels_last and NCHW), same threads")
    ax.legend(fontsize=8, ncols=2)
    ax.grid(axis="y", which="both", alpha=0.3)
    return fig


def roofline(data: Mapping) -> Figure | None:
    """Measured binary Gop/s per layer against the register-only popcount roofline, per thread count."""
    roof = data.get("roofline_gops") or {}
    points = [m for m in data.get("measurements") or [] if m["implementation"] in ("binary_kernel", "binary_e2e")]
    if not roof or not points:
        return None
    layers = _ordered(m["layer"] for m in points)
    threads = sorted({int(t) for t in roof} | {int(m["threads"]) for m in points})
    colours = dict(zip(threads, _colours(len(threads))))
    fig = _figure(10, 4.8)
    ax = fig.add_subplot()
    for t in threads:
        if str(t) in roof:
            ax.axhline(roof[str(t)], color=colours[t], linewidth=1.5,
                       label=f"popcount roofline, {t} thread{'s' if t > 1 else ''}: {roof[str(t)]:.0f} Gop/s")
    offsets = {t: (i - (len(threads) - 1) / 2) * 0.15 for i, t in enumerate(threads)}
    markers = {"binary_kernel": ("o", "kernel only"), "binary_e2e": ("s", "end to end")}
    for implementation, (marker, name) in markers.items():
        for t in threads:
            chosen = [m for m in points if m["implementation"] == implementation and int(m["threads"]) == t]
            if chosen:
                ax.scatter([layers.index(m["layer"]) + offsets[t] for m in chosen], [m["binary_gops"] for m in chosen],
                           marker=marker, color=colours[t], edgecolor="black", linewidth=0.5, zorder=3,
                           label=f"measured {name}, {t} thread{'s' if t > 1 else ''}")
    ax.set_yscale("log")
    ax.set_xticks(range(len(layers)), layers, rotation=15, ha="right")
    ax.set_xlim(-0.6, len(layers) - 0.4)
    ax.set_xlabel("layer shape")
    ax.set_ylabel("binary Gop/s (2 ops per MAC, log scale)")
    ax.set_title("Measured binary throughput against this machine's popcount roofline")
    ax.legend(fontsize=8, ncols=2, loc="lower left")
    ax.grid(axis="y", which="both", alpha=0.3)
    return fig


def host_prediction(data: Mapping) -> Figure | None:
    """Host cost model (hw_models) predicted latency against the measured one, kernel and end to end."""
    rows = [r for r in data.get("summary") or [] if "predicted_kernel_ms" in r]
    if not rows:
        return None
    layers = _ordered(r["layer"] for r in rows)
    threads = sorted({int(r["threads"]) for r in rows})
    colours = dict(zip(layers, _colours(len(layers))))
    markers = dict(zip(threads, "o^sDv"))
    fig = _figure(10, 4.8)
    axes = fig.subplots(1, 2)
    for ax, kind, name in ((axes[0], "kernel", "kernel only (packed in)"), (axes[1], "e2e", "end to end (float in)")):
        measured = [r[f"binary_{kind}_ms"] for r in rows]
        predicted = [r[f"predicted_{kind}_ms"] for r in rows]
        for r, m, p in zip(rows, measured, predicted):
            ax.scatter(m, p, color=colours[r["layer"]], marker=markers[int(r["threads"])], edgecolor="black",
                       linewidth=0.5, zorder=3)
        low, high = min(measured + predicted) / 1.5, max(measured + predicted) * 1.5
        ax.plot([low, high], [low, high], color="black", linewidth=1, label="prediction = measurement")
        ax.plot([low, high], [2 * low, 2 * high], color="grey", linewidth=0.8, linestyle="--", label="2× off")
        ax.plot([low, high], [low / 2, high / 2], color="grey", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_xlabel("measured latency (ms, log scale)")
        ax.set_ylabel("predicted latency (ms, log scale)")
        ax.set_title(name)
        ax.grid(which="both", alpha=0.3)
    handles = [Line2D([], [], linestyle="", marker="o", color=colours[layer], label=layer) for layer in layers]
    handles += [Line2D([], [], linestyle="", marker=markers[t], color="grey", label=f"{t} thread{'s' if t > 1 else ''}")
                for t in threads]
    handles += axes[0].get_legend_handles_labels()[0]
    axes[1].legend(handles=handles, fontsize=7, loc="upper left")
    fig.suptitle("Host cost model (hw_models, x86-avx512) predicted vs measured latency")
    return fig


# ------------------------------------------------------------------- models


def model_breakdown(data: Mapping) -> Figure | None:
    """Per-layer time of each compiled model: one stacked bar per model and thread count, a panel per batch."""
    profiles = data.get("profiles") or []
    if not profiles:
        return None
    batches = sorted({int(p["batch"]) for p in profiles})
    kinds = _ordered(layer["kind"] for p in profiles for layer in p["layers"])
    colours = dict(zip(kinds, _colours(len(kinds))))
    rows_per_panel = max(sum(1 for p in profiles if int(p["batch"]) == b) for b in batches)
    fig = _figure(10, 1.2 + len(batches) * (0.9 + 0.45 * rows_per_panel))
    axes = fig.subplots(len(batches), 1, squeeze=False)[:, 0]
    for ax, batch in zip(axes, batches):
        panel = [p for p in profiles if int(p["batch"]) == batch]
        total = max(sum(layer["median_ms"] for layer in p["layers"]) for p in panel) or 1.0
        labels = []
        for y, profile in enumerate(panel):
            left = 0.0
            for layer in profile["layers"]:
                width = layer["median_ms"]
                ax.barh(y, width, left=left, color=colours[layer["kind"]], edgecolor="white", linewidth=0.6)
                if width > 0.07 * total:
                    ax.text(left + width / 2, y, layer["name"], ha="center", va="center", fontsize=7)
                left += width
            threads = int(profile["threads"])
            labels.append(f"{profile['model']}, {threads} thread{'s' if threads > 1 else ''}")
        ax.set_yticks(range(len(panel)), labels)
        ax.invert_yaxis()
        ax.set_ylabel("model, threads")
        ax.set_xlabel(f"time per batch of {batch} (ms)")
        ax.set_title(f"batch {batch}")
        ax.grid(axis="x", alpha=0.3)
    fig.legend(handles=[Patch(color=colours[k], label=k) for k in kinds], loc="outside lower center",
               ncols=min(len(kinds), 4), fontsize=8, title="layer kind")
    fig.suptitle("Per-layer latency of the compiled binary models (median of profiled runs)")
    return fig


# ----------------------------------------------------------------- hardware


def energy_by_target(data: Mapping) -> Figure | None:
    """Estimated energy per inference of every model on every CPU target (FPGA targets have LUTs)."""
    estimates = [e for e in data.get("estimates") or [] if e.get("lut") is None and e.get("energy_j")]
    if not estimates:
        return None
    models = _ordered(e["model"] for e in estimates)
    targets = _ordered(e["target"] for e in estimates)
    energy = {(e["model"], e["target"]): 1e3 * e["energy_j"] for e in estimates}
    width = 0.8 / len(targets)
    fig = _figure(12, 5)
    ax = fig.add_subplot()
    for i, (target, colour) in enumerate(zip(targets, _colours(len(targets)))):
        pairs = [(x, energy[(m, target)]) for x, m in enumerate(models) if (m, target) in energy]
        ax.bar([x - 0.4 + (i + 0.5) * width for x, _ in pairs], [v for _, v in pairs], width, color=colour,
               label=target)
    ax.set_yscale("log")
    ax.set_xticks(range(len(models)), models, rotation=35, ha="right")
    ax.set_xlim(-0.6, len(models) - 0.4)
    ax.set_xlabel("model")
    ax.set_ylabel("energy per inference (mJ, log scale)")
    ax.set_title("Estimated energy per inference on CPU targets (hw_models, batch 1)")
    fig.legend(title="target", fontsize=8, loc="outside right upper")
    ax.grid(axis="y", which="both", alpha=0.3)
    return fig


def fpga_pareto(data: Mapping) -> Figure | None:
    """Every swept FPGA design as frames/s vs LUTs, with the Pareto front of the designs that fit."""
    pareto = data.get("pareto") or {}
    points = pareto.get("points") or []
    if not points:
        return None
    targets = _ordered(p["target"] for p in points)
    precisions = _ordered(p["precision"] for p in points)
    colours = dict(zip(targets, _colours(len(targets))))
    markers = dict(zip(precisions, "os^Dv<>"))
    fig = _figure(9, 5.2)
    ax = fig.add_subplot()
    for p in points:
        colour = colours[p["target"]]
        ax.scatter(p["lut"], p["fps"], marker=markers[p["precision"]], s=36, zorder=3, linewidth=1,
                   facecolor=colour if p["fits"] else "none", edgecolor=colour)
    front = sorted(pareto.get("front") or [], key=lambda p: p["lut"])
    if front:
        ax.step([p["lut"] for p in front], [p["fps"] for p in front], where="post", color="black", linewidth=1.2,
                zorder=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_ticks(ax.xaxis, "{:,.0f}")
    ax.set_xlabel("LUTs (log scale)")
    ax.set_ylabel("frames/s (log scale)")
    ax.set_title(f"FPGA design space of {pareto.get('model', 'the model')}: frame rate vs LUTs")
    handles: list[Artist] = [Patch(color=colours[t], label=t) for t in targets]
    handles += [Line2D([], [], linestyle="", marker=markers[p], color="grey", label=p) for p in precisions]
    handles += [Line2D([], [], linestyle="", marker="o", markerfacecolor="none", color="grey",
                       label="does not fit the device")]
    if front:
        handles.append(Line2D([], [], color="black", label="Pareto front (fitting designs)"))
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    ax.grid(which="both", alpha=0.3)
    return fig


# ----------------------------------------------------------------- accuracy


@dataclass(frozen=True)
class AccuracyPoint:
    label: str
    float_twin: bool
    test_accuracy: float
    model_bytes: float


def accuracy_points(runs: Sequence[Mapping]) -> list[AccuracyPoint]:
    """Runs (metrics.json dictionaries) that have a test accuracy, with their model size.

    The size comes from the model's ``hw_models`` workload: the packed binary
    size for a binary run, the float-32 size for a float twin. Runs still
    training (no ``test_accuracy``) and models the zoo does not know are left out.
    """
    import hw_models as hw

    known = set(hw.zoo.names())
    points = []
    for run in runs:
        if run.get("test_accuracy") is None or run.get("model") not in known:
            continue
        summary = hw.summarize(hw.zoo.get(run["model"])).totals
        twin = bool(run.get("float_twin"))
        label = run.get("run") or f"{run['model']}{' float' if twin else ''}"
        points.append(AccuracyPoint(label, twin, float(run["test_accuracy"]),
                                    summary.float32_bytes if twin else summary.model_bytes))
    return points


def accuracy_vs_size(data: Mapping) -> Figure | None:
    """Test accuracy against model size, binary runs and float twins."""
    points = accuracy_points(data.get("runs") or [])
    if not points:
        return None
    fig = _figure(8, 5)
    ax = fig.add_subplot()
    for twin, marker, name in ((False, "o", "binary"), (True, "s", "float twin")):
        chosen = [p for p in points if p.float_twin == twin]
        if chosen:
            ax.scatter([p.model_bytes / 1024 for p in chosen], [p.test_accuracy for p in chosen], marker=marker, s=50,
                       zorder=3, label=name)
    for p in points:
        ax.annotate(p.label, (p.model_bytes / 1024, p.test_accuracy), textcoords="offset points", xytext=(6, 4),
                    fontsize=8)
    ax.set_xscale("log")
    _plain_log_ticks(ax.xaxis)
    ax.margins(x=0.15, y=0.15)
    ax.set_xlabel("model size (KiB, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy vs model size")
    ax.legend()
    ax.grid(which="both", alpha=0.3)
    return fig


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("kernel_speedup", "kernels", "Speedup per layer shape",
               "Binary layer time against the faster torch fp32 layout at the same thread count; "
               "above the dashed line binary is faster.", kernel_speedup),
    FigureSpec("roofline", "kernels", "Roofline with measured points",
               "Binary ops per second of each layer against the register-only xor+popcount+add ceiling "
               "measured on this machine.", roofline),
    FigureSpec("host_prediction", "kernels", "Predicted vs measured latency on the host",
               "The hw_models x86-avx512 target's prediction for each measured layer; points on the solid "
               "line are exact, between the dashed lines within 2×.", host_prediction),
    FigureSpec("model_breakdown", "models", "Per-layer latency breakdown",
               "Where the compiled models spend their time, layer by layer, coloured by layer kind.",
               model_breakdown),
    FigureSpec("energy", "hardware", "Energy per inference by target",
               "Estimated by hw_models (not measured): operations and memory traffic priced per target.",
               energy_by_target),
    FigureSpec("fpga_pareto", "hardware", "FPGA frame rate vs LUTs",
               "Swept foldings (FINN-style dataflow estimates); hollow markers do not fit their device; the "
               "line is the Pareto front of fitting designs (more frames/s, fewer LUTs).", fpga_pareto),
    FigureSpec("accuracy_vs_size", "accuracy", "Accuracy vs model size",
               "Test accuracy of the trained reference runs against their size (binary: packed weights; "
               "float twin: float-32 weights), sizes from the hw_models workloads.", accuracy_vs_size),
)


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def draw_figures(results: Mapping) -> dict[str, FigureOutcome]:
    """Every figure of :data:`FIGURES` whose suite finished and whose data is present, by name.

    A figure that raises is kept with its error, never propagated.
    """
    suites = results.get("suites") or {}
    outcomes: dict[str, FigureOutcome] = {}
    for spec in FIGURES:
        suite = suites.get(spec.suite)
        if not isinstance(suite, Mapping) or suite.get("status") != "ok" or not isinstance(suite.get("data"), Mapping):
            continue
        try:
            fig = spec.draw(suite["data"])
            if fig is None:
                continue
            png = png_bytes(fig)
        except Exception as exc:  # a broken figure is reported in place, never loses the report
            outcomes[spec.name] = FigureOutcome(spec, error=f"{type(exc).__name__}: {exc}")
        else:
            outcomes[spec.name] = FigureOutcome(spec, png=png)
    return outcomes
