# sb-embed: every encoder, layer activations, errors, and results that never
# depend on the batch size or on which inputs share a batch.
# Helpers (check, check_out, check_err, same_files, skip) come from lib.sh.

PY=${PYTHON:-python3}
toy() {  # DIR IMAGES CAPTIONS_PER_IMAGE SEED
  mkdir -p "$1" && "$PY" "$SB_SOURCE/tests/cli/toydata.py" "$@" &&
    sb-tensor from-npy "$1/feats.npz" -o "$1/feats.sbt" && sb-tensor from-npy "$1/images.npz" -o "$1/images.sbt"
}
toy train 60 3 1 && toy val 40 1 2 || echo "FAIL  could not make the toy corpus"
SMALL="--hidden 32 --conv-channels 16 --attn 16 --embed 16 --threads 1"
sb-train --preset row7 --data train --epochs 3 $SMALL -o m.sbt 2>/dev/null || echo "FAIL  could not train the test model"
sb-train --preset row1 --data train --epochs 1 $SMALL -o m1.sbt 2>/dev/null

check_out "help" 0 'sb-embed --help' 'Encoders: s2i, s2t'
check_err "no model" 1 'sb-embed -e s2i val/feats.sbt' '-m MODEL is required'
check_err "no encoder" 1 'sb-embed -m m.sbt val/feats.sbt' '-e ENCODER is required'
check_err "unknown encoder" 1 'sb-embed -m m.sbt -e x2y val/feats.sbt' "^sb-embed: --encoder: 'x2y' is not one of s2i, s2t, t2i, t2s, i2s, i2t$"
check_err "--batch out of range names the option" 1 'sb-embed -m m.sbt -e s2i --batch 0 val/feats.sbt' '^sb-embed: --batch: 0 is out of range 1\.\.4096$'
check_err "summary line on stderr" 0 'sb-embed -m m.sbt -e s2i val/feats.sbt -o q.sbt' '^sb-embed: [0-9]+ records, [0-9.]+ s, [0-9.e+]+ records/s$'
check "--quiet: nothing on stderr" 0 'sb-embed -q -m m.sbt -e s2i val/feats.sbt -o q.sbt 2>err.txt && test ! -s err.txt'
if command -v script >/dev/null; then
  # script(1) gives the tool a terminal; what the tool writes there comes back on script's stdout.
  check_out "binary to a terminal is refused" 2 'script -qec "sb-embed -m m.sbt -e i2s val/images.sbt" /dev/null' 'refusing.*--force'
  check "--force writes to a terminal anyway" 0 'script -qec "sb-embed -f -q -m m.sbt -e i2s val/images.sbt" /dev/null >/dev/null'
else
  skip "binary to a terminal is refused" "no script(1) to give the tool a terminal"
fi
check_err "--frames needs --layer" 1 'sb-embed -m m.sbt -e s2i --frames val/feats.sbt' '--frames needs --layer'
check_err "layer of the wrong modality" 1 'sb-embed -m m.sbt -e i2s --layer speech:1 val/images.sbt' 'speech encoder'
check_err "an unknown device is a usage error" 1 'sb-embed -m m.sbt -e s2i --device gpu val/feats.sbt' \
  "^sb-embed: --device: unknown device 'gpu' \\(cpu, cuda, cuda:N\\)$"
# --device cuda: on a GPU the embeddings match the CPU's and do not depend
# on the batch; elsewhere the refusal is one line saying why (SKIP).
if gpu_refusal 'sb-embed -q -m m.sbt -e s2i --device cuda val/feats.sbt -o cuda.sbt'; then
  NO_GPU='^sb-embed: --device cuda:0: (this sb was built without CUDA|no usable CUDA driver|no CUDA device|.*no kernels for it|cannot )'
  check_err "without a usable GPU --device cuda is refused in one line, exit 2" 2 \
    'sb-embed -m m.sbt -e s2i --device cuda val/feats.sbt' "$NO_GPU"
  check_err "... and --device cuda:7 names the device" 2 \
    'sb-embed -m m.sbt -e s2i --device cuda:7 val/feats.sbt' '^sb-embed: --device cuda:7: '
  skip "cuda embeddings equal the cpu's within 1e-4" "$gpu_why"
  skip "cuda embeddings do not depend on the batch" "$gpu_why"
