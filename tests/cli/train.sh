# sb-train: usage errors, data errors, learning on a synthetic grounded
# corpus (1-, 2- and 3-task presets, aligned and non-aligned), the model
# archive, checkpoints, --keep, the TSV log, the --max-frames cap, resume
# (kill -9 and SIGINT; with the recorded options alone, and with options
# given again) bit for bit, checkpoints whose values the run cannot use, and
# one run per output. Tiny sizes keep the whole file well under a minute on
# 2 cores.
# Helpers (check, check_out, check_err, same_files, skip) come from lib.sh.

PY=${PYTHON:-python3}
toy() {  # DIR IMAGES CAPTIONS_PER_IMAGE SEED [--no-images]
  mkdir -p "$1" && "$PY" "$SB_SOURCE/tests/cli/toydata.py" "$@" &&
    sb-tensor from-npy "$1/feats.npz" -o "$1/feats.sbt" &&
    { [ ! -e "$1/images.npz" ] || sb-tensor from-npy "$1/images.npz" -o "$1/images.sbt"; }
}
toy train 100 3 1 && toy val 100 1 2 && toy libri 100 3 3 --no-images || echo "FAIL  could not make the toy corpus"
# 300 training utterances of 100 images; 100 validation images (chance R@10 = 0.10).
SMALL="--hidden 32 --conv-channels 16 --attn 16 --embed 16 --threads 1"

check_out "help lists the presets" 0 'sb-train --help' 'row13 +non-aligned'
check_err "unknown preset" 1 'sb-train --preset row14 --data train -o m.sbt' "unknown preset 'row14'"
check_err "tasks without si" 1 'sb-train --tasks st,ti --data train -o m.sbt' 'si .* must be present'
check_err "unknown task" 1 'sb-train --tasks si,xx --data train -o m.sbt' "unknown task 'xx'"
check_err "bad layer count" 1 'sb-train --layers s=two --data train -o m.sbt' 'layers s'
check_err "unknown encoder in --layers" 1 'sb-train --layers q=1 --data train -o m.sbt' "unknown encoder 'q'"
check_err "preset and layers together" 1 'sb-train --preset row6 --layers s=1 --data train -o m.sbt' 'one or the other'
check_err "no output" 1 'sb-train --data train' '-o MODEL is required'
check_err "no data" 1 'sb-train -o m.sbt' 'no training data'
check_err "batch of one" 1 'sb-train --data train --batch 1 -o m.sbt' 'batch'
check_err "layout with mismatched widths" 1 \
  'sb-train --tasks si --layers s=0,s2i=0 --data train -o m.sbt' 's2i=0 on s gives 64-dimensional'
check_err "aligned preset with other st data" 1 \
  'sb-train --preset row2 --data train --st libri -o m.sbt' 'ALIGNED'
check_err "non-aligned preset with one directory" 1 \
  'sb-train --preset row3 --data train -o m.sbt' 'NON-ALIGNED'
check_err "an unknown device is a usage error" 1 \
  "sb-train --device cuda:x --data train -o m.sbt" "^sb-train: --device: unknown device 'cuda:x' \\(cpu, cuda, cuda:N\\)$"
if gpu_refusal "sb-train --device cuda --data train --epochs 1 $SMALL -o mcuda.sbt"; then
  check "without a usable GPU --device cuda is refused in one line, exit 2, before writing" 0 \
    "grep -Eq '^sb-train: --device cuda:0: (this sb was built without CUDA|no usable CUDA driver|no CUDA device|.*no kernels for it|cannot )' gpu.err && [ ! -e mcuda.sbt ] && [ ! -e mcuda.sbt.lock ]"
  skip "a training round on cuda" "$gpu_why"
else
  check_out "a training round on cuda writes a model sb-embed reads" 0 \
    "sb-embed -m mcuda.sbt -e s2i --device cuda -q val/feats.sbt | sb-tensor keys | wc -l" '^[1-9]'
fi
check_err "an output directory that does not exist fails before training" 2 \
  "sb-train --data train $SMALL -o nodir/m.sbt" 'nodir/m.sbt: cannot write into nodir/'
