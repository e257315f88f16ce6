"""Derive a ``hw_models`` workload from a torch model by tracing one forward pass.

Forward hooks on the model's layers record each call in execution order with
its input and output shapes; a ``TorchFunctionMode`` records the functional
operations a ``forward`` does between layers (residual ``+``, ``torch.cat``,
``flatten``/``view``, functional activations and pools). Tensor identities
link each layer to the layers that produced its inputs.

Layers are recognised by type for ``torch.nn`` and by duck typing for binary
layers: a module with ``input_quantizer`` / ``weight_quantizer`` attributes
(larq-style ``QConv2d`` / ``QLinear``) has 1-bit inputs / weights where a
quantizer is set (its ``bits`` attribute if it has one), a module with a
``quantizer`` attribute (bitorch-style ``QActivation``) emits that many bits,
and a layer with a ``theta`` parameter (PBNet) has binary weights. Any other
module is an error naming it and its type.

Shapes go from torch's NCHW to the IR's channels-last ``(H, W, C)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from hw_models import zoo
from hw_models.errors import WorkloadError
from hw_models.workload import FLOAT_BITS, NETWORK_INPUT, Layer, Shape, Workload

__all__ = ["trace_workload", "trace_model", "resolve_workload", "UnsupportedModuleError"]


class UnsupportedModuleError(WorkloadError):
    """A module or operation the tracer cannot map to a workload layer."""


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _first_tensor(value: Any) -> Tensor | None:
    """The tensor a module returned (PBNet layers return (mean, variance) tuples: the mean)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], Tensor):
        return value[0]
    return None


