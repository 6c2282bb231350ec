# Every example the suite shows a user runs: the "Examples:" block of each
# tool's --help and the EXAMPLES section of each man page (and sb(7)'s
# typical session). Each runs in a scratch copy of fixtures this test builds
# itself: a tiny corpus from sb-corpus with features, tiny three-task models
# and checkpoints from sb-train, and the files the examples name (feats.sbt, val.s2i.sbt,
# model.sbt, ...). An example fails the test when it exits non-zero; one that
# cannot run here is listed below with the reason, never silently dropped.
missing=""
for t in sb-corpus sb-mfcc sb-train sb-embed sb-rank sb-rsa sb-probe sb-tensor sb-import; do
  command -v "$t" >/dev/null || missing="$missing $t"
done
if [ -n "$missing" ]; then
  skip "examples" "not built yet:$missing"
  return 0
fi
SRC=${SB_SOURCE:-$(cd "$(dirname "$script")/../.." && pwd)}

# ---- examples that cannot run here, each with its reason ---------------------
declare -A SKIP
full_train="trains at the paper's size (GRU 1024, 25 epochs): many CPU minutes; this test trains its own tiny model"
SKIP["sb-train --data data/train --val data/val -o row1.sbt"]=$full_train
SKIP["sb-train --preset row6 --data data/train --val data/val --log row6.tsv -o row6.sbt"]=$full_train
SKIP["sb-train --preset row11 --data data/flickr --st data/libri --val data/val -o row11.sbt"]=$full_train
SKIP["sb-train --tasks si,st --layers s=2,t=1,s2i=2,s2t=0,t2s=0 --hidden 256 --data d -o m.sbt"]="25 epochs at GRU 256: CPU minutes (and d is a placeholder directory)"
SKIP["sb-train --data data/train --val data/val --log row1.tsv -o row1.sbt"]=$full_train
SKIP["sb-train --preset row6 --data data/train --val data/val -o row6.sbt"]=$full_train
SKIP["sb-train --tasks si,st --layers s=2,t=1,s2i=2,s2t=0,t2s=0 --hidden 256 --epochs 10 --data data/train --val data/val -o small.sbt"]="10 epochs at GRU 256: CPU minutes"
SKIP["sb-train --data data/train --val data/val --tasks si,st,ti -o model.sbt"]=$full_train
SKIP["sb-corpus --size small --seed 7 -j 2 -o samples/data/small"]="the demo's corpus (800 images): minutes of speech synthesis; the tiny size runs"
real_corpus="needs the real corpus, downloaded (README.md, Using the real corpora); tests/cli/import.sh imports fixtures in its layout"
SKIP["sb-import flickr8k /data/flickr8k data/flickr8k"]=$real_corpus
SKIP["sb-import flickr8k --features feats.npy --feature-names images.txt /data/flickr8k data/f8k"]=$real_corpus
SKIP["sb-import flickr8k --case lower /data/flickr8k data/flickr8k"]=$real_corpus
SKIP["sb-import librispeech --case lower /data/LibriSpeech data/libri"]=$real_corpus
SKIP["sb-import librispeech --case lower /data/LibriSpeech/train-clean-100 data/libri-st"]=$real_corpus
if [ ! -d /usr/share/asterisk/sounds/en ]; then
  SKIP["sb-import asterisk /usr/share/asterisk/sounds/en data/asterisk"]="asterisk-core-sounds-en-wav is not installed"
fi
if ! sox -h 2>/dev/null | grep -qw mp3; then
  SKIP["sox in.mp3 -t wav - | sb-mfcc --key utt1 - | sb-tensor info"]="this sox has no MP3 support"
  SKIP["sox talk.mp3 -t wav - | sb-mfcc --key talk - | sb-tensor cat"]="this sox has no MP3 support"
fi
if ! command -v espeak-ng >/dev/null; then
  SKIP['espeak-ng --stdout "hello world" | sb-mfcc --key hello - > hello.sbt']="no espeak-ng program"
fi
if ! python3 -c 'import numpy' 2>/dev/null; then
  SKIP["python3 -c \"import numpy as np; z = np.load('s2i.npz'); print(len(z.files))\""]="no NumPy"
fi

