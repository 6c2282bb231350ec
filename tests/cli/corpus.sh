# sb-corpus: the tiny corpus twice (-j 2 and -j 1) is byte-identical, has the
# documented directory structure, and its alignments agree with its audio.
PY=${PYTHON:-python3}
HERE="$SB_SOURCE/tests/cli"

check_out "help to stdout" 0 'sb-corpus --help' 'Usage:'
check_err "output is required" 1 'sb-corpus --size tiny' '-o OUTDIR is required'
check_err "unknown size" 1 'sb-corpus --size huge -o x' "^sb-corpus: --size: 'huge' is not one of tiny, small, flickr8k$"
check_err "bad count" 1 'sb-corpus --train -3 -o x' '^sb-corpus: --train: -3 is out of range 0\.\.10000000$'
check_err "bad captions" 1 'sb-corpus --captions 0 -o x' '^sb-corpus: --captions: 0 is out of range 1\.\.99$'
check_err "unwritable output" 2 'sb-corpus --no-speech -o /proc/sb-corpus-test' '/proc/sb-corpus-test'

check "tiny corpus, -j 2" 0 'sb-corpus --size tiny --seed 3 -j 2 -o a'
check "tiny corpus again, -j 1" 0 'sb-corpus --size tiny --seed 3 -j 1 -q -o b'
check_err "progress on stderr" 0 'sb-corpus --size tiny --no-speech --seed 3 -o c' 'train: 40 images, 200 captions'
check "another seed" 0 'sb-corpus --size tiny --no-speech --seed 4 -o d'

# Byte-identical, file by file (wav.scp names its own directory: compared
# with the directory name taken out).
n_files=0 n_diff=0
for f in $(cd a && find . -type f | sort); do
  n_files=$((n_files + 1))
  case $f in
    */wav.scp) cmp -s <(sed "s#$T/a/##" "a/$f") <(sed "s#$T/b/##" "b/$f") || n_diff=$((n_diff + 1)) ;;
    *) cmp -s "a/$f" "b/$f" || n_diff=$((n_diff + 1)) ;;
  esac
done
[ "$n_diff" = 0 ] && [ "$n_files" -gt 400 ] && _cli_report "same seed: $n_files files identical" 1 ||
  _cli_report "same seed: identical files" 0 "$n_diff of $n_files files differ"
[ "$(cd b && find . -type f | wc -l)" = "$n_files" ] && _cli_report "same file set" 1 ||
  _cli_report "same file set" 0 "b has $(cd b && find . -type f | wc -l) files, a $n_files"
same_files "no-speech tables equal the full run's" a/train/text c/train/text
same_files "no-speech images equal the full run's" a/val/images.sbt c/val/images.sbt
cmp -s a/train/text d/train/text && _cli_report "another seed, other captions" 0 "same text" ||
  _cli_report "another seed, other captions" 1

# Structure: every split has its tables, keys agree, and counts are the preset's.
for s in train val test st-disjoint; do
  for f in wav.scp text utt2spk spk2utt ali.ctm; do
    [ -s "a/$s/$f" ] || { _cli_report "structure: $s/$f" 0 "missing or empty"; continue 2; }
  done
  keys=$(cut -d' ' -f1 "a/$s/text")
  [ "$keys" = "$(cut -d' ' -f1 "a/$s/wav.scp")" ] && [ "$keys" = "$(cut -d' ' -f1 "a/$s/utt2spk")" ] &&
    [ "$keys" = "$(cut -d' ' -f1 "a/$s/ali.ctm" | uniq)" ] && [ "$keys" = "$(printf '%s\n' "$keys" | LC_ALL=C sort)" ] &&
    _cli_report "structure: $s keys agree and are sorted" 1 || _cli_report "structure: $s keys" 0 "tables disagree"
  missing=0
  while read -r _ path; do [ -s "$path" ] || missing=$((missing + 1)); done <"a/$s/wav.scp"
  [ "$missing" = 0 ] && _cli_report "structure: $s wavs exist" 1 || _cli_report "structure: $s wavs" 0 "$missing missing"
done
for s in train val test; do
  [ -s "a/$s/utt2img" ] && [ -s "a/$s/images.sbt" ] && [ "$(cut -d' ' -f1 "a/$s/utt2img")" = "$(cut -d' ' -f1 "a/$s/text")" ] &&
    _cli_report "structure: $s has utt2img and images.sbt" 1 || _cli_report "structure: $s images" 0 "missing"
done
[ ! -e a/st-disjoint/utt2img ] && [ ! -e a/st-disjoint/images.sbt ] && _cli_report "st-disjoint has no images" 1 ||
  _cli_report "st-disjoint has no images" 0 "it has"
[ "$(wc -l <a/train/text)" = 200 ] && [ "$(wc -l <a/val/text)" = 120 ] && [ "$(wc -l <a/st-disjoint/text)" = 60 ] &&
  _cli_report "tiny sizes: 200/120/60 utterances" 1 || _cli_report "tiny sizes" 0 "$(wc -l a/*/text | tr '\n' ' ')"
[ "$(cut -d' ' -f2 a/train/utt2img | sort -u | wc -l)" = 40 ] && _cli_report "40 training images, 5 captions each" 1 ||
  _cli_report "40 training images" 0 "got $(cut -d' ' -f2 a/train/utt2img | sort -u | wc -l)"
if comm -12 <(cut -d' ' -f2 a/train/utt2spk | sort -u) <(cut -d' ' -f2 a/st-disjoint/utt2spk | sort -u) | grep -q .; then
  _cli_report "st-disjoint speakers are new" 0 "shared speakers"
else
  _cli_report "st-disjoint speakers are new" 1
fi
if command -v sb-tensor >/dev/null; then
  check_out "images.sbt: 24 vectors of 4096 f32" 0 'sb-tensor info a/val/images.sbt' '4096'
  check_out "images.sbt: 24 records" 0 'sb-tensor info a/val/images.sbt | grep -c 4096' '^24$'
else
  skip "images.sbt through sb-tensor" "sb-tensor is not built"
fi

check_err "existing output is kept" 2 'sb-corpus --size tiny --no-speech --seed 3 -o c' 'exists \(use --force'
check "--force replaces it" 0 'sb-corpus --size tiny --no-speech --seed 9 -q --force -o c'

# Alignments against the audio: tiling, inventory, quiet pauses, loud vowels.
for s in train st-disjoint; do
  check_out "alignment agrees with audio: $s" 0 "$PY $HERE/check_alignment.py a/$s" '^ok '
done
# The checker itself must reject a wrong alignment: every phone 0.3 s late.
mkdir -p bad && cp a/val/wav.scp bad/ &&
  awk '{ $3 = sprintf("%.3f", $3 + 0.3); print }' a/val/ali.ctm >bad/ali.ctm
check_err "a shifted alignment is caught" 1 "$PY $HERE/check_alignment.py bad" 'does not follow|phones end'
# ... and one whose labels are swapped: pauses called vowels, vowels pauses.
awk '$5 == "sil" { $5 = "aa"; print; next } $5 ~ /^(aa|ae|ah|ao|aw|ay|eh|er|ey|ih|iy|ow|oy|uh|uw)$/ { $5 = "sil" } { print }' \
  a/val/ali.ctm >bad/ali.ctm
check_err "swapped pause/vowel labels are caught" 1 "$PY $HERE/check_alignment.py bad" 'pauses are not quiet'