check_err "missing file names the file" 2 \
  "sb-train --data libri $SMALL -o m.sbt" 'libri/utt2img: no such file'
check_err "st without text names the file" 2 \
  "mkdir -p notext && cp train/feats.sbt train/utt2img train/images.sbt notext/ && sb-train --tasks si,st --data notext $SMALL -o m.sbt" \
  'notext/text: no such file'

# Mismatched keys are counted and skipped; nothing matching is an error.
mkdir -p partial && cp train/feats.sbt train/images.sbt train/text partial/
head -n 250 train/utt2img > partial/utt2img && echo "ghost img1000" >> partial/utt2img
check_err "mismatched keys are reported with counts" 0 \
  "sb-train --data partial $SMALL --epochs 1 -o p.sbt" '50 utterances in feats.sbt without an utt2img entry'
check_err "entries without features are counted" 0 \
  "sb-train --data partial $SMALL --epochs 1 -o p.sbt" '1 utt2img entries without features'
mkdir -p nomatch && cp train/feats.sbt train/images.sbt nomatch/ && sed 's/^utt/x/' train/utt2img > nomatch/utt2img
check_err "no matching keys is an error" 2 "sb-train --data nomatch $SMALL -o m.sbt" 'no usable examples'
mkdir -p odd && cp val/feats.sbt val/utt2img odd/
"$PY" - <<'PY'
import struct, zipfile
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }"
hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
body = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + struct.pack("<10f", *range(10))
with zipfile.ZipFile("odd/images.npz", "w") as z:
    for i in range(100):
        z.writestr("img2%03d.npy" % i, body)
PY
sb-tensor from-npy odd/images.npz -o odd/images.sbt
check_err "validation images of another dimension" 2 \
  "sb-train --data train --val odd $SMALL --epochs 1 -o b.sbt" 'odd/images.sbt: image vectors have 10 dimensions, but 48'

# Learning: the loss falls and speech->image R@10 is far above chance (0.10).
learns() {  # name, args
  local name=$1; shift
  if sb-train "$@" $SMALL --val val --log "$name.tsv" -o "$name.sbt" 2> "$name.err"; then
    awk -F'\t' -v name="$name" '
      NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
      NR == 2 { first = $col["loss_si"] }
      { last = $col["loss_si"]; if ($col["r10"] > best) best = $col["r10"] }
      END {
        ok = (last < 0.7 * first && best >= 0.35)
        printf "%s  %s learns: loss_si %.4f -> %.4f, best R@10 %.2f (chance 0.10)\n", ok ? "ok   " : "FAIL ", name, first, last, best
        exit !ok
      }' "$name.tsv" && cli_pass=$((cli_pass + 1)) || cli_fail=$((cli_fail + 1))
  else
    _cli_report "$name trains" 0 "$(tail -n 2 "$name.err" | tr '\n' '|')"
  fi
}
learns row1 --preset row1 --data train --epochs 10
learns row2 --preset row2 --data train --epochs 10
learns row6 --preset row6 --data train --epochs 10 --keep 0
learns row11 --preset row11 --data train --st libri --epochs 10

check_out "log has a header and one row per epoch" 0 'wc -l < row6.tsv' '^11$'
check_out "log columns" 0 'head -n 1 row6.tsv' '^epoch	loss_st	val_loss_st	loss_si	val_loss_si	loss_ti	val_loss_ti	r1	r5	r10	medr	seconds$'
check_out "the best epoch is the output model" 0 \
  "best=\$(awk -F'\t' 'NR > 1 && \$10 > b { b = \$10; e = \$1 } END { print e }' row6.tsv); sb-tensor cat row6.sbt | grep -A 30 '^options' | grep -x \"epoch \$best\" && echo found" 'found'
check_out "parameter names and PyTorch shapes" 0 'sb-tensor info row6.sbt' \
  'speech\.conv\.weight	f32	16x13x6'
check_out "speech GRU layer 1" 0 'sb-tensor info row6.sbt' 'speech\.gru\.weight_hh_l1	f32	96x32'
check_out "s2i attention" 0 'sb-tensor info row6.sbt' 's2i\.attn\.W\.weight	f32	16x32'
check_out "text embedding holds the vocabulary and the unknown symbol" 0 'sb-tensor info row6.sbt' \
  'text\.embed\.weight	f32	19x16'
