"""cffi (API mode) build of the C kernels into ``bnnbench._kernels``.

setuptools runs this at install time through ``cffi_modules`` in setup.py.
Every source under ``kernels/src`` is compiled with the same portable flags;
the per-ISA files select their instruction sets with target pragmas, so the
library runs on any x86-64 (or AArch64) CPU and dispatches at load time.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
import tempfile
from pathlib import Path

from cffi import FFI

KERNELS = Path(__file__).resolve().parent
# setuptools wants source paths relative to the project root (where setup.py is).
ROOT = KERNELS.parent
SOURCES = sorted(str(p.relative_to(ROOT)) for p in (KERNELS / "src").glob("*.c"))
HEADER = KERNELS / "include" / "bnn.h"

BASE_FLAGS = [
    "-O3", "-std=c99", "-Wall", "-Wextra", "-ffp-contract=off", "-fno-strict-aliasing",
    # sqrtf becomes one instruction the noise kernels can vectorize; results are unchanged (errno only)
    "-fno-math-errno",
]
OPENMP_FLAG = "-fopenmp"


def cdef_source() -> str:
    """The public header without preprocessor lines: cffi parses declarations only."""
    lines = HEADER.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def compiler_accepts_openmp() -> bool:
    """Try-compile a tiny OpenMP program with the compiler Python was built with."""
    if os.environ.get("BNNBENCH_NO_OPENMP"):
        return False
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "omp.c"
        src.write_text("#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n")
        result = subprocess.run(
            [*compiler, OPENMP_FLAG, str(src), "-o", str(Path(tmp) / "omp")],
            capture_output=True,
        )
    return result.returncode == 0


def make_builder() -> FFI:
    flags = list(BASE_FLAGS)
    link: list[str] = []
    if compiler_accepts_openmp():
        flags.append(OPENMP_FLAG)
        link.append(OPENMP_FLAG)
    builder = FFI()
    builder.cdef(cdef_source())
    builder.set_source(
        "bnnbench._kernels",
        '#include "bnn.h"',
        sources=SOURCES,
        include_dirs=[str((KERNELS / "include").relative_to(ROOT)), str((KERNELS / "src").relative_to(ROOT))],
        extra_compile_args=flags,
        extra_link_args=link,
        define_macros=[("BNN_BUILD_FLAGS", '"' + " ".join(flags) + '"')],
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
