# sb-tensor from-kaldi / to-kaldi: Kaldi tables in and out, round trips, and
# every way a Kaldi input can be bad. Fixtures are made here: a text archive
# written with awk as Kaldi's copy-feats ark,t: writes one, then converted.
# Helpers (check, check_out, check_err, same_files, skip) come from lib.sh.

check_out "help lists from-kaldi and to-kaldi" 0 'sb-tensor --help' 'to-kaldi ARCHIVE WSPECIFIER'
check_err "from-kaldi needs a specifier" 1 'sb-tensor from-kaldi feats.ark' "is not a Kaldi rspecifier"
check_err "unknown rspecifier option" 1 'sb-tensor from-kaldi ark,zz:feats.ark' "unknown rspecifier option 'zz'"
check_err "commands are not run" 1 "sb-tensor from-kaldi 'ark:gunzip -c f.gz |'" 'does not run commands'
check_err "to-kaldi needs a wspecifier" 1 'sb-tensor to-kaldi x.sbt out.ark' "is not a Kaldi wspecifier"
check_err "scp alone cannot be written" 1 'sb-tensor to-kaldi x.sbt scp:x.scp' 'sb writes archives'
check_err "bad --compress" 1 'sb-tensor to-kaldi --compress zip x.sbt ark:x.ark' 'compress'

# Kaldi's text layout: "key  [", one row a line, "]" closing the last row.
awk 'BEGIN {
  srand(7)
  printf "utt1  [\n"
  for (i = 0; i < 50; i++) { printf "  "; for (j = 0; j < 13; j++) printf "%.6g ", (rand() - 0.5) * (j + 1) * 10 - j; if (i < 49) printf "\n"; else printf "]\n" }
  printf "utt2  [ "; for (j = 0; j < 7; j++) printf "%.6g ", rand() * 1e-3; printf "]\n"
  printf "utt3  [\n  1 2 3 4 ]\n"
}' > text.ark
check_out "text archive in" 0 'sb-tensor from-kaldi ark,t:text.ark -o x.sbt && sb-tensor info x.sbt | cut -f1-3 | tr "\n" " "' \
  'utt1	f32	50x13 utt2	f32	7 utt3	f32	1x4 '

# Round trips sb -> Kaldi -> sb are bit-identical (the archives are the same bytes).
check "binary ark" 0 'sb-tensor to-kaldi x.sbt ark:x.ark && sb-tensor from-kaldi ark:x.ark -o back.sbt && cmp x.sbt back.sbt'
check_out "binary objects are FM and FV" 0 'head -c 12 x.ark | od -c | head -1' 'u   t   t   1      \\0   B   F   M'
check "ark,scp and reading the scp" 0 'sb-tensor to-kaldi x.sbt ark,scp:y.ark,y.scp && sb-tensor from-kaldi scp:y.scp -o back.sbt && cmp x.sbt back.sbt && cmp x.ark y.ark'
check_out "scp names the archive and offsets after 'key '" 0 'cat y.scp | tr "\n" " "' '^utt1 y\.ark:5 utt2 y\.ark:[0-9]+ utt3 y\.ark:[0-9]+ $'
check "every scp offset lands on \\0B" 0 'while read k loc; do off=${loc##*:}; test "$(dd if=y.ark bs=1 skip=$off count=2 2>/dev/null | od -An -c | tr -d " ")" = "\\0B" || exit 1; done < y.scp'
check "text ark (shortest exact digits)" 0 'sb-tensor to-kaldi x.sbt ark,t:t.ark && sb-tensor from-kaldi ark:t.ark -o back.sbt && cmp x.sbt back.sbt'
check "ark,scp,t" 0 'sb-tensor to-kaldi x.sbt ark,scp,t:u.ark,u.scp && sb-tensor from-kaldi scp:u.scp -o back.sbt && cmp x.sbt back.sbt'
check "pipes: ark:- both ways" 0 'sb-tensor to-kaldi x.sbt ark:- | sb-tensor from-kaldi ark:- | cmp - x.sbt'
check "archive from stdin" 0 'sb-tensor to-kaldi - ark:- < x.sbt | sb-tensor from-kaldi ark,s,cs:- | cmp - x.sbt'
check_out "text output looks like Kaldi's" 0 'sb-tensor to-kaldi x.sbt ark,t:- | sed -n "52p;53p" | tr "\n" "|"' '^utt2  \[ [0-9.e-]+ .* \]\|utt3  \[\|$'
# Doubles stay doubles: DM/DV in, f64 records, bit-identical back.
check "f64 from text with --dtype f64" 0 'sb-tensor from-kaldi --dtype f64 ark:text.ark -o d.sbt && sb-tensor info d.sbt | grep -q "utt1	f64	50x13"'
check_out "f64 goes out as DM and DV" 0 'sb-tensor to-kaldi d.sbt ark:d.ark && od -c d.ark | head -1' 'D   M'
check "DM/DV round trip" 0 'sb-tensor from-kaldi ark:d.ark -o back.sbt && cmp d.sbt back.sbt'
check "f64 text round trip (17 digits)" 0 'sb-tensor to-kaldi d.sbt ark,t:dt.ark && sb-tensor from-kaldi --dtype f64 ark:dt.ark -o back.sbt && cmp d.sbt back.sbt'