check_out "i2s projection" 0 'sb-tensor info row6.sbt' 'i2s\.weight	f32	32x48'
check_out "no s2t GRU with s2t=0" 0 'sb-tensor keys row6.sbt | grep -c "^s2t\.gru" || true' '^0$'
check_out "1-task model has no text encoder" 0 'sb-tensor keys row1.sbt | grep -c "^text\." || true' '^0$'
check_out "options record" 0 'sb-tensor cat row6.sbt | grep -A 20 "^options"' 'layers s=2,t=1,s2i=2,s2t=0,t2s=0,t2i=1'
check_out "a checkpoint per epoch (--keep 0)" 0 'ls row6.epoch*.sbt | wc -l' '^10$'
check "same seed, same bits" 0 \
  "sb-train --preset row6 --data train --epochs 2 $SMALL -o s1.sbt 2>/dev/null && sb-train --preset row6 --data train --epochs 2 $SMALL -o s2.sbt 2>/dev/null && cmp s1.sbt s2.sbt"
check "another seed, other bits" 1 \
  "sb-train --preset row6 --data train --epochs 2 $SMALL --seed 7 -o s3.sbt 2>/dev/null && cmp -s s1.sbt s3.sbt"
check_out "--keep 1 keeps the newest checkpoint only" 0 \
  "sb-train --data train --epochs 3 --keep 1 $SMALL -o k.sbt 2>/dev/null; ls k.*.sbt" '^k\.epoch03\.sbt$'
check_out "no --val: the last epoch is the model" 0 \
  "sb-train --data train --epochs 2 $SMALL -o nv.sbt 2>&1" 'no --val'

# NaN/Inf: features too large for float arithmetic overflow in the first step.
mkdir -p huge && cp train/utt2img train/images.sbt huge/
"$PY" - <<'PY'
import struct, zipfile
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (20, 13), }"
hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
body = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + struct.pack("<260f", *([3e38] * 260))
with zipfile.ZipFile("huge/feats.npz", "w") as z:
    for i in range(40):
        z.writestr("utt1%03d_0.npy" % i, body)
PY
sb-tensor from-npy huge/feats.npz -o huge/feats.sbt
check_err "NaN/Inf stops naming task, epoch and step" 2 \
  "sb-train --data huge $SMALL -o h.sbt" 'si (loss|gradient norm) is (nan|-nan|inf|-inf) at epoch 1, step 1 of'

# --keep: by default the best epoch's checkpoint and the newest 3 stay.
sb-train --data train --val val --epochs 7 $SMALL --log k3.tsv -o k3.sbt 2>/dev/null
best=$(awk -F'\t' 'NR > 1 && $(NF - 2) > b { b = $(NF - 2); e = $1 } END { printf "%02d", e }' k3.tsv)
want=$(printf 'k3.epoch%s.sbt\n' "$best" 05 06 07 | sort -u | tr '\n' ' ')
check_out "--keep default: the best epoch ($best) and the newest 3" 0 \
  "ls k3.epoch*.sbt | tr '\n' ' '" "^$want\$"
check_out "--keep 0 keeps every epoch" 0 \
  "sb-train --data train --epochs 5 --keep 0 $SMALL -o k0.sbt 2>/dev/null; ls k0.epoch*.sbt | wc -l" '^5$'

# --max-frames: an utterance longer than the cap is skipped with a warning
# naming it; --max-frames 0 keeps it.
mkdir -p long && cp train/images.sbt train/text long/
"$PY" - <<'PY'
import struct, zipfile
rows, dim = 2500, 13
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, dim)
hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
body = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + struct.pack("<%df" % (rows * dim), *([0.5] * (rows * dim)))
with zipfile.ZipFile("long1.npz", "w") as z:
    z.writestr("uttlong.npy", body)
PY
sb-tensor from-npy long1.npz -o long1.sbt && sb-tensor merge train/feats.sbt long1.sbt -o long/feats.sbt
{ cat train/utt2img; echo "uttlong $(head -n 1 train/utt2img | awk '{ print $2 }')"; } > long/utt2img
check_err "an utterance over --max-frames is skipped, named" 0 \
  "sb-train --data long --epochs 1 $SMALL -o long.sbt" \
  'warning: training si \(long\): skipped 1 utterances longer than --max-frames 2000 \(first: uttlong\)'
