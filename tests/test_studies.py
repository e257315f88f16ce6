"""Studies: registry, CLI, staged output, and the NumPy-only ``binaryconnect`` study."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bnnbench import studies
from bnnbench.cli import main
from bnnbench.studies import binaryconnect as bc
from bnnbench.studies.common import Splits, StagedOutput, load_splits, md_table

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="module")
def mnist() -> Splits:
    return load_splits(SHARED_MNIST)


def test_registry_lists_every_study_and_rejects_unknown_names():
    assert studies.names() == ["binaryconnect", "bitorch-lenet", "binary-bottleneck", "larq-guide", "pbnet-ablation"]
    for name in studies.names():
        module = studies.describe(name).load()
        assert callable(getattr(module, studies.describe(name).function))
        assert module.Settings.smoke_run().smoke and not module.Settings().smoke
    with pytest.raises(ValueError, match="unknown study 'nope'; studies: binaryconnect"):
        studies.describe("nope")
    assert studies.study_command("larq-guide", "out/x", "../d", smoke=True) == (
        "bnnbench study larq-guide --data-dir ../d --smoke --out out/x"
    )


def test_splits_use_the_last_5000_training_images_for_validation(mnist):
    assert mnist.sizes() == {"train": 55000, "validation": 5000, "test": 10000}
    small = mnist.subset(100, 20, 30)
    assert small.sizes() == {"train": 100, "validation": 20, "test": 30}
    assert np.array_equal(small.val_images, mnist.val_images[:20])
    with pytest.raises(ValueError, match="train subset must be between 1 and 55000, got 0"):
        mnist.subset(0)


def test_staged_output_moves_files_only_when_the_study_finishes(tmp_path):
    out = tmp_path / "study"
    with StagedOutput(out) as output:
        output.path("a.txt").write_text("new")
        assert not out.exists()
    assert (out / "a.txt").read_text() == "new"
    with pytest.raises(RuntimeError, match="boom"):
        with StagedOutput(out) as output:
            output.path("a.txt").write_text("partial")
            output.path("b.txt").write_text("partial")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # no staging directory left
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"] and (out / "a.txt").read_text() == "new"
    with pytest.raises(ValueError, match="plain names"):
        StagedOutput(out).path("../escape.txt")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        StagedOutput(tmp_path / "file")


def test_md_table():
    assert md_table(["a", "b"], [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"


def test_binarization_is_plus_minus_h_and_stochastic_follows_the_hard_sigmoid():
    rng = np.random.default_rng(0)
    latent = np.array([-2.0, -0.3, 0.0, 0.4, 1.0], dtype=np.float32)
    assert np.array_equal(bc._binarize(latent, "deterministic", rng), bc.H * np.array([-1, -1, 1, 1, 1], np.float32))
    draws = bc._binarize(np.full(200_000, 0.5, np.float32), "stochastic", rng)
    assert set(np.unique(draws)) == {np.float32(-bc.H), np.float32(bc.H)}
    assert abs(float(np.mean(draws > 0)) - 0.75) < 0.005  # hard_sigmoid(0.5) = 0.75
    assert np.all(bc._binarize(np.array([-1.0, 1.0], np.float32), "stochastic", rng) == np.array([-bc.H, bc.H], np.float32))
    assert bc.glorot_scale(784, 10) == pytest.approx(np.sqrt(1.5 / 794))


def test_binaryconnect_training_keeps_latent_weights_clipped_and_counts_every_flip(mnist):
    settings = bc.Settings(epochs=2, probe_every=5, probe_images=50)
    data = bc._Data.from_splits(mnist.subset(500, 100, 100))
    variant = bc.VARIANTS[2]  # deterministic, binarized bias
    run = bc._train(variant, 1.0, data, settings)
    assert np.abs(run.best.weights).max() <= 1.0 and np.abs(run.best.bias).max() <= 1.0
    weights, bias = run.best.deployed()
    assert set(np.unique(np.abs(weights))) == {np.float32(bc.H)} and set(np.unique(np.abs(bias))) == {np.float32(bc.H)}
    assert run.probe_steps == [5, 10]  # 5 steps per epoch, a probe every 5 steps
    assert int(run.flip_counts.sum()) == sum(run.interval_flips) > 0
    assert [e["epoch"] for e in run.epochs] == [1, 2]
    assert run.best_val == max(e["val_accuracy"] for e in run.epochs)


def test_rank_correlation_handles_ties_and_constants():
    assert list(bc._ranks([3.0, 1.0, 1.0, 2.0])) == [3.0, 0.5, 0.5, 2.0]
    assert bc._rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert bc._rank_correlation([1, 2, 3], [5, 5, 5]) is None
    assert bc._rank_correlation([1, 2], [1, 2]) is None


def test_binaryconnect_study_runs_on_numpy_alone_and_writes_its_report(tmp_path):
    out = tmp_path / "bc"
    script = (
        "import sys; from bnnbench.cli import main; "
        f"code = main(['study', 'binaryconnect', '--smoke', '--data-dir', {str(SHARED_MNIST)!r}, '--out', {str(out)!r}]); "
        "assert code == 0, code; assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "report:" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "flips_and_jitter.png", "results.json", "weights.png"]
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "bnnbench.study/1" and results["study"] == "binaryconnect"
    assert results["environment"]["torch"] is None
    variants = results["variants"]
    assert set(variants) == {v.name for v in bc.VARIANTS}
    assert variants["float"]["test_accuracy"] > 40.0  # 1000 images, 2 epochs: far above chance (10%)
    assert variants["deterministic"]["test_accuracy"] > 40.0
    assert 0.0 <= results["flips_on_inked_pixels"] <= 1.0
    readme = (out / "README.md").read_text()
    for text in ("**Question.**", "87.16%", "59.18%", "85.19%", "81.29%", "**What we found.**",
                 "flips_and_jitter.png", "bnnbench study binaryconnect", "Smoke run"):
        assert text in readme
    assert studies.markdown(results) == readme


def test_cli_lists_studies_and_reports_errors_in_one_line(tmp_path, capsys):
    assert main(["study", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in studies.names())
    assert main(["study"]) == 2
    assert "name a study (or --list, --index)" in capsys.readouterr().err
    assert main(["study", "nope"]) == 2
    assert "unknown study 'nope'" in capsys.readouterr().err
    corrupt = tmp_path / "mnist"
    corrupt.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (corrupt / name).write_bytes(b"not mnist")
    out = tmp_path / "out"
    assert main(["study", "binaryconnect", "--data-dir", str(corrupt), "--out", str(out)]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert not out.exists()


def test_index_lists_run_and_missing_studies(tmp_path, capsys):
    results = {"title": "T", "wall_time_s": 90.0, "command": "bnnbench study binaryconnect", "findings": ["a|b"]}
    (tmp_path / "binaryconnect").mkdir()
    (tmp_path / "binaryconnect" / "results.json").write_text(json.dumps(results))
    assert main(["study", "--index", "--out", str(tmp_path)]) == 0
    assert str(tmp_path / "README.md") in capsys.readouterr().out
    lines = (tmp_path / "README.md").read_text().splitlines()
    assert "| [binaryconnect](binaryconnect/README.md) | T | 1.5 min | `bnnbench study binaryconnect` | a\\|b |" in lines
    assert sum("| not run |" in line for line in lines) == len(studies.names()) - 1
