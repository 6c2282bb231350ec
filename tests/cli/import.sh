# sb-import: tiny corpora in the exact published layouts, made here (WAVs and
# FLACs with sox, the json and lists by hand, the .mat and .npy features by
# tests/helpers/make_features), imported, and the data directories checked
# line by line; every anomaly's report and its documented skip or error; the
# one character inventory of a model trained on two imported corpora.
MF="$SB_TEST_HELPERS/make_features"

# The exact lines of FILE against the rest of the arguments.
lines_are() {  # name file line...
  local name=$1 file=$2; shift 2
  if [ -f "$file" ] && diff <(printf '%s\n' "$@") "$file" >"$T/.diff" 2>&1; then
    _cli_report "$name" 1
  else
    _cli_report "$name" 0 "$file: $(head -c 400 "$T/.diff" 2>/dev/null | tr '\n' '|')"
  fi
}
tone() { sox -n -q -r 16000 -b 16 -c 1 "$1" synth "${2:-0.3}" sine 440; }

check_out "help to stdout" 0 'sb-import --help' 'sb-import flickr8k'
check_out "subcommand help" 0 'sb-import flickr8k --help' 'restval'
check_err "no subcommand" 1 'sb-import' 'Usage'
check_err "unknown corpus" 1 'sb-import coco a b' "^sb-import: unknown corpus 'coco'"
check_err "two arguments" 1 'sb-import flickr8k a' 'takes ROOT and OUTDIR'
check_err "bad case" 1 'sb-import flickr8k --case title a b' "--case: 'title' is not one of keep, lower, upper"

# ---- Flickr8K: images A (train), B (val), C (test), D (restval) ---------------
R=f8k
mkdir -p $R/flickr_audio/wavs
for w in A_0 A_1 B_0 B_1 C_0 D_0; do tone $R/flickr_audio/wavs/$w.wav; done
cat > $R/flickr_audio/wav2capt.txt <<'EOF'
A_0.wav A.jpg #0
A_1.wav A.jpg #1
B_0.wav B.jpg #0
B_1.wav B.jpg #1
C_0.wav C.jpg #1
D_0.wav D.jpg #0
EOF
cat > $R/flickr_audio/wav2spk.txt <<'EOF'
A_0.wav 7
A_1.wav 12
B_0.wav 7
B_1.wav 12
C_0.wav 7
D_0.wav 12
EOF
cat > $R/dataset_flickr8k.json <<'EOF'
{"images": [
 {"filename": "A.jpg", "split": "train", "imgid": 0, "sentences": [
   {"raw": "A dog runs .", "tokens": ["a", "dog", "runs"]}, {"raw": "The Dog is running", "tokens": []}]},
 {"filename": "B.jpg", "split": "val", "imgid": 1, "sentences": [
   {"raw": "Two girls\tsmile", "tokens": []}, {"raw": "Ünïcode Café", "tokens": []}]},
 {"filename": "C.jpg", "split": "test", "imgid": 2, "sentences": [
   {"raw": "unused", "tokens": []}, {"raw": "A red car .", "tokens": []}]},
 {"filename": "D.jpg", "split": "restval", "imgid": 3, "sentences": [
   {"raw": "Rest of the val set", "tokens": []}]}
], "dataset": "flickr8k"}
EOF
W=$T/$R/flickr_audio/wavs
# Without libmatio the .mat path must say so, and the same features come
# from a .npy in the json's order (make_features writes equal values).
FEAT=""
if "$MF" mat5 $R/vgg_feats.mat 3 4 2>/dev/null; then
  _cli_report "vgg_feats.mat (v5), 3 x 4" 1
else
  check_err "no libmatio: the .mat path says so" 2 "sb-import flickr8k $R out" 'without libmatio'
  "$MF" npy json-order.npy 3 4; printf '%s\n' A.jpg B.jpg C.jpg D.jpg > json-order.txt
  FEAT="--features json-order.npy --feature-names json-order.txt"
