# sb-mfcc: the reference values through the command line, an independent
# NumPy implementation of the peer pipeline on audio made here (options
# included), inputs (files, wav.scp, stdin, raw, commands), every bad-input
# path, -j byte identity, resampling and the summary line.
# Helpers (check, check_out, check_err, same_files, skip) come from lib.sh.

D=$SB_TESTDATA/mfcc

check_out "help to stdout, exit 0" 0 'sb-mfcc --help' 'Examples:'
check_out "help shows library defaults" 0 'sb-mfcc --help' 'preemph.*\(real, 0\.\.1, default 0\.97\)'
check_out "version" 0 'sb-mfcc --version' '^sb-mfcc [0-9]+\.[0-9]+'
check_err "unknown option" 1 'sb-mfcc --bogus' 'bogus'
check_err "bad window" 1 "sb-mfcc --window blackman $D/short-16k.wav" "--window: 'blackman' is not one of rect, hamming, hann, povey"
check_err "num-ceps above num-filters" 1 "sb-mfcc --num-ceps 30 $D/short-16k.wav" 'num-ceps'
check_err "bad fft size" 1 "sb-mfcc --fft-size 500 $D/short-16k.wav" 'power of two'
check_err "raw needs a rate" 1 'sb-mfcc --raw - < /dev/null' 'raw needs --rate'
check_err "bad raw format" 1 'sb-mfcc --raw --rate 8000 --format s13 -' 'format must be one of'
check_err "bad jobs" 1 "sb-mfcc -j 0 $D/short-16k.wav" 'jobs'
check_err "stdin twice" 1 'sb-mfcc - -' 'standard input can be read only once'

# ---- the reference values, through the tool ---------------------------------
check_out "all reference files" 0 "sb-mfcc $D/*.wav $D/*.flac | sb-tensor keys | wc -l" '^8$'
check_out "shapes and summary" 0 "sb-mfcc $D/speech-44k-stereo.wav $D/short-16k.wav -o ref.sbt && sb-tensor info ref.sbt" \
  'speech-44k-stereo	f32	311x13'
check_err "summary line" 0 "sb-mfcc $D/speech-8k-s16.wav -o one.sbt" \
  '^sb-mfcc: 1 utterances, [0-9.]+ s, [0-9.]+ utterances/s; 1 written, 0 skipped, 3\.[0-9] s of audio \([0-9]+x real time\)$'
if command -v script >/dev/null; then
  # script(1) gives the tool a terminal on stderr: the meter's line ends in the summary.
  check_out "terminal: summary line" 0 "script -qec 'sb-mfcc $D/speech-8k-s16.wav -o tty.sbt' /dev/null" \
    'sb-mfcc: 1 utterances, [0-9.]+ s, [0-9.]+ utterances/s; 1 written'
  check_out "terminal: --quiet says nothing" 0 "script -qec 'sb-mfcc -q $D/speech-8k-s16.wav -o tty.sbt' /dev/null | wc -c" '^0$'
else
  skip "terminal: summary line" "no script(1) to give the tool a terminal"
fi
check "--quiet: no summary" 0 "sb-mfcc -q $D/speech-8k-s16.wav -o one.sbt 2>err.txt && test ! -s err.txt"
check_err "a bad number names its option" 1 "sb-mfcc --num-filters many $D/short-16k.wav" \
  "^sb-mfcc: --num-filters: 'many' is not an integer$"
check_err "a range names its option" 1 "sb-mfcc --deltas 3 $D/short-16k.wav" '^sb-mfcc: --deltas: 3 is out of range 0\.\.2$'
check_out "--help: type, range and default" 0 "sb-mfcc --help" 'delta regression half-width N \(int, 1\.\.100, default 2\)'
check_out "--version: commit and kernel" 0 "sb-mfcc --version" '^cpu kernel: (AVX-512|OpenBLAS|plain)'
check_out "one frame for 300 samples" 0 "sb-mfcc $D/short-16k.wav | sb-tensor info" 'short-16k	f32	1x13'
check_out "silence is finite, floored at log(eps)" 0 "sb-mfcc $D/silence-16k.wav | sb-tensor info" \
  'silence-16k	f32	99x13	-36\.04'
