# sb-rank: the hand-worked case of tests/unit/test_eval.cc through the tool,
# both directions, the tie rule, the lists, and every error path.
# shellcheck source=eval_data.sh
source "$SB_SOURCE/tests/cli/eval_data.sh"

# Images i1..i4, utterances u1..u5 (2-d). Forward ranks 2 4 1 3 1; u2's gold
# i4 ties with i1 at cosine 0 and loses (i1 comes first in imgs.sbt).
txt2sbt imgs.sbt <<'END'
i1 1 0
i2 0 1
i3 1 1
i4 -1 0
END
txt2sbt utts.sbt <<'END'
u1 1 0
u2 0 1
u3 -1 0
u4 1 1
u5 0 -1
END
printf 'u1 i3\nu2 i4\nu3 i4\nu4 i2\nu5 i1\nu9 i9\n' >utt2img

check_out "forward summary" 0 'sb-rank --gold utt2img -k 1,2,3 utts.sbt imgs.sbt' \
  '^queries	5$'
[ "$(cat .out)" = "$(printf 'queries\t5\ntargets\t4\nR@1\t0.4\nR@2\t0.6\nR@3\t0.8\nmedr\t2\nmeanr\t2.2')" ] &&
  _cli_report "forward figures exact" 1 || _cli_report "forward figures exact" 0 "got $(tr '\n' ' ' <.out)"
check_out "default cut-offs 1,5,10" 0 'sb-rank --gold utt2img utts.sbt imgs.sbt' '^R@10	1$'
check "ranks file" 0 'sb-rank --gold utt2img --ranks ranks.txt --threads 1 utts.sbt imgs.sbt'
printf 'u1 2 i3\nu2 4 i4\nu3 1 i4\nu4 3 i2\nu5 1 i1\n' >want_ranks
cut -d' ' -f1-3 ranks.txt >got_ranks
same_files "ranks: query rank gold" want_ranks got_ranks
check "ranks file: no temporary left" 0 '! ls ranks.txt.tmp.* 2>/dev/null'
check_err "a full disk under --top-out is an error naming it" 2 \
  'sb-rank --gold utt2img --top 2 --top-out /dev/full utts.sbt imgs.sbt' '/dev/full: write failed'
check_out "ranks to stdout, summary to stderr" 0 \
  'sb-rank --gold utt2img --ranks - utts.sbt imgs.sbt 2>err && grep -q "^medr	2$" err' '^u2 4 i4 0$'
check "top-2 lists" 0 'sb-rank --gold utt2img --top 2 --top-out top.txt utts.sbt imgs.sbt'
printf 'u2 1 i2\nu2 2 i3\n' >want_top
grep '^u2 ' top.txt | cut -d' ' -f1-3 >got_top
same_files "top-2 of u2" want_top got_top
check_out "top score is the cosine" 0 'grep "^u4 1 " top.txt' '^u4 1 i3 (1|0\.99999[0-9]*)$'

# Reverse: images rank utterances; i4 has two captions (u2, u3) and counts u3.
check_out "reverse" 0 'sb-rank --gold utt2img --reverse -k 1,2 --ranks rr.txt utts.sbt imgs.sbt | tee rev.txt' \
  '^R@2	0.75$'
check_out "reverse R@1" 0 'cat rev.txt' '^R@1	0.25$'
check_out "reverse medr" 0 'cat rev.txt' '^medr	2$'
check_out "reverse meanr" 0 'cat rev.txt' '^meanr	2.25$'
check_out "reverse best caption" 0 'cat rr.txt' '^i4 1 u3 '
check_out "reverse tie rule (u2 before u5)" 0 'cat rr.txt' '^i1 4 u5 '
check_out "threads do not change ranks" 0 \
  'sb-rank --gold utt2img --threads 3 --ranks r3.txt utts.sbt imgs.sbt >/dev/null && cmp ranks.txt r3.txt && echo same' '^same$'

check_out "queries on standard input" 0 'sb-rank --gold utt2img -k 1,2,3 - imgs.sbt < utts.sbt' '^R@2	0.6$'

# Errors.
sb-tensor head -n 0 utts.sbt >empty.sbt
check_err "empty archive" 2 'sb-rank --gold utt2img empty.sbt imgs.sbt' 'empty.sbt: no records'
txt2sbt nan.sbt <<'END'
u1 1 0
u2 nan 1
END
check_err "NaN in a vector" 2 'sb-rank --gold utt2img nan.sbt imgs.sbt' 'nan.sbt: record 2 \(u2\): contains NaN or infinity'
check_err "both archives on stdin" 1 'sb-rank --gold utt2img - - < utts.sbt' 'only one archive can be standard input'
printf 'u1 i3\nu2 i7\nu3 i4\nu4 i2\nu5 i1\n' >bad_gold
check_err "gold image missing" 2 'sb-rank --gold bad_gold utts.sbt imgs.sbt' \
  "bad_gold: line 2: gold image 'i7' of 'u2' is not in imgs.sbt"
