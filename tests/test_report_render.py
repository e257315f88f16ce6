"""report.md, index.html and figures rendered from a small synthetic results dictionary (nothing measured)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import hw_models as hw
import pytest
from report_sample import sample_results

from bnnbench.report import figures
from bnnbench.report.html import inline, to_html
from bnnbench.report.markdown import render
from bnnbench.report.sections import build
from bnnbench.report.writer import WrittenReport, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_FIGURES = {spec.name for spec in figures.FIGURES}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> WrittenReport:
    """The sample written once (drawing every figure takes a few seconds)."""
    return write_report(sample_results(), tmp_path_factory.mktemp("report"))


def test_markdown_shows_every_suite_highlights_and_figure_links(written: WrittenReport) -> None:
    text = written.markdown.read_text()
    for title in ("## Environment", "## Kernels: daBNN layer set", "## Models: compiled binary vs float twin",
                  "## Accuracy of the reference models", "## Hardware cost model", "## Studies"):
        assert title in text
    assert "Binary layers on 1 thread, end to end: 8.8× faster than torch fp32" in text
    assert "| conv 56x56x64->64 | 1 | 0.25 | 0.2 | 2.2 | 2.4 | 8.8x | 11.0x |" in text
    assert "**Warning: other processes used 20% of the machine's CPU time" in text  # models suite was busy
    assert "**NOT RUN: no results for this suite" in text  # 'studies' was planned, never ran
    for name in ALL_FIGURES:
        assert f"](figures/{name}.png)" in text


def test_failed_suite_is_shown_with_its_error_and_traceback() -> None:
    results = sample_results(hardware_ok=False)
    text = render(results)
    assert "**FAILED: RuntimeError: target file broken**" in text
    assert "```text\nTraceback (most recent call last):" in text
    assert "- **Did not finish: hardware; not run: studies** (see their sections)." in text
    assert figures.draw_figures({"suites": {"hardware": results["suites"]["hardware"]}}) == {}
    page = to_html(build(results, {}))
    assert '<div class="problem" role="alert"><p><strong>FAILED: RuntimeError: target file broken</strong>' in page


def test_skipped_and_never_run_suites_are_said_plainly() -> None:
    results = sample_results()
    results["suites"]["accuracy"] = {"status": "skipped", "reason": "no MNIST data (give --data-dir)", "seconds": 0}
    text = render(results)
    assert "- Skipped: accuracy (see their sections for why)." in text
    assert "- **Not run: studies** (see their sections)." in text
    assert "## Accuracy of the reference models\n\n**Skipped**: no MNIST data (give --data-dir)\n" in text
    results["suites"]["models"]["status"] = "interrupted"
    assert "- **Did not finish: models; not run: studies** (see their sections)." in render(results)


def test_unrenderable_section_is_shown_and_the_rest_still_renders() -> None:
    results = sample_results()
    del results["suites"]["kernels"]["data"]["summary"]
    text = render(results)
    kernels = text.split("## Kernels: daBNN layer set")[1].split("## Models")[0]
    assert "This section could not be rendered from results.json: KeyError: 'summary'" in kernels
    assert "| mnist-bnn | 1 | 1 | 0.04 |" in text


@pytest.mark.parametrize("spec", figures.FIGURES, ids=lambda spec: spec.name)
def test_every_figure_has_title_axis_labels_with_units_and_legend(spec: figures.FigureSpec) -> None:
    data = sample_results()["suites"][spec.suite]["data"]
    fig = spec.draw(data)
    assert fig is not None
    plotted = [ax for ax in fig.axes if ax.has_data()]
    assert plotted
    for ax in plotted:
        assert ax.get_title() or (fig._suptitle is not None and fig._suptitle.get_text())
        assert ax.get_xlabel() and ax.get_ylabel()
        assert re.search(r"\(.+\)", ax.get_xlabel() + ax.get_ylabel()), "no axis says its unit"
    assert fig.legends or any(ax.get_legend() is not None for ax in plotted)
    png = figures.png_bytes(fig)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000


def test_figures_are_drawn_only_from_data_that_is_there() -> None:
    for spec in figures.FIGURES:
        assert spec.draw({}) is None, spec.name
    results = sample_results()
    results["suites"] = {"environment": results["suites"]["environment"]}
    assert figures.draw_figures(results) == {}


def test_accuracy_points_size_binary_runs_packed_and_float_twins_in_float32() -> None:
    runs = sample_results()["suites"]["accuracy"]["data"]["runs"]
    points = figures.accuracy_points(runs)
    totals = hw.summarize(hw.zoo.get("mnist-bnn")).totals
    assert [(p.label, p.model_bytes) for p in points] == [
        ("mnist-bnn", totals.model_bytes), ("mnist-bnn-float", totals.float32_bytes),
    ]  # the run still training has no test accuracy and is left out


def test_write_report_writes_figures_markdown_and_a_self_contained_page(written: WrittenReport) -> None:
    assert {p.name for p in written.figures} == {f"{name}.png" for name in ALL_FIGURES}
    assert written.figure_errors == ()
    out = written.markdown.parent
    assert sorted(p.name for p in out.iterdir()) == ["figures", "index.html", "report.md"]  # no temp files
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(p.name for p in written.figures)
    page = written.html.read_text()
    assert "<script" not in page and not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == len(ALL_FIGURES)
    embedded = {base64.b64decode(src.removeprefix("data:image/png;base64,")) for src in sources}
    assert embedded == {p.read_bytes() for p in written.figures}
    assert '<nav><a href="#environment">Environment</a>' in page


def test_a_failing_figure_is_reported_and_its_stale_png_removed(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: object) -> None:
        raise RuntimeError("boom")

    specs = tuple(figures.FigureSpec(s.name, s.suite, s.title, s.caption, broken) if s.name == "roofline" else s
                  for s in figures.FIGURES)
    monkeypatch.setattr(figures, "FIGURES", specs)
    stale = tmp_path / "figures" / "roofline.png"
    stale.parent.mkdir()
    stale.write_bytes(PNG_SIGNATURE)
    results = sample_results()
    results["suites"] = {name: results["suites"][name] for name in ("environment", "kernels")}
    report = write_report(results, tmp_path)
    assert report.figure_errors == ("roofline: RuntimeError: boom",)
    assert not stale.exists()
    message = "Figure “Roofline with measured points” could not be drawn: RuntimeError: boom"
    assert f"**{message}**" in report.markdown.read_text()
    assert message in report.html.read_text()
    assert {p.name for p in report.figures} == {"kernel_speedup.png", "host_prediction.png"}


def test_inline_markup_is_escaped_and_converted() -> None:
    assert inline("a <b> & `x<y>` **bold `c`** *it*") == (
        "a &lt;b&gt; &amp; <code>x&lt;y&gt;</code> <strong>bold <code>c</code></strong> <em>it</em>"
    )