check_err "the skipped utterance is not trained on" 0 \
  "sb-train --data long --epochs 1 $SMALL -o long.sbt" 'training examples: si 300$'
check_err "--max-frames 0 keeps it" 0 \
  "sb-train --data long --epochs 1 --max-frames 0 $SMALL -o long0.sbt 2>&1 | grep -v 'max-frames' >&2" \
  'training examples: si 301$'
check_err "a lower cap names the first few and counts the rest" 0 \
  "sb-train --data train --epochs 1 --max-frames 30 $SMALL -o cap.sbt" \
  'skipped [0-9]+ utterances longer than --max-frames 30 \(first: [^ ,]+, [^ ,]+, [^ ,]+, \.\.\.\)'

# Resume. The runs compared write into their own directories under the same
# names (a checkpoint records -o, --data ... with the run), so that their
# checkpoints can be compared byte for byte: rs/ runs straight through, the
# others are stopped and continued. Batch 4 makes epochs long enough (75
# steps) to be caught in the middle.
RES="--preset row6 --data ../train --val ../val --batch 4 --log-every 1 $SMALL"
mkdir -p rs rk rk2 ri ri2 old moved
(cd rs && sb-train $RES --epochs 2 -o m.sbt 2>/dev/null)

# kill -9 during epoch 2: resume from the epoch-1 checkpoint.
killed_run() {  # DIR
  (cd "$1" && exec sb-train $RES --epochs 2 -o m.sbt 2> err) &
  local pid=$!
  for _ in $(seq 1 3000); do grep -q '^sb-train: epoch 2/2 step' "$1/err" 2>/dev/null && break; sleep 0.002; done
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
}
killed_run rk
check "killed during epoch 2 (no epoch-2 checkpoint)" 0 '[ -e rk/m.epoch01.sbt ] && [ ! -e rk/m.epoch02.sbt ]'
check "kill -9 leaves the lock file (its lock died with the run)" 0 '[ -e rk/m.sbt.lock ]'
check_err "resume from the epoch-1 checkpoint, options given again" 0 \
  "cd rk && sb-train --resume m.epoch01.sbt --data ../train --val ../val --epochs 2 --log-every 1 --threads 1 -o m.sbt" \
  'resuming from m.epoch01.sbt after epoch 1'
same_files "resumed epoch-2 checkpoint is bit-identical" rs/m.epoch02.sbt rk/m.epoch02.sbt
same_files "resumed model is bit-identical" rs/m.sbt rk/m.sbt
check "the resumed run took the killed run's lock over, and removed it at its end" 0 '[ ! -e rk/m.sbt.lock ]'
killed_run rk2
check "killed again during epoch 2" 0 '[ -e rk2/m.epoch01.sbt ] && [ ! -e rk2/m.epoch02.sbt ]'
check_err "after kill -9, --resume alone continues the recorded run" 0 \
  "cd rk2 && sb-train --resume m.epoch01.sbt" 'resuming from m.epoch01.sbt after epoch 1'
same_files "kill -9, --resume alone: epoch-2 checkpoint bit-identical" rs/m.epoch02.sbt rk2/m.epoch02.sbt
same_files "kill -9, --resume alone: model bit-identical" rs/m.sbt rk2/m.sbt
check_out "the checkpoint records the run's options" 0 \
  "sb-tensor cat rk2/m.epoch02.sbt | sed -n '/^train.run/,/^\$/p'" '^data \.\./train$'

# Options given again must agree with the recorded ones; --epochs extends.
check_err "resume refuses a changed hyper-parameter" 1 \
  "cd rk && sb-train --resume m.epoch01.sbt --lr 0.1" "--lr cannot be given with --resume as '0.1': m.epoch01.sbt records --lr '0.0002'"
check_err "resume refuses other data directories" 1 \
  "cd rk && sb-train --resume m.epoch01.sbt --data ../libri" "--data cannot be given with --resume as '../libri'"