if have_numpy; then
  for f in "$D"/*.wav "$D"/*.flac; do
    b=$(basename "$f")
    check_out "matches $b.npy (max |d| <= 2e-3)" 0 \
      "sb-mfcc '$f' | sb-tensor to-npy > got.npy && /usr/bin/python3 -c \"
import numpy as np
g = np.load('got.npy'); w = np.load('$f.npy')
assert g.shape == w.shape, (g.shape, w.shape)
d = float(np.abs(g.astype(np.float64) - w).max()); print('maxdiff', d); assert d <= 2e-3
\"" '^maxdiff'
  done
else
  skip "reference values through the tool" "no numpy for /usr/bin/python3"
fi

# ---- audio made here, against an independent NumPy implementation ----------
espeak-ng -w es22.wav "The quick brown fox jumps over the lazy dog near the river bank." 2>/dev/null
espeak-ng -v en-us -s 190 -w es-b.wav "Seven small birds sang in a tree." 2>/dev/null
sox es22.wav -r 16000 es16.wav 2>/dev/null
sox es-b.wav -r 8000 -b 16 es8.wav 2>/dev/null
sox es16.wav -t f32 es16.f32 2>/dev/null
sox es22.wav -t f32 es22.f32 2>/dev/null
sox es8.wav -t f32 es8.f32 2>/dev/null
cat > ref.py <<'PY'
# The peer pipeline (python_speech_features' mfcc + delta) with options, in
# float64 NumPy, written from its definition; argv: samples.f32 rate npyout [opts]
import sys, math, decimal, numpy as np
x = np.fromfile(sys.argv[1], dtype=np.float32).astype(np.float64)
rate = float(sys.argv[2]); o = dict(a.split('=') for a in sys.argv[4:])
g = lambda k, d: type(d)(o.get(k, d))
winlen, winstep = g('len', 25.0) / 1000, g('shift', 10.0) / 1000
nfilt, ncep, lo, hi = g('filters', 26), g('ceps', 13), g('lo', 0.0), g('hi', 0.0) or rate / 2
pre, lift, win, deltas, energy = g('pre', 0.97), g('lift', 22.0), g('win', 'rect'), g('deltas', 0), g('energy', 1)
rhu = lambda v: int(decimal.Decimal(v).quantize(decimal.Decimal('1'), rounding=decimal.ROUND_HALF_UP))
L, S = rhu(winlen * rate), rhu(winstep * rate)
N = 512
while N < L: N *= 2
y = np.append(x[0], x[1:] - pre * x[:-1])
T = 1 if len(y) <= L else 1 + int(math.ceil((len(y) - L) / S))
y = np.concatenate([y, np.zeros((T - 1) * S + L - len(y))])
fr = y[np.arange(L)[None, :] + (np.arange(T) * S)[:, None]]
n = np.arange(L); c = np.cos(2 * np.pi * n / (L - 1))
w = {'rect': np.ones(L), 'hamming': 0.54 - 0.46 * c, 'hann': 0.5 - 0.5 * c, 'povey': (0.5 - 0.5 * c) ** 0.85}[win]
P = np.abs(np.fft.rfft(fr * w, N)) ** 2 / N
eps = np.finfo(float).eps
E = np.maximum(P.sum(1), eps)
mel = np.linspace(2595 * np.log10(1 + lo / 700), 2595 * np.log10(1 + hi / 700), nfilt + 2)
b = np.floor((N + 1) * (700 * (10 ** (mel / 2595) - 1)) / rate)
fb = np.zeros((nfilt, N // 2 + 1))
for j in range(nfilt):
    for i in range(int(b[j]), int(b[j + 1])): fb[j, i] = (i - b[j]) / (b[j + 1] - b[j])
    for i in range(int(b[j + 1]), int(b[j + 2])): fb[j, i] = (b[j + 2] - i) / (b[j + 2] - b[j + 1])
F = np.log(np.maximum(P @ fb.T, eps))
k = np.arange(nfilt)
dct = np.cos(np.pi * np.outer(np.arange(nfilt), 2 * k + 1) / (2 * nfilt)) * np.sqrt(2 / nfilt)
dct[0] /= np.sqrt(2)
C = (F @ dct.T)[:, :ncep]
if lift > 0: C *= 1 + lift / 2 * np.sin(np.pi * np.arange(ncep) / lift)
if energy: C[:, 0] = np.log(E)
def delta(f, K=2):
    p = np.pad(f, ((K, K), (0, 0)), mode='edge')
    return np.stack([np.arange(-K, K + 1) @ p[t:t + 2 * K + 1] for t in range(len(f))]) / (2 * sum(i * i for i in range(1, K + 1)))
out = [C]
if deltas >= 1: out.append(delta(C))
if deltas >= 2: out.append(delta(out[1]))
np.save(sys.argv[3], np.hstack(out).astype(np.float32))
PY
cat > cmp.py <<'PY'
import sys, numpy as np
g, w = np.load(sys.argv[1]), np.load(sys.argv[2]); tol = float(sys.argv[3]) if len(sys.argv) > 3 else 2e-3
assert g.shape == w.shape, (g.shape, w.shape)
d = float(np.abs(g.astype(np.float64) - w).max()); print('maxdiff', d); assert d <= tol, d
PY
# name | audio | rate | sb-mfcc options | ref.py options
ref_case() {
  check_out "numpy reference: $1" 0 \
    "/usr/bin/python3 ref.py $2.f32 $3 want.npy $5 && sb-mfcc $4 $2.wav | sb-tensor to-npy > got.npy && /usr/bin/python3 cmp.py got.npy want.npy" '^maxdiff'
}
if have_numpy; then
  ref_case "espeak 16 kHz, defaults" es16 16000 "" ""
  ref_case "espeak 22.05 kHz (L=551, N=1024)" es22 22050 "" ""
  ref_case "espeak 8 kHz" es8 8000 "" ""
  ref_case "hamming window" es16 16000 "--window hamming" "win=hamming"
  ref_case "hann window" es16 16000 "--window hann" "win=hann"
  ref_case "povey window" es16 16000 "--window povey" "win=povey"
  ref_case "40 filters, 20 cepstra, 20-7600 Hz" es16 16000 \
    "--num-filters 40 --num-ceps 20 --low-freq 20 --high-freq 7600" "filters=40 ceps=20 lo=20.0 hi=7600.0"
  ref_case "no pre-emphasis, no lifter, no energy" es16 16000 "--preemph 0 --lifter 0 --no-energy" \
    "pre=0.0 lift=0.0 energy=0"
  ref_case "32 ms frames every 12.5 ms" es22 22050 "--frame-length 32 --frame-shift 12.5" "len=32.0 shift=12.5"
  ref_case "deltas (26-d)" es16 16000 "--deltas 1" "deltas=1"
  ref_case "deltas and delta-deltas (39-d)" es16 16000 "--deltas 2" "deltas=2"
else
  skip "numpy reference cases" "no numpy for /usr/bin/python3"
fi

# ---- inputs --------------------------------------------------------------
sb-mfcc es16.wav 2>/dev/null | sb-tensor cat > es16.txt
check_out "stdin (libsndfile virtual I/O)" 0 'sb-mfcc --key es16 - < es16.wav | sb-tensor cat | cmp - es16.txt && echo same' same
check_out "stdin from a pipe, default key" 0 'cat es16.wav | sb-mfcc | sb-tensor keys' '^stdin$'
check_out "espeak-ng --stdout (placeholder sizes) on a pipe" 0 \
  'espeak-ng --stdout "one two three" | sb-mfcc --key x - | sb-tensor info' '^x	f32	[0-9]+x13'
sox es16.wav -t raw -e signed -b 16 -L es16.s16 2>/dev/null
check_out "raw s16le on stdin" 0 'sb-mfcc --raw --rate 16000 --format s16le --key es16 - < es16.s16 | sb-tensor cat | cmp - es16.txt && echo same' same
check_out "raw file argument" 0 'sb-mfcc --raw --rate 16000 es16.s16 | sb-tensor keys' '^es16$'
printf 'a %s\nb %s\nc %s\n' "$D/speech-16k-s16.wav" "$D/speech-8k-s16.wav" "$PWD/es16.wav" > ok.scp
check_out "wav.scp keys in order, through a pipe" 0 'sb-mfcc --rate 16000 --scp ok.scp | sb-tensor info | cut -f1,3 | tr "\n" " "' \
  '^key	shape a	283x13 b	311x13 c	'
check_out "wav.scp given as INPUT" 0 'sb-mfcc --rate 16000 ok.scp | sb-tensor keys | tr "\n" " "' '^a b c $'
check_out "wav.scp on stdin" 0 'sb-mfcc --rate 16000 --scp - < ok.scp | sb-tensor keys | wc -l' '^3$'
printf 'es16 sox %s -t wav - |\n' "$PWD/es16.wav" > pipe.scp
check_out "wav.scp command ending in |" 0 'sb-mfcc --scp pipe.scp | sb-tensor cat | cmp - es16.txt && echo same' same
# A command's output and stdin are spooled to a temporary file, not held
# in memory: 20 minutes of audio (19 MB) through a command or stdin costs
# no more resident memory than the same file read from disk (held in
# memory it cost 25 MB more), and gives the same features.
if [ -x /usr/bin/time ]; then
  sox -n -r 8000 -b 16 long.wav synth 1200 sine 300 2>/dev/null
  printf 'long cat %s |\n' "$PWD/long.wav" > long.scp
  check_out "1200 s through cmd | and stdin: resident memory within 12 MB of the file's, same features" 0 \
    "/usr/bin/time -f '%M' sb-mfcc -q --key long long.wav -o long.file.sbt 2>rss.file;
     /usr/bin/time -f '%M' sb-mfcc -q --scp long.scp -o long.cmd.sbt 2>rss.cmd;
     /usr/bin/time -f '%M' sb-mfcc -q --key long -o long.stdin.sbt - < long.wav 2>rss.stdin;
     cmp long.file.sbt long.cmd.sbt && cmp long.file.sbt long.stdin.sbt &&
     test \$(( \$(tail -1 rss.cmd) - \$(tail -1 rss.file) )) -lt 12288 &&
     test \$(( \$(tail -1 rss.stdin) - \$(tail -1 rss.file) )) -lt 12288 && echo bounded" bounded
  check_err "a spool that cannot be written names the command and the directory" 2 \
    "TMPDIR=/nonexistent-sb sb-mfcc -q --scp long.scp -o /dev/null --strict" \
    "^sb-mfcc: long\\.scp:1: .*command 'cat [^']*long\\.wav'.*/nonexistent-sb"
  rm -f long.wav long.*.sbt
