"""CPU model: peak rates derived from instruction throughputs, thread scaling, energy, layer predictions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hw_models import energy, zoo
from hw_models.cpu import (
    binary_loop_cycles,
    binary_macs_per_cycle,
    compute_path,
    estimate_cpu,
    fp32_macs_per_cycle,
    int8_macs_per_cycle,
    layer_cost,
)
from hw_models.errors import HwModelError
from hw_models.layer_bench import binary_conv_layer, dabnn_layer_set, dabnn_predictions, predict_layer
from hw_models.target import CpuTarget, load_target


def cpu(name: str) -> CpuTarget:
    target = load_target(name)
    assert isinstance(target, CpuTarget)
    return target


def test_peak_rates_follow_from_issue_width_and_throughputs() -> None:
    x86 = cpu("x86-avx512")
    # xor + popcount + add = 3 zmm ops at 2 per cycle -> 1.5 cycles per 512 bits
    assert binary_loop_cycles(x86) == 1.5
    assert binary_macs_per_cycle(x86) == pytest.approx(512 / 1.5)
    assert fp32_macs_per_cycle(x86) == 16
    assert int8_macs_per_cycle(x86) == 64
    a53 = cpu("rpi3b")
    # 3 Q-form ops at 0.5 per cycle -> 6 cycles per 128 bits
    assert binary_macs_per_cycle(a53) == pytest.approx(128 / 6)
    assert int8_macs_per_cycle(cpu("pixel4")) == 32  # SDOT: 2 per cycle x 16 int8 lanes
    assert int8_macs_per_cycle(cpu("rpi4b")) == 8  # no SDOT: SMLAL, 1 per cycle x 8 lanes


def test_compute_paths() -> None:
    conv = binary_conv_layer(8, 8, 64, 64)
    assert compute_path(conv) == "binary"
    assert compute_path(replace(conv, weight_bits=2, input_bits=2)) == "bitserial"
    assert compute_path(replace(conv, weight_bits=1, input_bits=8)) == "int8"
    assert compute_path(replace(conv, weight_bits=1, input_bits=32)) == "fp32"


def test_binary_layer_is_faster_and_cheaper_than_its_float_twin() -> None:
    target = cpu("rpi4b")
    conv = binary_conv_layer(28, 28, 128, 128)
    float_conv = replace(conv, weight_bits=32, input_bits=32)
    binary, flt = layer_cost(conv, 32, 1, target), layer_cost(float_conv, 32, 1, target)
    assert binary.latency_s < flt.latency_s / 5
    assert binary.energy_j < flt.energy_j


def test_threads_scale_compute_and_are_bounded_by_cores() -> None:
    target = cpu("rpi4b")
    workload = zoo.get("quicknet-small")
    one, four = estimate_cpu(workload, target, 1), estimate_cpu(workload, target, 4)
    assert four.latency_s < one.latency_s
    assert four.latency_s > one.latency_s / 4 - 1e-12
    with pytest.raises(HwModelError, match="4 cores; cannot run 5 threads"):
        estimate_cpu(workload, target, 5)


def test_totals_are_sums_of_layers() -> None:
    est = estimate_cpu(zoo.get("birealnet-18"), cpu("pixel1"))
    assert est.latency_s == pytest.approx(sum(c.latency_s for c in est.layers))
    assert est.energy_j == pytest.approx(sum(c.energy_j for c in est.layers))
    assert est.fps == pytest.approx(1 / est.latency_s)


def test_packing_is_charged_only_when_the_input_is_not_packed() -> None:
    target = cpu("x86-avx512")
    conv = binary_conv_layer(56, 56, 64, 64)
    assert predict_layer(target, conv, packed_input=True).latency_s < predict_layer(target, conv).latency_s


def test_kernel_benchmark_layer_set_and_predictions() -> None:
    names = [layer.name for layer in dabnn_layer_set()]
    assert names == [
        "conv3x3 56x56x64->64", "conv3x3 28x28x128->128", "conv3x3 14x14x256->256", "conv3x3 7x7x512->512",
        "dense 4096->4096 batch 1", "dense 4096->4096 batch 64",
    ]
    predictions = dabnn_predictions("x86-avx512")
    assert [p.name for p in predictions] == names
    assert all(p.latency_s > 0 and p.macs > 0 for p in predictions)
    assert predictions[0].macs == 56 * 56 * 64 * 9 * 64
    assert predictions[5].macs == 64 * 4096 * 4096
    with pytest.raises(HwModelError, match="FPGA"):
        dabnn_predictions("pynq-z1")


def test_energy_tables() -> None:
    assert energy.mac_pj(32, 32) == pytest.approx(3.7 + 0.9)
    assert energy.mac_pj(8, 8) == pytest.approx(0.2 + 0.1)
    assert energy.binary_mac_pj() == pytest.approx(2 * 0.1 / 32)
    assert energy.int_mult_pj(32) == pytest.approx(3.2)  # quadratic through int8's 0.2 pJ (Horowitz: 3.1)
    assert energy.sram_read_pj_per_64bit(8 * 1024) == pytest.approx(10)
    assert energy.sram_read_pj_per_64bit(32 * 1024) == pytest.approx(20)
    assert energy.sram_read_pj_per_64bit(1024 * 1024) == pytest.approx(100)
    assert energy.node_scale(45) == 1 and energy.node_scale(7) == pytest.approx(7 / 45)
