"""Timing statistics, the kernel suite's plumbing, `bnnbench info` and `bnnbench run`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bnnbench.bench.kernel_suite import LayerCase, run_kernel_suite
from bnnbench.bench.timing import summarize
from bnnbench.cli import main
from bnnbench.runner import benchmark_file


def test_summary_is_per_call_and_total_counts_every_iteration() -> None:
    data = [0.0031, 0.0029, 0.0030, 0.0050, 0.0028, 0.0030, 0.0032, 0.0100, 0.0029]
    stats = summarize(data, iterations=4)
    assert stats.median == 0.0030 and stats.min == 0.0028 and stats.rounds == 9
    assert stats.total == pytest.approx(4 * sum(data))
    assert stats.iqr_outliers >= 1  # the 0.0100 round
    with pytest.raises(ValueError, match="no timing rounds"):
        summarize([], iterations=1)


TINY_LAYERS = (
    LayerCase("conv 6x5x70->9", 1, 6, 5, 70, 9),
    LayerCase("dense 100->30 b2", 2, 1, 1, 100, 30, kernel=0),
)


def test_kernel_suite_measures_every_layer_implementation_and_thread_count() -> None:
    result = run_kernel_suite((1, 2), quick=True, layers=TINY_LAYERS)
    assert len(result["measurements"]) == 2 * 4 * 2
    assert {row["layer"] for row in result["summary"]} == {case.name for case in TINY_LAYERS}
    for row in result["summary"]:
        assert row["binary_kernel_ms"] > 0 and row["torch_channels_last_ms"] > 0
        assert 0 < row["roofline_fraction"]
    assert all(v > 0 for v in result["roofline_gops"].values())


def test_benchmark_file_is_read_by_pytest_benchmark_compare(tmp_path: Path) -> None:
    suite = run_kernel_suite((1,), quick=True, layers=TINY_LAYERS[:1])
    results = {"created": "2026-01-01T00:00:00+00:00", "suites": {"kernels": {"status": "ok", "data": suite}}}
    path = tmp_path / "0001_run.json"
    path.write_text(json.dumps(benchmark_file(results)))
    compare = Path(sys.executable).with_name("pytest-benchmark")
    done = subprocess.run([str(compare), "compare", str(path), "--columns=median"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "binary_kernel" in done.stdout and "torch_channels_last" in done.stdout


def test_info_json_describes_cpu_isa_and_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["isa"] in info["available_isas"]
    assert set(info["cpu_features"]) >= {"popcnt", "avx2", "avx512f", "avx512vpopcntdq", "neon"}
    assert "-O3" in info["kernels_build"]["flags"] and info["kernels_build"]["compiler"]
    assert info["threads"]["cores_usable"] >= 1


def test_run_rejects_unknown_suite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "--suite", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "unknown suite(s) nope" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_atomic_writes_leave_readable_files_and_no_temporaries(tmp_path: Path) -> None:
    import os
    import stat

    from bnnbench.files import atomic_path, write_json_atomic

    target = tmp_path / "sub" / "results.json"
    write_json_atomic(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    # atomic_path (checkpoints, figures): same permissions; a failing writer leaves the old file.
    checkpoint = tmp_path / "sub" / "checkpoint.pt"
    with atomic_path(checkpoint) as tmp:
        tmp.write_bytes(b"old")
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o666 & ~umask
    with pytest.raises(RuntimeError), atomic_path(checkpoint) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer died")
    assert checkpoint.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["checkpoint.pt", "results.json"]


def test_accuracy_suite_is_skipped_with_its_reason_when_there_is_no_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BNNBENCH_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["run", "--suite", "accuracy", "--out", str(tmp_path / "r")]) == 0
    assert "skipped suite accuracy: no MNIST data found" in capsys.readouterr().out
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["suites"]["accuracy"]["status"] == "skipped"
    assert "skipped" in (tmp_path / "r" / "report.md").read_text().lower()


def test_accuracy_suite_evaluates_checkpoints_with_engine_agreement(tmp_path: Path) -> None:
    import torch

    from bnnbench import models
    from bnnbench.bench.accuracy_suite import run_accuracy_suite
    from bnnbench.training.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = models.create("sfc").eval()
    save_checkpoint(tmp_path / "runs" / "sfc" / "checkpoint.pt", model, model_name="sfc", float_twin=False, options={})
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    data = run_accuracy_suite(True, str(shared), tmp_path / "runs", tmp_path / "out")
    (run,) = data["runs"]
    assert run["run"] == "sfc" and 0 <= run["test_accuracy"] <= 100
    assert run["engine_identical_fraction"] >= 0.9999


def test_failing_and_interrupted_suites_leave_a_valid_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bnnbench import runner

    def broken(options: runner.RunOptions) -> dict:
        raise RuntimeError("the cost model fell over")

    def interrupted(options: runner.RunOptions) -> dict:
        raise KeyboardInterrupt

    monkeypatch.setitem(runner.SUITES, "hardware", broken)
    assert main(["run", "--suite", "hardware", "--out", str(tmp_path / "a")]) == 1
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert results["suites"]["hardware"]["status"] == "failed"
    assert "the cost model fell over" in (tmp_path / "a" / "report.md").read_text()
    assert "the cost model fell over" in (tmp_path / "a" / "index.html").read_text()

    monkeypatch.setitem(runner.SUITES, "hardware", interrupted)
    assert main(["run", "--suite", "hardware", "--out", str(tmp_path / "b")]) == 130
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert results["suites"]["environment"]["status"] == "ok"
    assert results["suites"]["hardware"]["status"] == "interrupted"
    assert (tmp_path / "b" / "report.md").is_file()


def test_studies_suite_is_skipped_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bnnbench.bench.studies_suite import run_studies_suite
    from bnnbench.runner import SuiteSkipped

    monkeypatch.setenv("BNNBENCH_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(SuiteSkipped, match="no MNIST data found"):
        run_studies_suite(True, None, tmp_path / "studies")
