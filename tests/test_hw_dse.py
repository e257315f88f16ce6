"""Pareto fronts (property tests) and sweeps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hw_models import zoo
from hw_models.dse import (
    FPS_VS_LUT,
    LATENCY_VS_ENERGY,
    DesignPoint,
    dominates,
    pareto_front,
    sweep_cpu,
    sweep_fpga,
)
from hw_models.target import load_target


def point(fps: float, lut: int, latency: float, energy: float) -> DesignPoint:
    return DesignPoint("w", "t", "W1A1", 100.0, 0, fps, latency, energy, 1.0, lut, 0, 0, True)


points_strategy = st.lists(
    st.builds(point, st.floats(1, 1e6), st.integers(1, 10**6), st.floats(1e-6, 1.0), st.floats(1e-6, 1.0)),
    min_size=1, max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(points_strategy)
def test_front_members_are_not_dominated(points: list[DesignPoint]) -> None:
    for objectives in (FPS_VS_LUT, LATENCY_VS_ENERGY):
        front = pareto_front(points, objectives)
        assert front
        for p in front:
            assert not any(dominates(q, p, objectives) for q in points)


@settings(max_examples=60, deadline=None)
@given(points_strategy)
def test_every_point_off_the_front_is_dominated_by_a_front_member(points: list[DesignPoint]) -> None:
    front = pareto_front(points, FPS_VS_LUT)
    for p in points:
        if p not in front:
            assert any(dominates(q, p, FPS_VS_LUT) for q in front)


def test_dominance_needs_one_strict_improvement() -> None:
    a, b = point(10, 5, 1, 1), point(10, 5, 1, 1)
    assert not dominates(a, b, FPS_VS_LUT)
    assert dominates(point(11, 5, 1, 1), b, FPS_VS_LUT)
    assert not dominates(point(11, 6, 1, 1), b, FPS_VS_LUT)


def test_fpga_sweep_spans_precisions_and_clocks() -> None:
    points = sweep_fpga(zoo.get("sfc"), load_target("pynq-z1"), precisions=("W1A1", "W2A2"), clocks_mhz=(100, 150), points=4)
    assert {(p.precision, p.clock_mhz) for p in points} == {(a, c) for a in ("W1A1", "W2A2") for c in (100.0, 150.0)}
    front = pareto_front([p for p in points if p.fits], FPS_VS_LUT)
    assert max(p.fps for p in front) == max(p.fps for p in points if p.fits)


def test_cpu_sweep_covers_thread_counts() -> None:
    points = sweep_cpu(zoo.get("mnist-bnn"), load_target("rpi4b"))
    assert [p.threads for p in points] == [1, 2, 3, 4]
