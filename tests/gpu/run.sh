#!/usr/bin/env bash
# Every GPU check in one run, for a machine with an NVIDIA GPU but none of
# Debian's -dev libraries (the device machine): it builds nothing. Make the
# bundle here first, then run it there from the repository root:
#   make gpu-bundle                       # build/gpu-bundle: bin/ and lib/
#   bash tests/gpu/run.sh build/gpu-bundle
# It prints: the GPU, unit-cuda (every op, the GRU layer on both CUDA paths
# and whole encoders against the CPU), the --device cuda cases of the CLI
# tests, and a training round of sb on CUDA beside PyTorch on CUDA.
set -u
B=$(cd "${1:-build/gpu-bundle}" && pwd)
export LD_LIBRARY_PATH="$B/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$B/bin:$PATH" SB_BIN="$B/bin" SB_BUILD="$B" SB_SOURCE="$PWD" SB_TESTDATA="$PWD/tests/data"
export PYTHON=${PYTHON:-python3} OPENBLAS_NUM_THREADS=1
status=0
echo "== GPU"; nvidia-smi -L 2>&1 || echo "(no nvidia-smi)"
sb-embed --version
echo "== unit-cuda"
"$B/bin/test_cuda" --log_level=test_suite --report_level=short; rc=$?
echo "unit-cuda rc=$rc (0 = compared and passed, 77 = nothing compared)"; [ $rc = 0 ] || status=1
for g in embed train; do
  echo "== cli-$g (the --device cuda cases and the summary)"
  bash tests/cli/run.sh "tests/cli/$g.sh" > "/tmp/sb-gpu-$g.log" 2>&1 || status=1
  grep -Ei 'cuda|device|^FAIL|passed' "/tmp/sb-gpu-$g.log"
done
echo "== a 3-task training round (batch 16, 300 frames), sb on CUDA (cuDNN GRU, then the step loop) and PyTorch on CUDA"
for H in 256 1024; do
  timeout 300 "$B/bin/bench_engine" --device cuda --rounds 5 "$H" || status=1
  SB_CUDA_GRU=steps timeout 300 "$B/bin/bench_engine" --device cuda --rounds 3 "$H" | sed 's/^H /H (steps) /' || status=1
  SB_TORCH_DEVICE=cuda timeout 300 "$PYTHON" tests/bench/torch_round.py "$H" 5 || echo "(torch on cuda failed)"
done
echo "== gpu checks: $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
