#!/usr/bin/env bash
# Training-engine figures: one full 3-task round (st, si, ti; batch 16;
# 300-frame utterances, 50-character captions, 4096-d images; forward,
# backward, clipping, Adam) on 2 threads, for hidden sizes 128, 256, 1024,
# sb beside PyTorch on the same model when /usr/bin/python3 can import torch.
# Target: sb >= 3x faster than PyTorch 1.13 (issue 4's reference here:
# 0.62 / 1.32 / 21.4 s per round), i.e. <= 0.21 / 0.44 / 7.1 s.
# The two are run alternately per size, so that a busy machine slows both.
# SB_BENCH_SIZES overrides the sizes ("128 256").
set -eu
bench=$SB_BUILD/tests/bench_engine
torch_round=$SB_SOURCE/tests/bench/torch_round.py
sizes=${SB_BENCH_SIZES:-128 256 1024}
have_torch=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_torch=1; fi
echo "-- 3-task training round, batch 16, 2 threads (target: sb >= 3x faster than PyTorch)"
[ $have_torch = 1 ] || echo "   (PyTorch not importable by /usr/bin/python3: sb figures only)"
for H in $sizes; do
  sb=$("$bench" --threads 2 "$H")
  echo "$sb"
  if [ $have_torch = 1 ]; then
    pt=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=2 /usr/bin/python3 "$torch_round" "$H")
    echo "$pt"
    sb_s=$(echo "$sb" | awk '{print $4}')
    pt_s=$(echo "$pt" | awk '{print $4}')
    awk -v h="$H" -v a="$sb_s" -v b="$pt_s" \
      'BEGIN { printf "H %d: sb %.3f s, PyTorch %.3f s, speed-up %.2fx\n", h, a, b, b / a }'
  fi
done
