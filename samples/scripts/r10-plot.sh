#!/usr/bin/env bash
# r10-plot.sh OUT.png TITLE LOG1.tsv NAME1 [LOG2.tsv NAME2 ...]: validation
# R@10 per epoch from sb-train --log files, one line per model (gnuplot).
set -euo pipefail
out=$1 title=$2
shift 2
plots=()
while [ $# -ge 2 ]; do
  # The r10 column by name, so the script survives added columns.
  col=$(head -1 "$1" | tr '\t' '\n' | grep -nx r10 | cut -d: -f1)
  plots+=("'$1' using 1:$col every ::1 with linespoints lw 2 title '$2'")
  shift 2
done
IFS=,
gnuplot <<END
set terminal pngcairo noenhanced size 800,500 font ",11"
set xtics 1
set output '$out'
set title '$title'
set xlabel 'epoch'
set ylabel 'validation R@10 (speech -> image)'
set grid
set key bottom right
plot ${plots[*]}
END