fi
check_err "flickr8k from vgg_feats.mat" 0 "sb-import flickr8k $FEAT f8k out" \
  '^sb-import: flickr8k: train 3 utterances, 2 images; val 2 utterances, 1 images; test 1 utterances, 1 images; 0 items skipped$'
lines_are "train/wav.scp" out/train/wav.scp "A_0 $W/A_0.wav" "A_1 $W/A_1.wav" "D_0 $W/D_0.wav"
lines_are "train/text (the raw sentence #n)" out/train/text "A_0 A dog runs ." "A_1 The Dog is running" \
  "D_0 Rest of the val set"
lines_are "train/utt2spk" out/train/utt2spk "A_0 7" "A_1 12" "D_0 12"
lines_are "train/utt2img (restval goes to train)" out/train/utt2img "A_0 A" "A_1 A" "D_0 D"
lines_are "val/text (a tab becomes a space)" out/val/text "B_0 Two girls smile" "B_1 Ünïcode Café"
lines_are "val/wav.scp" out/val/wav.scp "B_0 $W/B_0.wav" "B_1 $W/B_1.wav"
lines_are "test/text (#1, not #0)" out/test/text "C_0 A red car ."
lines_are "test/utt2img" out/test/utt2img "C_0 C"
# Column i of 'feats' is the json's image i: A = column 0, D = column 3.
check_out "train/images.sbt values" 0 'sb-tensor cat out/train/images.sbt | tr -s " \n" " "' \
  '^A f32 3 1 1\.125 1\.25 D f32 3 4 4\.125 4\.25 $'
check_out "val/images.sbt values" 0 'sb-tensor cat out/val/images.sbt | tr -s " \n" " "' '^B f32 3 2 2\.125 2\.25 $'
check_out "val/utt-images.sbt: each utterance's image" 0 'sb-tensor cat out/val/utt-images.sbt | tr -s " \n" " "' \
  '^B_0 f32 3 2 2\.125 2\.25 B_1 f32 3 2 2\.125 2\.25 $'
check_out "no utt-images.sbt in train" 0 'ls out/train | tr "\n" " "' '^images\.sbt text utt2img utt2spk wav\.scp $'

check_err "an existing data directory is kept" 1 "sb-import flickr8k $FEAT f8k out" 'already holds a data directory.*--force'
check "--force replaces it" 0 "sb-import flickr8k $FEAT --force -q --case lower f8k out"
lines_are "--case lower (Unicode too)" out/val/text "B_0 two girls smile" "B_1 ünïcode café"
check "--case upper" 0 "sb-import flickr8k $FEAT -q --case upper f8k up"
lines_are "--case upper text" up/train/text "A_0 A DOG RUNS ." "A_1 THE DOG IS RUNNING" "D_0 REST OF THE VAL SET"
check_err "--restval skip" 0 "sb-import flickr8k $FEAT --restval skip f8k rs" \
  '1 captions of restval images \(--restval skip\) \(skipped; first in .*wav2capt.txt: line 6\): D_0\.wav'
lines_are "--restval skip: no D" rs/train/utt2img "A_0 A" "A_1 A"

if [ -z "$FEAT" ] && "$MF" mat73 $R/v73.mat 3 4 2>/dev/null; then
  check "v7.3 (HDF5) .mat" 0 "sb-import flickr8k -q --mat $R/v73.mat f8k o73"
  same_files "v7.3 gives the same images" out/train/images.sbt o73/train/images.sbt
else
  skip "v7.3 (HDF5) .mat" "libmatio without HDF5"
fi

# --features .npy with a name list in another order than the json.
check "features .npy, 4 x 3" 0 "$MF npy feats.npy 3 4"
printf '%s\n' D.jpg C.jpg B.jpg A.jpg > names.txt
check "flickr8k from --features" 0 'sb-import flickr8k -q --features feats.npy --feature-names names.txt f8k np'
check_out "row i = the image on line i of LIST" 0 'sb-tensor cat np/train/images.sbt | tr -s " \n" " "' \
  '^A f32 3 4 4\.125 4\.25 D f32 3 1 1\.125 1\.25 $'