else
  skip "spooled commands" "/usr/bin/time missing"
fi
# A wav.scp is one data set: entries of different rates are not mixed
# silently (Kaldi refuses them too); --rate resamples them all (above).
check_err "wav.scp of mixed rates without --rate: names the file and both rates" 2 'sb-mfcc --scp ok.scp -o mixed.sbt' \
  '^sb-mfcc: ok\.scp:2: [^ ]*speech-8k-s16\.wav: sample rate 8000 Hz, but ok\.scp:1: [^ ]*speech-16k-s16\.wav has 16000 Hz; .*--rate'
check "... and fails before writing anything" 0 '[ ! -e mixed.sbt ]'
check_err "mixed rates in a wav.scp given as INPUT" 2 'sb-mfcc ok.scp -o mixed.sbt' 'speech-8k-s16\.wav: sample rate 8000 Hz'
printf 'a %s\nb sox %s -t wav - |\n' "$PWD/es16.wav" "$PWD/es8.wav" > mixcmd.scp
check_err "a command entry of another rate: caught when decoded" 2 'sb-mfcc --scp mixcmd.scp -o mixcmd.sbt' \
  "mixcmd\.scp:2: sox .*es8\.wav -t wav - \|: sample rate 8000 Hz, but mixcmd\.scp:1: .*es16\.wav has 16000 Hz"
