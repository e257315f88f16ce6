"""Errors raised by hw_models for bad input (a user mistake, never a bug).

Every message names what is wrong and where, so the CLI can print it on one
line without a traceback.
"""

from __future__ import annotations


class HwModelError(Exception):
    """Base class: bad input to the hardware cost model."""


class WorkloadError(HwModelError):
    """A workload is inconsistent (shapes, names, bit widths) or unknown."""


class TargetError(HwModelError):
    """A target file is missing, malformed, or has an invalid field."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(f"{source}: field '{field}': {problem}")


class FoldingError(HwModelError):
    """A folding (per-layer PE/SIMD) is invalid or cannot meet a requirement."""
