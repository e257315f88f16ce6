"""FINN-style FPGA model: the published analytical figures, exactly, and the folding search."""

from __future__ import annotations

import math

import pytest

from hw_models import zoo
from hw_models.dse import FoldingSearch, candidate_parallelism, resource_cost
from hw_models.errors import FoldingError
from hw_models.finn import (
    Folding,
    estimate_fpga,
    memory_cost,
    mvtu_cycles,
    padded_height,
    ramb18_count,
    round_up,
    threshold_count,
    unit_cost,
)
from hw_models.target import load_target
from hw_models.validation import bnn_pynq_cnv_folding, lfc_max_folding


def test_lfc_max_on_zc706_reproduces_finn_cycles_and_frame_rate() -> None:
    lfc = zoo.get("lfc")
    est = estimate_fpga(lfc, load_target("zc706"), lfc_max_folding(lfc))
    assert [u.cycles for u in est.units] == [104, 128, 128, 128]
    assert est.fps == 1_562_500.0
    # FINN pads the 784 inputs to a multiple of SIMD 64, and the 10 outputs to a multiple of PE 16.
    assert round_up(784, 64) == 832
    assert padded_height(10, Folding(16, 8)) == 16


def test_cnv_w1a1_on_pynq_reproduces_bnn_pynq_cycles_and_frame_rate() -> None:
    cnv = zoo.get("cnv")
    est = estimate_fpga(cnv, load_target("pynq-z1"), bnn_pynq_cnv_folding(cnv))
    matrix_cycles = [u.cycles for u in est.units if u.pe]
    assert matrix_cycles == [32400, 28224, 20736, 28800, 20736, 18432, 32768, 32768, 8192]
    assert round(est.fps) == 3052
    assert est.fps == pytest.approx(100e6 / 32768)
    # the sliding-window units are never the bottleneck in this design
    assert all(u.swu_cycles < u.cycles for u in est.units if u.pe and u.kind == "conv")


def test_first_frame_latency_is_the_sum_of_unit_cycles() -> None:
    lfc = zoo.get("lfc")
    est = estimate_fpga(lfc, load_target("zc706"), lfc_max_folding(lfc))
    assert est.latency_s == pytest.approx((104 + 3 * 128) / 200e6)


def test_mvtu_cycles_formula() -> None:
    assert mvtu_cycles(mw=27, mh=64, pixels=900, folding=Folding(16, 3)) == 4 * 9 * 900
    assert mvtu_cycles(mw=512, mh=10, pixels=1, folding=Folding(4, 1, pad_outputs_to=64)) == 16 * 512


def test_ramb18_shapes() -> None:
    assert ramb18_count(1024, 18) == 1
    assert ramb18_count(512, 36) == 1
    assert ramb18_count(513, 36) == 2
    assert ramb18_count(16384, 1) == 1
    assert ramb18_count(100, 64) == 2  # two 512x36 halves side by side
    assert ramb18_count(0, 8) == 0


def test_memory_rule_lutram_below_threshold() -> None:
    assert memory_cost(depth=128, width=32, lutram_max_depth=128) == (2 * 32, 0)
    assert memory_cost(depth=129, width=32, lutram_max_depth=128) == (0, 1)


def test_threshold_count() -> None:
    assert threshold_count(1) == 1
    assert threshold_count(2) == 3
    assert threshold_count(None) == 0


def test_last_layer_has_no_thresholds_and_hidden_layers_one() -> None:
    lfc = zoo.get("lfc")
    est = estimate_fpga(lfc, load_target("zc706"), lfc_max_folding(lfc))
    assert [u.output_bits for u in est.units] == [1, 1, 1, 32]


def test_wider_precision_costs_more_luts() -> None:
    from hw_models.dse import precision_variant

    cnv = zoo.get("cnv")
    pynq = load_target("pynq-z1")
    w1a1 = estimate_fpga(cnv, pynq, bnn_pynq_cnv_folding(cnv))
    w2a2 = precision_variant(cnv, "W2A2")
    assert estimate_fpga(w2a2, pynq, bnn_pynq_cnv_folding(w2a2)).lut > w1a1.lut


