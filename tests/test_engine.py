"""The inference engine agrees with the torch models it compiles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bnnbench import engine, kernels, models
from bnnbench.engine import UnsupportedModelError
from bnnbench.nn.layers import QConv2d, QLinear

ENGINE_MODELS = ["mnist-bnn", "mnist-xnornet", "lenet-bitorch", "sfc", "lfc", "cnv"]


def randomize_batch_norms(model: nn.Module, seed: int) -> None:
    """Non-trivial running statistics and affine parameters, negative scales included."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = module.num_features
                module.running_mean.copy_((torch.rand(n, generator=generator) - 0.5) * 10)
                module.running_var.copy_(torch.rand(n, generator=generator) * 20 + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator) * 2 - 1)
                module.bias.copy_(torch.rand(n, generator=generator) * 2 - 1)


def random_model(name: str, seed: int = 0, **options: object) -> nn.Module:
    torch.manual_seed(seed)
    model = models.create(name, **options)
    randomize_batch_norms(model, seed)
    return model.eval()


@pytest.mark.parametrize("name", ENGINE_MODELS)
def test_compiled_model_agrees_with_torch(name: str) -> None:
    model = random_model(name)
    compiled = engine.compile(model, model.input_shape)
    x = torch.randn(96, *model.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x)
    got = compiled(x)
    assert isinstance(got, torch.Tensor) and got.shape == expected.shape
    assert torch.equal(got.argmax(dim=1), expected.argmax(dim=1))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("options", [{"pad_value": 1.0}, {"bn_before_pool": True}, {"float_last_layer": False},
                                     {"float_first_input": False}])
def test_mnist_bnn_variants_agree(options: dict) -> None:
    model = random_model("mnist-bnn", seed=3, **options)
    compiled = engine.compile(model, model.input_shape)
    x = torch.randn(64, *model.input_shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(compiled(x), expected, rtol=1e-4, atol=1e-4)


def test_binary_activations_match_torch_bit_for_bit() -> None:
    """The packed output of every binary convolution equals the sign of torch's pre-activation."""
    model = random_model("cnv", seed=5)
    compiled = engine.compile(model, model.input_shape)
    x = torch.randn(3, *model.input_shape, generator=torch.Generator().manual_seed(4))
    compiled(x)
    buffers = compiled._buffers[3][0]
    names = [op.name for op in compiled.ops]
    activation = x
    with torch.no_grad():
        for name, module in model.named_children():
            activation = module(activation)
            if name.startswith("bn") and activation.dim() == 4 and f"conv{name[2:]}" in names:
                index = names.index(f"conv{name[2:]}")
                expected = kernels.pack(np.ascontiguousarray(activation.permute(0, 2, 3, 1).numpy()))
                np.testing.assert_array_equal(buffers[index].reshape(expected.shape), expected, err_msg=name)


def test_threads_and_numpy_input_give_the_same_logits() -> None:
    model = random_model("mnist-bnn", seed=7)
    compiled = engine.compile(model, model.input_shape)
    x = np.random.default_rng(0).standard_normal((33, *model.input_shape)).astype(np.float32)
    single = compiled(x, threads=1)
    assert isinstance(single, np.ndarray)
    np.testing.assert_array_equal(compiled(x, threads=2), single)


def test_profile_times_every_op_and_sizes_are_reported() -> None:
    model = random_model("mnist-bnn")
    compiled = engine.compile(model, model.input_shape)
    profile = compiled.profile(torch.randn(4, *model.input_shape))
    assert [p.name for p in profile] == [op.name for op in compiled.ops]
    assert all(p.seconds > 0 for p in profile)
    assert compiled.float_bytes / compiled.model_bytes > 20


def test_ensemble_averages_member_probabilities() -> None:
    members = [random_model("mnist-bnn", seed=s) for s in (1, 2, 3)]
    ensemble = engine.compile_ensemble(members, members[0].input_shape)
    x = torch.randn(8, *members[0].input_shape)
    with torch.no_grad():
        expected = torch.stack([torch.softmax(m(x), dim=1) for m in members]).mean(dim=0)
    np.testing.assert_allclose(ensemble(x), expected.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (nn.Sequential(QConv2d(1, 8, 3, padding=1, weight_quantizer="ste_sign"), nn.ReLU(), nn.Flatten(),
                       QLinear(8 * 28 * 28, 10, input_quantizer="ste_sign", weight_quantizer="ste_sign")),
         "1: ReLU is not supported"),
        (nn.Sequential(nn.Flatten(), QLinear(784, 10, input_quantizer="ste_heaviside", weight_quantizer="ste_sign")),
         "input quantizer ste_heaviside is not a sign"),
        (nn.Sequential(nn.Flatten(), QLinear(784, 10, input_quantizer="ste_sign", weight_quantizer="ste_sign"),
                       nn.BatchNorm1d(10), nn.ReLU()), "ReLU"),
        (nn.Sequential(nn.AvgPool2d(2)), "AvgPool2d is not supported"),
        (nn.Linear(784, 10), "needs an nn.Sequential"),
    ],
)
def test_unsupported_models_are_named_errors(model: nn.Module, message: str) -> None:
    with pytest.raises(UnsupportedModelError, match=message):
        engine.compile(model, (1, 28, 28))


