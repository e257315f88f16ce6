"""Random-translation augmentation: each image is its own shifted copy, the border is background."""

from __future__ import annotations

import pytest
import torch

from bnnbench.training.augment import random_shift


def _find_shift(original: torch.Tensor, shifted: torch.Tensor, max_shift: int) -> tuple[int, int]:
    """The (dy, dx) that maps ``original`` onto ``shifted`` (background -1 shifted in)."""
    height, width = original.shape[-2:]
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            expected = torch.full_like(original, -1.0)
            src = original[..., max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
            expected[..., max(0, dy) : max(0, dy) + src.shape[-2], max(0, dx) : max(0, dx) + src.shape[-1]] = src
            if torch.equal(expected, shifted):
                return dy, dx
    raise AssertionError("the output is not a translation of the input")


def test_each_image_is_a_translation_within_the_bound() -> None:
    images = torch.rand(64, 1, 9, 7) * 1.5 - 0.5  # values in [-0.5, 1]; -1 only from the fill
    images[:, :, 0, 0] = -1.0  # make the batch minimum (the background) -1
    shifted = random_shift(images, 2, torch.Generator().manual_seed(0))
    shifts = {_find_shift(images[i], shifted[i], 2) for i in range(len(images))}
    assert len(shifts) > 5  # offsets are drawn per image
    assert all(abs(dy) <= 2 and abs(dx) <= 2 for dy, dx in shifts)


def test_same_generator_seed_gives_same_shifts_and_zero_is_identity() -> None:
    images = torch.randn(8, 2, 6, 6)
    first = random_shift(images, 3, torch.Generator().manual_seed(5))
    again = random_shift(images, 3, torch.Generator().manual_seed(5))
    assert torch.equal(first, again)
    assert random_shift(images, 0, torch.Generator()) is images


@pytest.mark.parametrize(("shape", "shift", "message"), [((4, 1, 5, 5), -1, "max_shift"), ((5, 5), 1, "shape")])
def test_bad_arguments_are_named(shape: tuple[int, ...], shift: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        random_shift(torch.zeros(shape), shift, torch.Generator())
