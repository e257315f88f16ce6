"""A compiled model: its ops lowered to ``bnn_op`` structs, run in one C call per batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bnnbench._kernels import ffi, lib
from bnnbench.engine.compiler import Op
from bnnbench.kernels import _check_status

_SHAPE_FIELDS = ("in_h", "in_w", "channels", "out_channels", "kernel_h", "kernel_w", "stride_h", "stride_w",
                 "pad_top", "pad_left", "out_h", "out_w", "pad_one")


@dataclass(frozen=True)
class LayerTime:
    """One op of a profile: the layers it implements and its time per batch."""

    name: str
    kind: str
    seconds: float


_KIND_NAMES = {
    lib.BNN_OP_PACK_NCHW: "pack",
    lib.BNN_OP_FLOAT_CONV: "float conv",
    lib.BNN_OP_BCONV: "binary conv/dense",
    lib.BNN_OP_BMAXPOOL: "binary max-pool",
    lib.BNN_OP_FLOAT_DENSE: "float dense",
    lib.BNN_OP_TANH: "tanh",
}


class CompiledModel:
    """A binary model compiled onto the C kernels (see :func:`bnnbench.engine.compile`).

    Call it on a float32 NCHW batch (numpy or torch) to get logits; the whole
    forward pass is one call into C, which releases the GIL.
    """

    def __init__(self, ops: list[Op], input_shape: tuple[int, int, int], outputs: int, float_bytes: int,
                 threads: int = 1) -> None:
        self.ops = ops
        self.input_shape = input_shape
        self.outputs = outputs
        self.float_bytes = float_bytes
        self.threads = threads
        self._structs = ffi.new("bnn_op[]", len(ops))
        self._keep: list[object] = []
        for struct, op in zip(self._structs, ops):
            self._lower(struct, op)
        self._buffers: dict[int, tuple[list[np.ndarray], Any]] = {}

    def _pointer(self, ctype: str, array: np.ndarray) -> Any:
        self._keep.append(array)
        return ffi.cast(ctype, ffi.from_buffer(array))

    def _lower(self, struct: Any, op: Op) -> None:
        struct.kind = op.kind
        for name in _SHAPE_FIELDS:
            setattr(struct.shape, name, int(op.shape.get(name, 0)))
        struct.shape.batch = 1
        struct.output.kind = op.output_kind
        arrays = op.arrays
        if "scale" in arrays:
            struct.output.scale = self._pointer("const float *", arrays["scale"])
            struct.output.bias = self._pointer("const float *", arrays["bias"])
        if "threshold" in arrays:
            struct.output.threshold = self._pointer("const int32_t *", arrays["threshold"])
            struct.output.negative = self._pointer("const uint8_t *", arrays["negative"])
        if "float_weights" in arrays:
            struct.float_weights = self._pointer("const float *", arrays["float_weights"])
            struct.float_bias = self._pointer("const float *", arrays["float_bias"])
        if "or_mask" in arrays:
            struct.or_mask = self._pointer("const uint64_t *", arrays["or_mask"])
        if op.weights is not None:
            w = op.weights
            struct.weights.out_channels, struct.weights.channels = w.out_channels, w.channels
            struct.weights.taps = w.kernel_size[0] * w.kernel_size[1]
            struct.weights.raw = self._pointer("const uint64_t *", w.raw)
            struct.weights.panel = self._pointer("const uint64_t *", w.panel)
            struct.weights.tap_plus_one = self._pointer("const int32_t *", w.tap_plus_one)
        struct.packed_input = int(op.packed_input)
        struct.elements = op.elements

    @property
    def model_bytes(self) -> int:
        """Bytes of everything the program keeps: packed weights, thresholds, float first/last layers."""
        total = 0
        for op in self.ops:
            if op.weights is not None:
                total += op.weights.nbytes
            total += sum(a.nbytes for a in op.arrays.values())
        return total

    def _prepare(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        if not isinstance(x, np.ndarray):
            raise TypeError(f"input must be a numpy array or torch tensor, got {type(x).__name__}")
        if x.dtype != np.float32:
            raise TypeError(f"input must be float32, got {x.dtype}")
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"input must have shape (N, {', '.join(map(str, self.input_shape))}), got {x.shape}")
        if x.shape[0] == 0:
            raise ValueError("input batch is empty")
        return np.ascontiguousarray(x)

    def _buffers_for(self, batch: int) -> tuple[list[np.ndarray], Any]:
        if batch not in self._buffers:
            arrays: list[np.ndarray] = []
            for op in self.ops:
                dtype, per_image = op.output_words_per_image()
                arrays.append(np.empty(batch * per_image, dtype=dtype))
            pointers = ffi.new("void *[]", [ffi.cast("void *", ffi.from_buffer(a)) for a in arrays])
            self._buffers = {batch: (arrays, pointers)}  # keep only the latest batch size
        return self._buffers[batch]

    def _run(self, x: np.ndarray, threads: int, seconds: Any) -> np.ndarray:
        arrays, pointers = self._buffers_for(x.shape[0])
        status = lib.bnn_program_run(self._structs, len(self.ops), ffi.cast("const float *", ffi.from_buffer(x)),
                                     x.shape[0], pointers, threads, seconds)
        _check_status(status, "compiled model")
        return arrays[-1].reshape(x.shape[0], self.outputs).copy()

    def __call__(self, x: np.ndarray | torch.Tensor, threads: int | None = None) -> np.ndarray | torch.Tensor:
        """Logits [N, outputs]; a torch tensor in gives a torch tensor out."""
        batch = self._prepare(x)
        threads = self.threads if threads is None else threads
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        logits = self._run(batch, threads, ffi.NULL)
        return torch.from_numpy(logits) if isinstance(x, torch.Tensor) else logits

    def profile(self, x: np.ndarray | torch.Tensor, threads: int | None = None) -> list[LayerTime]:
        """Time of each op for one forward pass of ``x``."""
        batch = self._prepare(x)
        seconds = ffi.new("double[]", len(self.ops))
        self._run(batch, self.threads if threads is None else threads, seconds)
        return [LayerTime(op.name, _KIND_NAMES[op.kind], float(seconds[i])) for i, op in enumerate(self.ops)]

    def summary(self) -> str:
        """One line per op: what runs, in order."""
        return "\n".join(f"{i:2d} {_KIND_NAMES[op.kind]:<18} {op.name}" for i, op in enumerate(self.ops))


class CompiledEnsemble:
    """PBNet-X: X compiled sampled networks; the prediction averages their softmax outputs."""

    def __init__(self, members: list[CompiledModel]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = members

    @property
    def model_bytes(self) -> int:
        return sum(m.model_bytes for m in self.members)

    def __call__(self, x: np.ndarray | torch.Tensor, threads: int | None = None) -> np.ndarray:
        """Mean class probabilities [N, outputs]."""
        probabilities = [torch.softmax(torch.as_tensor(m(x, threads)), dim=1) for m in self.members]
        return torch.stack(probabilities).mean(dim=0).numpy()