def test_bad_input_is_a_clear_error() -> None:
    model = random_model("sfc")
    compiled = engine.compile(model, model.input_shape)
    with pytest.raises(ValueError, match=r"shape \(N, 1, 28, 28\)"):
        compiled(np.zeros((2, 1, 27, 28), np.float32))
    with pytest.raises(TypeError, match="float32"):
        compiled(np.zeros((2, 1, 28, 28), np.float64))
    x = np.zeros((2, 1, 28, 28), np.float32)
    x[1, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compiled(x)


def _training_images(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A slice of MNIST where ../shared holds it, else learnable class patterns plus noise."""
    from pathlib import Path

    from bnnbench.data.mnist import load_mnist, to_tensors

    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    if shared.is_dir():
        data = load_mnist(shared, download=False)
        return to_tensors(data.train_images[:count], data.train_labels[:count])
    generator = torch.Generator().manual_seed(0)
    patterns = torch.randn(10, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    return patterns[labels] + 0.5 * torch.randn(count, 1, 28, 28, generator=generator), labels


@pytest.mark.parametrize("name", ["mnist-bnn", "lenet-bitorch"])
def test_small_trained_model_agrees_on_every_image(name: str) -> None:
    from bnnbench.engine.agreement import measure_agreement

    torch.manual_seed(0)
    images, labels = _training_images(1000)
    model = models.create(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for step in range(30):
        batch = slice((step * 32) % 960, (step * 32) % 960 + 32)
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    result = measure_agreement(model, engine.compile(model, model.input_shape), images, labels)
    assert result.torch_accuracy > 40  # it learned something (chance is 10): the thresholds are not trivial
    assert result.identical_predictions == result.images, result.disagreements
    assert result.engine_accuracy == result.torch_accuracy


def test_compile_command_checks_a_checkpoint_on_the_test_set(tmp_path, capsys) -> None:
    from pathlib import Path

    from bnnbench.cli import main
    from bnnbench.training.checkpoint import save_checkpoint

    model = random_model("sfc", seed=9)
    path = save_checkpoint(tmp_path / "sfc.pt", model, model_name="sfc", float_twin=False, options={})
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    report = tmp_path / "agreement.json"
    assert main(["compile", str(path), "--data-dir", str(shared), "--out", str(report)]) == 0
    out = capsys.readouterr().out
    assert "binary conv/dense" in out and "of 10000 predictions identical" in out
    import json

    result = json.loads(report.read_text())
    assert result["images"] == 10000 and result["identical_fraction"] >= 0.9999
    assert main(["compile", str(tmp_path / "missing.pt")]) == 2
    assert "no such checkpoint file" in capsys.readouterr().err


@pytest.mark.parametrize("reading", ["map", "sample"])
def test_binarized_pbnet_compiles_and_agrees(reading: str) -> None:
    torch.manual_seed(0)
    network = models.binarize(models.create("pbnet"), reading, generator=torch.Generator().manual_seed(1))
    randomize_batch_norms(network, seed=2)
    compiled = engine.compile(network, models.create("mnist-bnn").input_shape)
    x = torch.randn(64, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = network(x)
    torch.testing.assert_close(compiled(x), expected, rtol=1e-4, atol=1e-4)
