"""Train / validation / test tensors for training and evaluation.

The validation split is the *last* ``validation_size`` images of the MNIST
training file (5,000 by default), a fixed split independent of the seed, so
runs with different seeds select models on the same images. The test set is
the 10,000 images of the t10k file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from bnnbench.data.mnist import VALIDATION_SIZE, load_mnist, to_tensors

__all__ = ["DataSplits", "mnist_splits"]


@dataclass(frozen=True)
class DataSplits:
    """Images ``(N, 1, 28, 28)`` float in [-1, 1] and int64 labels for each split."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor
    source: str

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train_y), "validation": len(self.val_y), "test": len(self.test_y)}


def mnist_splits(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    validation_size: int = VALIDATION_SIZE,
    train_subset: int | None = None,
) -> DataSplits:
    """Load MNIST and split it; ``train_subset`` keeps the first N training images."""
    arrays = load_mnist(data_dir)
    total = len(arrays.train_labels)
    if not 0 < validation_size < total:
        raise ValueError(f"validation_size must be between 1 and {total - 1}, got {validation_size}")
    cut = total - validation_size
    train_x, train_y = to_tensors(arrays.train_images[:cut], arrays.train_labels[:cut])
    if train_subset is not None:
        if not 0 < train_subset <= cut:
            raise ValueError(f"train_subset must be between 1 and {cut}, got {train_subset}")
        train_x, train_y = train_x[:train_subset], train_y[:train_subset]
    val_x, val_y = to_tensors(arrays.train_images[cut:], arrays.train_labels[cut:])
    test_x, test_y = to_tensors(arrays.test_images, arrays.test_labels)
    return DataSplits(train_x, train_y, val_x, val_y, test_x, test_y, str(Path(arrays.source)))