printf 'u1 i3\nu2 i4\nu3 i4\nu4 i2\n' >short_gold
check_err "query without gold entry" 2 'sb-rank --gold short_gold utts.sbt imgs.sbt' \
  'utts.sbt: record 5 \(u5\): no entry in short_gold'
printf 'u1 i3\nu2 i4\nu3 i4\nu4 i3\nu5 i1\n' >no_i2
check_err "reverse: image without caption" 2 'sb-rank --gold no_i2 --reverse utts.sbt imgs.sbt' \
  'imgs.sbt: record 2 \(i2\): no utterance'
printf 'u1 i3\nu1 i4\n' >dup_gold
check_err "duplicate key in gold table" 2 'sb-rank --gold dup_gold utts.sbt imgs.sbt' 'dup_gold.*line 2'
printf 'u1 i3 i4\n' >two_imgs
check_err "two images on a gold line" 2 'sb-rank --gold two_imgs utts.sbt imgs.sbt' 'two_imgs: line 1'
cat utts.sbt utts.sbt >dup.sbt
check_err "duplicate query key" 2 'sb-rank --gold utt2img dup.sbt imgs.sbt' \
  'dup.sbt: record 6 \(u1\): duplicate key \(first seen in record 1\)'
txt2sbt imgs3.sbt <<'END'
i1 1 0 0
i2 0 1 0
i3 1 1 0
i4 -1 0 0
END
check_err "dimension mismatch between archives" 2 'sb-rank --gold utt2img utts.sbt imgs3.sbt' \
  'dimension mismatch: utts.sbt has 2-d vectors, imgs3.sbt has 3-d'
txt2sbt ragged.sbt <<'END'
u1 1 0
u2 0 1 0
END
check_err "dimension mismatch inside an archive" 2 'sb-rank --gold utt2img ragged.sbt imgs.sbt' \
  'ragged.sbt: record 2 \(u2\): dimension 3, but earlier records have 2'
txt2sbt mat.sbt <<'END'
u1 2x2: 1 0 0 1
END
check_err "matrix instead of vector" 2 'sb-rank --gold utt2img mat.sbt imgs.sbt' \
  'mat.sbt: record 1 \(u1\): expected a vector, got shape 2x2'
printf 'x' >broken.sbt
check_err "not an archive" 2 'sb-rank --gold utt2img broken.sbt imgs.sbt' 'broken.sbt'
check_err "missing file" 2 'sb-rank --gold utt2img nosuch.sbt imgs.sbt' 'nosuch.sbt'
check_err "missing gold file" 2 'sb-rank --gold nosuch utts.sbt imgs.sbt' 'nosuch'
check_err "no --gold" 1 'sb-rank utts.sbt imgs.sbt' '--gold is required'
check_err "one archive" 1 'sb-rank --gold utt2img utts.sbt' 'expected two archives'
check_err "bad -k" 1 'sb-rank --gold utt2img -k 1,0 utts.sbt imgs.sbt' '^sb-rank: --recall: 0 is out of range \(must be >= 1\)$'
check_err "bad -k text" 1 'sb-rank --gold utt2img -k ten utts.sbt imgs.sbt' "^sb-rank: --recall: 'ten' is not an integer$"
check_err "negative --top" 1 'sb-rank --gold utt2img --top -1 utts.sbt imgs.sbt' '^sb-rank: --top: -1 is out of range 0\.\.1048576$'
check_err "summary line on stderr" 0 'sb-rank --gold utt2img utts.sbt imgs.sbt' '^sb-rank: [0-9]+ queries, [0-9.]+ s, [0-9.]+ queries/s; [0-9]+ targets$'
check "--quiet: nothing on stderr" 0 'sb-rank -q --gold utt2img utts.sbt imgs.sbt 2>err.txt >/dev/null && test ! -s err.txt'
check_err "both lists on stdout" 1 'sb-rank --gold utt2img --ranks - --top 1 utts.sbt imgs.sbt' 'standard output'
check_err "unwritable ranks file" 2 'sb-rank --gold utt2img --ranks /nonexistent/r utts.sbt imgs.sbt' \
  '/nonexistent/r: cannot open'
check_out "--help to stdout" 0 'sb-rank --help' 'See also'
