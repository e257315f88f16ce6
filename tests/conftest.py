"""Shared test settings."""

import torch

# One intra-op thread: the suite's models are tiny, and on a 2-core machine a
# second thread only waits for the other core whenever anything else runs.
torch.set_num_threads(1)
