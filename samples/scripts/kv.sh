#!/usr/bin/env bash
# kv.sh FILE KEY: the value of KEY in a tool's "key<TAB>value" summary
# (sb-rank, sb-rsa, sb-probe print these); "-" when absent.
awk -F'\t' -v k="$2" '$1 == k { print $2; found = 1; exit } END { if (!found) print "-" }' "$1"
