"""`bnnbench compare`: ratios, and faster / slower / unchanged only beyond the interquartile ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_sample import record, sample_results

from bnnbench.cli import main
from bnnbench.report.compare import Timing, compare, format_seconds, load_timings, verdict
from bnnbench.runner import benchmark_file


def timing(median: float, q1: float, q3: float, rounds: int = 20) -> Timing:
    return Timing("t", median, q1, q3, rounds)


@pytest.mark.parametrize(("b", "expected"), [
    (timing(0.80, 0.78, 0.82), "faster"),  # B's [q1, q3] entirely below A's [0.95, 1.05]
    (timing(1.20, 1.10, 1.30), "slower"),  # entirely above
    (timing(0.96, 0.90, 1.00), "unchanged"),  # overlaps
    (timing(0.90, 0.85, 0.95), "unchanged"),  # touches A's q1: not beyond the noise
    (timing(0.50, 0.45, 0.55, rounds=4), "too few rounds"),  # a big change, but too few rounds to know the noise
])
def test_verdict_needs_non_overlapping_interquartile_ranges(b: Timing, expected: str) -> None:
    assert verdict(timing(1.0, 0.95, 1.05), b) == expected


def test_noise_not_the_size_of_the_change_decides() -> None:
    noisy_a, noisy_b = timing(1.0, 0.7, 1.4), timing(1.3, 1.0, 1.6)  # 30% slower, but within the noise
    tight_a, tight_b = timing(1.0, 0.999, 1.001), timing(1.01, 1.009, 1.011)  # 1% slower, beyond the noise
    assert verdict(noisy_a, noisy_b) == "unchanged"
    assert verdict(tight_a, tight_b) == "slower"


def _results(medians: dict[str, float], spread: float = 0.01) -> dict:
    results = sample_results()
    results["suites"]["kernels"]["data"]["benchmarks"] = [
        record("kernels", {"layer": layer, "threads": 1}, median, spread) for layer, median in medians.items()
    ]
    results["suites"]["models"]["data"]["benchmarks"] = []
    return results


def test_pairs_by_measurement_and_lists_the_unpaired(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_results({"conv": 1e-3, "dense": 2e-3, "old": 1e-3})))
    b.write_text(json.dumps(_results({"dense": 1e-3, "conv": 1.001e-3, "new": 1e-3})))
    pairs, only_a, only_b = compare(load_timings(a), load_timings(b))
    assert [(p.label, round(p.ratio, 4), p.verdict) for p in pairs] == [
        ("kernels: conv threads=1", 1.001, "unchanged"), ("kernels: dense threads=1", 0.5, "faster"),
    ]
    assert only_a == ["kernels: old threads=1"] and only_b == ["kernels: new threads=1"]


def test_reads_the_pytest_benchmark_file_written_beside_results(tmp_path: Path) -> None:
    results = _results({"conv": 1e-3})
    (tmp_path / "results.json").write_text(json.dumps(results))
    (tmp_path / "benchmarks.json").write_text(json.dumps(benchmark_file(results)))
    assert load_timings(tmp_path / "results.json") == load_timings(tmp_path / "benchmarks.json")


def test_cli_prints_a_line_per_measurement_and_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_results({"conv": 1e-3, "dense": 2e-3})))
    b.write_text(json.dumps(_results({"conv": 1.5e-3, "dense": 2e-3})))
    assert main(["compare", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["measurement", "A", "median", "B", "median", "B/A", "verdict"]
    assert lines[1].split() == ["kernels:", "conv", "threads=1", "1", "ms", "1.5", "ms", "1.500", "slower"]
    assert lines[2].split()[-2:] == ["1.000", "unchanged"]
    assert lines[4].startswith("2 measurements in both: 1 slower, 1 unchanged.")


@pytest.mark.parametrize(("content", "message"), [
    ("{", "not valid JSON"),
    ('{"benchmarks": [{"fullname": "x", "stats": {"median": 1}}]}', "a timing record without the fields"),
    ('{"something": 1}', "neither a bnnbench results file nor a pytest-benchmark JSON file"),
    ('{"schema": "other/1", "suites": {}}', "schema 'other/1' is not supported"),
])
def test_cli_rejects_unusable_files_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                                message: str) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_results({"conv": 1e-3})))
    bad.write_text(content)
    assert main(["compare", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"bnnbench compare: error: {bad}: ") and message in captured.err
    assert captured.err.count("\n") == 1


def test_format_seconds_picks_a_readable_unit() -> None:
    assert [format_seconds(s) for s in (2.5, 0.0123, 4.56e-5, 7e-8)] == ["2.5 s", "12.3 ms", "45.6 µs", "70 ns"]
