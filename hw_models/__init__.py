"""hw_models: a torch-free hardware cost model for binary neural networks.

Workloads (the network IR) and targets (data files) are combined by small pure
cost functions: memory, energy and latency on mobile CPUs, FINN-style dataflow
on FPGAs, and design-space exploration.

Public API (each name lives in the module in brackets):

* workloads: ``Layer``, ``Workload``, ``WorkloadBuilder`` [workload];
  ``zoo.get(name)``, ``zoo.names()`` [zoo]; ``summarize`` [summary]
* targets: ``load_target(name_or_path)``, ``target_names()`` [target]
* pricing: ``estimate(workload, target, threads=, folding=, fps=)``,
  ``to_dict(result)``, ``load_folding(path)`` [estimate];
  ``estimate_cpu`` [cpu]; ``estimate_fpga``, ``Folding`` [finn]
* exploration: ``FoldingSearch``, ``sweep_fpga``, ``sweep_cpu``, ``pareto_front`` [dse]
* single layers: ``predict_layer``, ``dabnn_predictions`` [layer_bench]
* validation against published figures: ``validation_rows``, ``write_report`` [validation]
"""

from hw_models import zoo
from hw_models.cpu import estimate_cpu
from hw_models.dse import FoldingSearch, pareto_front, sweep_cpu, sweep_fpga
from hw_models.errors import FoldingError, HwModelError, TargetError, WorkloadError
from hw_models.estimate import estimate, load_folding, to_dict
from hw_models.finn import Folding, estimate_fpga
from hw_models.layer_bench import dabnn_predictions, predict_layer
from hw_models.summary import summarize
from hw_models.target import load_target, target_names
from hw_models.workload import Layer, Workload, WorkloadBuilder

__all__ = [
    "Folding", "FoldingError", "FoldingSearch", "HwModelError", "Layer", "TargetError", "Workload", "WorkloadBuilder",
    "WorkloadError", "dabnn_predictions", "estimate", "estimate_cpu", "estimate_fpga", "load_folding", "load_target",
    "pareto_front", "predict_layer", "summarize", "sweep_cpu", "sweep_fpga", "target_names", "to_dict", "zoo",
]