else
  sb-embed -q -m m.sbt -e s2i val/feats.sbt -o cpu.sbt
  check_out "cuda embeddings equal the cpu's within 1e-4" 0 \
    'd=$(max_abs_diff cpu.sbt cuda.sbt); echo "$d"; awk -v d="$d" "BEGIN { exit !(d != \"shape\" && d <= 1e-4) }" && echo close' close
  sb-embed -q -m m.sbt -e s2i --device cuda --batch 1 val/feats.sbt -o cuda1.sbt
  same_files "cuda embeddings do not depend on the batch" cuda.sbt cuda1.sbt
fi
check_err "the 1-task model has no t2i" 2 'sb-embed -m m1.sbt -e t2i val/text' 'has no t2i encoder'
# Bad inputs are blamed on the input, by line or record, before the output gets them.
check_err "duplicate caption keys" 2 "printf 'u1 a dog\\nu1 a cat\\n' | sb-embed -m m.sbt -e t2i > /dev/null" \
  '^sb-embed: stdin: line 2 \(u1\): duplicate key \(first at line 1\)$'
check_err "a key the archive cannot hold" 2 "printf 'u\\001x a dog\\n' | sb-embed -m m.sbt -e t2i > /dev/null" \
  '^sb-embed: stdin: line 1: key contains whitespace or a control character$'
first=$(sb-tensor keys val/feats.sbt | head -n 1)
check_err "duplicate record keys" 2 'cat val/feats.sbt val/feats.sbt | sb-embed -m m.sbt -e s2i > /dev/null' \
  "^sb-embed: stdin: record 41 \($first\): duplicate key \(first at record 1\)$"
/usr/bin/python3 -c '
import struct
rows, dim = 20, 13
vals = [0.1] * (rows * dim); vals[17] = float("nan")
h = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: (%d, %d), }" % (rows, dim)
h += " " * (63 - (10 + len(h)) % 64) + "\n"
open("nan.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<%df" % len(vals), *vals))
' && sb-tensor from-npy --key bad nan.npy -o nan.sbt
check_err "a NaN feature names the record and element" 2 'sb-embed -m m.sbt -e s2i nan.sbt > /dev/null' \
  '^sb-embed: nan.sbt: record 1 \(bad\): element 17 is nan$'
check_err "not a model" 2 'sb-embed -m val/images.sbt -e s2i val/feats.sbt' "no 'options' record"
check_err "images where features are expected" 2 'sb-embed -m m.sbt -e s2i val/images.sbt' \
  'val/images.sbt: record 1 \(img2000\): shape 48, the model wants frames x 13'
check_err "features where images are expected" 2 'sb-embed -m m.sbt -e i2s val/feats.sbt' \
  'val/feats.sbt: record 1 \(utt2000_0\): shape [0-9]+x13, the model wants a vector of 48'
check_err "layer out of range" 2 'sb-embed -m m.sbt -e s2i --layer speech:3 val/feats.sbt' 'layers 0..2'
check "-o writes a file" 0 \
  'sb-embed -m m.sbt -e s2i -o out.sbt val/feats.sbt && [ -s out.sbt ]'

check_out "keys and order of the input" 0 \
  'sb-embed -m m.sbt -e s2i val/feats.sbt | sb-tensor keys | cmp - <(sb-tensor keys val/feats.sbt) && echo same' same
check_out "unit vectors of the hidden size" 0 \
  "sb-embed -m m.sbt -e s2i val/feats.sbt | sb-tensor cat | awk 'NR % 2 == 0 { s = 0; for (i = 1; i <= NF; i++) s += \$i * \$i; if (NF != 32 || s < 0.9999 || s > 1.0001) bad++ } END { print bad + 0 }'" '^0$'
