#!/usr/bin/env bash
# Cross-compile the C kernel test driver for AArch64 and run it under qemu-user:
# the NEON path against the scalar reference, on an x86 machine.
# Needs Debian's gcc-aarch64-linux-gnu and qemu-user (.ci/run installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kernels=$(dirname "$here")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
aarch64-linux-gnu-gcc -std=c99 -O2 -Wall -Wextra -Werror -ffp-contract=off -fno-math-errno -fopenmp -static \
    -I"$kernels/include" -I"$kernels/src" "$kernels"/src/*.c "$here"/test_*.c -o "$out/test_kernels" -lm \
    2> >(grep -v -e "requires at runtime the shared libraries" -e "in function .goacc_profiling_initialize" >&2)
qemu-aarch64 "$out/test_kernels"
