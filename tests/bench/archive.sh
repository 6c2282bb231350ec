#!/usr/bin/env bash
# Archive figures: f32 write/read throughput on one core, and the resident
# memory of a 2 GB stream through `sb-tensor select`.
set -eu
bench=$SB_BUILD/tests/sbt_bench
echo "-- .sbt throughput, one core (target: >= 300 MB/s of payload at the default level)"
taskset -c 0 "$bench" 1000
echo "-- 2 GB of records through sb-tensor select on a pipe (target: < 64 MB resident)"
printf 'utt7\nutt99999\n' > /tmp/sb-bench-keys.$$
"$bench" --emit 2048 | /usr/bin/time -f '%M KB max resident, %e s' \
  "$SB_BIN/sb-tensor" select -k /tmp/sb-bench-keys.$$ 2>&1 >/dev/null | tail -1
rm -f /tmp/sb-bench-keys.$$
