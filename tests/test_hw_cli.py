"""End-to-end CLI: bnnbench estimate / summary / explore, output format and error paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bnnbench.cli import main


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_estimate_fpga_json_with_the_lfc_max_folding_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folding = tmp_path / "lfc-max.json"
    folding.write_text(json.dumps([
        {"layer": "fc1", "pe": 128, "simd": 64}, {"layer": "fc2", "pe": 128, "simd": 64},
        {"layer": "fc3", "pe": 128, "simd": 64}, {"layer": "fc4", "pe": 16, "simd": 8},
    ]))
    out = run_json(capsys, "estimate", "lfc", "--target", "zc706", "--folding", str(folding), "--json")
    totals = out["totals"]
    assert totals["fps"] == 1_562_500.0
    assert {"fps", "latency_s", "energy_j", "model_bytes", "lut", "bram18", "dsp"} <= set(totals)
    assert [layer["cycles"] for layer in out["layers"]] == [104, 128, 128, 128]
    assert all({"name", "kind"} <= set(layer) for layer in out["layers"])


def test_estimate_fpga_with_target_fps_and_saved_folding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "fold.json"
    out = run_json(capsys, "estimate", "cnv", "-t", "pynq-z1", "--fps", "3052", "--save-folding", str(saved), "--json")
    assert out["totals"]["fps"] >= 3052
    again = run_json(capsys, "estimate", "cnv", "-t", "pynq-z1", "--folding", str(saved), "--json")
    assert again["totals"] == out["totals"]


def test_estimate_cpu_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "birealnet-18", "--target", "pixel1"]) == 0
    text = capsys.readouterr().out
    assert "Latency" in text and "Energy per inference" in text
    out = run_json(capsys, "estimate", "mnist-bnn", "-t", "rpi4b", "--threads", "2", "--json")
    assert {"fps", "latency_s", "energy_j", "model_bytes"} <= set(out["totals"])
    assert out["totals"]["threads"] == 2


def test_summary_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "cnv"]) == 0
    assert "Ratio of MACs that are binarized" in capsys.readouterr().out
    out = run_json(capsys, "summary", "xnornet", "--json")
    assert out["totals"]["params"] == 62_396_768


def test_saved_workload_json_as_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hw_models import zoo
    from hw_models.workload import to_dict

    path = tmp_path / "sfc.json"
    path.write_text(json.dumps(to_dict(zoo.get("sfc"))))
    out = run_json(capsys, "summary", str(path), "--json")
    assert out["workload"] == "sfc"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["estimate", "nope", "-t", "rpi4b"], "unknown model 'nope'"),
        (["estimate", "lfc", "-t", "nope"], "unknown target"),
        (["estimate", "lfc", "-t", "rpi4b", "--fps", "10"], "CPU: folding and frame-rate targets apply to FPGA"),
        (["estimate", "lfc", "-t", "zc706", "--fps", "1e12"], "cannot reach"),
        (["estimate", "lfc", "-t", "rpi4b", "--threads", "9"], "4 cores"),
        (["estimate", "lfc"], "give a MODEL and --target"),
        (["summary"], "give a MODEL"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_malformed_folding_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"layer": "fc1", "pe": 2}]))
    assert main(["estimate", "lfc", "-t", "zc706", "--folding", str(path)]) == 2
    assert "missing field(s) ['simd']" in capsys.readouterr().err
    path.write_text(json.dumps([{"layer": "fc9", "pe": 2, "simd": 2}]))
    assert main(["estimate", "lfc", "-t", "zc706", "--folding", str(path)]) == 2
    assert "'fc9'" in capsys.readouterr().err


def test_explore_writes_json_csv_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exp"
    assert main(["explore", "sfc", "-t", "pynq-z1", "-t", "rpi3b", "--precisions", "W1A1,W1A2", "--points", "4",
                 "--out", str(out)]) == 0
    data = json.loads((out / "explore.json").read_text())
    assert data["pareto_fps_vs_lut"] and data["pareto_latency_vs_energy"]
    assert (out / "points.csv").read_text().startswith("workload,target,precision")
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert "designs" in capsys.readouterr().out


def test_explore_rejects_unknown_precision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "sfc", "-t", "pynq-z1", "--precisions", "W3A3", "--out", str(tmp_path)]) == 2
    assert "unknown precision 'W3A3'" in capsys.readouterr().err


def test_traced_model_summary_matches_the_zoo(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("bnnbench.models")
    traced = run_json(capsys, "summary", "mnist-bnn", "--traced", "--json")
    zoo_def = run_json(capsys, "summary", "mnist-bnn", "--json")
    assert traced["totals"]["params"] == zoo_def["totals"]["params"]
    assert traced["totals"]["macs_by_bits"] == zoo_def["totals"]["macs_by_bits"]
