"""A small synthetic results.json (every suite, a failed one too) for the report tests; nothing is measured."""

from __future__ import annotations

import copy


def _stats(median: float, spread: float = 0.02, rounds: int = 20) -> dict[str, float | int | str]:
    """pytest-benchmark's stats block around ``median`` with an interquartile range of ``±spread``."""
    q1, q3 = median * (1 - spread), median * (1 + spread)
    return {"min": median * 0.9, "max": median * 1.3, "mean": median, "stddev": median * spread, "rounds": rounds,
            "median": median, "iqr": q3 - q1, "q1": q1, "q3": q3, "iqr_outliers": 0, "stddev_outliers": 0,
            "outliers": "0;0", "ld15iqr": median * 0.9, "hd15iqr": median * 1.1, "ops": 1 / median,
            "total": median * rounds, "iterations": 1}


def record(group: str, params: dict[str, object], median: float, spread: float = 0.02,
           rounds: int = 20) -> dict[str, object]:
    param = "-".join(str(v) for v in params.values())
    return {"group": group, "name": f"bench[{param}]", "fullname": f"bnnbench/{group}::bench[{param}]",
            "params": params, "param": param, "extra_info": {}, "options": {}, "stats": _stats(median, spread, rounds)}


LAYERS = ("conv 56x56x64->64", "dense 4096->4096 b1")
MACS = {"conv 56x56x64->64": 115_605_504, "dense 4096->4096 b1": 16_777_216}


def _kernels() -> dict[str, object]:
    summary, measurements, benchmarks = [], [], []
    for layer in LAYERS:
        for threads in (1, 2):
            times = {"binary_e2e": 0.25e-3 / threads, "binary_kernel": 0.2e-3 / threads,
                     "torch_channels_last": 2.2e-3 / threads, "torch_default": 2.4e-3 / threads}
            for implementation, seconds in times.items():
                gops = 2 * MACS[layer] / seconds / 1e9
                measurements.append({"layer": layer, "implementation": implementation, "threads": threads,
                                     "median_s": seconds, "binary_gops": gops, "macs": MACS[layer]})
                benchmarks.append(record("kernels", {"layer": layer, "implementation": implementation,
                                                     "threads": threads}, seconds))
            summary.append({
                "layer": layer, "threads": threads, "binary_e2e_ms": 1e3 * times["binary_e2e"],
                "binary_kernel_ms": 1e3 * times["binary_kernel"], "torch_channels_last_ms": 1e3 * times["torch_channels_last"],
                "torch_default_ms": 1e3 * times["torch_default"], "speedup_e2e_vs_channels_last": 8.8,
                "speedup_e2e_vs_best_torch": 8.8, "speedup_kernel_vs_best_torch": 11.0,
                "binary_kernel_gops": 2 * MACS[layer] / times["binary_kernel"] / 1e9, "roofline_fraction": 0.5,
                "predicted_kernel_ms": 0.15 / threads, "predicted_e2e_ms": 0.16 / threads,
                "prediction_error_kernel": -0.25, "prediction_error_e2e": -0.36,
            })
    return {"isa": "avx512", "thread_counts": [1, 2], "roofline_gops": {"1": 2400.0, "2": 4700.0},
            "measurements": measurements, "summary": summary, "other_processes_cpu_fraction": 0.01,
            "benchmarks": benchmarks}


def _models() -> dict[str, object]:
    layers = [{"name": "conv1", "kind": "float conv", "median_ms": 0.011},
              {"name": "conv2", "kind": "binary conv/dense", "median_ms": 0.014},
              {"name": "fc2", "kind": "float dense", "median_ms": 0.003}]
    return {
        "measurements": [],
        "summary": [{"model": "mnist-bnn", "batch": batch, "threads": 1, "binary_ms": 0.04 * batch,
                     "float_twin_default_ms": 0.8 * batch, "float_twin_channels_last_ms": 0.6 * batch,
                     "speedup": 15.0, "size_ratio": 28.3} for batch in (1, 64)],
        "profiles": [{"model": "mnist-bnn", "batch": batch, "threads": 1,
                      "layers": [{**layer, "median_ms": layer["median_ms"] * batch} for layer in layers]}
                     for batch in (1, 64)],
        "sizes": {"mnist-bnn": {"packed_bytes": 230248, "float_bytes": 6527656}},
        "other_processes_cpu_fraction": 0.2,
        "benchmarks": [record("models", {"model": "mnist-bnn", "batch": 1, "threads": 1,
                                         "implementation": "binary_engine"}, 4e-5)],
    }


def _design(target: str, lut: int, fps: float, fits: bool = True) -> dict[str, object]:
    return {"workload": "cnv", "target": target, "precision": "W1A1", "clock_mhz": 100.0, "threads": 0, "fps": fps,
            "latency_s": 1 / fps, "energy_j": 2e-5, "power_w": 0.3, "lut": lut, "bram18": 40, "dsp": 0, "fits": fits}


