"""Build hook: setuptools metadata lives in pyproject.toml; this file only
registers the cffi extension (API mode) so the C kernels compile at install."""
from setuptools import setup

setup(cffi_modules=["kernels/build.py:ffibuilder"])