# ---- the examples ------------------------------------------------------------
# Writes ex/NNN.sh, one example each, and ex/list: NNN <TAB> source <TAB> the
# example on one line (the key of SKIP). A man page's example may span lines
# (a trailing | or \, a for ... done); --help examples are one line each.
mkdir -p ex
for t in sb-mfcc sb-train sb-embed sb-rank sb-rsa sb-probe sb-tensor sb-corpus sb-import; do
  "$t" --help >"ex/$t.help" 2>&1 || echo "HELP-FAILED" >>"ex/$t.help"
done
/usr/bin/python3 - "$SRC/man" ex <<'PY'
import os, re, sys
man, out = sys.argv[1], sys.argv[2]
examples = []  # (source, text)

for f in sorted(os.listdir(out)):
    if not f.endswith(".help"):
        continue
    lines = open(os.path.join(out, f)).read().split("\n")
    if "Examples:" not in lines:
        examples.append((f[:-5] + " --help", "false # no Examples: block"))
        continue
    i = lines.index("Examples:") + 1
    while i < len(lines) and lines[i].startswith("  "):
        examples.append((f[:-5] + " --help", lines[i].strip()))
        i += 1

for f in sorted(os.listdir(man)):
    if not f.endswith(".md"):
        continue
    text = open(os.path.join(man, f)).read().split("\n")
    section, block = None, []
    heads = ("# EXAMPLES", "# A TYPICAL SESSION")
    found = False

    def flush():
        cmd = []
        for line in block:
            cmd.append(line)
            joined = "\n".join(cmd)
            opened = len(re.findall(r"^\s*(for|while)\b", joined, re.M))
            closed = len(re.findall(r"^\s*done\b", joined, re.M))
            if line.endswith("\\") or line.endswith("|") or opened > closed:
                continue
            examples.append((f[:-3], joined))
            cmd = []
        if cmd:
            examples.append((f[:-3], "\n".join(cmd)))
        block.clear()

    for line in text:
        if line.startswith("# "):
            flush()
            section = line.strip() in heads
            found = found or section
            continue
        if not section:
            continue
        if line.startswith("    "):
            block.append(line[4:])
        elif line.strip() == "":
            flush()
        else:
            flush()
    flush()
    if not found and f[:-3].split(".")[0] not in ("sbt",):
        examples.append((f[:-3], "false # no EXAMPLES section"))

with open(os.path.join(out, "list"), "w") as lst:
    for n, (src, cmd) in enumerate(examples):
        path = os.path.join(out, "%03d.sh" % n)
        open(path, "w").write(cmd + "\n")
        one = re.sub(r"\s*\\\n\s*", " ", cmd)
        one = re.sub(r"\s*\n\s*", " ", one)
        lst.write("%03d\t%s\t%s\n" % (n, src, one))
PY