same_files "--features: same text" out/val/wav.scp np/val/wav.scp

# Structural problems are errors (exit 2) naming the file and line; nothing is written.
check_err "--features without --feature-names" 1 'sb-import flickr8k --features feats.npy f8k e1' 'needs --feature-names'
printf '%s\n' D.jpg C.jpg B.jpg > short.txt
check_err "names and rows disagree" 2 'sb-import flickr8k --features feats.npy --feature-names short.txt f8k e2' \
  'short.txt: 3 names for the 4 rows of feats.npy'
printf '%s\n' D.jpg C.jpg B.jpg D.jpg > twice.txt
check_err "a feature name twice" 2 'sb-import flickr8k --features feats.npy --feature-names twice.txt f8k e3' \
  "twice.txt: line 4: image 'D' listed twice"
if [ -z "$FEAT" ]; then
  check "a .mat of 3 images" 0 "$MF mat5 three.mat 3 3"
  check_err ".mat columns != json images" 2 'sb-import flickr8k --mat three.mat f8k e4' \
    "three.mat: variable 'feats' is 3 x 3, but .*dataset_flickr8k.json lists 4 images"
  check_err "no vgg_feats.mat" 2 'mkdir -p nomat/flickr_audio/wavs && cp f8k/flickr_audio/*.txt nomat/flickr_audio && cp f8k/*.json nomat && sb-import flickr8k nomat e5' \
    'nomat/vgg_feats.mat: cannot open'
else
  skip ".mat errors" "built without libmatio"
fi
cp -r f8k bad
echo 'A_0.wav A.jpg' >> bad/flickr_audio/wav2capt.txt
check_err "a wav2capt line that does not parse" 2 "sb-import flickr8k $FEAT bad e6" \
  "^sb-import: $T/bad/flickr_audio/wav2capt.txt: line 7: expected '<wav> <image>.jpg #<n>'$"
check_out "a failed import writes nothing" 0 'find e1 e2 e3 e4 e5 e6 -type f 2>/dev/null | wc -l' '^0$'
cp f8k/flickr_audio/wav2capt.txt bad/flickr_audio/wav2capt.txt
echo '{"images": [ {"filename": "A.jpg",' > bad/dataset_flickr8k.json
check_err "broken json" 2 "sb-import flickr8k $FEAT bad e7" 'bad/dataset_flickr8k.json: not valid JSON'

# ---- every item anomaly: reported by name, skipped; --strict: an error -----
cp -r f8k an
for w in E_0 G_0 G_1 G_2 G_3 G_4 G_5 G_6 H_0 Y_0; do tone an/flickr_audio/wavs/$w.wav; done
cat >> an/flickr_audio/wav2capt.txt <<'EOF'
E_0.wav A.jpg #0
E_0.wav B.jpg #0
F_0.wav A.jpg #0
H_0.wav H.jpg #0
Y_0.wav Y.jpg #0
EOF
sed -i '/^A_1.wav/d' an/flickr_audio/wav2spk.txt
printf '%s\n' 'E_0.wav 7' 'H_0.wav 7' 'Y_0.wav 7' >> an/flickr_audio/wav2spk.txt
# H has no split; Y has features in the .npy but not in the json... and B's
# sentence #1 is empty.
sed -i 's/"Ünïcode Café"/"  "/; s/^], "dataset"/, {"filename": "H.jpg", "sentences": [{"raw": "no split"}]}\n], "dataset"/' \
  an/dataset_flickr8k.json
"$MF" npy an5.npy 3 5
printf '%s\n' A.jpg B.jpg C.jpg H.jpg Z.jpg > an-names.txt   # no D; Z is not in the json
check "anomalies: exit 0, items skipped" 0 'sb-import flickr8k --features an5.npy --feature-names an-names.txt an ao 2> an.err'
check_out "wav listed twice" 0 'cat an.err' \
  '1 wavs listed more than once \(all their lines skipped\) \(skipped; first in .*an/flickr_audio/wav2capt.txt: line 7\): E_0\.wav$'
