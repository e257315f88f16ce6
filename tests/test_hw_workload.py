"""Workload IR and larq-style summary: numbers checked against hand-computed values."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hw_models import zoo
from hw_models.errors import WorkloadError
from hw_models.summary import format_summary, summarize
from hw_models.workload import (
    Layer,
    Workload,
    WorkloadBuilder,
    from_dict,
    load_json,
    mac_bits,
    macs,
    parameters_by_bits,
    to_dict,
    with_binary_precision,
)


def tiny() -> Workload:
    """conv 3x3 1->2 (binary in/weights) on 4x4, BN, flatten, dense 32->3 float with bias."""
    b = WorkloadBuilder("tiny", (4, 4, 1))
    b.conv(2, 3, weight_bits=1, input_bits=1)
    b.bn()
    b.flatten()
    b.dense(3, bias=True)
    return b.build()


def test_hand_computed_summary() -> None:
    s = summarize(tiny())
    t = s.totals
    # conv: 3*3*1*2 = 18 one-bit weights; bn: 4 per channel * 2; dense: 32*3 + 3 bias
    assert t.params_by_bits == {1: 18, 32: 8 + 96 + 3}
    assert t.params == 125
    assert t.model_bytes == 18 / 8 + 107 * 4
    assert t.float32_bytes == 125 * 4
    assert t.compression_ratio == pytest.approx(500 / 430.25)
    # conv: 16 positions * 2 outputs * 9; dense: 32 * 3
    assert t.macs_by_bits == {1: 288, 32: 96}
    assert t.binary_mac_ratio == pytest.approx(0.75)
    # peak while bn runs: conv output (32 floats) + bn output (32 floats) = 2048 bits
    assert t.peak_activation_bytes == 2048 / 8
    assert [row.name for row in s.layers] == ["conv1", "bn1", "flatten1", "fc1"]


def test_residual_shortcut_stays_live_for_peak_memory() -> None:
    b = WorkloadBuilder("res", (8, 8, 4))
    b.conv(4, 3)  # 256 floats
    shortcut = b.last
    b.conv(4, 3)
    b.bn()
    b.add(b.last, shortcut)
    t = summarize(b.build()).totals
    # while bn runs: shortcut (conv1 out), conv2 out and bn out are live: 3 * 256 * 32 bits
    assert t.peak_activation_bytes == 3 * 256 * 4


def test_mac_precision_is_the_wider_operand() -> None:
    w = tiny()
    conv = w.layer("conv1")
    assert mac_bits(conv) == 1
    assert mac_bits(replace(conv, input_bits=8)) == 8
    assert macs(conv) == 288


def test_bn_parameter_counts_follow_keras() -> None:
    b = WorkloadBuilder("bn", (2, 2, 5))
    b.bn(params_per_channel=3)
    assert parameters_by_bits(b.build().layers[0]) == {32: 15}


@pytest.mark.parametrize(("name", "params", "mib"), [("binary-alexnet", 61_859_192, 7.49), ("xnornet", 62_396_768, 22.81)])
def test_larq_zoo_published_parameter_counts_are_reproduced(name: str, params: int, mib: float) -> None:
    t = summarize(zoo.get(name)).totals
    assert t.params == params
    assert round(t.model_bytes / 2**20, 2) == mib


def test_every_zoo_model_builds_and_summarizes() -> None:
    for name in zoo.names():
        s = summarize(zoo.get(name))
        assert s.totals.params > 0 and s.totals.macs > 0, name
        assert zoo.describe(name)


def test_unknown_zoo_model_lists_names() -> None:
    with pytest.raises(WorkloadError, match="unknown model 'nope'.*lfc"):
        zoo.get("nope")


def test_shape_mismatch_is_an_error_naming_the_layer() -> None:
    good = tiny()
    bad = replace(good.layers[1], input_shape=(4, 4, 3), output_shape=(4, 4, 3))
    with pytest.raises(WorkloadError, match="layer 'bn1'.*input shape"):
        replace(good, layers=(good.layers[0], bad, *good.layers[2:]))


def test_conv_output_size_is_checked() -> None:
    conv = Layer("c", "conv", (8, 8, 1), (7, 7, 2), kernel=(3, 3), padding=(1, 1), weight_bits=1)
    with pytest.raises(WorkloadError, match="layer 'c'.*does not follow"):
        Workload("w", (8, 8, 1), (conv,))


def test_unknown_producer_and_duplicate_names() -> None:
    layer = Layer("a", "activation", (4,), (4,), inputs=("ghost",))
    with pytest.raises(WorkloadError, match="reads 'ghost'"):
        Workload("w", (4,), (layer,))
    twice = Layer("a", "activation", (4,), (4,))
    with pytest.raises(WorkloadError, match="duplicate"):
        Workload("w", (4,), (twice, twice))


def test_weights_on_a_non_matrix_layer_are_an_error() -> None:
    with pytest.raises(WorkloadError, match="has no weights"):
        Workload("w", (4,), (Layer("a", "activation", (4,), (4,), weight_bits=1),))


def test_json_round_trip(tmp_path) -> None:
    w = zoo.get("quicknet-small")
    assert from_dict(to_dict(w)) == w
    path = tmp_path / "w.json"
    path.write_text(json.dumps(to_dict(w)))
    assert load_json(str(path)) == w


def test_bad_workload_json_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "w.json"
    path.write_text("{not json")
    with pytest.raises(WorkloadError, match="not valid JSON"):
        load_json(str(path))
    data = to_dict(tiny())
    del data["layers"][0]["kind"]
    with pytest.raises(WorkloadError, match="malformed workload"):
        from_dict(data, "x.json")
    data = to_dict(tiny())
    data["layers"][0]["colour"] = "red"
    with pytest.raises(WorkloadError, match="unknown field"):
        from_dict(data, "x.json")


def test_binary_precision_variant_changes_only_binary_operands() -> None:
    cnv = zoo.get("cnv")
    w2a2 = with_binary_precision(cnv, 2, 2)
    first, second = w2a2.layer("conv1"), w2a2.layer("conv2")
    assert (first.weight_bits, first.input_bits) == (2, 8)
    assert (second.weight_bits, second.input_bits) == (2, 2)


def test_format_summary_has_totals() -> None:
    text = format_summary(summarize(tiny()))
    assert "Ratio of MACs that are binarized  0.7500" in text
    assert "conv1" in text
