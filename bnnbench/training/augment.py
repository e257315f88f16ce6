"""Random translation of training images (data augmentation).

Shifting each digit by up to ``max_shift`` pixels in x and y, independently
per image and per epoch, is the classic MNIST augmentation (LeCun et al.
1998 used distortions; Simard et al. 2003, "Best practices for convolutional
neural networks", section 3, showed translations alone reduce a CNN's test
error). It costs almost nothing next to a forward/backward pass and is what
lets a small network that reaches 100% training accuracy in a few epochs keep
learning. Only training batches are shifted; validation and test images are
never touched.

The uncovered border is filled with the background value (images are scaled
to [-1, 1], so the background is -1, the minimum of the batch).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = ["random_shift"]


def random_shift(images: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image of ``images`` (N, C, H, W) by a random (dy, dx) in [-max_shift, max_shift]².

    Pixels shifted in from outside the image take the value ``images.min()``
    (the background); ``max_shift=0`` returns ``images`` unchanged.
    """
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    if max_shift == 0 or images.numel() == 0:
        return images
    if images.dim() != 4:
        raise ValueError(f"random_shift expects images of shape (N, C, H, W), got {tuple(images.shape)}")
    n, _, height, width = images.shape
    s = max_shift
    background = float(images.min())
    padded = F.pad(images, (s, s, s, s), value=background)
    offsets = torch.randint(0, 2 * s + 1, (n, 2), generator=generator)
    # One gather per image: the window starting at the random offset.
    rows = (offsets[:, 0, None] + torch.arange(height))[:, None, :, None]  # (N, 1, H, 1)
    cols = (offsets[:, 1, None] + torch.arange(width))[:, None, None, :]  # (N, 1, 1, W)
    batch = torch.arange(n)[:, None, None, None]
    channel = torch.arange(images.shape[1])[None, :, None, None]
    return padded[batch, channel, rows, cols]