def _hardware() -> dict[str, object]:
    cpu = [{"model": model, "target": target, "fps": 1e4, "latency_s": 1e-4, "energy_j": energy, "model_bytes": 5e4,
            "peak_activation_bytes": 2048.0, "threads": 1}
           for model, energy in (("sfc", 1e-7), ("cnv", 2e-5)) for target in ("pixel4", "rpi3b")]
    fpga = [{"model": "cnv", "target": "pynq-z1", "fps": 3052.0, "latency_s": 1e-3, "energy_j": 3e-5,
             "model_bytes": 2e5, "lut": 26000, "bram18": 70, "dsp": 0, "power_w": 0.25, "fits": True,
             "clock_mhz": 100.0, "max_cycles": 32768}]
    points = [_design("pynq-z1", 5000, 300.0), _design("pynq-z1", 20000, 3000.0), _design("pynq-z1", 90000, 12000.0,
                                                                                          fits=False),
              _design("zc706", 6000, 600.0), _design("zc706", 40000, 9000.0)]
    folding_layers = [{"name": "conv1", "kind": "conv", "mw": 27, "mh": 64, "pe": 16, "simd": 3, "weight_bits": 1,
                       "input_bits": 8, "output_bits": 1, "cycles": 32400, "swu_cycles": 8196, "lut": 4000,
                       "bram18": 2, "dsp": 0},
                      {"name": "pool1", "kind": "maxpool", "mw": 0, "mh": 0, "pe": 0, "simd": 0, "weight_bits": 0,
                       "input_bits": 1, "output_bits": 1, "cycles": 784, "swu_cycles": 0, "lut": 64, "bram18": 0,
                       "dsp": 0}]
    return {
        "targets": ["pixel4", "pynq-z1", "rpi3b", "zc706"],
        "estimates": cpu + fpga,
        "foldings": [{"model": "cnv", "target": "pynq-z1", "totals": fpga[0], "layers": folding_layers}],
        "pareto": {"model": "cnv", "objectives": ["fps (max)", "lut (min)"], "points": points,
                   "front": [points[0], points[3], points[1], points[4]]},
        "validation": [{"quantity": "frame rate", "unit": "frames/s", "model": "cnv W1A1", "target": "pynq-z1",
                        "configuration": "BNN-PYNQ folding", "published": 3051.76, "estimate": 3051.76, "error": 0.0,
                        "source": "BNN-PYNQ", "note": ""}],
    }


def _environment() -> dict[str, object]:
    return {"bnnbench": "0.1.0", "host": "testhost", "platform": "Linux", "machine": "x86_64",
            "cpu_model": "Test CPU", "cpu_features": {"popcnt": True, "avx2": True, "neon": False}, "isa": "avx2",
            "available_isas": ["scalar", "avx2"], "kernels_build": {"compiler": "gcc 12", "flags": "-O3"},
            "python": "3.11.7", "numpy": "2.0", "torch": "2.13.0+cpu", "threads": {"cores_usable": 2}}


def _accuracy() -> dict[str, object]:
    return {"runs": [
        {"run": "mnist-bnn", "model": "mnist-bnn", "float_twin": False, "test_accuracy": 98.8,
         "best_val_accuracy": 99.1, "epochs": [{}] * 20, "wall_time_s": 1100.0},
        {"run": "mnist-bnn-float", "model": "mnist-bnn", "float_twin": True, "test_accuracy": 99.1,
         "best_val_accuracy": 99.3, "epochs": [{}] * 15, "wall_time_s": 700.0},
        {"run": "still-training", "model": "lenet-bitorch", "float_twin": False, "best_val_accuracy": 97.0,
         "epochs": [{}] * 3},
    ]}


_RESULTS = {
    "schema": "bnnbench.results/1",
    "created": "2026-01-01T00:00:00+00:00",
    "options": {"quick": True, "thread_counts": [1, 2],
                "suites": ["environment", "kernels", "models", "accuracy", "hardware", "studies"]},
    "suites": {
        "environment": {"status": "ok", "data": _environment(), "seconds": 1.0},
        "kernels": {"status": "ok", "data": _kernels(), "seconds": 8.0},
        "models": {"status": "ok", "data": _models(), "seconds": 17.0},
        "accuracy": {"status": "ok", "data": _accuracy(), "seconds": 0.1},
        "hardware": {"status": "failed", "error": "RuntimeError: target file broken",
                     "traceback": "Traceback (most recent call last):\nRuntimeError: target file broken",
                     "seconds": 0.5},
    },
}


def sample_results(hardware_ok: bool = True) -> dict:
    """A fresh copy; with ``hardware_ok`` the hardware suite has data, else it failed. ``studies`` never ran."""
    results = copy.deepcopy(_RESULTS)
    if hardware_ok:
        results["suites"]["hardware"] = {"status": "ok", "data": _hardware(), "seconds": 4.0}
    return results
