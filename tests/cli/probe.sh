# sb-probe: separable and inseparable data through the tool, phone segments
# from a CTM, agreement with scikit-learn (when importable), error paths.
# shellcheck source=eval_data.sh
source "$SB_SOURCE/tests/cli/eval_data.sh"

# Three speakers far apart in 4-d (separable); labels drawn at random (not).
perl -e 'srand(5); open(my $f, ">", "sep.txt"); open(my $l, ">", "utt2spk"); open(my $r, ">", "utt2rand");
  for my $i (0..59) { my $s = $i % 3; my @x = map { ($_ == $s ? 4 : 0) + rand() - 0.5 } 0..3;
    printf $f "u%02d @x\n", $i; printf $l "u%02d spk%d\n", $i, $s; printf $r "u%02d r%d\n", $i, int(rand(3)); }'
txt2sbt sep.sbt <sep.txt
check_out "separable: accuracy 1" 0 'sb-probe --labels utt2spk sep.sbt | tee sep.out' '^accuracy	1$'
check_out "items" 0 'cat sep.out' '^items	60$'
check_out "classes" 0 'cat sep.out' '^classes	3$'
check_out "75/25 split" 0 'cat sep.out' '^train	45$'
check_out "test part" 0 'cat sep.out' '^test	15$'
check_out "majority baseline" 0 'cat sep.out' '^majority	0\.[0-9]+$'
check_out "inseparable: near chance" 0 'sb-probe --labels utt2rand -C 1 sep.sbt' '^accuracy	0\.[0-5]'
check_out "cross-validation" 0 'sb-probe --labels utt2spk --folds 5 sep.sbt | tee cv.out' '^folds	5$'
check_out "cross-validation accuracy" 0 'cat cv.out' '^accuracy	1$'
check_out "stdin" 0 'sb-probe --labels utt2spk < sep.sbt' '^accuracy	1$'
check "same seed, same result" 0 \
  '[ "$(sb-probe --labels utt2rand --seed 3 sep.sbt)" = "$(sb-probe --labels utt2rand --seed 3 --threads 1 sep.sbt)" ]'

# Phones: frames at 10 ms; phone x has feature 1 high, phone y feature 2.
# u1: x [0, 0.03), y [0.03, 0.05), an empty z at 0.05; u2 like u1 shifted.
cat >ali.ctm <<'END'
;; utt chan start dur phone
u1 1 0.00 0.03 x
u1 1 0.03 0.02 y
u1 1 0.05 0.00 z
u2 1 0.00 0.02 y
u2 1 0.02 0.03 x
u9 1 0.00 0.02 x
END
txt2sbt act.sbt <<'END'
u1 5x2: 1 0 1 0.1 0.9 0 0 1 0.1 1
u2 5x2: 0 1 0 0.9 1 0 1 0.1 0.9 0
u3 2x2: 1 1 1 1
END
check_out "phones: segments counted" 0 'sb-probe --ctm ali.ctm --frames --test-fraction 0.5 act.sbt 2>err | tee ph.out' '^segments	6$'
check_out "phones: no frame counted" 0 'cat ph.out' '^no_frame	1$'
check_out "phones: unfed utterance counted" 0 'cat ph.out' '^no_activations	1$'
check_out "phones: items are the averaged segments" 0 'cat ph.out' '^items	4$'
check_out "phones: decoded" 0 'cat ph.out' '^accuracy	1$'
check_out "phones: warning on stderr" 0 'cat err' 'warning: 1 phone segments cover no frame'
check_out "phones: the warning names the segment" 0 'cat err' 'cover no frame; skipped \(line [0-9]+: u1 .z. 0\.05 s \+ 0 s\)'
check_out "phones: unaligned utterance reported" 0 'cat err' '1 utterances of act.sbt have no alignment'
check_out "split by utterance" 0 'sb-probe --ctm ali.ctm --split-by utterance --test-fraction 0.5 act.sbt 2>/dev/null' \
  '^split	by utterance$'
check_out "split by utterance: u1 trains, u2 tests" 0 \
  'sb-probe --ctm ali.ctm --split-by utterance --test-fraction 0.5 act.sbt 2>/dev/null' '^test	2$'
check_out "frame map changes the segments" 0 \
  'sb-probe --ctm ali.ctm --frame-map 6,2,6 --test-fraction 0.5 act.sbt 2>/dev/null' '^no_frame	[1-9]'

