"""The workload IR: a network as an ordered list of layers with shapes and bit widths.

A :class:`Workload` is data (Timeloop/Accelergy style): it says *what* is
computed, never how fast. Parameter counts, MAC counts and activation sizes
are derived by the small functions below, never stored, so there is exactly
one place where each number is computed.

Conventions
-----------
* Shapes exclude the batch dimension. Feature maps are channels-last
  ``(H, W, C)`` (the NHWC layout of DESIGN.md); vectors are ``(C,)``.
* ``input_bits`` is the precision at which a layer *consumes* its input (a
  larq ``QuantConv2D`` with an ``input_quantizer`` consumes 1-bit inputs even
  if its producer emitted floats); ``output_bits`` is what it emits.
* ``inputs`` names the producing layers; empty means "the previous layer" (or
  the network input for the first layer). ``add`` and ``concat`` list theirs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hw_models.errors import WorkloadError

Shape = tuple[int, ...]

#: Layer kinds the IR knows. ``conv`` covers depthwise/grouped (``groups``).
LAYER_KINDS: tuple[str, ...] = (
    "conv",
    "dense",
    "maxpool",
    "avgpool",
    "bn",
    "activation",
    "add",
    "concat",
    "flatten",
)
#: Kinds that hold a weight matrix and perform multiply-accumulates.
MATRIX_KINDS: frozenset[str] = frozenset({"conv", "dense"})
FLOAT_BITS = 32
NETWORK_INPUT = "input"


@dataclass(frozen=True)
class Layer:
    """One layer of a workload. All fields are plain data."""

    name: str
    kind: str
    input_shape: Shape
    output_shape: Shape
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    groups: int = 1
    weight_bits: int | None = None
    input_bits: int = FLOAT_BITS
    output_bits: int = FLOAT_BITS
    bias: bool = False
    bn_params_per_channel: int = 4
    function: str = ""
    inputs: tuple[str, ...] = ()

    @property
    def is_matrix(self) -> bool:
        """True for layers with a weight matrix (conv, dense)."""
        return self.kind in MATRIX_KINDS


@dataclass(frozen=True)
class Workload:
    """An ordered list of layers plus the network input; validated on creation."""

    name: str
    input_shape: Shape
    layers: tuple[Layer, ...]
    input_bits: int = FLOAT_BITS
    source: str = ""
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        validate(self)

    def layer(self, name: str) -> Layer:
        """The layer called ``name``; a WorkloadError naming it if absent."""
        for candidate in self.layers:
            if candidate.name == name:
                return candidate
        raise WorkloadError(f"workload '{self.name}' has no layer named '{name}'")

    def producers(self, index: int) -> tuple[str, ...]:
        """Names of the tensors layer ``index`` reads (``'input'`` = network input)."""
        layer = self.layers[index]
        if layer.inputs:
            return layer.inputs
        return (self.layers[index - 1].name,) if index > 0 else (NETWORK_INPUT,)


# ---------------------------------------------------------------------------
# Derived quantities: each number has exactly one function.
# ---------------------------------------------------------------------------


def elements(shape: Shape) -> int:
    """Number of scalars in a tensor of ``shape`` (batch excluded)."""
    return math.prod(shape)


def in_channels(layer: Layer) -> int:
    """Input channels (last dimension of the input shape)."""
    return layer.input_shape[-1]


def out_channels(layer: Layer) -> int:
    """Output channels (last dimension of the output shape)."""
    return layer.output_shape[-1]


def output_pixels(layer: Layer) -> int:
    """Spatial output positions: H*W for feature maps, 1 for vectors."""
    return elements(layer.output_shape[:-1]) if len(layer.output_shape) > 1 else 1


def matrix_width(layer: Layer) -> int:
    """Dot-product length of one output (FINN's MW): kh*kw*Cin/groups or Cin."""
    if layer.kind == "conv":
        return layer.kernel[0] * layer.kernel[1] * in_channels(layer) // layer.groups
    if layer.kind == "dense":
        return in_channels(layer)
    return 0


def weight_count(layer: Layer) -> int:
    """Number of weights (kernel entries) of a conv or dense layer, else 0."""
    return matrix_width(layer) * out_channels(layer) if layer.is_matrix else 0


def parameters_by_bits(layer: Layer) -> dict[int, int]:
    """Parameters grouped by storage bit width, counted as larq's summary does.

    Weights are stored at ``weight_bits``; biases and batch-norm parameters at
    32 bits. Batch norm counts ``bn_params_per_channel`` per channel, as Keras
    counts its weight arrays: 4 (gamma, beta, moving mean, moving variance), 3
    with ``scale=False``, 2 with ``scale=False, center=False``. With this rule
    the parameter counts larq zoo publishes for Binary AlexNet and XNOR-Net are
    reproduced exactly (see ``reports/reference/hardware``).
    """
    counts: dict[int, int] = {}
    if layer.is_matrix:
        assert layer.weight_bits is not None
        counts[layer.weight_bits] = weight_count(layer)
        if layer.bias:
            counts[FLOAT_BITS] = counts.get(FLOAT_BITS, 0) + out_channels(layer)
    elif layer.kind == "bn":
        counts[FLOAT_BITS] = layer.bn_params_per_channel * out_channels(layer)
    return {bits: n for bits, n in counts.items() if n}


def parameter_count(layer: Layer) -> int:
    """All parameters of a layer, whatever their bit width."""
    return sum(parameters_by_bits(layer).values())


def parameter_bits(layer: Layer) -> int:
    """Storage of a layer's parameters in bits."""
    return sum(bits * n for bits, n in parameters_by_bits(layer).items())


def macs(layer: Layer) -> int:
    """Multiply-accumulates for one sample: output elements x dot-product length."""
    if not layer.is_matrix:
        return 0
    return output_pixels(layer) * out_channels(layer) * matrix_width(layer)


def mac_bits(layer: Layer) -> int:
    """Precision of a layer's MACs: the wider of its two operands (larq's rule)."""
    if not layer.is_matrix:
        return 0
    assert layer.weight_bits is not None
    return max(layer.weight_bits, layer.input_bits)


def output_activation_bits(layer: Layer) -> int:
    """Size in bits of the tensor a layer emits."""
    return elements(layer.output_shape) * layer.output_bits


def is_binary_layer(layer: Layer) -> bool:
    """True for a matrix layer whose weights and inputs are both 1 bit (XNOR-popcount)."""
    return layer.is_matrix and layer.weight_bits == 1 and layer.input_bits == 1


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution or pool along one axis (floor division)."""
    return (size + 2 * padding - kernel) // stride + 1


def _expect(condition: bool, workload: str, layer: str, problem: str) -> None:
    if not condition:
        raise WorkloadError(f"workload '{workload}', layer '{layer}': {problem}")


def _check_spatial(workload: Workload, layer: Layer) -> None:
    name = workload.name
    _expect(len(layer.input_shape) == 3, name, layer.name, f"{layer.kind} needs an (H, W, C) input, got {layer.input_shape}")
    expected_hw = tuple(
        conv_output_size(layer.input_shape[axis], layer.kernel[axis], layer.stride[axis], layer.padding[axis])
        for axis in (0, 1)
    )
    _expect(
        tuple(layer.output_shape[:2]) == expected_hw,
        name,
        layer.name,
        f"output size {layer.output_shape[:2]} does not follow from input {layer.input_shape[:2]}, "
        f"kernel {layer.kernel}, stride {layer.stride}, padding {layer.padding} (expected {expected_hw})",
    )


def _check_layer(workload: Workload, layer: Layer, producer_shapes: list[Shape]) -> None:
    name = workload.name
    _expect(layer.kind in LAYER_KINDS, name, layer.name, f"unknown kind '{layer.kind}' (known: {', '.join(LAYER_KINDS)})")
    for bits_name in ("input_bits", "output_bits"):
        bits = getattr(layer, bits_name)
        _expect(isinstance(bits, int) and 1 <= bits <= 64, name, layer.name, f"{bits_name} must be 1..64, got {bits!r}")
    _expect(all(d > 0 for d in layer.input_shape + layer.output_shape), name, layer.name, "shapes must be positive")
    if layer.kind == "concat":
        _expect(
            all(s[:-1] == layer.output_shape[:-1] for s in producer_shapes)
            and sum(s[-1] for s in producer_shapes) == layer.output_shape[-1],
            name,
            layer.name,
            f"concat of {producer_shapes} cannot give {layer.output_shape}",
        )
    else:
        for shape in producer_shapes:
            _expect(shape == layer.input_shape, name, layer.name, f"input shape {layer.input_shape} differs from its producer's output {shape}")
    if layer.is_matrix:
        _expect(
            isinstance(layer.weight_bits, int) and 1 <= layer.weight_bits <= 64,
            name,
            layer.name,
            f"weight_bits must be 1..64 for a {layer.kind} layer, got {layer.weight_bits!r}",
        )
    else:
        _expect(layer.weight_bits is None, name, layer.name, f"a {layer.kind} layer has no weights, weight_bits must be None")
    if layer.kind == "conv":
        _check_spatial(workload, layer)
        _expect(
            in_channels(layer) % layer.groups == 0 and out_channels(layer) % layer.groups == 0,
            name,
            layer.name,
            f"groups={layer.groups} must divide input ({in_channels(layer)}) and output ({out_channels(layer)}) channels",
        )
    elif layer.kind in ("maxpool", "avgpool"):
        _check_spatial(workload, layer)
        _expect(in_channels(layer) == out_channels(layer), name, layer.name, "pooling cannot change the channel count")
    elif layer.kind == "dense":
        _expect(len(layer.input_shape) == 1 and len(layer.output_shape) == 1, name, layer.name, "dense layers take and give vectors; flatten first")
    elif layer.kind == "flatten":
        _expect(
            layer.output_shape == (elements(layer.input_shape),),
            name,
            layer.name,
            f"flatten of {layer.input_shape} must give ({elements(layer.input_shape)},), got {layer.output_shape}",
        )
    elif layer.kind == "bn":
        _expect(layer.input_shape == layer.output_shape, name, layer.name, "bn cannot change the shape")
        _expect(2 <= layer.bn_params_per_channel <= 4, name, layer.name, "bn_params_per_channel must be 2, 3 or 4")
    elif layer.kind in ("activation", "add"):
        _expect(layer.input_shape == layer.output_shape, name, layer.name, f"{layer.kind} cannot change the shape")


def validate(workload: Workload) -> None:
    """Raise WorkloadError naming the first inconsistency in ``workload``."""
    if not workload.layers:
        raise WorkloadError(f"workload '{workload.name}' has no layers")
    shapes: dict[str, Shape] = {NETWORK_INPUT: tuple(workload.input_shape)}
    for index, layer in enumerate(workload.layers):
        _expect(layer.name not in shapes, workload.name, layer.name, "duplicate layer name (or the reserved name 'input')")
        producers = workload.producers(index)
        for producer in producers:
            _expect(producer in shapes, workload.name, layer.name, f"reads '{producer}', which is not an earlier layer")
        if layer.kind in ("add", "concat"):
            _expect(len(producers) >= 2, workload.name, layer.name, f"{layer.kind} needs at least two inputs")
        _check_layer(workload, layer, [shapes[p] for p in producers])
        shapes[layer.name] = layer.output_shape


# ---------------------------------------------------------------------------
# Whole-workload transformations
# ---------------------------------------------------------------------------


def with_binary_precision(workload: Workload, weight_bits: int, activation_bits: int) -> Workload:
    """The same network with its binary part re-quantized to ``W{weight_bits}A{activation_bits}``.

    Layers that are 1-bit in ``workload`` (weights, inputs or outputs) get the
    new widths; higher-precision layers (a float first layer, an 8-bit image
    input) are left alone. This is how FINN's W1A1 / W1A2 / W2A2 variants of
    the same topology relate (BNN-PYNQ's cnvW1A1, cnvW1A2, cnvW2A2).
    """
    layers = []
    for layer in workload.layers:
        changes: dict[str, Any] = {}
        if layer.weight_bits == 1:
            changes["weight_bits"] = weight_bits
        if layer.input_bits == 1:
            changes["input_bits"] = activation_bits
        if layer.output_bits == 1:
            changes["output_bits"] = activation_bits
        layers.append(replace(layer, **changes))
    suffix = f"-w{weight_bits}a{activation_bits}"
    return replace(workload, name=workload.name + suffix, layers=tuple(layers))


# ---------------------------------------------------------------------------
# JSON (de)serialization: a saved workload is plain data.
# ---------------------------------------------------------------------------

_TUPLE_FIELDS = ("input_shape", "output_shape", "kernel", "stride", "padding", "inputs")


def to_dict(workload: Workload) -> dict[str, Any]:
    """A JSON-ready dict of ``workload`` (lists instead of tuples)."""
    data = asdict(workload)
    data["format"] = "bnnbench-workload/1"
    return json.loads(json.dumps(data))


def from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Workload:
    """Build a workload from :func:`to_dict` output; WorkloadError on bad input."""
    if not isinstance(data, Mapping):
        raise WorkloadError(f"{source}: a workload must be a JSON object")
    known_layer_fields = set(Layer.__dataclass_fields__)
    try:
        layers = []
        for index, raw in enumerate(data["layers"]):
            unknown = set(raw) - known_layer_fields
            if unknown:
                raise WorkloadError(f"{source}: layer {index}: unknown field(s) {sorted(unknown)}")
            values: dict[str, Any] = {k: tuple(v) if k in _TUPLE_FIELDS else v for k, v in raw.items()}
            layers.append(Layer(**values))
        return Workload(
            name=str(data["name"]),
            input_shape=tuple(data["input_shape"]),
            layers=tuple(layers),
            input_bits=int(data.get("input_bits", FLOAT_BITS)),
            source=str(data.get("source", "")),
            notes=tuple(data.get("notes", ())),
        )
    except KeyError as exc:
        raise WorkloadError(f"{source}: missing field {exc}") from None
    except TypeError as exc:
        raise WorkloadError(f"{source}: malformed workload: {exc}") from None


def load_json(path: str) -> Workload:
    """Read a workload saved with :func:`to_dict` as JSON."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise WorkloadError(f"cannot read workload file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise WorkloadError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return from_dict(data, source=path)


# ---------------------------------------------------------------------------
# Builder: append layers while tracking the current shape and precision.
# ---------------------------------------------------------------------------


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


def same_padding(kernel: int) -> int:
    """Symmetric padding that keeps the size at stride 1 for an odd kernel."""
    return kernel // 2


class WorkloadBuilder:
    """Build a workload layer by layer; shapes and input precisions follow automatically.

    Each method appends a layer reading the previous one (``source=`` reads
    another) and returns its name. Names are numbered per kind (``conv1``,
    ``pool1``, ``bn1``, ``fc1``, ``act1``, ...) unless given, the scheme of
    ``bnnbench.models`` so that folding files fit both.
    """

    def __init__(self, name: str, input_shape: Shape, input_bits: int = FLOAT_BITS, source: str = "") -> None:
        self.name = name
        self.input_shape = tuple(input_shape)
        self.input_bits = input_bits
        self.source = source
        self.notes: list[str] = []
        self._layers: list[Layer] = []
        self._counts: dict[str, int] = {}

    # -- state -------------------------------------------------------------
    @property
    def last(self) -> str:
        """Name of the most recent layer ('input' before the first)."""
        return self._layers[-1].name if self._layers else NETWORK_INPUT

    def shape_of(self, name: str) -> Shape:
        if name == NETWORK_INPUT:
            return self.input_shape
        return next(layer.output_shape for layer in self._layers if layer.name == name)

    def bits_of(self, name: str) -> int:
        if name == NETWORK_INPUT:
            return self.input_bits
        return next(layer.output_bits for layer in self._layers if layer.name == name)

    def _name(self, kind: str, name: str | None) -> str:
        if name:
            return name
        self._counts[kind] = self._counts.get(kind, 0) + 1
        return f"{kind}{self._counts[kind]}"

    def _append(self, layer: Layer, source: str | None) -> str:
        if source is not None and source != self.last:
            layer = replace(layer, inputs=(source,))
        self._layers.append(layer)
        return layer.name

    # -- layers ------------------------------------------------------------
    def conv(
        self,
        filters: int,
        kernel: int | Sequence[int],
        *,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | str = "same",
        groups: int = 1,
        weight_bits: int = FLOAT_BITS,
        input_bits: int | None = None,
        output_bits: int = FLOAT_BITS,
        bias: bool = False,
        name: str | None = None,
        source: str | None = None,
    ) -> str:
        """A 2-D convolution; ``padding`` is 'same' (kernel//2), 'valid' or explicit."""
        src = self.last if source is None else source
        h, w, c = self.shape_of(src)
        k = _pair(kernel)
        s = _pair(stride)
        if padding == "same":
            p = (same_padding(k[0]), same_padding(k[1]))
        elif padding == "valid":
            p = (0, 0)
        else:
            p = _pair(padding)  # type: ignore[arg-type]
        out = (conv_output_size(h, k[0], s[0], p[0]), conv_output_size(w, k[1], s[1], p[1]), filters)
        layer = Layer(
            name=self._name("conv", name), kind="conv", input_shape=(h, w, c), output_shape=out,
            kernel=k, stride=s, padding=p, groups=groups, weight_bits=weight_bits,
            input_bits=self.bits_of(src) if input_bits is None else input_bits, output_bits=output_bits, bias=bias,
        )
        return self._append(layer, source)

    def depthwise(self, kernel: int, *, stride: int = 1, padding: int | str = "same", weight_bits: int = FLOAT_BITS,
                  name: str | None = None, source: str | None = None) -> str:
        """A depthwise convolution (groups = channels, one filter per channel)."""
        channels = self.shape_of(self.last if source is None else source)[-1]
        return self.conv(channels, kernel, stride=stride, padding=padding, groups=channels,
                         weight_bits=weight_bits, name=name or self._name("dwconv", None), source=source)

    def dense(self, units: int, *, weight_bits: int = FLOAT_BITS, input_bits: int | None = None,
              output_bits: int = FLOAT_BITS, bias: bool = False, name: str | None = None, source: str | None = None) -> str:
        """A fully-connected layer on a vector input."""
        src = self.last if source is None else source
        shape = self.shape_of(src)
        layer = Layer(
            name=self._name("fc", name), kind="dense", input_shape=shape, output_shape=(units,),
            weight_bits=weight_bits, input_bits=self.bits_of(src) if input_bits is None else input_bits,
            output_bits=output_bits, bias=bias,
        )
        return self._append(layer, source)

    def pool(self, kind: str, size: int, *, stride: int | None = None, padding: int = 0,
             name: str | None = None, source: str | None = None) -> str:
        """Max or average pooling (``kind`` 'maxpool' / 'avgpool'); stride defaults to size."""
        src = self.last if source is None else source
        h, w, c = self.shape_of(src)
        s = size if stride is None else stride
        out = (conv_output_size(h, size, s, padding), conv_output_size(w, size, s, padding), c)
        bits = self.bits_of(src)
        out_bits = bits if kind == "maxpool" else FLOAT_BITS
        layer = Layer(name=self._name("pool", name), kind=kind, input_shape=(h, w, c), output_shape=out,
                      kernel=(size, size), stride=(s, s), padding=(padding, padding),
                      input_bits=bits, output_bits=out_bits)
        return self._append(layer, source)

    def global_avgpool(self, name: str | None = None) -> str:
        """Average over all spatial positions, giving (1, 1, C)."""
        h, w, _ = self.shape_of(self.last)
        if h != w:
            raise WorkloadError(f"workload '{self.name}': global pooling of a non-square {h}x{w} map")
        return self.pool("avgpool", h, name=name)

    def bn(self, *, params_per_channel: int = 4, name: str | None = None) -> str:
        """Batch normalization (float output); see :func:`parameters_by_bits` for the count."""
        shape = self.shape_of(self.last)
        layer = Layer(name=self._name("bn", name), kind="bn", input_shape=shape, output_shape=shape,
                      input_bits=self.bits_of(self.last), output_bits=FLOAT_BITS,
                      bn_params_per_channel=params_per_channel)
        return self._append(layer, None)

    def act(self, function: str, *, output_bits: int | None = None, name: str | None = None) -> str:
        """An activation or quantizer; ``output_bits`` 1 for sign-like quantizers."""
        shape = self.shape_of(self.last)
        bits_in = self.bits_of(self.last)
        layer = Layer(name=self._name("act", name), kind="activation", input_shape=shape, output_shape=shape,
                      input_bits=bits_in, output_bits=bits_in if output_bits is None else output_bits,
                      function=function)
        return self._append(layer, None)

    def add(self, *sources: str, name: str | None = None) -> str:
        """Element-wise sum of two or more tensors (a residual shortcut)."""
        shape = self.shape_of(sources[0])
        layer = Layer(name=self._name("add", name), kind="add", input_shape=shape, output_shape=shape,
                      input_bits=max(self.bits_of(s) for s in sources), output_bits=FLOAT_BITS,
                      inputs=tuple(sources))
        self._layers.append(layer)
        return layer.name

    def concat(self, *sources: str, name: str | None = None) -> str:
        """Channel concatenation (DenseNet blocks, QuickNet's downsampling)."""
        shapes = [self.shape_of(s) for s in sources]
        out = shapes[0][:-1] + (sum(s[-1] for s in shapes),)
        layer = Layer(name=self._name("concat", name), kind="concat", input_shape=shapes[0], output_shape=out,
                      input_bits=max(self.bits_of(s) for s in sources),
                      output_bits=max(self.bits_of(s) for s in sources), inputs=tuple(sources))
        self._layers.append(layer)
        return layer.name

    def flatten(self, name: str | None = None) -> str:
        """Flatten a feature map to a vector (free: a reinterpretation)."""
        shape = self.shape_of(self.last)
        bits = self.bits_of(self.last)
        layer = Layer(name=self._name("flatten", name), kind="flatten", input_shape=shape,
                      output_shape=(elements(shape),), input_bits=bits, output_bits=bits)
        return self._append(layer, None)

    def note(self, text: str) -> None:
        """Record an assumption made while transcribing the architecture."""
        self.notes.append(text)

    def build(self) -> Workload:
        """The finished, validated workload."""
        return Workload(name=self.name, input_shape=self.input_shape, layers=tuple(self._layers),
                        input_bits=self.input_bits, source=self.source, notes=tuple(self.notes))
