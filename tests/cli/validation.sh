# sb-train's validation is sb-rank: on the same files, the R@1/R@5/R@10 and
# Medr that sb-train logs for an epoch are what `sb-embed | sb-rank` gives
# for that epoch's model, and files sb-rank refuses, validation refuses too.
# Helpers (check, check_out, check_err, same_files, skip) come from lib.sh.

PY=${PYTHON:-python3}
toy() {  # DIR IMAGES CAPTIONS_PER_IMAGE SEED
  mkdir -p "$1" && "$PY" "$SB_SOURCE/tests/cli/toydata.py" "$@" &&
    sb-tensor from-npy "$1/feats.npz" -o "$1/feats.sbt" && sb-tensor from-npy "$1/images.npz" -o "$1/images.sbt"
}
toy train 60 3 1 && toy val 40 1 2 || echo "FAIL  could not make the toy corpus"
# 10 images that no utterance names: retrieval distractors, as in sb-rank.
toy extra 10 1 3 && sb-tensor cat val/images.sbt extra/images.sbt > /dev/null &&
  cat val/images.sbt extra/images.sbt > val/images.all.sbt && mv val/images.all.sbt val/images.sbt ||
  echo "FAIL  could not add distractor images"
SMALL="--hidden 32 --conv-channels 16 --attn 16 --embed 16 --threads 1"
sb-train --preset row6 --data train --val val --epochs 3 --batch 8 $SMALL --log v.tsv -o v.sbt 2> v.err ||
  echo "FAIL  could not train the test model: $(tail -n 1 v.err)"

# The log's r1 r5 r10 medr for an epoch, tab-separated.
logged() {
  awk -F'\t' -v e="$1" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $1 == e { print $c["r1"] "\t" $c["r5"] "\t" $c["r10"] "\t" $c["medr"] }' v.tsv
}
# What sb-embed | sb-rank give for a model, in the same layout.
ranked() {  # MODEL [sb-embed options]
  local m=$1; shift
  sb-embed -m "$m" -e s2i "$@" val/feats.sbt > q.sbt && sb-embed -m "$m" -e i2s "$@" val/images.sbt > t.sbt &&
    sb-rank --gold val/utt2img q.sbt t.sbt |
    awk -F'\t' '{ v[$1] = $2 } END { print v["R@1"] "\t" v["R@5"] "\t" v["R@10"] "\t" v["medr"] }'
}
export -f logged ranked  # the checks run their commands in a child bash

best=$(sb-tensor cat v.sbt | grep -A 40 '^options' | sed -n 's/^epoch \([0-9]*\)$/\1/p' | head -n 1)
check "the model names its epoch" 0 "[ -n '$best' ]"
check_out "targets are every image of images.sbt, distractors included" 0 \
  'sb-embed -m v.sbt -e s2i val/feats.sbt > q.sbt && sb-embed -m v.sbt -e i2s val/images.sbt > t.sbt && sb-rank --gold val/utt2img q.sbt t.sbt' \
  '^targets	50$'
want=$(logged "$best")
check "the log has R@k for the model's epoch" 0 "[ -n '$want' ] && [ '$want' != 'nan	nan	nan	nan' ]"
check_out "validation = sb-embed | sb-rank for the model's epoch ($best)" 0 "ranked v.sbt" "^$(printf '%s' "$want" | sed 's/\./\\./g')\$"
check_out "... with any sb-embed batch size" 0 "ranked v.sbt --batch 1" "^$(printf '%s' "$want" | sed 's/\./\\./g')\$"
for e in 1 2 3; do
  w=$(logged "$e")
  check_out "epoch $e: the checkpoint ranks as logged ($w)" 0 "ranked v.epoch0$e.sbt" \
    "^$(printf '%s' "$w" | sed 's/\./\\./g')\$"
done
# The epochs' values differ at least once, so the checks above tell epochs apart.
check "the epochs' retrieval differs" 0 "[ \$(for e in 1 2 3; do logged \$e; done | sort -u | wc -l) -gt 1 ]"

# Files sb-rank refuses, validation refuses alike.
mkdir -p nogold && cp val/feats.sbt val/utt2img nogold/
sb-tensor keys val/images.sbt | grep -vx img2003 > keep.txt
sb-tensor select -k keep.txt val/images.sbt > nogold/images.sbt
check_err "sb-rank: a gold image missing from the images" 2 \
  'sb-embed -m v.sbt -e s2i nogold/feats.sbt > q2.sbt && sb-embed -m v.sbt -e i2s nogold/images.sbt > t2.sbt && sb-rank --gold nogold/utt2img q2.sbt t2.sbt' \
  "gold image 'img2003' of 'utt2003_0' is not in"
check_err "validation: the same refusal" 2 \
  "sb-train --preset row1 --data train --val nogold --epochs 1 $SMALL -o ng.sbt" \
  "nogold/utt2img: line [0-9]+: gold image 'img2003' of 'utt2003_0' is not in nogold/images.sbt"
check "... before the first epoch is trained" 0 \
  "! sb-train --preset row1 --data train --val nogold --epochs 1 $SMALL -o ng.sbt 2>&1 | grep -q 'step'"
mkdir -p noentry && cp val/feats.sbt val/images.sbt noentry/ && grep -v '^utt2005_0 ' val/utt2img > noentry/utt2img
check_err "sb-rank: an utterance without an utt2img entry" 2 \
  'sb-embed -m v.sbt -e s2i noentry/feats.sbt > q3.sbt && sb-embed -m v.sbt -e i2s noentry/images.sbt > t3.sbt && sb-rank --gold noentry/utt2img q3.sbt t3.sbt' \
  "\\(utt2005_0\\): no entry in noentry/utt2img"
check_err "validation: the same refusal" 2 \
  "sb-train --preset row1 --data train --val noentry --epochs 1 $SMALL -o ne.sbt" \
  "noentry/feats.sbt: record [0-9]+ \\(utt2005_0\\): no entry in noentry/utt2img"
