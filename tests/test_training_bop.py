"""Bop: the flip rule, and a short training that keeps binary weights at ±1."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from bnnbench.nn import QLinear
from bnnbench.training import DataSplits, TrainConfig, mnist_splits, train
from bnnbench.training.bop import Bop, binary_weights

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def test_bop_flips_weights_whose_gradient_average_agrees_with_their_sign():
    model = nn.Sequential(QLinear(4, 1, weight_quantizer="ste_sign", bias=True))
    model[0].weight.data = torch.tensor([[0.3, -0.2, 0.5, -0.7]])
    model[0].bias.data.zero_()
    bop = Bop(model, gamma=0.5, threshold=0.1, lr=0.1)
    assert torch.equal(model[0].weight, torch.tensor([[1.0, -1.0, 1.0, -1.0]]))
    assert binary_weights(model) == [model[0].weight]
    model[0].weight.grad = torch.tensor([[1.0, -1.0, -1.0, 0.1]])
    model[0].bias.grad = torch.tensor([1.0])
    bop.step()
    # m = 0.5 g: flip where |m| > 0.1 and sign(m) == sign(w): entries 0 and 1.
    assert torch.equal(model[0].weight, torch.tensor([[-1.0, 1.0, 1.0, -1.0]]))
    assert float(model[0].bias.detach()) == pytest.approx(-0.1)  # Adam's first step is lr * sign(g)
    assert bop.param_groups[0]["lr"] == 0.1
    bop.zero_grad()
    assert model[0].weight.grad is None and model[0].bias.grad is None


def test_bop_argument_errors():
    with pytest.raises(ValueError, match="binary weights"):
        Bop(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="gamma"):
        Bop(nn.Sequential(QLinear(2, 2, weight_quantizer="ste_sign")), gamma=0.0)


def test_short_bop_training_learns_with_binary_weights(tmp_path):
    full = mnist_splits(SHARED_MNIST, train_subset=3000)
    data = DataSplits(full.train_x, full.train_y, full.val_x[:500], full.val_y[:500],
                      full.test_x[:1000], full.test_y[:1000], full.source)
    result = train(TrainConfig(model="sfc", optimizer="bop", epochs=1, seed=0), tmp_path, data=data,
                   progress=False, log=lambda line: None)
    assert result.metrics["test_accuracy"] > 60.0
    from bnnbench.training import load_checkpoint

    model = load_checkpoint(result.checkpoint).model
    for weight in binary_weights(model):
        assert set(weight.unique().tolist()) == {-1.0, 1.0}
