"""The reference trainings of ``reports/reference/accuracy``: recipes, driver, table.

Each :class:`Recipe` is one row of the accuracy table: the ``bnnbench train``
arguments of one run (and, for PBNet, the ``bnnbench evaluate`` reading that
gives the row's figure), the published figure it is compared with and the
target from issue 3. Recipes were chosen with the validation split only.

``python -m bnnbench.training.reference run --out DIR`` trains every recipe
whose ``DIR/runs/RUN/metrics.json`` is not finished yet, one after the other,
then evaluates the PBNet readings; ``... table --out DIR`` writes
``DIR/table.md`` and ``DIR/curves.png`` from the files the runs wrote. Figures
in the table are read from those files, never typed in.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Recipe", "RECIPES", "train_command", "evaluate_command", "accuracy_rows", "main"]

DATA_DIR = "../shared/data/mnist"
#: Issue 3's limit on the training time of each model on the 2-core machine.
TIME_BUDGET_S = 30 * 60


@dataclass(frozen=True)
class Recipe:
    """One reference run and the table row it produces."""

    row: str  # label in the table
    run: str  # output subdirectory
    train_args: tuple[str, ...]
    published: str
    target: float
    reading: str = "model"  # "model", or a PBNet reading: "map", "ternary", "ensemble"
    evaluate_args: tuple[str, ...] = ()
    threads: int = 1  # torch threads; a run with 2 uses both cores and runs alone


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "float twin of mnist-bnn (FPNet)",
        "mnist-bnn-float-shift2",
        (
            "mnist-bnn", "--float-twin", "--epochs", "20", "--lr", "1e-3", "--lr-final", "1e-5",
            "--augment-shift", "2",
        ),
        "99.48 (PBNet paper, FPNet)",
        99.3,
    ),
    Recipe(
        "mnist-bnn",
        "mnist-bnn-shift1",
        (
            "mnist-bnn", "--epochs", "26", "--lr", "3e-3", "--lr-final", "3e-5", "--augment-shift", "1",
            "--bn-reestimate", "10000",
        ),
        "99.17 (PBNet paper's BNN); 98.6 (reproduction, best test epoch)",
        99.0,
    ),
    Recipe(
        "pbnet-map, binarized (PBNet)",
        "pbnet-map-2t-30ep-shift1-bce",
        (
            "pbnet", "--option", "loss=bce", "--option", "float_last_layer=false", "--epochs", "30",
            "--lr", "1e-2", "--lr-final", "1e-4", "--augment-shift", "1", "--select-by", "map",
        ),
        "98.64-99.13 (paper); 98.3 (reproduction)",
        99.0,
        reading="map",
        evaluate_args=("--export-map", "{runs}/pbnet-map-2t-30ep-shift1-bce/map.pt"),
        threads=2,
    ),
    Recipe(
        "pbnet-s-16 ensemble",
        "pbnet-s-2t-60ep-signs-bf16-shift1",
        (
            "pbnet-s", "--epochs", "60", "--lr", "1e-2", "--lr-final", "1e-4", "--augment-shift", "1",
            "--select-by", "loss", "--option", "bfloat16_products=true",
            "--init-from", "{runs}/mnist-bnn-float-shift2/checkpoint.pt",
        ),
        "99.30 (paper)",
        99.25,
        reading="ensemble",
        evaluate_args=("--samples", "16"),
        threads=2,
    ),
    Recipe(
        "lenet-bitorch float",
        "lenet-bitorch-float",
        ("lenet-bitorch", "--float-twin", "--epochs", "12", "--lr", "1e-3", "--lr-final", "1e-5"),
        "98.87 (bitorch)",
        98.87,
    ),
    Recipe(
        "lenet-bitorch binary",
        "lenet-bitorch",
        ("lenet-bitorch", "--epochs", "16", "--lr", "1e-3", "--lr-final", "1e-5", "--bn-reestimate", "10000"),
        "98.39 (bitorch)",
        98.5,
    ),
    Recipe(
        "binaryconnect-logreg float",
        "logreg-float",
        ("binaryconnect-logreg", "--float-twin", "--epochs", "20", "--lr", "1e-2", "--lr-final", "1e-4"),
        "87.2 (tutorial, plain SGD)",
        92.0,
    ),
    Recipe(
        "binaryconnect-logreg binary weights (deterministic)",
        "logreg-binary",
        ("binaryconnect-logreg", "--epochs", "20", "--lr", "1e-3", "--lr-final", "1e-5"),
        "85.2 (tutorial, plain SGD)",
        88.0,
    ),
    Recipe(
        "binaryconnect-logreg binary weights (stochastic)",
        "logreg-binary-stochastic-lr3e-1",
        (
            "binaryconnect-logreg", "--option", "stochastic=true", "--epochs", "20", "--lr", "3e-1",
            "--lr-final", "3e-3",
        ),
        "85.2 (tutorial, deterministic, plain SGD)",
        88.0,
    ),
)


def train_command(recipe: Recipe, runs: str) -> list[str]:
    """The ``bnnbench train`` command line of ``recipe`` writing to ``runs/RUN``."""
    args = [a.replace("{runs}", runs) for a in recipe.train_args]
    return [
        "bnnbench", "train", *args, "--seed", "0", "--threads", str(recipe.threads),
        "--data-dir", DATA_DIR, "--out", f"{runs}/{recipe.run}",
    ]


def evaluate_command(recipe: Recipe, runs: str) -> list[str] | None:
    """The ``bnnbench evaluate`` command of a PBNet recipe (None for the others)."""
    if recipe.reading == "model":
        return None
    args = [a.replace("{runs}", runs) for a in recipe.evaluate_args]
    return [
        "bnnbench", "evaluate", f"{runs}/{recipe.run}/checkpoint.pt", *args,
        "--seed", "0", "--threads", str(recipe.threads), "--data-dir", DATA_DIR,
    ]


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _accuracy(reading: float | dict[str, Any]) -> float:
    """The accuracy of one reading of an ``evaluation-*.json`` (ensembles are dicts)."""
    return float(reading["accuracy"]) if isinstance(reading, dict) else float(reading)


def _readings(evaluation: dict[str, Any] | None) -> str:
    """``"model 98.93; map 98.71; ..."`` from an ``evaluation-*.json`` (empty if None)."""
    if evaluation is None:
        return ""
    return "; ".join(f"{name} {_accuracy(value):.2f}" for name, value in evaluation["accuracy"].items())


def _run_readings(test: dict[str, Any] | None, run_dir: Path) -> str:
    """A run's PBNet readings on test (its loaded ``evaluation-test.json``), then on
    validation where they were evaluated (used to pick runs)."""
    validation = _readings(_load(run_dir / "evaluation-validation.json"))
    return _readings(test) + (f"; on validation: {validation}" if validation else "")


def accuracy_rows(runs: Path) -> list[dict[str, Any]]:
    """One dictionary per recipe: measured figure (or None if not run yet) and wall time."""
    rows = []
    for recipe in RECIPES:
        loaded = _load(runs / recipe.run / "metrics.json")
        finished = loaded is not None and bool(loaded.get("finished"))
        metrics: dict[str, Any] = loaded if loaded is not None and finished else {}
        measured: float | None = None
        extra = ""
        if finished and recipe.reading == "model":
            measured = metrics["test_accuracy"]
        elif finished:
            evaluation = _load(runs / recipe.run / "evaluation-test.json")
            if evaluation is not None:
                measured = _accuracy(evaluation["accuracy"][recipe.reading])
                extra = _run_readings(evaluation, runs / recipe.run)
        rows.append(
            {
                "recipe": recipe,
                "measured": measured,
                "wall_time_s": metrics.get("wall_time_s") if finished else None,
                "cpu_time_s": metrics.get("cpu_time_s") if finished else None,
                "best_epoch": metrics.get("best_epoch") if finished else None,
                "epochs": len(metrics["epochs"]) if finished else None,
                "readings": extra,
            }
        )
    return rows


def table_markdown(runs: Path) -> str:
    """The accuracy table (markdown) of the runs under ``runs``, then the commands."""
    lines = [
        "| model | published | target | measured (test) | met | train wall time (CPU time) | best epoch (validation) |",
        "|---|---|---|---|---|---|---|",
    ]
    commands = ["", "Commands (run from the repository root; seed 0; `--threads` as given):", ""]
    rows = accuracy_rows(runs)
    for row in rows:
        recipe: Recipe = row["recipe"]
        measured = row["measured"]
        shown = "not run" if measured is None else f"{measured:.2f}"
        met = "" if measured is None else ("yes" if measured >= recipe.target else "**no**")
        wall = "" if row["wall_time_s"] is None else f"{row['wall_time_s'] / 60:.1f} min"
        if row["cpu_time_s"] is not None:
            wall += f" ({row['cpu_time_s'] / 60:.1f} min)"
        best = "" if row["best_epoch"] is None else f"{row['best_epoch']}/{row['epochs']}"
        lines.append(f"| {recipe.row} | {recipe.published} | ≥ {recipe.target:g} | {shown} | {met} | {wall} | {best} |")
        command = shlex.join(train_command(recipe, "reports/reference/accuracy/runs"))
        evaluate = evaluate_command(recipe, "reports/reference/accuracy/runs")
        if evaluate is not None:
            command += " && " + shlex.join(evaluate)
        commands.append(f"- {recipe.row}: `{command}`")
    lines += commands
    readings = [r for r in rows if r["readings"]]
    if readings:
        lines += ["", "All PBNet readings (test accuracy, %; validation where evaluated):", ""]
        lines += [f"- {r['recipe'].run}: {r['readings']}" for r in readings]
    others = _other_runs(runs)
    if others:
        lines += ["", "Other runs (alternatives not selected; the choice used validation accuracy only):", ""]
        lines += others
    return "\n".join(lines) + "\n"


def _other_runs(runs: Path) -> list[str]:
    """One line per finished run directory that no recipe names."""
    known = {recipe.run for recipe in RECIPES}
    lines = []
    for metrics_path in sorted(runs.glob("*/metrics.json")):
        if metrics_path.parent.name in known:
            continue
        metrics = json.loads(metrics_path.read_text())
        if not metrics.get("finished"):
            continue
        selected_by = metrics.get("config", {}).get("select_by")
        how = {"map": " (its map network)", "loss": " (epoch of lowest validation loss)"}.get(selected_by, "")
        pbnet = metrics.get("model") in ("pbnet", "pbnet-s")
        readings = _run_readings(_load(metrics_path.parent / "evaluation-test.json"), metrics_path.parent)
        lines.append(
            f"- {metrics_path.parent.name}: best validation {metrics['best_val_accuracy']:.2f}"
            f"{how}, "
            f"test {metrics['test_accuracy']:.2f}{' (the PBNet itself)' if pbnet else ''}"
            f"{f' (readings: {readings})' if readings else ''}, "
            f"{_wall_time(metrics.get('wall_time_s'))}"
            f"`{metrics.get('command', '')}`"
        )
    return lines


def _wall_time(seconds: float | None) -> str:
    """``"12.3 min, "``, flagged when over :data:`TIME_BUDGET_S` (empty if unknown)."""
    if seconds is None:
        return ""
    if seconds <= TIME_BUDGET_S:
        return f"{seconds / 60:.1f} min, "
    return f"{seconds / 60:.1f} min (over the {TIME_BUDGET_S // 60}-minute budget: a diagnostic, not a candidate), "


def _run(out: Path) -> int:
    import subprocess

    runs = out / "runs"
    for recipe in RECIPES:
        metrics = _load(runs / recipe.run / "metrics.json")
        if not (metrics and metrics.get("finished")):
            command = train_command(recipe, str(runs))
            print("+", shlex.join(command), flush=True)
            subprocess.run([sys.executable, "-m", "bnnbench.cli", *command[1:], "--no-progress"], check=True)
        evaluate = evaluate_command(recipe, str(runs))
        if evaluate is not None and not (runs / recipe.run / "evaluation-test.json").is_file():
            print("+", shlex.join(evaluate), flush=True)
            subprocess.run([sys.executable, "-m", "bnnbench.cli", *evaluate[1:]], check=True)
    return 0


def _table(out: Path) -> int:
    from bnnbench.files import write_text_atomic
    from bnnbench.training.plots import plot_training_curves

    runs = out / "runs"
    table = table_markdown(runs)
    write_text_atomic(out / "table.md", table)
    finished = {}
    for recipe in RECIPES:
        metrics = _load(runs / recipe.run / "metrics.json")
        if metrics and metrics.get("finished"):
            finished[recipe.run] = metrics
    if finished:
        plot_training_curves(finished, out / "curves.png")
    print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bnnbench.training.reference", description=__doc__)
    parser.add_argument("action", choices=("run", "table"))
    parser.add_argument("--out", default="reports/reference/accuracy")
    args = parser.parse_args(argv)
    out = Path(args.out)
    return _run(out) if args.action == "run" else _table(out)


if __name__ == "__main__":
    sys.exit(main())