check_out "caption without audio" 0 'cat an.err' '1 captions without audio in flickr_audio/wavs \(skipped; .*line 9\): F_0\.wav$'
check_out "image without a split" 0 'cat an.err' \
  '1 captions of images without a split \(train/val/test/restval\) \(skipped; .*line 10 \(image H: no split\)\): H_0\.wav$'
check_out "image not in the json" 0 'cat an.err' '1 captions of images not in dataset_flickr8k.json \(skipped; .*line 11\): Y_0\.wav$'
check_out "image without features" 0 'cat an.err' \
  '1 captions of images without features \(skipped; .*line 6 \(image D\)\): D_0\.wav$'
check_out "features without an image" 0 'cat an.err' \
  '1 feature rows for images not in dataset_flickr8k.json \(not used; first in an-names.txt: line 5\): Z$'
check_out "speaker missing" 0 'cat an.err' '1 captions without a speaker in wav2spk.txt \(skipped; .*line 2\): A_1\.wav$'
check_out "empty transcript" 0 'cat an.err' '1 captions with an empty transcript \(skipped; .*line 4\): B_1\.wav$'
check_out "audio without caption: first five, then 'and N more'" 0 'cat an.err' \
  '7 wavs without a caption in wav2capt.txt \(not imported; .*\): G_0\.wav, G_1\.wav, G_2\.wav, G_3\.wav, G_4\.wav and 2 more$'
check_out "images nobody spoke about" 0 'cat an.err' '2 images without a spoken caption \(not written; .*\): D, H$'
check_out "summary counts every skip" 0 'cat an.err' \
  'flickr8k: train 1 utterances, 1 images; val 1 utterances, 1 images; test 1 utterances, 1 images; 17 items skipped$'
lines_are "only the good utterances" ao/train/wav.scp "A_0 $T/an/flickr_audio/wavs/A_0.wav"
check_err "--strict: the first skip is an error" 2 \
  'sb-import flickr8k --strict --features an5.npy --feature-names an-names.txt an as' \
  '^sb-import: an-names.txt: line 5: feature rows for images not in dataset_flickr8k.json: Z \(--strict makes every skip an error\)$'
check_out "--strict failure writes nothing" 0 'find as -type f 2>/dev/null | wc -l' '^0$'
check_err "a split left empty is an error" 2 \
  'sb-import flickr8k --features an5.npy --feature-names <(printf "%s\n" A.jpg C.jpg D.jpg H.jpg Z.jpg) an ae' \
  'no utterance left for the val split'

# ---- LibriSpeech ------------------------------------------------------------------
L=libri/LibriSpeech/dev-clean
mkdir -p $L/19/198 $L/26/495
for u in 19-198-0000 19-198-0001 19-198-0002; do sox -n -q -r 16000 -b 16 -c 1 $L/19/198/$u.flac synth 0.3 sine 300; done
for u in 26-495-0000 26-495-0001; do sox -n -q -r 16000 -b 16 -c 1 $L/26/495/$u.flac synth 0.3 sine 500; done
printf '%s\n' '19-198-0000 NORTHANGER ABBEY' '19-198-0001 THIS LITTLE WORK' '19-198-0002 IT WAS' > $L/19/198/19-198.trans.txt
printf '%s\n' "26-495-0000 THE DOG'S BONE" '26-495-0001 HELLO' > $L/26/495/26-495.trans.txt
check_err "librispeech" 0 'sb-import librispeech --heldout 2 --seed 3 libri lo' \
  '^sb-import: librispeech: train 3 utterances; heldout 2 utterances; 0 items skipped$'
check_out "train + heldout = every utterance once" 0 'cat lo/train/wav.scp lo/heldout/wav.scp | cut -d" " -f1 | sort | tr "\n" " "' \
  '^19-198-0000 19-198-0001 19-198-0002 26-495-0000 26-495-0001 $'
