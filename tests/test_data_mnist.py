"""IDX reader and MNIST loader: lookup order, checksums, download failure, bad files."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from bnnbench.data import mnist
from bnnbench.data.idx import IdxFormatError, encode_idx, read_idx

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def write_gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


def tiny_mnist(directory: Path, *, train: int = 6, test: int = 4) -> Path:
    """Write the four MNIST file names holding tiny, valid IDX data."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        write_gz(directory / f"{prefix}-images-idx3-ubyte.gz", encode_idx(images))
        write_gz(directory / f"{prefix}-labels-idx1-ubyte.gz", encode_idx(labels))
    return directory


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """No $BNNBENCH_DATA, an empty cache, and mirrors that refuse connections."""
    monkeypatch.delenv("BNNBENCH_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ("http://127.0.0.1:9/",))
    return tmp_path


def test_idx_round_trip_plain_and_gzip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(encode_idx(images))
    write_gz(tmp_path / "a.idx.gz", encode_idx(images))
    assert np.array_equal(read_idx(tmp_path / "a.idx", ndim=3), images)
    assert np.array_equal(read_idx(tmp_path / "a.idx.gz", ndim=3), images)


def test_idx_wrong_magic(tmp_path):
    labels = encode_idx(np.zeros(5, dtype=np.uint8))
    write_gz(tmp_path / "l.gz", labels)
    with pytest.raises(IdxFormatError, match="wrong magic number 0x00000801, expected 0x00000803"):
        read_idx(tmp_path / "l.gz", ndim=3)
    write_gz(tmp_path / "float.gz", b"\x00\x00\x0d\x01" + labels[4:])
    with pytest.raises(IdxFormatError, match="wrong magic number 0x00000d01"):
        read_idx(tmp_path / "float.gz", ndim=1)


def test_idx_truncated_data_header_and_trailing_bytes(tmp_path):
    data = encode_idx(np.ones((4, 28, 28), dtype=np.uint8))
    write_gz(tmp_path / "short.gz", data[:-10])
    with pytest.raises(IdxFormatError, match="truncated data.*3136 bytes.*3126"):
        read_idx(tmp_path / "short.gz", ndim=3)
    write_gz(tmp_path / "header.gz", data[:9])
    with pytest.raises(IdxFormatError, match="truncated header"):
        read_idx(tmp_path / "header.gz", ndim=3)
    write_gz(tmp_path / "long.gz", data + b"xx")
    with pytest.raises(IdxFormatError, match="2 unexpected trailing bytes"):
        read_idx(tmp_path / "long.gz", ndim=3)
    write_gz(tmp_path / "empty.gz", b"")
    with pytest.raises(IdxFormatError, match="too short"):
        read_idx(tmp_path / "empty.gz", ndim=1)


def test_idx_corrupt_and_truncated_gzip(tmp_path):
    compressed = gzip.compress(encode_idx(np.ones((4, 28, 28), dtype=np.uint8)))
    (tmp_path / "cut.gz").write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(IdxFormatError, match="truncated gzip stream"):
        read_idx(tmp_path / "cut.gz", ndim=3)
    (tmp_path / "junk.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(IdxFormatError, match="not a valid gzip file"):
        read_idx(tmp_path / "junk.gz", ndim=3)
    flipped = bytearray(compressed)
    flipped[len(flipped) // 2] ^= 0xFF
    (tmp_path / "flipped.gz").write_bytes(bytes(flipped))
    with pytest.raises(IdxFormatError):
        read_idx(tmp_path / "flipped.gz", ndim=3)


def test_lookup_order_data_dir_then_env_then_cache(isolated_env, monkeypatch):
    cache = tiny_mnist(isolated_env / "cache" / "bnnbench" / "mnist")
    assert mnist.find_mnist_dir() == cache
    env = tiny_mnist(isolated_env / "env")
    monkeypatch.setenv("BNNBENCH_DATA", str(env))
    assert mnist.find_mnist_dir() == env
    parent = isolated_env / "parent"
    nested = tiny_mnist(parent / "mnist")
    assert mnist.find_mnist_dir(parent) == nested  # a parent with an mnist/ subdirectory
    assert mnist.find_mnist_dir(nested) == nested  # the directory holding the files
    (nested / "t10k-labels-idx1-ubyte.gz").unlink()
    assert mnist.find_mnist_dir(parent) == env  # incomplete directories are passed over


def test_load_without_verification_reads_tiny_files(isolated_env):
    directory = tiny_mnist(isolated_env / "d", train=6, test=4)
    arrays = mnist.load_mnist(directory, verify=False)
    assert arrays.train_images.shape == (6, 28, 28) and arrays.test_labels.shape == (4,)
    x, y = mnist.to_tensors(arrays.train_images, arrays.train_labels)
    assert x.shape == (6, 1, 28, 28) and float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert float(x[0, 0, 0, 0]) == pytest.approx(arrays.train_images[0, 0, 0] / 127.5 - 1)


def test_checksum_mismatch_is_an_error(isolated_env):
    directory = tiny_mnist(isolated_env / "d")
    with pytest.raises(mnist.ChecksumError, match="train-images-idx3-ubyte.gz: checksum mismatch"):
        mnist.load_mnist(directory)


def test_label_problems_are_errors(isolated_env):
    directory = tiny_mnist(isolated_env / "d", train=6)
    write_gz(directory / "train-labels-idx1-ubyte.gz", encode_idx(np.zeros(5, dtype=np.uint8)))
    with pytest.raises(IdxFormatError, match="6 train images but 5 labels"):
        mnist.load_mnist(directory, verify=False)
    write_gz(directory / "train-labels-idx1-ubyte.gz", encode_idx(np.full(6, 12, dtype=np.uint8)))
    with pytest.raises(IdxFormatError, match="contain 12"):
        mnist.load_mnist(directory, verify=False)


def test_missing_without_network_says_where_it_looked(isolated_env):
    with pytest.raises(mnist.MnistNotFoundError, match=r"looked in .*cache.*could not download train-images.*127\.0\.0\.1"):
        mnist.load_mnist(isolated_env / "nowhere")
    with pytest.raises(mnist.MnistNotFoundError, match="allow the download"):
        mnist.load_mnist(isolated_env / "nowhere", download=False)
    leftovers = [p for p in (isolated_env / "nowhere").glob("*") if p.is_file()]
    assert leftovers == []  # no partial downloads are left behind


def test_download_keeps_verified_files_and_fetches_from_a_mirror(isolated_env, monkeypatch):
    """Download from a local 'mirror' directory served through file:// URLs."""
    mirror = isolated_env / "mirror"
    mirror.mkdir()
    target = isolated_env / "target"
    for name in mnist.MNIST_FILES:
        (mirror / name).write_bytes((SHARED_MNIST / name).read_bytes())
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ("http://127.0.0.1:9/", mirror.as_uri() + "/"))
    assert mnist.download_mnist(target) == target
    for name in mnist.MNIST_FILES:
        mnist.verify_file(target / name)
    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    (target / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(mnist.ChecksumError, match="wrong checksum"):
        mnist.download_mnist(target)
    assert not (target / "t10k-labels-idx1-ubyte.gz").exists()


def test_shared_mnist_loads_with_published_checksums():
    assert SHARED_MNIST.is_dir(), f"the verified MNIST files are expected at {SHARED_MNIST}"
    arrays = mnist.load_mnist(SHARED_MNIST, download=False)
    assert arrays.train_images.shape == (60000, 28, 28)
    assert arrays.test_images.shape == (10000, 28, 28)
    assert np.bincount(arrays.test_labels).tolist()[:3] == [980, 1135, 1032]
    assert os.fspath(arrays.source) == os.fspath(SHARED_MNIST)