# -m MODEL: the conv settings come from the model's options record.
text2sbt model.sbt options "$(printf 'hidden 64\nconv_kernel 6\nconv_stride 2\nconv_padding 6\n')"
check "-m equals --frame-map with the model's values" 0 \
  '[ "$(sb-probe -q --ctm ali.ctm -m model.sbt --test-fraction 0.5 act.sbt 2>&1)" = "$(sb-probe -q --ctm ali.ctm --frame-map 6,2,6 --test-fraction 0.5 act.sbt 2>&1)" ]'
check_out "-m is not the identity map" 0 'sb-probe --ctm ali.ctm -m model.sbt --test-fraction 0.5 act.sbt 2>/dev/null' \
  '^no_frame	[1-9]'
text2sbt nokernel.sbt options "$(printf 'conv_stride 2\nconv_padding 6\n')"
check_err "-m: options without conv_kernel" 2 'sb-probe --ctm ali.ctm -m nokernel.sbt act.sbt' \
  'nokernel.sbt: the options record lacks conv_kernel'
check_err "-m: not a model" 2 'sb-probe --ctm ali.ctm -m act.sbt act.sbt' "act.sbt: no 'options' record"
check_err "-m with --frame-map" 1 'sb-probe --ctm ali.ctm -m model.sbt --frame-map 1,1,0 act.sbt' 'not both'

# Agreement with scikit-learn on the same features and split.
if /usr/bin/python3 -c 'import sklearn, numpy' 2>/dev/null; then
  /usr/bin/python3 - <<'PY'
import numpy as np
rs = np.random.RandomState(1)
n, d, k = 400, 12, 6
centres = rs.normal(size=(k, d))
y = rs.randint(0, k, size=n)
x = (centres[y] + 1.3 * rs.normal(size=(n, d))).astype(np.float32)
np.savez("spk.npz", **{"u%03d" % i: x[i] for i in range(n)})
with open("spk.lab", "w") as f:
    for i in range(n):
        f.write("u%03d s%d\n" % (i, y[i]))
# Phones: 60 utterances of random phone strings, frames at 10 ms.
T = {}
with open("sk.ctm", "w") as f:
    for u in range(60):
        t, frames = 0, []
        for p in rs.randint(0, 5, size=8):
            dur = rs.randint(2, 9)
            f.write("v%02d 1 %.2f %.2f p%d\n" % (u, t / 100, dur / 100, p))
            frames += [centres[p] + 2.0 * rs.normal(size=d) for _ in range(dur)]
            t += dur
        T["v%02d" % u] = np.array(frames, dtype=np.float32)
np.savez("frames.npz", **T)
PY
  sb-tensor from-npy spk.npz >spk.sbt && sb-tensor from-npy frames.npz >frames.sbt
  sb-tensor keys spk.sbt >spk.keys
  sb-probe --labels spk.lab spk.sbt >spk.out
  sb-probe --ctm sk.ctm --frames frames.sbt >ph.out 2>/dev/null
  /usr/bin/python3 - <<'PY' >sk.out
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
z = np.load("spk.npz")
keys = open("spk.keys").read().split()          # archive order
lab = dict(l.split() for l in open("spk.lab"))
X = np.array([z[k] for k in keys], dtype=np.float64)
y = np.array([lab[k] for k in keys])
a, b, ya, yb = train_test_split(X, y, test_size=0.25, random_state=42)
print("speaker", LogisticRegression(C=100, solver="liblinear").fit(a, ya).score(b, yb))
fr = np.load("frames.npz")
X, y = [], []
for line in open("sk.ctm"):
    u, _, s, d, p = line.split()
    b0, e0 = round(float(s) * 100), round((float(s) + float(d)) * 100)
    X.append(fr[u][b0:e0].astype(np.float64).mean(axis=0)); y.append(p)
a, b, ya, yb = train_test_split(np.array(X), np.array(y), test_size=0.5, random_state=42)
sc = StandardScaler().fit(a)
print("phone", LogisticRegression(C=1, solver="liblinear").fit(sc.transform(a), ya).score(sc.transform(b), yb))
PY
  close() {  # name ours theirs
    if awk -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.01 && a != "") }'; then
      _cli_report "$1 (sb $2, sklearn $3)" 1
    else
      _cli_report "$1" 0 "sb $2, sklearn $3"
    fi
  }
  close "speaker probe agrees with scikit-learn" "$(awk '$1 == "accuracy" { print $2 }' spk.out)" \
    "$(awk '$1 == "speaker" { print $2 }' sk.out)"
  close "phone probe agrees with scikit-learn" "$(awk '$1 == "accuracy" { print $2 }' ph.out)" \
    "$(awk '$1 == "phone" { print $2 }' sk.out)"
else
  skip "agreement with scikit-learn" "/usr/bin/python3 cannot import sklearn and numpy"
