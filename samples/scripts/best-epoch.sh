#!/usr/bin/env bash
# best-epoch.sh LOG.tsv: "epoch r10 medr" of the epoch with the best
# validation R@10 in an sb-train --log file (the first such epoch on ties,
# as sb-train keeps it). Columns are found by name.
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["r10"] + 0 > best || NR == 2 { best = $c["r10"] + 0; e = $c["epoch"]; m = $c["medr"] }
  END { if (NR < 2) exit 1; printf "%s %s %s\n", e, best, m }' "$1"
