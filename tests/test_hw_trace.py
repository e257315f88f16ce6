"""bnnbench.workload: one traced forward pass of a torch model gives its hw_models workload."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from bnnbench.workload import UnsupportedModuleError, resolve_workload, trace_workload
from hw_models.summary import summarize
from hw_models.workload import macs


class SignQuantizer(nn.Module):
    """A stand-in for a bnnbench.nn quantizer: sign with a ``bits`` attribute."""

    bits = 1

    def forward(self, x: Tensor) -> Tensor:
        return torch.where(x >= 0, 1.0, -1.0)


class FakeQConv2d(nn.Conv2d):
    """larq-style layer, duck-typed: quantizers as attributes (None = float)."""

    def __init__(self, *args, input_quantizer=None, weight_quantizer=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.input_quantizer = input_quantizer
        self.weight_quantizer = weight_quantizer

    def forward(self, x: Tensor) -> Tensor:
        if self.input_quantizer is not None:
            x = self.input_quantizer(x)
        w = self.weight if self.weight_quantizer is None else self.weight_quantizer(self.weight)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class FakeQActivation(nn.Module):
    """bitorch-style activation module with a ``quantizer`` attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.quantizer = SignQuantizer()

    def forward(self, x: Tensor) -> Tensor:
        return self.quantizer(x)


def test_plain_torch_model_shapes_and_parameter_counts() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.2),
        nn.Flatten(), nn.Linear(8 * 14 * 14, 10),
    )
    w = trace_workload(model, (1, 28, 28), name="plain")
    assert [layer.kind for layer in w.layers] == ["conv", "bn", "activation", "maxpool", "flatten", "dense"]
    assert w.layers[0].output_shape == (28, 28, 8)
    assert w.layers[0].padding == (1, 1)
    torch_params = sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if "running" in n)
    assert summarize(w).totals.params == torch_params
    assert macs(w.layers[0]) == 28 * 28 * 8 * 9
    assert all(layer.weight_bits in (None, 32) for layer in w.layers)


def test_duck_typed_binary_layers_get_one_bit_operands() -> None:
    model = nn.Sequential(
        FakeQConv2d(3, 16, 3, padding=1, bias=False, weight_quantizer=SignQuantizer()),
        nn.BatchNorm2d(16),
        FakeQConv2d(16, 16, 3, padding=1, bias=False, input_quantizer=SignQuantizer(), weight_quantizer=SignQuantizer()),
        nn.BatchNorm2d(16),
        FakeQActivation(),
        nn.Flatten(),
        nn.Linear(16 * 8 * 8, 10),
    )
    w = trace_workload(model, (3, 8, 8))
    first, second = w.layers[0], w.layers[2]
    assert (first.weight_bits, first.input_bits) == (1, 32)
    assert (second.weight_bits, second.input_bits) == (1, 1)
    act = w.layers[4]
    assert act.kind == "activation" and act.output_bits == 1
    assert w.layers[-1].input_bits == 1  # fed by the 1-bit activation through flatten
    assert summarize(w).totals.binary_mac_ratio == pytest.approx(macs(second) / summarize(w).totals.macs)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(8 * 6 * 6, 3)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv1(x)
        z = self.conv2(torch.relu(y)) + y
        cat = torch.cat([z, y], dim=1)
        return self.fc(cat.view(cat.size(0), -1))


def test_functional_add_concat_and_view_become_layers() -> None:
    w = trace_workload(Residual(), (4, 6, 6))
    kinds = [layer.kind for layer in w.layers]
    assert kinds == ["conv", "activation", "conv", "add", "concat", "flatten", "dense"]
    add, concat = w.layers[3], w.layers[4]
    assert set(add.inputs) == {"conv1", "conv2"}
    assert concat.inputs == (add.name, "conv1") and concat.output_shape == (6, 6, 8)
    # the shortcut keeps conv1's output alive: peak includes it
    assert summarize(w).totals.peak_activation_bytes >= 3 * 6 * 6 * 4 * 4


def test_unknown_module_is_an_error_naming_it_and_its_type() -> None:
    class Mystery(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x * 2

    model = nn.Sequential(nn.Conv2d(1, 2, 3), Mystery())
    with pytest.raises(UnsupportedModuleError, match=r"module '1' of type .*Mystery.* not supported"):
        trace_workload(model, (1, 8, 8))


def test_unsupported_functional_operation_is_an_error() -> None:
    class Exp(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x: Tensor) -> Tensor:
            return torch.exp(self.conv(x))

    with pytest.raises(UnsupportedModuleError, match="'exp'"):
        trace_workload(Exp(), (1, 8, 8))


def test_missing_input_shape_is_an_error() -> None:
    from hw_models.errors import WorkloadError

    with pytest.raises(WorkloadError, match="input_shape"):
        trace_workload(nn.Linear(3, 2))


def test_traced_bnnbench_models_match_the_zoo_where_available() -> None:
    models = pytest.importorskip("bnnbench.models")
    from hw_models import zoo

    for name in ("mnist-bnn", "lenet-bitorch", "cnv", "lfc", "binaryconnect-logreg"):
        if name not in models.names():
            continue
        traced = resolve_workload(name, traced=True)
        expected = zoo.get(name)
        # binary operands must agree; the precision of a real-valued network input (8-bit pixels on
        # FINN hardware, floats in torch) is a deployment choice
        got = [(l.kind, l.input_shape, l.output_shape, l.weight_bits, l.input_bits == 1) for l in traced.layers if l.is_matrix]
        want = [(l.kind, l.input_shape, l.output_shape, l.weight_bits, l.input_bits == 1) for l in expected.layers if l.is_matrix]
        assert got == want, name
