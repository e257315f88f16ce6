"""The validation table: every published figure gets an estimate and an error; files are written whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hw_models import zoo
from hw_models.finn import estimate_fpga
from hw_models.target import load_target
from hw_models.validation import bnn_pynq_lfc_folding, validation_rows, write_report


def test_rows_have_sources_estimates_and_errors() -> None:
    rows = validation_rows()
    assert len(rows) >= 20
    for row in rows:
        assert row["source"] and row["published"] > 0 and row["estimate"] >= 0
        assert row["error"] == pytest.approx((row["estimate"] - row["published"]) / row["published"])
    analytic = [r for r in rows if "analytical" in r["source"]]
    assert [r["error"] for r in analytic] == [pytest.approx(0, abs=1e-4)] * 3
    resources = [r for r in rows if r["quantity"] in ("LUTs", "BRAM18", "DSPs")]
    assert {(r["model"], r["quantity"]) for r in resources} == {
        (model, unit) for model in ("cnv W1A1", "lfc W1A1") for unit in ("LUTs", "BRAM18", "DSPs")
    }


def test_bnn_pynq_lfc_folding_reproduces_config_h_latencies() -> None:
    """BNN-PYNQ lfcW1A1 config.h: Ext Latency 416 / 512 / 512 / 512 cycles (784 padded to 832 by SIMD 64)."""
    lfc = zoo.get("lfc")
    estimate = estimate_fpga(lfc, load_target("pynq-z1"), bnn_pynq_lfc_folding(lfc))
    assert [unit.cycles for unit in estimate.units] == [416, 512, 512, 512]
    assert [unit.mw for unit in estimate.units][0] == 784


def test_write_report(tmp_path: Path) -> None:
    rows = write_report(tmp_path)
    data = json.loads((tmp_path / "validation.json").read_text())
    assert len(data["rows"]) == len(rows) and data["not_validated"]
    text = (tmp_path / "validation.md").read_text()
    assert "| 1 | frame rate | cnv W1A1 | pynq-z1 |" in text
    assert "x86-avx512: predicted latency" in text
    assert not list(tmp_path.glob(".*tmp*"))
