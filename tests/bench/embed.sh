#!/usr/bin/env bash
# sb-embed on the edge: utterances/s on one core (CPU time), peak RSS and
# model size for hidden 256 and 1024, f32 / f16 / int8 models, with the
# default build ($SB_BUILD, OpenBLAS) beside the embedded profile's plain
# kernel (SB_PLAIN_BUILD, default $SB_SOURCE/build-emb or build-ed-plain if
# built; skipped otherwise), and both builds' sb-embed binary sizes.
# Utterances: 300 frames x 13 (3 s of MFCC), SB_BENCH_UTTS of them (64);
# the model is the paper's row-1 layout at the given hidden size after one
# training step (speed does not depend on the weights' values).
# SB_BENCH_SIZES overrides the sizes ("256 1024").
set -eu
sizes=${SB_BENCH_SIZES:-256 1024}
utts=${SB_BENCH_UTTS:-64}
plain=${SB_PLAIN_BUILD:-}
if [ -z "$plain" ]; then
  for d in "$SB_SOURCE/build-emb" "$SB_SOURCE/build-ed-plain"; do
    [ -x "$d/tools/sb-embed" ] && { plain=$d; break; }
  done
fi
[ -z "$plain" ] || [ -x "$plain/tools/sb-embed" ] || plain=""
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tensor=$SB_BUILD/tools/sb-tensor
echo "-- sb-embed -e s2i, one thread, $utts utterances of 300 frames (machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
mkdir -p "$work/toy"
/usr/bin/python3 "$SB_SOURCE/tests/cli/toydata.py" "$work/toy" 20 2 1
"$tensor" from-npy "$work/toy/feats.npz" -o "$work/toy/feats.sbt"
"$tensor" from-npy "$work/toy/images.npz" -o "$work/toy/images.sbt"
/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$SB_SOURCE/tests/cli')
import random, toydata
r = random.Random(3)
toydata.write_npz('$work/utts.npz', [('u%04d' % i, ([300, 13], [r.gauss(0, 1) for _ in range(300 * 13)])) for i in range($utts)])
"
"$tensor" from-npy "$work/utts.npz" -o "$work/utts.sbt"
for d in "$SB_BUILD" ${plain:+"$plain"}; do
  strip -o "$work/sb-embed.stripped" "$d/tools/sb-embed"
  kernel=$("$d/tools/sb-embed" --version | sed -n 's/^cpu kernel: //p')
  echo "   sb-embed binary ($d): $(stat -c %s "$d/tools/sb-embed") bytes, stripped $(stat -c %s "$work/sb-embed.stripped"); kernel: $kernel"
done
[ -n "$plain" ] || echo "   (no embedded-profile build: meson setup build-emb -Dblas=none -Dcuda=disabled && ninja -C build-emb)"
printf '   %-6s %-5s %-8s %12s %10s %12s\n' H model build "bytes" "utt/s" "peak RSS kB"
for H in $sizes; do
  "$SB_BUILD/tools/sb-train" --preset row1 --data "$work/toy" --epochs 1 --max-steps 1 --hidden "$H" \
    --threads 1 -o "$work/m$H.f32.sbt" 2>/dev/null
  for q in f16 int8; do "$tensor" quantize --to $q "$work/m$H.f32.sbt" -o "$work/m$H.$q.sbt"; done
  for q in f32 f16 int8; do
    for d in "$SB_BUILD" ${plain:+"$plain"}; do
      name=default; [ "$d" = "$SB_BUILD" ] || name=plain
      /usr/bin/time -f '%U %S %M' -o "$work/t" "$d/tools/sb-embed" -q --threads 1 -m "$work/m$H.$q.sbt" \
        -e s2i "$work/utts.sbt" -o /dev/null
      read -r user sys rss < "$work/t"
      awk -v h="$H" -v q="$q" -v b="$name" -v sz="$(stat -c %s "$work/m$H.$q.sbt")" -v n="$utts" \
        -v u="$user" -v s="$sys" -v r="$rss" \
        'BEGIN { printf "   %-6d %-5s %-8s %12d %10.1f %12d\n", h, q, b, sz, n / (u + s), r }'
    done
  done
done
