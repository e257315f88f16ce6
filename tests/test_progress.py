"""The progress bar: one line per step in a log, in-place redraws on a terminal, silence when asked."""

from __future__ import annotations

import io

from bnnbench.progress import Progress, format_duration


def test_log_lines_show_counts_values_and_time_left() -> None:
    stream = io.StringIO()
    progress = Progress(3, "suite", stream=stream)
    for name in ("a", "b", "c"):
        progress.step(name, loss=0.25)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("suite [") and " 1/3 a loss=0.25 (" in lines[0] and "left)" in lines[0]
    assert " 3/3 c " in lines[2] and "0:00 left" in lines[2]


def test_fine_grained_bar_is_silent_in_a_log_and_redraws_in_place_on_a_terminal() -> None:
    log = io.StringIO()
    quiet = Progress(500, "epoch 1/2", stream=log, log_lines=False)
    for _ in range(500):
        quiet.step(acc=99.0)
    quiet.close()
    assert log.getvalue() == ""

    terminal = io.StringIO()
    drawn = Progress(500, "epoch 1/2", stream=terminal, interactive=True, log_lines=False)
    for _ in range(500):
        drawn.step(acc=99.0)
    drawn.close()
    text = terminal.getvalue()
    assert text.count("\r") < 50  # throttled, not one redraw per step
    assert text.endswith("\n") and text.count("\n") == 1 and " 500/500 acc=99 " in text


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 61.4, 3600 + 62)] == ["0:00", "1:01", "1:01:02"]
