"""Exceptions shared by the library and the CLI (kept free of heavy imports)."""


class IsaUnavailableError(RuntimeError):
    """An ISA path was requested (``set_isa`` or ``BNNBENCH_ISA``) that this CPU or build lacks."""