check_err "resume refuses another -o" 1 \
  "cd rk && sb-train --resume m.epoch01.sbt -o x.sbt" "--output cannot be given with --resume"
check_err "resume refuses another model size" 1 \
  "cd rk && sb-train --resume m.epoch01.sbt --hidden 64" "--hidden cannot be given with --resume as '64'"
check_err "resume refuses another preset" 1 \
  "cd rk && sb-train --resume m.epoch01.sbt --preset row1" "--preset cannot be given with --resume"
check_err "--epochs extends the run, saying so" 0 \
  "cd rk && sb-train --resume m.epoch02.sbt --epochs 3" '--epochs 3: the run was recorded with 2 epochs; it now runs 3'
check "the extended run wrote epoch 3" 0 '[ -e rk/m.epoch03.sbt ]'
check_err "a finished run needs a higher --epochs" 1 \
  "cd rk && sb-train --resume m.epoch03.sbt" 'already holds 3 epochs; give --epochs above that'
check_err "a final model is not a checkpoint" 2 \
  "cd rs && sb-train --resume m.sbt --epochs 3" 'not a checkpoint'
# Same directory names, other examples: the fingerprint tells.
cp -r train moved/train && cp -r val moved/val
(cd moved && sb-train --preset row6 --data train --val val --epochs 1 $SMALL -o m.sbt 2>/dev/null)
head -n 200 train/utt2img > moved/train/utt2img
check_err "resume refuses other data behind the same names" 2 \
  "cd moved && sb-train --resume m.epoch01.sbt --epochs 2" 'trained on other data'

# A checkpoint of an sb-train before the run record: resumable when the data
# options are given, as before, and still bit-identical.
sb-tensor keys rs/m.epoch01.sbt | grep -vx 'train.run' > old.keys
sb-tensor select -k old.keys rs/m.epoch01.sbt > old/m.epoch01.sbt
check "an old checkpoint has no run record" 1 "sb-tensor keys old/m.epoch01.sbt | grep -qx train.run"
check_err "an old checkpoint alone asks for the data options" 1 \
  "cd old && sb-train --resume m.epoch01.sbt" 'older sb-train that did not record the run.s options: give -o MODEL and the data options'
check_err "an old checkpoint resumes with the data options given" 0 \
  "cd old && sb-train --resume m.epoch01.sbt --data ../train --val ../val --epochs 2 --log-every 1 --threads 1 -o m.sbt" \
  'resuming from m.epoch01.sbt after epoch 1'
same_files "old checkpoint resumed: model bit-identical" rs/m.sbt old/m.sbt
check_err "an old checkpoint still refuses another --lr" 1 \
  "cd old && sb-train --resume m.epoch01.sbt --data ../train --lr 0.1 -o m.sbt" '--lr cannot be given with --resume'

# SIGINT mid-epoch: a checkpoint of the exact position, exit 130, the command
# that continues, and a resumed run that ends bit-identical to an
# uninterrupted one. Training these toy sizes runs hundreds of steps a
# second, so the run is frozen (SIGSTOP) as soon as it reports step 3 of
# epoch 1, signalled while frozen, and only then continued: the interrupt
# lands mid-epoch whatever the machine's speed or load.
interrupted_run() {  # DIR
  (cd "$1" && exec sb-train $RES --epochs 2 -o m.sbt 2> err) &
  local pid=$!
  for _ in $(seq 1 3000); do grep -q '^sb-train: epoch 1/2 step 3/' "$1/err" 2>/dev/null && break; sleep 0.002; done
  kill -STOP $pid; kill -INT $pid; kill -CONT $pid; wait $pid
}
interrupted_run ri; rc=$?
check "SIGINT exits 130" 0 "[ $rc = 130 ]"
check "SIGINT removes the lock file" 0 "[ ! -e ri/m.sbt.lock ]"
check "the interrupted run did not finish" 0 "[ ! -e ri/m.epoch02.sbt ]"
check_out "SIGINT leaves a checkpoint and prints the command that continues" 0 'cat ri/err' \
  '^sb-train: interrupted; continue with: sb-train --resume m\.interrupted\.sbt$'
