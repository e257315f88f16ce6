"""Measurements: timing harness, kernel benchmarks, roofline."""
