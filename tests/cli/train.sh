# sb-train: usage errors, data errors, learning on a synthetic grounded
# corpus (1-, 2- and 3-task presets, aligned and non-aligned), the model
# archive, checkpoints, --keep, the TSV log, and resume (kill -9 and SIGINT)
# bit for bit. Tiny sizes keep the whole file well under a minute on 2 cores.
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
check_err "cuda is reported as unavailable" 2 \
  "sb-train --device cuda --data train -o m.sbt" 'CUDA backend is not available'
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
learns row6 --preset row6 --data train --epochs 10
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
check_out "a checkpoint per epoch" 0 'ls row6.epoch*.sbt | wc -l' '^10$'
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

# Resume after kill -9: 2 epochs straight = 1 epoch, killed in epoch 2,
# resumed from the epoch-1 checkpoint. Batch 4 makes epochs long enough
# (75 steps) to be caught in the middle.
RES="--preset row6 --data train --val val --batch 4 --log-every 1 $SMALL"
sb-train $RES --epochs 2 -o straight.sbt 2>/dev/null
sb-train $RES --epochs 2 -o killed.sbt 2> killed.err &
pid=$!
for _ in $(seq 1 3000); do grep -q '^sb-train: epoch 2/2 step' killed.err 2>/dev/null && break; sleep 0.002; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "killed during epoch 2 (no epoch-2 checkpoint)" 0 '[ -e killed.epoch01.sbt ] && [ ! -e killed.epoch02.sbt ]'
check_err "resume from the epoch-1 checkpoint" 0 \
  "sb-train --resume killed.epoch01.sbt --data train --val val --epochs 2 --log-every 1 --threads 1 -o killed.sbt" \
  'resuming from killed.epoch01.sbt after epoch 1'
same_files "resumed epoch-2 checkpoint is bit-identical" straight.epoch02.sbt killed.epoch02.sbt
same_files "resumed model is bit-identical" straight.sbt killed.sbt
check_err "resume refuses a changed hyper-parameter" 1 \
  "sb-train --resume killed.epoch01.sbt --data train --lr 0.1 -o x.sbt" '--lr cannot be given with --resume'
check_err "resume refuses other data" 2 \
  "sb-train --resume killed.epoch01.sbt --data libri --si train --ti train --val val --epochs 3 -o x.sbt" \
  'trained on other data'
check_err "a final model is not a checkpoint" 2 \
  "sb-train --resume straight.sbt --data train --epochs 3 -o x.sbt" 'not a checkpoint'

# SIGINT mid-epoch: a checkpoint of the exact position, exit 130, and a
# resumed run that ends bit-identical to an uninterrupted one.
# Training these toy sizes runs hundreds of steps a second, so the run is
# frozen (SIGSTOP) as soon as it reports step 3 of epoch 1, signalled while
# frozen, and only then continued: the interrupt lands mid-epoch whatever the
# machine's speed or load.
sb-train $RES --epochs 2 -o int.sbt 2> int.err &
pid=$!
for _ in $(seq 1 3000); do grep -q '^sb-train: epoch 1/2 step 3/' int.err 2>/dev/null && break; sleep 0.002; done
kill -STOP $pid; kill -INT $pid; kill -CONT $pid; wait $pid; rc=$?
check "SIGINT exits 130" 0 "[ $rc = 130 ]"
check "the interrupted run did not finish" 0 "[ ! -e int.epoch02.sbt ]"
check_out "SIGINT leaves a checkpoint and says how to resume" 0 'cat int.err' 'continue with --resume int.interrupted.sbt'
check "resume mid-epoch from the interrupted checkpoint" 0 \
  "sb-train --resume int.interrupted.sbt --data train --val val --epochs 2 --threads 1 -o int.sbt"
same_files "mid-epoch resume is bit-identical" straight.epoch02.sbt int.epoch02.sbt