check "the same seed, the same held-out set" 0 'sb-import librispeech -q --heldout 2 --seed 3 libri lo2'
same_files "held-out draw is reproducible" lo/heldout/text lo2/heldout/text
check_out "another seed draws again" 0 'for s in 1 2 4 5 6 7; do sb-import librispeech -q --heldout 2 --seed $s libri ls$s; cut -d" " -f1 ls$s/heldout/text | tr "\n" ,; echo; done | sort -u | wc -l' '^[2-9]$'
check "--case lower" 0 'sb-import librispeech -q --case lower --heldout 1 libri ll'
check_out "librispeech text (lower case)" 0 'cat ll/train/text ll/heldout/text | sort | tr "\n" "|"' \
  "^19-198-0000 northanger abbey\|19-198-0001 this little work\|19-198-0002 it was\|26-495-0000 the dog's bone\|26-495-0001 hello\|$"
check_out "utt2spk is the id's speaker" 0 'cat ll/train/utt2spk ll/heldout/utt2spk | sort | tr "\n" "|"' \
  '^19-198-0000 19\|19-198-0001 19\|19-198-0002 19\|26-495-0000 26\|26-495-0001 26\|$'
check_out "wav.scp names the flac" 0 'cat ll/*/wav.scp | sort | head -1' "^19-198-0000 $T/$L/19/198/19-198-0000.flac$"
check_err "heldout of everything" 2 'sb-import librispeech --heldout 5 libri lx' '5 utterances: cannot hold out 5'
check_out "--heldout 0: no heldout/" 0 'sb-import librispeech -q --heldout 0 libri l0 && ls l0' '^train$'
cp -r libri lan
sox -n -q -r 16000 -b 16 -c 1 lan/LibriSpeech/dev-clean/26/495/26-495-0009.flac synth 0.3 sine 500
printf '%s\n' '26-495-0000 THE DOG' '26-495-0001 HELLO' '26-495-0002 NO AUDIO' '26-495-0001 HELLO' '26-495-0003' \
  > lan/LibriSpeech/dev-clean/26/495/26-495.trans.txt
sox -n -q -r 16000 -b 16 -c 1 lan/LibriSpeech/dev-clean/26/495/26-495-0003.flac synth 0.3 sine 500
check "librispeech anomalies" 0 'sb-import librispeech --heldout 1 lan lao 2> lan.err'
check_out "utterance listed twice" 0 'cat lan.err' '1 utterances listed more than once .*26-495.trans.txt: line 2\): 26-495-0001$'
check_out "transcript without audio" 0 'cat lan.err' '1 transcripts without audio .*line 3\): 26-495-0002$'
check_out "empty transcript" 0 'cat lan.err' '1 utterances with an empty transcript .*line 5\): 26-495-0003$'
check_out "audio without transcript" 0 'cat lan.err' '1 audio files without a transcript \(not imported; .*\): 26-495-0009$'
check_err "librispeech --strict" 2 'sb-import librispeech --strict lan las' \
  "^sb-import: $T/lan/LibriSpeech/dev-clean/26/495/26-495.trans.txt: line 2: utterances listed more than once"
printf '%s\n' '19-198-0000 X' > lan/LibriSpeech/dev-clean/26/495/26-495.trans.txt
check_err "a line of another chapter" 2 'sb-import librispeech lan lay' \
  "26-495.trans.txt: line 1: utterance '19-198-0000' is not of 26-495-<n>"

# ---- asterisk prompts ---------------------------------------------------------------
A=ast
mkdir -p $A/digits
for p in activated beep digits/1 digits/2 vm-INBOX extra; do
  sox -n -q -r 8000 -b 16 -c 1 $A/$p.wav synth 0.3 sine 600
done
cat > $A/core-sounds-en.txt <<'EOF'
; Core Asterisk Sounds in English

