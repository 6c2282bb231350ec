#!/usr/bin/env bash
# Runs the libFuzzer harnesses one after another, each for SECONDS, and
# prints one summary line per harness and a total (make fuzz).
#   tests/fuzz/run.sh BUILD_DIR SECONDS NAME...
# Each harness's corpus grows in BUILD_DIR/corpus/NAME (seeded from
# tests/fuzz/corpus/NAME), its log is BUILD_DIR/fuzz-NAME.log, and any
# crashing input is written as BUILD_DIR/artifacts/NAME-crash-<sha1>.
# Exit status 1 if any harness crashed, hung, ran out of memory or had a
# sanitizer report.
set -u
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)

# The largest input each reader gets (bytes): enough for every seed and for
# a few records, lines or audio frames more; beyond that, inputs only slow it.
declare -A max_len=([archive]=4096 [npy]=4096 [kaldi]=4096 [table]=4096 [model]=8192 [audio]=16384)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/../lsan.supp:print_suppressions=0}

mkdir -p "$build/artifacts"
summary=()
total_exec=0 total_crash=0
for name in "$@"; do
  exe=$build/tests/fuzz_$name
  corpus=$build/corpus/$name
  log=$build/fuzz-$name.log
  mkdir -p "$corpus"
  cp "$src/corpus/$name"/* "$corpus/"
  before=$(ls "$build/artifacts" | grep -c "^$name-" || true)
  echo "== fuzz_$name: ${seconds}s, max_len ${max_len[$name]:-4096}, log $log"
  "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="${max_len[$name]:-4096}" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(awk '/^stat::number_of_executed_units:/{n=$2} END{print n+0}' "$log")
  cov=$(awk '{for (i = 1; i < NF; ++i) if ($i == "cov:") c=$(i+1)} END{print c+0}' "$log")
  ft=$(awk '{for (i = 1; i < NF; ++i) if ($i == "ft:") f=$(i+1)} END{print f+0}' "$log")
  reports=$(grep -cE '==[0-9]+==ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:' "$log" || true)
  after=$(ls "$build/artifacts" | grep -c "^$name-" || true)
  crashes=$((after - before))
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  line=$(printf '%-14s %10d executions  cov %5d  ft %6d  crashes %d  sanitizer reports %d' \
         "fuzz_$name" "$execs" "$cov" "$ft" "$crashes" "$reports")
  echo "$line"
  if [ "$crashes" -ne 0 ] || [ "$reports" -ne 0 ]; then
    grep -E -m 5 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | sed 's/^/    /'
  fi
  summary+=("$line")
  total_exec=$((total_exec + execs))
  total_crash=$((total_crash + crashes + reports))
done
echo "== fuzz summary (${seconds}s per harness)"
printf '%s\n' "${summary[@]}"
printf '%-14s %10d executions  crashes or reports %d\n' total "$total_exec" "$total_crash"
[ "$total_crash" -eq 0 ]
