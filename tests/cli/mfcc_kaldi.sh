# sb-mfcc --kaldi against torchaudio.compliance.kaldi.mfcc (which reproduces
# Kaldi's compute-mfcc-feats; skipped when /usr/bin/python3 has no
# torchaudio), --segments (frame counts, keys and order, every hostile
# line, one read per run of a recording), Kaldi ark:offset entries refused,
# and seeded --dither.
# Helpers (check, check_out, check_err, same_files, skip) come from lib.sh.

check_out "--help shows --kaldi" 0 'sb-mfcc --help' '--kaldi'
check_err "a Kaldi-only option needs --kaldi" 1 'sb-mfcc --snip-edges=false -' '^sb-mfcc: --snip-edges needs --kaldi$'
check_err "--max-overshoot needs --segments" 1 'sb-mfcc --max-overshoot 1 -' 'max-overshoot needs --segments'

espeak-ng -w es22.wav "The quick brown fox jumps over the lazy dog near the river bank." 2>/dev/null
espeak-ng -v en-us -s 190 -w es-b22.wav "Seven small birds sang in a tree, and then they flew away." 2>/dev/null
# -R: sox dithers its 16-bit output with a repeatable seed, so the figures
# below are the same on every run.
sox -R es22.wav -r 16000 -b 16 es16.wav 2>/dev/null
sox -R es-b22.wav -r 16000 -b 16 es16b.wav 2>/dev/null
sox -R es22.wav -r 8000 -b 16 es8.wav 2>/dev/null
n16=$(soxi -s es16.wav); n16b=$(soxi -s es16b.wav)

# ---- against torchaudio ---------------------------------------------------
cat > kref.py <<'PY'
# torchaudio's Kaldi MFCC of a 16-bit WAV, fed int16-scale samples as Kaldi
# reads them, with Kaldi's defaults where torchaudio's differ (dither 0 as
# sb's, energy_floor 0, use_energy True: torchaudio's mfcc defaults to
# False); argv: wav out.npy [name=value ...] (torchaudio's argument names).
# Also writes out.npy.f64.npy, torchaudio run in float64, to tell float32
# rounding apart from a difference of definition.
import sys, wave, numpy as np, torch, torchaudio.compliance.kaldi as K
w = wave.open(sys.argv[1]); assert w.getsampwidth() == 2 and w.getnchannels() == 1
x = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float32)
kw = dict(sample_frequency=float(w.getframerate()), dither=0.0, energy_floor=0.0, use_energy=True)
for a in sys.argv[3:]:
    k, v = a.split('=')
    kw[k] = {'True': True, 'False': False}.get(v, v)
    if isinstance(kw[k], str):
        try: kw[k] = float(v) if '.' in v or 'e' in v else int(v)
        except ValueError: pass
np.save(sys.argv[2], K.mfcc(torch.from_numpy(x)[None, :], **kw).numpy())
np.save(sys.argv[2] + '.f64.npy', K.mfcc(torch.from_numpy(x.astype(np.float64))[None, :], **kw).numpy())
PY
cat > kcmp.py <<'PY'
import sys, numpy as np
g, w = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
w64 = np.load(sys.argv[2] + '.f64.npy')
assert g.shape == w.shape, (g.shape, w.shape)
d, d64, own = np.abs(g - w).max(axis=0), np.abs(g - w64).max(axis=0), np.abs(w - w64).max()
print('maxdiff %.3g, vs torchaudio in float64 %.3g, torchaudio float32 vs float64 %.3g; frames %d; '
      'per coefficient %s' % (d.max(), d64.max(), own, len(g), ' '.join('%.2g' % v for v in d)))
