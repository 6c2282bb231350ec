#!/usr/bin/env bash
# sb-mfcc speed and memory (run by `make bench`, not by the tests):
#   - x real time on one core for 16 kHz speech: one long file, and a corpus
#     of short utterances through wav.scp (per-file overhead included);
#   - peak RSS for a one-hour file (target: under 16 MB, independent of length);
#   - SPTK 3.9's `x2x | frame | mfcc` on the same audio, when installed;
#   - torchaudio's MFCC beside it on one core (target: sb-mfcc >= 2x), when python3-torchaudio is
#     installed: transforms.MFCC at sb's default geometry against sb-mfcc,
#     compliance.kaldi.mfcc against sb-mfcc --kaldi (torchaudio_mfcc.py).
# "x RT (CPU)" divides audio seconds by user+system CPU seconds, which is
# what one core delivers; "x RT (wall)" also counts waiting on a busy machine.
set -eu
BIN=${SB_BIN:-$(dirname "$0")/../../build/tools}
export PATH="$BIN:$PATH"
command -v sb-mfcc >/dev/null || { echo "sb-mfcc not built (looked in $BIN)"; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-mfcc.XXXXXX")
trap 'rm -rf "$W"' EXIT
ONE=""
command -v taskset >/dev/null && ONE="taskset -c 0"
SPTK=/usr/libexec/sptk/bin
[ -x "$SPTK/mfcc" ] || SPTK=$(dirname "$(command -v mfcc 2>/dev/null || echo /none/mfcc)")

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# ~30 s of espeak-ng speech at 16 kHz, then longer files made of it.
espeak-ng -s 160 -w "$W/a.wav" "Speech input is represented by twelve mel frequency cepstral \
coefficients and log energy, computed on twenty five millisecond windows every ten \
milliseconds. A man rides a bicycle down a dirt path next to a river, while two dogs run \
through the snow and a girl in a pink dress climbs the stairs of a wooden house." 2>/dev/null
sox "$W/a.wav" -r 16000 -b 16 "$W/s.wav"
len=$(soxi -D "$W/s.wav")
rep() { sox "$W/s.wav" "$2" repeat "$(awk -v l="$len" -v t="$1" 'BEGIN{print int(t/l)}')"; }
rep 600 "$W/ten.wav"
rep 3600 "$W/hour.wav"
rep 120 "$W/two.wav"

# best of 3: prints "wall cpu rss_kb"
measure() {
  local best="" line
  for _ in 1 2 3; do
    /usr/bin/time -o "$W/time" -f '%e %U %S %M' $ONE "$@" >/dev/null 2>&1
    line=$(tail -1 "$W/time" | awk '{printf "%.3f %.3f %d", $1, $2 + $3, $4}')
    if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN{split(a,x," ");split(b,y," ");exit !(x[2]<y[2])}'; then best=$line; fi
  done
  echo "$best"
}
report() {  # label audio_seconds "wall cpu rss"
  echo "$3" | awk -v l="$1" -v s="$2" '{printf "%-44s %8.0fx RT (CPU)  %8.0fx RT (wall)  %6.1f MB RSS\n", l, s/$2, s/$1, $3/1024}'
}

ten=$(soxi -D "$W/ten.wav")
r=$(measure sb-mfcc -q "$W/ten.wav" -o /dev/null)
report "sb-mfcc, one 10-min 16 kHz file" "$ten" "$r"
sb_cpu=$(echo "$r" | cut -d' ' -f2)

# 400 short utterances (~3 s each), one core and -j 2.
for i in $(seq 1 400); do
  sox "$W/s.wav" "$W/u$i.wav" trim "$(( i % 20 ))" 3 2>/dev/null
  echo "utt$i $W/u$i.wav"
done > "$W/wav.scp"
corpus=$(awk '{print $2}' "$W/wav.scp" | xargs soxi -D | awk '{s+=$1} END{print s}')
report "sb-mfcc, 400 x 3 s through wav.scp" "$corpus" "$(measure sb-mfcc -q --scp "$W/wav.scp" -o /dev/null)"
if [ "$(nproc)" -ge 2 ]; then
  /usr/bin/time -o "$W/time" -f '%e %U %S %M' sb-mfcc -q -j 2 --scp "$W/wav.scp" -o /dev/null
  r=$(tail -1 "$W/time" | awk '{printf "%.3f %.3f %d", $1, $2 + $3, $4}')
  report "sb-mfcc -j 2 (two cores), same corpus" "$corpus" "$r"
fi
report "sb-mfcc --deltas 2, 10-min file" "$ten" "$(measure sb-mfcc -q --deltas 2 "$W/ten.wav" -o /dev/null)"
report "sb-mfcc --rate 8000 (libsoxr), 10-min file" "$ten" "$(measure sb-mfcc -q --rate 8000 "$W/ten.wav" -o /dev/null)"

hour=$(soxi -D "$W/hour.wav")
r=$(measure sb-mfcc -q "$W/hour.wav" -o "$W/hour.sbt")
report "sb-mfcc, one 1-hour file (memory)" "$hour" "$r"
echo "$r" | awk '{printf "peak RSS for a one-hour file: %.1f MB (target < 16 MB)\n", $3/1024}'
r10=$(measure sb-mfcc -q "$W/two.wav" -o /dev/null)
echo "$r10" | awk '{printf "peak RSS for a two-minute file: %.1f MB\n", $3/1024}'

if [ -x "$SPTK/mfcc" ]; then
  two=$(soxi -D "$W/two.wav")
  sox "$W/two.wav" -t raw -e signed -b 16 -L "$W/two.s16"
  cat > "$W/sptk.sh" <<EOF
$SPTK/x2x +sf < "$W/two.s16" | $SPTK/frame -l 400 -p 160 | $SPTK/mfcc -l 400 -L 512 -m 12 -n 26 -s 16 -w 1 -E > "$W/two.sptk"
EOF
  r=$(measure bash "$W/sptk.sh")
  report "SPTK 3.9 x2x | frame | mfcc, 2-min file" "$two" "$r"
  sptk_xrt=$(echo "$r" | awk -v s="$two" '{print s/$2}')
  echo "$sb_cpu" | awk -v t="$ten" -v x="$sptk_xrt" '{printf "sb-mfcc / SPTK (CPU x RT): %.1f\n", (t/$1)/x}'
else
  echo "SPTK 3.9 not installed (Debian package sptk): no side-by-side figure"
fi

# torchaudio on the same 10-min file, one thread, runs interleaved with
# sb-mfcc's so that both see the same machine load. sb-mfcc's figure is the
# whole program (decode, features, archive written); torchaudio's is the
# features from samples in memory, and then with torchaudio.load added.
PY=/usr/bin/python3
if $PY -c 'import torchaudio' 2>/dev/null; then
  for kind in transforms kaldi; do
    flag=""; [ $kind = kaldi ] && flag=--kaldi
    sb_best="" ta_c="" ta_l=""
    for _ in 1 2 3; do
      /usr/bin/time -o "$W/time" -f '%U %S' $ONE sb-mfcc -q $flag "$W/ten.wav" -o /dev/null
      t=$(awk '{print $1 + $2}' "$W/time")
      sb_best=$(awk -v a="$t" -v b="$sb_best" 'BEGIN{print (b == "" || a < b) ? a : b}')
      line=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $ONE $PY "$(dirname "$0")/torchaudio_mfcc.py" "$W/ten.wav" $kind)
      c=$(echo "$line" | sed 's/.*compute=\([0-9.]*\).*/\1/'); l=$(echo "$line" | sed 's/.*load=\([0-9.]*\).*/\1/')
      ta_c=$(awk -v a="$c" -v b="$ta_c" 'BEGIN{print (b == "" || a < b) ? a : b}')
      ta_l=$(awk -v a="$l" -v b="$ta_l" 'BEGIN{print (b == "" || a < b) ? a : b}')
    done
    label="sb-mfcc${flag:+ $flag}"; [ $kind = kaldi ] && tlabel="compliance.kaldi.mfcc" || tlabel="transforms.MFCC"
    awk -v s="$ten" -v sb="$sb_best" -v c="$ta_c" -v l="$ta_l" -v a="$label" -v t="$tlabel" 'BEGIN{
      printf "%-44s %8.0fx RT (CPU)  %.3f s\n", a ", 10-min file", s/sb, sb
      printf "%-44s %8.0fx RT (CPU)  %.3f s\n", "torchaudio " t ", features only", s/c, c
      printf "%-44s %8.0fx RT (CPU)  %.3f s\n", "torchaudio " t " + torchaudio.load", s/(c+l), c+l
      printf "%s / torchaudio (one core): %.2fx (features only), %.2fx (with load)\n", a, c/sb, (c+l)/sb }'
  done
else
  echo "torchaudio not installed (Debian package python3-torchaudio): no side-by-side figure"
fi
