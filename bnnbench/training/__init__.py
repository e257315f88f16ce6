"""Training, checkpoints and evaluation of the reference models.

* :func:`train` with a :class:`TrainConfig`: writes checkpoint, metrics.json, curves.
* :func:`save_checkpoint` / :func:`load_checkpoint`.
* :mod:`bnnbench.training.evaluation`: accuracy, batch-norm re-estimation,
  PBNet-map / PBNet-X / ternary readings.
"""

from bnnbench.training.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from bnnbench.training.evaluation import (
    PBNET_READINGS,
    derived_network,
    evaluate_classifier,
    evaluate_pbnet,
    reestimate_batchnorm,
)
from bnnbench.training.splits import DataSplits, mnist_splits
from bnnbench.training.trainer import TrainConfig, TrainResult, train

__all__ = [
    "PBNET_READINGS",
    "Checkpoint",
    "CheckpointError",
    "DataSplits",
    "TrainConfig",
    "TrainResult",
    "derived_network",
    "evaluate_classifier",
    "evaluate_pbnet",
    "load_checkpoint",
    "mnist_splits",
    "reestimate_batchnorm",
    "save_checkpoint",
    "train",
]
