# sb-tensor: conversions, streaming, and every error path of the archive reader.
# Helpers (check, check_out, check_err, same_files, skip) come from lib.sh.

check_out "help to stdout, exit 0" 0 'sb-tensor --help' 'Commands:'
check_out "subcommand help" 0 'sb-tensor info --help' 'Usage'
check_out "version" 0 'sb-tensor --version' '^sb-tensor [0-9]+\.[0-9]+'
check_err "no command is a usage error" 1 'sb-tensor' 'missing COMMAND'
check_err "unknown command" 1 'sb-tensor frobnicate' "unknown command 'frobnicate'"
check_err "unknown option" 1 'sb-tensor info --bogus' 'bogus'
check_err "bad option value" 1 'sb-tensor head -n lots x.sbt' 'sb-tensor: '

if have_numpy; then
  /usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(0)
np.save('f32.npy', rng.standard_normal((7, 13)).astype(np.float32))
np.save('i32.npy', np.arange(-5, 5, dtype=np.int32))
np.save('u8.npy', np.arange(256, dtype=np.uint8).reshape(16, 16))
np.save('zero_d.npy', np.array(2.5, dtype=np.float32))
np.save('three_d.npy', rng.standard_normal((2, 3, 4)).astype(np.float32))
np.save('empty.npy', np.zeros((0, 13), dtype=np.float32))
np.save('f16.npy', rng.standard_normal(9).astype(np.float16))
np.save('f64.npy', rng.standard_normal((2, 2)))
np.save('fortran.npy', np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.savez('pair.npz', a=np.ones((2, 2), np.float32), b=np.arange(3, dtype=np.int32))
np.savez_compressed('packed.npz', c=np.arange(10, dtype=np.float32))
PY
  for f in f32 i32 u8 zero_d three_d empty f16 f64; do
    sb-tensor from-npy $f.npy > $f.sbt && sb-tensor to-npy $f.sbt > $f.back.npy
    same_files "npy $f through sbt is bit-identical" $f.npy $f.back.npy
  done
  check_out "from-npy | to-npy on pipes" 0 'sb-tensor from-npy f32.npy | sb-tensor to-npy | cmp - f32.npy && echo same' same
  check_out "fortran order is transposed to row-major" 0 \
    "sb-tensor from-npy fortran.npy | sb-tensor cat" '^0 1 2$'
  check_out "npz members become records" 0 'sb-tensor from-npy pair.npz | sb-tensor keys | tr "\n" " "' '^a b $'
  check_out "deflated npz" 0 'sb-tensor from-npy packed.npz | sb-tensor info' 'c	f32	10	0	9	4.5'
  sb-tensor from-npy f32.npy i32.npy three_d.npy > many.sbt
  check_out "several records -> npz NumPy can load" 0 \
    "sb-tensor to-npy many.sbt > many.npz && /usr/bin/python3 -c \"import numpy as np; z=np.load('many.npz'); print(sorted(z.keys()), z['three_d'].shape)\"" \
    "\['f32', 'i32', 'three_d'\] \(2, 3, 4\)"
  check_out "to-npy --key picks one record" 0 "sb-tensor to-npy --key i32 many.sbt | cmp - i32.npy && echo same" same
  check_err "to-npy --key missing" 2 "sb-tensor to-npy --key nope many.sbt > x.npy" "no record with key 'nope'"
  check_err "several records into a .npy is refused" 1 "sb-tensor to-npy -o x.npy many.sbt" 'need a .npz'
  printf 'not numpy' > bad.npy
  check_err "bad .npy names the file" 2 'sb-tensor from-npy bad.npy > x.sbt' 'bad.npy: not a .npy file'
else
  skip "numpy round trips" "/usr/bin/python3 has no numpy"
fi

# Make an archive without numpy: text dump checks values.
hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
{ printf '\x93NUMPY\x01\x00\x76\x00'; printf '%-117s\n' "$hdr"
  printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40'; } > m.npy
check_out "hand-written npy" 0 'sb-tensor from-npy --key m m.npy | sb-tensor cat' '^3 4$'
sb-tensor from-npy --key m m.npy > m.sbt
check_out "info shows dtype, shape, stats" 0 'sb-tensor info m.sbt' 'm	f32	2x2	1	4	2.5'

# Streaming tools.
cat m.sbt m.sbt > mm.sbt
check_out "concatenated archives read as one" 0 'sb-tensor keys mm.sbt | wc -l' '^2$'
for i in 1 2 3 4 5; do sb-tensor from-npy --key k$i m.npy; done > five.sbt
check_out "head -n 2" 0 'sb-tensor head -n 2 five.sbt | sb-tensor keys | tr "\n" " "' '^k1 k2 $'
printf 'k4\nk2\nk9\n' > want
check_out "select keeps archive order" 0 'sb-tensor select -k want five.sbt | sb-tensor keys | tr "\n" " "' '^k2 k4 $'
check_out "select from stdin" 0 'sb-tensor select -k want < five.sbt | sb-tensor keys | wc -l' '^2$'
check_err "merge refuses duplicate keys" 2 'sb-tensor merge five.sbt five.sbt -o x.sbt' "duplicate key 'k1'"
check_out "split into 2 parts" 0 'sb-tensor split -n 2 five.sbt part && sb-tensor keys part1.sbt part2.sbt | tr "\n" " "' '^k1 k2 k3 k4 k5 $'
check_out "split sizes differ by at most one" 0 'sb-tensor keys part1.sbt | wc -l' '^3$'
check_out "merge of the parts equals the whole" 0 'sb-tensor merge part1.sbt part2.sbt -o whole.sbt && sb-tensor cat whole.sbt | cmp - <(sb-tensor cat five.sbt) && echo same' same

# Bad input: one-line errors naming the file and the record, exit 2.
head -c 60 five.sbt > cut.sbt
check_err "truncated archive" 2 'sb-tensor info cut.sbt' "cut.sbt: record [0-9]+.*truncated"
check_err "truncated on a pipe" 2 'head -c 60 five.sbt | sb-tensor keys' "<stdin>: record .*truncated"
size=$(stat -c %s five.sbt)
one=$(sb-tensor from-npy --key k5 m.npy | wc -c)
cp five.sbt flip.sbt
# The middle of the last part (header, record k5, end record) is in k5's frame.
printf '\xff' | dd of=flip.sbt bs=1 seek=$((size - one / 2)) conv=notrunc 2>/dev/null
check_err "flipped byte" 2 'sb-tensor info flip.sbt' "flip.sbt: record 5 \(after 'k4'\): corrupt archive"
check_err "not an archive" 2 'echo hello | sb-tensor info' 'not an .sbt archive'
check_err "empty input" 2 'sb-tensor info < /dev/null' 'empty input'
check_err "missing file" 2 'sb-tensor info nothere.sbt' 'nothere.sbt: cannot open'
check_err "directory" 2 'sb-tensor info .' 'is a directory'
check "one error line only" 0 'sb-tensor info cut.sbt 2>&1 >/dev/null | wc -l | grep -qx 1'

# A cut exactly between two records is not a shorter complete archive (sbt 1.1
# end record): drop the last archive's end-record frame from five.sbt.
/usr/bin/python3 -c '
import sys
d = open("five.sbt", "rb").read()
starts = [i for i in range(len(d) - 3) if d[i:i+4] == b"\x28\xb5\x2f\xfd"]
open("boundary.sbt", "wb").write(d[:starts[-1]])' 2>/dev/null
if [ -s boundary.sbt ]; then
  check_err "cut at a record boundary" 2 'sb-tensor keys boundary.sbt' "boundary.sbt: record 6 \(after 'k5'\): truncated archive \(no end record"
else
  skip "cut at a record boundary" "python3 missing"
fi

# Outputs appear only when complete: a failing run leaves the old file (or none).
check_err "merge failing on a later input" 2 'sb-tensor merge five.sbt cut.sbt -o partial.sbt' 'cut.sbt'
check "no partial output under the final name" 0 'test ! -e partial.sbt && ! ls partial.sbt.tmp.* 2>/dev/null'
cp five.sbt keep.sbt
check_err "failing run over an existing output" 2 'sb-tensor merge five.sbt cut.sbt -o keep.sbt' 'cut.sbt'
check "the existing output is untouched" 0 'cmp keep.sbt five.sbt'
check_out "-o /dev/null streams into the device" 0 'sb-tensor merge five.sbt -o /dev/null && test -c /dev/null && echo device' '^device$'
mkfifo out.fifo
check_out "-o FIFO streams into the pipe" 0 '{ sb-tensor keys < out.fifo > fifo.keys & } ; sb-tensor merge five.sbt -o out.fifo; wait; tr "\n" " " < fifo.keys' '^k1 k2 k3 k4 k5 $'

# Binary output to a terminal is refused unless forced.
if command -v script >/dev/null; then
  check_out "refuses a terminal" 0 'script -qec "sb-tensor from-npy --key m m.npy" /dev/null; true' 'refusing to write'
  check_out "--force writes to a terminal" 0 'script -qec "sb-tensor from-npy --force --key m m.npy | wc -c" /dev/null' '^[0-9]+'
else
  skip "terminal refusal" "script(1) not installed"
fi

# info and cat convert a record to floats in pieces: a 64 MiB u8 record must
# not cost 256 MiB of floats on top of itself.
if [ -x /usr/bin/time ] && /usr/bin/python3 -c '
import struct
n = 64 << 20
h = "{\x27descr\x27: \x27|u1\x27, \x27fortran_order\x27: False, \x27shape\x27: (%d,), }" % n
h += " " * (63 - (10 + len(h)) % 64) + "\n"
f = open("u8big.npy", "wb"); f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode()); f.write(b"\x07" * n)
' && sb-tensor from-npy --key big u8big.npy -o u8big.sbt && rm -f u8big.npy; then
  # Against sb-tensor keys, which reads the same record: converting it whole
  # would add 256 MB; in pieces it adds almost nothing (any build, ASan too).
  check_out "info of a 64 MiB u8 record costs < 64 MB more than reading it" 0 \
    "/usr/bin/time -f '%M' sb-tensor keys u8big.sbt 2>rss.keys >/dev/null;
     /usr/bin/time -f '%M' sb-tensor info u8big.sbt 2>rss.info >/dev/null;
     test \$(( \$(tail -1 rss.info) - \$(tail -1 rss.keys) )) -lt 65536 && echo bounded" 'bounded'
else
  skip "info memory" "/usr/bin/time or python3 missing"
fi

# Streaming: memory is bounded by the largest record, not the stream.
if [ -x "$SB_BUILD/tests/sbt_bench" ] && [ -x /usr/bin/time ]; then
  printf 'utt3\n' > k3
  check_out "200 MB through select stays under 64 MB resident" 0 \
    "$SB_BUILD/tests/sbt_bench --emit 200 | /usr/bin/time -f '%M' sb-tensor select -k k3 2>rss | sb-tensor keys; test \$(tail -1 rss) -lt 65536 && echo bounded" \
    'bounded'
else
  skip "streaming memory" "sbt_bench or /usr/bin/time missing"
fi

# quantize: f16 keeps values f16 can hold exactly; int8 stays within half a
# row scale of every element; rank-1 records stay f32; text passes through.
if have_numpy; then
  /usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(7)
w = rng.standard_normal((33, 17)).astype(np.float32) * np.linspace(0.01, 3, 33, dtype=np.float32)[:, None]
w[5] = 0  # a row of zeros: scale 0
np.savez('params.npz', **{'a.weight': w, 'a.bias': rng.standard_normal(33).astype(np.float32),
                          'c.weight': rng.standard_normal((4, 3, 2)).astype(np.float32),
                          'halves': (np.arange(-64, 64, dtype=np.float32) / 8)})
PY
  sb-tensor from-npy params.npz -o params.sbt
  printf 'opt 1\n' > opt.txt
  check_out "quantize --to int8: dtypes and scale records" 0 \
    "sb-tensor quantize --to int8 params.sbt -o p8.sbt && sb-tensor info p8.sbt | sed 1d | cut -f1-3 | head -n 6 | tr '\t\n' ' '" \
    '^a.weight i8 33x17 a.weight.scale f32 33 a.bias f32 33 c.weight i8 4x3x2 c.weight.scale f32 4 halves f32 128 $'
  check_out "int8 error <= scale/2 for every element" 0 \
    "sb-tensor to-npy -o p8.npz p8.sbt && /usr/bin/python3 -c \"
import numpy as np
a, q = np.load('params.npz'), np.load('p8.npz')
ok = True
for k in ('a.weight', 'c.weight'):
    w = a[k].reshape(a[k].shape[0], -1); s = q[k + '.scale']; d = q[k].reshape(w.shape).astype(np.float32) * s[:, None]
    ok &= q[k].dtype == np.int8 and bool(np.all(np.abs(d - w) <= s[:, None] / 2 * (1 + 1e-6)))
    ok &= bool(np.allclose(s, np.abs(w).max(1) / 127))
print('ok' if ok and bool(np.all(q['a.bias'] == a['a.bias'])) else 'bad')\"" '^ok$'
  check_out "quantize --to f16: exact for values f16 holds" 0 \
    "sb-tensor quantize --to f16 params.sbt -o p16.sbt && sb-tensor to-npy -o p16.npz p16.sbt && /usr/bin/python3 -c \"
import numpy as np
a, h = np.load('params.npz'), np.load('p16.npz')
ok = h['halves'].dtype == np.float16 and bool(np.all(h['halves'].astype(np.float32) == a['halves']))
ok &= bool(np.all(h['a.weight'] == a['a.weight'].astype(np.float16)))
print('ok' if ok else 'bad')\"" '^ok$'
  /usr/bin/python3 -c "import numpy as np; np.save('huge.npy', np.array([1e6], dtype=np.float32))"
  sb-tensor from-npy huge.npy -o huge.sbt
  check_err "f16: a value out of range names the record" 2 'sb-tensor quantize --to f16 huge.sbt -o /dev/null' \
    "^sb-tensor: huge.sbt: record huge: element 0 \(1e\+06\) is outside f16's range$"
else
  skip "quantize round trips" "numpy is not installed"
fi
check_err "quantize needs --to" 1 'sb-tensor quantize x.sbt' 'quantize needs --to f16 or --to int8'
check_err "quantize --to names the choices" 1 'sb-tensor quantize --to int4 x.sbt' "'int4' is not one of f16, int8"
