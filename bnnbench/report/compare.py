"""Compare the timings of two runs, calling a change only where it is beyond the measured noise.

A measurement is a timing record (pytest-benchmark format: ``fullname`` and
``stats`` with the median and quartiles of seconds per call over rounds),
found in a results.json's suites or in a pytest-benchmark JSON file such as
the benchmarks.json ``bnnbench run`` writes beside it. Measurements present
in both files are paired by ``fullname``.

The rule. For each pair the ratio is B's median over A's median (below 1: B
takes less time). The noise of a measurement is the spread of its middle
half of rounds, its interquartile range [q1, q3]. B is

- **faster** when B's whole [q1, q3] lies below A's (B.q3 < A.q1),
- **slower** when it lies above (B.q1 > A.q3),
- **unchanged** when the two ranges overlap: the difference of the medians
  is within what the rounds of one run already vary by;
- **too few rounds** when either side has fewer than :data:`MIN_ROUNDS`
  rounds, too few for quartiles to mean anything.

Non-overlapping interquartile ranges are a deliberately conservative test:
robust to outlier rounds (a context switch moves the max, not q1 or q3) and
needing no assumption about the distribution of round times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bnnbench.report.loading import ResultsError, check_results, read_json

#: Quartiles of fewer rounds than this are not a measure of noise.
MIN_ROUNDS = 5


@dataclass(frozen=True)
class Timing:
    label: str
    median: float
    q1: float
    q3: float
    rounds: int


@dataclass(frozen=True)
class Comparison:
    label: str
    a: Timing
    b: Timing

    @property
    def ratio(self) -> float:
        """B's median time over A's: below 1, B is quicker."""
        return self.b.median / self.a.median

    @property
    def verdict(self) -> str:
        return verdict(self.a, self.b)


def verdict(a: Timing, b: Timing) -> str:
    """faster / slower / unchanged for B against A, by non-overlapping interquartile ranges (see module doc)."""
    if min(a.rounds, b.rounds) < MIN_ROUNDS:
        return "too few rounds"
    if b.q3 < a.q1:
        return "faster"
    if b.q1 > a.q3:
        return "slower"
    return "unchanged"


def _timing(record: Any, source: Path) -> tuple[str, Timing]:
    """``record`` is parsed JSON of any shape; a wrong shape surfaces as one of the errors caught below."""
    try:
        stats = record["stats"]
        key = str(record["fullname"])
        params = record.get("params") or {}
        group = record.get("group") or ""
        words = [str(v) if isinstance(v, str) else f"{k}={v}" for k, v in params.items()]
        label = f"{group}: {' '.join(words)}" if words else key
        timing = Timing(label, float(stats["median"]), float(stats["q1"]), float(stats["q3"]), int(stats["rounds"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResultsError(f"{source}: a timing record without the fields compare needs ({exc!r})") from None
    if timing.median <= 0:
        raise ResultsError(f"{source}: timing {key} has a non-positive median")
    return key, timing


def load_timings(path: Path) -> dict[str, Timing]:
    """Timing records of a results.json or a pytest-benchmark JSON file, by ``fullname``, in file order."""
    data = read_json(path)
    if isinstance(data, dict) and "schema" in data:
        suites = check_results(data, path)["suites"]
        records = [r for suite in suites.values() if isinstance(suite.get("data"), dict)
                   for r in suite["data"].get("benchmarks", [])]
    elif isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
        records = data["benchmarks"]
    else:
        raise ResultsError(f"{path}: neither a bnnbench results file nor a pytest-benchmark JSON file")
    return dict(_timing(record, path) for record in records)


def compare(a: Mapping[str, Timing], b: Mapping[str, Timing]) -> tuple[list[Comparison], list[str], list[str]]:
    """Pairs present in both (in A's order), and the labels only in A and only in B."""
    both = [Comparison(a[key].label, a[key], b[key]) for key in a if key in b]
    return both, [a[k].label for k in a if k not in b], [b[k].label for k in b if k not in a]


def format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_comparison(pairs: list[Comparison], only_a: list[str], only_b: list[str]) -> str:
    """A plain-text table, one line per pair, then counts by verdict and what could not be paired."""
    header = ("measurement", "A median", "B median", "B/A", "verdict")
    rows = [(c.label, format_seconds(c.a.median), format_seconds(c.b.median), f"{c.ratio:.3f}", c.verdict)
            for c in pairs]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i in (0, 4) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             .rstrip() for row in [header, *rows]]
    counts: dict[str, int] = {}
    for c in pairs:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    lines.append("")
    lines.append(f"{len(pairs)} measurements in both: "
                 + (", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none")
                 + ". B/A is B's median time over A's; a verdict needs non-overlapping [q1, q3] ranges.")
    for name, labels in (("A", only_a), ("B", only_b)):
        if labels:
            lines.append(f"only in {name} ({len(labels)}): {', '.join(labels)}")
    return "\n".join(lines) + "\n"
