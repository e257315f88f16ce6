"""Inference engine: compile trained binary torch models onto the C kernels.

``compile(model, input_shape)`` returns a :class:`CompiledModel` whose call
runs the whole forward pass in one C call: weights packed once, BatchNorm and
sign folded into integer thresholds, activations kept bit-packed between
binary layers, max-pool on packed data, float first and last layers in float.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from bnnbench.engine.compiler import Compiler, leaf_modules
from bnnbench.engine.folding import UnsupportedModelError
from bnnbench.engine.program import CompiledEnsemble, CompiledModel, LayerTime

__all__ = ["compile", "compile_ensemble", "CompiledModel", "CompiledEnsemble", "LayerTime", "UnsupportedModelError"]


def float_size_bytes(model: nn.Module) -> int:
    """Bytes of the model as float32: every parameter and BatchNorm running statistic."""
    tensors = list(model.parameters()) + [b for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var"))]
    return 4 * sum(t.numel() for t in tensors)


def compile(model: nn.Module, input_shape: Sequence[int], threads: int = 1) -> CompiledModel:  # noqa: A001
    """Compile ``model`` (eval-mode semantics) for inputs of shape ``(C, H, W)``."""
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
    shape = (int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))
    was_training = model.training
    model.eval()
    try:
        compiler = Compiler(shape)
        for name, module in leaf_modules(model):
            compiler.add(name, module)
        outputs = compiler.finish()
    finally:
        model.train(was_training)
    return CompiledModel(compiler.ops, shape, outputs, float_size_bytes(model), threads=threads)


def compile_ensemble(models: Sequence[nn.Module], input_shape: Sequence[int], threads: int = 1) -> CompiledEnsemble:
    """PBNet-X: compile each sampled network; predictions average their softmax outputs."""
    return CompiledEnsemble([compile(m, input_shape, threads) for m in models])
