"""Model registry, topologies, float twins, PBNet binarization and initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bnnbench import models
from bnnbench.models.pbnet import PBNet, binarize, init_from_float
from bnnbench.nn import QActivation, QConv2d, QConv2d_NoAct, QLinear
from bnnbench.nn.pbnet import binary_cross_entropy_probit, probit_scores
from bnnbench.training.evaluation import classification_loss, evaluate_classifier


@pytest.mark.parametrize("name", models.names())
@pytest.mark.parametrize("float_twin", [False, True])
def test_every_model_builds_runs_and_backpropagates(name, float_twin):
    torch.manual_seed(0)
    model = models.create(name, float_twin=float_twin)
    assert model.bnnbench_name == name
    x = torch.randn(3, *model.input_shape)
    model.train()
    logits = model(x)
    assert logits.shape == (3, 10)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    assert torch.equal(model(x), model(x))  # eval mode is deterministic


@pytest.mark.parametrize("name", models.names())
def test_float_twin_has_the_same_parameter_shapes(name):
    binary = {k: v.shape for k, v in models.create(name).state_dict().items() if "theta" not in k}
    twin = {k: v.shape for k, v in models.create(name, float_twin=True).state_dict().items()}
    for key, shape in binary.items():
        if key.startswith("scale."):  # the binary weights' magnitude has no float counterpart
            continue
        assert twin[key] == shape


def test_mnist_bnn_topology_and_precision_options():
    model = models.create("mnist-bnn")
    assert list(dict(model.named_children())) == [
        "conv1", "pool1", "bn1", "conv2", "pool2", "bn2", "flatten", "fc1", "bn3", "fc2",
    ]
    assert model.conv1.input_quantizer is None and model.conv1.weight_quantizer is not None
    assert model.fc2.weight_quantizer is None and model.fc2.input_quantizer is not None
    assert model.conv2.weight.shape == (64, 32, 3, 3) and model.fc1.weight.shape == (512, 3136)
    ablation = models.create("mnist-bnn", float_first_input=False, float_last_layer=False, bn_before_pool=True)
    assert ablation.conv1.input_quantizer is not None
    assert ablation.fc2.weight_quantizer is not None and isinstance(ablation.bn4, nn.BatchNorm1d)
    assert list(dict(ablation.named_children()))[:3] == ["conv1", "bn1", "pool1"]
    assert models.create("mnist-bnn", weight_clip=None).conv2.weight_clip is None
    assert models.create("mnist-xnornet").conv2.weight_quantizer.name == "magnitude_aware_sign"


def test_lenet_bitorch_uses_bitorch_style_layers():
    model = models.create("lenet-bitorch")
    assert isinstance(model.act2, QActivation) and isinstance(model.conv2, QConv2d_NoAct)
    assert isinstance(model.act3, QActivation) and isinstance(model.fc1, QLinear)
    assert type(model.conv1) is nn.Conv2d and type(model.fc2) is nn.Linear
    assert model.fc1.in_features == 1024 and model.fc1.out_features == 1000


def test_binaryconnect_logreg_variants():
    deterministic = models.create("binaryconnect-logreg")
    stochastic = models.create("binaryconnect-logreg", stochastic=True)
    assert deterministic.fc1.weight_quantizer.name == "ste_sign"
    assert stochastic.fc1.weight_quantizer.name == "stochastic_sign"
    x = torch.randn(2, 1, 28, 28)
    stochastic.eval()
    pixels = (x.flatten(1) + 1) / 2
    expected = pixels @ torch.where(stochastic.fc1.weight >= 0, 1.0, -1.0).T + stochastic.fc1.bias
    assert torch.allclose(stochastic(x), expected * stochastic.scale.alpha, atol=1e-5)


def test_finn_topologies():
    cnv = models.create("cnv")
    assert cnv.input_shape == (3, 32, 32)
    assert cnv.fc1.in_features == 256
    convs = [m for m in cnv.modules() if isinstance(m, QConv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256]
    assert all(c.padding == (0, 0) for c in convs)
    assert convs[0].input_quantizer is None
    assert models.create("lfc").fc1.out_features == 1024
    assert models.create("sfc").fc1.input_quantizer is not None
    assert models.create("cnv", in_channels=1, image_size=36).input_shape == (1, 36, 36)
    with pytest.raises(ValueError, match="at least 32x32"):
        models.create("cnv", image_size=28)


def test_registry_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown model 'resnet'.*mnist-bnn"):
        models.create("resnet")
    with pytest.raises(ValueError, match="no option depth.*float_last_layer"):
        models.create("mnist-bnn", depth=3)
    with pytest.raises(ValueError, match="unknown quantizer"):
        models.create("mnist-bnn", weight_quantizer="sgn")


def test_pbnet_float_twin_is_mnist_bnn_twin_and_init_copies_weights():
    torch.manual_seed(1)
    twin = models.create("pbnet-s", float_twin=True)
    assert isinstance(twin.act1, nn.Hardtanh)
    pbnet = models.create("pbnet-s")
    init_from_float(pbnet, twin)
    w = twin.conv2.weight.detach()
    assert torch.allclose(pbnet.conv2.theta.detach(), torch.clamp(w / w.std(), -0.9, 0.9))
    assert torch.equal(pbnet.fc2.weight, twin.fc2.weight)
    assert torch.equal(pbnet.bn3.weight, twin.bn3.weight)
    with pytest.raises(ValueError, match="float weight shape"):
        init_from_float(pbnet, models.create("lenet-bitorch", float_twin=True))


@pytest.mark.parametrize("reading", ["map", "sample", "ternary"])
def test_binarize_builds_the_deterministic_mnist_bnn(reading):
    torch.manual_seed(2)
    pbnet = models.create("pbnet")
    assert isinstance(pbnet, PBNet)
    network = binarize(pbnet, reading, generator=torch.Generator().manual_seed(0))
    assert not network.training
    weights = network.conv2.weight
    values = set(weights.unique().tolist())
    assert values <= ({-1.0, 0.0, 1.0} if reading == "ternary" else {-1.0, 1.0})
    if reading == "map":
        assert torch.equal(weights, torch.where(pbnet.conv2.theta >= 0, 1.0, -1.0))
        assert network.conv2.weight_quantizer is not None
    if reading == "ternary":
        assert network.conv2.weight_quantizer is None
    assert torch.equal(network.fc2.weight, pbnet.fc2.weight)
    assert network(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_binarize_rejects_unknown_reading():
    with pytest.raises(ValueError, match="weights must be one of map, sample, ternary"):
        binarize(models.create("pbnet"), "mean")


@pytest.mark.parametrize("name", ["pbnet", "pbnet-s"])
def test_pbnet_bce_outputs_probit_scores_and_trains_with_eq_14(name):
    torch.manual_seed(0)
    model = models.create(name, loss="bce", float_last_layer=False)
    images, targets = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    model.eval()
    gaussian = nn.Sequential.forward(model, images)
    assert torch.equal(model(images), probit_scores(gaussian))
    model.train()
    scores = model(images)
    loss = classification_loss(model, scores, targets)
    assert torch.equal(loss, binary_cross_entropy_probit(scores, targets))
    loss.backward()
    assert model.fc2.theta.grad is not None and float(model.fc2.theta.grad.abs().sum()) > 0
    # Validation losses (the trainer's and --select-by loss) are the BCE too.
    evaluated_loss = evaluate_classifier(model, images, targets)[0]
    with torch.no_grad():
        expected_loss = float(binary_cross_entropy_probit(model.eval()(images), targets))
    assert evaluated_loss == pytest.approx(expected_loss, rel=1e-6)
    # Cross entropy stays the default, and the map network keeps the binary last layer with its batch norm.
    assert models.create(name).loss == "ce"
    network = binarize(model, "map")
    assert [n for n, _ in network.named_children()][-2:] == ["fc2", "bn4"]
    with pytest.raises(ValueError, match="loss must be one of ce, bce"):
        models.create(name, loss="hinge")