fi

# Errors.
head -n 59 utt2spk >short
check_err "utterance without label" 2 'sb-probe --labels short sep.sbt' 'sep.sbt: record 60 \(u59\): no label in short'
printf 'u1 1 0.00 x\n' >bad1.ctm
check_err "CTM: too few fields" 2 'sb-probe --ctm bad1.ctm act.sbt' 'bad1.ctm: line 1: expected'
printf 'u1 1 0.00 0.01 x\nu1 1 0.01 -1 y\n' >bad2.ctm
check_err "CTM: negative duration" 2 'sb-probe --ctm bad2.ctm act.sbt' "bad2.ctm: line 2: bad duration '-1'"
printf 'w1 1 0.00 0.01 x\n' >none.ctm
check_err "no aligned utterance" 2 'sb-probe --ctm none.ctm act.sbt' 'no utterance of act.sbt is aligned in none.ctm'
check_err "vectors given to --ctm" 2 'sb-probe --ctm ali.ctm sep.sbt' 'sep.sbt: record 1 \(u00\): expected a T x D matrix'
check_err "missing CTM" 2 'sb-probe --ctm nosuch.ctm act.sbt' 'nosuch.ctm'
check_err "missing archive" 2 'sb-probe --labels utt2spk nosuch.sbt' 'nosuch.sbt'
check_err "both modes" 1 'sb-probe --labels utt2spk --ctm ali.ctm sep.sbt' 'exactly one of --labels and --ctm'
check_err "no mode" 1 'sb-probe sep.sbt' 'exactly one of --labels and --ctm'
check_err "--frames without --ctm" 1 'sb-probe --labels utt2spk --frames sep.sbt' '--frames goes with --ctm'
check_err "bad frame map" 1 'sb-probe --ctm ali.ctm --frame-map 6,2 act.sbt' 'KERNEL,STRIDE,PADDING'
check_err "frame map with labels" 1 'sb-probe --labels utt2spk --frame-map 6,2,6 sep.sbt' 'go with --ctm'
check_err "split by utterance with labels" 1 'sb-probe --labels utt2spk --split-by utterance sep.sbt' 'go with --ctm'
check_err "bad --split-by" 1 'sb-probe --ctm ali.ctm --split-by phone act.sbt' "^sb-probe: --split-by: 'phone' is not one of segment, utterance$"
check_err "bad test fraction" 1 'sb-probe --labels utt2spk --test-fraction 1 sep.sbt' '--test-fraction'
check_err "one fold" 1 'sb-probe --labels utt2spk --folds 1 sep.sbt' '--folds'
check_err "C not positive" 1 'sb-probe --labels utt2spk -C 0 sep.sbt' '^sb-probe: -C: 0 is out of range 1e-12\.\.1000000000000$'
check_err "summary line on stderr" 0 'sb-probe --labels utt2spk sep.sbt' '^sb-probe: [0-9]+ records, [0-9.]+ s, [0-9.e+]+ records/s; [0-9]+ items, [0-9]+ classes$'
check "--quiet: nothing on stderr" 0 'sb-probe -q --labels utt2spk sep.sbt 2>err.txt >/dev/null && test ! -s err.txt'
check_err "bad --standardize" 1 'sb-probe --labels utt2spk --standardize=maybe sep.sbt' "^sb-probe: --standardize: 'maybe' is not one of yes, no$"
check_err "too many folds" 2 'sb-probe --labels utt2spk --folds 61 sep.sbt' 'cannot make 61 folds of 60 items'
check_out "--help to stdout" 0 'sb-probe --help' 'See also'

# mean:ARCHIVE averages matrices over time before probing (the MFCC baseline).
check_err "mean: needs matrices" 2 'sb-probe --labels utt2spk mean:sep.sbt' 'expected a T x F matrix'
if have_numpy; then
  /usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(3)
arrs = {}
with open('utt2spk') as f:
    for line in f:
        k, s = line.split()
        c = int(s[3:])
        # 5 frames whose mean is 4 at the speaker's dimension: separable only after averaging.
        m = rng.normal(0, 0.3, (5, 4)).astype(np.float32); m[:, c] += 4; m[0] += 20 * rng.normal(0, 1, 4).astype(np.float32); m[1] -= m[0] - m[0].mean()
        arrs[k] = m
np.savez('frames.npz', **arrs)
PY
  sb-tensor from-npy frames.npz > frames.sbt
  check_out "mean: probes the time-averaged matrices" 0 'sb-probe --labels utt2spk mean:frames.sbt' '^items	60$'
else
  skip "mean: positive case" "/usr/bin/python3 has no numpy"
fi
