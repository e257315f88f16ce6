"""Shared plumbing of the studies: data splits, staged output, figures, report text.

Torch-free on purpose: the ``binaryconnect`` study runs on NumPy alone and
imports this module. Conventions shared by every study:

* Data: real MNIST through :func:`bnnbench.data.mnist.load_mnist` (checksums
  verified); the validation split is the last 5,000 training images as in the
  rest of bnnbench; the test set is touched once per trained model, at the end.
  A study may train on the first ``train_subset`` training images and select
  on the first ``val_subset`` validation images to fit its time budget; it
  says so in its report.
* Output: every file of a run is written into a hidden staging directory next
  to ``out_dir`` and moved into ``out_dir`` only when the study has finished,
  so a failed or interrupted study leaves no partial output
  (:class:`StagedOutput`).
* Report: ``results.json`` holds every number; ``README.md`` is rendered from
  it by the study's ``markdown(results)`` function (question, setup, the
  published figures compared with, findings, tables, figures, the command).
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bnnbench.data.mnist import VALIDATION_SIZE, load_mnist
from bnnbench.environment import cpu_model, usable_cores
from bnnbench.files import write_json_atomic, write_text_atomic

__all__ = [
    "SCHEMA",
    "Splits",
    "load_splits",
    "StagedOutput",
    "pyplot",
    "save_figure",
    "environment",
    "study_results",
    "md_table",
    "percent",
    "signed",
    "render_markdown",
    "write_outputs",
    "Stopwatch",
]

#: Version of the results.json layout of a study.
SCHEMA = "bnnbench.study/1"


@dataclass(frozen=True)
class Splits:
    """MNIST as NumPy arrays: images ``(N, 28, 28)`` uint8, labels ``(N,)`` int64."""

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train_labels), "validation": len(self.val_labels), "test": len(self.test_labels)}

    def subset(self, train: int | None = None, val: int | None = None, test: int | None = None) -> Splits:
        """The first ``train`` / ``val`` / ``test`` examples of each split (None: all)."""
        for name, count, available in (
            ("train", train, len(self.train_labels)),
            ("validation", val, len(self.val_labels)),
            ("test", test, len(self.test_labels)),
        ):
            if count is not None and not 0 < count <= available:
                raise ValueError(f"{name} subset must be between 1 and {available}, got {count}")
        return Splits(
            self.train_images[:train],
            self.train_labels[:train],
            self.val_images[:val],
            self.val_labels[:val],
            self.test_images[:test],
            self.test_labels[:test],
            self.source,
        )


def load_splits(data_dir: str | os.PathLike[str] | None = None) -> Splits:
    """Real MNIST, checksums verified: 55k train, 5k validation (the last), 10k test."""
    arrays = load_mnist(data_dir)
    cut = len(arrays.train_labels) - VALIDATION_SIZE
    labels = arrays.train_labels.astype(np.int64)
    return Splits(
        arrays.train_images[:cut],
        labels[:cut],
        arrays.train_images[cut:],
        labels[cut:],
        arrays.test_images,
        arrays.test_labels.astype(np.int64),
        str(arrays.source),
    )


class StagedOutput:
    """Files of one study run, staged and moved into ``out_dir`` together on success.

    Use as a context manager: :meth:`path` names a staged file; leaving the
    block normally moves every staged file into ``out_dir`` (each with an
    atomic rename, replacing older files of the same name); an exception
    discards the staging directory and leaves ``out_dir`` untouched.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise NotADirectoryError(f"{self.out_dir} exists and is not a directory")
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.stage = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.", suffix=".partial", dir=self.out_dir.parent))

    def path(self, name: str) -> Path:
        """Where to write staged file ``name`` (a plain file name)."""
        if Path(name).name != name:
            raise ValueError(f"staged files are plain names, got {name!r}")
        return self.stage / name

    def files(self) -> list[str]:
        return sorted(p.name for p in self.stage.iterdir())

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                for name in self.files():
                    os.replace(self.stage / name, self.out_dir / name)
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)


def pyplot() -> Any:
    """matplotlib's pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> str:
    """Save ``fig`` as a PNG at ``path``, close it, and return the file name."""
    try:
        fig.savefig(path, dpi=110, format="png")
    finally:
        pyplot().close(fig)
    return path.name


def environment() -> dict[str, Any]:
    """What the study ran on (torch's version only if the study imported torch)."""
    torch = sys.modules.get("torch")
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "usable_cores": usable_cores(),
    }


class Stopwatch:
    """Wall time since creation."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started


def study_results(
    *,
    study: str,
    title: str,
    question: str,
    setup: Sequence[str],
    published: Sequence[dict[str, str]],
    settings: dict[str, Any],
    splits: Splits,
    command: str,
) -> dict[str, Any]:
    """The fields every study's results.json starts with (findings, figures, data and time follow)."""
    return {
        "schema": SCHEMA,
        "study": study,
        "title": title,
        "question": question,
        "setup": list(setup),
        "published": list(published),
        "settings": settings,
        "data": {"source": splits.source, **splits.sizes()},
        "command": command,
        "findings": [],
        "figures": [],
    }


def percent(value: float) -> str:
    """An accuracy in percent with two decimals."""
    return f"{value:.2f}%"


def signed(value: float, unit: str = " points") -> str:
    """A difference with its sign: ``+0.31 points`` / ``-2.10 points``."""
    return f"{value:+.2f}{unit}"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; cells are written as given (format numbers before)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(results: dict[str, Any], body: Sequence[str]) -> str:
    """A study's report section: question, setup, published figures, findings, ``body``, figures, command."""
    published = md_table(
        ["figure", "published", "source"],
        [[p["what"], p["value"], p["source"]] for p in results["published"]],
    )
    env = results["environment"]
    parts = [
        f"## Study `{results['study']}`: {results['title']}",
        "",
        f"**Question.** {results['question']}",
        "",
        "**Setup.**",
        "",
        *(f"- {line}" for line in results["setup"]),
        "",
        "**Published figures compared with.**",
        "",
        published,
        "",
        "**What we found.**",
        "",
        *(f"- {line}" for line in results["findings"]),
        "",
    ]
    for block in body:
        parts += [block, ""]
    if results["figures"]:
        parts += ["**Figures.**", ""]
        for figure in results["figures"]:
            parts += [f"![{figure['caption']}]({figure['file']})", "", f"*{figure['caption']}*", ""]
    data = results["data"]
    parts += [
        "**Reproduce.**",
        "",
        f"`{results['command']}`",
        "",
        f"Wall time {results['wall_time_s'] / 60:.1f} min on {env['cpu']} "
        f"({'torch ' + env['torch'] + ', ' + str(env['torch_threads']) + ' thread' if env['torch'] else 'NumPy only'}); "
        f"MNIST from `{data['source']}`: {data['train']} training, {data['validation']} validation, "
        f"{data['test']} test images.",
    ]
    if results["settings"].get("smoke"):
        parts += ["", "**Smoke run: a tiny configuration that checks the plumbing; its numbers mean nothing.**"]
    return "\n".join(parts) + "\n"


def write_outputs(output: StagedOutput, results: dict[str, Any], readme: str) -> None:
    """Write ``results.json`` and ``README.md`` into the staging directory."""
    write_json_atomic(output.path("results.json"), results)
    write_text_atomic(output.path("README.md"), readme)
