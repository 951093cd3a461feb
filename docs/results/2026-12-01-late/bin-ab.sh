#!/usr/bin/env bash
cd /work/main
for round in 1 2; do for b in old new; do docs/bench-cpu.sh $1/$b-$round $( [[ $b == old ]] && echo /tmp/of-old || echo bin/orderflow ) $2 $3 >/dev/null 2>&1; done; done
for f in $1/*/summary.txt; do d=$(dirname $f); printf "%-10s %s | %s | %s\n" $(basename $d) "$(grep 'all five' $f | awk '{print $5}')" "$(grep -E '^(orderflow|postgres|kafka|elasticsearch|bench|idle) ' $f | awk '{printf "%s=%s ", $1, $4}')" "$(grep -E 'e2e seen \(all\)' $d/bench.txt | awk '{printf "e2e p50/p99 %s/%s", $7, $9}')"; done