# ---- fixtures ------------------------------------------------------------------
F=$T/fixtures
mkdir -p "$F"
(
  set -e
  cd "$F"
  sb-corpus --size tiny --seed 1 -j 2 -q -o data
  for s in train val test st-disjoint; do sb-mfcc -q --scp data/$s/wav.scp -o data/$s/feats.sbt; done
  ln -s train data/flickr
  ln -s st-disjoint data/libri
  sb-train --data data/train --val data/val --tasks si,st,ti --hidden 16 --epochs 1 --max-steps 2 \
    --threads 1 --seed 1 -o model.sbt 2>/dev/null
  # row6 at a tiny size, and checkpoints of the names the --resume examples
  # use (each run remembers its data and sizes, so they resume in seconds).
  sb-train --preset row6 --data data/train --val data/val --hidden 16 --epochs 2 --max-steps 2 \
    --threads 1 --seed 1 -o row6.sbt 2>/dev/null
  cp row6.epoch01.sbt row6.interrupted.sbt
  cp row6.epoch02.sbt row6.epoch25.sbt
  cp data/val/feats.sbt feats.sbt
  cp data/val/images.sbt images.sbt
  cp data/val/text text
  cp data/val/utt2img utt2img
  cp data/val/wav.scp wav.scp
  # A recording-level data directory for the --segments examples: two
  # utterances cut from each recording.
  mkdir -p data/rec
  cp wav.scp data/rec/wav.scp
  awk '{ print $1 "-a", $1, 0, 0.3; print $1 "-b", $1, 0.2, -1 }' wav.scp >data/rec/segments
  cp data/rec/segments segments
  sb-embed -q -m model.sbt -e s2i --threads 1 feats.sbt >val.s2i.sbt
  sb-embed -q -m model.sbt -e i2s --threads 1 images.sbt >val.i2s.sbt
  sb-embed -q -m model.sbt -e s2i --threads 1 --layer speech:0 --frames feats.sbt >val.speech0.sbt
  cp val.s2i.sbt q.sbt
  cp val.i2s.sbt t.sbt
  cp val.s2i.sbt emb.sbt
  sb-tensor keys feats.sbt | head -n 10 >val.list
  cp val.list val.keys
  sb-tensor to-npy --key "$(head -n 1 val.list)" -o x.npy feats.sbt
  # Audio the sb-mfcc examples name.
  set -- $(awk 'NR <= 4 { print $2 }' wav.scp)
  sox "$1" a.flac
  sox "$2" b.flac
  mkdir corpus
  sox "$3" corpus/c.flac
  cp "$4" corpus/d.wav
  cp "$1" in.wav
  sox "$1" -t raw -e signed -b 16 -L audio.pcm
  if sox -h | grep -qw mp3; then sox "$1" in.mp3; cp in.mp3 talk.mp3; fi
  # A LibriSpeech subset in its published layout (sb-import librispeech).
  mkdir -p LibriSpeech/dev-clean/19/198
  sox "$1" LibriSpeech/dev-clean/19/198/19-198-0000.flac
  sox "$2" LibriSpeech/dev-clean/19/198/19-198-0001.flac
  printf '%s\n' '19-198-0000 NORTHANGER ABBEY' '19-198-0001 THIS LITTLE WORK' > LibriSpeech/dev-clean/19/198/19-198.trans.txt
) >fixtures.log 2>&1
if [ $? != 0 ]; then
  _cli_report "fixtures" 0 "building them failed: $(tail -3 fixtures.log | tr '\n' '|')"
  return 0
fi

# ---- run ---------------------------------------------------------------------
# Each source runs its examples in order (a later one may use what an earlier
# wrote) in its own copy of the fixtures; sb-corpus's start from an empty
# directory, since they make the corpus themselves. Audio stays in the
# fixtures (the wav.scp lists name it by absolute path).
prev=""
while IFS=$'\t' read -r n src one; do
  if [ "$src" != "$prev" ]; then
    prev=$src
    G="$T/run/$(echo "$src" | tr ' ' '_')"
    mkdir -p "$G"
    case $src in
      sb-corpus*) ;;
      *) tar -C "$F" --exclude='./data/*/wav' -cf - . | tar -C "$G" -xf - ;;
    esac
  fi
  name="$src: $one"
  if [ -n "${SKIP[$one]+x}" ]; then
    skip "$name" "${SKIP[$one]}"
    continue
  fi
  # Exit 141 (SIGPIPE) is a producer that `| head` stopped listening to.
  _cli_run "cd '$G' && set -o pipefail && source '$T/ex/$n.sh'"
  rc=$?
  if [ "$rc" = 0 ] || [ "$rc" = 141 ]; then _cli_report "$name" 1
  else _cli_report "$name" 0 "exit $rc"; fi
done <ex/list

# Every tool shows examples and every page has them: a parsing slip that
# finds none must not pass as "nothing failed".
for t in sb-mfcc sb-train sb-embed sb-rank sb-rsa sb-probe sb-tensor sb-corpus sb-import; do
  count=$(awk -F'\t' -v s="$t --help" '$2 == s' ex/list | wc -l)
  if [ "$count" -ge 1 ]; then _cli_report "$t --help has examples ($count)" 1
  else _cli_report "$t --help has examples" 0 "none found"; fi
done
for page in "$SRC"/man/*.1.md; do
  p=$(basename "$page" .md)
  count=$(awk -F'\t' -v s="$p" '$2 == s' ex/list | wc -l)
  if [ "$count" -ge 1 ]; then _cli_report "$p has examples ($count)" 1
  else _cli_report "$p has examples" 0 "none found"; fi
done
