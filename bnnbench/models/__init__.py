"""Reference models by name: ``create(name, *, float_twin=False, **options)``.

Every binary model has a float twin (same topology, float weights, hardtanh
where the binary model takes a sign), built with ``float_twin=True``.
``names()`` lists the models and :func:`describe` says what each one is and
which paper it follows. A created model carries ``input_shape`` (C, H, W) and
``bnnbench_name`` attributes for the tools that consume it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from bnnbench.models.finn import build_cnv, build_lfc, build_sfc
from bnnbench.models.lenet import build_lenet_bitorch
from bnnbench.models.logreg import build_binaryconnect_logreg
from bnnbench.models.mnist_bnn import MNIST_INPUT_SHAPE, build_mnist_bnn, build_mnist_xnornet
from bnnbench.models.pbnet import PBNet, binarize, build_pbnet, build_pbnet_s, init_from_float

__all__ = ["ModelSpec", "create", "names", "describe", "PBNet", "binarize", "init_from_float"]


def _mnist_shape(options: dict[str, Any]) -> tuple[int, int, int]:
    return MNIST_INPUT_SHAPE


def _cnv_shape(options: dict[str, Any]) -> tuple[int, int, int]:
    return (options["in_channels"], options["image_size"], options["image_size"])


@dataclass(frozen=True)
class ModelSpec:
    """A named model: its builder, what it is, what it follows, what it takes."""

    name: str
    build: Callable[..., nn.Module]
    summary: str
    reference: str
    shape: Callable[[dict[str, Any]], tuple[int, int, int]] = _mnist_shape

    def options(self) -> dict[str, Any]:
        """The builder's keyword options and their defaults (``float_twin`` excluded)."""
        params = inspect.signature(self.build).parameters
        return {k: p.default for k, p in params.items() if k != "float_twin"}

    def input_shape(self, options: dict[str, Any]) -> tuple[int, int, int]:
        """Input shape (C, H, W) of the model built with ``options``."""
        return self.shape({**self.options(), **options})


_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "mnist-bnn",
            build_mnist_bnn,
            "BNN 32C3-MP2-64C3-MP2-512FC-10, sign activations and weights",
            "Courbariaux et al. 2016 (BNN); topology of Peters & Welling 2018",
        ),
        ModelSpec(
            "mnist-xnornet",
            build_mnist_xnornet,
            "mnist-bnn with XNOR-Net per-channel weight scaling",
            "Rastegari et al. 2016 (XNOR-Net)",
        ),
        ModelSpec(
            "pbnet",
            build_pbnet,
            "Probabilistic BNN on the mnist-bnn topology, mean propagation",
            "Peters & Welling 2018, arXiv 1809.03368 (PBNet)",
        ),
        ModelSpec(
            "pbnet-s",
            build_pbnet_s,
            "Probabilistic BNN on the mnist-bnn topology, sampled activations",
            "Peters & Welling 2018, arXiv 1809.03368 (PBNet-S)",
        ),
        ModelSpec(
            "lenet-bitorch",
            build_lenet_bitorch,
            "LeNet of the bitorch introduction, bitorch-style layers",
            "bitorch (hpi-xnor), LeNet example",
        ),
        ModelSpec(
            "binaryconnect-logreg",
            build_binaryconnect_logreg,
            "logistic regression with BinaryConnect weights (deterministic or stochastic)",
            "Courbariaux et al. 2015 (BinaryConnect)",
        ),
        ModelSpec("sfc", build_sfc, "FINN SFC: binary MLP 256x3", "Umuroglu et al. 2017 (FINN)"),
        ModelSpec("lfc", build_lfc, "FINN LFC: binary MLP 1024x3", "Umuroglu et al. 2017 (FINN)"),
        ModelSpec(
            "cnv",
            build_cnv,
            "FINN CNV: 2x64C3-MP-2x128C3-MP-2x256C3-2x512FC, valid padding",
            "Umuroglu et al. 2017 (FINN)",
            shape=_cnv_shape,
        ),
    )
}


def names() -> list[str]:
    """Model names, in registry order."""
    return list(_SPECS)


def describe(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name`` (``ValueError`` listing names if unknown)."""
    try:
        return _SPECS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(names())}") from None


def create(name: str, *, float_twin: bool = False, **options: Any) -> nn.Module:
    """Build model ``name`` (or its float twin) with builder ``options``.

    Unknown options are a ``ValueError`` that lists the model's options.
    """
    spec = describe(name)
    allowed = spec.options()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        listing = ", ".join(f"{k}={v!r}" for k, v in allowed.items()) or "none"
        raise ValueError(f"model {name!r} has no option {', '.join(unknown)}; its options: {listing}")
    model = spec.build(float_twin=float_twin, **options)
    model.input_shape = spec.input_shape(options)  # type: ignore[assignment]
    model.bnnbench_name = name  # type: ignore[assignment]
    return model
