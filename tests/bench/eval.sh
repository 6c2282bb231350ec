#!/usr/bin/env bash
# Evaluation figures (issue 6): sb-rank at Flickr8K's size and at
# 100,000 x 100,000, sb-rsa on 5,000 captions (bit-parallel against the plain
# dynamic programme) and on vectors, sb-probe at the speaker probe's size.
# Inputs are random (NumPy), made once per run in a scratch folder.
set -eu
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (timings depend on it)"
BIN=${SB_BIN:-build/tools}
THREADS=${THREADS:-2}
W=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-eval.XXXXXX")
trap 'rm -rf "$W"' EXIT
export OPENBLAS_NUM_THREADS=$THREADS
timed() {  # label command...: wall time and peak RSS of one run
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, %U s user, %M KB max resident" "$@" >"$W/out" 2>"$W/err" ||
    { cat "$W/err"; return 1; }
  tail -1 "$W/err"
}

/usr/bin/python3 - "$W" <<'PY'
import sys, numpy as np
w = sys.argv[1]
rs = np.random.RandomState(0)
def archive(name, keys, x):  # one .npz, converted by sb-tensor below
    np.savez(f"{w}/{name}.npz", **{k: v for k, v in zip(keys, x)})
# Flickr8K validation: 5,000 utterances, 1,000 images, 1024-d.
img = rs.normal(size=(1000, 1024)).astype(np.float32)
utt = (np.repeat(img, 5, axis=0) + 12 * rs.normal(size=(5000, 1024))).astype(np.float32)
archive("img1k", [f"i{i:04d}" for i in range(1000)], img)
archive("utt5k", [f"u{i:04d}" for i in range(5000)], utt)
with open(f"{w}/utt2img5k", "w") as f:
    for i in range(5000): f.write(f"u{i:04d} i{i // 5:04d}\n")
# 100,000 x 100,000 at 64-d (1024-d would be 16x the arithmetic: ~minutes on 2 cores).
big = rs.normal(size=(100000, 64)).astype(np.float32)
# The same keys on both sides (the gold table maps each to itself), so that
# sb-rsa can also pair them.
keys = [f"k{i:06d}" for i in range(100000)]
archive("q100k", keys, (big + rs.normal(size=big.shape)).astype(np.float32))
archive("t100k", keys, big)
with open(f"{w}/gold100k", "w") as f:
    for k in keys: f.write(f"{k} {k}\n")
# 5,000 captions with Flickr8K's lengths: 5..17 words (mean 11; about 17..100
# characters, mean 55).
words = "a the dog man woman child black white brown red ball grass water runs jumps " \
        "plays sits on in with at near two people street beach snow bike shirt".split()
with open(f"{w}/text5k", "w") as f:
    for i in range(5000):
        f.write(f"u{i:04d} " + " ".join(rs.choice(words, size=rs.randint(5, 18))) + "\n")
# Speaker probe: 5,000 utterances, 1024-d, 50 speakers.
spk = rs.randint(0, 50, size=5000)
cen = rs.normal(size=(50, 1024))
archive("spk", [f"u{i:04d}" for i in range(5000)], (cen[spk] + 8 * rs.normal(size=(5000, 1024))).astype(np.float32))
with open(f"{w}/utt2spk", "w") as f:
    for i in range(5000): f.write(f"u{i:04d} s{spk[i]}\n")
PY
for a in img1k utt5k q100k t100k spk; do "$BIN/sb-tensor" from-npy "$W/$a.npz" >"$W/$a.sbt"; rm "$W/$a.npz"; done

echo "-- sb-rank, 5,000 x 1,000, 1024-d, $THREADS threads (target: well under 1 s)"
timed "speech->image" "$BIN/sb-rank" --threads "$THREADS" --gold "$W/utt2img5k" "$W/utt5k.sbt" "$W/img1k.sbt"
grep -E '^(R@10|medr)' "$W/out" | tr '\n' ' '; echo
timed "speech->image, 1 thread" "$BIN/sb-rank" --threads 1 --gold "$W/utt2img5k" "$W/utt5k.sbt" "$W/img1k.sbt"
timed "image->speech" "$BIN/sb-rank" --threads "$THREADS" --reverse --gold "$W/utt2img5k" "$W/utt5k.sbt" "$W/img1k.sbt"
echo "-- sb-rank, 100,000 x 100,000, 64-d (reduced from 1024-d), $THREADS threads (bounded memory:"
echo "   the inputs are 2 x 25.6 MB; the full score matrix would be 40 GB)"
timed "100k x 100k" "$BIN/sb-rank" --threads "$THREADS" --gold "$W/gold100k" "$W/q100k.sbt" "$W/t100k.sbt"
grep -E '^(R@10|medr)' "$W/out" | tr '\n' ' '; echo

echo "-- sb-rsa, 5,000 captions (12.5 M Levenshtein distances) vs 1024-d vectors (target: < 3 s on 2 cores)"
timed "bit-parallel (Myers/Hyyro), $THREADS threads" "$BIN/sb-rsa" --threads "$THREADS" "$W/utt5k.sbt" "text:$W/text5k"
timed "bit-parallel, 1 thread" "$BIN/sb-rsa" --threads 1 "$W/utt5k.sbt" "text:$W/text5k"
echo "-- the same on a 1,000-caption sample (0.5 M distances), bit-parallel vs the plain dynamic programme"
timed "bit-parallel, $THREADS threads" "$BIN/sb-rsa" --threads "$THREADS" --sample 1000 "$W/utt5k.sbt" "text:$W/text5k"
cp "$W/out" "$W/out.bp"
timed "plain DP,     $THREADS threads" "$BIN/sb-rsa" --threads "$THREADS" --sample 1000 --levenshtein dp "$W/utt5k.sbt" "text:$W/text5k"
cmp -s "$W/out" "$W/out.bp" && echo "same result: $(grep pearson "$W/out")" || echo "RESULTS DIFFER"
echo "-- sb-rsa, vectors"
timed "5,000 cosine vs cosine, Pearson (streamed)" "$BIN/sb-rsa" --threads "$THREADS" "$W/utt5k.sbt" "$W/spk.sbt"
timed "5,000, Spearman (float triangles)" "$BIN/sb-rsa" --threads "$THREADS" --spearman "$W/utt5k.sbt" "$W/spk.sbt"
timed "5,000, Pearson + 100 permutations" "$BIN/sb-rsa" --threads "$THREADS" --permutations 100 "$W/utt5k.sbt" "$W/spk.sbt"
timed "20,000 items 64-d, Pearson (streamed; 2 x 20,000^2 doubles would be 6.4 GB)" \
  "$BIN/sb-rsa" --threads "$THREADS" --sample 20000 "$W/q100k.sbt" "$W/t100k.sbt"

echo "-- sb-probe, speaker probe: 5,000 x 1024-d, 50 classes, C=100, 75/25"
timed "speaker probe" "$BIN/sb-probe" --threads "$THREADS" --labels "$W/utt2spk" "$W/spk.sbt"
grep -E '^(accuracy|majority)' "$W/out" | tr '\n' ' '; echo