printf 'a %s\nb %s\n' "$PWD/es16.wav" "$D/speech-16k-s16.wav" > same.scp
check_out "a wav.scp of one rate needs no --rate" 0 'sb-mfcc --scp same.scp | sb-tensor keys | tr "\n" " "' '^a b $'
check_err "duplicate keys" 2 "sb-mfcc $D/short-16k.wav $D/short-16k.wav" "duplicate key 'short-16k'"

# ---- bad inputs -------------------------------------------------------------
: > empty.wav
head -c 20000 es16.wav > cut.wav
sox -n -r 16000 -c 1 -b 16 header-only.wav trim 0 0 2>/dev/null
head -c 44 es16.wav > data-cut.wav
sox es16.wav es16.flac 2>/dev/null && head -c 6000 es16.flac > cut.flac
printf 'not audio at all, just text\n' > junk.wav
check_err "empty file" 2 'sb-mfcc empty.wav -o x.sbt' 'warning: empty\.wav: empty file \(0 bytes\) \(skipped\)'
check_err "truncated WAV is an error, not a short utterance" 2 'sb-mfcc cut.wav -o x.sbt' \
  'warning: cut\.wav: truncated file'
check_err "0 samples: a clean per-file error" 2 'sb-mfcc header-only.wav -o x.sbt' 'warning: header-only\.wav: no audio samples \(skipped\)'
check_err "a header whose data is gone" 2 'sb-mfcc data-cut.wav -o x.sbt' 'warning: data-cut\.wav: truncated file'
check_err "truncated FLAC" 2 'sb-mfcc cut.flac -o x.sbt' 'warning: cut\.flac: '
check_err "not audio" 2 'sb-mfcc junk.wav -o x.sbt' 'warning: junk\.wav: cannot read audio'
check_err "missing file" 2 'sb-mfcc nothere.wav -o x.sbt' 'warning: nothere\.wav: cannot read audio'
check_err "empty stdin" 2 'sb-mfcc - < /dev/null > x.sbt' '<stdin>: empty file \(0 bytes\)'
head -c 1001 es16.s16 > odd.s16
check_err "raw input cut inside a sample" 2 'sb-mfcc --raw --rate 16000 odd.s16 -o x.sbt' \
  'odd\.s16: 1001 bytes of raw s16le audio is not a whole number of samples'
