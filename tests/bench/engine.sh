#!/usr/bin/env bash
# Training-engine figures: one full 3-task round (st, si, ti; batch 16;
# 300-frame utterances, 50-character captions, 4096-d images; forward,
# backward, clipping, Adam), for hidden sizes 128, 256, 1024, sb beside
# PyTorch on the same model when /usr/bin/python3 can import torch.
# Target: sb >= 3x faster than PyTorch 1.13 on 2 threads (issue 4's
# reference on this kind of machine: 0.62 / 1.32 / 21.4 s per round), i.e.
# <= 0.21 / 0.44 / 7.1 s.
#
# Two comparisons per size, run alternately so that a busy machine slows
# both sides alike:
#   - wall time per round on 2 threads (the target's terms);
#   - CPU time per round on 1 thread, which a shared machine barely
#     disturbs (time spent waiting for a core is not counted).
# SB_BENCH_SIZES overrides the sizes ("128 256"); SB_BENCH_ROUNDS the rounds.
set -eu
bench=$SB_BUILD/tests/bench_engine
torch_round=$SB_SOURCE/tests/bench/torch_round.py
sizes=${SB_BENCH_SIZES:-128 256 1024}
have_torch=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then have_torch=1; fi
echo "-- 3-task training round, batch 16 (target: sb >= 3x faster than PyTorch on 2 threads)"
echo "   machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ $have_torch = 1 ] || echo "   (PyTorch not importable by /usr/bin/python3: sb figures only)"
field() { sed -n "s/.*$1 \([0-9.]*\) s\/round.*/\1/p" | head -1; }
for H in $sizes; do
  if [ "$H" -ge 1024 ]; then rounds=${SB_BENCH_ROUNDS:-2}; else rounds=${SB_BENCH_ROUNDS:-8}; fi
  for threads in 2 1; do
    sb=$("$bench" --threads $threads --rounds "$rounds" "$H")
    echo "$sb"
    [ $have_torch = 1 ] || continue
    pt=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$threads /usr/bin/python3 "$torch_round" "$H" "$rounds" $threads)
    echo "$pt"
    if [ $threads = 2 ]; then
      a=$(echo "$sb" | field sb); b=$(echo "$pt" | field torch); what="wall time, 2 threads"
    else
      a=$(echo "$sb" | field "CPU time"); b=$(echo "$pt" | field "CPU time"); what="CPU time, 1 thread"
    fi
    awk -v h="$H" -v a="$a" -v b="$b" -v w="$what" \
      'BEGIN { printf "== H %d, %s: sb %.3f s, PyTorch %.3f s per round: %.2fx\n", h, w, a, b, b / a }'
  done
done
