"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Everything bnnbench writes (reports, metrics, checkpoints, figures, downloaded
data) goes to a temporary file beside the target and is renamed onto it, so a
run that is interrupted or dies mid-write never leaves a partial or corrupt
file. The file gets the permissions ``open(path, "w")`` would have given
(``0666`` minus the umask), not ``mkstemp``'s private ``0600``: reports are
meant to be shared.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic", "write_json_atomic"]


def _default_file_mode() -> int:
    """0o666 minus the process umask: what ``open(path, "w")`` would have given."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; when the block succeeds, rename it onto ``target``.

    For writers that want a file name (``torch.save``, ``savefig``). The parent
    directory is created if needed. On an exception the temporary file is
    removed and ``target`` is left untouched.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    try:
        os.fchmod(fd, _default_file_mode())
    finally:
        os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename); return the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], data: object) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically; return the path."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
