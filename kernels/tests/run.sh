#!/usr/bin/env bash
# Build the C kernel test driver with AddressSanitizer and UndefinedBehaviorSanitizer
# and run it: every compiled ISA path against the scalar reference.  No Python needed.
# Usage: kernels/tests/run.sh [extra compiler flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kernels=$(dirname "$here")
cc=${CC:-gcc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$cc" -std=c99 -O1 -g -Wall -Wextra -Werror -ffp-contract=off -fno-math-errno -fopenmp \
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -I"$kernels/include" -I"$kernels/src" "$@" \
    "$kernels"/src/*.c "$here"/test_*.c -o "$out/test_kernels" -lm
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$out/test_kernels"
