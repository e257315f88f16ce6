"""Shared test settings."""

import pytest
import torch

# One intra-op thread: the suite's models are tiny, and on a 2-core machine a
# second thread only waits for the other core whenever anything else runs.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_torch() -> None:
    """Seed torch's global generator before every test.

    torch seeds it from the OS at start-up, so without this a test that draws
    from it (layer initialisation, ``randn``) sees different numbers on every
    run and a Monte-Carlo check can fail one run in ten; seeded, each test
    sees the same numbers whatever runs before it.
    """
    torch.manual_seed(0)
