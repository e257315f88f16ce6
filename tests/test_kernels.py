"""Binary kernels: bit-exact against the numpy reference on every ISA path
this machine has (paths a CPU lacks are not parametrized; the C driver run by
.ci/run compares every compiled path against the scalar oracle as well)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernel_reference as ref
from bnnbench import kernels as K

ISAS = K.available_isas()
AWKWARD_CHANNELS = [1, 3, 63, 64, 65, 127, 128, 130]
HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=ISAS)
def isa(request: pytest.FixtureRequest) -> str:
    with K.use_isa(request.param):
        yield request.param


def test_every_x86_path_is_compiled_where_the_cpu_has_it() -> None:
    features = K.cpu_features()
    assert "scalar" in ISAS
    assert ("avx2" in ISAS) == (features["avx2"] and features["popcnt"])
    avx512 = all(features[f] for f in ("avx512f", "avx512vl", "avx512dq", "avx512bw", "avx512vpopcntdq"))
    assert ("avx512" in ISAS) == avx512
    assert K.isa() == ISAS[-1]  # the best path is chosen by default


# ------------------------------------------------------------------ pack


@given(channels=st.sampled_from(AWKWARD_CHANNELS) | st.integers(1, 300), rows=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
@HYPOTHESIS
def test_pack_matches_reference(isa: str, channels: int, rows: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((rows, 2, channels)).astype(np.float32)
    packed = K.pack(x)
    assert packed.shape == (rows, 2, -(-channels // 64))
    np.testing.assert_array_equal(packed, ref.pack(x))
    np.testing.assert_array_equal(K.unpack(packed, channels), np.where(x < 0, -1.0, 1.0).astype(np.float32))


def test_pack_zero_and_negative_zero_are_plus_one(isa: str) -> None:
    x = np.array([[0.0, -0.0, -1e-30, 1e-30, -np.inf, np.inf] * 20], dtype=np.float32)
    np.testing.assert_array_equal(K.unpack(K.pack(x), x.shape[1]), np.where(x < 0, -1.0, 1.0))
    assert K.unpack(K.pack(x), x.shape[1])[0, 1] == 1.0


@pytest.mark.parametrize("position", [0, 63, 64, 130])
def test_pack_rejects_nan_anywhere(isa: str, position: int) -> None:
    x = np.ones((3, 131), dtype=np.float32)
    x[2, position] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        K.pack(x)


def test_pack_threads_agree(isa: str) -> None:
    x = np.random.default_rng(1).standard_normal((37, 200)).astype(np.float32)
    np.testing.assert_array_equal(K.pack(x, threads=2), K.pack(x, threads=1))


# ----------------------------------------------------------- convolution


@st.composite
def conv_cases(draw: st.DrawFn) -> dict:
    kernel = draw(st.sampled_from([1, 3, 5]))
    stride = draw(st.sampled_from([1, 2]))
    padding = draw(st.sampled_from(["same", "valid", kernel // 2]))
    min_size = kernel if padding == "valid" else 1
    return {
        "batch": draw(st.integers(1, 3)),
        "height": draw(st.integers(min_size, 9)),
        "width": draw(st.integers(min_size, 9)),
        "channels": draw(st.sampled_from(AWKWARD_CHANNELS)),
        "out_channels": draw(st.sampled_from([1, 5, 8, 63, 64, 65, 129])),
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "pad_value": draw(st.sampled_from([1, 0])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def _operands(case: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(case["seed"])
    x = ref.random_pm1(rng, (case["batch"], case["height"], case["width"], case["channels"]))
    w = ref.random_pm1(rng, (case["out_channels"], case["kernel"], case["kernel"], case["channels"]))
    return x, w


def _bconv(case: dict, x: np.ndarray, w: np.ndarray | K.PackedWeights, **kwargs: object) -> np.ndarray:
    weights = w if isinstance(w, K.PackedWeights) else ref.pack(w)
    return K.bconv2d(
        ref.pack(x), weights, case["channels"], stride=case["stride"], padding=case["padding"],
        pad_value=float(case["pad_value"]), **kwargs,
    )


@given(case=conv_cases())
@HYPOTHESIS
def test_bconv2d_int32_matches_reference(isa: str, case: dict) -> None:
    x, w = _operands(case)
    expected = ref.conv(x, w, case["stride"], case["padding"], case["pad_value"])
    np.testing.assert_array_equal(_bconv(case, x, w, output="int32"), expected)


@given(case=conv_cases())
@HYPOTHESIS
def test_bconv2d_float_output_applies_scale_and_bias_exactly(isa: str, case: dict) -> None:
    x, w = _operands(case)
    rng = np.random.default_rng(case["seed"] + 1)
    scale = rng.standard_normal(case["out_channels"]).astype(np.float32)
    bias = rng.standard_normal(case["out_channels"]).astype(np.float32)
    dot = ref.conv(x, w, case["stride"], case["padding"], case["pad_value"]).astype(np.float32)
    expected = scale * dot + bias  # float32 multiply then add, as the kernel documents
    np.testing.assert_array_equal(_bconv(case, x, w, output="float32", scale=scale, bias=bias), expected)


@given(case=conv_cases())
@HYPOTHESIS
def test_bconv2d_packed_output_follows_thresholds(isa: str, case: dict) -> None:
    x, w = _operands(case)
    rng = np.random.default_rng(case["seed"] + 2)
    k = case["channels"] * case["kernel"] ** 2
    threshold = rng.integers(-k, k + 1, case["out_channels"]).astype(np.int32)
    negative = rng.random(case["out_channels"]) < 0.5
    dot = ref.conv(x, w, case["stride"], case["padding"], case["pad_value"])
    minus_one = np.where(negative, dot > threshold, dot < threshold)
    got = _bconv(case, x, w, output="packed", thresholds=K.Thresholds(threshold, negative))
    np.testing.assert_array_equal(got, ref.pack(np.where(minus_one, -1, 1)))


@given(case=conv_cases())
@HYPOTHESIS
def test_folded_thresholds_equal_sign_of_float_output(isa: str, case: dict) -> None:
    """BatchNorm + sign folded into thresholds gives the sign of the float output, bit for bit."""
    x, w = _operands(case)
    rng = np.random.default_rng(case["seed"] + 3)
    out_channels = case["out_channels"]
    scale = (rng.standard_normal(out_channels) * rng.choice([1e-3, 1.0, 30.0], out_channels)).astype(np.float32)
    scale[rng.random(out_channels) < 0.1] = 0.0
    bias = (rng.standard_normal(out_channels) * 5).astype(np.float32)
    weights = K.prepare_weights(ref.pack(w), case["channels"])
    floats = _bconv(case, x, weights, output="float32", scale=scale, bias=bias)
    k = case["channels"] * case["kernel"] ** 2
    packed = _bconv(case, x, weights, output="packed", thresholds=K.thresholds_from_affine(scale, bias, k))
    np.testing.assert_array_equal(packed, ref.pack(np.where(floats >= 0, 1.0, -1.0)))


def test_thresholds_sit_exactly_on_float32_sign_changes() -> None:
    """Crossings that land on or next to an integer, where float rounding decides."""
    scale = np.array([0.1, 0.1, -0.1, 3.0, -3.0, 1e-7, 0.0, 0.0, 7.0], dtype=np.float32)
    bias = np.array([-0.3, 0.3, 0.3, -9.0, 9.0, 0.0, -0.0, -1.0, 1e6], dtype=np.float32)
    k = 20
    folded = K.thresholds_from_affine(scale, bias, k)
    dots = np.arange(-k, k + 1, dtype=np.float32)
    plus = (scale[:, None] * dots[None, :] + bias[:, None]) >= 0
    minus_by_threshold = np.where(
        folded.negative[:, None], dots[None, :] > folded.threshold[:, None], dots[None, :] < folded.threshold[:, None]
    )
    np.testing.assert_array_equal(minus_by_threshold, ~plus)


def test_bconv2d_agrees_with_torch_conv2d_on_pm1_values(isa: str) -> None:
    """A second, independent oracle: torch's float convolution of -1/+1 tensors (exact in float32)."""
    rng = np.random.default_rng(7)
    x = ref.random_pm1(rng, (2, 11, 9, 96))
    w = ref.random_pm1(rng, (40, 3, 3, 96))
    for stride, padding in [(1, 1), (2, 1), (2, 0)]:
        expected = torch.nn.functional.conv2d(
            torch.from_numpy(x).permute(0, 3, 1, 2).double(), torch.from_numpy(w).permute(0, 3, 1, 2).double(),
            stride=stride, padding=padding,
        ).permute(0, 2, 3, 1).numpy()
        got = K.bconv2d(ref.pack(x), ref.pack(w), 96, stride=stride, padding=padding, pad_value=0.0, output="int32")
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("output", ["int32", "float32", "packed"])
def test_bconv2d_threads_agree(isa: str, output: str) -> None:
    rng = np.random.default_rng(3)
    x, w = ref.random_pm1(rng, (2, 13, 7, 130)), ref.random_pm1(rng, (70, 3, 3, 130))
    extra = {"thresholds": np.zeros(70, np.int32)} if output == "packed" else {}
    runs = [
        K.bconv2d(ref.pack(x), ref.pack(w), 130, stride=2, pad_value=0.0, output=output, threads=t, **extra)
        for t in (1, 2, 3)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])