# sb computes each frame in float64: within 1e-3 of torchaudio's float64
# run, and of its float32 run but for that run's own rounding, which
# reaches 1.3e-3 in the liftered high cepstra of loud 8 kHz frames.
assert d64.max() <= 1e-3, d64.max()
assert d.max() <= 1e-3 + own, (d.max(), own)
PY
# name | wav | sb-mfcc options | torchaudio arguments
kaldi_case() {
  check_out "torchaudio: $1" 0 \
    "/usr/bin/python3 kref.py $2 want.npy $4 && sb-mfcc -q --kaldi $3 $2 | sb-tensor to-npy > got.npy && /usr/bin/python3 kcmp.py got.npy want.npy" \
    '^maxdiff'
  grep -h '^maxdiff' "$T/.out" | sed "s/^/      $1: /"
}
if /usr/bin/python3 -c 'import torchaudio.compliance.kaldi, numpy' 2>/dev/null; then
  kaldi_case "16 kHz, defaults" es16.wav "" ""
  kaldi_case "16 kHz, second voice" es16b.wav "" ""
  kaldi_case "8 kHz, defaults" es8.wav "" ""
  kaldi_case "16 kHz, 40 mel bins, 20 cepstra" es16.wav "--num-filters 40 --num-ceps 20" "num_mel_bins=40 num_ceps=20"
  kaldi_case "8 kHz, 40 mel bins, 20 cepstra" es8.wav "--num-filters 40 --num-ceps 20" "num_mel_bins=40 num_ceps=20"
  kaldi_case "16 kHz, hamming window" es16.wav "--window hamming" "window_type=hamming"
  kaldi_case "8 kHz, hanning window" es8.wav "--window hann" "window_type=hanning"
  kaldi_case "16 kHz, rectangular window" es16.wav "--window rect" "window_type=rectangular"
  kaldi_case "16 kHz, snip-edges false" es16.wav "--snip-edges=false" "snip_edges=False"
  kaldi_case "8 kHz, snip-edges false" es8.wav "--snip-edges=false" "snip_edges=False"
  kaldi_case "16 kHz, energy after the window" es16.wav "--raw-energy=false" "raw_energy=False"
  kaldi_case "16 kHz, no DC removal, no pre-emphasis" es16.wav "--remove-dc-offset=false --preemph 0" \
    "remove_dc_offset=False preemphasis_coefficient=0.0"
  kaldi_case "16 kHz, no energy, no lifter" es16.wav "--no-energy --lifter 0" "use_energy=False cepstral_lifter=0.0"
  kaldi_case "16 kHz, 64..7600 Hz, 20 ms every 5 ms" es16.wav \
    "--low-freq 64 --high-freq -400 --frame-length 20 --frame-shift 5" \
    "low_freq=64.0 high_freq=-400.0 frame_length=20.0 frame_shift=5.0"
else
  skip "torchaudio reference cases" "no torchaudio for /usr/bin/python3 (Debian: python3-torchaudio)"
fi

# ---- shapes ---------------------------------------------------------------
check_out "16 kHz: 1 + (n - 400) / 160 frames of 13" 0 "sb-mfcc -q --kaldi es16.wav | sb-tensor info" \
  "^es16	f32	$((1 + (n16 - 400) / 160))x13	"
check_out "--snip-edges=false: (n + 80) / 160 frames" 0 "sb-mfcc -q --kaldi --snip-edges=false es16.wav | sb-tensor info" \
  "^es16	f32	$(((n16 + 80) / 160))x13	"
sox es16.wav tiny.wav trim 0 399s 2>/dev/null
check_err "shorter than one frame: skipped, named" 2 "sb-mfcc -q --kaldi tiny.wav -o tiny.sbt" \
  'tiny\.wav: 399 samples are fewer than one 400-sample frame'
check_out "the peer default is unchanged by the new options" 0 \
  "sb-mfcc -q es16.wav | sb-tensor info" "^es16	f32	$((1 + (n16 - 400 + 159) / 160))x13	"

# ---- dither ---------------------------------------------------------------
sb-mfcc -q --kaldi --dither 1 --seed 7 es16.wav -o d1.sbt
sb-mfcc -q --kaldi --dither 1 --seed 7 es16.wav -o d2.sbt
sb-mfcc -q --kaldi --dither 1 --seed 8 es16.wav -o d3.sbt
sb-mfcc -q --kaldi es16.wav -o d0.sbt
same_files "--dither with one seed: the same bits" d1.sbt d2.sbt
check "another seed: other bits" 0 '! cmp -s d1.sbt d3.sbt'
check "no dither by default" 0 '! cmp -s d0.sbt d1.sbt && sb-mfcc -q --kaldi es16.wav | cmp -s - d0.sbt'

