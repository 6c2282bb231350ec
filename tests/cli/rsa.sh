# sb-rsa: hand-worked correlations through the tool, the three kinds of
# input, key matching, Spearman, the Mantel test, and every error path.
# shellcheck source=eval_data.sh
source "$SB_SOURCE/tests/cli/eval_data.sh"

# a=(1,0), b=(0,1), c=(-1,0): cosines (ab, ac, bc) = (0, -1, 0).
# Captions a, ab, abc: 1 - lev/max = (1/2, 1/3, 2/3).
# Centred: (1,-2,1)/3 and (0,-1,1)/6 -> r = sqrt(3)/2 = 0.866025.
txt2sbt vec.sbt <<'END'
a 1 0
b 0 1
c -1 0
END
printf 'a a\nb ab\nc abc\nz only-in-text\n' >text
check_out "items printed" 0 'sb-rsa vec.sbt text:text' '^items	3$'
check_out "pairs printed" 0 'sb-rsa vec.sbt text:text' '^pairs	3$'
check_out "hand-worked pearson" 0 'sb-rsa vec.sbt text:text' '^pearson	0.866025$'
check_err "intersection reported" 0 'sb-rsa vec.sbt text:text' 'using the 3 items common to vec.sbt \(3\) and text:text \(4\)'
check_out "order of A and B does not matter" 0 'sb-rsa text:text vec.sbt' '^pearson	0.866025$'
check_out "hand-worked spearman" 0 'sb-rsa --spearman vec.sbt text:text' '^spearman	0.866025$'

# mean: frames averaging to the vectors above (scaled, so cosines are equal).
txt2sbt frames.sbt <<'END'
a 2x2: 1 1 3 -1
b 3x2: 0 1 0 2 0 3
c 1x2: -5 0
END
check_out "mean: equals the vectors" 0 'sb-rsa mean:frames.sbt vec.sbt' '^pearson	1$'
check_err "mean: of vectors" 2 'sb-rsa mean:vec.sbt vec.sbt' 'vec.sbt: record 1 \(a\): expected a T x F matrix, got shape 2'
check_err "matrices without mean:" 2 'sb-rsa frames.sbt vec.sbt' \
  'frames.sbt: record 1 \(a\): expected a vector, got shape 2x2 \(use mean:frames.sbt'

# Unicode: similarities over code points. d/e differ by one accent each.
printf 'a café\nb cafe\nc cafés\n' >utext
printf 'a cafe\nb cafe\nc cafes\n' >atext
# (ab, ac, bc): utext (3/4, 4/5, 3/5), atext (1, 4/5, 4/5): centred
# (1, 5/2, -7/2)/30 and (2, -1, -1)/15 -> r = 1/sqrt(13) = 0.27735. Counting
# UTF-8 bytes instead would give (3/5, 5/6, 1/2) and r = -0.596.
check_out "code points, not bytes" 0 'sb-rsa text:utext text:atext' '^pearson	0.27735$'

# A larger random set: B = A + noise, captions of 20..150 characters.
perl -e 'srand(7); open(my $a, ">", "a.txt"); open(my $b, ">", "b.txt");
  for my $i (1..40) { my @x = map { rand() - 0.5 } 1..6; my @y = map { $_ + 0.2 * (rand() - 0.5) } @x;
    printf $a "k%02d @x\n", $i; printf $b "k%02d @y\n", $i; }'
txt2sbt A.sbt <a.txt
txt2sbt B.sbt <b.txt
perl -e 'srand(3); for my $i (1..40) { printf "k%02d ", $i; my $n = 20 + int(rand(130)); print join("", map { ("a".."e", " ")[int(rand(6))] } 1..$n), "\n"; }' >long
check_out "related sets correlate" 0 'sb-rsa A.sbt B.sbt' '^pearson	0\.9'
check_out "Mantel: p = 1/(N+1) when nothing beats r" 0 'sb-rsa --permutations 99 --seed 1 A.sbt B.sbt' '^p	0.01$'
check_out "Mantel: permutations printed" 0 'sb-rsa --permutations 99 --seed 1 A.sbt B.sbt' '^permutations	99$'
check "Mantel: same seed, same p" 0 \
  '[ "$(sb-rsa --permutations 50 --seed 4 A.sbt text:long)" = "$(sb-rsa --permutations 50 --seed 4 --threads 1 A.sbt text:long)" ]'
