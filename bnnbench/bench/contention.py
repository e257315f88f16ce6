"""How much of the machine other processes used while we measured.

Timings on a shared machine are only as good as the machine was quiet: with
another process on the second core, a two-thread parallel region waits for a
scheduler time slice (milliseconds) and single-thread runs lose shared cache
and memory bandwidth.  The runner records this figure next to every suite and
the report flags a suite measured while others were busy.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


def _busy_cpu_seconds() -> float | None:
    """CPU seconds spent not idle, summed over all CPUs since boot (Linux only)."""
    if not PROC_STAT.is_file():
        return None
    fields = PROC_STAT.read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class ContentionMeter:
    """Start before a measurement, read :meth:`others_fraction` after it."""

    wall: float = 0.0
    busy: float | None = None
    own: float = 0.0

    def start(self) -> "ContentionMeter":
        self.wall, self.busy, self.own = time.monotonic(), _busy_cpu_seconds(), _own_cpu_seconds()
        return self

    def others_fraction(self) -> float | None:
        """Share of all CPUs' time used by other processes since :meth:`start` (None off Linux)."""
        busy_now = _busy_cpu_seconds()
        if busy_now is None or self.busy is None:
            return None
        wall = time.monotonic() - self.wall
        cpus = os.cpu_count() or 1
        others = (busy_now - self.busy) - (_own_cpu_seconds() - self.own)
        return max(0.0, others / (wall * cpus)) if wall > 0 else 0.0
