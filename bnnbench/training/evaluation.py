"""Accuracy of trained models, and PBNet's test-time networks.

For a PBNet (Peters & Welling 2018, section 4) the readings evaluated are:

* ``model``: the PBNet itself in eval mode (means propagated, running
  statistics of stochastic batch norm);
* ``map``: one deterministic binary network with each weight at its mode;
* ``ternary``: weights ±1 where that value has probability >= 3/4, else 0;
* ``ensemble``: PBNet-X, the average of the softmax outputs of X binary
  networks whose weights are sampled from the distribution.

Every derived network gets its batch-norm statistics re-estimated on training
images (the first ``bn_images`` of the training split, never validation or
test) before it is evaluated: its activations are those of one binary network,
not of the distribution the running statistics were tracked on.

Choices where the paper is silent: the ensemble averages the members' softmax
probabilities (not their logits or votes); its members are drawn one after
the other from one generator seeded with ``seed``, so the ensemble of X is the
first X members of the ensemble of 16; a weight with ``theta = 0`` exactly has
mode +1 (``sign(0) = +1``); for a PBNet trained with the binary cross entropy
(``loss="bce"``) a member's outputs are its last batch norm's outputs, whose
argmax is its class, and their softmax is averaged like that of logits;
batch norm is re-estimated on 10,000 images by
default (the CLI's ``--bn-images``) as exact averages over batches of 500.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bnnbench.models.pbnet import PBNet, binarize

__all__ = [
    "PBNET_READINGS",
    "classification_loss",
    "accuracy_percent",
    "evaluate_classifier",
    "predict_probabilities",
    "reestimate_batchnorm",
    "evaluate_pbnet",
    "derived_network",
]

#: The PBNet readings :func:`evaluate_pbnet` knows.
PBNET_READINGS = ("model", "map", "ternary", "ensemble")


def classification_loss(model: nn.Module, outputs: Tensor, targets: Tensor, *, reduction: str = "mean") -> Tensor:
    """The loss ``model`` trains with: a PBNet's own (cross entropy or the paper's BCE), else cross entropy."""
    if isinstance(model, PBNet):
        return model.loss_function(outputs, targets, reduction=reduction)
    return F.cross_entropy(outputs, targets, reduction=reduction)


def accuracy_percent(probabilities_or_logits: Tensor, labels: Tensor) -> float:
    """Percentage of rows whose argmax is the label."""
    correct = int((probabilities_or_logits.argmax(dim=1) == labels).sum())
    return 100.0 * correct / len(labels)


@torch.inference_mode()
def evaluate_classifier(
    model: nn.Module, images: Tensor, labels: Tensor, *, batch_size: int = 1000
) -> tuple[float, float]:
    """Mean loss (:func:`classification_loss`) and accuracy (percent) of ``model`` in eval mode."""
    if len(images) != len(labels) or len(labels) == 0:
        raise ValueError(f"need as many labels as images, and at least one: {len(images)} vs {len(labels)}")
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), batch_size):
        logits = model(images[start : start + batch_size])
        target = labels[start : start + batch_size]
        loss_sum += float(classification_loss(model, logits, target, reduction="sum"))
        correct += int((logits.argmax(dim=1) == target).sum())
    model.train(was_training)
    return loss_sum / len(labels), 100.0 * correct / len(labels)


@torch.inference_mode()
def predict_probabilities(model: nn.Module, images: Tensor, *, batch_size: int = 1000) -> Tensor:
    """Softmax outputs of ``model`` in eval mode, ``(N, classes)``."""
    model.eval()
    return torch.cat(
        [F.softmax(model(images[s : s + batch_size]), dim=1) for s in range(0, len(images), batch_size)]
    )


@torch.inference_mode()
def reestimate_batchnorm(model: nn.Module, images: Tensor, *, batch_size: int = 500) -> nn.Module:
    """Recompute every batch norm's running statistics as exact averages over ``images``.

    Only the batch-norm layers run in training mode (other layers, e.g. a
    stochastic quantizer, stay in eval mode); the model is left in eval mode.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return model.eval()
    if len(images) < 2:
        raise ValueError("re-estimating batch norm needs at least two images")
    model.eval()
    saved_momentum = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average: an exact mean over the batches
        norm.train()
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        if len(batch) > 1:
            model(batch)
    for norm, momentum in zip(norms, saved_momentum, strict=True):
        norm.momentum = momentum
    return model.eval()


def derived_network(
    pbnet: PBNet, reading: str, bn_images: Tensor, *, generator: torch.Generator | None = None
) -> nn.Sequential:
    """The deterministic mnist-bnn of one PBNet reading, batch norm re-estimated on ``bn_images``."""
    return reestimate_batchnorm(binarize(pbnet, reading, generator=generator), bn_images)  # type: ignore[return-value]


def _summary(values: list[float]) -> dict[str, float]:
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1))
    return {"mean": mean, "std": spread, "min": min(values), "max": max(values)}


def evaluate_pbnet(
    pbnet: PBNet,
    bn_images: Tensor,
    images: Tensor,
    labels: Tensor,
    *,
    readings: tuple[str, ...] = PBNET_READINGS,
    samples: int = 16,
    seed: int = 0,
    batch_size: int = 1000,
) -> dict[str, Any]:
    """Accuracies (percent) of the requested PBNet readings on ``images``.

    ``bn_images`` are the training images used to re-estimate batch norm.
    The ensemble entry also holds each sampled network's accuracy and the
    accuracy of the ensemble of the first X networks for X = 1..samples.
    """
    unknown = sorted(set(readings) - set(PBNET_READINGS))
    if unknown:
        raise ValueError(f"unknown PBNet readings {unknown}; known: {', '.join(PBNET_READINGS)}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    results: dict[str, Any] = {}
    if "model" in readings:
        results["model"] = evaluate_classifier(pbnet, images, labels, batch_size=batch_size)[1]
    for reading in ("map", "ternary"):
        if reading in readings:
            network = derived_network(pbnet, reading, bn_images)
            results[reading] = evaluate_classifier(network, images, labels, batch_size=batch_size)[1]
    if "ensemble" in readings:
        generator = torch.Generator().manual_seed(seed)
        total = torch.zeros(len(labels), 10)
        singles: list[float] = []
        curve: list[float] = []
        for _ in range(samples):
            network = derived_network(pbnet, "sample", bn_images, generator=generator)
            probabilities = predict_probabilities(network, images, batch_size=batch_size)
            singles.append(accuracy_percent(probabilities, labels))
            total += probabilities
            curve.append(accuracy_percent(total, labels))
        results["ensemble"] = {
            "samples": samples,
            "seed": seed,
            "accuracy": curve[-1],
            "accuracy_by_size": curve,
            "single_networks": _summary(singles),
        }
    return results