check_out "Mantel: unrelated text gives a large p" 0 'sb-rsa --permutations 99 --seed 2 A.sbt text:long' '^p	0\.[1-9]'
check "bit-parallel and DP give the same result" 0 \
  '[ "$(sb-rsa --levenshtein dp A.sbt text:long)" = "$(sb-rsa A.sbt text:long)" ]'
check "threads do not change r" 0 \
  '[ "$(sb-rsa --threads 1 A.sbt text:long)" = "$(sb-rsa --threads 3 A.sbt text:long)" ]'
check_out "--sample" 0 'sb-rsa --sample 10 --seed 3 A.sbt B.sbt' '^items	10$'
check "--sample is reproducible" 0 \
  '[ "$(sb-rsa --sample 10 --seed 3 A.sbt B.sbt)" = "$(sb-rsa --sample 10 --seed 3 A.sbt B.sbt)" ]'

# Errors.
printf 'x abc\ny abd\n' >other
check_err "no overlap" 2 'sb-rsa vec.sbt text:other' 'no key of vec.sbt is in text:other'
printf 'a abc\nb abd\n' >two
check_err "fewer than 3 items" 2 'sb-rsa vec.sbt text:two' 'at least 3 items'
printf 'a x\nb x\nc x\n' >same
check_err "constant similarity" 2 'sb-rsa vec.sbt text:same' 'second similarity is constant'
printf 'a x\na y\n' >dup
check_err "duplicate key in text" 2 'sb-rsa vec.sbt text:dup' 'dup.*line 2'
printf 'a caf\xe9\n' >latin1
check_err "malformed UTF-8" 2 'sb-rsa vec.sbt text:latin1' 'latin1.*line 1'
cat vec.sbt vec.sbt >dupvec.sbt
check_err "duplicate key in archive" 2 'sb-rsa dupvec.sbt text:text' 'dupvec.sbt: record 4 \(a\): duplicate key'
txt2sbt nanframes.sbt <<'END'
a 2x2: 1 1 inf 0
END
check_err "infinity under mean:" 2 'sb-rsa mean:nanframes.sbt vec.sbt' 'nanframes.sbt: record 1 \(a\): contains NaN or infinity'
sb-tensor head -n 0 vec.sbt >empty.sbt
check_err "empty archive" 2 'sb-rsa empty.sbt text:text' 'empty.sbt: no items'
check_err "missing archive" 2 'sb-rsa nosuch.sbt text:text' 'nosuch.sbt'
check_err "missing text" 2 'sb-rsa vec.sbt text:nosuch' 'nosuch'
check_err "--sample too large" 2 'sb-rsa --sample 41 A.sbt B.sbt' '--sample 41 is more than the 40 common items'
check_err "one input" 1 'sb-rsa vec.sbt' 'expected two inputs'
check_err "negative permutations" 1 'sb-rsa --permutations -1 vec.sbt text:text' '^sb-rsa: --permutations: -1 is out of range 0\.\.1000000000$'
check_err "seed out of range" 1 'sb-rsa --seed 4294967296 vec.sbt text:text' '^sb-rsa: --seed: 4294967296 is out of range 0\.\.4294967295$'
check_err "unknown algorithm" 1 'sb-rsa --levenshtein fast vec.sbt text:text' "^sb-rsa: --levenshtein: 'fast' is not one of bitparallel, dp$"
check_err "summary line on stderr" 0 'sb-rsa vec.sbt text:text' '^sb-rsa: [0-9]+ pairs, [0-9.]+ s, [0-9.e+]+ pairs/s; [0-9]+ items$'
check "--quiet: nothing on stderr" 0 'sb-rsa -q vec.sbt text:text 2>err.txt >/dev/null && test ! -s err.txt'
check_out "--help to stdout" 0 'sb-rsa --help' 'See also'
