"""`bnnbench report results.json`: rebuilds the report; unusable input is one clear line and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_sample import sample_results

from bnnbench.cli import main


def _results_file(directory: Path, results: dict | None = None) -> Path:
    """Results without the figure-heavy suites, so the command runs in a blink."""
    results = results or sample_results(hardware_ok=False)
    results["suites"] = {name: results["suites"][name] for name in ("environment", "hardware")}
    path = directory / "results.json"
    path.write_text(json.dumps(results))
    return path


def test_rebuilds_the_report_beside_the_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _results_file(tmp_path)
    assert main(["report", str(path)]) == 0
    assert capsys.readouterr().out == f"report: {tmp_path / 'report.md'}, {tmp_path / 'index.html'} (0 figures)\n"
    assert "**FAILED: RuntimeError: target file broken**" in (tmp_path / "report.md").read_text()
    assert "target file broken" in (tmp_path / "index.html").read_text()


def test_accuracy_runs_become_the_accuracy_section(tmp_path: Path) -> None:
    path = _results_file(tmp_path)
    runs = tmp_path / "runs"
    for run in sample_results()["suites"]["accuracy"]["data"]["runs"]:
        (runs / run["run"]).mkdir(parents=True)
        (runs / run["run"] / "metrics.json").write_text(json.dumps({k: v for k, v in run.items() if k != "run"}))
    out = tmp_path / "elsewhere"
    assert main(["report", str(path), "--out", str(out), "--accuracy-runs", str(runs)]) == 0
    text = (out / "report.md").read_text()
    assert "| mnist-bnn-float | mnist-bnn | yes | 99.1 | 99.3 | 15 | 700 |" in text
    assert "| still-training | lenet-bitorch | no | not finished |" in text
    assert "](figures/accuracy_vs_size.png)" in text and (out / "figures" / "accuracy_vs_size.png").is_file()
    assert not (tmp_path / "report.md").exists()


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


GOOD = json.dumps(sample_results(hardware_ok=False))


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("{\"schema\": 1,, }", "not valid JSON: Expecting property name enclosed in double quotes: line 1 column 14"),
    (b"\xff\xfe\x00binary", "not a text file (not UTF-8)"),
    ("[1, 2]", "not a bnnbench results file (expected a JSON object)"),
    ('{"suites": {}}', 'not a bnnbench results file (no "schema" field)'),
    ('{"schema": "bnnbench.results/2", "suites": {}}',
     "schema 'bnnbench.results/2' is not supported; this bnnbench reads 'bnnbench.results/1'"),
    ('{"schema": "bnnbench.results/1", "suites": {"kernels": 3}}',
     '"suites" must map each suite name to an object with a "status"'),
])
def test_unusable_results_are_one_line_errors_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, message: str,
) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        _write(path, content)
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bnnbench report: error: {path}: ") and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if content is None else ["results.json"])


@pytest.mark.parametrize("cut", [40, 41, len(GOOD) // 2])
def test_truncated_file_is_called_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int) -> None:
    path = _write(tmp_path / "results.json", GOOD[:-cut])
    assert main(["report", str(path)]) == 2
    assert capsys.readouterr().err.endswith("(the file looks truncated)\n")


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing", "not a directory of training runs"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no RUN/metrics.json files in it"),
    (lambda d: _write((d / "r" / "x").mkdir(parents=True) or d / "r" / "x" / "metrics.json", "{}").parent.parent,
     'not a training metrics file (no "model" field)'),
])
def test_bad_accuracy_runs_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object,
                                               message: str) -> None:
    path = _results_file(tmp_path)
    runs = make(tmp_path)  # type: ignore[operator]
    assert main(["report", str(path), "--accuracy-runs", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bnnbench report: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "report.md").exists()


def test_out_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _results_file(tmp_path)
    blocker = _write(tmp_path / "file", "x")
    assert main(["report", str(path), "--out", str(blocker)]) == 2
    assert f"--out {blocker} exists and is not a directory" in capsys.readouterr().err
