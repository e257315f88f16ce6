"""Describe the machine and software a measurement ran on (``bnnbench info``).

Every report embeds this description so a number is never separated from the
CPU, ISA path, compiler flags and thread counts that produced it.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from pathlib import Path


def cpu_model() -> str:
    """The CPU's marketing name, from /proc/cpuinfo where there is one."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def describe() -> dict[str, object]:
    """Machine, kernels and library versions as one JSON-ready dict."""
    import numpy
    import torch

    from bnnbench import __version__, kernels

    return {
        "bnnbench": __version__,
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_features": kernels.cpu_features(),
        "isa": kernels.isa(),
        "available_isas": list(kernels.available_isas()),
        "kernels_build": kernels.build_info(),
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "threads": {
            "cores_usable": usable_cores(),
            "cpu_count": os.cpu_count(),
            "torch_intra_op": torch.get_num_threads(),
            "torch_inter_op": torch.get_num_interop_threads(),
            "kernels_openmp_max": kernels.build_info()["max_threads"],
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        },
    }


def format_text(info: dict[str, object]) -> str:
    """A human-readable rendering of :func:`describe`."""
    features = info["cpu_features"]
    assert isinstance(features, dict)
    build = info["kernels_build"]
    assert isinstance(build, dict)
    threads = info["threads"]
    assert isinstance(threads, dict)
    detected = ", ".join(name for name, present in features.items() if present) or "none"
    rows = [
        ("bnnbench", info["bnnbench"]),
        ("host", info["host"]),
        ("platform", info["platform"]),
        ("CPU", info["cpu_model"]),
        ("CPU features", detected),
        ("ISA path", f"{info['isa']} (available: {', '.join(info['available_isas'])})"),  # type: ignore[arg-type]
        ("compiler", build["compiler"]),
        ("flags", build["flags"]),
        ("OpenMP", "yes" if build["openmp"] else "no"),
        ("python / numpy / torch", f"{info['python']} / {info['numpy']} / {info['torch']}"),
        (
            "threads",
            f"{threads['cores_usable']} usable cores, torch {threads['torch_intra_op']} intra-op, "
            f"kernels up to {threads['kernels_openmp_max']} (OMP_NUM_THREADS={threads['OMP_NUM_THREADS'] or 'unset'})",
        ),
    ]
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)
