"""The studies behind bnnbench (issue 7): reproduce and extend the experiments that motivate BNNs.

Each study is one module with a ``Settings`` dataclass (defaults: the full
study, within 20 minutes on a 2-core machine; ``Settings.smoke_run()``: a tiny
run that checks the plumbing), a ``run_<name>(splits, out_dir, settings, *,
command)`` function that writes ``results.json``, ``README.md`` and PNG
figures to ``out_dir`` and returns the results as a JSON-ready dict, and a
``markdown(results)`` function that renders the study's report section from
those results.

:func:`run_study` is the entry point for the CLI and the runner: it loads
MNIST (checksums verified), picks the settings and calls the study.
:func:`markdown` renders any study's results. Study modules are imported
lazily, so ``binaryconnect`` never imports torch.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "StudySpec",
    "STUDIES",
    "names",
    "describe",
    "DEFAULT_ROOT",
    "default_out_dir",
    "study_command",
    "run_study",
    "markdown",
    "index_markdown",
]


@dataclass(frozen=True)
class StudySpec:
    """A study: its module and run function, and what it is about."""

    name: str
    module: str
    function: str
    summary: str

    def load(self) -> Any:
        return importlib.import_module(self.module)


STUDIES: dict[str, StudySpec] = {
    spec.name: spec
    for spec in (
        StudySpec(
            "binaryconnect",
            "bnnbench.studies.binaryconnect",
            "run_binaryconnect",
            "BinaryConnect logistic regression in NumPy: float vs binarized training, bias, stochastic, sign flips",
        ),
        StudySpec(
            "bitorch-lenet",
            "bnnbench.studies.bitorch_lenet",
            "run_bitorch_lenet",
            "float vs binary LeNet (bitorch): training curves and the second convolution's kernels over epochs",
        ),
        StudySpec(
            "binary-bottleneck",
            "bnnbench.studies.binary_bottleneck",
            "run_binary_bottleneck",
            "convolutional autoencoder with a binary_tanh bottleneck: bits per pixel, compression, PSNR",
        ),
        StudySpec(
            "larq-guide",
            "bnnbench.studies.larq_guide",
            "run_larq_guide",
            "ablations of larq's BNN practices on mnist-bnn and FINN cnv, with hw_models costs",
        ),
        StudySpec(
            "pbnet-ablation",
            "bnnbench.studies.pbnet_ablation",
            "run_pbnet_ablation",
            "PBNet without batch norm, with mean pooling, and accuracy against ensemble size",
        ),
    )
}


def names() -> list[str]:
    """Study names in the order they are listed."""
    return list(STUDIES)


def describe(name: str) -> StudySpec:
    """The :class:`StudySpec` of ``name`` (``ValueError`` listing the studies if unknown)."""
    try:
        return STUDIES[name]
    except KeyError:
        raise ValueError(f"unknown study {name!r}; studies: {', '.join(names())}") from None


#: Where studies write by default, one directory per study.
DEFAULT_ROOT = Path("reports") / "studies"


def default_out_dir(name: str) -> Path:
    """``reports/studies/<name>``."""
    return DEFAULT_ROOT / name


def index_markdown(root: str | os.PathLike[str]) -> str:
    """An index of the studies under ``root`` (``root/<name>/results.json``): title, time, command, first finding."""
    rows = []
    for name in names():
        path = Path(root) / name / "results.json"
        if not path.is_file():
            rows.append(f"| {name} | {describe(name).summary} | not run | | |")
            continue
        results = json.loads(path.read_text(encoding="utf-8"))
        finding = (results["findings"][0] if results["findings"] else "").replace("|", "\\|")
        rows.append(
            f"| [{name}]({name}/README.md) | {results['title']} | {results['wall_time_s'] / 60:.1f} min | "
            f"`{results['command']}` | {finding} |"
        )
    return "\n".join([
        "# Studies",
        "",
        "Each study's directory holds its README.md (question, setup, published figures, findings, tables, "
        "figures), results.json and PNG figures. Wall times are on the machine named in each README.",
        "",
        "| study | title | wall time | command | first finding |",
        "|---|---|---|---|---|",
        *rows,
    ]) + "\n"


def study_command(name: str, out_dir: str | os.PathLike[str], data_dir: str | None, smoke: bool) -> str:
    """The ``bnnbench study`` command line that reproduces a run."""
    words = ["bnnbench", "study", name]
    if data_dir is not None:
        words += ["--data-dir", str(data_dir)]
    if smoke:
        words.append("--smoke")
    words += ["--out", str(out_dir)]
    return shlex.join(words)


def run_study(
    name: str,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | None = None,
    smoke: bool = False,
) -> dict[str, Any]:
    """Run study ``name`` on real MNIST and return its results (also written to ``out_dir``).

    Raises ``ValueError`` for an unknown study, and the MNIST loader's errors
    (``MnistNotFoundError``, ``ChecksumError``, ``IdxFormatError``) when the
    data cannot be read.
    """
    from bnnbench.studies.common import load_splits

    spec = describe(name)
    out = Path(out_dir) if out_dir is not None else default_out_dir(name)
    module = spec.load()
    settings = module.Settings.smoke_run() if smoke else module.Settings()
    splits = load_splits(data_dir)
    run = getattr(module, spec.function)
    return run(splits, out, settings, command=study_command(name, out, data_dir, smoke))


def markdown(results: dict[str, Any]) -> str:
    """The report section of a study's ``results`` (as returned by :func:`run_study`)."""
    return describe(results["study"]).load().markdown(results)