def test_folding_naming_an_unknown_layer_is_an_error() -> None:
    with pytest.raises(FoldingError, match="'nope'.*not a conv/dense layer"):
        estimate_fpga(zoo.get("lfc"), load_target("zc706"), {"nope": Folding(1, 1)})


def test_folding_with_zero_pe_is_an_error() -> None:
    with pytest.raises(FoldingError, match="fc1.*pe must be a positive integer"):
        estimate_fpga(zoo.get("lfc"), load_target("zc706"), {"fc1": Folding(0, 1)})


def test_candidate_parallelism_has_divisors_and_powers_of_two() -> None:
    assert candidate_parallelism(27) == [1, 2, 3, 4, 8, 9, 16, 27, 32]


@pytest.mark.parametrize("fps", [100.0, 1000.0, 3052.0, 5000.0])
def test_folding_search_meets_the_target_frame_rate(fps: float) -> None:
    cnv, pynq = zoo.get("cnv"), load_target("pynq-z1")
    folding = FoldingSearch(cnv, pynq).for_fps(fps)
    assert estimate_fpga(cnv, pynq, folding).fps >= fps


def test_folding_search_picks_the_cheapest_folding_per_layer() -> None:
    cnv, pynq = zoo.get("cnv"), load_target("pynq-z1")
    budget = math.floor(100e6 / 3052)
    folding = FoldingSearch(cnv, pynq).for_cycles(budget)
    for index, layer in enumerate(cnv.layers):
        if not layer.is_matrix:
            continue
        chosen = resource_cost(unit_cost(cnv, index, folding[layer.name], pynq), pynq)
        for pe in candidate_parallelism(layer.output_shape[-1]):
            for simd in candidate_parallelism(layer.kernel[0] * layer.kernel[1] * layer.input_shape[-1]):
                unit = unit_cost(cnv, index, Folding(pe, simd), pynq)
                if unit.cycles <= budget:
                    assert resource_cost(unit, pynq) >= chosen - 1e-12


def test_search_beats_or_matches_bnn_pynq_hand_folding_at_its_frame_rate() -> None:
    cnv, pynq = zoo.get("cnv"), load_target("pynq-z1")
    hand = estimate_fpga(cnv, pynq, bnn_pynq_cnv_folding(cnv))
    searched = estimate_fpga(cnv, pynq, FoldingSearch(cnv, pynq).for_fps(hand.fps))
    assert searched.fps >= hand.fps
    assert searched.lut / pynq.luts + searched.bram18 / pynq.bram18 <= hand.lut / pynq.luts + hand.bram18 / pynq.bram18


def test_unreachable_frame_rate_names_the_limiting_unit() -> None:
    with pytest.raises(FoldingError, match="pool1.*cycles per frame|pooling"):
        FoldingSearch(zoo.get("cnv"), load_target("pynq-z1")).for_fps(1e6)


def test_fastest_fitting_fits_and_one_cycle_less_does_not() -> None:
    cnv, pynq = zoo.get("cnv"), load_target("pynq-z1")
    search = FoldingSearch(cnv, pynq)
    best = estimate_fpga(cnv, pynq, search.fastest_fitting())
    assert best.fits
    assert not estimate_fpga(cnv, pynq, search.for_cycles(best.max_cycles - 1)).fits


def test_power_and_energy_are_consistent() -> None:
    lfc = zoo.get("lfc")
    zc706 = load_target("zc706")
    est = estimate_fpga(lfc, zc706, lfc_max_folding(lfc))
    assert est.power_w > zc706.static_power_w
    assert est.energy_j == pytest.approx(est.power_w / est.fps)


def test_pool_after_folded_batch_norm_pools_the_thresholded_bits() -> None:
    cnv = zoo.get("cnv")
    est = estimate_fpga(cnv, load_target("pynq-z1"), bnn_pynq_cnv_folding(cnv))
    pools = [u for u in est.units if u.kind == "maxpool"]
    assert [(u.input_bits, u.lut, u.cycles) for u in pools] == [(1, 64, 28 * 28), (1, 128, 10 * 10)]
