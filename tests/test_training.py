"""Trainer, checkpoints, evaluation and the train/evaluate commands on small MNIST subsets."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest
import torch
from torch import nn

from bnnbench import models
from bnnbench.cli import main
from bnnbench.training import (
    CheckpointError,
    DataSplits,
    TrainConfig,
    derived_network,
    evaluate_classifier,
    evaluate_pbnet,
    load_checkpoint,
    mnist_splits,
    reestimate_batchnorm,
    save_checkpoint,
    train,
)

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="module")
def small_mnist() -> DataSplits:
    """2,000 real training images, 500 validation, 1,000 test."""
    assert SHARED_MNIST.is_dir(), f"the verified MNIST files are expected at {SHARED_MNIST}"
    full = mnist_splits(SHARED_MNIST)
    return DataSplits(
        full.train_x[:2000], full.train_y[:2000],
        full.val_x[:500], full.val_y[:500],
        full.test_x[:1000], full.test_y[:1000],
        full.source,
    )


def quiet(line: str) -> None:
    del line


def test_short_training_learns_and_writes_outputs(small_mnist, tmp_path):
    config = TrainConfig(model="mnist-bnn", epochs=2, lr=1e-3, lr_final=3e-4, seed=0)
    result = train(config, tmp_path, data=small_mnist, progress=False, log=quiet)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["finished"] and metrics["seed"] == 0
    assert metrics["test_accuracy"] > 80.0  # chance is 10%
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert metrics["epochs"][1]["lr"] == pytest.approx(3e-4)
    assert metrics["data"] == {"source": small_mnist.source, "train": 2000, "validation": 500, "test": 1000}
    assert metrics["config"]["model"] == "mnist-bnn" and metrics["wall_time_s"] > 0
    assert 0 < metrics["cpu_time_s"] and all(e["cpu_seconds"] > 0 for e in metrics["epochs"])
    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert metrics["environment"]["malloc_retains_freed_memory"] is on_glibc
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    best = max(metrics["epochs"], key=lambda e: e["val_accuracy"])
    assert metrics["best_epoch"] == best["epoch"]
    loaded = load_checkpoint(result.checkpoint)
    assert loaded.metadata["epoch"] == metrics["best_epoch"]
    _, accuracy = evaluate_classifier(loaded.model, small_mnist.test_x, small_mnist.test_y)
    assert accuracy == pytest.approx(metrics["test_accuracy"])
    for layer in (loaded.model.conv2, loaded.model.fc1):
        assert float(layer.weight.detach().abs().max()) <= 1.0  # latent weights stayed clipped


@pytest.mark.parametrize("images", [200, 201, 202, 7])
def test_progress_counts_the_steps_an_epoch_takes(images):
    from bnnbench.training.trainer import steps_per_epoch, train_epoch

    model = models.create("binaryconnect-logreg", float_twin=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    taken = []
    optimizer.register_step_post_hook(lambda *_: taken.append(1))
    x, y = torch.zeros(images, 1, 28, 28), torch.zeros(images, dtype=torch.long)
    train_epoch(model, optimizer, x, y, batch_size=100, generator=torch.Generator().manual_seed(0), epoch=1)
    assert len(taken) == steps_per_epoch(images, 100) == {200: 2, 201: 2, 202: 3, 7: 1}[images]


def test_bn_reestimation_after_each_epoch_saves_exact_statistics(small_mnist, tmp_path):
    tiny = DataSplits(small_mnist.train_x[:300], small_mnist.train_y[:300], small_mnist.val_x[:100],
                      small_mnist.val_y[:100], small_mnist.test_x[:100], small_mnist.test_y[:100], small_mnist.source)
    config = TrainConfig(model="sfc", epochs=1, bn_reestimate=200)
    result = train(config, tmp_path, data=tiny, progress=False, log=quiet)
    saved = load_checkpoint(result.checkpoint).model
    with torch.no_grad():
        pre_activations = saved.fc1(saved.flatten(tiny.train_x[:200]))
    assert torch.allclose(saved.bn1.running_mean, pre_activations.mean(0), atol=1e-4)
    assert torch.allclose(saved.bn1.running_var, pre_activations.var(0), rtol=1e-4)


def test_pbnet_training_learns_and_its_readings_evaluate(small_mnist, tmp_path):
    config = TrainConfig(model="pbnet", epochs=1, batch_size=50, lr=1e-2, seed=1)
    result = train(config, tmp_path, data=small_mnist, progress=False, log=quiet)
    assert result.metrics["test_accuracy"] > 60.0
    pbnet = load_checkpoint(result.checkpoint).model
    assert float(pbnet.conv2.theta.detach().abs().max()) <= 0.9 + 1e-6
    readings = evaluate_pbnet(
        pbnet, small_mnist.train_x[:500], small_mnist.test_x[:300], small_mnist.test_y[:300], samples=3
    )
    assert set(readings) == {"model", "map", "ternary", "ensemble"}
    assert readings["map"] > 40.0
    ensemble = readings["ensemble"]
    assert len(ensemble["accuracy_by_size"]) == 3 and ensemble["accuracy"] == ensemble["accuracy_by_size"][-1]
    assert ensemble["single_networks"]["min"] <= ensemble["single_networks"]["max"]
    with pytest.raises(ValueError, match="unknown PBNet readings"):
        evaluate_pbnet(pbnet, small_mnist.train_x[:10], small_mnist.test_x[:10], small_mnist.test_y[:10], readings=("mode",))


def test_pbnet_selected_by_its_map_network(small_mnist, tmp_path):
    tiny = DataSplits(small_mnist.train_x[:400], small_mnist.train_y[:400], small_mnist.val_x[:200],
                      small_mnist.val_y[:200], small_mnist.test_x[:100], small_mnist.test_y[:100], small_mnist.source)
    config = TrainConfig(model="pbnet", epochs=3, batch_size=50, lr=1e-2, seed=0, select_by="map")
    result = train(config, tmp_path, data=tiny, progress=False, log=quiet)
    epochs = result.metrics["epochs"]
    best = max(epochs, key=lambda e: e["val_accuracy_map"])
    assert result.metrics["best_epoch"] == best["epoch"]
    assert result.metrics["best_val_accuracy"] == best["val_accuracy_map"]
    saved = load_checkpoint(result.checkpoint).model
    deployed = derived_network(saved, "map", tiny.train_x)  # the trainer re-estimates on the first 10k (here all 400)
    assert evaluate_classifier(deployed, tiny.val_x, tiny.val_y)[1] == pytest.approx(best["val_accuracy_map"])
    with pytest.raises(ValueError, match="needs a PBNet"):
        train(TrainConfig(model="mnist-bnn", epochs=1, select_by="map"), tmp_path / "x", data=tiny, log=quiet)


def test_selection_by_validation_loss_saves_the_lowest_loss_epoch(small_mnist, tmp_path):
    config = TrainConfig(model="mnist-bnn", epochs=4, lr=3e-3, lr_final=3e-4, seed=0, select_by="loss")
    result = train(config, tmp_path, data=small_mnist, progress=False, log=quiet)
    epochs = result.metrics["epochs"]
    best = min(epochs, key=lambda e: e["val_loss"])
    # In this run the lowest-loss epoch is not the best-accuracy one, so the check tells the criteria apart.
    assert best["epoch"] != max(epochs, key=lambda e: e["val_accuracy"])["epoch"]
    assert result.metrics["best_epoch"] == best["epoch"]
    assert result.metrics["best_val_loss"] == best["val_loss"]
    assert result.metrics["best_val_accuracy"] == best["val_accuracy"]
    saved = load_checkpoint(result.checkpoint).model
    assert evaluate_classifier(saved, small_mnist.val_x, small_mnist.val_y)[0] == pytest.approx(best["val_loss"])


def test_pbnet_s_initialised_from_float_twin_checkpoint(small_mnist, tmp_path):
    torch.manual_seed(0)
    twin = models.create("pbnet-s", float_twin=True)
    twin_path = save_checkpoint(tmp_path / "twin.pt", twin, model_name="pbnet-s", float_twin=True, options={})
    config = TrainConfig(model="pbnet-s", epochs=1, seed=0, init_from=str(twin_path))
    tiny = DataSplits(*(t[:200] for t in (small_mnist.train_x, small_mnist.train_y)),
                      small_mnist.val_x[:100], small_mnist.val_y[:100],
                      small_mnist.test_x[:100], small_mnist.test_y[:100], small_mnist.source)
    train(config, tmp_path / "s", data=tiny, progress=False, log=quiet)
    binary_path = save_checkpoint(tmp_path / "binary.pt", models.create("pbnet"), model_name="pbnet", float_twin=False, options={})
    with pytest.raises(ValueError, match="needs a float-twin checkpoint"):
        train(TrainConfig(model="pbnet-s", epochs=1, init_from=str(binary_path)), tmp_path / "x", data=tiny, log=quiet)
    with pytest.raises(ValueError, match="supported for PBNet models"):
        train(TrainConfig(model="mnist-bnn", epochs=1, init_from=str(twin_path)), tmp_path / "y", data=tiny, log=quiet)


@pytest.mark.parametrize("name", ["mnist-bnn", "pbnet-s", "lenet-bitorch", "binaryconnect-logreg"])
def test_checkpoint_round_trip_reproduces_outputs(tmp_path, name):
    torch.manual_seed(3)
    model = models.create(name, **({"stochastic": True} if name == "binaryconnect-logreg" else {}))
    model.train()
    model(torch.randn(8, 1, 28, 28))  # move batch-norm running statistics off their defaults
    model.eval()
    options = {"stochastic": True} if name == "binaryconnect-logreg" else {}
    path = save_checkpoint(tmp_path / "c.pt", model, model_name=name, float_twin=False, options=options, metadata={"note": "x"})
    loaded = load_checkpoint(path)
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(loaded.model(x), model(x))
    assert loaded.options == options and loaded.metadata == {"note": "x"} and not loaded.model.training
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary files left


def test_checkpoint_errors_name_the_problem(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a bnnbench checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    model = models.create("sfc")
    path = save_checkpoint(tmp_path / "sfc.pt", model, model_name="lfc", float_twin=False, options={})
    with pytest.raises(CheckpointError, match="weights do not fit model 'lfc'"):
        load_checkpoint(path)
    path = save_checkpoint(tmp_path / "opt.pt", model, model_name="sfc", float_twin=False, options={"depth": 4})
    with pytest.raises(CheckpointError, match="cannot rebuild the model.*depth"):
        load_checkpoint(path)


def test_reestimate_batchnorm_computes_exact_statistics():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    images = torch.randn(1000, 3)
    reestimate_batchnorm(model, images, batch_size=250)
    with torch.no_grad():
        hidden = model[0](images)
    assert torch.allclose(model[1].running_mean, hidden.mean(0), atol=1e-5)
    assert not model.training and model[1].momentum == 0.1
    per_batch_var = torch.stack([hidden[i : i + 250].var(0) for i in range(0, 1000, 250)]).mean(0)
    assert torch.allclose(model[1].running_var, per_batch_var, atol=1e-5)


def test_train_config_validation_and_schedule():
    config = TrainConfig(model="mnist-bnn", epochs=5, lr=1e-2, lr_final=1e-4)
    assert [config.learning_rate(e) for e in range(5)] == pytest.approx([1e-2, 10**-2.5, 1e-3, 10**-3.5, 1e-4])
    assert TrainConfig(model="mnist-bnn", schedule="constant", lr_final=1e-5).learning_rate(3) == 1e-3
    for bad, message in [
        ({"epochs": 0}, "epochs"),
        ({"schedule": "cosine"}, "schedule"),
        ({"optimizer": "lamb"}, "optimizer"),
        ({"lr": -1.0}, "lr"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"bn_reestimate": 1}, "bn_reestimate"),
        ({"augment_shift": -1}, "augment_shift"),
        ({"select_by": "ensemble"}, "select_by"),
        ({"model": "vgg"}, "unknown model"),
    ]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(**{"model": "mnist-bnn", **bad}).validate()


def test_cli_train_and_evaluate_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main([
        "train", "binaryconnect-logreg", "--option", "stochastic=false", "--epochs", "1",
        "--train-subset", "3000", "--seed", "7", "--data-dir", str(SHARED_MNIST.parent),
        "--out", str(out), "--no-progress", "--lr", "0.01", "--augment-shift", "1",
    ])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["options"] == {"stochastic": False} and metrics["seed"] == 7
    assert metrics["config"]["augment_shift"] == 1
    assert metrics["command"] == (
        "bnnbench train binaryconnect-logreg --option stochastic=false --epochs 1 --batch-size 100 "
        f"--optimizer adam --lr 0.01 --schedule exponential --augment-shift 1 --seed 7 --threads 1 --train-subset 3000 "
        f"--data-dir {SHARED_MNIST.parent} --out {out}"
    )
    assert metrics["test_accuracy"] > 70.0
    code = main(["evaluate", str(out / "checkpoint.pt"), "--split", "validation", "--data-dir", str(SHARED_MNIST)])
    assert code == 0
    evaluation = json.loads((out / "evaluation-validation.json").read_text())
    assert evaluation["model"] == "binaryconnect-logreg" and evaluation["accuracy"]["model"] > 70.0
    assert "model:" in capsys.readouterr().out


def test_cli_evaluate_pbnet_readings(small_mnist, tmp_path, capsys, monkeypatch):
    import bnnbench.training.splits

    monkeypatch.setattr(bnnbench.training.splits, "mnist_splits", lambda data_dir: small_mnist)
    torch.manual_seed(0)
    pbnet = models.create("pbnet")
    pbnet.train()
    pbnet(small_mnist.train_x[:64])
    path = save_checkpoint(tmp_path / "p.pt", pbnet, model_name="pbnet", float_twin=False, options={})
    out = tmp_path / "e.json"
    code = main([
        "evaluate", str(path), "--reading", "map", "--reading", "ensemble", "--samples", "2",
        "--bn-images", "200", "--split", "validation", "--data-dir", str(SHARED_MNIST), "--out", str(out),
        "--export-map", str(tmp_path / "map.pt"),
    ])
    assert code == 0
    result = json.loads(out.read_text())
    assert set(result["accuracy"]) == {"map", "ensemble"} and result["bn_images"] == 200
    exported = load_checkpoint(tmp_path / "map.pt")
    assert exported.model_name == "mnist-bnn" and exported.metadata["reading"] == "map"
    _, accuracy = evaluate_classifier(exported.model, small_mnist.val_x, small_mnist.val_y)
    assert accuracy == pytest.approx(result["accuracy"]["map"])
    assert result["accuracy"]["ensemble"]["samples"] == 2
    assert "ensemble-2:" in capsys.readouterr().out
    assert main(["evaluate", str(path), "--samples", "0"]) == 2


def test_cli_errors_are_one_line_messages(tmp_path, capsys):
    assert main(["train", "nonexistent-model", "--data-dir", str(SHARED_MNIST)]) == 2
    assert "unknown model 'nonexistent-model'" in capsys.readouterr().err
    assert main(["train", "mnist-bnn", "--option", "oops"]) == 2
    assert "--option expects key=value" in capsys.readouterr().err
    assert main(["train", "mnist-bnn", "--option", "depth=3"]) == 2
    assert "no option depth" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "none.pt")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


def test_reference_table_reads_measured_figures_from_run_files(tmp_path):
    from bnnbench.training import reference

    runs = tmp_path / "runs"
    bnn = next(r for r in reference.RECIPES if r.row == "mnist-bnn")
    pbnet = next(r for r in reference.RECIPES if r.reading == "map")
    epochs = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.4, "val_accuracy": 98.0}]
    for recipe, test in ((bnn, 98.76), (pbnet, 97.5)):
        (runs / recipe.run).mkdir(parents=True)
        metrics = {"finished": True, "test_accuracy": test, "wall_time_s": 600.0, "cpu_time_s": 540.0,
                   "best_epoch": 1, "epochs": epochs}
        (runs / recipe.run / "metrics.json").write_text(json.dumps(metrics))
    evaluation = {"accuracy": {"model": 97.5, "map": 99.01, "ensemble": {"accuracy": 99.2}}}
    (runs / pbnet.run / "evaluation-test.json").write_text(json.dumps(evaluation))
    table = reference.table_markdown(runs)
    bnn_line = next(line for line in table.splitlines() if line.startswith("| mnist-bnn |"))
    assert "| 98.76 | **no** | 10.0 min (9.0 min) | 1/1 |" in bnn_line
    bnn_command = next(line for line in table.splitlines() if line.startswith("- mnist-bnn: `bnnbench train"))
    assert f"--out reports/reference/accuracy/runs/{bnn.run}`" in bnn_command
    pbnet_line = next(line for line in table.splitlines() if line.startswith(f"| {pbnet.row} |"))
    assert "| 99.01 | yes |" in pbnet_line
    pbnet_command = next(line for line in table.splitlines() if line.startswith(f"- {pbnet.row}: "))
    assert "&& bnnbench evaluate" in pbnet_command
    assert "map 99.01; ensemble 99.20" in table and "on validation" not in table
    validation = {"accuracy": {"map": 99.18, "ensemble": {"accuracy": 99.3}}}
    (runs / pbnet.run / "evaluation-validation.json").write_text(json.dumps(validation))
    table = reference.table_markdown(runs)
    assert "map 99.01; ensemble 99.20; on validation: map 99.18; ensemble 99.30" in table
    assert table.count("not run") == len(reference.RECIPES) - 2
    (runs / "variant").mkdir()
    variant = {"finished": True, "best_val_accuracy": 99.1, "test_accuracy": 98.9, "command": "bnnbench train x"}
    (runs / "variant" / "metrics.json").write_text(json.dumps(variant))
    table = reference.table_markdown(runs)
    assert "- variant: best validation 99.10, test 98.90, `bnnbench train x`" in table
    variant.update(wall_time_s=1800.0)
    (runs / "variant" / "metrics.json").write_text(json.dumps(variant))
    assert "- variant: best validation 99.10, test 98.90, 30.0 min, `bnnbench" in reference.table_markdown(runs)
    variant.update(wall_time_s=3000.0)
    (runs / "variant" / "metrics.json").write_text(json.dumps(variant))
    table = reference.table_markdown(runs)
    assert "test 98.90, 50.0 min (over the 30-minute budget: a diagnostic, not a candidate), `bnnbench" in table
    assert reference.main(["table", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "table.md").read_text() == table and (tmp_path / "curves.png").is_file()