for e in s2t; do
  check_out "$e from features" 0 "sb-embed -m m.sbt -e $e val/feats.sbt | sb-tensor info | tail -n 1" '^# 40 records, 1280 elements'
done
for e in i2s i2t; do
  check_out "$e from images" 0 "sb-embed -m m.sbt -e $e val/images.sbt | sb-tensor info | tail -n 1" '^# 40 records, 1280 elements'
done
for e in t2i t2s; do
  check_out "$e from a text table on stdin" 0 "sb-embed -m m.sbt -e $e < val/text | sb-tensor info | tail -n 1" '^# 40 records, 1280 elements'
done
check_out "unseen characters map to the unknown symbol" 0 \
  "printf 'u1 ein Hund!\nu2 red dog\n' | sb-embed -m m.sbt -e t2i | sb-tensor keys | tr '\n' ' '" '^u1 u2 $'
check_err "a caption without text names the line" 2 "printf 'u1 red\nu2\n' | sb-embed -m m.sbt -e t2i" 'stdin: line 2 \(u2\): no caption'

# Batch independence: the same bits for every batch size and batch company.
sb-embed -m m.sbt -e s2i --batch 32 val/feats.sbt > s2i.32.sbt
for b in 1 2 5 40; do
  sb-embed -m m.sbt -e s2i --batch $b val/feats.sbt > s2i.$b.sbt
  same_files "s2i with --batch $b" s2i.32.sbt s2i.$b.sbt
done
sb-embed -m m.sbt -e i2s --batch 32 val/images.sbt > i2s.32.sbt
sb-embed -m m.sbt -e i2s --batch 1 val/images.sbt > i2s.1.sbt
same_files "i2s with --batch 1" i2s.32.sbt i2s.1.sbt
sb-embed -m m.sbt -e t2i --batch 32 val/text > t2i.32.sbt
sb-embed -m m.sbt -e t2i --batch 3 val/text > t2i.3.sbt
same_files "t2i with --batch 3" t2i.32.sbt t2i.3.sbt
# Alone vs. in a batch of others, and with the companions reversed.
sb-tensor split -n 4 val/feats.sbt part
sb-tensor merge part4.sbt part3.sbt part2.sbt part1.sbt -o reversed.sbt
key=$(sb-tensor keys val/feats.sbt | sed -n 7p)
echo "$key" > one.key
sb-tensor select -k one.key val/feats.sbt > alone.sbt
sb-embed -m m.sbt -e s2i alone.sbt > alone.emb.sbt
sb-tensor select -k one.key s2i.32.sbt > inbatch.emb.sbt
same_files "an utterance alone = in a batch" alone.emb.sbt inbatch.emb.sbt
sb-embed -m m.sbt -e s2i --batch 7 reversed.sbt | sb-tensor select -k one.key > reversed.emb.sbt
same_files "an utterance with other companions" alone.emb.sbt reversed.emb.sbt
check "every utterance with reversed companions" 0 \
  "cmp <(sb-embed -m m.sbt -e s2i --batch 6 reversed.sbt | sb-tensor cat | paste - - | sort) <(sb-tensor cat s2i.32.sbt | paste - - | sort)"
sb-embed -m m.sbt -e s2i --layer speech:2 --frames --batch 1 val/feats.sbt > fr.1.sbt
sb-embed -m m.sbt -e s2i --layer speech:2 --frames --batch 40 val/feats.sbt > fr.40.sbt
same_files "per-frame activations with --batch 1 and 40" fr.1.sbt fr.40.sbt

# Layers: shapes follow the convolution (T' = floor((T + 2*6 - 6) / 2) + 1).
frames=$(sb-tensor info alone.sbt | awk -v k="$key" '$1 == k { split($3, s, "x"); print s[1] }')
Tc=$(( (frames + 6) / 2 + 1 ))
check_out "conv output per frame (speech:0)" 0 "sb-embed -m m.sbt -e s2i --layer speech:0 --frames alone.sbt | sb-tensor info" \
  "	${Tc}x16	"
