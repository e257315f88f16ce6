"""hw_models: a torch-free hardware cost model for binary neural networks.

Workloads (the network IR) and targets (data files) are combined by small pure
cost functions: memory, energy and latency on mobile CPUs, FINN-style dataflow
on FPGAs, and design-space exploration.
"""
