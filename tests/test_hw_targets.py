"""Targets as data: every shipped file loads; malformed files name the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from hw_models.errors import TargetError
from hw_models.target import CpuTarget, FpgaTarget, load_target, target_names

REQUIRED = {"rpi3b", "rpi4b", "pixel1", "pixel4", "x86-avx512", "pynq-z1", "ultra96", "zc706"}


def test_all_required_targets_ship_and_load() -> None:
    assert REQUIRED <= set(target_names())
    for name in target_names():
        target = load_target(name)
        assert target.name == name
        assert target.sources


def test_documented_device_figures() -> None:
    pynq = load_target("pynq-z1")
    assert isinstance(pynq, FpgaTarget)
    assert (pynq.luts, pynq.bram18, pynq.dsps, pynq.clock_mhz) == (53200, 280, 220, 100.0)
    zc706 = load_target("zc706")
    assert isinstance(zc706, FpgaTarget) and zc706.clock_mhz == 200.0
    x86 = load_target("x86-avx512")
    assert isinstance(x86, CpuTarget)
    assert (x86.cores, x86.vector_bits, x86.caches[0].size_bytes) == (2, 512, 32 * 1024)


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "t.toml"
    path.write_text(text)
    return str(path)


FPGA = """kind = "fpga"
name = "x"
description = "d"
process_nm = 28
sources = ["s"]
[fpga]
device = "dev"
clock_mhz = 100
luts = 1000
bram18 = 10
dsps = 0
lutram_max_depth = 128
static_power_w = 0.1
"""


def test_a_valid_file_loads_by_path(tmp_path: Path) -> None:
    assert load_target(_write(tmp_path, FPGA)).luts == 1000  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ("luts = 1000", "", "fpga.luts", "missing"),
        ("luts = 1000", 'luts = "many"', "fpga.luts", "must be an integer"),
        ("clock_mhz = 100", "clock_mhz = -5", "fpga.clock_mhz", "must be > 0"),
        ('kind = "fpga"', 'kind = "gpu"', "kind", "must be 'cpu' or 'fpga'"),
        ("lutram_max_depth = 128", "lutram_max_depth = 128\ncolour = 1", "fpga.colour", "unknown field"),
        ('sources = ["s"]', "sources = []", "sources", "non-empty list"),
    ],
)
def test_malformed_target_names_file_field_and_problem(tmp_path: Path, old: str, new: str, field: str, problem: str) -> None:
    path = _write(tmp_path, FPGA.replace(old, new))
    with pytest.raises(TargetError) as info:
        load_target(path)
    message = str(info.value)
    assert path in message and f"field '{field}'" in message and problem in message


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "kind = \n")
    with pytest.raises(TargetError, match="not valid TOML") as info:
        load_target(path)
    assert path in str(info.value)


def test_cpu_caches_must_grow(tmp_path: Path) -> None:
    text = Path(load_target("rpi4b").source_file).read_text().replace("size_kib = 1024", "size_kib = 16")
    with pytest.raises(TargetError, match="field 'caches'.*must grow"):
        load_target(_write(tmp_path, text))


def test_cpu_needs_core_instruction_throughputs(tmp_path: Path) -> None:
    text = Path(load_target("rpi4b").source_file).read_text().replace("popcount = 2 ", "popcount = 0 ")
    with pytest.raises(TargetError, match="throughput.popcount.*must be > 0"):
        load_target(_write(tmp_path, text))


def test_unknown_target_name_lists_targets() -> None:
    with pytest.raises(TargetError, match="unknown target.*rpi4b"):
        load_target("nope")
    with pytest.raises(TargetError, match="no such file"):
        load_target("/does/not/exist.toml")


def test_hw_models_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, hw_models, hw_models.validation, hw_models.dse; "
            "sys.exit(1 if any(m == 'torch' or m.startswith('torch.') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1]).returncode == 0
