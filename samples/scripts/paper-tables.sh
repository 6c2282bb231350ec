#!/usr/bin/env bash
# paper-tables.sh TABLE OUT [SEEDS]: one of the paper's tables as markdown,
# our figures beside the paper's (Chrupała 2019, Flickr8K), from the files
# samples/paper/Makefile writes under OUT.
set -euo pipefail
table=$1 out=$2 seeds=${3:-}
here=$(dirname "$0")
kv() { [ -s "$1" ] && "$here/kv.sh" "$1" "$2" || echo "-"; }
fmt() { case $1 in -|"") echo "-" ;; *) printf '%.3f' "$1" ;; esac; }
M=$out/models E=$out/eval

case $table in
table1)
  echo "## Table 1: validation R@10 and Medr (mean ± sd over seeds $seeds; best epoch by R@10)"
  echo
  echo "| row | data | tasks | S | T | S2I | S2T | T2S | T2I | R@10 | Medr | paper R@10 | paper Medr |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  # The paper's Table 1: row data tasks S T S2I S2T T2S T2I R@10 Medr
  while read -r row data tasks s t s2i s2t t2s t2i pr10 pmedr; do
    stats=$(for sd in $seeds; do "$here/best-epoch.sh" "$M/row$row-s$sd.tsv"; done |
      awk '{ r += $2; rr += $2 * $2; m += $3; mm += $3 * $3; n++ }
           END { sr = n > 1 ? sqrt((rr - r * r / n) / (n - 1)) : 0; sm = n > 1 ? sqrt((mm - m * m / n) / (n - 1)) : 0;
                 printf "%.3f ± %.3f|%.1f ± %.1f", r / n, sr, m / n, sm }')
    echo "| $row | $data | $tasks | $s | $t | $s2i | $s2t | $t2s | $t2i | ${stats%|*} | ${stats#*|} | $pr10 | $pmedr |"
  done <<'END'
1 NA 1 2 . 2 . . . 0.218 63.8
2 aligned 2 2 1 2 0 0 . 0.279 42.3
3 non-aligned 2 2 1 2 0 0 . 0.280 41.3
4 aligned 3 2 1 1 0 0 1 0.280 43.0
5 aligned 3 2 1 1 1 1 1 0.266 44.3
6 aligned 3 2 1 2 0 0 1 0.281 39.7
7 aligned 3 2 1 2 1 1 1 0.270 44.3
8 aligned 3 4 1 0 0 0 0 0.255 48.3
9 non-aligned 3 2 1 1 0 0 1 0.275 42.8
10 non-aligned 3 2 1 1 1 1 1 0.257 49.8
11 non-aligned 3 2 1 2 0 0 1 0.280 41.7
12 non-aligned 3 2 1 2 1 1 1 0.252 50.7
13 non-aligned 3 4 1 0 0 0 0 0.223 59.3
END
  ;;
table2)
  echo "## Table 2: test set, best seed/epoch by validation R@10"
  echo
  echo "| model | R@10 | Medr | paper R@10 | paper Medr |"
  echo "|---|---|---|---|---|"
  echo "| row 1 (1 task) | $(fmt "$(kv "$E/row1.test.rank.txt" R@10)") | $(kv "$E/row1.test.rank.txt" medr) | 0.244 | 51 |"
  echo "| row 6 (3 tasks, aligned) | $(fmt "$(kv "$E/row6.test.rank.txt" R@10)") | $(kv "$E/row6.test.rank.txt" medr) | 0.296 | 34 |"
  echo
  echo "Test set: $(kv "$E/row1.test.rank.txt" queries) utterances, $(kv "$E/row1.test.rank.txt" targets) images."
  ;;
table3)
  echo "## Table 3: speaker identification from S2I (validation set)"
  echo
  echo "| model | accuracy | majority baseline | paper |"
  echo "|---|---|---|---|"
  for rp in "1 0.297" "2 0.101" "6 0.085"; do
    r=${rp% *}
    echo "| model $r, S2I | $(fmt "$(kv "$E/row$r.speaker.txt" accuracy)") | $(fmt "$(kv "$E/row$r.speaker.txt" majority)") | ${rp#* } |"
  done
  ;;
table4)
  echo "## Table 4: RSA, Pearson r between utterance similarity matrices (validation set)"
  echo
  echo "| | MFCC | Text | Image | paper MFCC | paper Text | paper Image |"
  echo "|---|---|---|---|---|---|---|"
  for spec in "row1|Model 1, S2I|0.043|0.194|0.187" "row6|Model 6, S2I|0.030|0.212|0.222" \
              "row6s2t|Model 6, S2T|0.099|0.243|0.105" "image|Image|0.008|0.083|1.000"; do
    IFS='|' read -r key name pm pt pi <<<"$spec"
    echo "| $name | $(fmt "$(kv "$E/rsa.$key-mfcc.txt" pearson)") | $(fmt "$(kv "$E/rsa.$key-text.txt" pearson)") | $(fmt "$(kv "$E/rsa.$key-image.txt" pearson)") | $pm | $pt | $pi |"
  done
  ;;
table5)
  echo "## Table 5: phone decoding accuracy (validation set, phone segments of the first utterances)"
  echo
  echo "| representation | accuracy | majority baseline | segments | paper |"
  echo "|---|---|---|---|---|"
  for spec in "mfcc|MFCC|0.284" "random|Random init, S|0.486" "row1|Model 1, S|0.528" "row6|Model 6, S|0.578"; do
    IFS='|' read -r key name paper <<<"$spec"
    f=$E/phone.$key.txt
    echo "| $name | $(fmt "$(kv "$f" accuracy)") | $(fmt "$(kv "$f" majority)") | $(kv "$f" items) | $paper |"
  done
  ;;
*) echo "paper-tables.sh: unknown table '$table'" >&2; exit 1 ;;
esac