def _tensors(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []


def _ir_shape(tensor: Tensor) -> Shape:
    """Per-sample shape, channels last: (N, C, H, W) -> (H, W, C); (N, F) -> (F,)."""
    dims = tuple(int(d) for d in tensor.shape[1:])
    if len(dims) == 3:
        return (dims[1], dims[2], dims[0])
    if len(dims) == 1:
        return dims
    raise UnsupportedModuleError(f"tensor of shape {tuple(tensor.shape)}: only (N, C, H, W) and (N, F) are supported")


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def _quantizer_bits(quantizer: Any) -> int | None:
    """Bits of a quantizer object or name; None for no quantizer (full precision)."""
    if quantizer is None:
        return None
    bits = getattr(quantizer, "bits", getattr(quantizer, "precision", 1))
    return int(bits)


def _padding(module: nn.Module, in_hw: tuple[int, int], out_hw: tuple[int, int], kernel: tuple[int, int],
             stride: tuple[int, int]) -> tuple[int, int]:
    """Explicit symmetric padding; torch's 'same'/'valid' strings resolved from the shapes."""
    padding = getattr(module, "padding", 0)
    if isinstance(padding, str):
        return tuple(max(0, ((o - 1) * s + k - i + 1) // 2) for i, o, k, s in zip(in_hw, out_hw, kernel, stride))  # type: ignore[return-value]
    return _pair(padding)


# ---------------------------------------------------------------------------
# Module -> layer fields
# ---------------------------------------------------------------------------

#: Activation modules of torch.nn that keep full precision.
FLOAT_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.PReLU, nn.GELU, nn.SiLU,
    nn.ELU, nn.Softmax, nn.LogSoftmax, nn.Hardswish, nn.Hardsigmoid,
)
#: Modules that do nothing at inference.
IDENTITY_MODULES: tuple[type[nn.Module], ...] = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
#: Modules recognised by class name (other engineers' layers whose role is plain): name -> IR kind.
NAMED_MODULE_KINDS: dict[str, str] = {
    "FixedScale": "activation",  # multiplies by a constant (bnnbench.nn)
    "FixedAffine": "activation",  # a constant affine map of its input (bnnbench.nn)
    "LearnedScale": "activation",  # multiplies by one learned scalar (bnnbench.nn)
    "GaussianFlatten": "flatten",  # PBNet
    "StochasticMaxPool2d": "maxpool",  # PBNet
    "StochasticBatchNorm": "bn",  # PBNet
    "BinaryActivation": "activation",  # PBNet: emits binary activations
}


def _is_conv(module: nn.Module) -> bool:
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return False
    return isinstance(module, nn.Conv2d) or all(hasattr(module, a) for a in ("in_channels", "out_channels", "kernel_size"))


def _is_linear(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear) or all(hasattr(module, a) for a in ("in_features", "out_features"))


def _weight_bits(module: nn.Module) -> int:
    if isinstance(getattr(module, "theta", None), nn.Parameter):
        return 1  # PBNet: binary weight distributions, deployed as binary weights
    bits = _quantizer_bits(getattr(module, "weight_quantizer", None))
    return FLOAT_BITS if bits is None else bits


def _input_bits(module: nn.Module, producer_bits: int) -> int:
    bits = _quantizer_bits(getattr(module, "input_quantizer", None))
    return producer_bits if bits is None else bits


def _module_kind(module: nn.Module) -> str | None:
    """IR kind of a module, or None if the tracer does not know it."""
    name = type(module).__name__
    if name in NAMED_MODULE_KINDS:
        return NAMED_MODULE_KINDS[name]
    if _is_conv(module):
        return "conv"
    if _is_linear(module):
        return "dense"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "bn"
    if isinstance(module, (nn.MaxPool2d,)):
        return "maxpool"
    if isinstance(module, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
        return "avgpool"
    if isinstance(module, nn.Flatten):
        return "flatten"
    if isinstance(module, FLOAT_ACTIVATIONS) or hasattr(module, "quantizer") or hasattr(type(module), "bits"):
        return "activation"
    if isinstance(module, IDENTITY_MODULES):
        return "identity"
    return None


def _layer_from_module(name: str, module: nn.Module, kind: str, x: Tensor, y: Tensor, producer_bits: int) -> Layer:
    in_shape, out_shape = _ir_shape(x), _ir_shape(y)
    if kind == "conv":
        kernel = _pair(module.kernel_size)
        stride = _pair(getattr(module, "stride", 1))
        return Layer(
            name=name, kind="conv", input_shape=in_shape, output_shape=out_shape, kernel=kernel, stride=stride,
            padding=_padding(module, in_shape[:2], out_shape[:2], kernel, stride),  # type: ignore[arg-type]
            groups=int(getattr(module, "groups", 1)), weight_bits=_weight_bits(module),
            input_bits=_input_bits(module, producer_bits), bias=getattr(module, "bias", None) is not None,
        )
    if kind == "dense":
        if len(in_shape) != 1:
            raise UnsupportedModuleError(f"module '{name}' ({type(module).__name__}) applied to a {x.dim()}-D tensor; "
                                         "only (N, features) inputs are supported for linear layers")
        return Layer(name=name, kind="dense", input_shape=in_shape, output_shape=out_shape,
                     weight_bits=_weight_bits(module), input_bits=_input_bits(module, producer_bits),
                     bias=getattr(module, "bias", None) is not None)
    if kind == "bn":
        stats = 2 if getattr(module, "track_running_stats", True) else 0
        affine = 2 if getattr(module, "affine", True) else 0
        return Layer(name=name, kind="bn", input_shape=in_shape, output_shape=out_shape, input_bits=producer_bits,
                     bn_params_per_channel=max(stats + affine, 2))
    if kind in ("maxpool", "avgpool"):
        return _pool_layer(name, module, kind, in_shape, out_shape, producer_bits)
    if kind == "flatten":
        return Layer(name=name, kind="flatten", input_shape=in_shape, output_shape=out_shape,
                     input_bits=producer_bits, output_bits=producer_bits)
    quantizer = getattr(module, "quantizer", None)
    bits = _quantizer_bits(quantizer) if quantizer is not None else None
    if bits is None and hasattr(type(module), "bits"):
        bits = int(getattr(type(module), "bits"))  # a bare quantizer module
    if type(module).__name__ == "BinaryActivation":
        bits = 1
    return Layer(name=name, kind="activation", input_shape=in_shape, output_shape=out_shape, input_bits=producer_bits,
                 output_bits=producer_bits if bits is None else bits, function=type(module).__name__.lower())


def _pool_layer(name: str, module: nn.Module, kind: str, in_shape: Shape, out_shape: Shape, bits: int) -> Layer:
    if isinstance(module, nn.AdaptiveAvgPool2d):
        if in_shape[0] % out_shape[0] or in_shape[1] % out_shape[1]:
            raise UnsupportedModuleError(f"module '{name}': adaptive pooling from {in_shape[:2]} to {out_shape[:2]} "
                                         "is not a fixed window")
        kernel = (in_shape[0] // out_shape[0], in_shape[1] // out_shape[1])
        stride, padding = kernel, (0, 0)
    else:
        kernel = _pair(module.kernel_size)
        stride = _pair(module.stride if getattr(module, "stride", None) else kernel)
        padding = _pair(getattr(module, "padding", 0))
    return Layer(name=name, kind=kind, input_shape=in_shape, output_shape=out_shape, kernel=kernel, stride=stride,
                 padding=padding, input_bits=bits, output_bits=bits if kind == "maxpool" else FLOAT_BITS)


# ---------------------------------------------------------------------------
# The trace
# ---------------------------------------------------------------------------


@dataclass
class _Trace:
    """Mutable state of one traced forward pass."""

    layers: list[Layer] = field(default_factory=list)
    producer: dict[int, str] = field(default_factory=dict)  # id(tensor) -> layer name
    bits: dict[str, int] = field(default_factory=dict)  # layer name -> output bits
    keep: list[Tensor] = field(default_factory=list)  # keeps traced tensors alive so ids stay unique
    depth: int = 0
    calls: dict[str, int] = field(default_factory=dict)

    def source_of(self, tensor: Tensor, consumer: str) -> str:
        try:
            return self.producer[id(tensor)]
        except KeyError:
            raise UnsupportedModuleError(
                f"'{consumer}' reads a tensor made by an operation the tracer does not know "
                "(an unsupported functional call or in-place change in forward)"
            ) from None

    def unique(self, name: str) -> str:
        count = self.calls.get(name, 0) + 1
        self.calls[name] = count
        return name if count == 1 else f"{name}#{count}"

    def emit(self, layer: Layer, outputs: Sequence[Tensor], sources: Sequence[str]) -> None:
        previous = self.layers[-1].name if self.layers else NETWORK_INPUT
        if list(sources) != [previous]:
            layer = replace(layer, inputs=tuple(sources))
        self.layers.append(layer)
        self.alias(outputs, layer.name)
        self.bits[layer.name] = layer.output_bits

    def alias(self, outputs: Sequence[Tensor], name: str) -> None:
        for tensor in outputs:
            self.producer[id(tensor)] = name
            self.keep.append(tensor)


#: Functional operations recorded outside modules: qualified name -> IR kind.
_FUNCTION_KINDS: dict[str, str] = {
    "add": "add", "__add__": "add", "__iadd__": "add", "__radd__": "add",
    "cat": "concat", "concat": "concat", "concatenate": "concat",
    "flatten": "flatten", "view": "reshape", "reshape": "reshape",
    "relu": "activation", "relu_": "activation", "hardtanh": "activation", "tanh": "activation",
    "sigmoid": "activation", "sign": "activation", "softmax": "activation", "log_softmax": "activation",
    "max_pool2d": "maxpool", "avg_pool2d": "avgpool", "adaptive_avg_pool2d": "avgpool",
    "contiguous": "identity", "clone": "identity", "detach": "identity", "float": "identity", "to": "identity",
    "dropout": "identity",
}


class _FunctionRecorder(TorchFunctionMode):
    """Records functional tensor operations that happen between traced modules."""

    def __init__(self, trace: _Trace) -> None:
        super().__init__()
        self.trace = trace

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: Sequence[Any] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        result = func(*args, **(kwargs or {}))
        if self.trace.depth or not isinstance(result, Tensor):
            return result
        name = getattr(func, "__name__", str(func))
        kind = _FUNCTION_KINDS.get(name)
        inputs = [t for t in _tensors(list(args)) if id(t) in self.trace.producer]
        if not inputs:
            return result  # constants and tensors unrelated to the traced input
        if kind is None:
            raise UnsupportedModuleError(f"functional operation '{name}' in forward is not supported by the tracer")
        self._record(kind, name, func, args, kwargs or {}, inputs, result)
        return result

    def _record(self, kind: str, name: str, func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any],
                inputs: list[Tensor], result: Tensor) -> None:
        trace = self.trace
        first = inputs[0]
        sources = [trace.producer[id(t)] for t in inputs]
        bits = trace.bits.get(sources[0], FLOAT_BITS)
        if kind == "identity" or (kind == "reshape" and result.shape == first.shape):
            trace.alias([result], sources[0])
            return
        if kind == "reshape":
            if result.dim() != 2 or first.dim() != 4 or result.shape[1] != math.prod(first.shape[1:]):
                raise UnsupportedModuleError(f"'{name}' to shape {tuple(result.shape)} is not a flatten; not supported")
            kind = "flatten"
        layer_name = trace.unique(f"{kind}_{name.strip('_')}")
        in_shape, out_shape = _ir_shape(first), _ir_shape(result)
        if kind == "add":
            if len(inputs) < 2:
                raise UnsupportedModuleError(f"'{name}' of a tensor and a constant is not supported (only residual adds)")
            layer = Layer(name=layer_name, kind="add", input_shape=in_shape, output_shape=out_shape,
                          input_bits=max(trace.bits.get(s, FLOAT_BITS) for s in sources), inputs=tuple(sources))
            trace.layers.append(layer)
            trace.alias([result], layer_name)
            trace.bits[layer_name] = FLOAT_BITS
            return
        if kind == "concat":
            dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
            if dim not in (1, -3) or first.dim() != 4:
                raise UnsupportedModuleError(f"'{name}' along dimension {dim}: only channel concatenation is supported")
            layer = Layer(name=layer_name, kind="concat", input_shape=in_shape, output_shape=out_shape,
                          input_bits=bits, output_bits=max(trace.bits.get(s, FLOAT_BITS) for s in sources),
                          inputs=tuple(sources))
            trace.layers.append(layer)
            trace.alias([result], layer_name)
            trace.bits[layer_name] = layer.output_bits
            return
        if kind in ("maxpool", "avgpool"):
            raise UnsupportedModuleError(f"functional pooling '{name}' in forward: use nn.MaxPool2d / nn.AvgPool2d modules")
        layer = Layer(name=layer_name, kind=kind, input_shape=in_shape, output_shape=out_shape, input_bits=bits,
                      output_bits=1 if name == "sign" else bits, function=name if kind == "activation" else "")
        trace.emit(layer, [result], sources)


def _hooked_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules to hook: recognised layers (not descending into them) and unrecognised leaves."""
    selected: list[tuple[str, nn.Module]] = []

    def visit(prefix: str, module: nn.Module) -> None:
        if _module_kind(module) is not None or not any(True for _ in module.children()):
            selected.append((prefix or type(module).__name__.lower(), module))
            return
        for child_name, child in module.named_children():
            visit(f"{prefix}.{child_name}" if prefix else child_name, child)

    visit("", model)
    return selected


def trace_workload(model: nn.Module, input_shape: Sequence[int] | None = None, *, name: str = "",
                   input_bits: int = FLOAT_BITS, source: str = "") -> Workload:
    """The workload of ``model`` for one sample of ``input_shape`` ((C, H, W) or (F,)).

    ``input_shape`` defaults to the model's ``input_shape`` attribute
    (``bnnbench.models.create`` sets it). The model runs once in eval mode on
    zeros, without gradients.
    """
    shape = tuple(input_shape if input_shape is not None else getattr(model, "input_shape", ()))
    if not shape:
        raise WorkloadError("trace_workload needs input_shape (C, H, W) or (F,): the model has no input_shape attribute")
    trace = _Trace()
    x = torch.zeros((1, *shape))
    trace.alias([x], NETWORK_INPUT)
    trace.bits[NETWORK_INPUT] = input_bits
    handles = []

    def pre_hook(module: nn.Module, args: Any) -> None:
        trace.depth += 1

    def make_post_hook(module_name: str) -> Callable[..., None]:
        def post_hook(module: nn.Module, args: Any, output: Any) -> None:
            kind = _module_kind(module)
            if kind is None:
                raise UnsupportedModuleError(
                    f"module '{module_name}' of type {type(module).__module__}.{type(module).__qualname__} "
                    "is not supported by the workload tracer"
                )
            inputs = _tensors(args)
            outputs = _tensors(output)
            if not inputs or _first_tensor(output) is None:
                raise UnsupportedModuleError(f"module '{module_name}' ({type(module).__name__}) takes or returns no tensor")
            source_name = trace.source_of(inputs[0], module_name)
            trace.depth -= 1
            if kind == "identity":
                trace.alias(outputs, source_name)
                return
            layer = _layer_from_module(trace.unique(module_name), module, kind, inputs[0], _first_tensor(output),  # type: ignore[arg-type]
                                       trace.bits.get(source_name, FLOAT_BITS))
            trace.emit(layer, outputs, [source_name])

        return post_hook

    try:
        for module_name, module in _hooked_modules(model):
            handles.append(module.register_forward_pre_hook(pre_hook))
            handles.append(module.register_forward_hook(make_post_hook(module_name)))
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), _FunctionRecorder(trace):
                model(x)
        finally:
            model.train(was_training)
    finally:
        for handle in handles:
            handle.remove()
    if not trace.layers:
        raise WorkloadError("the traced forward pass recorded no layers")
    return Workload(name=name or type(model).__name__.lower(), input_shape=_ir_shape(x), layers=tuple(trace.layers),
                    input_bits=input_bits, source=source or f"traced from {type(model).__qualname__}")


def trace_model(name: str) -> Workload:
    """The workload of ``bnnbench.models.create(name)``, traced."""
    from bnnbench import models

    try:
        module = models.create(name)
    except ValueError as exc:
        raise WorkloadError(str(exc)) from None
    return trace_workload(module, name=name, source=f"traced from bnnbench.models.create({name!r})")


def resolve_workload(model: str, *, traced: bool = False) -> Workload:
    """A workload from a zoo name, a saved workload ``.json`` path, or (``traced``) a bnnbench model traced.

    The CLI resolves untraced names with :func:`hw_models.zoo.resolve`, which needs no torch.
    """
    return trace_model(model) if traced else zoo.resolve(model)
