"""``bnnbench run``: run suites, keep every result, write the report.

Each suite is a function of the run's options returning a JSON-ready dict.
Results are written atomically after every suite, so an interrupted or
failing run still leaves a valid ``results.json`` and report of what
finished; a failing suite is recorded with its error and shown in the report.
"""

from __future__ import annotations

import datetime as dt
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bnnbench.files import write_json_atomic


class SuiteSkipped(Exception):
    """A suite that cannot run on this machine (e.g. no data); the message says why."""

SCHEMA = "bnnbench.results/1"


@dataclass(frozen=True)
class RunOptions:
    quick: bool
    thread_counts: tuple[int, ...]
    out_dir: Path
    data_dir: str | None = None
    checkpoints: Path | None = None


def _environment_suite(options: RunOptions) -> dict[str, object]:
    from bnnbench import environment

    return environment.describe()


def _kernels_suite(options: RunOptions) -> dict[str, object]:
    from bnnbench.bench.kernel_suite import run_kernel_suite

    return run_kernel_suite(options.thread_counts, quick=options.quick)


def _models_suite(options: RunOptions) -> dict[str, object]:
    from bnnbench.bench.model_suite import run_model_suite

    return run_model_suite(options.thread_counts, quick=options.quick)


def _hardware_suite(options: RunOptions) -> dict[str, object]:
    from bnnbench.bench.hardware_suite import run_hardware_suite

    return run_hardware_suite(quick=options.quick)


def _accuracy_suite(options: RunOptions) -> dict[str, object]:
    from bnnbench.bench.accuracy_suite import run_accuracy_suite

    return run_accuracy_suite(options.quick, options.data_dir, options.checkpoints, options.out_dir / "training")


def _studies_suite(options: RunOptions) -> dict[str, object]:
    from bnnbench.bench.studies_suite import run_studies_suite

    return run_studies_suite(options.quick, options.data_dir, options.out_dir / "studies")


#: Suites in the order they run; ``environment`` always runs first.
SUITES: dict[str, Callable[[RunOptions], dict[str, object]]] = {
    "environment": _environment_suite,
    "kernels": _kernels_suite,
    "models": _models_suite,
    "hardware": _hardware_suite,
    "accuracy": _accuracy_suite,
    "studies": _studies_suite,
}

#: What ``bnnbench run`` runs without ``--suite``: every suite but the full studies,
#: which take up to 20 minutes each (``--suite studies`` runs them; ``--quick`` their smoke versions).
DEFAULT_SUITES = ("kernels", "models", "hardware", "accuracy")


def default_out_dir(root: Path = Path("reports")) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / f"{stamp}-{socket.gethostname()}"


def run_suites(names: list[str], options: RunOptions, on_update: Callable[[dict], None]) -> dict[str, object]:
    """Run ``names`` in order; after each, write results.json and call ``on_update(results)``."""
    results: dict[str, object] = {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "options": {"quick": options.quick, "thread_counts": list(options.thread_counts), "suites": names},
        "suites": {},
    }
    suites: dict[str, dict[str, object]] = results["suites"]  # type: ignore[assignment]
    path = options.out_dir / "results.json"
    for name in names:
        started = dt.datetime.now(dt.timezone.utc)
        try:
            data = SUITES[name](options)
            suites[name] = {"status": "ok", "data": data}
        except SuiteSkipped as exc:
            suites[name] = {"status": "skipped", "reason": str(exc)}
        except KeyboardInterrupt:
            suites[name] = {"status": "interrupted", "error": "interrupted by the user (Ctrl-C)"}
            _finish(results, suites[name], started, path, on_update)
            raise
        except Exception as exc:  # a failing suite is reported, and the run goes on
            suites[name] = {
                "status": "failed",
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        _finish(results, suites[name], started, path, on_update)
    return results


def _finish(results: dict, suite: dict, started: dt.datetime, path: Path, on_update: Callable[[dict], None]) -> None:
    suite["seconds"] = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    write_json_atomic(path, results)
    on_update(results)


def benchmark_file(results: dict[str, object]) -> dict[str, object]:
    """All timing records in one pytest-benchmark file (``pytest-benchmark compare`` reads it)."""
    suites = results.get("suites", {})
    assert isinstance(suites, dict)
    environment = suites.get("environment", {}).get("data", {})
    records = []
    for suite in suites.values():
        data = suite.get("data") if isinstance(suite, dict) else None
        if isinstance(data, dict):
            records.extend(data.get("benchmarks", []))
    return {
        "machine_info": {
            "node": environment.get("host", ""),
            "processor": environment.get("machine", ""),
            "machine": environment.get("machine", ""),
            "python_implementation": "CPython",
            "python_version": environment.get("python", ""),
            "cpu": {"brand_raw": environment.get("cpu_model", "")},
        },
        "commit_info": {},
        "benchmarks": records,
        "datetime": results.get("created", ""),
        "version": "5.1.0",
    }
