#!/usr/bin/env bash
# sb-train speed: utterances per second for one epoch of the 3-task preset
# (row6: st, si, ti round robin, batch 16) on CPU, at hidden sizes 256 and
# 1024. Data: 160 synthetic Flickr8K-like captions (5 words, ~290 frames of
# 13-d features, ~27 characters) of 32 images with 4096-d vectors, so one
# epoch is 10 round-robin steps, 160 utterances per task.
# SB_BENCH_SIZES overrides the sizes, SB_BENCH_THREADS the threads (2).
set -eu
export PATH="$SB_BIN:$PATH"
sizes=${SB_BENCH_SIZES:-256 1024}
threads=${SB_BENCH_THREADS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-train.XXXXXX")
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$SB_SOURCE/tests/cli/toydata.py" "$work" 32 5 1 --words 5 --frames-per-char 10 --image-dim 4096
sb-tensor from-npy "$work/feats.npz" -o "$work/feats.sbt"
sb-tensor from-npy "$work/images.npz" -o "$work/images.sbt"
frames=$(sb-tensor info "$work/feats.sbt" | awk -F'\t' 'NR > 1 && $3 ~ /x/ { split($3, s, "x"); n++; t += s[1] } END { printf "%.0f", t / n }')
echo "-- sb-train, 1 epoch of --preset row6 (3 tasks), 160 utterances per task, mean $frames frames, batch 16, $threads threads, CPU"
for H in $sizes; do
  sb-train --preset row6 --data "$work" --hidden "$H" --epochs 1 --threads "$threads" \
    --log "$work/log.$H.tsv" -o "$work/m.$H.sbt" 2> "$work/err.$H" || { cat "$work/err.$H"; exit 1; }
  awk -F'\t' -v h="$H" 'NR == 2 { printf "hidden %4d: epoch %.2f s, %.1f utterances/s per task (%.1f across the 3 tasks)\n", h, $NF, 160 / $NF, 480 / $NF }' "$work/log.$H.tsv"
done