check "resume mid-epoch from the interrupted checkpoint, options given again" 0 \
  "cd ri && sb-train --resume m.interrupted.sbt --data ../train --val ../val --epochs 2 --threads 1 -o m.sbt"
same_files "mid-epoch resume is bit-identical" rs/m.epoch02.sbt ri/m.epoch02.sbt
interrupted_run ri2; rc=$?
check "SIGINT again exits 130, mid-epoch" 0 "[ $rc = 130 ] && [ ! -e ri2/m.epoch01.sbt ]"
check "after SIGINT, the printed command alone continues" 0 "cd ri2 && sb-train --resume m.interrupted.sbt"
same_files "SIGINT, --resume alone: epoch-2 checkpoint bit-identical" rs/m.epoch02.sbt ri2/m.epoch02.sbt
same_files "SIGINT, --resume alone: model bit-identical" rs/m.sbt ri2/m.sbt

# A checkpoint is input: every value of its records is checked before the
# run uses it, and a refusal names the checkpoint and the field (exit 2).
# with_field IN OUT RECORD FIELD VALUE: IN with the line of FIELD in the
# text record RECORD set to VALUE (the record goes out as a 0-d .npy
# string, is edited, and is merged back in its place).
with_field() {
  sb-tensor keys "$1" > "$2.keys" &&
    awk -v k="$3" '$0 == k { exit } { print }' "$2.keys" > "$2.before" &&
    awk -v k="$3" 'seen { print } $0 == k { seen = 1 }' "$2.keys" > "$2.after" &&
    sb-tensor select -k "$2.before" "$1" > "$2.a" && sb-tensor select -k "$2.after" "$1" > "$2.c" &&
    sb-tensor to-npy --key "$3" "$1" -o "$2.npy" &&
    "$PY" - "$2.npy" "$4" "$5" <<'PY' &&
import struct, sys
path, field, value = sys.argv[1:]
b = open(path, "rb").read()
n = struct.unpack("<H", b[8:10])[0]
lines = b[10 + n:].rstrip(b"\0").decode().split("\n")
hits = [i for i, l in enumerate(lines) if l.split(" ")[0] == field]
assert len(hits) == 1, field
lines[hits[0]] = field + " " + value
text = "\n".join(lines).encode()
hdr = "{'descr': '|S%d', 'fortran_order': False, 'shape': (), }" % max(len(text), 1)
hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + text)
PY
    sb-tensor from-npy --key "$3" "$2.npy" -o "$2.b" && sb-tensor merge "$2.a" "$2.b" "$2.c" -o "$2" &&
    [ "$(sb-tensor keys "$2")" = "$(cat "$2.keys")" ] && rm -f "$2".keys "$2".before "$2".after "$2".[abc] "$2".npy ||
    echo "FAIL  could not make $2"
}
mkdir -p bad
# rs/m.epoch01.sbt: after epoch 1 of a 2-epoch run; ri/m.interrupted.sbt:
# after step 3 of 75 of epoch 1 (both with -o m.sbt --data ../train).
with_field rs/m.epoch01.sbt bad/cut.sbt train.state epoch_done 4294967297
check_err "an integer past int is refused, not cut to int" 2 \
  "cd bad && sb-train --resume cut.sbt" "^sb-train: cut\.sbt: train\.state: 'epoch_done' is 4294967297, out of range 0\.\.100000$"
with_field ri/m.interrupted.sbt bad/huge.sbt train.state epoch_done 2147483647
check_err "epoch_done near INT_MAX is refused (it overflowed the epoch loop)" 2 \
  "cd bad && timeout -s KILL 60 sb-train --resume huge.sbt" "huge\.sbt: train\.state: 'epoch_done' is 2147483647, out of range"
with_field rs/m.epoch01.sbt bad/past.sbt train.state epoch_done 3
check_err "epoch_done past the recorded run's epochs" 2 \
  "cd bad && sb-train --resume past.sbt --epochs 5" "past\.sbt: train\.state: 'epoch_done' is 3, past the 2 epochs of the run it records"
with_field ri/m.interrupted.sbt bad/after.sbt train.state epoch_done 2
check_err "a mid-epoch checkpoint inside an epoch after the run's last" 2 \
  "cd bad && sb-train --resume after.sbt" "after\.sbt: train\.state: 'epoch_done' is 2 \(inside epoch 3\), past the 2 epochs"