# ---- Kaldi ark:offset entries ------------------------------------------
printf 'a %s\nb data/wav.ark:1234\n' "$PWD/es16.wav" > ark.scp
check_err "an ark:offset entry is refused, naming wav.scp line and key" 2 'sb-mfcc -q --scp ark.scp -o ark.sbt' \
  "^sb-mfcc: warning: ark\.scp:2: key b: 'data/wav\.ark:1234': Kaldi ark:offset audio is not supported; convert with wav-copy \(skipped\)$"
check_out "... the other entry is written" 0 'sb-tensor keys ark.sbt' '^a$'
check_err "--strict stops at it" 2 'sb-mfcc -q --strict --scp ark.scp -o ark2.sbt' \
  "^sb-mfcc: ark\.scp:2: key b: .*not supported; convert with wav-copy$"
printf 'c wav.ark:12[0:799]\n' > ark-range.scp
check_err "an ark:offset with a range too" 2 'sb-mfcc -q --scp ark-range.scp -o ark3.sbt' 'ark:offset audio is not supported'

# ---- segments ------------------------------------------------------------
# Recordings through a command that logs each read, to count them.
printf 'r1 sh -c "echo r1 >> reads.log; cat %s" |\nr2 sh -c "echo r2 >> reads.log; cat %s" |\n' \
  "$PWD/es16.wav" "$PWD/es16b.wav" > rec.scp
over=$(awk -v n="$n16b" 'BEGIN { printf "%.4f", n / 16000 + 0.3 }')
cat > segments <<SEG
u1 r1 0 1.0
u2 r1 0.5 -1
u3 r2 0.25 0.75
u4 r2 0.5 $over
SEG
f() { echo $((1 + ($1 - 400) / 160)); }
rm -f reads.log
check_out "segments: keys in the file's order, frames per segment" 0 \
  'sb-mfcc -q --kaldi --scp rec.scp --segments segments | sb-tensor info | grep -v "^#" | cut -f1,3 | tail -n +2 | tr "\n" " "' \
  "^u1	$(f 16000)x13 u2	$(f $((n16 - 8000)))x13 u3	$(f 8000)x13 u4	$(f $((n16b - 8000)))x13 $"
check_out "... each recording read once when its segments are together" 0 \
  'sort reads.log | uniq -c | awk "{ printf \"%s:%s \", \$2, \$1 }"' '^r1:1 r2:1 $'
printf 'u1 r1 0 1.0\nu3 r2 0.25 0.75\nu4 r1 1.0 1.5\n' > interleaved
rm -f reads.log
check_out "interleaved recordings: read again, order kept" 0 \
  'sb-mfcc -q --kaldi --scp rec.scp --segments interleaved | sb-tensor keys | tr "\n" " "' '^u1 u3 u4 $'
check_out "... r1 read twice" 0 'grep -c r1 reads.log' '^2$'
sox es16.wav cut.wav trim 16000s 8000s 2>/dev/null
sb-mfcc -q --kaldi --key u4 - < cut.wav | sb-tensor cat > cut.txt
check_out "a segment's features are those of the cut audio" 0 \
  'sb-mfcc -q --kaldi --scp rec.scp --segments interleaved | sb-tensor select -k <(echo u4) | sb-tensor cat | cmp - cut.txt && echo same' same
sb-mfcc -q --kaldi --scp rec.scp --segments segments -o s1.sbt
sb-mfcc -q --kaldi -j 3 --scp rec.scp --segments segments -o s3.sbt
same_files "segments: -j 3 byte-identical to -j 1" s1.sbt s3.sbt
check_out "segments with the default (peer) features too" 0 \
  'sb-mfcc -q --scp rec.scp --segments segments | sb-tensor keys | wc -l' '^4$'