check_out "shared GRU layer per frame (speech:1)" 0 "sb-embed -m m.sbt -e s2i --layer speech:1 --frames alone.sbt | sb-tensor info" \
  "	${Tc}x32	"
check_out "task GRU layer (s2i:2)" 0 "sb-embed -m m.sbt -e s2i --layer s2i:2 --frames alone.sbt | sb-tensor info" "	${Tc}x32	"
check_out "s2t:1 of the row7 layout" 0 "sb-embed -m m.sbt -e s2t --layer s2t:1 --frames alone.sbt | sb-tensor info" "	${Tc}x32	"
check_out "mean-pooled layer without --frames" 0 "sb-embed -m m.sbt -e s2i --layer speech:2 alone.sbt | sb-tensor info" \
  "	f32	32	"
check_out "text layer per character" 0 \
  "printf 'u1 red dog\n' | sb-embed -m m.sbt -e t2i --layer text:0 --frames | sb-tensor info" "u1	f32	7x16	"
check_out "a checkpoint works as a model" 0 \
  'sb-embed -m m.epoch03.sbt -e s2i val/feats.sbt | cmp - s2i.32.sbt && echo same' same

if have_numpy; then
  check_out "sb-embed | sb-tensor to-npy loads in NumPy" 0 \
    "sb-embed -m m.sbt -e s2i val/feats.sbt | sb-tensor to-npy -o emb.npz && /usr/bin/python3 -c \"import numpy as np; z = np.load('emb.npz'); v = np.stack([z[k] for k in z.files]); print(v.shape, bool(np.allclose((v * v).sum(1), 1, atol=1e-4)))\"" \
    '^\(40, 32\) True$'
else
  skip "sb-embed | sb-tensor to-npy loads in NumPy" "numpy is not installed"
fi

# Quantized models (sb-tensor quantize; io/quantize.h): run directly, within
# a stated cosine of the f32 model's embeddings (f16 >= 0.999, int8 >= 0.99
# for every utterance), and hostile scale records are refused.
sb-tensor quantize --to f16 m.sbt -o m.f16.sbt
sb-tensor quantize --to int8 m.sbt -o m.int8.sbt
check "a quantized model is smaller" 0 \
  "test \$(stat -c %s m.int8.sbt) -lt \$(stat -c %s m.f16.sbt) && test \$(stat -c %s m.f16.sbt) -lt \$(stat -c %s m.sbt)"
