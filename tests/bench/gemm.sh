#!/usr/bin/env bash
# The plain product kernel (the embedded profile's) beside OpenBLAS on one
# thread, on the encoder's shapes (tests/bench/gemm_bench.cc). CPU time, so
# a shared machine's waiting is not counted; figures still move with load.
# SB_BENCH_SECONDS: time per shape and side (default 0.5).
set -eu
echo "-- product kernel, one thread (machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$SB_BUILD/tests/gemm_bench" --seconds "${SB_BENCH_SECONDS:-0.5}"