check_out "segments file on stdin" 0 'sb-mfcc -q --kaldi --scp rec.scp --segments - < segments | sb-tensor keys | wc -l' '^4$'
check_err "--segments with a plain file input" 1 'sb-mfcc --kaldi --segments segments es16.wav' \
  'segments cuts recordings of a wav.scp'

# Past the end of the recording: by less than --max-overshoot (0.5 s, Kaldi's
# extract-segments default) clamped (u4 above); further, skipped and named.
far=$(awk -v n="$n16b" 'BEGIN { printf "%.4f", n / 16000 + 0.7 }')
printf 'u1 r1 0 1.0\nu5 r2 0 %s\nu6 r2 99 100\n' "$far" > far
check_err "end too far past the recording: skipped, named by file and line" 2 \
  'sb-mfcc --kaldi --scp rec.scp --segments far -o far.sbt' \
  "warning: far:2: utterance 'u5': end $far s is past the end of recording 'r2' \([0-9.]+ s\) by [0-9.]+ s, more than --max-overshoot 0\.5 s \(skipped\)"
check_err "start past the end: skipped, named" 2 'sb-mfcc --kaldi --scp rec.scp --segments far -o far.sbt' \
  "warning: far:3: utterance 'u6': start 99 s is at or past the end of recording 'r2'"
check_out "... the good segment is written" 0 'sb-tensor keys far.sbt | tr "\n" " "' '^u1 $'
check_out "--max-overshoot 1 clamps it" 0 'sb-mfcc -q --kaldi --max-overshoot 1 --scp rec.scp --segments <(head -2 far) | sb-tensor keys | tr "\n" " "' '^u1 u5 $'
check_err "--strict stops at the first" 2 'sb-mfcc -q --strict --kaldi --scp rec.scp --segments far -o strict.sbt' \
  "^sb-mfcc: far:2: utterance 'u5': end"
hostile() {  # name | line | stderr regex
  { echo 'u1 r1 0 1.0'; echo "$2"; } > hostile.seg
  check_err "segments: $1" 2 'sb-mfcc -q --kaldi --scp rec.scp --segments hostile.seg -o h.sbt' "^sb-mfcc: hostile\.seg: line 2: $3"
  check "... nothing written" 0 '[ ! -e h.sbt ]'
}
hostile "unknown recording" "u2 r9 0 1" "utterance 'u2': recording 'r9' is not in the wav.scp$"
hostile "start = end" "u2 r1 1.5 1.5" "utterance 'u2': start 1\.5 is not before end 1\.5$"
hostile "start > end" "u2 r1 2 1" "utterance 'u2': start 2 is not before end 1$"
hostile "negative start" "u2 r1 -0.5 1" "utterance 'u2': negative start -0\.5$"
hostile "NaN start" "u2 r1 nan 1" "utterance 'u2': start 'nan' is not a finite number of seconds$"
hostile "infinite end" "u2 r1 0 inf" "utterance 'u2': end 'inf' is not a finite number of seconds$"
hostile "end not a number" "u2 r1 0 1.0s" "utterance 'u2': end '1\.0s' is not a finite number of seconds$"
hostile "end 0 (only -1 means the end)" "u2 r1 0 0" "utterance 'u2': end 0 is not a time: only -1 means the end of the recording"
hostile "duplicate utterance id" "u1 r1 2 3" "duplicate key 'u1'$"
hostile "too few fields" "u2 r1 0" "utterance 'u2': expected 'utt-id rec-id start end', got 3 fields$"
hostile "a channel field" "u2 r1 0 1 1" "utterance 'u2': a channel field is not supported"
check_err "a missing segments file" 2 'sb-mfcc -q --kaldi --scp rec.scp --segments nothere -o h.sbt' 'nothere'
printf 'r1 /no/such.wav\n' > missing.scp
printf 'u1 r1 0 1\nu2 r1 1 2\n' > two
check_err "an unreadable recording: each of its segments skipped, named" 2 \
  'sb-mfcc --kaldi --scp missing.scp --segments two -o m.sbt' \
  "warning: two:2: utterance 'u2': missing\.scp:1: /no/such\.wav: cannot read audio"
