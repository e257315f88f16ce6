"""Studies on torch: shared training loop and costs, model variants, and each study's plumbing on a tiny subset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from bnnbench import models, studies
from bnnbench.nn.pbnet import Gaussian
from bnnbench.studies import binary_bottleneck, bitorch_lenet, larq_guide, pbnet_ablation
from bnnbench.studies.common import Splits, load_splits
from bnnbench.studies.shortcuts import Residual, cnv_with_shortcuts, mnist_bnn_with_shortcuts, with_shortcuts
from bnnbench.studies.torch_support import FitSettings, TensorSplits, fit_classifier, hardware_costs
from bnnbench.workload import trace_workload

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(scope="module")
def mnist() -> Splits:
    return load_splits(SHARED_MNIST)


def _check_outputs(out: Path, results: dict, figures: int) -> dict:
    """Files on disk match the returned results; README is the study's markdown of them."""
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["study"] == results["study"] and on_disk["findings"] == results["findings"]
    assert len(results["figures"]) == figures
    for figure in results["figures"]:
        assert (out / figure["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = (out / "README.md").read_text()
    assert readme == studies.markdown(on_disk)
    assert "**What we found.**" in readme and "Smoke run" in readme
    assert all(line in readme for line in results["findings"])
    assert on_disk["environment"]["torch_threads"] == 1
    return on_disk


def test_tensor_splits_pad_with_background(mnist):
    data = TensorSplits.from_splits(mnist.subset(4, 2, 2), pad_to=32)
    assert data.train_x.shape == (4, 1, 32, 32) and data.test_x.shape == (2, 1, 32, 32)
    assert torch.all(data.train_x[:, :, :2] == -1.0) and torch.all(data.train_x[:, :, :, -2:] == -1.0)
    plain = TensorSplits.from_splits(mnist.subset(4, 2, 2))
    assert torch.equal(data.train_x[:, :, 2:30, 2:30], plain.train_x)
    with pytest.raises(ValueError, match="cannot pad 28x28 images to 20"):
        TensorSplits.from_splits(mnist.subset(4, 2, 2), pad_to=20)


def test_fit_classifier_learns_selects_the_best_epoch_and_tests_once(mnist):
    data = TensorSplits.from_splits(mnist.subset(400, 100, 200))
    torch.manual_seed(0)
    model = models.create("mnist-bnn")
    seen = []
    fit = fit_classifier(model, data, FitSettings(epochs=2, lr=1e-2, lr_final=1e-3), on_epoch=seen.append)
    assert [r["epoch"] for r in seen] == [1, 2] and seen == fit.epochs
    assert [r["lr"] for r in fit.epochs] == pytest.approx([1e-2, 1e-3])
    assert fit.best_val_accuracy == max(r["val_accuracy"] for r in fit.epochs)
    assert fit.test_accuracy > 40.0  # 400 images, 2 epochs; chance is 10%
    assert all(float(m.weight.detach().abs().max()) <= 1.0 for m in model.modules() if getattr(m, "weight_clip", None))
    bop = fit_classifier(models.create("mnist-bnn"), data, FitSettings(1, 1e-3, 1e-3, optimizer="bop"))
    assert bop.test_accuracy > 10.0
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'bop'"):
        fit_classifier(models.create("mnist-bnn"), data, FitSettings(1, 1e-3, 1e-3, optimizer="sgd"))


def test_shortcuts_add_a_real_valued_path_that_the_cost_model_sees():
    base = models.create("mnist-bnn")
    model = mnist_bnn_with_shortcuts(base)
    names = [n for n, _ in model.named_children()]
    assert names == ["conv1", "pool1", "bn1", "res1", "flatten", "fc1", "bn3", "fc2"]
    res = model.get_submodule("res1")
    assert isinstance(res, Residual) and res.body.get_submodule("conv2") is base.get_submodule("conv2")
    x = torch.randn(3, 32, 14, 14)
    model.eval()
    assert torch.allclose(res(x), res.body(x) + res.shortcut(x))
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    kinds = [layer.kind for layer in trace_workload(model, (1, 28, 28)).layers]
    assert kinds.count("add") == 1
    cnv = cnv_with_shortcuts(models.create("cnv", in_channels=1, image_size=32))
    assert cnv(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    assert [layer.kind for layer in trace_workload(cnv, (1, 32, 32)).layers].count("add") == 3
    with pytest.raises(ValueError, match="not a run of consecutive layers"):
        with_shortcuts(models.create("mnist-bnn"), [(("conv2", "bn2"), nn.Identity())])
    with pytest.raises(ValueError, match="the model has layers"):
        with_shortcuts(models.create("mnist-bnn"), [(("conv9",), nn.Identity())])


def test_hardware_costs_price_size_latency_and_luts():
    binary_last = hardware_costs(models.create("mnist-bnn", float_last_layer=False), (1, 28, 28), name="a")
    float_last = hardware_costs(models.create("mnist-bnn"), (1, 28, 28), name="b")
    assert binary_last["model_bytes"] < float_last["model_bytes"]
    for costs in (binary_last, float_last):
        assert costs["rpi4b"]["latency_ms"] > 0 and costs["pynq-z1"]["lut"] > 0
        assert costs["pynq-z1"]["fps"] >= costs["pynq-z1"]["fps_target"]


def test_larq_guide_ablations_build_what_they_say():
    for network, ablations in larq_guide.ABLATIONS.items():
        shape = larq_guide.NETWORKS[network][1]
        assert ablations[0].name == "baseline" and len({a.name for a in ablations}) == len(ablations)
        for ablation in ablations:
            model = larq_guide.build(network, ablation)
            assert model(torch.zeros(2, *shape)).shape == (2, 10)
            has_residual = any(isinstance(m, Residual) for m in model.modules())
            assert has_residual == ablation.shortcuts
    no_clip = larq_guide.build("mnist-bnn", larq_guide.ABLATIONS["mnist-bnn"][5])
    assert all(getattr(m, "weight_clip", None) is None for m in no_clip.modules())


def test_larq_guide_study_plumbing(mnist, tmp_path):
    settings = larq_guide.Settings.smoke_run()
    results = larq_guide.run_larq_guide(mnist, tmp_path / "lg", settings, command="bnnbench study larq-guide --smoke")
    _check_outputs(tmp_path / "lg", results, figures=3)
    for network, ablations in larq_guide.ABLATIONS.items():
        block = results["networks"][network]
        assert list(block["ablations"]) == [a.name for a in ablations]
        assert block["baseline_repeat"]["seed"] == settings.baseline_extra_seed
        assert block["train_images"] == settings.budget(network)[0]
        for run in block["ablations"].values():
            assert 0.0 <= run["test_accuracy"] <= 100.0 and len(run["epochs"]) == settings.budget(network)[1]
            assert run["costs"]["rpi4b"]["latency_ms"] > 0
        assert block["ablations"]["baseline"]["largest_latent_weight"] <= 1.0  # clipped
        assert block["ablations"]["bop"]["largest_latent_weight"] == 1.0  # Bop's weights are ±1
    assert results["data"]["test"] == settings.test_subset


def test_bitorch_lenet_study_plumbing(mnist, tmp_path):
    settings = bitorch_lenet.Settings.smoke_run()
    results = bitorch_lenet.run_bitorch_lenet(mnist, tmp_path / "lenet", settings, command="c")
    _check_outputs(tmp_path / "lenet", results, figures=4)
    for kind in ("float", "binary"):
        run = results["runs"][kind]
        assert len(run["epochs"]) == settings.epochs == len(run["conv2_sign_flips_percent_per_epoch"])
        assert run["test_accuracy"] > 20.0  # 200 images, 2 epochs; chance is 10%
    assert results["runs"]["binary"]["conv2_sign_flips_percent_per_epoch"][0] > 0
    assert "98.87%" in (tmp_path / "lenet" / "README.md").read_text()


def test_bottleneck_codes_are_bits_and_psnr_is_on_unit_pixels():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    binary = binary_bottleneck.BottleneckAutoencoder(8, binary=True).eval()
    code = binary.encode(x)
    assert code.shape == (4, 8, 7, 7) and set(code.unique().tolist()) <= {0.0, 1.0}
    assert binary(x).shape == x.shape and binary.code_bits() == 8 * 49
    floating = binary_bottleneck.BottleneckAutoencoder(8, binary=False).eval()
    assert floating.code_bits() == 32 * 8 * 49
    with torch.no_grad():
        code = floating.encode(x)
    assert float(code.min()) >= 0.0 and float(code.max()) <= 1.0
    grey = torch.zeros(1, 1, 28, 28)  # 0.5 on [0, 1] pixels
    assert float(binary_bottleneck.psnr_per_image(grey, grey + 0.2)[0]) == pytest.approx(20.0)  # MSE 0.01
    assert float(binary_bottleneck.psnr_per_image(grey, grey)[0]) == binary_bottleneck.PSNR_CAP_DB


def test_binary_bottleneck_study_plumbing(mnist, tmp_path):
    settings = binary_bottleneck.Settings.smoke_run()
    results = binary_bottleneck.run_binary_bottleneck(mnist, tmp_path / "ae", settings, command="c")
    _check_outputs(tmp_path / "ae", results, figures=2)
    runs = {(r["bottleneck"], r["code_channels"]): r for r in results["runs"]}
    assert set(runs) == {(k, c) for k in ("binary", "float") for c in settings.code_channels}
    assert runs[("binary", 4)]["bits_per_pixel"] == 0.25 and runs[("binary", 4)]["compression_vs_8bit"] == 32.0
    assert runs[("float", 4)]["compression_vs_8bit"] == 1.0
    assert 0.0 <= runs[("binary", 2)]["test"]["bit_entropy_mean"] <= 1.0
    assert results["naive_codecs"]["block4x4_8bit"]["bits_per_pixel"] == 0.5


def test_gaussian_average_pooling_matches_sampling():
    torch.manual_seed(0)
    mean, var = torch.randn(1, 1, 2, 2), torch.rand(1, 1, 2, 2) + 0.1
    pooled = pbnet_ablation.GaussianAvgPool2d(2)(Gaussian(mean, var))
    samples = mean + var.sqrt() * torch.randn(200_000, 1, 2, 2)
    averages = samples.mean(dim=(2, 3))
    assert float(pooled.mean.squeeze()) == pytest.approx(float(averages.mean()), abs=0.01)
    assert float(pooled.var.squeeze()) == pytest.approx(float(averages.var()), rel=0.02)
    assert pbnet_ablation.GaussianAvgPool2d(2)(mean).var is None


def test_pbnet_variants_and_their_deterministic_networks(mnist):
    images = TensorSplits.from_splits(mnist.subset(20, 2, 2)).train_x
    by_name = {v.name: v for v in pbnet_ablation.VARIANTS}
    for name, variant in by_name.items():
        pbnet = pbnet_ablation.build(variant)
        assert pbnet(images[:4]).shape == (4, 10)
        network = pbnet_ablation.derived_network(pbnet, variant, "map", images)
        kinds = {type(m) for m in network.modules()}
        assert (nn.BatchNorm2d in kinds) == variant.batch_norm
        assert (nn.AvgPool2d in kinds) == (variant.pooling == "mean")
        assert (nn.MaxPool2d in kinds) == (variant.pooling == "max")
        weights = network.get_submodule("conv2").quantized_weight()
        assert torch.equal(weights, torch.where(pbnet.get_submodule("conv2").theta >= 0, 1.0, -1.0))


def test_pbnet_ablation_study_plumbing(mnist, tmp_path):
    settings = pbnet_ablation.Settings.smoke_run()
    results = pbnet_ablation.run_pbnet_ablation(mnist, tmp_path / "pb", settings, command="c")
    _check_outputs(tmp_path / "pb", results, figures=2)
    assert list(results["variants"]) == [v.name for v in pbnet_ablation.VARIANTS]
    ensemble = results["variants"]["pbnet"]["ensemble"]
    assert len(ensemble["accuracy_by_size"]) == len(ensemble["single_networks"]) == settings.ensemble_size
    assert ensemble["accuracy_by_size"][0] == ensemble["single_networks"][0]
    assert "ensemble" not in results["variants"]["no-batch-norm"]
