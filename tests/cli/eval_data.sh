# Test inputs for the evaluation tools (rank.sh, rsa.sh, probe.sh), made
# without Python: perl writes one little-endian float32 .npy per record,
# sb-tensor turns each into a one-record archive, and `cat` joins them in
# input order (concatenated archives are valid archives).
#
#   txt2sbt OUT.sbt <<'END'
#   key1 0.5 1 0           # a vector
#   key2 2x3: 1 2 3 4 5 6  # a 2 x 3 matrix, row-major
#   END
txt2sbt() {
  local out=$1 dir n=0 line key
  dir=$(mktemp -d "$T/npy.XXXXXX") || return 1
  : >"$out"
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    n=$((n + 1))
    key=${line%% *}
    printf '%s\n' "${line#* }" | perl -e '
      my $rest = <STDIN>; chomp $rest;
      my @shape;
      if ($rest =~ s/^\s*(\d+)x(\d+):\s*//) { @shape = ($1, $2); }
      my @v = split " ", $rest;
      @shape = (scalar @v) unless @shape;
      my $dims = @shape == 1 ? "($shape[0],)" : "($shape[0], $shape[1])";
      my $hdr = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: $dims, }";
      my $len = 10 + length($hdr) + 1;
      $hdr .= " " x ((64 - $len % 64) % 64) . "\n";
      binmode STDOUT;
      print "\x93NUMPY\x01\x00", pack("v", length $hdr), $hdr, pack("f<*", @v);
    ' >"$dir/$n.npy" || return 1
    sb-tensor from-npy --key "$key" "$dir/$n.npy" >>"$out" || return 1
  done
}

# text2sbt OUT.sbt KEY 'text': a one-record archive holding a text record
# (a 0-d NumPy byte string, which sb-tensor maps to text).
text2sbt() {
  printf '%s' "$3" | perl -e '
    local $/; my $txt = <STDIN>; my $n = length $txt;
    my $hdr = "{\x27descr\x27: \x27|S$n\x27, \x27fortran_order\x27: False, \x27shape\x27: (), }";
    my $len = 10 + length($hdr) + 1; $hdr .= " " x ((64 - $len % 64) % 64) . "\n";
    binmode STDOUT; print "\x93NUMPY\x01\x00", pack("v", length $hdr), $hdr, $txt;' >"$T/text.npy" &&
    sb-tensor from-npy --key "$2" "$T/text.npy" >"$1"
}
