"""End to end: `bnnbench run --quick --suite hardware`, then index.html in headless Chromium.

Chromium (Debian's ``chromium`` package, installed by ``.ci/run``) takes a
screenshot of the page, which must show no console message (the page has
no script, so any message is a problem). Whether every image loaded is read
from a copy of the page with a small probe script appended: after the load
event it writes each image's ``naturalWidth`` into the DOM, which
``--dump-dom`` prints. The report itself carries no script.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}));
  const out = document.createElement("pre");
  out.id = "image-probe";
  out.textContent = JSON.stringify(images);
  document.body.appendChild(out);
});
</script>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (as .ci/run does)")
    command = [binary, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def console_messages(stderr: str) -> list[str]:
    """Chromium logs every console message of the page as ``...:CONSOLE:<line>] "message", source: ...``."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_quick_hardware_run_writes_a_report_that_chromium_shows_whole(tmp_path: Path) -> None:
    out = tmp_path / "run"
    bnnbench = Path(sys.executable).with_name("bnnbench")
    done = subprocess.run([str(bnnbench), "run", "--quick", "--suite", "hardware", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"results.json", "benchmarks.json", "report.md", "index.html", "figures"} <= {p.name for p in out.iterdir()}
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == ["energy.png", "fpga_pareto.png"]

    page = out / "index.html"
    shot = tmp_path / "screenshot.png"
    shown = chromium(f"--screenshot={shot}", "--window-size=1280,3000", "--hide-scrollbars", page.as_uri(),
                     profile=tmp_path / "profile-shot")
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000
    assert console_messages(shown.stderr) == []

    probe = out / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dumped = chromium("--dump-dom", probe.as_uri(), profile=tmp_path / "profile-dom")
    match = re.search(r'<pre id="image-probe">(.*?)</pre>', dumped.stdout, re.S)
    assert match, "the probe did not run: " + dumped.stdout[-500:]
    images = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert [image["alt"] for image in images] == ["Energy per inference by target", "FPGA frame rate vs LUTs"]
    assert all(image["complete"] and image["width"] > 0 for image in images), images
    assert console_messages(dumped.stderr) == []
