"""A minimal progress bar for training loops (no third-party dependency).

Drawn on one terminal line with carriage returns, and only when the stream is
a terminal: in a log file (e.g. under ``nohup``) the per-epoch summary lines
printed by the trainer are the progress report instead.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``[#####.....] 120/550 loss=0.31 12.3 it/s`` for a known number of steps."""

    def __init__(
        self,
        total: int,
        label: str,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        width: int = 30,
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.width = width
        self.count = 0
        self._start = time.perf_counter()
        self._last_draw = 0.0

    def update(self, steps: int = 1, **values: float) -> None:
        """Advance by ``steps`` and show ``values`` (redrawn at most 10 times a second)."""
        self.count += steps
        now = time.perf_counter()
        if not self.enabled or (now - self._last_draw < 0.1 and self.count < self.total):
            return
        self._last_draw = now
        filled = int(self.width * min(self.count, self.total) / self.total)
        rate = self.count / max(now - self._start, 1e-9)
        shown = " ".join(f"{key}={value:.4g}" for key, value in values.items())
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.count}/{self.total} {shown} {rate:.1f} it/s")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