activated: Activated.
beep: [this is a simple beep tone]
digits/1: one
digits/2: two
vm-INBOX: new
missing: Not recorded.
EOF
check_err "asterisk" 0 'sb-import asterisk --heldout 1 --seed 2 ast ao8 2> ast.err; cat ast.err >&2' \
  'asterisk: train 3 utterances; heldout 1 utterances; 3 items skipped$'
check_out "a '[...]' prompt is not speech" 0 'cat ast.err' "1 prompts that are not speech \('\[\.\.\.\]' descriptions\) .*line 4\): beep$"
check_out "asterisk: transcript without audio" 0 'cat ast.err' '1 transcripts without audio .*line 8\): missing$'
check_out "asterisk: audio without transcript" 0 'cat ast.err' '1 audio files without a transcript .*: extra$'
check_out "asterisk keys and texts" 0 'cat ao8/train/text ao8/heldout/text | sort | tr "\n" "|"' \
  '^activated Activated\.\|digits-1 one\|digits-2 two\|vm-INBOX new\|$'
check_out "one speaker" 0 'cat ao8/*/utt2spk | cut -d" " -f2 | sort -u' '^allison$'
gzip -c $A/core-sounds-en.txt > sounds.txt.gz
check "transcripts from a .gz (Debian ships it so)" 0 'sb-import asterisk -q --heldout 1 --seed 2 --transcripts sounds.txt.gz ast agz'
same_files "the .gz gives the same text" ao8/train/text agz/train/text

# ---- one character inventory across the two corpora --------------------------------
# A model trained on flickr8k (si, ti) and librispeech (st) data has one id per
# character: its vocabulary is the sorted union of both corpora's characters,
# each once; with --case lower the upper-case LibriSpeech letters fold onto
# Flickr8K's lower-case ones instead of becoming characters of their own.
for c in keep lower; do
  sb-import flickr8k $FEAT -q --case $c f8k inv-$c-f >/dev/null 2>&1
  sb-import librispeech -q --case $c --heldout 1 libri inv-$c-l >/dev/null 2>&1
  for d in inv-$c-f/train inv-$c-f/val inv-$c-l/train; do sb-mfcc -q --scp $d/wav.scp -o $d/feats.sbt 2>/dev/null; done
  check "train si,st,ti on both corpora (--case $c)" 0 \
    "sb-train --tasks si,st,ti --layers s=1,t=1,s2i=0,s2t=0,t2s=0,t2i=0 --hidden 8 --conv-channels 4 --embed 4 --attn 4 \
       --batch 2 --epochs 1 --threads 1 --data inv-$c-f/train --st inv-$c-l/train --val inv-$c-f/val -o inv-$c.sbt"
  # The characters of both corpora's training text, as the model's options
  # record lists them: code points in hex, sorted, each once.
  want=$(cat inv-$c-f/train/text inv-$c-l/train/text | cut -d' ' -f2- | tr -d '\n' |
         iconv -f utf-8 -t utf-32le | od -An -v -tx4 | tr -s ' ' '\n' | sed '/^$/d; s/^0*//' | sort -u -k1,1 |
         while read -r h; do printf '%d %s\n' "0x$h" "$h"; done | sort -n | cut -d' ' -f2 | tr '\n' ' ')
  check_out "one id per character, both corpora (--case $c)" 0 \
    "sb-tensor cat inv-$c.sbt 2>/dev/null | grep -a -o '^vocab .*' | head -1 | sed 's/\$/ /'" "^vocab $want\$"
done
check_out "keep: 'A' and 'a' are two characters" 0 "sb-tensor cat inv-keep.sbt | grep -a -o '^vocab .*'" '^vocab( [0-9a-f]+)* 41( [0-9a-f]+)* 61( |$)'
check_out "lower: no upper-case letter left" 0 \
  "v=\$(sb-tensor cat inv-lower.sbt | grep -a -o '^vocab .*'); [ -n \"\$v\" ] && echo \"\$v\" | tr ' ' '\\n' | grep -cx '4[1-9a-f]\\|5[0-9a]' || :" '^0$'
