"""PBNet and PBNet-S on the mnist-bnn topology (Peters & Welling 2018, arXiv 1809.03368).

``pbnet`` propagates the mean of each binary activation (the paper's PBNet);
``pbnet-s`` samples binary activations during training with a hard
Binary-Concrete relaxation (PBNet-S). Both use the layers of
:mod:`bnnbench.nn.pbnet` (see its docstring for the model and for every choice
the paper leaves open) in the 32C3-MP2-64C3-MP2-512FC-10 topology of
:mod:`bnnbench.models.mnist_bnn`, with the same options: the first layer takes
the real-valued image (binary weights, real inputs: the paper's first-layer
case), and by default the last layer keeps real weights, as in mnist-bnn, so
that a binarized PBNet and a BNN are the same deterministic network.

Choices where the paper is silent, specific to the model:

* The float twin of a PBNet (``float_twin=True``) is mnist-bnn's float twin
  (the paper's FPNet). PBNet-only options are ignored for it.
* :func:`init_from_float` (used for PBNet-S, and available for PBNet) sets
  ``theta = clip(w / std(w), -0.9, 0.9)`` per layer as the issue specifies, and
  also copies the batch-norm affine parameters and running statistics and the
  real-valued last layer, which share the float twin's names and shapes.
* :func:`binarize` turns a trained PBNet into a deterministic mnist-bnn whose
  binary weights are the mode (``"map"``), one sample (``"sample"``) or the
  ternary reading (``"ternary"``: ±1 where that value has probability >= 3/4,
  else 0) of each weight; batch-norm parameters are copied, and the running
  statistics should then be re-estimated on training data
  (:func:`bnnbench.training.evaluation.reestimate_batchnorm`), because the
  statistics of a deterministic network differ from those of the distribution.
  Ternary weights cannot be represented by a sign quantizer, so the ternary
  network has ``weight_quantizer=None`` and weights in {-1, 0, +1}.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bnnbench.models.mnist_bnn import build_mnist_bnn
from bnnbench.nn.pbnet import (
    BinaryActivation,
    Gaussian,
    GaussianFlatten,
    GaussianLinear,
    PBConv2d,
    PBLinear,
    StochasticBatchNorm,
    StochasticMaxPool2d,
    binary_cross_entropy_probit,
    map_weights,
    probit_scores,
    sample_logits,
    sample_weights,
    ternary_weights,
    theta_from_float_weights,
)

__all__ = ["PBNet", "build_pbnet", "build_pbnet_s", "binarize", "init_from_float", "WEIGHT_MODES", "LOSSES"]

#: How :func:`binarize` reads a weight distribution.
WEIGHT_MODES = ("map", "sample", "ternary")
#: The training losses of the paper's Table 1: cross entropy on the Gaussian
#: logits ("ce") and the binary cross entropy of binarized outputs ("bce").
LOSSES = ("ce", "bce")


class PBNet(nn.Sequential):
    """A PBNet: a sequence of probabilistic layers ending in Gaussian logits.

    With ``loss="ce"``, ``forward`` returns one sample of the logits in
    training mode (the local reparametrization trick) and their means in eval
    mode; with ``loss="bce"`` it returns the probit scores ``mu / sigma`` of
    the outputs in both modes (:func:`bnnbench.nn.pbnet.probit_scores`). In
    either case the predicted class is the argmax, and :meth:`loss_function`
    is the loss to train with.
    """

    def __init__(
        self,
        *,
        sampled: bool,
        float_last_layer: bool = True,
        bn_before_pool: bool = False,
        theta_clip: float = 0.9,
        temperature: float = 1.0,
        bfloat16_products: bool = False,
        loss: str = "ce",
    ) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
        mode = "sample" if sampled else "mean"
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for index, (cin, cout) in enumerate(((1, 32), (32, 64)), start=1):
            layers[f"conv{index}"] = PBConv2d(
                cin, cout, 3, padding=1, theta_clip=theta_clip, bfloat16_products=bfloat16_products
            )
            pool, norm = StochasticMaxPool2d(2), StochasticBatchNorm(cout)
            if bn_before_pool:
                layers[f"bn{index}"], layers[f"pool{index}"] = norm, pool
            else:
                layers[f"pool{index}"], layers[f"bn{index}"] = pool, norm
            layers[f"act{index}"] = BinaryActivation(mode, temperature=temperature)
        layers["flatten"] = GaussianFlatten()
        layers["fc1"] = PBLinear(64 * 7 * 7, 512, theta_clip=theta_clip, bfloat16_products=bfloat16_products)
        layers["bn3"] = StochasticBatchNorm(512)
        layers["act3"] = BinaryActivation(mode, temperature=temperature)
        if float_last_layer:
            layers["fc2"] = GaussianLinear(512, 10)
        else:
            layers["fc2"] = PBLinear(512, 10, theta_clip=theta_clip, bfloat16_products=bfloat16_products)
            layers["bn4"] = StochasticBatchNorm(10)
        super().__init__(layers)
        self.sampled = sampled
        self.float_last_layer = float_last_layer
        self.bn_before_pool = bn_before_pool
        self.loss = loss

    def forward(self, x: Tensor) -> Tensor:
        out = super().forward(x)
        if not isinstance(out, Gaussian):
            raise TypeError("a PBNet must end in a layer that returns Gaussian logits")
        if self.loss == "bce":
            return probit_scores(out)
        return sample_logits(out, training=self.training)

    def loss_function(self, outputs: Tensor, targets: Tensor, *, reduction: str = "mean") -> Tensor:
        """The training loss on :meth:`forward`'s outputs: cross entropy, or the paper's BCE (eq. 14)."""
        if self.loss == "bce":
            return binary_cross_entropy_probit(outputs, targets, reduction=reduction)
        return F.cross_entropy(outputs, targets, reduction=reduction)


def build_pbnet(
    *,
    float_twin: bool = False,
    float_last_layer: bool = True,
    bn_before_pool: bool = False,
    theta_clip: float = 0.9,
    loss: str = "ce",
) -> nn.Module:
    """PBNet (mean propagation); with ``float_twin`` the FPNet of the same topology.

    ``loss="bce"`` trains with the paper's binary cross entropy; with
    ``float_last_layer=False`` the last layer is binary and batch-normalized
    too, the paper's PBNet-MAP (BCE) of Table 1. PBNet samples no activation,
    so it has none of PBNet-S's sampling options (``temperature``,
    ``bfloat16_products``).
    """
    if float_twin:
        return build_mnist_bnn(float_twin=True, float_last_layer=float_last_layer, bn_before_pool=bn_before_pool)
    return PBNet(
        sampled=False,
        float_last_layer=float_last_layer,
        bn_before_pool=bn_before_pool,
        theta_clip=theta_clip,
        loss=loss,
    )


def build_pbnet_s(
    *,
    float_twin: bool = False,
    float_last_layer: bool = True,
    bn_before_pool: bool = False,
    theta_clip: float = 0.9,
    temperature: float = 1.0,
    bfloat16_products: bool = False,
    loss: str = "ce",
) -> nn.Module:
    """PBNet-S (sampled binary activations); with ``float_twin`` the FPNet.

    ``loss`` as for :func:`build_pbnet`.

    ``bfloat16_products`` trains the products of sampled activations and
    ``theta`` in bfloat16 (see :meth:`bnnbench.nn.pbnet.PBConv2d.mean_product`);
    PBNet, which samples no activation, has no such products and no such option.
    """
    if float_twin:
        return build_mnist_bnn(float_twin=True, float_last_layer=float_last_layer, bn_before_pool=bn_before_pool)
    return PBNet(
        sampled=True,
        float_last_layer=float_last_layer,
        bn_before_pool=bn_before_pool,
        theta_clip=theta_clip,
        temperature=temperature,
        bfloat16_products=bfloat16_products,
        loss=loss,
    )


def _named(model: nn.Module) -> dict[str, nn.Module]:
    return dict(model.named_children())


def _tensor(module: nn.Module, attribute: str, name: str) -> Tensor:
    """``module.attribute`` as a tensor; ``ValueError`` naming layer ``name`` if it is not one."""
    value = getattr(module, attribute, None)
    if not isinstance(value, Tensor):
        raise ValueError(f"{name}: has no tensor {attribute!r}")
    return value


def _copy_batch_norm(target: nn.Module, source: nn.Module, name: str) -> None:
    for attribute in ("weight", "bias", "running_mean", "running_var"):
        src = _tensor(source, attribute, name)
        dst = _tensor(target, attribute, name)
        if src.shape != dst.shape:
            raise ValueError(f"{name}.{attribute}: shape {tuple(src.shape)} does not match {tuple(dst.shape)}")
        with torch.no_grad():
            dst.copy_(src)


def init_from_float(pbnet: PBNet, float_model: nn.Module) -> None:
    """Initialise a PBNet from its trained float twin (PBNet-S, paper section 5).

    ``theta = clip(w / std(w))`` per binary layer; batch norm and the real last
    layer are copied. Raises ``ValueError`` naming the first layer that is
    missing or has a different shape.
    """
    source = _named(float_model)
    for name, layer in _named(pbnet).items():
        if not isinstance(layer, (PBConv2d, PBLinear, GaussianLinear, StochasticBatchNorm)):
            continue
        if name not in source:
            raise ValueError(f"the float model has no layer {name!r} to initialise the PBNet from")
        src = source[name]
        if isinstance(layer, StochasticBatchNorm):
            _copy_batch_norm(layer, src, name)
            continue
        weight = getattr(src, "weight", None)
        target = layer.theta if isinstance(layer, (PBConv2d, PBLinear)) else layer.weight
        if weight is None or weight.shape != target.shape:
            shape = None if weight is None else tuple(weight.shape)
            raise ValueError(f"{name}: float weight shape {shape} does not match {tuple(target.shape)}")
        with torch.no_grad():
            if isinstance(layer, GaussianLinear):
                layer.weight.copy_(weight)
                if layer.bias is not None:
                    layer.bias.copy_(_tensor(src, "bias", name))
            else:
                target.copy_(theta_from_float_weights(weight.detach(), layer.theta_clip))


def binarize(pbnet: PBNet, weights: str = "map", *, generator: torch.Generator | None = None) -> nn.Sequential:
    """A deterministic mnist-bnn holding one reading of the PBNet's weights.

    ``weights`` is ``"map"``, ``"sample"`` (drawn with ``generator``) or
    ``"ternary"``. Re-estimate the batch-norm statistics before use.
    """
    if weights not in WEIGHT_MODES:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_MODES)}; got {weights!r}")
    network = build_mnist_bnn(
        float_last_layer=pbnet.float_last_layer,
        bn_before_pool=pbnet.bn_before_pool,
        weight_quantizer=None if weights == "ternary" else "ste_sign",
    )
    read = {
        "map": map_weights,
        "sample": lambda theta: sample_weights(theta, generator),
        "ternary": ternary_weights,
    }[weights]
    target = _named(network)
    for name, layer in _named(pbnet).items():
        with torch.no_grad():
            if isinstance(layer, (PBConv2d, PBLinear)):
                _tensor(target[name], "weight", name).copy_(read(layer.theta))
            elif isinstance(layer, GaussianLinear):
                _tensor(target[name], "weight", name).copy_(layer.weight)
                _tensor(target[name], "bias", name).copy_(layer.bias)
            elif isinstance(layer, StochasticBatchNorm):
                _copy_batch_norm(target[name], layer, name)
    return network.eval()
