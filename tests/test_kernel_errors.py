"""Bad input to the kernels raises a clear TypeError/ValueError naming the problem."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import kernel_reference as ref
from bnnbench import kernels as K


@pytest.fixture
def conv_operands() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return ref.pack(ref.random_pm1(rng, (1, 5, 5, 70))), ref.pack(ref.random_pm1(rng, (8, 3, 3, 70)))


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (np.ones((2, 3), dtype=np.float64), TypeError, "dtype float32"),
        ([[1.0, -1.0]], TypeError, "numpy.ndarray"),
        (np.ones((4, 6), dtype=np.float32)[:, ::2], ValueError, "not C-contiguous"),
        (np.ones((3, 0), dtype=np.float32), ValueError, "non-empty last"),
        (np.ones((), np.float32), ValueError, "non-empty last"),
    ],
)
def test_pack_rejects(x: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        K.pack(x)  # type: ignore[arg-type]


def test_bconv2d_rejects_wrong_input_dtype(conv_operands: tuple[np.ndarray, np.ndarray]) -> None:
    x, w = conv_operands
    with pytest.raises(TypeError, match="x_packed must have dtype uint64, got int64"):
        K.bconv2d(x.astype(np.int64), w, 70)


def test_bconv2d_rejects_wrong_word_count(conv_operands: tuple[np.ndarray, np.ndarray]) -> None:
    x, w = conv_operands
    with pytest.raises(ValueError, match=r"x_packed has 2 words per pixel but 200 channels need"):
        K.bconv2d(x, w, 200)


def test_bconv2d_rejects_padding_bits(conv_operands: tuple[np.ndarray, np.ndarray]) -> None:
    x, w = conv_operands
    dirty = x.copy()
    dirty[0, 0, 0, 1] |= np.uint64(1 << 63)
    with pytest.raises(ValueError, match="bits set beyond channel 70"):
        K.bconv2d(dirty, w, 70)


def test_bconv2d_rejects_non_contiguous(conv_operands: tuple[np.ndarray, np.ndarray]) -> None:
    x, w = conv_operands
    with pytest.raises(ValueError, match="not C-contiguous"):
        K.bconv2d(np.concatenate([x, x], axis=2)[:, :, ::2], w, 70)


def test_bconv2d_rejects_wrong_rank(conv_operands: tuple[np.ndarray, np.ndarray]) -> None:
    x, w = conv_operands
    with pytest.raises(ValueError, match="x_packed must have 4 dimensions"):
        K.bconv2d(x[0], w, 70)


def test_bconv2d_rejects_weights_prepared_for_other_channels(conv_operands: tuple[np.ndarray, np.ndarray]) -> None:
    _, w = conv_operands
    weights = K.prepare_weights(w, 70)
    x69 = ref.pack(np.ones((1, 5, 5, 69)))
    with pytest.raises(ValueError, match="prepared for 70 channels, not 69"):
        K.bconv2d(x69, weights, 69)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"padding": "full"}, "padding must be"),
        ({"padding": 3}, r"padding 3 must be in \[0, kernel height - 1 = 2\]"),
        ({"padding": -1}, "non-negative"),
        ({"pad_value": 0.5}, "pad_value must be 1.0"),
        ({"stride": 0}, "stride must be a positive integer"),
        ({"threads": 0}, "threads must be a positive integer"),
        ({"output": "float16"}, "output must be one of"),
        ({"output": "packed"}, "packed output needs thresholds"),
        ({"output": "int32", "scale": np.ones(8, np.float32)}, "scale and bias apply to float32"),
        ({"scale": np.ones(7, np.float32)}, r"scale must have shape \(8,\)"),
        ({"scale": np.ones(8, np.float64)}, "scale must have dtype float32"),
        ({"output": "packed", "thresholds": np.zeros(8, np.int64)}, "thresholds must have dtype int32"),
        ({"output": "packed", "thresholds": np.zeros(9, np.int32)}, r"thresholds must have shape \(8,\)"),
    ],
)
def test_bconv2d_rejects_bad_options(conv_operands: tuple[np.ndarray, np.ndarray], kwargs: dict, message: str) -> None:
    x, w = conv_operands
    with pytest.raises((ValueError, TypeError), match=message):
        K.bconv2d(x, w, 70, **kwargs)


def test_bconv2d_rejects_kernel_larger_than_valid_input() -> None:
    x = ref.pack(np.ones((1, 2, 2, 8)))
    w = ref.pack(np.ones((4, 3, 3, 8)))
    with pytest.raises(ValueError, match="kernel height 3 is larger than the input height 2"):
        K.bconv2d(x, w, 8, padding="valid")


def test_bgemm_rejects_mismatched_operands() -> None:
    a = ref.pack(np.ones((3, 100)))
    b = ref.pack(np.ones((5, 130)))
    with pytest.raises(ValueError, match="w_packed has 3 words per pixel but 100 channels need"):
        K.bgemm(a, b, 100)


def test_bgemm_rejects_conv_weights() -> None:
    a = ref.pack(np.ones((3, 10)))
    with pytest.raises(ValueError, match="dense weights must be"):
        K.bgemm(a, K.prepare_weights(ref.pack(np.ones((4, 3, 3, 10))), 10), 10)


def test_thresholds_reject_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="same shape"):
        K.Thresholds(np.zeros(3, np.int32), np.zeros(4, np.bool_))
    with pytest.raises(ValueError, match="finite"):
        K.thresholds_from_affine(np.array([np.nan], np.float32), np.zeros(1, np.float32), 10)


def test_set_isa_rejects_unknown_and_unavailable_paths() -> None:
    with pytest.raises(ValueError, match="unknown ISA 'sse9'"):
        K.set_isa("sse9")
    missing = next(name for name in K.ISA_NAMES if name not in K.available_isas())
    with pytest.raises(K.IsaUnavailableError, match=f"ISA path .{missing}. is not available"):
        K.set_isa(missing)
    assert K.isa() == K.available_isas()[-1]


def _import_with_isa(value: str) -> subprocess.CompletedProcess[str]:
    code = "from bnnbench import kernels; print(kernels.isa())"
    env = {**os.environ, "BNNBENCH_ISA": value}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)


def test_environment_variable_forces_a_path() -> None:
    result = _import_with_isa("scalar")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "scalar"


def test_environment_variable_naming_a_missing_path_is_a_clear_error() -> None:
    missing = next(name for name in K.ISA_NAMES if name not in K.available_isas())
    result = _import_with_isa(missing)
    assert result.returncode != 0
    assert f"BNNBENCH_ISA={missing}" in result.stderr and "not available" in result.stderr


def test_out_array_must_fit_exactly(conv_operands: tuple[np.ndarray, np.ndarray]) -> None:
    x, w = conv_operands
    good = np.empty((1, 5, 5, 8), np.int32)
    assert K.bconv2d(x, w, 70, output="int32", out=good) is good
    with pytest.raises(ValueError, match=r"out must have shape \(1, 5, 5, 8\)"):
        K.bconv2d(x, w, 70, output="int32", out=np.empty((1, 5, 5, 9), np.int32))
    with pytest.raises(TypeError, match="out must have dtype float32"):
        K.bconv2d(x, w, 70, out=good)


def test_cli_reports_a_missing_isa_path_in_one_line() -> None:
    missing = next(name for name in K.ISA_NAMES if name not in K.available_isas())
    env = {**os.environ, "BNNBENCH_ISA": missing}
    done = subprocess.run([sys.executable, "-m", "bnnbench.cli", "info"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith(f"bnnbench info: error: BNNBENCH_ISA={missing}") and "Traceback" not in done.stderr
