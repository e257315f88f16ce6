"""MNIST from the four original IDX gzip files, verified by checksum.

Where the files are looked for, in order (the first directory that holds all
four files wins; a directory "holds" them if they are in it or in its
``mnist/`` subdirectory):

1. ``data_dir`` (the CLI's ``--data-dir``),
2. ``$BNNBENCH_DATA``,
3. the user cache ``$XDG_CACHE_HOME/bnnbench`` (default ``~/.cache/bnnbench``).

When none holds them and ``download=True``, the files are fetched from the
original mirrors into ``data_dir`` if given, else into ``<cache>/mnist``, each
written to a temporary file, checked against its published MD5, then renamed.
Without network access this fails with :class:`MnistNotFoundError` saying where
it looked and what it tried. A file whose checksum does not match is a
:class:`ChecksumError` (it is never silently skipped or used).

Images are 28x28 uint8; :func:`to_tensors` scales them to ``[-1, 1]``
(``x / 127.5 - 1``) so that a sign quantizer on the input is meaningful
(background pixels map to -1) and real-valued layers see zero-centred inputs.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bnnbench.files import atomic_path
from bnnbench.data.idx import IdxFormatError, read_idx

if TYPE_CHECKING:
    import torch

__all__ = [
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "ChecksumError",
    "MnistNotFoundError",
    "MnistArrays",
    "candidate_dirs",
    "find_mnist_dir",
    "download_mnist",
    "load_mnist",
    "to_tensors",
    "md5_of",
    "verify_file",
    "VALIDATION_SIZE",
]

#: File name -> published MD5 (the checksums the original distribution is known by).
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

#: Mirrors tried in order: LeCun's original site, then the copy PyTorch's
#: datasets use (the original site has been intermittently unavailable).
MNIST_MIRRORS: tuple[str, ...] = (
    "http://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

#: The last 5,000 training images are the validation split (model selection,
#: learning-rate schedules); the test set is only used for final figures.
VALIDATION_SIZE = 5000

_DOWNLOAD_TIMEOUT_S = 30.0


class ChecksumError(ValueError):
    """A file whose MD5 is not the published one."""


class MnistNotFoundError(FileNotFoundError):
    """The MNIST files are nowhere to be found and could not be downloaded."""


@dataclass(frozen=True)
class MnistArrays:
    """MNIST as uint8 arrays: images ``(N, 28, 28)``, labels ``(N,)`` in 0..9."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: Path


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bnnbench"


def candidate_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The configured locations in lookup order: data_dir, $BNNBENCH_DATA, cache."""
    dirs: list[Path] = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    env = os.environ.get("BNNBENCH_DATA")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(_cache_dir())
    return dirs


def _holds_all(directory: Path) -> bool:
    return all((directory / name).is_file() for name in MNIST_FILES)


def find_mnist_dir(data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The first directory (or its ``mnist/`` subdirectory) holding all four files."""
    for base in candidate_dirs(data_dir):
        for directory in (base, base / "mnist"):
            if _holds_all(directory):
                return directory
    return None


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has its published MD5."""
    expected = MNIST_FILES[path.name]
    actual = md5_of(path)
    if actual != expected:
        raise ChecksumError(
            f"{path}: checksum mismatch (md5 {actual}, expected {expected}); "
            "the file is corrupt or not the original MNIST file: delete it to re-download"
        )


def download_mnist(target_dir: str | os.PathLike[str]) -> Path:
    """Fetch the four files from the original mirrors into ``target_dir``.

    Files already present with the right checksum are kept. Raises
    :class:`MnistNotFoundError` listing every URL tried when a file cannot be
    fetched (typically: no network), :class:`ChecksumError` when no mirror
    served it and at least one served a file with the wrong checksum.
    """
    target = Path(target_dir).expanduser()
    for name, expected in MNIST_FILES.items():
        final = target / name
        if final.is_file() and md5_of(final) == expected:
            continue
        failures: list[str] = []
        for mirror in MNIST_MIRRORS:
            url = mirror + name
            try:
                with atomic_path(final) as tmp:
                    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
                        tmp.write_bytes(response.read())
                    if md5_of(tmp) != expected:
                        raise ChecksumError(f"{url}: served a file with the wrong checksum")
                break
            except ChecksumError as exc:
                failures.append(str(exc))
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                failures.append(f"{url}: {reason}")
        else:
            if any("wrong checksum" in failure for failure in failures):
                raise ChecksumError(f"could not download a verified {name}: " + "; ".join(failures))
            raise MnistNotFoundError(
                f"could not download {name} (no network?). Tried: " + "; ".join(failures)
            )
    return target


def _read_split(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(directory / f"{prefix}-images-idx3-ubyte.gz", ndim=3)
    labels = read_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", ndim=1)
    if images.shape[1:] != (28, 28):
        raise IdxFormatError(f"{directory}: {prefix} images are {images.shape[1:]}, expected 28x28")
    if images.shape[0] != labels.shape[0]:
        raise IdxFormatError(
            f"{directory}: {images.shape[0]} {prefix} images but {labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise IdxFormatError(f"{directory}: {prefix} labels contain {labels.max()}, expected 0..9")
    return images, labels


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    verify: bool = True,
) -> MnistArrays:
    """Find (or download), verify and read MNIST.

    ``verify=False`` skips the checksums, for reading IDX files that are not the
    original distribution (tests, subsets); the format checks always apply.
    """
    directory = find_mnist_dir(data_dir)
    if directory is None:
        looked = ", ".join(str(d) for d in candidate_dirs(data_dir))
        if not download:
            raise MnistNotFoundError(
                f"MNIST not found (looked in {looked} and their mnist/ subdirectories); "
                "pass --data-dir, set $BNNBENCH_DATA, or allow the download"
            )
        destination = Path(data_dir).expanduser() if data_dir is not None else _cache_dir() / "mnist"
        try:
            directory = download_mnist(destination)
        except MnistNotFoundError as exc:
            raise MnistNotFoundError(f"MNIST not found (looked in {looked}) and {exc}") from None
    if verify:
        for name in MNIST_FILES:
            verify_file(directory / name)
    train_images, train_labels = _read_split(directory, "train")
    test_images, test_labels = _read_split(directory, "t10k")
    return MnistArrays(train_images, train_labels, test_images, test_labels, directory)


def to_tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 28, 28)`` uint8 -> float32 ``(N, 1, 28, 28)`` in ``[-1, 1]``; labels -> int64."""
    import torch

    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1) / 127.5 - 1.0
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y
