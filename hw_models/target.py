"""Targets as data: load and validate ``hw_models/targets/*.toml`` (or any path).

A target file describes one machine: a CPU (cores, clock, vector width,
per-instruction throughputs, caches, DRAM) or an FPGA (device resources,
clock). Every number in a shipped target file carries a comment saying where
it comes from. A malformed file raises :class:`~hw_models.errors.TargetError`
naming the file, the field and the problem.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw_models.errors import TargetError

TARGETS_DIR = Path(__file__).with_name("targets")

#: Instruction classes a CPU target gives throughputs for (instructions per cycle per core).
CPU_INSTRUCTION_CLASSES: tuple[str, ...] = (
    "fma_f32",  # vector fp32 fused multiply-add
    "dot_i8",  # vector int8 dot product (SDOT / VPDPBUSD); 0 if absent
    "mla_i16",  # widening int8 multiply-accumulate into 16-bit lanes (SMLAL / VPMADDUBSW)
    "xor",  # vector bitwise xor
    "popcount",  # vector population count
    "add",  # vector integer add
)


@dataclass(frozen=True)
class CacheLevel:
    """One cache level: capacity, bandwidth, and whether cores share it."""

    name: str
    size_bytes: int
    bytes_per_cycle: float
    shared: bool


@dataclass(frozen=True)
class CpuTarget:
    """A CPU: the numbers the roofline model needs, all from the target file."""

    name: str
    description: str
    source_file: str
    sources: tuple[str, ...]
    process_nm: float
    cores: int
    clock_ghz: float
    vector_bits: int
    vector_issue: float
    popcount_lane_bits: int
    throughput: dict[str, float]
    binary_loop: dict[str, float]
    binary_word_bits: int
    caches: tuple[CacheLevel, ...]
    dram_gbs: float
    kind: str = "cpu"


@dataclass(frozen=True)
class FpgaTarget:
    """An FPGA device and board clock."""

    name: str
    description: str
    source_file: str
    sources: tuple[str, ...]
    process_nm: float
    device: str
    clock_mhz: float
    luts: int
    bram18: int
    dsps: int
    lutram_max_depth: int
    static_power_w: float
    kind: str = "fpga"


Target = CpuTarget | FpgaTarget


# ---------------------------------------------------------------------------
# Field readers: each names the file, the field and the problem.
# ---------------------------------------------------------------------------


class _Reader:
    def __init__(self, source: str, table: dict[str, Any], prefix: str = "") -> None:
        self.source = source
        self.table = table
        self.prefix = prefix
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def raw(self, key: str, *, required: bool = True, default: Any = None) -> Any:
        self.used.add(key)
        if key not in self.table:
            if required:
                raise TargetError(self.source, self._path(key), "missing")
            return default
        return self.table[key]

    def string(self, key: str, *, required: bool = True, default: str = "") -> str:
        value = self.raw(key, required=required, default=default)
        if not isinstance(value, str):
            raise TargetError(self.source, self._path(key), f"must be a string, got {value!r}")
        return value

    def number(self, key: str, *, minimum: float = 0.0, strict: bool = True, required: bool = True,
               default: float = 0.0) -> float:
        value = self.raw(key, required=required, default=default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TargetError(self.source, self._path(key), f"must be a number, got {value!r}")
        if value < minimum or (strict and value == minimum):
            bound = ">" if strict else ">="
            raise TargetError(self.source, self._path(key), f"must be {bound} {minimum:g}, got {value!r}")
        return float(value)

    def integer(self, key: str, *, minimum: int = 1, required: bool = True, default: int = 0) -> int:
        value = self.raw(key, required=required, default=default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TargetError(self.source, self._path(key), f"must be an integer, got {value!r}")
        if value < minimum:
            raise TargetError(self.source, self._path(key), f"must be >= {minimum}, got {value!r}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise TargetError(self.source, self._path(key), f"must be true or false, got {value!r}")
        return value

    def table_of(self, key: str) -> _Reader:
        value = self.raw(key)
        if not isinstance(value, dict):
            raise TargetError(self.source, self._path(key), "must be a table")
        return _Reader(self.source, value, prefix=f"{self._path(key)}.")

    def finish(self) -> None:
        """Unknown fields are errors: a typo must not silently fall back to a default."""
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise TargetError(self.source, self._path(unknown[0]), "unknown field")


def _read_cpu(reader: _Reader, common: dict[str, Any]) -> CpuTarget:
    cpu = reader.table_of("cpu")
    cores = cpu.integer("cores")
    clock = cpu.number("clock_ghz")
    vector_bits = cpu.integer("vector_bits", minimum=64)
    vector_issue = cpu.number("vector_issue")
    lane_bits = cpu.integer("popcount_lane_bits")
    word_bits = cpu.integer("binary_word_bits")
    cpu.finish()

    thr = reader.table_of("throughput")
    throughput = {name: thr.number(name, strict=False) for name in CPU_INSTRUCTION_CLASSES}
    thr.finish()
    for needed in ("fma_f32", "xor", "popcount", "add"):
        if throughput[needed] == 0:
            raise TargetError(reader.source, f"throughput.{needed}", "must be > 0 (every CPU has this instruction class)")
    if throughput["dot_i8"] == 0 and throughput["mla_i16"] == 0:
        raise TargetError(reader.source, "throughput.mla_i16", "one of dot_i8 / mla_i16 must be > 0 for int8 layers")

    loop = reader.table_of("binary_loop")
    binary_loop = {name: loop.number(name, strict=False) for name in ("xor", "popcount", "add")}
    loop.finish()

    caches_raw = reader.raw("caches")
    if not isinstance(caches_raw, list) or not caches_raw:
        raise TargetError(reader.source, "caches", "must be a non-empty array of tables ([[caches]])")
    caches = []
    for index, entry in enumerate(caches_raw):
        if not isinstance(entry, dict):
            raise TargetError(reader.source, f"caches[{index}]", "must be a table")
        level = _Reader(reader.source, entry, prefix=f"caches[{index}].")
        caches.append(
            CacheLevel(
                name=level.string("name"),
                size_bytes=int(level.number("size_kib") * 1024),
                bytes_per_cycle=level.number("bytes_per_cycle"),
                shared=level.boolean("shared"),
            )
        )
        level.finish()
    for smaller, larger in zip(caches, caches[1:]):
        if larger.size_bytes <= smaller.size_bytes:
            raise TargetError(reader.source, "caches", f"levels must grow: {larger.name} is not larger than {smaller.name}")
    dram = reader.table_of("dram")
    dram_gbs = dram.number("bandwidth_gbs")
    dram.finish()
    return CpuTarget(
        cores=cores, clock_ghz=clock, vector_bits=vector_bits, vector_issue=vector_issue,
        popcount_lane_bits=lane_bits, throughput=throughput, binary_loop=binary_loop,
        binary_word_bits=word_bits, caches=tuple(caches), dram_gbs=dram_gbs, **common,
    )


def _read_fpga(reader: _Reader, common: dict[str, Any]) -> FpgaTarget:
    fpga = reader.table_of("fpga")
    target = FpgaTarget(
        device=fpga.string("device"),
        clock_mhz=fpga.number("clock_mhz"),
        luts=fpga.integer("luts"),
        bram18=fpga.integer("bram18"),
        dsps=fpga.integer("dsps", minimum=0),
        lutram_max_depth=fpga.integer("lutram_max_depth", minimum=0),
        static_power_w=fpga.number("static_power_w", strict=False),
        **common,
    )
    fpga.finish()
    return target


def parse_target(data: dict[str, Any], source: str) -> Target:
    """Validate the parsed TOML ``data`` of ``source`` into a target."""
    reader = _Reader(source, data)
    kind = reader.string("kind")
    common = {
        "name": reader.string("name"),
        "description": reader.string("description"),
        "process_nm": reader.number("process_nm"),
        "source_file": source,
    }
    sources = reader.raw("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        raise TargetError(source, "sources", "must be a non-empty list of strings citing where the numbers come from")
    common["sources"] = tuple(sources)
    if kind == "cpu":
        target: Target = _read_cpu(reader, common)
    elif kind == "fpga":
        target = _read_fpga(reader, common)
    else:
        raise TargetError(source, "kind", f"must be 'cpu' or 'fpga', got {kind!r}")
    reader.finish()
    return target


def target_names() -> list[str]:
    """Names of the shipped targets (file stems under ``hw_models/targets``)."""
    return sorted(path.stem for path in TARGETS_DIR.glob("*.toml"))


def load_target(name_or_path: str) -> Target:
    """Load a shipped target by name (``rpi4b``) or any target file by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml" or not path.exists():
        candidate = TARGETS_DIR / f"{name_or_path}.toml"
        if not candidate.exists():
            if path.suffix == ".toml":
                raise TargetError(str(path), "(file)", "no such file")
            raise TargetError(name_or_path, "(name)", f"unknown target; shipped targets: {', '.join(target_names())}, or give a .toml path")
        path = candidate
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(str(path), "(syntax)", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise TargetError(str(path), "(file)", f"cannot read: {exc.strerror}") from None
    return parse_target(data, str(path))
