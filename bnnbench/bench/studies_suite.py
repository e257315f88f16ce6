"""Studies suite: run every study of :mod:`bnnbench.studies` into the report's
``studies/`` folder -- the smoke settings with ``--quick`` (plumbing in
seconds), the full settings otherwise (up to 20 minutes each).  The report
shows each study's status and figures and links its own README."""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from bnnbench import studies
from bnnbench.data.mnist import find_mnist_dir
from bnnbench.progress import Progress
from bnnbench.runner import SuiteSkipped


def run_studies_suite(quick: bool, data_dir: str | None, out_dir: Path) -> dict[str, object]:
    if find_mnist_dir(data_dir) is None:
        raise SuiteSkipped("no MNIST data found: pass --data-dir or set $BNNBENCH_DATA (the run does not download)")
    names = studies.names()
    progress = Progress(len(names), "studies")
    entries: list[dict[str, object]] = []
    for name in names:
        started = time.perf_counter()
        target = out_dir / name
        entry: dict[str, object] = {"name": name, "summary": studies.describe(name).summary,
                                    "settings": "smoke" if quick else "full", "out_dir": f"studies/{name}"}
        try:
            studies.run_study(name, target, data_dir=data_dir, smoke=quick)
            entry["status"] = "ok"
        except Exception as exc:  # one failing study is reported; the others still run
            entry.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        entry["seconds"] = time.perf_counter() - started
        entry["figures"] = sorted(f"studies/{name}/{p.name}" for p in target.glob("*.png")) if target.is_dir() else []
        entries.append(entry)
        progress.step(name)
    return {"studies": entries}