def test_dabnn_shape_matches_reference(isa: str) -> None:
    """One realistic layer (14x14x256 -> 256, 3x3, same) so the wide-tile path runs at full size."""
    rng = np.random.default_rng(11)
    x, w = ref.random_pm1(rng, (1, 14, 14, 256)), ref.random_pm1(rng, (256, 3, 3, 256))
    expected = ref.conv(x, w, 1, "same", 1)
    np.testing.assert_array_equal(K.bconv2d(ref.pack(x), ref.pack(w), 256, output="int32", threads=2), expected)


# ------------------------------------------------------------- gemm / dense


@given(
    m=st.integers(1, 9), n=st.sampled_from([1, 7, 8, 64, 65, 200]), k=st.sampled_from(AWKWARD_CHANNELS + [1000]),
    seed=st.integers(0, 2**32 - 1),
)
@HYPOTHESIS
def test_bgemm_matches_reference(isa: str, m: int, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = ref.random_pm1(rng, (m, k)), ref.random_pm1(rng, (n, k))
    np.testing.assert_array_equal(K.bgemm(ref.pack(a), ref.pack(b), k), a @ b.T)
    np.testing.assert_array_equal(K.bgemm(ref.pack(a), K.prepare_weights(ref.pack(b), k), k, threads=2), a @ b.T)


def test_bdense_float_and_packed_outputs(isa: str) -> None:
    rng = np.random.default_rng(5)
    a, b = ref.random_pm1(rng, (6, 300)), ref.random_pm1(rng, (100, 300))
    scale = rng.standard_normal(100).astype(np.float32)
    bias = rng.standard_normal(100).astype(np.float32)
    dot = (a @ b.T).astype(np.float32)
    floats = K.bdense(ref.pack(a), ref.pack(b), 300, scale=scale, bias=bias)
    np.testing.assert_array_equal(floats, scale * dot + bias)
    packed = K.bdense(ref.pack(a), ref.pack(b), 300, output="packed", thresholds=K.thresholds_from_affine(scale, bias, 300))
    np.testing.assert_array_equal(packed, ref.pack(np.where(floats >= 0, 1, -1)))


# ------------------------------------------------------------------ pool


@given(
    height=st.integers(2, 9), width=st.integers(2, 9), channels=st.sampled_from(AWKWARD_CHANNELS),
    kernel=st.sampled_from([2, 3]), stride=st.sampled_from([1, 2]), seed=st.integers(0, 2**32 - 1),
)
@HYPOTHESIS
def test_bmaxpool2d_is_max_of_pm1(height: int, width: int, channels: int, kernel: int, stride: int, seed: int) -> None:
    if kernel > min(height, width):
        kernel = 2
    x = ref.random_pm1(np.random.default_rng(seed), (2, height, width, channels))
    got = K.bmaxpool2d(ref.pack(x), channels, kernel=kernel, stride=stride)
    np.testing.assert_array_equal(got, ref.pack(ref.maxpool(x, kernel, stride)))


def test_bmaxpool2d_same_padding_ignores_padded_taps() -> None:
    x = -np.ones((1, 3, 3, 10))
    got = K.bmaxpool2d(ref.pack(x), 10, kernel=2, stride=2, padding="same")
    assert got.shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(K.unpack(got, 10), -np.ones((1, 2, 2, 10)))  # padding never contributes a +1


# ------------------------------------------------------------- roofline


def test_roofline_counts_the_bits_it_was_asked_for(isa: str) -> None:
    bits_once, checksum_once = K.roofline_run(isa, 1)
    bits, checksum = K.roofline_run(isa, 1000)
    assert bits == 1000 * bits_once
    assert checksum_once > 0 and checksum > checksum_once