# Compressed matrices (copy-feats --compress): CM above 8 rows, CM2 below.
check_out "--compress auto writes CM and CM2" 0 'sb-tensor to-kaldi --compress auto x.sbt ark:c.ark && grep -ac "CM2 " c.ark && grep -ac "CM " c.ark' '^1$'
for m in cm cm2 cm3; do
  sb-tensor to-kaldi --compress $m x.sbt ark:$m.ark 2>/dev/null
  # Decoded within the format's precision: the unit test asserts the exact
  # bounds; here no element may be off by more than 1% of the matrix range.
  check_out "$m decodes within precision" 0 \
    "paste -d ' ' <(sb-tensor from-kaldi ark:$m.ark | sb-tensor head -n 1 | sb-tensor cat -p 9 | tail -n +2 | tr ' ' '\n') \
                  <(sb-tensor head -n 1 x.sbt | sb-tensor cat -p 9 | tail -n +2 | tr ' ' '\n') |
     awk '{ d = \$1 - \$2; if (d < 0) d = -d; if (d > m) m = d; if (n++ == 0 || \$2 < lo) lo = \$2; if (\$2 > hi) hi = \$2 }
          END { print (n == 650 && m <= (hi - lo) / 100) ? \"within\" : \"off \" m \" of \" hi - lo \" over \" n }'" '^within$'
done
check_out "vectors are never compressed" 0 'sb-tensor from-kaldi ark:cm3.ark | sb-tensor select -k <(echo utt2) | sb-tensor cat -p 9 | tail -1 | cmp - <(sb-tensor select -k <(echo utt2) x.sbt | sb-tensor cat -p 9 | tail -1) && echo exact' '^exact$'

# Hostile input: one line naming the file and the key, exit 2, no output left.
size=$(stat -c %s x.ark)
head -c 40 x.ark > cut-header.ark      # inside utt1's data
check_err "truncated in the data" 2 'sb-tensor from-kaldi ark:cut-header.ark -o out.sbt' \
  '^sb-tensor: cut-header.ark: key utt1: truncated: the header says 2600 bytes of data, 20 are left in the file$'
check "nothing left under the output's name" 0 'test ! -e out.sbt && ! ls out.sbt.tmp.* 2>/dev/null'
check "one line only" 0 'sb-tensor from-kaldi ark:cut-header.ark -o out.sbt 2>&1 | wc -l | grep -qx 1'
head -c 9 x.ark > cut-token.ark
check_err "truncated in a header" 2 'sb-tensor from-kaldi ark:cut-token.ark > out.sbt' '^sb-tensor: cut-token.ark: key utt1: truncated in the object header'
head -c $((size - 3)) x.ark > cut-last.ark
check_err "truncated in the last record" 2 'sb-tensor from-kaldi ark:cut-last.ark > out.sbt' '^sb-tensor: cut-last.ark: key utt3: truncated'
check_err "truncated on a pipe" 2 'head -c 2000 x.ark | sb-tensor from-kaldi ark:- > out.sbt' '^sb-tensor: <stdin>: key utt1: truncated inside the data \(1980 of 2600 bytes\)$'
printf 'big \0BFM \4\x60\xea\0\0\4\x60\xea\0\0abcd' > lying.ark
check_err "lying dimensions" 2 'sb-tensor from-kaldi ark:lying.ark > out.sbt' 'lying.ark: key big: truncated: the header says 14400000000 bytes of data, 4 are left'
check_err "lying dimensions on a pipe" 2 'cat lying.ark | sb-tensor from-kaldi ark:- > out.sbt' '<stdin>: key big: truncated inside the data \(4 of 14400000000 bytes\)'
if [ -x /usr/bin/time ]; then
  # Resident memory, not ulimit -v: the sanitizer builds reserve terabytes of
  # address space. Measured above the same conversion of a small archive,
  # the program's own size (ASan's runtime and shadow alone are ~60 MB).
  check_out "a 14 GB claim on a pipe costs under 64 MB" 0 \
    "cat x.ark | /usr/bin/time -f '%M' sb-tensor from-kaldi ark:- 2>rss.base >/dev/null;
     cat lying.ark | /usr/bin/time -f '%M' sb-tensor from-kaldi ark:- 2>rss >/dev/null;
     test \$(( \$(tail -1 rss) - \$(tail -1 rss.base) )) -lt 65536 && echo bounded" 'bounded'
else
  skip "pipe memory" "/usr/bin/time missing"
fi
printf 'neg \0BFV \4\xff\xff\xff\xff' > neg.ark
check_err "negative size" 2 'sb-tensor from-kaldi ark:neg.ark > out.sbt' 'neg.ark: key neg: corrupt object header: negative dimension -1'
printf 'u1 \0BXM \4\1\0\0\0' > token.ark
check_err "bad token" 2 'sb-tensor from-kaldi ark:token.ark > out.sbt' "token.ark: key u1: unsupported Kaldi object 'XM'"
printf 'u1 [ 1 2 oops ]\n' > word.ark
check_err "bad text number" 2 'sb-tensor from-kaldi ark:word.ark > out.sbt' "word.ark: key u1: bad number 'oops'"
printf 'u1 [ 1 nan inf -inf ]\nm1 [\n  1 nan ]\n' > nonfinite.ark
check_out "Kaldi's nan and inf are kept (counted by info)" 0 'sb-tensor from-kaldi ark:nonfinite.ark | sb-tensor info' 'u1	f32	4	1	1	1	\(1 NaN, 2 Inf\)'
check_out "and written back as Kaldi spells them" 0 'sb-tensor from-kaldi ark:nonfinite.ark | sb-tensor to-kaldi - ark,t:-' '^u1  \[ 1 nan inf -inf \]$'
check_out "a matrix too" 0 'sb-tensor from-kaldi ark:nonfinite.ark | sb-tensor to-kaldi - ark,t:- | tail -1' '^  1 nan \]$'
check_err "compressing NaN is refused" 2 'sb-tensor from-kaldi ark:nonfinite.ark | sb-tensor to-kaldi --compress cm3 - ark:nf.ark' '^sb-tensor: nf.ark: key m1: cannot compress NaN or Inf'
check "and leaves no archive" 0 'test ! -e nf.ark'
cat x.ark x.ark > twice.ark
rm -f out.sbt  # the shell's redirections above made it; sb-tensor must not
check_err "duplicate keys" 2 'sb-tensor from-kaldi ark:twice.ark -o out.sbt' '^sb-tensor: twice.ark: key utt1: the key appears twice'
check "no output after a duplicate" 0 'test ! -e out.sbt'
check_err "an .sbt given as a Kaldi archive" 2 'sb-tensor from-kaldi ark:x.sbt > out.sbt' 'x.sbt: is an .sbt archive, not a Kaldi table'
check_err "missing archive" 2 'sb-tensor from-kaldi ark:nothere.ark > out.sbt' '^sb-tensor: nothere.ark: cannot open: No such file or directory$'
echo "utt1 x.ark:$size" > past.scp
check_err "scp offset at the end" 2 'sb-tensor from-kaldi scp:past.scp > out.sbt' "^sb-tensor: x.ark: key utt1 \(past.scp line 1\): offset $size is at the end of the file \($size bytes\)$"
echo "utt1 x.ark:99999999" > past.scp
check_err "scp offset past the end" 2 'sb-tensor from-kaldi scp:past.scp > out.sbt' "x.ark: key utt1 \(past.scp line 1\): offset 99999999 is past the end"
echo "utt1 gone.ark:5" > gone.scp
check_err "scp names a missing file" 2 'sb-tensor from-kaldi scp:gone.scp > out.sbt' '^sb-tensor: gone.scp: line 1: key utt1: gone.ark: cannot open'
echo "utt1 x.ark:7" > mid.scp
check_err "scp offset inside an object" 2 'sb-tensor from-kaldi scp:mid.scp > out.sbt' '^sb-tensor: x.ark: key utt1 \(mid.scp line 1\): '
printf 'utt1 x.ark:5\nutt1 x.ark:5\n' > dup.scp
check_err "duplicate keys in an scp" 2 'sb-tensor from-kaldi scp:dup.scp > out.sbt' "dup.scp: line 2: duplicate key 'utt1'"
check_err "missing scp" 2 'sb-tensor from-kaldi scp:none.scp > out.sbt' 'none.scp: cannot open'

# Records Kaldi cannot hold are refused by key, and neither output appears.
hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }"
{ printf '\x93NUMPY\x01\x00\x76\x00'; printf '%-117s\n' "$hdr"
  printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40'; } > cube.npy
sb-tensor from-npy --key cube cube.npy > cube.sbt
cat x.sbt cube.sbt > mixed.sbt
check_err "rank 3 is refused by key" 2 'sb-tensor to-kaldi mixed.sbt ark,scp:m.ark,m.scp' '^sb-tensor: m.ark: key cube: rank 3 \(1x2x2\) has no Kaldi form'
check "and neither m.ark nor m.scp exists" 0 'test ! -e m.ark && test ! -e m.scp && ! ls m.*.tmp.* 2>/dev/null'
check_err "twice the same key" 2 'cat x.sbt x.sbt | sb-tensor to-kaldi - ark:tw.ark' 'tw.ark: key utt1: the key is written twice'

# Binary to a terminal is refused, text is not.
if command -v script >/dev/null; then
  check_out "refuses a binary archive on a terminal" 0 'script -qec "sb-tensor to-kaldi x.sbt ark:-" /dev/null; true' 'refusing to write a binary Kaldi archive'
  check_out "text goes to a terminal" 0 'script -qec "sb-tensor to-kaldi x.sbt ark,t:-" /dev/null | head -1' '^utt1  \['
else
  skip "terminal refusal" "script(1) not installed"
fi
