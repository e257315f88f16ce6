"""larq-style and bitorch-style quantized layers, latent clipping, kernel recorder."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bnnbench.nn import (
    FixedAffine,
    LearnedScale,
    KernelRecorder,
    QActivation,
    QConv2d,
    QConv2d_NoAct,
    QLinear,
    SteSign,
    clip_latent_weights,
)


def sign(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= 0, 1.0, -1.0)


def test_qconv2d_computes_conv_of_quantized_input_and_weights():
    torch.manual_seed(0)
    layer = QConv2d(3, 5, 3, padding=1, bias=True, input_quantizer="ste_sign", weight_quantizer="ste_sign")
    x = torch.randn(2, 3, 8, 8)
    expected = F.conv2d(sign(x), sign(layer.weight), layer.bias, padding=1)
    assert torch.allclose(layer(x), expected, atol=1e-5)


def test_qconv2d_pad_value_one_pads_after_quantization():
    torch.manual_seed(1)
    layer = QConv2d(2, 4, 3, padding=1, bias=False, input_quantizer="ste_sign", weight_quantizer="ste_sign", pad_value=1.0)
    x = torch.randn(1, 2, 5, 5)
    padded = F.pad(sign(x), (1, 1, 1, 1), value=1.0)
    assert torch.allclose(layer(x), F.conv2d(padded, sign(layer.weight)), atol=1e-5)
    zero = QConv2d(2, 4, 3, padding=1, bias=False, input_quantizer="ste_sign", weight_quantizer="ste_sign")
    zero.weight.data.copy_(layer.weight.data)
    assert not torch.allclose(layer(x), zero(x))


def test_qconv2d_without_quantizers_is_a_plain_convolution():
    torch.manual_seed(2)
    layer = QConv2d(3, 4, 3, stride=2, padding=1)
    x = torch.randn(2, 3, 9, 9)
    assert torch.allclose(layer(x), F.conv2d(x, layer.weight, layer.bias, stride=2, padding=1))


def test_qlinear_and_gradients_reach_latent_weights():
    torch.manual_seed(3)
    layer = QLinear(6, 3, input_quantizer="ste_sign", weight_quantizer="ste_sign", weight_clip=1.0)
    x = torch.randn(4, 6)
    out = layer(x)
    assert torch.allclose(out, sign(x) @ sign(layer.weight).T + layer.bias, atol=1e-6)
    out.sum().backward()
    # STE: d out / d W[o, i] = sum_n sign(x[n, i]) where |W| <= 1 (all of them at init).
    assert torch.allclose(layer.weight.grad, sign(x).sum(0).expand(3, 6))


def test_clip_latent_weights_clips_only_layers_with_a_clip():
    model = nn.Sequential(
        QLinear(4, 4, weight_quantizer="ste_sign", weight_clip=0.5),
        QConv2d(1, 1, 3, weight_quantizer="ste_sign", weight_clip=1.0),
        QLinear(4, 4),
    )
    for p in model.parameters():
        p.data.fill_(3.0)
    clip_latent_weights(model)
    assert model[0].weight.max() == 0.5
    assert model[1].weight.max() == 1.0
    assert model[2].weight.max() == 3.0


def test_bitorch_style_equals_larq_style():
    torch.manual_seed(4)
    larq = QConv2d(3, 4, 3, padding=1, input_quantizer="ste_sign", weight_quantizer="ste_sign")
    no_act = QConv2d_NoAct(3, 4, 3, padding=1)
    no_act.load_state_dict(larq.state_dict())
    assert no_act.input_quantizer is None
    bitorch = nn.Sequential(QActivation("ste_sign"), no_act)
    x = torch.randn(2, 3, 6, 6)
    assert torch.allclose(bitorch(x), larq(x))
    assert isinstance(bitorch[0].quantizer, SteSign)


def test_layer_input_and_argument_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"expects input \(N, 3, H, W\), got \(2, 4, 5, 5\)"):
        QConv2d(3, 4, 3)(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"QLinear expects input \(N, 6\)"):
        QLinear(6, 2)(torch.randn(3, 5))
    with pytest.raises(ValueError, match="weight_clip"):
        QLinear(6, 2, weight_clip=0.0)
    with pytest.raises(ValueError, match="needs a quantizer"):
        QActivation(None)
    with pytest.raises(ValueError, match="padding"):
        QConv2d(3, 4, 3, padding="same")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        FixedAffine(0.0)
    with pytest.raises(ValueError, match="positive"):
        LearnedScale(-1.0)


def test_fixed_affine_is_constant_and_saved_as_buffers():
    layer = FixedAffine(0.25, 1.0)
    assert torch.equal(layer(torch.tensor([4.0, -8.0])), torch.tensor([2.0, -1.0]))
    assert set(layer.state_dict()) == {"scale", "offset"} and not list(layer.parameters())
    scale = LearnedScale(0.5)
    scale(torch.tensor([2.0, 3.0])).sum().backward()
    assert float(scale.alpha.grad) == 5.0


def test_kernel_recorder_records_training_steps_and_renders(tmp_path):
    torch.manual_seed(5)
    layer = QConv2d(2, 3, 3, weight_quantizer="ste_sign")
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    with KernelRecorder(layer, [(0, 0), (2, 1)], every=2) as recorder:
        for _ in range(5):
            optimizer.zero_grad()
            layer(torch.randn(1, 2, 5, 5)).sum().backward()
            optimizer.step()
        layer.eval()
        layer(torch.randn(1, 2, 5, 5))  # eval-mode passes are not recorded
    assert recorder.steps == [0, 2, 4]
    assert recorder.snapshots[0].shape == (2, 3, 3)
    assert set(recorder.snapshots[-1].unique().tolist()) <= {-1.0, 1.0}
    assert not torch.equal(recorder.snapshots[0], recorder.snapshots[-1])
    path = recorder.render(tmp_path / "kernels.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    layer.train()
    layer(torch.randn(1, 2, 5, 5))
    assert len(recorder.snapshots) == 3  # removed by the context manager


def test_kernel_recorder_rejects_bad_choices():
    layer = QConv2d(2, 3, 3)
    with pytest.raises(ValueError, match=r"kernel \(3, 0\) is outside"):
        KernelRecorder(layer, [(3, 0)])
    with pytest.raises(TypeError, match="Conv2d"):
        KernelRecorder(nn.Linear(2, 2), [(0, 0)])  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="no snapshots"):
        KernelRecorder(layer, [(0, 0)]).render("unused.png")