with_field rs/m.epoch01.sbt bad/best.sbt train.state best_epoch 2
check_err "best_epoch after epoch_done" 2 \
  "cd bad && sb-train --resume best.sbt" "best\.sbt: train\.state: 'best_epoch' is 2, after the 1 epochs done"
with_field rs/m.epoch01.sbt bad/nan.sbt train.state best_r10 nan
check_err "best_r10 nan is refused (it never let a model be written)" 2 \
  "cd bad && sb-train --resume nan.sbt" "nan\.sbt: train\.state: 'best_r10' is nan, out of range -1\.\.1"
check "the refused runs wrote nothing" 0 '[ -z "$(ls bad | grep "^m\.")" ]'
with_field ri/m.interrupted.sbt bad/inf.sbt train.state loss_sum.si inf
check_err "a loss sum of inf is refused" 2 \
  "cd bad && sb-train --resume inf.sbt" "inf\.sbt: train\.state: 'loss_sum\.si' is inf, out of range"
with_field ri/m.interrupted.sbt bad/step.sbt train.state step 76
check_err "a step past the end of the epoch's batch order" 2 \
  "cd bad && sb-train --resume step.sbt" "step\.sbt: train\.state: 'step' is 76, past the end of epoch 1 \(75 steps in the batch order it records\)"
with_field ri/m.interrupted.sbt bad/step64.sbt train.state step 4294967299
check_err "a 64-bit step is refused, not cut to 3" 2 \
  "cd bad && sb-train --resume step64.sbt" "step64\.sbt: train\.state: 'step' is 4294967299, out of range 0\.\.2147483647"
with_field rs/m.epoch01.sbt bad/keep.sbt train.run keep 4294967296
check_err "the run record is range-checked too" 2 \
  "cd bad && sb-train --resume keep.sbt" "keep\.sbt: train\.run: 'keep' is 4294967296, out of range 0\.\.1000000"

# One run per output: a second sb-train on the same -o is refused at once,
# naming the first run's lock, and leaves the first run's files alone.
mkdir -p lk
(cd lk && exec sb-train $RES --epochs 1 --log m.tsv -o m.sbt 2> err) &
pid=$!
for _ in $(seq 1 3000); do grep -q '^sb-train: epoch 1/1 step 3/' lk/err 2>/dev/null && break; sleep 0.002; done
kill -STOP $pid
check_err "a second run on the same -o is refused, naming the first run's lock" 2 \
  "cd lk && timeout -s KILL 60 sb-train $RES --epochs 1 --log m.tsv -o m.sbt" \
  "^sb-train: m\.sbt\.lock: another sb-train \(pid $pid\) is training into m\.sbt; wait for it to end, or give another -o$"
check_err "a second run into another model but the same --log is refused too" 2 \
  "cd lk && timeout -s KILL 60 sb-train $RES --epochs 1 --log m.tsv -o other.sbt" \
  "^sb-train: m\.tsv\.lock: another sb-train \(pid $pid\) is writing its log to m\.tsv; wait for it to end, or give another --log$"
check "... and leaves no lock or model of its own" 0 '[ ! -e lk/other.sbt ] && [ ! -e lk/other.sbt.lock ]'
kill -CONT $pid; wait $pid; rc=$?
check "the first run ends normally" 0 "[ $rc = 0 ] && [ -e lk/m.sbt ]"
check_out "the log is the first run's alone" 0 'cat lk/m.tsv' '^1	'
check "its log has one header and one row" 0 '[ "$(wc -l < lk/m.tsv)" = 2 ]'
check "a normal end removes the lock file" 0 '[ ! -e lk/m.sbt.lock ]'
check "... and the log's lock file" 0 '[ ! -e lk/m.tsv.lock ]'
check_err "-o - is refused: checkpoints and the lock need a file name" 1 \
  "cd lk && sb-train $RES --epochs 1 -o -" "^sb-train: -o -: sb-train writes checkpoints"
check "... and leaves no -.lock behind" 0 '[ ! -e lk/-.lock ]'
