#!/usr/bin/env bash
cd /work/main
for b in before after; do docs/bench-cpu.sh $1/$b /tmp/of-$b $2 $3 >/dev/null 2>&1; done
for b in before after; do d=$1/$b; echo "== $b"; grep -E "all five|^orderflow|^postgres|from the reset" $d/summary.txt; grep -E "^rate|^placeOrder|e2e seen \(all\)" $d/bench.txt; grep "SELECT position, event_id" $d/statements.txt | head -1 | cut -c1-30; done
