"""bnnbench: benchmark and simulate binary neural networks.

Sub-packages: ``bnnbench.kernels`` (XNOR-popcount C kernels via cffi),
``bnnbench.nn`` / ``bnnbench.models`` (PyTorch reference models),
``bnnbench.engine`` (compiled binary inference) and the ``bnnbench`` CLI.
The hardware cost model lives in the separate, torch-free ``hw_models`` package.
"""

__version__ = "0.1.0"
