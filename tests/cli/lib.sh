# Helpers for command-line tests, sourced by run.sh. Each case is one call:
#
#   check "name" EXPECTED_EXIT 'shell command'          # exit status only
#   check_out "name" EXPECTED_EXIT 'command' 'regex'     # + stdout matches (grep -E)
#   check_err "name" EXPECTED_EXIT 'command' 'regex'     # + stderr matches (grep -E)
#   same_files "name" FILE1 FILE2                        # byte-identical
#   skip "name" "why"
#
# The command runs in bash -c inside $T; its stdout and stderr are kept in
# $T/.out and $T/.err for later cases to inspect.
cli_pass=0
cli_fail=0
cli_skip=0

_cli_report() {  # name ok why
  if [ "$2" = 1 ]; then
    cli_pass=$((cli_pass + 1)); printf 'ok    %s\n' "$1"
  else
    cli_fail=$((cli_fail + 1)); printf 'FAIL  %s: %s\n' "$1" "$3"
    printf '      stdout: %s\n' "$(head -c 600 "$T/.out" 2>/dev/null | tr '\n' '|')"
    printf '      stderr: %s\n' "$(head -c 600 "$T/.err" 2>/dev/null | tr '\n' '|')"
  fi
}

_cli_run() {  # command
  bash -c "$1" >"$T/.out" 2>"$T/.err" </dev/null
}

check() {
  local name=$1 want=$2 cmd=$3 got
  _cli_run "$cmd"; got=$?
  if [ "$got" = "$want" ] || { [ "$want" = "nonzero" ] && [ "$got" != 0 ]; }; then
    _cli_report "$name" 1
  else
    _cli_report "$name" 0 "exit $got, expected $want"
  fi
}

check_out() {
  local name=$1 want=$2 cmd=$3 re=$4 got
  _cli_run "$cmd"; got=$?
  if ! { [ "$got" = "$want" ] || { [ "$want" = "nonzero" ] && [ "$got" != 0 ]; }; }; then
    _cli_report "$name" 0 "exit $got, expected $want"
  elif ! grep -Eq -- "$re" "$T/.out"; then
    _cli_report "$name" 0 "stdout does not match /$re/"
  else
    _cli_report "$name" 1
  fi
}

check_err() {
  local name=$1 want=$2 cmd=$3 re=$4 got
  _cli_run "$cmd"; got=$?
  if ! { [ "$got" = "$want" ] || { [ "$want" = "nonzero" ] && [ "$got" != 0 ]; }; }; then
    _cli_report "$name" 0 "exit $got, expected $want"
  elif ! grep -Eq -- "$re" "$T/.err"; then
    _cli_report "$name" 0 "stderr does not match /$re/"
  else
    _cli_report "$name" 1
  fi
}

same_files() {
  if cmp -s "$2" "$3"; then _cli_report "$1" 1; else _cli_report "$1" 0 "$2 and $3 differ"; fi
}

skip() {
  cli_skip=$((cli_skip + 1)); printf 'skip  %s: %s\n' "$1" "$2"
}

# The largest absolute difference between two archives' values, record by
# record in order (sb-tensor cat), or "shape" when their layouts differ.
max_abs_diff() {
  paste <(sb-tensor cat "$1") <(sb-tensor cat "$2") | awk -F'\t' '
    { n = split($1, a, " "); m = split($2, b, " ");
      if (n != m) { print "shape"; bad = 1; exit }
      for (i = 1; i <= n; i++) { if (a[i] == b[i]) continue;
        if (a[i] ~ /^[-+.0-9eE]+$/ && b[i] ~ /^[-+.0-9eE]+$/) { d = a[i] - b[i]; if (d < 0) d = -d; if (d > max) max = d }
        else { print "shape"; bad = 1; exit } } }
    END { if (!bad) printf "%g\n", max + 0 }'
}
export -f max_abs_diff  # for the commands check and check_out run

# Where a tool refuses --device cuda (no GPU, no driver, a build without
# CUDA) it says so in one line, exit 2. gpu_refusal CMD: true (and the
# reason in $gpu_why) when CMD was refused that way; false when it ran.
gpu_refusal() {
  gpu_why=""
  if bash -c "$1" > /dev/null 2> gpu.err; then return 1; fi
  gpu_why=$(tail -n 1 gpu.err)
  return 0
}

# True when /usr/bin/python3 has numpy (optional reference checks).
have_numpy() { /usr/bin/python3 -c 'import numpy' 2>/dev/null; }

cli_summary() {
  printf '%d passed, %d failed, %d skipped\n' "$cli_pass" "$cli_fail" "$cli_skip"
  [ "$cli_fail" = 0 ]
}