if have_numpy; then
  for q in f16:0.999 int8:0.99; do
    t=${q%%:*} bound=${q#*:}
    check_out "$t model: every s2i embedding within cosine $bound of f32" 0 \
      "sb-embed -q -m m.$t.sbt -e s2i val/feats.sbt | sb-tensor to-npy -o q.$t.npz && sb-tensor to-npy -o f.npz s2i.32.sbt && /usr/bin/python3 -c \"
import numpy as np
a, b = np.load('f.npz'), np.load('q.$t.npz')
assert a.files == b.files
c = min(float(np.dot(a[k], b[k]) / np.linalg.norm(a[k]) / np.linalg.norm(b[k])) for k in a.files)
print('min cosine', c, 'ok' if c >= $bound else 'low')\"" ' ok$'
  done
  check "int8 embeddings are not the f32 ones (the test sees the quantization)" 1 \
    "sb-embed -q -m m.int8.sbt -e s2i val/feats.sbt | cmp -s - s2i.32.sbt"
  check_out "int8 model: i2s within cosine 0.99 too" 0 \
    "sb-embed -q -m m.int8.sbt -e i2s val/images.sbt | sb-tensor to-npy -o qi.npz && sb-tensor to-npy -o fi.npz i2s.32.sbt && /usr/bin/python3 -c \"
import numpy as np
a, b = np.load('fi.npz'), np.load('qi.npz')
print('ok' if min(float(np.dot(a[k], b[k])) for k in a.files) >= 0.99 else 'low')\"" '^ok$'
  # A scale record of the wrong count, and a NaN scale.
  sb-tensor to-npy -o q.npz m.int8.sbt
  /usr/bin/python3 -c "
import numpy as np
z = dict(np.load('q.npz'))
k = 'speech.gru.weight_ih_l0.scale'
short = dict(z); short[k] = z[k][:-1]; np.savez('short.npz', **short)
nan = dict(z); s = z[k].copy(); s[3] = np.nan; nan[k] = s; np.savez('nanscale.npz', **nan)
"
  sb-tensor from-npy short.npz -o short.sbt && sb-tensor from-npy nanscale.npz -o nanscale.sbt
  check_err "int8: a scale record of the wrong count" 2 'sb-embed -m short.sbt -e s2i val/feats.sbt' \
    '^sb-embed: short.sbt: record speech.gru.weight_ih_l0.scale: f32 95, expected 96 f32 row scales for speech.gru.weight_ih_l0 \(96x16\)$'
  check_err "int8: a NaN scale" 2 'sb-embed -m nanscale.sbt -e s2i val/feats.sbt' \
    '^sb-embed: nanscale.sbt: record speech.gru.weight_ih_l0.scale: scale 3 is nan$'
else
  skip "quantized models against f32" "numpy is not installed"
fi
check_err "int8 without its scale record" 2 \
  "sb-tensor keys m.int8.sbt | grep -v '^speech.conv.weight.scale\$' > noscale.keys && sb-tensor select -k noscale.keys m.int8.sbt > noscale.sbt && sb-embed -m noscale.sbt -e s2i val/feats.sbt" \
  '^sb-embed: noscale.sbt: record speech.conv.weight: int8 without its scale record speech.conv.weight.scale$'

# Streaming: sb-embed holds the model and a window of batches, never the
# whole input. 3000 utterances of 300 frames (47 MB of f32 features): peak
# RSS under 40 MB above what one utterance needs (about 30 MB measured: the
# window of 8 batches of 32; the baseline is the program and its libraries,
# about 230 MB more where cuBLAS and cuDNN are linked), and within 2 MB of
# what a 300-utterance prefix of the same input needs. (Under ASan, freed
# memory waits in a quarantine before reuse, which would make RSS grow with
# the input: the quarantine is turned off for this measurement; the option
# means nothing to other builds.)
if have_numpy && [ -x /usr/bin/time ]; then
  /usr/bin/python3 -c "
import numpy as np
rng = np.random.default_rng(5)
np.savez('long.npz', **{'u%05d' % i: rng.standard_normal((300, 13)).astype(np.float32) for i in range(3000)})
" && sb-tensor from-npy long.npz -o long.sbt && rm -f long.npz && sb-tensor head -n 300 long.sbt > prefix.sbt && sb-tensor head -n 1 long.sbt > one.sbt
  check_out "memory stays bounded on a long input (RSS cap)" 0 \
    "export ASAN_OPTIONS=\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}quarantine_size_mb=0; /usr/bin/time -f '%M' -o rss.long sb-embed -q -m m.sbt -e s2i long.sbt | sb-tensor info | tail -n 1 && /usr/bin/time -f '%M' -o rss.prefix sb-embed -q -m m.sbt -e s2i prefix.sbt -o /dev/null && /usr/bin/time -f '%M' -o rss.one sb-embed -q -m m.sbt -e s2i one.sbt -o /dev/null && long=\$(tail -n 1 rss.long) prefix=\$(tail -n 1 rss.prefix) one=\$(tail -n 1 rss.one) && echo \"rss \$long kB (prefix \$prefix kB, one utterance \$one kB)\" && test \$((long - one)) -lt 40960 && test \$long -lt \$((prefix + 2048)) && echo bounded" \
    'bounded'
else
  skip "memory stays bounded on a long input" "numpy or /usr/bin/time missing"
fi
