"""Type stub of the cffi extension ``bnnbench._kernels`` (built from kernels/ by kernels/build.py).

cffi generates ``ffi`` and ``lib`` at build time; their members mirror the C
declarations, which mypy cannot see, so both are typed loosely here.
"""

from typing import Any

ffi: Any
lib: Any