check_err "channel out of range" 2 "sb-mfcc --channel 2 $D/speech-44k-stereo.wav -o x.sbt" 'channel 2 requested'
printf 'a %s\nlost /no/such/file.wav\nc %s\n' "$D/speech-16k-s16.wav" "$PWD/es16.wav" > bad.scp
check_err "wav.scp with a missing file: warning names it" 2 'sb-mfcc --scp bad.scp -o part.sbt' \
  'warning: bad\.scp:2: /no/such/file\.wav: cannot read audio'
check_err "... the summary counts it" 2 'sb-mfcc --scp bad.scp -o part.sbt' '2 written, 1 skipped'
check_out "... the others are written" 0 'sb-tensor keys part.sbt | tr "\n" " "' '^a c $'
check_err "--strict stops at the first" 2 'sb-mfcc --strict --scp bad.scp -o strict.sbt' \
  '^sb-mfcc: bad\.scp:2: /no/such/file\.wav: cannot read audio'
check "... and leaves no partial archive under -o" 0 'test ! -e strict.sbt && ! ls strict.sbt.tmp.* 2>/dev/null'
check_err "unwritable output path" 2 "sb-mfcc $D/short-16k.wav -o /no/such/dir/x.sbt" 'cannot open'

# ---- options through the tool ---------------------------------------------
check_out "--max-seconds 1: 99 frames" 0 "sb-mfcc --max-seconds 1 $D/speech-16k-s16.wav | sb-tensor info" '	99x13	'
full=$(sb-mfcc $D/speech-16k-s16.wav | sb-tensor info | awk 'NR==2{print $3}')
for big in 1e15 1e300; do
  check_out "--max-seconds $big keeps the whole file" 0 "sb-mfcc --max-seconds $big $D/speech-16k-s16.wav | sb-tensor info" "	${full}	"
