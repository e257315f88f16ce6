"""Read results.json (and trained runs' metrics.json) for ``bnnbench report`` and ``compare``.

Anything that is not a readable results file -- missing, not UTF-8, not JSON,
truncated, another schema -- raises :class:`ResultsError` with one line that
names the file and the problem, for the CLI to print as is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from bnnbench.runner import SCHEMA


class ResultsError(ValueError):
    """A results (or metrics) file that cannot be used, said in one line."""


def read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ResultsError(f"{path}: is a directory, not a results file") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        ends_early = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        hint = " (the file looks truncated)" if ends_early else ""
        raise ResultsError(f"{path}: not valid JSON: {exc.msg}: line {exc.lineno} column {exc.colno}{hint}") from None


def check_results(data: object, source: Path) -> dict:
    """``data`` if it is a results dictionary of the schema this bnnbench writes."""
    if not isinstance(data, dict):
        raise ResultsError(f"{source}: not a bnnbench results file (expected a JSON object)")
    schema = data.get("schema")
    if schema is None:
        raise ResultsError(f"{source}: not a bnnbench results file (no \"schema\" field)")
    if schema != SCHEMA:
        raise ResultsError(f"{source}: schema {schema!r} is not supported; this bnnbench reads {SCHEMA!r}")
    suites = data.get("suites")
    if not isinstance(suites, dict) or not all(
        isinstance(suite, dict) and isinstance(suite.get("status"), str) for suite in suites.values()
    ):
        raise ResultsError(f"{source}: \"suites\" must map each suite name to an object with a \"status\"")
    return data


def load_results(path: Path) -> dict:
    return check_results(read_json(path), path)


def load_accuracy_runs(runs_dir: Path) -> list[dict]:
    """Every ``runs_dir/RUN/metrics.json`` (written by ``bnnbench train``), each with ``run`` set to RUN."""
    if not runs_dir.is_dir():
        raise ResultsError(f"{runs_dir}: not a directory of training runs")
    runs = []
    for path in sorted(runs_dir.glob("*/metrics.json")):
        metrics = read_json(path)
        if not isinstance(metrics, Mapping) or not isinstance(metrics.get("model"), str):
            raise ResultsError(f"{path}: not a training metrics file (no \"model\" field)")
        runs.append({**metrics, "run": path.parent.name})
    if not runs:
        raise ResultsError(f"{runs_dir}: no RUN/metrics.json files in it")
    return runs


def with_accuracy_runs(results: Mapping, runs: list[dict], source: Path) -> dict:
    """``results`` with an ``accuracy`` suite made of trained runs (replacing one already there)."""
    accuracy = {"status": "ok", "data": {"runs": runs, "source": str(source)}}
    return {**results, "suites": {**results["suites"], "accuracy": accuracy}}
