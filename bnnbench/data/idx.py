"""Reader for the IDX file format of the MNIST distribution (LeCun et al. 1998).

An IDX file is a big-endian header followed by raw data:

* bytes 0-1: zero; byte 2: the element type code (0x08 = unsigned byte, the
  only type MNIST uses and the only one read here); byte 3: the number of
  dimensions ``d``;
* ``d`` 32-bit big-endian dimension sizes;
* ``prod(sizes)`` elements.

MNIST's label files therefore start with the magic number 0x00000801 and its
image files with 0x00000803. Files are read whole (optionally gunzipped) and
checked strictly: a wrong magic number, a header that does not match the
expected shape, or a data section that is shorter or longer than the header
declares is an :class:`IdxFormatError` naming the file and the problem, never
an array of garbage.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IdxFormatError", "read_idx", "encode_idx"]

_UBYTE_TYPE_CODE = 0x08


class IdxFormatError(ValueError):
    """A file that is not a well-formed IDX file of the expected kind."""


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise IdxFormatError(f"{path}: truncated gzip stream ({exc})") from None
    except (OSError, zlib.error) as exc:
        raise IdxFormatError(f"{path}: not a valid gzip file ({exc})") from None


def read_idx(path: str | os.PathLike[str], *, ndim: int) -> np.ndarray:
    """Read an unsigned-byte IDX file with ``ndim`` dimensions into a uint8 array.

    ``path`` ending in ``.gz`` is decompressed first. ``ndim`` is 1 for label
    files and 3 for image files; anything else in the header is an error.
    """
    file = Path(path)
    data = _read_bytes(file)
    if len(data) < 4:
        raise IdxFormatError(f"{file}: {len(data)} bytes is too short for an IDX header")
    zero, type_code, dims = struct.unpack(">HBB", data[:4])
    expected_magic = (_UBYTE_TYPE_CODE << 8) | ndim
    if zero != 0 or type_code != _UBYTE_TYPE_CODE or dims != ndim:
        magic = int.from_bytes(data[:4], "big")
        raise IdxFormatError(
            f"{file}: wrong magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IdxFormatError(f"{file}: truncated header ({len(data)} of {header_size} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(data) - header_size
    if actual < expected:
        raise IdxFormatError(
            f"{file}: truncated data: header declares shape {shape} ({expected} bytes), "
            f"file holds {actual}"
        )
    if actual > expected:
        raise IdxFormatError(
            f"{file}: {actual - expected} unexpected trailing bytes after the {shape} data"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX encoding (uncompressed) of a uint8 array: the inverse of :func:`read_idx`."""
    if array.dtype != np.uint8:
        raise TypeError(f"IDX encoding here supports uint8 arrays, got {array.dtype}")
    header = struct.pack(">HBB", 0, _UBYTE_TYPE_CODE, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()