done
check_out "--deltas 2: 39 columns" 0 "sb-mfcc --deltas 2 $D/speech-16k-s16.wav | sb-tensor info" '	283x39	'
check_out "--cmvn meanvar: zero means" 0 "sb-mfcc --cmvn meanvar $D/speech-16k-s16.wav | sb-tensor info" \
  '	283x13	-[0-9.]+	[0-9.]+	-?[0-9.]+e-[0-9]+$'
check_out "--channel 0 differs from the mix" 0 \
  "sb-mfcc --channel 0 $D/speech-44k-stereo.wav | sb-tensor cat > left.txt; sb-mfcc $D/speech-44k-stereo.wav | sb-tensor cat | cmp -s - left.txt || echo differ" differ
sb-mfcc --dither 1e-4 --seed 3 es16.wav $D/silence-16k.wav -o dith1.sbt 2>/dev/null
sb-mfcc --dither 1e-4 --seed 3 es16.wav $D/silence-16k.wav -o dith2.sbt 2>/dev/null
same_files "dither with a seed is reproducible" dith1.sbt dith2.sbt
check_out "dither lifts log energy of silence off the floor" 0 \
  'sb-tensor select -k <(echo silence-16k) dith1.sbt | sb-tensor cat | sed -n 2p' '^-1[0-9]\.[0-9]+ '
if sb-mfcc --help | grep -q -- '--rate'; then
  check_out "--rate 16000 on 44.1 kHz stereo" 0 "sb-mfcc --rate 16000 $D/speech-44k-stereo.wav | sb-tensor info" \
    "speech-44k-stereo	f32	311x13"
  n=$(soxi -s es16.wav); m=$(( (n + 1) / 2 ))  # round_half_up(n * 8000 / 16000)
  check_out "--rate 8000: frames from the resampled length" 0 "sb-mfcc --rate 8000 es16.wav | sb-tensor info" \
    "es16	f32	$(( m <= 200 ? 1 : 1 + (m - 200 + 79) / 80 ))x13"
fi

# ---- -j N: byte-identical output --------------------------------------------
# Includes an utterance long enough (15 min) to be streamed into its record.
sox es16.wav long.wav repeat 350 2>/dev/null
printf 'l %s\n' "$PWD/long.wav" >> ok.scp
for f in "$D"/*.wav "$D"/*.flac; do printf '%s %s\n' "r-$(basename "$f")" "$f"; done >> ok.scp
sb-mfcc -j 1 --rate 16000 --deltas 2 --scp ok.scp -o j1.sbt 2>/dev/null
sb-mfcc -j 2 --rate 16000 --deltas 2 --scp ok.scp -o j2.sbt 2>/dev/null
sb-mfcc -j 5 --rate 16000 --deltas 2 --scp ok.scp -o j5.sbt 2>/dev/null
same_files "-j 2 output is byte-identical to -j 1" j1.sbt j2.sbt
same_files "-j 5 output is byte-identical to -j 1" j1.sbt j5.sbt
check_out "... and holds every record in order" 0 'sb-tensor keys j2.sbt | tr "\n" " "' '^a b c l r-short-16k\.wav '
check_out "a long utterance streamed into its record reads back" 0 'sb-tensor info j1.sbt' '^l	f32	[0-9]{5,}x39	'
sb-mfcc -j 3 --scp bad.scp -o bad3.sbt 2>/dev/null; sb-mfcc --scp bad.scp -o bad1.sbt 2>/dev/null
same_files "-j 3 skips the same bad file" bad1.sbt bad3.sbt
