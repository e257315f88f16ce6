"""High-precision shortcuts around binary blocks, Bi-Real Net style, for the ``larq-guide`` ablation.

Bi-Real Net (Liu et al. 2018, "Bi-Real Net: Enhancing the Performance of
1-bit CNNs With Improved Representational Capability and Advanced Training
Algorithm", section 3.1) adds the real-valued input of each binary
convolution block to its real-valued output (after batch norm), so the
information that the sign of the next block throws away still reaches it;
larq's guide "Building BNNs" recommends such shortcuts. The block's body is
unchanged; only ``body(x) + shortcut(x)`` is added, which the workload tracer
records as an ``add`` layer.

Shortcut shapes, the choices this ablation makes:

* ``mnist-bnn`` has one block whose input and output differ only by
  downsampling and channel count (``conv2``: 32x14x14 -> 64x7x7); its
  shortcut is Bi-Real Net's downsampling shortcut: 2x2 average pooling, a
  real-valued 1x1 convolution to 64 channels and batch norm. ``fc1`` changes
  the width (3136 -> 512) and gets no shortcut.
* FINN ``cnv`` repeats each width twice with "valid" 3x3 convolutions, so the
  second convolution of each pair maps ``w x S x S`` to ``w x (S-2) x (S-2)``;
  its shortcut is a 3x3 average pooling with stride 1, the mean of the input
  window the convolution's output pixel sees (a parameter-free identity for
  valid padding).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from torch import Tensor, nn

__all__ = ["Residual", "with_shortcuts", "mnist_bnn_with_shortcuts", "cnv_with_shortcuts"]


class Residual(nn.Module):
    """``body(x) + shortcut(x)``."""

    def __init__(self, body: nn.Module, shortcut: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.shortcut(x)


def with_shortcuts(model: nn.Sequential, blocks: Sequence[tuple[Sequence[str], nn.Module]]) -> nn.Sequential:
    """``model`` with each run of consecutive named layers wrapped in a :class:`Residual`.

    ``blocks`` lists ``(layer names, shortcut)``; the layers (modules of
    ``model``, reused, not copied) become the residual's body, named
    ``res<i>``. Raises ``ValueError`` for names that are missing or not
    consecutive.
    """
    children = list(model.named_children())
    names = [name for name, _ in children]
    starts: dict[int, tuple[Sequence[str], nn.Module]] = {}
    for layer_names, shortcut in blocks:
        if not layer_names or any(name not in names for name in layer_names):
            raise ValueError(f"shortcut block {list(layer_names)}: the model has layers {names}")
        first = names.index(layer_names[0])
        if names[first : first + len(layer_names)] != list(layer_names):
            raise ValueError(f"shortcut block {list(layer_names)} is not a run of consecutive layers")
        starts[first] = (layer_names, shortcut)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    index = 0
    while index < len(children):
        if index in starts:
            layer_names, shortcut = starts[index]
            body = nn.Sequential(OrderedDict(children[index : index + len(layer_names)]))
            layers[f"res{len([k for k in layers if k.startswith('res')]) + 1}"] = Residual(body, shortcut)
            index += len(layer_names)
        else:
            name, module = children[index]
            layers[name] = module
            index += 1
    return nn.Sequential(layers)


def mnist_bnn_with_shortcuts(model: nn.Sequential) -> nn.Sequential:
    """mnist-bnn (pool before batch norm) with a Bi-Real downsampling shortcut around its second block."""
    conv2 = model.get_submodule("conv2")
    assert isinstance(conv2, nn.Conv2d)
    shortcut = nn.Sequential(
        nn.AvgPool2d(2),
        nn.Conv2d(conv2.in_channels, conv2.out_channels, 1, bias=False),
        nn.BatchNorm2d(conv2.out_channels),
    )
    return with_shortcuts(model, [(("conv2", "pool2", "bn2"), shortcut)])


def cnv_with_shortcuts(model: nn.Sequential) -> nn.Sequential:
    """FINN cnv (batch norm before pooling) with a shortcut around the second convolution of each pair."""
    return with_shortcuts(
        model,
        [((f"conv{i}", f"bn{i}"), nn.AvgPool2d(3, stride=1)) for i in (2, 4, 6)],
    )
