"""The one progress bar of bnnbench: steps done, time elapsed and time left.

On a terminal the bar is redrawn in place (at most ten times a second, and
always on the last step). On a pipe or a log file there is nothing to redraw,
so a coarse task (a benchmark suite, a study's runs) prints one line per step
and a fine-grained one (training batches, whose epoch summaries are the log)
prints nothing: ``log_lines`` chooses.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """``total`` steps of a task called ``label``; call :meth:`step` after each, :meth:`close` at the end.

    ``interactive`` forces in-place drawing on or off (default: whether
    ``stream`` is a terminal); ``log_lines`` says whether a non-interactive
    bar prints a line per step.
    """

    def __init__(
        self,
        total: int,
        label: str,
        *,
        stream: TextIO | None = None,
        interactive: bool | None = None,
        log_lines: bool = True,
        width: int = 24,
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        is_terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interactive = is_terminal if interactive is None else interactive
        self.log_lines = log_lines
        self._last_draw = float("-inf")
        self._open_line = False

    def step(self, what: str = "", *, steps: int = 1, **values: float) -> None:
        """Advance by ``steps``; show ``what`` and ``values`` (e.g. ``loss=0.31``) after the counts."""
        self.done = min(self.done + steps, self.total)
        now = time.monotonic()
        last = self.done == self.total
        if self.interactive and not last and now - self._last_draw < 0.1:
            return
        if not self.interactive and not self.log_lines:
            return
        self._last_draw = now
        elapsed = now - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        shown = " ".join([what] * bool(what) + [f"{key}={value:.4g}" for key, value in values.items()])
        line = (
            f"{self.label} [{bar}] {self.done}/{self.total} {shown}"
            f"{' ' if shown else ''}({format_duration(elapsed)} elapsed, {format_duration(left)} left)"
        )
        if self.interactive:
            self.stream.write("\r\033[K" + line + ("\n" if last else ""))
            self._open_line = not last
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End an in-place bar's line if the last step did not."""
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False
