"""Checkpoints: a model's weights plus what is needed to rebuild it.

A checkpoint is a ``torch.save`` dictionary of plain types and tensors (so it
loads with ``weights_only=True``, without unpickling arbitrary objects):

``format``/``version``, ``model`` (a :func:`bnnbench.models.names` entry),
``float_twin``, ``options`` (builder options), ``state_dict`` and ``metadata``
(training configuration, epoch, validation accuracy, ...).

:func:`load_checkpoint` rebuilds the model with :func:`bnnbench.models.create`
and loads the weights strictly: a missing file, a file that is not a bnnbench
checkpoint, or weights that do not fit the model are a
:class:`CheckpointError` that names the problem.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bnnbench import models
from bnnbench.files import atomic_path

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint"]

_FORMAT = "bnnbench-checkpoint"
_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit its model."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (in eval mode) and its description."""

    model: nn.Module
    model_name: str
    float_twin: bool
    options: dict[str, Any]
    metadata: dict[str, Any]


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    *,
    model_name: str,
    float_twin: bool,
    options: dict[str, Any],
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model``'s weights and description to ``path`` atomically."""
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "model": model_name,
        "float_twin": float_twin,
        "options": dict(options),
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "metadata": dict(metadata or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Rebuild the model saved at ``path``; raise :class:`CheckpointError` on any problem."""
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(f"{file}: no such checkpoint file")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"{file}: not a readable checkpoint ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise CheckpointError(f"{file}: not a bnnbench checkpoint")
    if payload.get("version") != _VERSION:
        raise CheckpointError(f"{file}: checkpoint version {payload.get('version')} is not supported")
    try:
        model = models.create(payload["model"], float_twin=payload["float_twin"], **payload["options"])
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{file}: cannot rebuild the model ({exc})") from None
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{file}: weights do not fit model {payload['model']!r}: {exc}") from None
    model.eval()
    return Checkpoint(
        model=model,
        model_name=payload["model"],
        float_twin=payload["float_twin"],
        options=dict(payload["options"]),
        metadata=dict(payload.get("metadata", {})),
    )
